//! Time from process start to the first poll of the Lambda runtime API, for one API function's
//! release binary. A stand-in runtime API on 127.0.0.1 answers nothing but records when the first
//! `GET /2018-06-01/runtime/invocation/next` arrives; no AWS endpoint is contacted during init.
//!
//! Usage: init-time <path-to-binary> [runs]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args.next().expect("usage: init-time <binary> [runs]");
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(20);
    let mut samples = vec![];
    for _ in 0..runs {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let start = Instant::now();
        let mut child = Command::new(&binary)
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "init-time")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "x")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("TABLE_NAME", "init-time")
            .env("SIGNING_SECRET", "init-time-signing-secret-0123456789abcdef")
            .env("ENCRYPTION_KEY", "bG9jYWwtZGV2ZWxvcG1lbnQta2V5LTMyLWJ5dGVzISE=")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts");
        listener.set_nonblocking(false).unwrap();
        let (mut conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 1024];
        let n = conn.read(&mut buf).unwrap_or(0);
        let elapsed = start.elapsed();
        let line = String::from_utf8_lossy(&buf[..n]);
        assert!(line.starts_with("GET /2018-06-01/runtime/invocation/next"), "unexpected first request: {line}");
        let _ = conn.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n");
        let _ = child.kill();
        let _ = child.wait();
        samples.push(elapsed);
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "init to first runtime poll over {runs} runs: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        ms(samples[0]),
        ms(samples[runs / 2]),
        ms(samples[runs - 1])
    );
}
