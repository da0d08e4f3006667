//! `make run`: the whole system on http://127.0.0.1:3000 against the local moto, with demo data.

use local_runner::seed::{DemoCredentials, seed_demo};
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
    println!(
        "\nISP billing backend on {url}\n\
         \n  platform owner:    {oe} / {op}\
         \n  platform reseller: {re} / {rp}\
         \n  Demo ISP admin:    {ae} / {ap}\n\
         \n  log in:   curl -s {url}/v1/auth/login -H 'content-type: application/json' -d '{{\"email\":\"{ae}\",\"password\":\"{ap}\"}}'\
         \n  API docs: {url}/v1/openapi.json\
         \n  Demo router (RouterOS API test server): 127.0.0.1:{rport} ({ru} / {rpw})\
         \n  Demo ISP tenant id: {tid}\n\
         \nCtrl-C stops it.",
        url = local.base_url,
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
    );
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    local.stop().await;
    Ok(())
}
