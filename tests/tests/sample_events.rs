//! `events/<function>/`: a sample event for every function, each read as that function's runtime
//! reads it, so `cargo lambda invoke <function> --data-file events/<function>/<name>.json` works for
//! each: API requests route to their own function, queue messages carry an event the rule feeding
//! that function's queue lets through.

use e2e_tests::routed_events;
use events::BusEvent;
use local_runner::template::Template;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_function_has_sample_events_its_runtime_reads() {
    let t = Template::load(&Template::default_path()).unwrap();
    for f in &t.functions {
        let dir = root().join("events").join(&f.binary);
        let samples: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|_| panic!("{}: no events/{0}/ folder", f.binary))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        assert!(!samples.is_empty(), "{}: no sample event", f.binary);
        for p in samples {
            let text = std::fs::read_to_string(&p).unwrap();
            let what = format!("{}", p.strip_prefix(root()).unwrap().display());
            if !f.routes.is_empty() {
                let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
                let (function, _) = t.route(req.method().as_str(), req.uri().path());
                assert_eq!(function.map(|f| f.binary.as_str()), Some(f.binary.as_str()), "{what}: routed elsewhere");
            } else if !f.schedules.is_empty() {
                let ev: aws_lambda_events::event::cloudwatch_events::CloudWatchEvent<serde_json::Value> =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(ev.time.timestamp() > 0, "{what}: the job's time is its now");
            } else if let Some(queue) = &f.queue {
                let ev: aws_lambda_events::event::sqs::SqsEvent =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
                let allowed: Vec<String> =
                    routed_events(&t).into_iter().filter(|(q, _)| q == queue).map(|(_, d)| d).collect();
                for m in ev.records {
                    let bus: BusEvent = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
                    assert!(allowed.contains(&bus.detail_type), "{what}: {} never reaches {queue}", bus.detail_type);
                    assert!(bus.event_id().is_some(), "{what}: no event_id");
                }
            } else if f.websocket {
                let ev: aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
                let route = ev.request_context.route_key.unwrap_or_default();
                assert!(["$connect", "$disconnect", "$default"].contains(&route.as_str()), "{what}: route {route}");
            } else if f.stream {
                let ev: aws_lambda_events::event::dynamodb::Event =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(!ev.records.is_empty(), "{what}: no records");
            } else {
                panic!("{}: neither an API, a job, a queue worker nor the stream", f.binary);
            }
        }
    }
}
