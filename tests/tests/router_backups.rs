//! Router configuration backups end to end: API -> table -> stream -> EventBridge -> provisioning
//! queue -> worker-provisioning -> the RouterOS API test server and S3 (moto), and back.

use e2e_tests::Env;
use routeros::menu::{PPP_PROFILE, PPP_SECRET};
use routeros::testing::Attrs;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

fn attrs(pairs: &[(&str, &str)]) -> Attrs {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A menu as configuration (what the router holds, without ids and counters), to compare.
fn config(router: &routeros::testing::TestRouter, menu: &str) -> Vec<Attrs> {
    domain::router_config::normalise(&router.items(menu))
}

async fn poll(env: &Env, token: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let v = env.send("GET", path, Some(token), None).await.expect(200);
        if done(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} did not finish: {:#}", env.send("GET", path, Some(token), None).await.body);
}

async fn take_backup(env: &Env, token: &str, router: &str, key: &str) -> Value {
    let pending = env
        .send_with("POST", &format!("/v1/routers/{router}/backups"), Some(token), None, &[("idempotency-key", key)])
        .await
        .expect(202);
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["reason"], "on_demand");
    let id = pending["id"].as_str().unwrap();
    poll(env, token, &format!("/v1/routers/{router}/backups/{id}"), |b| b["status"] != "pending").await
}

#[tokio::test]
async fn a_backup_is_taken_compared_downloaded_and_restored() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let router_id = env.demo_router(&admin).await;
    let router = env.router.as_ref().unwrap();
    for _ in 0..400 {
        if router.find(PPP_SECRET, "rahim").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rahim = router.find(PPP_SECRET, "rahim").expect("the seeded subscriber reached the router");
    let rahim_password = rahim["password"].clone();
    let profile = rahim["profile"].clone();
    let speed = router.find(PPP_PROFILE, &profile).unwrap()["rate-limit"].clone();
    // What the ISP configured by hand, beside what the system manages.
    router.with_state(|s| {
        s.put("/ip/pool", attrs(&[("name", "pppoe-pool"), ("ranges", "10.20.0.2-10.20.0.254")]));
        s.put(
            "/ip/firewall/filter",
            attrs(&[
                ("chain", "input"),
                ("action", "accept"),
                ("protocol", "tcp"),
                ("dst-port", "8728"),
                ("comment", "API from the edge"),
            ]),
        );
        s.put(
            "/ip/firewall/filter",
            attrs(&[("chain", "input"), ("action", "drop"), ("in-interface", "ether1"), ("comment", "drop the rest")]),
        );
        s.put("/ip/firewall/nat", attrs(&[("chain", "srcnat"), ("action", "masquerade"), ("out-interface", "ether1")]));
    });
    let original_filter = config(router, "/ip/firewall/filter");
    let original_pools = config(router, "/ip/pool");

    let b1 = take_backup(&env, &admin, &router_id, "backup-1").await;
    assert_eq!(b1["status"], "completed", "{b1:#}");
    assert_eq!(b1["items"]["/ip/firewall/filter"], 2);
    assert_eq!(b1["items"]["/ip/pool"], 1);
    assert!(b1["items"]["/ppp/secret"].as_u64().unwrap() >= 2);
    assert_eq!(b1["routeros_version"], "7.16.2 (stable)");
    // Repeating the request with its key answers the first answer: one backup.
    let again = env
        .send_with(
            "POST",
            &format!("/v1/routers/{router_id}/backups"),
            Some(&admin),
            None,
            &[("idempotency-key", "backup-1")],
        )
        .await
        .expect(202);
    assert_eq!(again["id"], b1["id"]);
    // The stored snapshot keeps no password in the clear.
    let key = b1["object_key"].as_str().unwrap();
    assert!(b1["object_version"].as_str().is_some_and(|v| !v.is_empty()), "the bucket keeps versions");
    let object = kernel::objects::get(&env.local.app.backups_bucket, key, None).await.unwrap().expect("the object");
    let text = String::from_utf8(object).unwrap();
    assert!(text.contains("pppoe-pool") && text.contains("\"rahim\""));
    assert!(!text.contains(&format!("\"{rahim_password}\"")), "the secret's password is sealed");

    // Someone changes the router by hand: a profile's speed, one rule gone and another added, the
    // pool removed, the router renamed.
    router.with_state(|s| {
        let id = s.find(PPP_PROFILE, &profile).unwrap()[".id"].clone();
        s.execute("/ppp/profile/set", &[(".id".into(), id), ("rate-limit".into(), "1M/1M".into())], &[], None);
        s.remove_where("/ip/firewall/filter", |r| r.get("comment").map(String::as_str) == Some("drop the rest"));
        s.put(
            "/ip/firewall/filter",
            attrs(&[("chain", "forward"), ("action", "accept"), ("comment", "opened by someone")]),
        );
        s.remove_where("/ip/pool", |_| true);
        s.identity = "renamed".into();
    });
    let b2 = take_backup(&env, &admin, &router_id, "backup-2").await;
    assert_eq!(b2["status"], "completed");

    let path = format!(
        "/v1/routers/{router_id}/backup-diff?from={}&to={}",
        b1["id"].as_str().unwrap(),
        b2["id"].as_str().unwrap()
    );
    let diff = env.send("GET", &path, Some(&admin), None).await.expect(200);
    let menus: BTreeSet<&str> = diff["menus"].as_array().unwrap().iter().map(|m| m["menu"].as_str().unwrap()).collect();
    assert_eq!(
        menus,
        BTreeSet::from(["/system/identity", "/ip/pool", "/ppp/profile", "/ip/firewall/filter"]),
        "{diff:#}"
    );
    let menu = |p: &str| diff["menus"].as_array().unwrap().iter().find(|m| m["menu"] == p).unwrap().clone();
    assert_eq!(menu("/ip/pool")["removed"][0]["key"], "pppoe-pool");
    let changed = &menu("/ppp/profile")["changed"][0];
    assert_eq!(changed["key"], profile.as_str());
    assert_eq!(changed["attributes"]["rate-limit"], json!({"from": speed, "to": "1M/1M"}));
    let filter = menu("/ip/firewall/filter");
    assert_eq!(filter["added"].as_array().unwrap().len(), 1);
    assert_eq!(filter["added"][0]["attributes"]["comment"]["to"], "opened by someone");
    assert_eq!(filter["removed"][0]["attributes"]["comment"]["from"], "drop the rest");
    assert_eq!(
        menu("/system/identity")["changed"][0]["attributes"]["name"],
        json!({"from": "demo-router", "to": "renamed"})
    );
    assert!(!diff.to_string().contains(&rahim_password));

    // The script recreates the first backup, passwords included.
    let script_path = format!("/v1/routers/{router_id}/backups/{}/script", b1["id"].as_str().unwrap());
    let response = env.get_raw(&script_path, &admin).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"].to_str().unwrap().ends_with(".rsc\""));
    let script = response.text().await.unwrap();
    assert!(script.contains("/ip pool\nadd name=pppoe-pool ranges=10.20.0.2-10.20.0.254\n"), "{script}");
    assert!(script.contains("/system identity\nset name=demo-router\n"));
    assert!(script.contains("add name=rahim") && script.contains(&format!("password={rahim_password}")));
    assert!(script.contains("/ip firewall nat\nadd action=masquerade chain=srcnat out-interface=ether1\n"));

    // Restore four menus from the first backup.
    let restore_path = format!("/v1/routers/{router_id}/backups/{}/restore", b1["id"].as_str().unwrap());
    let body = json!({"menus": ["/system/identity", "/ip/pool", "/ppp/profile", "/ip/firewall/filter"]});
    let pending = env
        .send_with("POST", &restore_path, Some(&admin), Some(body.clone()), &[("idempotency-key", "restore-1")])
        .await
        .expect(202);
    assert_eq!(pending["status"], "pending");
    let restored =
        poll(&env, &admin, &format!("/v1/routers/{router_id}/restores/{}", pending["id"].as_str().unwrap()), |r| {
            r["status"] != "pending"
        })
        .await;
    assert_eq!(restored["status"], "applied", "{restored:#}");
    assert_eq!(restored["changes"]["/ip/pool"], json!({"added": 1, "changed": 0, "removed": 0}));
    assert_eq!(restored["changes"]["/ppp/profile"]["changed"], 1);
    assert_eq!(restored["changes"]["/system/identity"]["changed"], 1);
    assert_eq!(router.with_state(|s| s.identity.clone()), "demo-router");
    assert_eq!(config(router, "/ip/pool"), original_pools);
    assert_eq!(config(router, "/ip/firewall/filter"), original_filter, "the rules, in their order");
    assert_eq!(router.find(PPP_PROFILE, &profile).unwrap()["rate-limit"], speed);
    // The router as it was before the restore was backed up first: it is the second backup again.
    let safety = restored["safety_backup_id"].as_str().expect("a safety backup");
    let s = env.send("GET", &format!("/v1/routers/{router_id}/backups/{safety}"), Some(&admin), None).await.expect(200);
    assert_eq!((s["reason"].as_str(), s["status"].as_str()), (Some("before_restore"), Some("completed")));
    let same = env
        .send(
            "GET",
            &format!("/v1/routers/{router_id}/backup-diff?from={}&to={safety}", b2["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await
        .expect(200);
    assert_eq!(same["menus"], json!([]), "{same:#}");
    // Once more: the router already is the backup, nothing changes.
    let second = env
        .send_with("POST", &restore_path, Some(&admin), Some(body), &[("idempotency-key", "restore-2")])
        .await
        .expect(202);
    let second =
        poll(&env, &admin, &format!("/v1/routers/{router_id}/restores/{}", second["id"].as_str().unwrap()), |r| {
            r["status"] != "pending"
        })
        .await;
    assert_eq!(second["status"], "applied");
    for counts in second["changes"].as_object().unwrap().values() {
        assert_eq!(counts, &json!({"added": 0, "changed": 0, "removed": 0}), "{second:#}");
    }
    let list = env.send("GET", &format!("/v1/routers/{router_id}/backups"), Some(&admin), None).await.expect(200);
    let mut reasons: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|b| b["reason"].as_str().unwrap()).collect();
    reasons.sort();
    assert_eq!(reasons, ["before_restore", "before_restore", "on_demand", "on_demand"]);
}

#[tokio::test]
async fn bad_backup_and_restore_requests_change_nothing() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let router_id = env.demo_router(&admin).await;
    let b = take_backup(&env, &admin, &router_id, "bad-1").await;
    let bid = b["id"].as_str().unwrap().to_string();
    let (_, acc) = env.create_user(&admin, "accountant", "acc-backups@demo.test", None).await;
    let before = env.settled_snapshot().await;
    let restore = format!("/v1/routers/{router_id}/backups/{bid}/restore");
    let bad_restores = [
        json!({"menus": []}),
        json!({"menus": ["/interface"]}),
        json!({"menus": ["/ppp/secret", "/ppp/secret"]}),
        json!({"menus": ["/ip/route"]}),
        json!({"menus": "/ppp/secret"}),
        json!({"menus": ["/ppp/secret"], "everything": true}),
    ];
    for (i, body) in bad_restores.iter().enumerate() {
        let key = format!("bad-restore-{i}");
        let a = env
            .send_with("POST", &restore, Some(&admin), Some(body.clone()), &[("idempotency-key", key.as_str())])
            .await;
        assert!(matches!(a.status, 400 | 422), "{body}: {} {:#}", a.status, a.body);
        assert_eq!(a.body["status"], a.status, "problem+json");
    }
    // No key: refused.
    let a = env.send("POST", &restore, Some(&admin), Some(json!({"menus": ["/ip/pool"]}))).await;
    assert_eq!(a.status, 400);
    let a = env.send("POST", &format!("/v1/routers/{router_id}/backups"), Some(&admin), None).await;
    assert_eq!(a.status, 400);
    let a = env
        .send_with(
            "POST",
            &format!("/v1/routers/{router_id}/backups"),
            Some(&admin),
            Some(json!({"menus": []})),
            &[("idempotency-key", "bad-body")],
        )
        .await;
    assert_eq!(a.status, 422, "{:#}", a.body);
    // Unknown ids, bad diffs.
    let unknown = uuid::Uuid::now_v7();
    for path in [
        format!("/v1/routers/{router_id}/backups/{unknown}"),
        format!("/v1/routers/{router_id}/backups/{unknown}/script"),
        format!("/v1/routers/{router_id}/restores/{bid}"),
        format!("/v1/routers/{unknown}/backups"),
        format!("/v1/routers/{router_id}/backups/not-an-id"),
    ] {
        assert_eq!(env.send("GET", &path, Some(&admin), None).await.status, 404, "{path}");
    }
    for query in
        ["", "?from={bid}", "?to={bid}", "?from=x&to={bid}", "?from={bid}&to={unknown}", "?from={bid}&to={bid}&more=1"]
    {
        let q = query.replace("{bid}", &bid).replace("{unknown}", &unknown.to_string());
        let a = env.send("GET", &format!("/v1/routers/{router_id}/backup-diff{q}"), Some(&admin), None).await;
        assert!(matches!(a.status, 400 | 422), "{q}: {}", a.status);
    }
    // Who may: an accountant reads neither scripts nor restores; staff without the secrets right
    // get no script.
    let a = env
        .send_with("POST", &restore, Some(&acc), Some(json!({"menus": ["/ip/pool"]})), &[("idempotency-key", "acc")])
        .await;
    assert_eq!(a.status, 403);
    let a = env
        .send_with(
            "POST",
            &format!("/v1/routers/{router_id}/backups"),
            Some(&acc),
            None,
            &[("idempotency-key", "acc2")],
        )
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(
        env.send("GET", &format!("/v1/routers/{router_id}/backups/{bid}/script"), Some(&acc), None).await.status,
        403
    );
    let after = env.settled_snapshot().await;
    e2e_tests::assert_unchanged(&before, &after);

    // A backup that failed cannot be restored.
    // A backup that cannot be taken: the router drops the worker's connection and refuses logins.
    env.router.as_ref().unwrap().set_faults(routeros::testing::Faults {
        refuse_logins: 100,
        drop_after: Some(routeros::testing::DropFault { after_commands: 1, execute_last: false }),
        ..Default::default()
    });
    let failed = take_backup(&env, &admin, &router_id, "bad-2").await;
    assert_eq!(failed["status"], "failed", "{failed:#}");
    assert!(failed["error"].as_str().is_some_and(|e| !e.is_empty()));
    let a = env
        .send_with(
            "POST",
            &format!("/v1/routers/{router_id}/backups/{}/restore", failed["id"].as_str().unwrap()),
            Some(&admin),
            Some(json!({"menus": ["/ip/pool"]})),
            &[("idempotency-key", "restore-failed")],
        )
        .await;
    assert_eq!(a.status, 409, "{:#}", a.body);
    assert_eq!(a.body["code"], "backup_not_completed");
}

#[tokio::test]
async fn backups_follow_the_isp_schedule_and_keep_only_the_newest() {
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let router_id = env.demo_router(&admin).await;
    let router = env.router.as_ref().unwrap();
    let tenant = env.tenant();
    let t = env.send("GET", &format!("/v1/tenants/{tenant}"), Some(&admin), None).await.expect(200);
    assert_eq!(t["router_backups"], json!({"schedule": "weekly", "keep": 12, "on_router_daily": true}));
    for bad in [json!({"keep": 0}), json!({"schedule": "hourly"}), json!({"keep": 3, "extra": 1})] {
        let a = env
            .send(
                "PATCH",
                &format!("/v1/tenants/{tenant}"),
                Some(&admin),
                Some(json!({"router_backups": bad, "version": t["version"]})),
            )
            .await;
        assert!(matches!(a.status, 400 | 422), "{bad}: {}", a.status);
    }
    env.send(
        "PATCH",
        &format!("/v1/tenants/{tenant}"),
        Some(&admin),
        Some(json!({"router_backups": {"schedule": "daily", "keep": 2, "on_router_daily": true}, "version": t["version"]})),
    )
    .await
    .expect(200);

    let start = env.clock.now();
    let mut seen_ids = Vec::new();
    for day in 0..4 {
        let at = start + chrono::Duration::days(day);
        env.clock.set(at);
        let admin = env.admin().await;
        env.send("POST", "/_local/jobs/job-router-backups", None, Some(json!({"time": at.to_rfc3339()})))
            .await
            .expect(200);
        let mut items = Vec::new();
        for _ in 0..400 {
            items = backups(&env, &admin, &router_id).await;
            if items
                .first()
                .is_some_and(|b| b["taken_at"].as_str().is_some_and(|t| t.starts_with(&at.date_naive().to_string())))
                && items.len() == (day as usize + 1).min(2)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(items.len(), (day as usize + 1).min(2), "day {day}: {items:#?}");
        assert!(items.iter().all(|b| b["reason"] == "scheduled" && b["status"] == "completed"));
        seen_ids.push(items[0]["id"].as_str().unwrap().to_string());
        // The same day's sweep again takes nothing more.
        if day == 1 {
            // The same ids, not the same count: `keep` 2 would prune an extra one away.
            let ids = |items: Vec<Value>| items.iter().map(|b| b["id"].clone()).collect::<Vec<_>>();
            let listed = ids(backups(&env, &admin, &router_id).await);
            env.send("POST", "/_local/jobs/job-router-backups", None, Some(json!({"time": at.to_rfc3339()})))
                .await
                .expect(200);
            tokio::time::sleep(Duration::from_millis(500)).await;
            let _ = env.settled_snapshot().await;
            assert_eq!(ids(backups(&env, &admin, &router_id).await), listed, "the same two backups");
        }
    }
    seen_ids.dedup();
    assert_eq!(seen_ids.len(), 4, "one backup a day");
    // The newest two are kept, the rest deleted with their objects.
    let admin = env.admin().await;
    let kept: Vec<String> =
        backups(&env, &admin, &router_id).await.iter().map(|b| b["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(kept, vec![seen_ids[3].clone(), seen_ids[2].clone()]);
    let gone = keys_gone(&env, &router_id, &seen_ids[0]).await;
    assert!(gone, "the oldest backup's object was deleted");
    // The router's own daily backup is kept by a scheduler entry.
    let entry = router.find("/system/scheduler", "isp-daily-backup").expect("the on-router backup entry");
    assert_eq!(entry["on-event"], "/system backup save name=isp-daily");
    assert_eq!(entry["interval"], "1d");
    // Someone edits it on the router: the next sweep puts it back; turned off, it goes.
    router.with_state(|s| {
        let id = s.find("/system/scheduler", "isp-daily-backup").unwrap()[".id"].clone();
        s.execute("/system/scheduler/set", &[(".id".into(), id), ("interval".into(), "7d".into())], &[], None);
    });
    let t = env.send("GET", &format!("/v1/tenants/{tenant}"), Some(&admin), None).await.expect(200);
    env.send("POST", "/_local/jobs/job-router-backups", None, Some(json!({"time": env.clock.now().to_rfc3339()})))
        .await
        .expect(200);
    assert!(
        env.eventually(|| router.find("/system/scheduler", "isp-daily-backup").is_some_and(|e| e["interval"] == "1d"))
            .await,
        "the entry was repaired"
    );
    env.send(
        "PATCH",
        &format!("/v1/tenants/{tenant}"),
        Some(&admin),
        Some(json!({"router_backups": {"schedule": "off", "keep": 2, "on_router_daily": false}, "version": t["version"]})),
    )
    .await
    .expect(200);
    let at = env.clock.now() + chrono::Duration::days(3);
    env.clock.set(at);
    env.send("POST", "/_local/jobs/job-router-backups", None, Some(json!({"time": at.to_rfc3339()}))).await.expect(200);
    assert!(env.eventually(|| router.find("/system/scheduler", "isp-daily-backup").is_none()).await, "the entry went");
    let _ = env.settled_snapshot().await;
    let admin = env.admin().await;
    assert_eq!(backups(&env, &admin, &router_id).await.len(), 2, "schedule off: no new backup");
}

async fn backups(env: &Env, token: &str, router: &str) -> Vec<Value> {
    env.send("GET", &format!("/v1/routers/{router}/backups"), Some(token), None).await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Whether the backup's object is gone from the bucket (its id names the object).
async fn keys_gone(env: &Env, router: &str, backup: &str) -> bool {
    let key = store::keys::router_backup_object(env.tenant(), router.parse().unwrap(), backup.parse().unwrap());
    kernel::objects::get(&env.local.app.backups_bucket, &key, None).await.unwrap().is_none()
}
