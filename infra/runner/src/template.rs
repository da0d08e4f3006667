//! Reads what the runner needs from `infra/template.yaml`: every function with its HTTP routes, queue,
//! stream and schedules; the queues with their dead-letter queues; the event rules.

use serde_norway::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct FunctionDef {
    pub logical_id: String,
    /// Package and binary name (`BuildProperties.Binary`).
    pub binary: String,
    /// `(METHOD, /path/{param})`
    pub routes: Vec<(String, String)>,
    /// Logical id of the SQS queue it consumes.
    pub queue: Option<String>,
    /// Whether it consumes the table's stream.
    pub stream: bool,
    /// Schedule expressions (`rate(5 minutes)`, `cron(...)`).
    pub schedules: Vec<String>,
    /// Whether it serves the WebSocket API's routes (an `AWS::ApiGatewayV2::Integration` names it).
    pub websocket: bool,
}

#[derive(Debug, Clone, Default)]
pub struct QueueDef {
    pub logical_id: String,
    pub dead_letter: Option<(String, u32)>,
    pub visibility_timeout: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct RuleDef {
    pub logical_id: String,
    pub pattern: serde_json::Value,
    /// Logical ids of target queues.
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Template {
    pub functions: Vec<FunctionDef>,
    pub queues: Vec<QueueDef>,
    pub rules: Vec<RuleDef>,
}

/// `!GetAtt X.Arn` / `!Ref X` / `{"Fn::GetAtt": [X, Arn]}` -> `X`.
fn referenced_id(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) => {
            let s = t.value.as_str()?;
            Some(s.split('.').next().unwrap_or(s).to_string())
        }
        Value::Mapping(m) => {
            let inner = m.get("Fn::GetAtt").or_else(|| m.get("Ref"))?;
            match inner {
                Value::Sequence(s) => s.first()?.as_str().map(str::to_string),
                Value::String(s) => Some(s.split('.').next().unwrap_or(s).to_string()),
                _ => None,
            }
        }
        _ => None,
    }
}

fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => n.as_i64().map(Into::into).or_else(|| n.as_f64().map(Into::into)).unwrap_or_default(),
        Value::String(s) => s.clone().into(),
        Value::Sequence(s) => s.iter().map(to_json).collect(),
        Value::Mapping(m) => m
            .iter()
            .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), to_json(v))))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Value::Tagged(t) => to_json(&t.value),
    }
}

impl Template {
    pub fn parse(text: &str) -> Result<Self, String> {
        let doc: Value = serde_norway::from_str(text).map_err(|e| format!("template is not YAML: {e}"))?;
        let resources = doc.get("Resources").and_then(Value::as_mapping).ok_or("template has no Resources")?;
        let mut t = Template::default();
        let mut websocket_functions = vec![];
        let mut sorted: BTreeMap<String, &Value> = BTreeMap::new();
        for (k, v) in resources {
            if let Some(k) = k.as_str() {
                sorted.insert(k.to_string(), v);
            }
        }
        for (id, r) in sorted {
            let ty = r.get("Type").and_then(Value::as_str).unwrap_or("");
            let props = r.get("Properties");
            match ty {
                "AWS::Serverless::Function" => {
                    let binary = r
                        .get("Metadata")
                        .and_then(|m| m.get("BuildProperties"))
                        .and_then(|b| b.get("Binary"))
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("{id} has no Metadata.BuildProperties.Binary"))?;
                    let mut f =
                        FunctionDef { logical_id: id.clone(), binary: binary.to_string(), ..Default::default() };
                    if let Some(events) = props.and_then(|p| p.get("Events")).and_then(Value::as_mapping) {
                        for (_, ev) in events {
                            let ep = ev.get("Properties");
                            match ev.get("Type").and_then(Value::as_str).unwrap_or("") {
                                "HttpApi" => {
                                    let m = ep.and_then(|p| p.get("Method")).and_then(Value::as_str).unwrap_or("ANY");
                                    let p = ep.and_then(|p| p.get("Path")).and_then(Value::as_str).unwrap_or("/");
                                    f.routes.push((m.to_uppercase(), p.to_string()));
                                }
                                "SQS" => f.queue = ep.and_then(|p| p.get("Queue")).and_then(referenced_id),
                                "DynamoDB" => f.stream = true,
                                "Schedule" | "ScheduleV2" => {
                                    if let Some(s) = ep
                                        .and_then(|p| p.get("Schedule").or_else(|| p.get("ScheduleExpression")))
                                        .and_then(Value::as_str)
                                    {
                                        f.schedules.push(s.to_string());
                                    }
                                }
                                other => return Err(format!("{id}: event type {other} is not supported locally")),
                            }
                        }
                    }
                    t.functions.push(f);
                }
                "AWS::ApiGatewayV2::Integration" => {
                    // `!Sub "...functions/${XFunction.Arn}/invocations"`: the function it invokes.
                    let uri = props.and_then(|p| p.get("IntegrationUri")).map(to_json).unwrap_or_default();
                    let uri = uri.as_str().unwrap_or("");
                    if let Some(name) = uri.split("${").find_map(|part| part.split_once(".Arn}").map(|(n, _)| n)) {
                        websocket_functions.push(name.to_string());
                    }
                }
                "AWS::SQS::Queue" => {
                    let redrive = props.and_then(|p| p.get("RedrivePolicy"));
                    let dead_letter = redrive.and_then(|r| {
                        let dlq = r.get("deadLetterTargetArn").and_then(referenced_id)?;
                        let max = r.get("maxReceiveCount").and_then(Value::as_u64).unwrap_or(5) as u32;
                        Some((dlq, max))
                    });
                    let visibility_timeout =
                        props.and_then(|p| p.get("VisibilityTimeout")).and_then(Value::as_u64).map(|v| v as u32);
                    t.queues.push(QueueDef { logical_id: id.clone(), dead_letter, visibility_timeout });
                }
                "AWS::Events::Rule" => {
                    let pattern = props
                        .and_then(|p| p.get("EventPattern"))
                        .map(to_json)
                        .ok_or_else(|| format!("{id} has no EventPattern"))?;
                    let targets = props
                        .and_then(|p| p.get("Targets"))
                        .and_then(Value::as_sequence)
                        .map(|s| s.iter().filter_map(|t| t.get("Arn").and_then(referenced_id)).collect())
                        .unwrap_or_default();
                    t.rules.push(RuleDef { logical_id: id.clone(), pattern, targets });
                }
                _ => {}
            }
        }
        for f in &mut t.functions {
            f.websocket = websocket_functions.contains(&f.logical_id);
        }
        Ok(t)
    }

    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        Self::parse(&std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?)
    }

    /// The default location, relative to the workspace.
    pub fn default_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")
    }

    /// The function serving a request, and whether the path exists at all (for 404 versus 405).
    pub fn route(&self, method: &str, path: &str) -> (Option<&FunctionDef>, bool) {
        let mut path_known = false;
        for f in &self.functions {
            for (m, tpl) in &f.routes {
                if isp_http::match_path(tpl, path).is_some() {
                    path_known = true;
                    if m == method {
                        return (Some(f), true);
                    }
                }
            }
        }
        (None, path_known)
    }
}
