//! RADIUS mode end to end: radclient (as the router) -> the project's FreeRADIUS configuration
//! (Debian's freeradius with rlm_rest) -> api-radius on the local runner -> the table; and back:
//! the provisioning worker's CoA and Disconnect-Request to a NAS stand-in (RFC 5176, signed with
//! the router's shared secret).

use domain::radius::{RadiusClient, clients_conf};
use e2e_tests::Env;
use local_runner::LOCAL_RADIUS_API_TOKEN;
use routeros::menu::PPP_SECRET;
use serde_json::{Value, json};
use std::time::Duration;
use testkit::radius::{FreeRadius, NasStandIn};

const SECRET: &str = "nas-shared-secret-0123456789";

async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen");
}

fn accepted(out: &str) -> bool {
    out.contains("Received Access-Accept")
}

fn rejected(out: &str) -> bool {
    out.contains("Received Access-Reject")
}

/// An Accounting-Request for rahim's session `sid` at 05:48 UTC + `minute` (the test's clock
/// stands at 06:00).
fn acct(status: &str, sid: &str, up: u64, down: u64, minute: i64) -> String {
    let at = e2e_tests::start_time() - chrono::Duration::minutes(12) + chrono::Duration::minutes(minute);
    format!(
        "User-Name = \"rahim\"\nAcct-Status-Type = {status}\nAcct-Session-Id = \"{sid}\"\nAcct-Input-Octets = {up}\n\
         Acct-Output-Octets = {down}\nFramed-IP-Address = 10.20.0.9\nCalling-Station-Id = \"AA:BB:CC:00:11:22\"\n\
         NAS-IP-Address = 127.0.0.1\nEvent-Timestamp = {}\n",
        at.timestamp()
    )
}

fn pap(password: &str) -> String {
    format!("User-Name = \"rahim\"\nUser-Password = \"{password}\"\nNAS-IP-Address = 127.0.0.1\n")
}

async fn usage(env: &Env, admin: &str, sub: &str) -> (u64, u64) {
    let h = env.send("GET", &format!("/v1/subscriptions/{sub}/usage"), Some(admin), None).await.expect(200);
    let day = h["days"].as_array().unwrap().iter().find(|d| d["date"] == "2026-06-15").cloned().unwrap_or_default();
    (day["up_bytes"].as_u64().unwrap_or(0), day["down_bytes"].as_u64().unwrap_or(0))
}

#[tokio::test]
async fn logins_accounting_and_changes_go_through_freeradius() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let router_id = env.demo_router(&admin).await;
    let router = env.router.as_ref().unwrap();
    until("the seeded subscriber on the router", async || router.find(PPP_SECRET, "rahim").is_some()).await;
    let subs = env.send("GET", "/v1/subscriptions?limit=200", Some(&admin), None).await.expect(200);
    let rahim = subs["items"].as_array().unwrap().iter().find(|s| s["username"] == "rahim").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let password = env
        .send("GET", &format!("/v1/subscriptions/{rahim}/password"), Some(&admin), None)
        .await
        .expect(200)["password"]
        .as_str()
        .unwrap()
        .to_string();

    // The router moves to RADIUS mode: its NAS is known to FreeRADIUS, answers are written, and
    // the PPP secrets it held in API mode go (the full reconcile the change triggers).
    let nas = NasStandIn::start(SECRET).await;
    let r = env.send("GET", &format!("/v1/routers/{router_id}"), Some(&admin), None).await.expect(200);
    let changed = env
        .send(
            "PATCH",
            &format!("/v1/routers/{router_id}"),
            Some(&admin),
            Some(json!({"access_mode": "radius", "radius": {"secret": SECRET, "coa_port": nas.port}, "version": r["version"]})),
        )
        .await
        .expect(200);
    assert_eq!(changed["access_mode"], "radius");
    assert_eq!(changed["radius"], json!({"coa_port": nas.port, "one_session": true, "interim_minutes": 15}));
    assert!(changed.get("secret").is_none() && !changed.to_string().contains(SECRET), "the secret is write-only");
    let listed = env.send("GET", "/v1/radius/clients", Some(LOCAL_RADIUS_API_TOKEN), None).await.expect(200);
    let clients: Vec<RadiusClient> = serde_json::from_value(listed["items"].clone()).unwrap();
    assert_eq!(clients.len(), 1);
    assert_eq!((clients[0].address.as_str(), clients[0].secret.as_str()), ("127.0.0.1", SECRET));
    until("the PPP secrets removed from the RADIUS router", async || router.find(PPP_SECRET, "rahim").is_none()).await;
    let tenant = env.tenant();
    until("rahim's answer", async || {
        env.local.app.store.get_item(&store::keys::radius_answer(tenant, "rahim")).await.unwrap().is_some()
    })
    .await;
    // A NAS is trusted for its own ISP and router only: another ISP's, or another router of this
    // ISP, finds no rahim there.
    let (other_tenant, _) = env.other_tenant("radius-other").await;
    for (nas, why) in [
        (format!("{other_tenant}/{router_id}"), "unknown subscriber"),
        (format!("{tenant}/{}", uuid::Uuid::now_v7()), "the subscriber is not on this router"),
    ] {
        let a = env
            .send_with(
                "POST",
                "/v1/radius/authorize",
                Some(LOCAL_RADIUS_API_TOKEN),
                Some(json!({"User-Name": {"type": "string", "value": ["rahim"]}})),
                &[("x-radius-nas", nas.as_str())],
            )
            .await
            .expect(200);
        assert_eq!((a["control:Auth-Type"].as_str(), a["reply:Reply-Message"].as_str()), (Some("Reject"), Some(why)));
        assert!(a.get("control:Cleartext-Password").is_none());
    }
    let radius = FreeRadius::start(&env.local.base_url, LOCAL_RADIUS_API_TOKEN, &clients_conf(&clients)).await;

    // PAP and CHAP logins get the package's speed and profile; a wrong password, an unknown
    // name or a wrong NAS secret do not.
    let out = radius.radclient("auth", SECRET, &pap(&password)).await;
    assert!(accepted(&out), "{out}\n{}", radius.log());
    assert!(out.contains("Mikrotik-Rate-Limit = \""), "{out}");
    assert!(out.contains("Mikrotik-Group = \""), "{out}");
    assert!(out.contains("Acct-Interim-Interval = 900"), "{out}");
    let chap = format!("User-Name = \"rahim\"\nCHAP-Password = \"{password}\"\n");
    assert!(accepted(&radius.radclient("auth", SECRET, &chap).await));
    let out = radius.radclient("auth", SECRET, &pap("wrong-password")).await;
    assert!(rejected(&out), "{out}");
    let out = radius.radclient("auth", SECRET, "User-Name = \"nobody\"\nUser-Password = \"x\"\n").await;
    assert!(rejected(&out) && out.contains("unknown subscriber"), "{out}");
    let out = radius.radclient("auth", "not-the-nas-secret-000000", &pap(&password)).await;
    assert!(!accepted(&out) && out.contains("No reply"), "a packet that fails the NAS secret is dropped: {out}");
    // Post-auth recorded the last outcome (what support sees).
    let login = env.local.app.store.get_item(&store::keys::radius_login(tenant, "rahim")).await.unwrap().unwrap();
    assert_eq!(login["accepted"].as_bool(), Ok(&false));

    // Accounting: repeated and out of order at the edge, each byte counts once, on the ISP's
    // day, reported to the API in one request for the NAS (the edge's usage report).
    nas.connect("S1");
    for packet in [
        acct("Interim-Update", "S1", 1_000, 20_000, 5),
        acct("Start", "S1", 0, 0, 0),
        acct("Interim-Update", "S1", 3_000, 50_000, 10),
        acct("Interim-Update", "S1", 1_000, 20_000, 5),
        acct("Interim-Update", "S1", 3_000, 50_000, 10),
    ] {
        let out = radius.radclient("acct", SECRET, &packet).await;
        assert!(out.contains("Received Accounting-Response"), "{out}\n{}", radius.log());
    }
    assert_eq!(usage(&env, &admin, &rahim).await, (0, 0), "interims stay at the edge until its report");
    let (sent, out) = radius.post_usage().await;
    assert!(sent, "{out}");
    assert_eq!(usage(&env, &admin, &rahim).await, (3_000, 50_000));
    // The report again (a retry, or a quiet interval): nothing twice.
    assert!(radius.post_usage().await.0);
    assert_eq!(usage(&env, &admin, &rahim).await, (3_000, 50_000));
    // One session at a time: a second login while S1 lasts is refused.
    let out = radius.radclient("auth", SECRET, &pap(&password)).await;
    assert!(rejected(&out) && out.contains("already online"), "{out}");

    // Suspended: the online session is disconnected by the next provisioning message, and the
    // next login is refused.
    env.send("POST", &format!("/v1/subscriptions/{rahim}/suspend"), Some(&admin), Some(json!({"reason": "unpaid"})))
        .await
        .expect(200);
    until("the Disconnect-Request", async || !nas.is_online("S1")).await;
    let got = nas.received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].code.as_str(), got[0].username.as_deref(), got[0].session_id.as_deref()),
        ("Disconnect-Request", Some("rahim"), Some("S1"))
    );
    assert_eq!(nas.forged(), 0, "signed with the router's secret");
    let out = radius.radclient("auth", SECRET, &pap(&password)).await;
    assert!(rejected(&out) && out.contains("suspended"), "{out}");
    // The router's Stop (twice) brings the session's last bytes, once.
    for _ in 0..2 {
        assert!(
            radius
                .radclient("acct", SECRET, &acct("Stop", "S1", 3_500, 60_000, 12))
                .await
                .contains("Accounting-Response")
        );
    }
    assert!(radius.post_usage().await.0);
    assert_eq!(usage(&env, &admin, &rahim).await, (3_500, 60_000));
    assert_eq!(radius.sessions_table("SELECT session_id, reported FROM sessions"), "S1|1", "reported stopped once");
    assert!(radius.post_usage().await.0);
    assert_eq!(usage(&env, &admin, &rahim).await, (3_500, 60_000));

    // Restored: logins pass again; a package's new speed reaches the online session by CoA.
    env.send("POST", &format!("/v1/subscriptions/{rahim}/restore"), Some(&admin), Some(json!({}))).await.expect(200);
    until("rahim's answer open again", async || accepted(&radius.radclient("auth", SECRET, &pap(&password)).await))
        .await;
    nas.connect("S2");
    assert!(radius.radclient("acct", SECRET, &acct("Start", "S2", 0, 0, 12)).await.contains("Accounting-Response"));
    let sub = env.send("GET", &format!("/v1/subscriptions/{rahim}"), Some(&admin), None).await.expect(200);
    let pkg = sub["package_id"].as_str().unwrap().to_string();
    let p = env.send("GET", &format!("/v1/packages/{pkg}"), Some(&admin), None).await.expect(200);
    env.send(
        "PATCH",
        &format!("/v1/packages/{pkg}"),
        Some(&admin),
        Some(json!({"download": "50M", "version": p["version"]})),
    )
    .await
    .expect(200);
    until("the CoA", async || nas.received().iter().any(|r| r.code == "CoA-Request")).await;
    let coa = nas.received().into_iter().find(|r| r.code == "CoA-Request").unwrap();
    assert_eq!(coa.session_id.as_deref(), Some("S2"));
    assert!(coa.rate_limit.as_deref().is_some_and(|r| r.ends_with("/50M")), "{coa:?}");
    assert!(nas.is_online("S2"), "a speed change keeps the session");
    // The NAS restarts (Accounting-On) and S2's Stop is lost: the seat stays taken until the
    // edge's report has S2 stopped, which frees it.
    let on = "Acct-Status-Type = Accounting-On\nNAS-IP-Address = 127.0.0.1\n";
    assert!(radius.radclient("acct", SECRET, on).await.contains("Accounting-Response"));
    let out = radius.radclient("auth", SECRET, &pap(&password)).await;
    assert!(rejected(&out) && out.contains("already online"), "{out}");
    let (sent, out) = radius.post_usage().await;
    assert!(sent, "{out}");
    let out = radius.radclient("auth", SECRET, &pap(&password)).await;
    assert!(out.contains("/50M\""), "the next login gets the new speed: {out}");
}

#[tokio::test]
async fn the_radius_routes_take_only_freeradius_and_bad_input_changes_nothing() {
    let env = Env::start().await;
    let admin = env.admin().await;
    let router_id = env.demo_router(&admin).await;
    let nas = format!("{}/{router_id}", env.tenant());
    let (other_tenant, _) = env.other_tenant("usage-other").await;
    let body = json!({"User-Name": {"type": "string", "value": ["rahim"]}});
    let call = |path: &'static str, token: Option<&'static str>, nas: Option<String>, body: Value| {
        let env = &env;
        async move {
            let mut headers = vec![];
            if let Some(n) = &nas {
                headers.push(("x-radius-nas", n.as_str()));
            }
            env.send_with("POST", path, token, Some(body), &headers).await
        }
    };
    let before = env.settled_snapshot().await;
    // A user's token is not FreeRADIUS's.
    let user: &'static str = Box::leak(admin.clone().into_boxed_str());
    for path in ["/v1/radius/authorize", "/v1/radius/post-auth", "/v1/radius/accounting", "/v1/radius/usage"] {
        assert_eq!(call(path, None, Some(nas.clone()), body.clone()).await.status, 401);
        assert_eq!(call(path, Some(user), Some(nas.clone()), body.clone()).await.status, 401);
        assert_eq!(call(path, Some("short"), Some(nas.clone()), body.clone()).await.status, 401);
        let no_nas = call(path, Some(LOCAL_RADIUS_API_TOKEN), None, body.clone()).await;
        assert_eq!(no_nas.status, 422, "{:#}", no_nas.body);
        let bad_nas = call(path, Some(LOCAL_RADIUS_API_TOKEN), Some("x/y".into()), body.clone()).await;
        assert_eq!(bad_nas.status, 422);
    }
    assert_eq!(env.send("GET", "/v1/radius/clients", Some(&admin), None).await.status, 401);
    assert_eq!(env.send("GET", "/v1/radius/clients?format=yaml", Some(LOCAL_RADIUS_API_TOKEN), None).await.status, 422);
    let t = Some(LOCAL_RADIUS_API_TOKEN);
    let no_name = call("/v1/radius/authorize", t, Some(nas.clone()), json!({})).await;
    assert_eq!(no_name.status, 422);
    let no_status = call("/v1/radius/accounting", t, Some(nas.clone()), body.clone()).await;
    assert_eq!(no_status.status, 422);
    let raw = env
        .send_raw_with(
            "POST",
            "/v1/radius/accounting",
            Some(LOCAL_RADIUS_API_TOKEN),
            "application/json",
            b"{bad".to_vec(),
            &[("x-radius-nas", nas.as_str())],
        )
        .await;
    assert_eq!(raw.status, 400);
    // A router in API mode has no answers: its subscribers are unknown to RADIUS, and their
    // accounting is answered and dropped.
    let a = call("/v1/radius/authorize", t, Some(nas.clone()), body.clone()).await;
    let a = a.expect(200);
    assert_eq!(
        (a["control:Auth-Type"].as_str(), a["reply:Reply-Message"].as_str()),
        (Some("Reject"), Some("unknown subscriber"))
    );
    let acct = json!({"User-Name": {"value": ["rahim"]}, "Acct-Status-Type": {"value": ["Start"]},
        "Acct-Session-Id": {"value": ["x1"]}});
    assert_eq!(call("/v1/radius/accounting", t, Some(nas.clone()), acct).await.status, 204);
    assert_eq!(call("/v1/radius/post-auth", t, Some(nas.clone()), body.clone()).await.status, 204);
    // A usage report: for a RADIUS router only, of its own ISP, well formed.
    let session = |sid: &str, name: &str| json!({"session_id": sid, "username": name, "up_bytes": 1, "down_bytes": 2});
    let report = json!({"sessions": [session("S1", "rahim")]});
    let api_mode = call("/v1/radius/usage", t, Some(nas.clone()), report.clone()).await;
    assert_eq!(
        (api_mode.status, api_mode.body["code"].as_str()),
        (409, Some("not_radius_mode")),
        "{:#}",
        api_mode.body
    );
    let foreign = call("/v1/radius/usage", t, Some(format!("{other_tenant}/{router_id}")), report).await;
    assert_eq!(foreign.status, 404, "another ISP's NAS has no such router: {:#}", foreign.body);
    for (bad, field) in [
        (json!({"sessions": [session("", "rahim")]}), "sessions[0].session_id"),
        (json!({"sessions": [session("S1", "rahim\u{7}")]}), "sessions[0].username"),
        (json!({"sessions": [session("S1", "rahim"), session("S1", "karim")]}), "sessions[1].session_id"),
        (json!({"sessions": [{"session_id": "S1", "username": "rahim", "up_bytes": -1, "down_bytes": 0}]}), ""),
        (json!({"sessions": [session("S1", "rahim")], "extra": 1}), ""),
        (json!({}), ""),
    ] {
        let a = call("/v1/radius/usage", t, Some(nas.clone()), bad.clone()).await;
        assert!(matches!(a.status, 400 | 422), "{bad}: {:#}", a.body);
        assert!(a.body.to_string().contains(field), "{bad}: {:#}", a.body);
    }
    e2e_tests::assert_unchanged(&before, &env.settled_snapshot().await);

    // RADIUS mode needs a secret; settings are checked; RADIUS settings need RADIUS mode.
    let r = env.send("GET", &format!("/v1/routers/{router_id}"), Some(&admin), None).await.expect(200);
    let v = r["version"].clone();
    for (body, field) in [
        (json!({"access_mode": "radius", "version": v}), "radius.secret"),
        (json!({"access_mode": "radius", "radius": {"secret": "short"}, "version": v}), "radius.secret"),
        (
            json!({"access_mode": "radius", "radius": {"secret": SECRET, "interim_minutes": 0}, "version": v}),
            "radius.interim_minutes",
        ),
        (json!({"radius": {"secret": SECRET}, "version": v}), "radius"),
        (json!({"access_mode": "ldap", "version": v}), "access_mode"),
    ] {
        let a = env.send("PATCH", &format!("/v1/routers/{router_id}"), Some(&admin), Some(body.clone())).await;
        assert_eq!(a.status, 422, "{body}: {:#}", a.body);
        assert!(a.body.to_string().contains(field), "{body}: {:#}", a.body);
    }
    assert_unchanged_after_settle(&env, &before).await;
}

async fn assert_unchanged_after_settle(env: &Env, before: &std::collections::BTreeMap<String, String>) {
    e2e_tests::assert_unchanged(before, &env.settled_snapshot().await);
}
