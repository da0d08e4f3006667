//! `make run`: the whole system on http://127.0.0.1:3000 against the local moto, with demo data.

use domain::checkout::Gateway;
use local_runner::seed::{DemoCredentials, DemoGateway, seed_demo, seed_demo_gateways};
use local_runner::{Local, LocalOptions, template::Template};

#[tokio::main]
async fn main() -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut opts = LocalOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => opts.port = args.next().and_then(|p| p.parse().ok()).ok_or("--port takes a number")?,
            "--prefix" => opts.prefix = args.next().ok_or("--prefix takes a name")?,
            other => return Err(format!("unknown argument {other}; use --port N, --prefix NAME")),
        }
    }
    // The demo router: the RouterOS API test server, where the seeded subscribers are provisioned.
    let creds = DemoCredentials::from_env();
    let demo_port = creds.router_port;
    let demo_router = routeros::testing::TestRouter::start(routeros::testing::TestRouterConfig {
        port: demo_port,
        username: local_runner::seed::DEMO_ROUTER_USER.into(),
        password: local_runner::seed::DEMO_ROUTER_PASSWORD.into(),
        identity: "demo-router".into(),
        tls: false,
    })
    .await
    .map_err(|e| format!("cannot start the demo router on 127.0.0.1:{demo_port}: {e} (set DEMO_ROUTER_PORT)"))?;
    let template = Template::load(&Template::default_path())?;
    let local = Local::start(template, opts).await?;
    let report = seed_demo(&local.app, &creds).await.map_err(|e| e.to_string())?;
    // The gateways' fakes, as the demo ISP's sandbox accounts: Stripe (it notifies the webhook at
    // once, as Stripe does) and bKash (tokenized checkout; the return executes the payment).
    let stripe = gateways::testing::FakeStripe::start("sk_test_demo", "whsec_demo").await;
    let bkash =
        gateways::testing::FakeBkash::start("demo-app-key", "demo-app-secret", "demo-merchant", "demo-pass").await;
    let demo = |gateway, base_url: String, pairs: &[(&str, String)]| DemoGateway {
        gateway,
        base_url,
        credentials: pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
    };
    let accounts = seed_demo_gateways(
        &local.app,
        &creds,
        vec![
            demo(
                Gateway::Stripe,
                stripe.base_url(),
                &[("secret_key", "sk_test_demo".into()), ("webhook_secret", "whsec_demo".into())],
            ),
            demo(
                Gateway::Bkash,
                bkash.base_url(),
                &[
                    ("app_key", "demo-app-key".into()),
                    ("app_secret", "demo-app-secret".into()),
                    ("username", "demo-merchant".into()),
                    ("password", "demo-pass".into()),
                    ("webhook_topic_arn", bkash.topic_arn()),
                ],
            ),
        ],
    )
    .await
    .map_err(|e| e.to_string())?;
    let account_of =
        |g: Gateway| accounts.iter().find(|(x, _)| *x == g).map(|(_, id)| id.to_string()).unwrap_or_default();
    stripe.send_webhooks_to(&format!("{}/v1/webhooks/stripe/{}", local.base_url, account_of(Gateway::Stripe)));
    // Messaging: the demo ISP's SSL Wireless sandbox account and NOC Telegram bot at local fakes.
    let sms = messaging::testing::FakeSms::start(
        messaging::sms::SmsProvider::SslWireless,
        &[("api_token", local_runner::seed::DEMO_SMS_TOKEN)],
    )
    .await;
    let telegram = messaging::testing::FakeTelegram::start(local_runner::seed::DEMO_TELEGRAM_TOKEN).await;
    local_runner::seed::seed_demo_messaging(&local.app, &creds, sms.base_url(), telegram.base_url())
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "\nISP billing backend on {url}\n\
         \n  platform owner:    {oe} / {op}\
         \n  platform reseller: {re} / {rp}\
         \n  Demo ISP admin:    {ae} / {ap}\n\
         \n  log in:   curl -s {url}/v1/auth/login -H 'content-type: application/json' -d '{{\"email\":\"{ae}\",\"password\":\"{ap}\"}}'\
         \n  API docs: {url}/docs (the document: {url}/v1/openapi.json)\
         \n  Subscriber portal (Demo ISP, code demo-isp; also at http://demo-isp.portal.localhost:{port}):\
         \n    curl -s {url}/v1/portal/auth/login -H 'x-isp: demo-isp' -H 'content-type: application/json' -d '{{\"login\":\"rahim\",\"password\":\"rahim-portal-1\"}}'\
         \n  Demo router (RouterOS API test server): 127.0.0.1:{rport} ({ru} / {rpw})\
         \n  Demo ISP tenant id: {tid}\n\
         \n  Pay a demo invoice online, end to end: scripts/pay-demo-invoice.sh (URL={url}; GATEWAY=stripe or bkash)\
         \n    Stripe fake {stripe_url}, account {stripe_account} (it calls the webhook as Stripe would)\
         \n    bKash fake  {bkash_url}, account {bkash_account}\
         \n  Messaging: SMS through the SSL Wireless fake {sms_url}, router alerts to the Telegram fake {tg_url};\
         \n    the log: GET {url}/v1/messages, alerts: GET {url}/v1/alerts\n\
         \nCtrl-C stops it.",
        url = local.base_url,
        port = local.base_url.rsplit(':').next().unwrap_or("3000"),
        oe = creds.owner_email,
        op = creds.owner_password,
        re = creds.reseller_email,
        rp = creds.reseller_password,
        ae = creds.admin_email,
        ap = creds.admin_password,
        rport = demo_router.port(),
        ru = demo_router.username(),
        rpw = demo_router.password(),
        tid = report.tenant_id.map(|t| t.to_string()).unwrap_or_default(),
        stripe_url = stripe.base_url(),
        sms_url = sms.base_url(),
        tg_url = telegram.base_url(),
        stripe_account = account_of(Gateway::Stripe),
        bkash_url = bkash.base_url(),
        bkash_account = account_of(Gateway::Bkash),
    );
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    local.stop().await;
    Ok(())
}
