//! Whether login and password reset tell, by their time, whether an address has an account: the
//! local runner against moto, a wrong password for the demo admin's address against the same
//! password for an address nobody has, interleaved; then a reset request for each. Prints the
//! median, p10 and p90 of each and the difference of the medians.
//!
//! `scripts/with-moto.sh cargo run --release -p benches --bin auth-timing` (`ROUNDS=` to change).

use kernel::Clock;
use local_runner::seed::{DemoCredentials, seed_demo};
use local_runner::template::Template;
use local_runner::{Local, LocalOptions};
use serde_json::json;
use std::time::Instant;

fn summary(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.1), at(0.9))
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(50);
    let clock = Clock::fixed(chrono::DateTime::parse_from_rfc3339("2026-06-15T06:00:00Z").unwrap().to_utc());
    let opts = LocalOptions {
        prefix: format!("tim{}", uuid::Uuid::now_v7().simple()),
        port: 0,
        background: false,
        clock: Some(clock.clone()),
        ..LocalOptions::default()
    };
    let local = Local::start(Template::load(&Template::default_path()).unwrap(), opts).await.unwrap();
    let creds = DemoCredentials::from_env();
    seed_demo(&local.app, &creds).await.unwrap();
    let http = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        let req = http.post(format!("{}{path}", local.base_url)).json(&body);
        async move {
            let t = Instant::now();
            let resp = req.send().await.unwrap();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let status = resp.status().as_u16();
            if status >= 400 && status != 401 {
                eprintln!("{status}: {}", resp.text().await.unwrap_or_default());
            }
            (status, ms)
        }
    };
    let (known, unknown) = (creds.admin_email.clone(), "nobody-at-all@timing.test".to_string());

    let (mut login_known, mut login_unknown, mut reset_known, mut reset_unknown) = (vec![], vec![], vec![], vec![]);
    for i in 0..rounds {
        // Five attempts lock an address for 15 minutes and five resets fill its hour: the clock
        // moves on before either (the attempt after it also starts a new count, for both alike).
        if i > 0 && i % 5 == 0 {
            clock.advance(chrono::Duration::minutes(61));
        }
        let (a, b) = if i % 2 == 0 { (&known, &unknown) } else { (&unknown, &known) };
        for email in [a, b] {
            let (status, ms) = post("/v1/auth/login", json!({"email": email, "password": "wrong-password-1"})).await;
            assert_eq!(status, 401, "round {i}, {email}");
            if email == &known {
                login_known.push(ms)
            } else {
                login_unknown.push(ms)
            }
            let (status, ms) = post("/v1/auth/password-reset", json!({"email": email})).await;
            assert_eq!(status, 202);
            if email == &known { reset_known.push(ms) } else { reset_unknown.push(ms) }
        }
    }
    println!("rounds: {rounds}");
    for (what, k, u) in
        [("login (wrong password)", login_known, login_unknown), ("password reset", reset_known, reset_unknown)]
    {
        let (km, k10, k90) = summary(k);
        let (um, u10, u90) = summary(u);
        println!(
            "{what}: known median {km:.1} ms (p10 {k10:.1}, p90 {k90:.1}); unknown median {um:.1} ms (p10 {u10:.1}, p90 {u90:.1}); difference {:.1} ms",
            km - um
        );
    }
}
