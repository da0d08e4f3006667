use e2e_tests::Env;
use serde_json::json;

/// The daily sweep warns a reseller once before its subscription ends and once when it has ended,
/// through the notification path; reruns send nothing twice. Run on demand through the local runner.
#[tokio::test]
async fn the_subscription_sweep_warns_once_then_reports_the_expiry() {
    let env = Env::start().await;
    let owner = env.owner().await;
    let rid = env.seed.reseller_id.unwrap();
    let now = env.local.app.now();
    let ends = now + chrono::Duration::days(3);
    env.send(
        "PATCH",
        &format!("/v1/platform-resellers/{rid}"),
        Some(&owner),
        Some(json!({"subscription_expires_at": ends.to_rfc3339(), "version": 1})),
    )
    .await
    .expect(200);
    let run = |at: chrono::DateTime<chrono::Utc>| {
        let env = &env;
        async move {
            env.send("POST", "/_local/jobs/job-platform-subscriptions", None, Some(json!({"time": at.to_rfc3339()})))
                .await
                .expect(200)
        }
    };
    let first = run(now).await;
    assert_eq!((first["resellers_checked"].as_u64(), first["expiring_notices"].as_u64()), (Some(1), Some(1)));
    assert_eq!(run(now + chrono::Duration::hours(1)).await["expiring_notices"], 0, "a rerun sends nothing twice");
    let channel = env.local.channel.recorded.clone();
    let reseller_email = env.creds.reseller_email.clone();
    assert!(
        env.eventually(|| channel.messages().iter().any(|m| m.to == reseller_email && m.subject.contains("ends soon")))
            .await
    );

    let after = run(ends + chrono::Duration::hours(1)).await;
    assert_eq!((after["expired_notices"].as_u64(), after["expiring_notices"].as_u64()), (Some(1), Some(0)));
    assert!(
        env.eventually(|| channel.messages().iter().any(|m| m.to == reseller_email && m.subject.contains("expired")))
            .await
    );
    assert_eq!(channel.messages().iter().filter(|m| m.to == reseller_email).count(), 2);

    let unknown = env.send("POST", "/_local/jobs/job-nothing", None, None).await;
    assert_eq!(unknown.status, 404);
    let bad =
        env.send("POST", "/_local/jobs/job-platform-subscriptions", None, Some(json!({"time": "yesterday"}))).await;
    assert_eq!(bad.status, 422);
}

/// The frequent jobs put one event per page of ISPs, not one per ISP; a worker takes the page's
/// ISPs together and sends one that failed back alone, so it is retried without the rest.
#[tokio::test]
async fn a_frequent_job_names_a_page_of_isps_and_a_failed_one_is_retried_alone() {
    use domain::event::{NetworkEvent, TenantJobRequested};
    let env = Env::start_with_router().await;
    let admin = env.admin().await;
    let rid = env.demo_router(&admin).await;
    let (other, _) = env.other_tenant("paged-other").await;
    let now = env.clock.now();
    let job = env
        .send("POST", "/_local/jobs/job-router-health", None, Some(json!({"time": now.to_rfc3339()})))
        .await
        .expect(200);
    assert!(job["tenants"].as_u64().unwrap() >= 2, "{job}");
    assert_eq!(job["events"], 1, "one event for the page: {job}");
    // The daily billing run stays one event per ISP (an ISP's run is long).
    let billing = env
        .send("POST", "/_local/jobs/job-billing-run", None, Some(json!({"time": now.to_rfc3339()})))
        .await
        .expect(200);
    assert_eq!(billing["events"], billing["tenants"], "{billing}");

    // A page whose share fails for the demo ISP: the other ISP's share is done, the demo ISP's
    // comes back as its own event, which the worker then runs (the router checked at the page's
    // time).
    env.clock.advance(chrono::Duration::minutes(5));
    let at = env.clock.now();
    let demo = env.tenant();
    let done = std::sync::Mutex::new(Vec::new());
    let page = TenantJobRequested::page(vec![other, demo], at);
    let outcome =
        kernel::schedule::each_tenant(&env.local.app, NetworkEvent::RouterHealthCheckRequested, &page, 4, |t| {
            let done = &done;
            async move {
                if t == demo {
                    return Err(domain::Error::Internal("the demo ISP's share failed".into()));
                }
                done.lock().unwrap().push(t);
                Ok(())
            }
        })
        .await;
    assert!(outcome.is_ok(), "the page is done: {outcome:?}");
    assert_eq!(*done.lock().unwrap(), vec![other]);
    let checked_at_page_time = || async {
        let r = env.send("GET", &format!("/v1/monitoring/routers/{rid}"), Some(&admin), None).await.expect(200);
        r["last"]["at"].as_str().map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap()) == Some(at)
    };
    let mut retried = false;
    for _ in 0..200 {
        if checked_at_page_time().await {
            retried = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(retried, "the demo ISP's share ran alone");
    // A page whose time is up starts nothing more: its ISPs go back alone (and run).
    env.clock.advance(chrono::Duration::minutes(5));
    let at = env.clock.now();
    let admin = env.admin().await;
    let late = TenantJobRequested::page(vec![demo], at);
    let started = std::sync::atomic::AtomicUsize::new(0);
    let outcome = kernel::schedule::each_tenant_within(
        &env.local.app,
        NetworkEvent::RouterHealthCheckRequested,
        &late,
        4,
        std::time::Duration::ZERO,
        |_| {
            let started = &started;
            async move {
                started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            }
        },
    )
    .await;
    assert!(outcome.is_ok());
    assert_eq!(started.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing started after the page's time");
    let mut sent_back = false;
    for _ in 0..200 {
        let r = env.send("GET", &format!("/v1/monitoring/routers/{rid}"), Some(&admin), None).await.expect(200);
        if r["last"]["at"].as_str().map(|t| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap()) == Some(at) {
            sent_back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(sent_back, "the ISP the page did not start ran alone");
    // One ISP's own event: its failure is the message's (the queue retries it).
    let one = TenantJobRequested::one(demo, at);
    let outcome =
        kernel::schedule::each_tenant(&env.local.app, NetworkEvent::RouterHealthCheckRequested, &one, 4, |_| async {
            Err(domain::Error::Internal("failed".into()))
        })
        .await;
    assert!(outcome.is_err());
}
