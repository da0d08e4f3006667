use local_runner::registry;
use local_runner::template::Template;
use std::collections::BTreeSet;

fn template() -> Template {
    Template::load(&Template::default_path()).unwrap()
}

#[test]
fn every_function_is_in_the_template_the_runner_and_the_functions_folder() {
    let t = template();
    let in_template: BTreeSet<String> = t.functions.iter().map(|f| f.binary.clone()).collect();
    let in_runner: BTreeSet<String> = registry::all_functions().into_iter().map(str::to_string).collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
    let in_folder: BTreeSet<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert_eq!(in_template, in_folder, "template vs functions/");
    assert_eq!(in_template, in_runner, "template vs the runner's registry");
}

#[test]
fn each_api_function_answers_exactly_its_template_routes() {
    for f in template().functions.iter().filter(|f| f.binary.starts_with("api-")) {
        let mut from_template: Vec<String> = f.routes.iter().map(|(m, p)| format!("{m} {p}")).collect();
        let mut from_code: Vec<String> =
            registry::api_routes(&f.binary).unwrap().iter().map(|s| s.to_string()).collect();
        from_template.sort();
        from_code.sort();
        assert_eq!(from_template, from_code, "{}", f.binary);
    }
}

#[test]
fn the_openapi_document_has_every_route_and_no_other() {
    let doc: serde_json::Value = serde_json::from_str(&api_openapi::document().to_json().unwrap()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for m in ops.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", m.to_uppercase()));
        }
    }
    // Every route but the browsers' CORS preflight (`OPTIONS /{proxy+}`), which is no operation.
    let routed: BTreeSet<String> = template()
        .functions
        .iter()
        .flat_map(|f| f.routes.iter().filter(|(m, _)| m != "OPTIONS").map(|(m, p)| format!("{m} {p}")))
        .collect();
    assert_eq!(documented, routed);
}

#[test]
fn the_template_declares_the_table_the_store_creates() {
    let text = std::fs::read_to_string(Template::default_path()).unwrap();
    for g in store::schema::GSIS {
        assert!(text.contains(&format!("IndexName: {g}")), "{g}");
        assert!(text.contains(&format!("AttributeName: {g}pk")), "{g}pk");
    }
    assert!(text.contains("StreamViewType: NEW_AND_OLD_IMAGES"));
    assert!(text.contains("AttributeName: ttl"));
    assert!(!text.contains("dynamodb:Scan"), "no function may Scan");
}

#[test]
fn the_whole_api_is_throttled_by_api_gateway() {
    let text = std::fs::read_to_string(Template::default_path()).unwrap();
    let api = text.split("Type: AWS::Serverless::HttpApi").nth(1).expect("the HTTP API");
    let api = &api[..api.find("\n  # ----").unwrap_or(api.len())];
    assert!(api.contains("ThrottlingRateLimit: !Ref ApiRateLimit"), "{api}");
    assert!(api.contains("ThrottlingBurstLimit: !Ref ApiBurstLimit"), "{api}");
    for p in ["ApiRateLimit:", "ApiBurstLimit:"] {
        assert!(text.split("Resources:").next().unwrap().contains(p), "parameter {p}");
    }
}

#[test]
fn each_worker_knows_when_its_queue_gives_a_message_up() {
    let t = template();
    let declared = [
        ("worker-notifications", worker_notifications::DLQ_AFTER_RECEIVES),
        ("worker-provisioning", worker_provisioning::DLQ_AFTER_RECEIVES),
        ("worker-invoicing", worker_invoicing::DLQ_AFTER_RECEIVES),
        ("worker-imports", worker_imports::DLQ_AFTER_RECEIVES),
        ("worker-live", worker_live::DLQ_AFTER_RECEIVES),
    ];
    for (binary, after) in declared {
        let f = t.functions.iter().find(|f| f.binary == binary).unwrap();
        let queue = f.queue.as_deref().unwrap();
        let q = t.queues.iter().find(|q| q.logical_id == queue).unwrap();
        assert_eq!(q.dead_letter.as_ref().map(|d| d.1), Some(after), "{binary}: {queue}'s maxReceiveCount");
    }
}
