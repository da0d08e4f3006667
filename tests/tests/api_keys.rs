//! API keys: an ISP's own systems call the `/v1` routes with a key that holds some of its creator's
//! abilities; revoked keys stop at once; what a key changes is audited under the key.

use e2e_tests::Env;
use serde_json::json;

async fn new_key(env: &Env, token: &str, body: serde_json::Value) -> (String, String) {
    let k = env.send("POST", "/v1/api-keys", Some(token), Some(body)).await.expect(201);
    let secret = k["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("isk_"), "{secret}");
    assert!(secret.ends_with(k["hint"].as_str().unwrap()), "the hint is the secret's end");
    (k["id"].as_str().unwrap().to_string(), secret)
}

#[tokio::test]
async fn a_key_reads_with_its_abilities_is_refused_the_rest_and_stops_when_revoked() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let (id, key) = new_key(&env, &admin, json!({"name": "Accounting sync", "abilities": ["customers:read"]})).await;

    let customers = env.send("GET", "/v1/customers", Some(&key), None).await.expect(200);
    assert!(!customers["items"].as_array().unwrap().is_empty(), "the key reads the ISP's customers");
    let write = env
        .send(
            "POST",
            "/v1/customers",
            Some(&key),
            Some(json!({"name": "Key Made", "phone": "01711000999", "username": "keymade"})),
        )
        .await;
    assert_eq!((write.status, write.code()), (403, "ability_missing"), "{:#}", write.body);
    let packages = env.send("GET", "/v1/packages", Some(&key), None).await;
    assert_eq!(packages.status, 403, "an ability the key was not given");
    // Keys never make keys, logins or passwords, and never open the portal.
    let minted =
        env.send("POST", "/v1/api-keys", Some(&key), Some(json!({"name": "x", "abilities": ["customers:read"]})));
    assert_eq!(minted.await.status, 403);
    let user = env
        .send(
            "POST",
            "/v1/users",
            Some(&key),
            Some(json!({"name": "n", "email": "n@x.test", "password": "staff-pass-123", "role": "staff"})),
        )
        .await;
    assert_eq!(user.status, 403);
    let portal = env.send("GET", "/v1/portal/me", Some(&key), None).await;
    assert_eq!((portal.status, portal.code()), (403, "api_key_refused"));

    // Listed without its secret, with its last use.
    let listed = env.send("GET", "/v1/api-keys", Some(&admin), None).await.expect(200);
    let item = &listed["items"][0];
    assert_eq!(item["id"], json!(id));
    assert_eq!(item["abilities"], json!(["customers:read"]));
    assert!(item.get("secret").is_none() && item.get("secret_fingerprint").is_none(), "{item:#}");
    let secret_part = key.splitn(4, '_').nth(3).unwrap();
    assert!(secret_part.len() >= 40 && !listed.to_string().contains(secret_part), "the secret is never shown again");
    assert_eq!(
        item["last_used_at"].as_str().map(|s| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap()),
        Some(env.clock.now())
    );

    // A wrong secret for the right key, and a key-shaped guess, are 401 alike.
    let forged = format!("{}{}", &key[..key.len() - 4], if key.ends_with("AAAA") { "BBBB" } else { "AAAA" });
    let f = env.send("GET", "/v1/customers", Some(&forged), None).await;
    assert_eq!((f.status, f.code()), (401, "invalid_api_key"));
    assert_eq!(env.send("GET", "/v1/customers", Some("isk_broken"), None).await.status, 401);

    // Changed: given the packages too (versioned; not beyond the caller's rights), then it reads them.
    let stale =
        env.send("PATCH", &format!("/v1/api-keys/{id}"), Some(&admin), Some(json!({"name": "x", "version": 9}))).await;
    assert_eq!(stale.status, 409);
    let wider = env
        .send(
            "PATCH",
            &format!("/v1/api-keys/{id}"),
            Some(&admin),
            Some(json!({"abilities": ["customers:read", "tenants:write"], "version": 1})),
        )
        .await;
    assert_eq!(wider.status, 422, "never beyond the caller's own rights");
    let changed = env
        .send(
            "PATCH",
            &format!("/v1/api-keys/{id}"),
            Some(&admin),
            Some(json!({"abilities": ["customers:read", "packages:read"], "requests_per_minute": 60, "version": 1})),
        )
        .await
        .expect(200);
    assert_eq!((changed["version"].as_u64(), changed["requests_per_minute"].as_u64()), (Some(2), Some(60)));
    env.send("GET", "/v1/packages", Some(&key), None).await.expect(200);

    // Revoked: the very next call is refused, without waiting for anything to expire.
    let revoked = env.send("DELETE", &format!("/v1/api-keys/{id}"), Some(&admin), None).await.expect(200);
    assert!(revoked["revoked_at"].is_string());
    let after = env.send("GET", "/v1/customers", Some(&key), None).await;
    assert_eq!((after.status, after.code()), (401, "invalid_api_key"));
    // Revoking again changes nothing.
    let again = env.send("DELETE", &format!("/v1/api-keys/{id}"), Some(&admin), None).await.expect(200);
    assert_eq!(again["version"], revoked["version"]);
    let late =
        env.send("PATCH", &format!("/v1/api-keys/{id}"), Some(&admin), Some(json!({"name": "x", "version": 3}))).await;
    assert_eq!((late.status, late.code()), (409, "api_key_revoked"));
}

#[tokio::test]
async fn a_keys_writes_are_audited_as_the_key_and_its_creator() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let me = env.send("GET", "/v1/me", Some(&admin), None).await.expect(200);
    let admin_id = me["user"]["id"].as_str().unwrap().to_string();
    let (id, key) = new_key(
        &env,
        &admin,
        json!({"name": "CRM bridge", "abilities": ["customers:read", "customers:write", "audit:read"]}),
    )
    .await;
    let c = env.create_customer(&key, "Keyed Customer", "01711000777", "keyed").await;
    let log = env
        .send(
            "GET",
            &format!("/v1/audit-log?entity_type=customer&entity_id={}", c["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await
        .expect(200);
    let entry = &log["items"][0];
    assert_eq!(entry["action"], "customer.created", "{log:#}");
    assert_eq!(
        (entry["api_key_id"].as_str(), entry["actor_id"].as_str()),
        (Some(id.as_str()), Some(admin_id.as_str()))
    );
    // Its creation and revocation are audited too.
    env.send("DELETE", &format!("/v1/api-keys/{id}"), Some(&admin), None).await.expect(200);
    let keys_log = env
        .send("GET", &format!("/v1/audit-log?entity_type=api_key&entity_id={id}"), Some(&admin), None)
        .await
        .expect(200);
    let actions: Vec<_> = keys_log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["api_key.revoked", "api_key.created"]);
}

#[tokio::test]
async fn keys_are_checked_when_made_and_confined_to_their_isp_and_operator() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let before = env.settled_snapshot().await;
    for (body, field) in [
        (json!({"name": "", "abilities": ["customers:read"]}), "name"),
        (json!({"name": "k", "abilities": []}), "abilities"),
        (json!({"name": "k", "abilities": ["tenants:write"]}), "abilities[0]"),
        (json!({"name": "k", "abilities": ["api_keys:manage"]}), "abilities[0]"),
        (json!({"name": "k", "abilities": ["customers:read"], "expires_at": "2020-01-01T00:00:00Z"}), "expires_at"),
        (json!({"name": "k", "abilities": ["customers:read"], "requests_per_minute": 0}), "requests_per_minute"),
        (json!({"name": "k", "abilities": ["customers:read"], "operator_id": uuid::Uuid::nil()}), "operator_id"),
    ] {
        let a = env.send("POST", "/v1/api-keys", Some(&admin), Some(body.clone())).await;
        assert_eq!(a.status, 422, "{body}: {:#}", a.body);
        assert!(a.body["errors"].as_array().unwrap().iter().any(|e| e["field"] == field), "{body}: {:#}", a.body);
    }
    let unknown = env.send(
        "POST",
        "/v1/api-keys",
        Some(&admin),
        Some(json!({"name": "k", "abilities": ["customers:read"], "x": 1})),
    );
    assert_eq!(unknown.await.status, 422);
    e2e_tests::assert_unchanged(&before, &env.settled_snapshot().await);
    // Only those who may manage keys make them.
    let (_, staff) = env.create_user(&admin, "staff", "staff-keys@demo.test", None).await;
    assert_eq!(
        env.send("POST", "/v1/api-keys", Some(&staff), Some(json!({"name": "k", "abilities": ["customers:read"]})))
            .await
            .status,
        403
    );
    assert_eq!(env.send("GET", "/v1/api-keys", Some(&staff), None).await.status, 403);

    // Another ISP's key sees its own ISP only, and cannot name this one's keys.
    let (_, other) = env.other_tenant("keys-other").await;
    let (other_id, other_key) = new_key(&env, &other, json!({"name": "theirs", "abilities": ["customers:read"]})).await;
    let theirs = env.send("GET", "/v1/customers", Some(&other_key), None).await.expect(200);
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0, "the other ISP has no customers");
    assert_eq!(env.send("GET", &format!("/v1/api-keys/{other_id}"), Some(&admin), None).await.status, 404);
    assert_eq!(env.send("DELETE", &format!("/v1/api-keys/{other_id}"), Some(&admin), None).await.status, 404);
    env.send("GET", "/v1/customers", Some(&other_key), None).await.expect(200);

    // A key confined to an operator acts as that operator: its subtree only.
    let (op_id, op) = env.create_user(&admin, "operator", "op-keys@demo.test", None).await;
    env.create_customer(&op, "Operator's Own", "01711000555", "opsown").await;
    let (_, op_key) =
        new_key(&env, &admin, json!({"name": "reseller app", "abilities": ["customers:read"], "operator_id": op_id}))
            .await;
    let seen = env.send("GET", "/v1/customers", Some(&op_key), None).await.expect(200);
    let names: Vec<_> = seen["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Operator's Own"]);
    // Its operator disabled: the key stops (within the minute a container trusts what it read).
    env.send("PATCH", &format!("/v1/users/{op_id}"), Some(&admin), Some(json!({"status": "disabled", "version": 1})))
        .await
        .expect(200);
    env.clock.advance(chrono::Duration::seconds(61));
    let stopped = env.send("GET", "/v1/customers", Some(&op_key), None).await;
    assert_eq!((stopped.status, stopped.code()), (403, "api_key_owner_disabled"));
}

#[tokio::test]
async fn the_platform_owner_makes_keys_for_platform_routes() {
    let env = Env::start().await;
    let owner = env.owner().await;
    let (_, key) = new_key(&env, &owner, json!({"name": "billing export", "abilities": ["tenants:read"]})).await;
    let tenants = env.send("GET", "/v1/tenants", Some(&key), None).await.expect(200);
    assert!(!tenants["items"].as_array().unwrap().is_empty());
    assert_eq!(env.send("GET", "/v1/platform-resellers", Some(&key), None).await.status, 403);
    let create = env
        .send(
            "POST",
            "/v1/tenants",
            Some(&key),
            Some(json!({"name": "ISP k", "slug": "isp-k", "time_zone": "Asia/Dhaka", "currency": "BDT",
                "admin": {"name": "A", "email": "a@isp-k.test", "password": "tenant-admin-pass-1"}})),
        )
        .await;
    assert_eq!(create.status, 403);
    // A reseller may not manage keys at all.
    let reseller = env.reseller().await;
    assert_eq!(env.send("GET", "/v1/api-keys", Some(&reseller), None).await.status, 403);
}
