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
