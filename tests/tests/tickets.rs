//! The helpdesk: a subscriber opens a ticket in the portal, staff note and reply, the service
//! level breaks and escalates once per level (manager, then admin) with a staff alert, the
//! subscriber reopens a resolved ticket within the window and not a closed one; operators see
//! their subtree's tickets only; the open-tickets report; bad input changes nothing.

use e2e_tests::Env;
use serde_json::{Value, json};

async fn sla_job(env: &Env) -> Value {
    let now = env.clock.now().to_rfc3339();
    env.send("POST", "/_local/jobs/job-ticket-sla", None, Some(json!({"time": now}))).await.expect(200)
}

fn customer_id(all: &Value, name: &str) -> String {
    all["items"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_ticket_is_opened_answered_escalated_once_per_level_and_closed() {
    let env = Env::start().await;
    let mut admin = env.admin().await;
    let mut rahim = env.portal_token("rahim").await;
    let opened_at = env.clock.now();

    // The subscriber complains in the portal: numbered, normal priority, 8 hours to answer.
    let t = env
        .send_with(
            "POST",
            "/v1/portal/tickets",
            Some(&rahim),
            Some(json!({"category": "no_internet", "subject": "No internet since morning",
                "body": "The router's light is red."})),
            &[("idempotency-key", "rahim-ticket-1")],
        )
        .await
        .expect(201);
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(
        (t["token"].as_str(), t["status"].as_str(), t["priority"].as_str()),
        (Some("T-000001"), Some("open"), Some("normal"))
    );
    assert_eq!(
        t["first_response_due"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap(),
        opened_at + chrono::Duration::hours(8)
    );
    assert_eq!(t["customer_name"], "Rahim Uddin");
    // The same request again: the same ticket, no second number.
    let again = env
        .send_with(
            "POST",
            "/v1/portal/tickets",
            Some(&rahim),
            Some(json!({"category": "no_internet", "subject": "No internet since morning",
                "body": "The router's light is red."})),
            &[("idempotency-key", "rahim-ticket-1")],
        )
        .await
        .expect(201);
    assert_eq!(again["id"], t["id"]);
    let mine = env.send("GET", "/v1/portal/tickets", Some(&rahim), None).await.expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    // Staff find it by the token Rahim reads out, and on his timeline.
    let found = env.send("GET", "/v1/tickets?token=T-000001", Some(&admin), None).await.expect(200);
    assert_eq!(found["items"][0]["id"], id.as_str());
    assert_eq!(env.send("GET", "/v1/tickets?token=T-000099", Some(&admin), None).await.expect(200)["items"], json!([]));
    let customers = env.send("GET", "/v1/customers?limit=50", Some(&admin), None).await.expect(200);
    let rahim_id = customer_id(&customers, "Rahim Uddin");
    let timeline = env.send("GET", &format!("/v1/customers/{rahim_id}/timeline"), Some(&admin), None).await.expect(200);
    assert!(
        timeline.to_string().contains("ticket.opened") && timeline.to_string().contains("T-000001"),
        "{timeline:#}"
    );

    // An internal note: staff see it, the subscriber does not; it answers nothing.
    let noted = env
        .send(
            "POST",
            &format!("/v1/tickets/{id}/messages"),
            Some(&admin),
            Some(json!({"body": "Check the OLT port", "internal": true})),
        )
        .await
        .expect(200);
    assert!(noted["first_response_at"].is_null());
    let staff_view = env.send("GET", &format!("/v1/tickets/{id}"), Some(&admin), None).await.expect(200);
    assert_eq!(staff_view["thread"].as_array().unwrap().len(), 2);
    let portal_view = env.send("GET", &format!("/v1/portal/tickets/{id}"), Some(&rahim), None).await.expect(200);
    assert_eq!(portal_view["thread"].as_array().unwrap().len(), 1);
    assert!(!portal_view.to_string().contains("OLT port"));

    // 8 hours pass unanswered: the first response breaks, escalated to the manager once, with an
    // alert for the ISP's messaging.
    env.clock.advance(chrono::Duration::hours(8) + chrono::Duration::minutes(1));
    admin = env.admin().await;
    rahim = env.portal_token("rahim").await;
    let run = sla_job(&env).await;
    assert_eq!((run["due"].as_u64(), run["escalated"].as_u64()), (Some(1), Some(1)), "{run:#}");
    assert_eq!(sla_job(&env).await["escalated"], 0, "once");
    let t = env.send("GET", &format!("/v1/tickets/{id}"), Some(&admin), None).await.expect(200);
    assert_eq!(t["escalations"][0][0], "manager");
    assert_eq!(t["escalations"][0][1], "first_response");
    let alerts = env.send("GET", "/v1/alerts", Some(&admin), None).await.expect(200);
    let escalated: Vec<&Value> =
        alerts["items"].as_array().unwrap().iter().filter(|a| a["kind"] == "ticket_escalated").collect();
    assert_eq!(escalated.len(), 1, "{alerts:#}");
    assert!(escalated[0]["detail"].as_str().unwrap().contains("T-000001"), "{:#}", escalated[0]);

    // Staff answer and wait on the subscriber; his reply takes it back to open.
    let answered = env
        .send(
            "POST",
            &format!("/v1/tickets/{id}/messages"),
            Some(&admin),
            Some(json!({"body": "A technician is on the way. Is the light still red?", "wait_for_customer": true})),
        )
        .await
        .expect(200);
    assert_eq!(answered["status"], "pending_customer");
    assert!(answered["first_response_at"].is_string());
    let replied = env
        .send("POST", &format!("/v1/portal/tickets/{id}/messages"), Some(&rahim), Some(json!({"body": "Still red."})))
        .await
        .expect(200);
    assert_eq!(replied["status"], "open");

    // Unresolved after 3 days: the resolution breaks, escalated to the admin, once; nothing above.
    env.clock.advance(chrono::Duration::hours(64));
    admin = env.admin().await;
    rahim = env.portal_token("rahim").await;
    assert_eq!(sla_job(&env).await["escalated"], 1);
    assert_eq!(sla_job(&env).await["escalated"], 0);
    let t = env.send("GET", &format!("/v1/tickets/{id}"), Some(&admin), None).await.expect(200);
    assert_eq!((t["escalations"][1][0].as_str(), t["escalations"][1][1].as_str()), (Some("admin"), Some("resolution")));
    let report = env.send("GET", "/v1/reports/tickets", Some(&admin), None).await.expect(200);
    assert_eq!(
        (report["open"].as_u64(), report["by_category"]["no_internet"].as_u64()),
        (Some(1), Some(1)),
        "{report:#}"
    );
    assert_eq!(report["breached"][0]["token"], "T-000001");
    assert_eq!(report["by_age"][2]["age"], "3_to_7_days");
    assert_eq!(report["by_age"][2]["count"], 1);

    // Resolved; the subscriber's reply within 7 days reopens it; closed, a reply is refused.
    let v = env.send("POST", &format!("/v1/tickets/{id}/resolve"), Some(&admin), None).await.expect(200);
    assert_eq!(v["status"], "resolved");
    assert_eq!(env.send("POST", &format!("/v1/tickets/{id}/resolve"), Some(&admin), None).await.status, 409);
    let back = env
        .send(
            "POST",
            &format!("/v1/portal/tickets/{id}/messages"),
            Some(&rahim),
            Some(json!({"body": "It dropped again."})),
        )
        .await
        .expect(200);
    assert_eq!((back["status"].as_str(), back["reopened"].as_u64()), (Some("open"), Some(1)));
    env.send("POST", &format!("/v1/tickets/{id}/close"), Some(&admin), None).await.expect(200);
    let refused = env
        .send("POST", &format!("/v1/portal/tickets/{id}/messages"), Some(&rahim), Some(json!({"body": "Hello?"})))
        .await;
    assert_eq!(refused.status, 409);
    assert_eq!(env.send("GET", "/v1/reports/tickets", Some(&admin), None).await.expect(200)["open"], 0);
    let timeline = env.send("GET", &format!("/v1/customers/{rahim_id}/timeline"), Some(&admin), None).await.expect(200);
    for action in ["ticket.escalated", "ticket.resolved", "ticket.reopened", "ticket.closed"] {
        assert!(timeline.to_string().contains(action), "{action} on the timeline");
    }

    // Another subscriber and another ISP see none of it.
    let karim = env.portal_token("karim").await;
    assert_eq!(env.send("GET", &format!("/v1/portal/tickets/{id}"), Some(&karim), None).await.status, 404);
    assert_eq!(
        env.send("POST", &format!("/v1/portal/tickets/{id}/messages"), Some(&karim), Some(json!({"body": "x"})))
            .await
            .status,
        404
    );
    let (_, other) = env.other_tenant("tickets-other").await;
    assert_eq!(env.send("GET", &format!("/v1/tickets/{id}"), Some(&other), None).await.status, 404);
    assert_eq!(env.send("GET", "/v1/tickets", Some(&other), None).await.expect(200)["items"], json!([]));
}

#[tokio::test]
async fn staff_and_operators_open_assign_and_see_their_own_view() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let customers = env.send("GET", "/v1/customers?limit=50", Some(&admin), None).await.expect(200);
    let karim = customer_id(&customers, "Karim Hossain");
    let (op_id, op) = env.create_user(&admin, "operator", "helpdesk-op@demo.test", None).await;
    let (staff_id, _) = env.create_user(&admin, "staff", "helpdesk-staff@demo.test", None).await;

    // Staff take a call for Karim: urgent, assigned; its service level is the urgent one.
    let t = env
        .send(
            "POST",
            "/v1/tickets",
            Some(&admin),
            Some(json!({"customer_id": karim, "category": "slow",
            "priority": "urgent", "subject": "Slow in the evening", "body": "Called at 9pm", "assignee_id": staff_id})),
        )
        .await
        .expect(201);
    let tid = t["id"].as_str().unwrap().to_string();
    assert_eq!((t["token"].as_str(), t["assignee"]["name"].as_str()), (Some("T-000001"), Some("staff user")));
    assert_eq!(t["sla"]["first_response_minutes"], 30);
    // Lowered to normal: held to the normal service level from its opening.
    let t = env
        .send("PATCH", &format!("/v1/tickets/{tid}"), Some(&admin), Some(json!({"priority": "normal", "version": 1})))
        .await
        .expect(200);
    assert_eq!((t["priority"].as_str(), t["sla"]["first_response_minutes"].as_u64()), (Some("normal"), Some(480)));
    assert_eq!(
        env.send(
            "PATCH",
            &format!("/v1/tickets/{tid}"),
            Some(&admin),
            Some(json!({"category": "billing", "version": 1}))
        )
        .await
        .status,
        409,
        "a stale version"
    );
    let t = env
        .send("PATCH", &format!("/v1/tickets/{tid}"), Some(&admin), Some(json!({"assignee_id": null, "version": 2})))
        .await
        .expect(200);
    assert!(t["assignee"].is_null());

    // The operator's own customer and its ticket: the operator sees that one only.
    let mine = env.create_customer(&op, "Operator's Customer", "01755-000123", "opcust").await;
    let own = env
        .send(
            "POST",
            "/v1/tickets",
            Some(&op),
            Some(json!({"customer_id": mine["id"], "category": "relocation",
            "subject": "Moving house", "body": "Next week", "assignee_id": op_id})),
        )
        .await
        .expect(201);
    assert_eq!(own["token"], "T-000002");
    let seen = env.send("GET", "/v1/tickets", Some(&op), None).await.expect(200);
    let tokens: Vec<&str> = seen["items"].as_array().unwrap().iter().map(|t| t["token"].as_str().unwrap()).collect();
    assert_eq!(tokens, vec!["T-000002"]);
    assert_eq!(env.send("GET", &format!("/v1/tickets/{tid}"), Some(&op), None).await.status, 404);
    assert_eq!(env.send("GET", "/v1/tickets?token=T-000001", Some(&op), None).await.expect(200)["items"], json!([]));
    // Not for someone else's customer, nor assigned outside the operator's view.
    for body in [
        json!({"customer_id": karim, "category": "slow", "subject": "x", "body": "y"}),
        json!({"category": "slow", "subject": "x", "body": "y", "assignee_id": staff_id}),
    ] {
        assert_eq!(env.send("POST", "/v1/tickets", Some(&op), Some(body)).await.status, 422);
    }
    let all = env.send("GET", "/v1/tickets?status=open", Some(&admin), None).await.expect(200);
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let relocations = env.send("GET", "/v1/tickets?category=relocation", Some(&admin), None).await.expect(200);
    assert_eq!(relocations["items"].as_array().unwrap().len(), 1);
    let by_customer =
        env.send("GET", &format!("/v1/tickets?customer_id={karim}"), Some(&admin), None).await.expect(200);
    assert_eq!(by_customer["items"][0]["id"], tid.as_str());
    let report = env.send("GET", "/v1/reports/tickets", Some(&op), None).await.expect(200);
    assert_eq!(report["open"], 1, "the operator's subtree");

    // Bad input changes nothing.
    let before = env.settled_snapshot().await;
    for (method, path, body) in [
        ("POST", "/v1/tickets".to_string(), json!({"category": "slow", "subject": " ", "body": "y"})),
        ("POST", "/v1/tickets".to_string(), json!({"category": "weather", "subject": "x", "body": "y"})),
        ("POST", "/v1/tickets".to_string(), json!({"category": "slow", "subject": "x", "body": "y", "colour": "red"})),
        (
            "POST",
            "/v1/tickets".to_string(),
            json!({"category": "slow", "subject": "x", "body": "y", "customer_id": "00000000-0000-0000-0000-000000000000"}),
        ),
        ("POST", "/v1/tickets".to_string(), json!({"category": "slow", "subject": "x".repeat(201), "body": "y"})),
        (
            "POST",
            "/v1/tickets".to_string(),
            json!({"category": "slow", "subject": "x", "body": "y", "assignee_id": karim}),
        ),
        ("POST", format!("/v1/tickets/{tid}/messages"), json!({"body": ""})),
        (
            "POST",
            format!("/v1/tickets/{tid}/messages"),
            json!({"body": "x", "internal": true, "wait_for_customer": true}),
        ),
        ("PATCH", format!("/v1/tickets/{tid}"), json!({"priority": "critical", "version": 3})),
        ("POST", "/v1/tickets/not-an-id/messages".to_string(), json!({"body": "x"})),
    ] {
        let a = env.send(method, &path, Some(&admin), Some(body.clone())).await;
        assert!(matches!(a.status, 400 | 404 | 422), "{method} {path} {body}: {}", a.status);
    }
    for bad in
        ["/v1/tickets?status=lost", "/v1/tickets?category=weather", "/v1/tickets?token=abc", "/v1/tickets?colour=red"]
    {
        assert!(matches!(env.send("GET", bad, Some(&admin), None).await.status, 400 | 422), "{bad}");
    }
    let bad_sla = json!({"tickets": {"sla": {"urgent": {"first_response_minutes": 60, "resolution_minutes": 30},
        "high": {"first_response_minutes": 1, "resolution_minutes": 2}, "normal": {"first_response_minutes": 1, "resolution_minutes": 2},
        "low": {"first_response_minutes": 1, "resolution_minutes": 2}}, "reopen_days": 7}, "version": 1});
    let tenant = env.tenant();
    assert_eq!(env.send("PATCH", &format!("/v1/tenants/{tenant}"), Some(&admin), Some(bad_sla)).await.status, 422);
    e2e_tests::assert_unchanged(&before, &env.settled_snapshot().await);
}

/// Asks for an upload and PUTs the bytes to the signed URL, as a browser would.
async fn upload(env: &Env, path: &str, token: &str, name: &str, kind: &str, bytes: &[u8]) -> String {
    let u = env
        .send("POST", path, Some(token), Some(json!({"file_name": name, "content_type": kind, "size": bytes.len()})))
        .await
        .expect(201);
    assert_eq!(u["method"], "PUT");
    let mut put = env.http.put(u["url"].as_str().unwrap()).body(bytes.to_vec());
    for (k, v) in u["headers"].as_object().unwrap() {
        if k != "content-length" {
            put = put.header(k.as_str(), v.as_str().unwrap());
        }
    }
    let put = put.send().await.unwrap();
    assert!(put.status().is_success(), "PUT to the signed URL: {}", put.status());
    u["attachment_id"].as_str().unwrap().to_string()
}

async fn fetch(env: &Env, signed: &Value) -> Vec<u8> {
    let a = env.http.get(signed["url"].as_str().unwrap()).send().await.unwrap();
    assert!(a.status().is_success(), "GET from the signed URL: {}", a.status());
    a.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn attachments_go_straight_to_storage_and_only_to_who_may_read_them() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let rahim = env.portal_token("rahim").await;
    let t = env
        .send(
            "POST",
            "/v1/portal/tickets",
            Some(&rahim),
            Some(json!({"category": "equipment", "subject": "Router lights", "body": "Photo attached"})),
        )
        .await
        .expect(201);
    let id = t["id"].as_str().unwrap().to_string();
    let photo: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    let portal_files = format!("/v1/portal/tickets/{id}/attachments");
    let aid = upload(&env, &portal_files, &rahim, "lights.jpg", "image/jpeg", &photo).await;
    let replied = env
        .send(
            "POST",
            &format!("/v1/portal/tickets/{id}/messages"),
            Some(&rahim),
            Some(json!({"body": "Here is the photo", "attachment_ids": [aid]})),
        )
        .await
        .expect(200);
    assert_eq!(replied["messages"], 2);
    let thread = env.send("GET", &format!("/v1/portal/tickets/{id}"), Some(&rahim), None).await.expect(200);
    assert_eq!(thread["thread"][1]["attachment_ids"], json!([aid]));
    // Downloaded by the subscriber and by staff, byte for byte.
    let mine = env.send("GET", &format!("{portal_files}/{aid}"), Some(&rahim), None).await.expect(200);
    assert_eq!((mine["file_name"].as_str(), mine["size"].as_u64()), (Some("lights.jpg"), Some(4096)));
    assert_eq!(fetch(&env, &mine).await, photo);
    let staff = env.send("GET", &format!("/v1/tickets/{id}/attachments/{aid}"), Some(&admin), None).await.expect(200);
    assert_eq!(fetch(&env, &staff).await, photo);
    // Cited once only.
    let twice = env
        .send(
            "POST",
            &format!("/v1/portal/tickets/{id}/messages"),
            Some(&rahim),
            Some(json!({"body": "again", "attachment_ids": [aid]})),
        )
        .await;
    assert_eq!(twice.status, 422);

    // Staff's file on an internal note: never the subscriber's to download.
    let staff_files = format!("/v1/tickets/{id}/attachments");
    let note_file = upload(&env, &staff_files, &admin, "olt-port.txt", "text/plain", b"PON 3/7 dark").await;
    env.send(
        "POST",
        &format!("/v1/tickets/{id}/messages"),
        Some(&admin),
        Some(json!({"body": "OLT log", "internal": true, "attachment_ids": [note_file]})),
    )
    .await
    .expect(200);
    assert_eq!(env.send("GET", &format!("{portal_files}/{note_file}"), Some(&rahim), None).await.status, 404);
    let got = env.send("GET", &format!("{staff_files}/{note_file}"), Some(&admin), None).await.expect(200);
    assert_eq!(fetch(&env, &got).await, b"PON 3/7 dark");

    // Another subscriber can neither cite nor fetch Rahim's file.
    let karim = env.portal_token("karim").await;
    let other = env
        .send(
            "POST",
            "/v1/portal/tickets",
            Some(&karim),
            Some(json!({"category": "slow", "subject": "Slow", "body": "Slow"})),
        )
        .await
        .expect(201);
    let other_id = other["id"].as_str().unwrap();
    let stolen = env
        .send(
            "POST",
            &format!("/v1/portal/tickets/{other_id}/messages"),
            Some(&karim),
            Some(json!({"body": "mine now", "attachment_ids": [aid]})),
        )
        .await;
    assert_eq!(stolen.status, 422);
    assert_eq!(env.send("GET", &format!("{portal_files}/{aid}"), Some(&karim), None).await.status, 404);
    assert_eq!(
        env.send(
            "POST",
            &portal_files,
            Some(&karim),
            Some(json!({"file_name": "x.png", "content_type": "image/png", "size": 5}))
        )
        .await
        .status,
        404
    );

    // Limits, and an upload never made, change nothing.
    let before = env.settled_snapshot().await;
    for body in [
        json!({"file_name": "setup.exe", "content_type": "application/x-msdownload", "size": 100}),
        json!({"file_name": "huge.pdf", "content_type": "application/pdf", "size": 10 * 1024 * 1024 + 1}),
        json!({"file_name": "empty.pdf", "content_type": "application/pdf", "size": 0}),
        json!({"file_name": "../../etc/passwd", "content_type": "text/plain", "size": 10}),
        json!({"file_name": "a.png", "content_type": "image/png"}),
    ] {
        let a = env.send("POST", &portal_files, Some(&rahim), Some(body.clone())).await;
        assert!(matches!(a.status, 400 | 422), "{body}: {}", a.status);
    }
    let unknown = env
        .send(
            "POST",
            &format!("/v1/portal/tickets/{id}/messages"),
            Some(&rahim),
            Some(json!({"body": "x", "attachment_ids": [other_id]})),
        )
        .await;
    assert_eq!(unknown.status, 422);
    e2e_tests::assert_unchanged(&before, &env.settled_snapshot().await);
    // Asked for but never PUT: citing it is refused.
    let asked = env
        .send(
            "POST",
            &portal_files,
            Some(&rahim),
            Some(json!({"file_name": "later.png", "content_type": "image/png", "size": 10})),
        )
        .await
        .expect(201);
    let never = env
        .send(
            "POST",
            &format!("/v1/portal/tickets/{id}/messages"),
            Some(&rahim),
            Some(json!({"body": "x", "attachment_ids": [asked["attachment_id"]]})),
        )
        .await;
    assert_eq!(never.status, 422);
    assert!(never.body.to_string().contains("was not uploaded"), "{:#}", never.body);
}
