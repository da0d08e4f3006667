use e2e_tests::Env;
use serde_json::json;

fn token_in(body: &str) -> String {
    body.lines()
        .map(str::trim)
        .find(|l| l.len() > 40 && l.contains('.') && !l.contains(' '))
        .expect("a token line")
        .to_string()
}

/// API call -> outbox -> stream -> EventBridge rule -> SQS -> worker -> channel, against moto; then
/// the same event delivered twice more is handled once.
#[tokio::test]
async fn password_reset_travels_the_whole_event_path_once() {
    let env = Env::start().await;
    let email = env.creds.admin_email.clone();
    env.send("POST", "/v1/auth/password-reset", None, Some(json!({"email": email}))).await.expect(202);
    // Unknown addresses are accepted alike and send nothing.
    env.send("POST", "/v1/auth/password-reset", None, Some(json!({"email": "nobody@nowhere.test"}))).await.expect(202);
    let channel = env.local.channel.recorded.clone();
    assert!(env.eventually(|| !channel.messages().is_empty()).await, "the message arrives");
    let m = channel.messages()[0].clone();
    assert_eq!(m.to, email);
    let token = token_in(&m.body);

    // The outbox item, re-sent twice as EventBridge would deliver it.
    let snapshot = env.table_snapshot().await;
    let event_key = snapshot
        .iter()
        .find(|(_, v)| v.contains("PasswordResetRequested"))
        .map(|(k, _)| k.clone())
        .expect("outbox item");
    let (pk, sk) = event_key.split_once('|').unwrap();
    let item = env.local.app.store.get_item(&store::ItemKeys::new(pk.to_string(), sk)).await.unwrap().unwrap();
    let s = |k: &str| item[k].as_s().unwrap().clone();
    let envelope = json!({"version": "0", "id": "redelivery", "detail-type": s("detail_type"), "source": s("source"),
        "account": "000000000000", "time": s("occurred_at"), "region": "us-east-1", "resources": [],
        "detail": serde_json::from_str::<serde_json::Value>(&s("detail")).unwrap()});
    let url = env.local.queue_urls["NotificationsQueue"].clone();
    for _ in 0..2 {
        env.local.sqs.send_message().queue_url(&url).message_body(envelope.to_string()).send().await.unwrap();
    }
    // A second, distinct reset proves the worker is still consuming when we count.
    env.send("POST", "/v1/auth/password-reset", None, Some(json!({"email": email}))).await.expect(202);
    assert!(env.eventually(|| channel.messages().len() >= 2).await);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let attrs = env
        .local
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attrs.attributes.unwrap()[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages],
        "0",
        "duplicates were consumed"
    );
    assert_eq!(channel.messages().len(), 2, "the duplicated event was delivered once");

    // The token works once.
    env.send(
        "POST",
        "/v1/auth/password-reset/confirm",
        None,
        Some(json!({"token": token, "new_password": "reset-admin-pass-2"})),
    )
    .await
    .expect(204);
    env.login(&email, "reset-admin-pass-2").await;
    let again = env
        .send(
            "POST",
            "/v1/auth/password-reset/confirm",
            None,
            Some(json!({"token": token, "new_password": "reset-admin-pass-3"})),
        )
        .await;
    assert_eq!((again.status, again.code()), (400, "invalid_reset_token"));
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_reset_tokens_expire() {
    let env = Env::start().await;
    let channel = env.local.channel.recorded.clone();
    *channel.fail_next.lock().unwrap() = 1;
    env.send("POST", "/v1/auth/password-reset", None, Some(json!({"email": env.creds.admin_email}))).await.expect(202);
    assert!(env.eventually(|| !channel.messages().is_empty()).await, "delivered after the retry");
    assert_eq!(*channel.fail_next.lock().unwrap(), 0, "the first attempt failed");
    assert_eq!(channel.messages().len(), 1);
    let token = token_in(&channel.messages()[0].body);
    env.clock.advance(chrono::Duration::minutes(31));
    let late = env
        .send(
            "POST",
            "/v1/auth/password-reset/confirm",
            None,
            Some(json!({"token": token, "new_password": "late-admin-pass-2"})),
        )
        .await;
    assert_eq!(late.code(), "invalid_reset_token");
}
