//! Telegram through its fake, and signed deliveries to an ISP's endpoint.

use messaging::sms::SmsHttp;
use messaging::telegram::{TelegramBot, send_message};
use messaging::testing::{FakeEndpoint, FakeTelegram};
use messaging::{PermanentReason, SendError, webhook};
use std::time::Duration;

#[tokio::test]
async fn telegram_sends_to_a_chat_and_a_throttle_says_how_long_to_wait() {
    let http = SmsHttp::new().unwrap();
    let fake = FakeTelegram::start("123456:ABC-DEF").await;
    let bot = TelegramBot { base_url: fake.base_url(), token: "123456:ABC-DEF".into() };
    send_message(&http, &bot, "-1001234", "Router core-1 is offline").await.unwrap();
    assert_eq!(fake.messages()[0].chat_id, "-1001234");
    fake.throttle(1);
    match send_message(&http, &bot, "-1001234", "again").await {
        Err(SendError::Retryable { retry_after, .. }) => assert_eq!(retry_after, Some(Duration::from_secs(3))),
        other => panic!("{other:?}"),
    }
    fake.block(true);
    let got = send_message(&http, &bot, "-1001234", "again").await;
    assert!(matches!(got, Err(SendError::Permanent { reason: PermanentReason::Rejected, .. })), "{got:?}");
    let wrong = TelegramBot { token: "999:nope".into(), ..bot };
    let got = send_message(&http, &wrong, "-1001234", "x").await;
    assert!(matches!(got, Err(SendError::Permanent { reason: PermanentReason::Credentials, .. })), "{got:?}");
    assert_eq!(fake.messages().len(), 1);
}

#[tokio::test]
async fn an_endpoint_verifies_what_we_sign_and_a_failing_one_is_seen_as_failing() {
    let secret = webhook::new_secret();
    let endpoint = FakeEndpoint::start(&secret).await;
    let client = webhook::endpoint_client(outbound::Hosts { allow_loopback: true }).unwrap();
    let body = br#"{"type":"payment.received","data":{"amount":50000}}"#;
    let ok = webhook::deliver(&client, &endpoint.url(), &secret, "msg_1", 1_764_900_000, body).await;
    assert!(ok.delivered(), "{ok:?}");
    endpoint.fail_with(Some(503));
    let failed = webhook::deliver(&client, &endpoint.url(), &secret, "msg_1", 1_764_900_060, body).await;
    assert_eq!((failed.delivered(), failed.status), (false, Some(503)));
    let received = endpoint.received();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|r| r.verified && r.id == "msg_1"));
    // Signed with another secret: the endpoint refuses it.
    endpoint.fail_with(None);
    let forged = webhook::deliver(&client, &endpoint.url(), &webhook::new_secret(), "msg_2", 1, body).await;
    assert_eq!(forged.status, Some(401));
    // Loopback is not an ISP's system where the platform does not allow it.
    let strict = webhook::endpoint_client(outbound::Hosts::default()).unwrap();
    for url in ["http://localhost:9/hooks", "https://169.254.169.254/latest/meta-data", "https://127.0.0.1:9/hooks"] {
        let refused = webhook::deliver(&strict, url, &secret, "msg_3", 1, body).await;
        assert_eq!(refused.status, None, "{url}: {refused:?}");
    }
}
