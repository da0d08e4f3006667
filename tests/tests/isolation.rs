use e2e_tests::Env;
use local_runner::template::Template;
use serde_json::json;

/// Walks every route of the template as another ISP's admin, aimed at the demo ISP's ids: each
/// answers 404 (403 for platform routes that admins may not use) and nothing changes. A route added
/// to the template without a case here fails this test.
#[tokio::test]
async fn every_route_refuses_another_tenants_ids_and_changes_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let tid = env.tenant();
    let customer = env.create_customer(&admin, "Victim", "01717-000001", "victim").await;
    let cid = customer["id"].as_str().unwrap().to_string();
    let (uid, _) = env.create_user(&admin, "staff", "victim-staff@demo.test", None).await;
    let rid = env.seed.reseller_id.unwrap().to_string();
    let (_, intruder) = env.other_tenant("intruder").await;
    let before = env.table_snapshot().await;
    let before_demo: Vec<_> = before.keys().filter(|k| k.starts_with(&format!("T#{tid}#"))).cloned().collect();

    let template = Template::load(&Template::default_path()).unwrap();
    let mut walked = 0;
    for f in &template.functions {
        for (method, path) in &f.routes {
            let (target, body, expect): (String, Option<serde_json::Value>, &[u16]) = match (
                method.as_str(),
                path.as_str(),
            ) {
                ("GET" | "DELETE", "/v1/customers/{id}") => (path.replace("{id}", &cid), None, &[404]),
                ("PATCH", "/v1/customers/{id}") => {
                    (path.replace("{id}", &cid), Some(json!({"name": "pwned", "version": 1})), &[404])
                }
                ("GET" | "DELETE", "/v1/users/{id}") => (path.replace("{id}", &uid), None, &[404]),
                ("PATCH", "/v1/users/{id}") => {
                    (path.replace("{id}", &uid), Some(json!({"name": "pwned", "version": 1})), &[404])
                }
                ("GET", "/v1/tenants/{id}") => (path.replace("{id}", &tid.to_string()), None, &[404]),
                ("PATCH", "/v1/tenants/{id}") => {
                    (path.replace("{id}", &tid.to_string()), Some(json!({"name": "pwned", "version": 1})), &[404])
                }
                ("POST", "/v1/tenants/{id}/suspend" | "/v1/tenants/{id}/resume") => {
                    (path.replace("{id}", &tid.to_string()), None, &[403, 404])
                }
                ("GET", "/v1/platform-resellers/{id}") => (path.replace("{id}", &rid), None, &[403, 404]),
                ("PATCH", "/v1/platform-resellers/{id}") => {
                    (path.replace("{id}", &rid), Some(json!({"isp_limit": 0, "version": 1})), &[403, 404])
                }
                ("POST", "/v1/impersonate") => (path.clone(), Some(json!({"user_id": uid, "tenant_id": tid})), &[403]),
                ("GET", "/v1/audit-log") => (format!("{path}?entity_type=customer&entity_id={cid}"), None, &[200]),
                ("GET", "/v1/customers") => (format!("{path}?username=victim"), None, &[200]),
                ("GET", "/v1/users") | ("GET", "/v1/me") | ("GET", "/v1/openapi.json") => (path.clone(), None, &[200]),
                ("GET", "/v1/tenants")
                | ("GET", "/v1/platform-resellers")
                | ("POST", "/v1/platform-resellers")
                | ("POST", "/v1/tenants") => (path.clone(), Some(json!({})), &[403, 422]),
                // Creates land in the caller's own tenant (the token names it); checked below.
                ("POST", "/v1/customers") => {
                    (path.clone(), Some(json!({"name": "Mine", "phone": "+8801717000009", "username": "mine"})), &[201])
                }
                ("POST", "/v1/users") => (
                    path.clone(),
                    Some(
                        json!({"name": "Mine", "email": "mine@intruder.test", "password": "intruder-pass-1", "role": "staff"}),
                    ),
                    &[201],
                ),
                // Identity routes name no ids: the token decides whose they are.
                (
                    "POST",
                    "/v1/auth/login"
                    | "/v1/auth/refresh"
                    | "/v1/auth/logout"
                    | "/v1/auth/password"
                    | "/v1/auth/password-reset"
                    | "/v1/auth/password-reset/confirm",
                ) => {
                    continue;
                }
                other => panic!("route {other:?} has no tenant-isolation case: add one"),
            };
            let method = if method == "GET" && body.is_some() { "GET" } else { method.as_str() };
            let body = if method == "GET" { None } else { body };
            let a = env.send(method, &target, Some(&intruder), body).await;
            assert!(expect.contains(&a.status), "{method} {target}: {} {:#}", a.status, a.body);
            let text = a.body.to_string();
            if a.status == 200 {
                assert!(
                    !text.contains(&cid) && !text.contains(&uid) && !text.contains("Victim"),
                    "{method} {target} leaked: {text}"
                );
            }
            walked += 1;
        }
    }
    let identity_routes = 6;
    let all: usize = template.functions.iter().map(|f| f.routes.len()).sum();
    assert_eq!(walked, all - identity_routes, "every route but the identity ones was walked");
    let after = env.table_snapshot().await;
    let after_demo: Vec<_> = after.keys().filter(|k| k.starts_with(&format!("T#{tid}#"))).cloned().collect();
    assert_eq!(before_demo, after_demo, "nothing was added to or removed from the demo ISP");
    for k in &before_demo {
        assert_eq!(before[k], after[k], "{k} changed");
    }
}
