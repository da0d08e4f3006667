use e2e_tests::Env;
use serde_json::json;

#[tokio::test]
async fn leads_move_through_stages_and_convert_in_one_transaction() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (staff_id, _) = env.create_user(&admin, "staff", "sales@leads.test", None).await;
    let lead = env
        .send(
            "POST",
            "/v1/leads",
            Some(&admin),
            Some(json!({"name": "Prospect One", "phone": "01811-555001", "area": "Uttara", "source": "facebook", "assigned_to": staff_id})),
        )
        .await
        .expect(201);
    assert_eq!((lead["stage"].as_str(), lead["phone"].as_str()), (Some("new"), Some("+8801811555001")));
    let id = lead["id"].as_str().unwrap();
    let path = format!("/v1/leads/{id}");

    let surveyed =
        env.send("PATCH", &path, Some(&admin), Some(json!({"stage": "survey", "version": 1}))).await.expect(200);
    assert_eq!(surveyed["stage"], "survey");
    let won_by_hand = env.send("PATCH", &path, Some(&admin), Some(json!({"stage": "won", "version": 2}))).await;
    assert_eq!((won_by_hand.status, won_by_hand.code()), (409, "invalid_transition"));
    let lost = env
        .send(
            "PATCH",
            &path,
            Some(&admin),
            Some(json!({"stage": "lost", "lost_reason": "too expensive", "version": 2})),
        )
        .await
        .expect(200);
    assert_eq!(lost["lost_reason"], "too expensive");
    let cannot =
        env.send("POST", &format!("{path}/convert"), Some(&admin), Some(json!({"username": "prospect1"}))).await;
    assert_eq!((cannot.status, cannot.code()), (409, "invalid_transition"), "a lost lead is reopened first");
    env.send("PATCH", &path, Some(&admin), Some(json!({"stage": "new", "version": 3}))).await.expect(200);
    let listed =
        env.send("GET", &format!("/v1/leads?stage=new&assigned_to={staff_id}"), Some(&admin), None).await.expect(200);
    assert_eq!(listed["items"][0]["id"].as_str(), Some(id));

    // A taken username sinks the whole conversion: no customer, the lead still open.
    let taken = env.send("POST", &format!("{path}/convert"), Some(&admin), Some(json!({"username": "rahim"}))).await;
    assert_eq!((taken.status, taken.body["errors"][0]["field"].as_str()), (409, Some("username")));
    assert_eq!(env.send("GET", &path, Some(&admin), None).await.expect(200)["stage"], "new");

    let conv = env
        .send_with(
            "POST",
            &format!("{path}/convert"),
            Some(&admin),
            Some(json!({"username": "prospect1", "tags": ["Fiber"]})),
            &[("idempotency-key", "convert-1")],
        )
        .await
        .expect(201);
    let cid = conv["customer"]["id"].as_str().unwrap();
    assert_eq!((conv["lead"]["stage"].as_str(), conv["lead"]["customer_id"].as_str()), (Some("won"), Some(cid)));
    let customer = env.send("GET", &format!("/v1/customers/{cid}"), Some(&admin), None).await.expect(200);
    assert_eq!(
        (customer["name"].as_str(), customer["area"].as_str(), customer["tags"].clone()),
        (Some("Prospect One"), Some("Uttara"), json!(["fiber"]))
    );
    let again = env
        .send_with(
            "POST",
            &format!("{path}/convert"),
            Some(&admin),
            Some(json!({"username": "prospect1", "tags": ["Fiber"]})),
            &[("idempotency-key", "convert-1")],
        )
        .await
        .expect(201);
    assert_eq!(again, conv, "a repeat answers the first conversion");
    let twice =
        env.send("POST", &format!("{path}/convert"), Some(&admin), Some(json!({"username": "prospect2"}))).await;
    assert_eq!((twice.status, twice.code()), (409, "invalid_transition"));
    let closed = env.send("PATCH", &path, Some(&admin), Some(json!({"name": "x", "version": 5}))).await;
    assert_eq!((closed.status, closed.code()), (409, "lead_closed"));
    let found = env.send("GET", "/v1/customers?username=prospect", Some(&admin), None).await.expect(200);
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "exactly one customer");
}

#[tokio::test]
async fn operators_work_their_own_leads() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (_, op) = env.create_user(&admin, "operator", "op@leads.test", None).await;
    let (_, op2) = env.create_user(&admin, "operator", "op2@leads.test", None).await;
    let mine = env
        .send("POST", "/v1/leads", Some(&op), Some(json!({"name": "Op Lead", "phone": "01811-555002"})))
        .await
        .expect(201);
    let isp = env
        .send("POST", "/v1/leads", Some(&admin), Some(json!({"name": "ISP Lead", "phone": "01811-555003"})))
        .await
        .expect(201);
    let seen = env.send("GET", "/v1/leads", Some(&op), None).await.expect(200);
    let ids: Vec<&str> = seen["items"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [mine["id"].as_str().unwrap()]);
    assert_eq!(
        env.send("GET", &format!("/v1/leads/{}", isp["id"].as_str().unwrap()), Some(&op), None).await.status,
        404
    );
    assert_eq!(
        env.send("GET", &format!("/v1/leads/{}", mine["id"].as_str().unwrap()), Some(&op2), None).await.status,
        404
    );
    let conv = env
        .send(
            "POST",
            &format!("/v1/leads/{}/convert", mine["id"].as_str().unwrap()),
            Some(&op),
            Some(json!({"username": "oplead"})),
        )
        .await
        .expect(201);
    assert_eq!(conv["customer"]["scope"], conv["lead"]["scope"], "the customer stays in the operator's subtree");
    assert!(conv["customer"]["operator_id"].is_string());
}
