//! Each SMS provider's adapter against its fake on 127.0.0.1: what it sends (the provider's own
//! number format and fields), how each kind of answer is classified, balances, and delivery
//! reports (Twilio's signature verified).

use messaging::sms::{self, DeliveryState, SmsAccount, SmsHttp, SmsProvider, SmsRequest};
use messaging::testing::{FakeSms, Fault};
use messaging::{PermanentReason, SendError};
use std::collections::BTreeMap;
use std::time::Duration;

fn creds(provider: SmsProvider) -> Vec<(&'static str, &'static str)> {
    match provider {
        SmsProvider::SslWireless => vec![("api_token", "ssl-token")],
        SmsProvider::Bulksmsbd => vec![("api_key", "bulk-key")],
        SmsProvider::AlphaSms => vec![("api_key", "alpha-key")],
        SmsProvider::Zenziva => vec![("userkey", "zz-user"), ("passkey", "zz-pass")],
        SmsProvider::AfricasTalking => vec![("username", "sandbox"), ("api_key", "at-key")],
        SmsProvider::Twilio => vec![("account_sid", "AC0123456789abcdef0123456789abcdef"), ("auth_token", "tw-token")],
    }
}

fn account(fake: &FakeSms, credentials: &[(&str, &str)]) -> SmsAccount {
    let provider = fake.provider();
    SmsAccount {
        provider,
        base_url: fake.base_url(),
        sender_id: Some(if provider == SmsProvider::Twilio { "+15005550006".into() } else { "DemoISP".into() }),
        credentials: credentials.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
    }
}

fn to_for(provider: SmsProvider) -> &'static str {
    match provider {
        SmsProvider::Zenziva => "+6281234567890",
        SmsProvider::AfricasTalking => "+254712345678",
        _ => "+8801719300101",
    }
}

fn request(provider: SmsProvider, text: &str) -> SmsRequest {
    SmsRequest {
        to: to_for(provider).into(),
        text: text.into(),
        reference: "msg-0001".into(),
        status_callback: Some("http://127.0.0.1:9/v1/messaging/reports/twilio/x".into()),
    }
}

#[tokio::test]
async fn every_provider_sends_in_its_own_format_and_classifies_its_refusals() {
    let http = SmsHttp::new().unwrap();
    for provider in SmsProvider::ALL {
        let c = creds(provider);
        let fake = FakeSms::start(provider, &c).await;
        let acct = account(&fake, &c);
        let text = "প্রিয় গ্রাহক, আপনার বিল ৫০০ টাকা।";
        let sent =
            sms::send(&http, &acct, &request(provider, text)).await.unwrap_or_else(|e| panic!("{provider:?}: {e}"));
        let got = fake.messages();
        assert_eq!(got.len(), 1, "{provider:?}");
        assert_eq!(got[0].text, text, "{provider:?}: Bangla arrives intact");
        assert_eq!(sent.provider_message_id.as_deref(), Some(got[0].id.as_str()), "{provider:?}");
        let expected_to = match provider {
            SmsProvider::Zenziva => "081234567890",
            SmsProvider::AfricasTalking => "+254712345678",
            SmsProvider::Twilio => "+8801719300101",
            _ => "8801719300101",
        };
        assert_eq!(got[0].to, expected_to, "{provider:?}");
        if provider == SmsProvider::SslWireless {
            assert_eq!(got[0].reference.as_deref(), Some("msg-0001"), "csms_id is our message id");
        }

        for (fault, reason) in [
            (Fault::InvalidNumber, PermanentReason::InvalidNumber),
            (
                Fault::NoBalance,
                if provider == SmsProvider::Twilio { PermanentReason::Credentials } else { PermanentReason::NoBalance },
            ),
            (Fault::SenderRejected, PermanentReason::SenderRejected),
        ] {
            fake.fail_next(fault);
            match sms::send(&http, &acct, &request(provider, "Hello")).await {
                Err(SendError::Permanent { reason: got, .. }) => assert_eq!(got, reason, "{provider:?} {fault:?}"),
                other => panic!("{provider:?} {fault:?}: {other:?}"),
            }
        }
        for fault in [Fault::ServerError, Fault::Throttle] {
            fake.fail_next(fault);
            let got = sms::send(&http, &acct, &request(provider, "Hello")).await;
            assert!(matches!(got, Err(SendError::Retryable { .. })), "{provider:?} {fault:?}: {got:?}");
        }
        assert_eq!(fake.messages().len(), 1, "{provider:?}: nothing refused was sent");

        let mut wrong = c.clone();
        wrong[0].1 = "wrong";
        let got = sms::send(&http, &account(&fake, &wrong), &request(provider, "Hello")).await;
        assert!(
            matches!(got, Err(SendError::Permanent { reason: PermanentReason::Credentials, .. })),
            "{provider:?}: {got:?}"
        );

        let balance = sms::balance(&http, &acct).await.unwrap();
        assert_eq!(balance.is_some(), provider.has_balance_api(), "{provider:?}");
        if let Some(b) = balance {
            assert!(b.amount.starts_with("1250.5"), "{provider:?}: {b:?}");
        }
    }
}

#[tokio::test]
async fn a_provider_that_answers_too_late_leaves_the_outcome_unknown_and_a_dead_one_is_retryable() {
    let c = creds(SmsProvider::Bulksmsbd);
    let fake = FakeSms::start(SmsProvider::Bulksmsbd, &c).await;
    let acct = account(&fake, &c);
    let impatient = SmsHttp::with_timeout(Duration::from_millis(300)).unwrap();
    fake.fail_next(Fault::Slow(Duration::from_secs(2)));
    let got = sms::send(&impatient, &acct, &request(SmsProvider::Bulksmsbd, "Hello")).await;
    assert!(matches!(got, Err(SendError::Unknown { .. })), "{got:?}");
    assert_eq!(fake.messages().len(), 1, "the provider did take it");

    // Nothing listens: the request never left.
    let mut gone = acct.clone();
    gone.base_url = "http://127.0.0.1:9".into();
    let got = sms::send(&impatient, &gone, &request(SmsProvider::Bulksmsbd, "Hello")).await;
    assert!(matches!(got, Err(SendError::Retryable { .. })), "{got:?}");
}

#[tokio::test]
async fn twilio_status_callbacks_verify_with_the_auth_token_and_africas_talking_reports_read() {
    use axum::routing::post;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Option<String>, String)>();
    let app = axum::Router::new().route(
        "/reports",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let tx = tx.clone();
            async move {
                let sig = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()).map(str::to_string);
                tx.send((sig, body)).ok();
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/reports", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });

    let http = SmsHttp::new().unwrap();
    let c = creds(SmsProvider::Twilio);
    let twilio = FakeSms::start(SmsProvider::Twilio, &c).await;
    let mut req = request(SmsProvider::Twilio, "Paid, thank you");
    req.status_callback = Some(url.clone());
    let sent = sms::send(&http, &account(&twilio, &c), &req).await.unwrap();
    let id = sent.provider_message_id.unwrap();
    assert_eq!(twilio.report(&id, false).await, 204);
    let (sig, body) = rx.recv().await.unwrap();
    let report = sms::twilio::verify_status_callback("tw-token", &url, sig.as_deref(), body.as_bytes()).unwrap();
    assert_eq!((report.provider_message_id.as_str(), report.state), (id.as_str(), DeliveryState::Failed));
    assert_eq!(report.detail, "undelivered 30003");
    assert!(sms::twilio::verify_status_callback("other-token", &url, sig.as_deref(), body.as_bytes()).is_err());
    let tampered = body.replace("undelivered", "delivered");
    assert!(sms::twilio::verify_status_callback("tw-token", &url, sig.as_deref(), tampered.as_bytes()).is_err());
    assert!(sms::twilio::verify_status_callback("tw-token", &url, None, body.as_bytes()).is_err());

    let c = creds(SmsProvider::AfricasTalking);
    let at = FakeSms::start(SmsProvider::AfricasTalking, &c).await;
    at.report_to(&url);
    let sent = sms::send(&http, &account(&at, &c), &request(SmsProvider::AfricasTalking, "Hello")).await.unwrap();
    assert_eq!(sent.parts, Some(1));
    assert_eq!(sent.cost.as_deref(), Some("KES 0.8000"));
    let id = sent.provider_message_id.unwrap();
    assert_eq!(at.report(&id, true).await, 204);
    let (_, body) = rx.recv().await.unwrap();
    let report = sms::africastalking::delivery_report(body.as_bytes()).unwrap();
    assert_eq!((report.provider_message_id.as_str(), report.state), (id.as_str(), DeliveryState::Delivered));
}

#[tokio::test]
async fn alpha_sms_delivery_is_pulled_by_request_id() {
    let http = SmsHttp::new().unwrap();
    let c = creds(SmsProvider::AlphaSms);
    let fake = FakeSms::start(SmsProvider::AlphaSms, &c).await;
    let acct = account(&fake, &c);
    let sent = sms::send(&http, &acct, &request(SmsProvider::AlphaSms, "Hello")).await.unwrap();
    let id = sent.provider_message_id.unwrap();
    let report = sms::alphasms::report(&http, &acct, &id).await.unwrap().unwrap();
    assert_eq!(report, vec![("8801719300101".to_string(), DeliveryState::Delivered)]);
    assert!(sms::alphasms::report(&http, &acct, "../x").await.is_err());
}
