//! The local runner: serves every `api-*` function of `infra/template.yaml` at its routes, relays the
//! table's stream through `stream-publisher`, feeds queue messages to the `worker-*` handlers, and
//! exposes `/_local/*` helpers. It runs the functions' real handlers in-process, against moto.

pub mod registry;
pub mod schedule;
pub mod seed;
pub mod template;

use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_sqs::types::QueueAttributeName;
use axum::body::Bytes;
use axum::extract::State;
use events::BatchResponse;
use kernel::{App, Clock, Config};
use lambda_http::Body;
use lambda_http::RequestExt;
use messaging::{Channel, Message, RecordingChannel};
use schedule::Schedule;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use template::Template;
use tokio::sync::watch;

/// Development-only defaults, used when the environment does not set the secrets.
pub const LOCAL_SIGNING_SECRET: &str = "local-development-signing-secret-never-in-production";
pub const LOCAL_ENCRYPTION_KEY: &str = "bG9jYWwtZGV2ZWxvcG1lbnQta2V5LTMyLWJ5dGVzISE=";

#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Prefix of every local resource name, so several runners can share one moto.
    pub prefix: String,
    pub port: u16,
    pub poll_interval: Duration,
    /// A settable clock (tests); None uses the system clock.
    pub clock: Option<Clock>,
    /// Counts the API's DynamoDB requests (benchmarks).
    pub counter: Option<store::RequestCounter>,
    /// Relay the stream and poll the queues (off for benchmarks that count requests).
    pub background: bool,
    /// Run worker-provisioning (tests without a router to provision leave it off, so nothing
    /// writes in the background while they compare the table).
    pub provisioning: bool,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            prefix: "isp-local".into(),
            port: 3000,
            poll_interval: Duration::from_millis(200),
            clock: None,
            counter: None,
            background: true,
            provisioning: true,
        }
    }
}

/// Where local e-mail leaves from: its domain is verified in moto's SES when the runner starts.
pub const LOCAL_SENDER: &str = "billing@demo-isp.example";

/// Delivers messages locally: printed to the terminal, kept for tests, and sent through SES
/// (moto) as the worker in AWS sends them.
#[derive(Debug, Clone, Default)]
pub struct LocalChannel {
    pub recorded: RecordingChannel,
    pub ses: Option<messaging::email::SesMailer>,
}

impl Channel for LocalChannel {
    async fn send(&self, m: &Message) -> Result<(), domain::work::WorkError> {
        println!("\n--- message to {} ({:?}): {}\n{}\n---", m.to, m.medium, m.subject, m.body);
        self.recorded.send(m).await?;
        match &self.ses {
            Some(ses) => ses.send(m).await,
            None => Ok(()),
        }
    }
}

pub struct Local {
    pub app: App,
    pub base_url: String,
    pub template: Template,
    pub channel: LocalChannel,
    pub table: String,
    pub queue_urls: HashMap<String, String>,
    pub sqs: aws_sdk_sqs::Client,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

struct Shared {
    app: App,
    template: Template,
    /// The open WebSocket connections, by id: what API Gateway holds for the WebSocket API.
    sockets: Sockets,
}

type Sockets = Arc<std::sync::Mutex<HashMap<String, tokio::sync::mpsc::UnboundedSender<String>>>>;

/// The local concentrator's private key (its public key is in every local onboarding script).
pub const LOCAL_EDGE_KEY: [u8; 32] = [0x5a; 32];
/// What the local concentrator would present for its list of peers.
pub const LOCAL_EDGE_SYNC_TOKEN: &str = "local-edge-sync-token-0123456789abcdef";
/// What the local FreeRADIUS presents to `/v1/radius/*`.
pub const LOCAL_RADIUS_API_TOKEN: &str = "local-radius-api-token-0123456789abcdef";

fn config_from_env(table: &str, public_url: &str) -> Config {
    // Each run's own bucket beside its own table (`<prefix>-table` -> `<prefix>-attachments`).
    let attachments_bucket = std::env::var("ATTACHMENTS_BUCKET")
        .unwrap_or_else(|_| format!("{}-attachments", table.trim_end_matches("-table")).to_ascii_lowercase());
    let backups_bucket = std::env::var("BACKUPS_BUCKET")
        .unwrap_or_else(|_| format!("{}-backups", table.trim_end_matches("-table")).to_ascii_lowercase());
    Config {
        table: table.to_string(),
        signing_secret: std::env::var("SIGNING_SECRET").unwrap_or_else(|_| LOCAL_SIGNING_SECRET.into()).into_bytes(),
        encryption_key: std::env::var("ENCRYPTION_KEY").unwrap_or_else(|_| LOCAL_ENCRYPTION_KEY.into()),
        // The local runner's routers (the demo router, the tests' RouterOS servers) are on 127.0.0.1.
        router_hosts: domain::network::RouterHosts { allow_loopback: true },
        public_url: public_url.to_string(),
        // `<isp code>.portal.localhost` resolves to 127.0.0.1 in browsers: each ISP's portal locally.
        portal_domain: std::env::var("PORTAL_DOMAIN").unwrap_or_else(|_| "portal.localhost".into()),
        admin_origins: std::env::var("ADMIN_ORIGINS")
            .unwrap_or_else(|_| "http://localhost:5173,http://127.0.0.1:5173".into())
            .split(',')
            .filter_map(domain::portal::normalise_origin)
            .collect(),
        attachments_bucket,
        backups_bucket,
        // The local edge: a concentrator that is not there (the onboarding scripts and the
        // concentrator's peer list are real; no tunnel is dialled locally).
        edge: Some(
            domain::edge::EdgeConfig::parse(
                &std::env::var("EDGE_ENDPOINT").unwrap_or_else(|_| "127.0.0.1:51820".into()),
                &std::env::var("EDGE_PUBLIC_KEY").unwrap_or_else(|_| domain::edge::key_pair(LOCAL_EDGE_KEY).1),
                kernel::app::DEFAULT_EDGE_POOL,
            )
            .expect("the local edge"),
        ),
        edge_sync_token: std::env::var("EDGE_SYNC_TOKEN").unwrap_or_else(|_| LOCAL_EDGE_SYNC_TOKEN.into()),
        radius_api_token: std::env::var("RADIUS_API_TOKEN").unwrap_or_else(|_| LOCAL_RADIUS_API_TOKEN.into()),
    }
}

/// Builds the App every function uses, as a Lambda would from its environment.
pub async fn build_app(
    table: &str,
    public_url: &str,
    clock: Clock,
    counter: Option<store::RequestCounter>,
) -> Result<App, String> {
    let config = config_from_env(table, public_url);
    let client = store::Store::client_from_env(counter).await;
    let cursor_key = domain::crypto::Signer::new(&config.signing_secret, "cursor-key").sign(b"key");
    App::new(store::Store::new(client, table, &cursor_key), &config, clock)
}

impl Local {
    /// Creates the table, bus, queues and rules of the template, then serves and polls.
    pub async fn start(template: Template, opts: LocalOptions) -> Result<Local, String> {
        let shared_cfg = store::aws_config_from_env().await;
        let table = format!("{}-table", opts.prefix);
        // Bound first: the API's own address is where gateways send payers and notifications.
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], opts.port)))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", opts.port))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let public_url = format!("http://{addr}");
        let app = build_app(&table, &public_url, opts.clock.clone().unwrap_or_default(), opts.counter.clone()).await?;
        // Live router operations: the provisioning function's handler in this process, as a
        // synchronous invoke would run it (its own router sessions, like its own container).
        let worker_side = provisioning::answer::InProcess {
            app: app.clone(),
            pool: Arc::new(provisioning::pool::RouterPool::default()),
        };
        let app = app.with_live(Some(Arc::new(worker_side)));
        store::schema::create_table(app.store.client(), &table).await?;
        kernel::objects::ensure_bucket(&app.attachments_bucket, false).await?;
        kernel::objects::ensure_bucket(&app.backups_bucket, true).await?;
        let stream_arn = store::schema::stream_arn(app.store.client(), &table).await?;

        // Queues: all first, then the redrive policies that point at their dead-letter queues.
        let sqs = aws_sdk_sqs::Client::new(&shared_cfg);
        let mut queue_urls = HashMap::new();
        let mut queue_arns = HashMap::new();
        for q in &template.queues {
            let name = format!("{}-{}", opts.prefix, q.logical_id);
            let mut req = sqs.create_queue().queue_name(&name);
            if let Some(v) = q.visibility_timeout {
                // Locally a failed message comes back after a few seconds, not minutes.
                req = req.attributes(QueueAttributeName::VisibilityTimeout, v.min(2).to_string());
            }
            let url =
                req.send().await.map_err(|e| format!("create queue {name}: {e:?}"))?.queue_url.unwrap_or_default();
            let attrs = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(|e| format!("queue attributes: {e:?}"))?;
            let arn = attrs.attributes.and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned()).unwrap_or_default();
            queue_urls.insert(q.logical_id.clone(), url);
            queue_arns.insert(q.logical_id.clone(), arn);
        }
        for q in &template.queues {
            if let Some((dlq, max)) = &q.dead_letter {
                let policy =
                    serde_json::json!({"deadLetterTargetArn": queue_arns[dlq], "maxReceiveCount": max.to_string()});
                sqs.set_queue_attributes()
                    .queue_url(&queue_urls[&q.logical_id])
                    .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
                    .send()
                    .await
                    .map_err(|e| format!("redrive policy: {e:?}"))?;
            }
        }

        // The bus and the rules that route events to the queues.
        let eb = aws_sdk_eventbridge::Client::new(&shared_cfg);
        let bus = format!("{}-events", opts.prefix);
        if eb.describe_event_bus().name(&bus).send().await.is_err() {
            eb.create_event_bus().name(&bus).send().await.map_err(|e| format!("create bus: {e:?}"))?;
        }
        for r in &template.rules {
            let name = format!("{}-{}", opts.prefix, r.logical_id);
            eb.put_rule()
                .name(&name)
                .event_bus_name(&bus)
                .event_pattern(r.pattern.to_string())
                .send()
                .await
                .map_err(|e| format!("put rule {name}: {e:?}"))?;
            for (i, target) in r.targets.iter().enumerate() {
                let arn =
                    queue_arns.get(target).ok_or_else(|| format!("rule {name} targets unknown queue {target}"))?;
                eb.put_targets()
                    .rule(&name)
                    .event_bus_name(&bus)
                    .targets(
                        aws_sdk_eventbridge::types::Target::builder()
                            .id(format!("t{i}"))
                            .arn(arn)
                            .build()
                            .map_err(|e| e.to_string())?,
                    )
                    .send()
                    .await
                    .map_err(|e| format!("put targets {name}: {e:?}"))?;
            }
        }

        let (shutdown, rx) = watch::channel(false);
        // The sender's domain verified in SES, as an ISP's would be before anything leaves.
        let ses = aws_sdk_sesv2::Client::new(&shared_cfg);
        let domain = LOCAL_SENDER.split_once('@').map_or(LOCAL_SENDER, |(_, d)| d);
        if let Err(e) = ses.create_email_identity().email_identity(domain).send().await {
            tracing::debug!(error = %aws_sdk_sesv2::error::DisplayErrorContext(&e), "sender identity (already there?)");
        }
        let channel = LocalChannel {
            recorded: RecordingChannel::default(),
            ses: Some(messaging::email::SesMailer::new(ses, LOCAL_SENDER)),
        };
        let mut tasks = vec![];

        // HTTP.
        let shared = Arc::new(Shared { app: app.clone(), template: template.clone(), sockets: Sockets::default() });
        let router = axum::Router::new()
            .route("/live", axum::routing::get(live_socket))
            .route("/@connections/{id}", axum::routing::post(post_to_connection))
            .fallback(serve)
            .with_state(shared);
        let mut http_rx = rx.clone();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move {
                    let _ = http_rx.wait_for(|s| *s).await;
                })
                .await;
        }));

        // The stream, through stream-publisher.
        for f in template.functions.iter().filter(|f| f.stream && opts.background) {
            if f.binary != "stream-publisher" {
                return Err(format!("{} reads the stream, but the runner only knows stream-publisher", f.binary));
            }
            let publisher = stream_publisher::Publisher { eventbridge: eb.clone(), bus: bus.clone() };
            let streams = aws_sdk_dynamodbstreams::Client::new(&shared_cfg);
            tasks.push(tokio::spawn(poll_stream(
                streams,
                stream_arn.clone(),
                publisher,
                opts.poll_interval,
                rx.clone(),
            )));
        }

        // Queues, through their workers.
        for f in template.functions.iter().filter(|_| opts.background) {
            let Some(q) = &f.queue else { continue };
            if f.binary == "worker-provisioning" && !opts.provisioning {
                continue;
            }
            let url = queue_urls.get(q).ok_or_else(|| format!("{} consumes unknown queue {q}", f.binary))?.clone();
            let arn = queue_arns[q].clone();
            let worker: WorkerFn = match f.binary.as_str() {
                "worker-notifications" => {
                    let senders = notify::send::Senders::new(&app)
                        .map_err(|e| format!("messaging clients: {e}"))?
                        .with_email(LOCAL_SENDER)
                        .await;
                    let w =
                        Arc::new(worker_notifications::Worker { app: app.clone(), channel: channel.clone(), senders });
                    Arc::new(move |ev| {
                        let w = w.clone();
                        Box::pin(async move { worker_notifications::handle(&w, ev).await })
                    })
                }
                "worker-imports" => {
                    let app = app.clone();
                    Arc::new(move |ev| {
                        let app = app.clone();
                        Box::pin(async move { worker_imports::handle(&app, ev).await })
                    })
                }
                "worker-invoicing" => {
                    let app = app.clone();
                    Arc::new(move |ev| {
                        let app = app.clone();
                        Box::pin(async move { worker_invoicing::handle(&app, ev).await })
                    })
                }
                "worker-provisioning" => {
                    // Retries come back after 1 s, 2 s, 4 s... locally (10 s, 20 s... on AWS).
                    let retry =
                        worker_provisioning::Retry { sqs: sqs.clone(), queue_url: url.clone(), base_seconds: 1 };
                    let w = Arc::new(worker_provisioning::Worker::new(app.clone(), Some(retry)));
                    Arc::new(move |ev| {
                        let w = w.clone();
                        Box::pin(async move { w.handle(ev).await })
                    })
                }
                "worker-live" => {
                    // Pushes through the Management API this runner serves (`/@connections/{id}`).
                    let w = Arc::new(worker_live::Worker::new(app.clone(), &shared_cfg, &public_url));
                    Arc::new(move |ev| {
                        let w = w.clone();
                        Box::pin(async move { worker_live::handle(&w, ev).await })
                    })
                }
                other => return Err(format!("no local worker for {other}")),
            };
            tasks.push(tokio::spawn(poll_queue(sqs.clone(), url, arn, worker, opts.poll_interval, rx.clone())));
        }

        // Jobs, on their template schedules (and on demand at /_local/jobs/{name}).
        for f in template.functions.iter().filter(|f| !f.schedules.is_empty()) {
            let job = registry::job_function(&f.binary).ok_or_else(|| format!("no local job for {}", f.binary))?;
            for s in &f.schedules {
                match Schedule::parse(s) {
                    Some(schedule) if opts.background => {
                        tasks.push(tokio::spawn(run_schedule(app.clone(), f.binary.clone(), job, schedule, rx.clone())))
                    }
                    Some(_) => {}
                    None => {
                        tracing::warn!(job = %f.binary, schedule = %s, "schedule not understood locally; use /_local/jobs")
                    }
                }
            }
        }

        Ok(Local {
            app,
            base_url: format!("http://{addr}"),
            template,
            channel,
            table,
            queue_urls,
            sqs,
            shutdown,
            tasks,
        })
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

type WorkerFn = Arc<
    dyn Fn(
            aws_lambda_events::event::sqs::SqsEvent,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = BatchResponse> + Send>>
        + Send
        + Sync,
>;

async fn serve(
    State(shared): State<Arc<Shared>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    req: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, 10 * 1024 * 1024).await.unwrap_or_default();
    if let Some(name) = parts.uri.path().strip_prefix("/_local/jobs/") {
        return run_job_on_demand(&shared, parts.method.as_str(), name, &bytes).await;
    }
    // API Gateway sends every preflight to the function holding `OPTIONS /{proxy+}`.
    let (function, path_known) = if parts.method == axum::http::Method::OPTIONS {
        (shared.template.route("OPTIONS", "/{proxy+}").0, true)
    } else {
        shared.template.route(parts.method.as_str(), parts.uri.path())
    };
    let handler = function.and_then(|f| registry::api_function(&f.binary));
    let response = match handler {
        Some(h) => {
            let body = if bytes.is_empty() {
                Body::Empty
            } else {
                match String::from_utf8(bytes.to_vec()) {
                    Ok(t) => Body::Text(t),
                    Err(e) => Body::Binary(e.into_bytes()),
                }
            };
            let mut req = lambda_http::http::Request::builder().method(parts.method.clone()).uri(parts.uri.clone());
            for (k, v) in &parts.headers {
                req = req.header(k, v);
            }
            match req.body(body) {
                Ok(r) => h(&shared.app, r.with_request_context(request_context(peer))).await,
                Err(e) => isp_http::problem_response(&domain::Error::bad_request("bad_request", e.to_string())),
            }
        }
        None if path_known => isp_http::problem_response(&domain::Error::MethodNotAllowed),
        None => isp_http::problem_response(&domain::Error::not_found("route")),
    };
    let (rp, rb) = response.into_parts();
    let bytes: Vec<u8> = match rb {
        Body::Empty => vec![],
        Body::Text(t) => t.into_bytes(),
        Body::Binary(b) => b,
        _ => vec![],
    };
    let mut out = axum::response::Response::builder().status(rp.status);
    for (k, v) in &rp.headers {
        out = out.header(k, v);
    }
    out.body(axum::body::Body::from(bytes)).unwrap_or_default()
}

/// The WebSocket API's event for `route` on connection `id`, as API Gateway sends it.
fn socket_event(
    route: &str,
    id: &str,
    peer: SocketAddr,
    query: Option<&HashMap<String, String>>,
    body: Option<&str>,
) -> aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest {
    let event_type = match route {
        "$connect" => "CONNECT",
        "$disconnect" => "DISCONNECT",
        _ => "MESSAGE",
    };
    serde_json::from_value(serde_json::json!({
        "requestContext": {"routeKey": route, "eventType": event_type, "connectionId": id, "stage": "live",
            "apiId": "local", "requestId": uuid::Uuid::now_v7().to_string(), "extendedRequestId": id,
            "messageDirection": "IN", "connectedAt": 0, "requestTimeEpoch": 0, "domainName": "127.0.0.1",
            "identity": {"sourceIp": peer.ip().to_string()}},
        "queryStringParameters": query,
        "body": body,
        "isBase64Encoded": false,
    }))
    .expect("a WebSocket event")
}

/// `GET /live?token=...`: the WebSocket API's stage. `$connect` runs before the upgrade (a refusal
/// is the handshake's answer), each text message is `$default`, the close `$disconnect`; what
/// `worker-live` posts to `/@connections/{id}` goes out on the socket.
async fn live_socket(
    State(shared): State<Arc<Shared>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
    upgrade: axum::extract::ws::WebSocketUpgrade,
) -> axum::response::Response {
    let Some(f) = shared.template.functions.iter().find(|f| f.websocket) else {
        return axum::response::Response::builder().status(404).body(axum::body::Body::empty()).unwrap_or_default();
    };
    debug_assert_eq!(f.binary, "ws-connections");
    let id = uuid::Uuid::now_v7().simple().to_string();
    let answer = ws_connections::handle(&shared.app, socket_event("$connect", &id, peer, Some(&query), None)).await;
    if answer.status_code != 200 {
        let body = match answer.body {
            Some(aws_lambda_events::encodings::Body::Text(t)) => t,
            _ => String::new(),
        };
        return axum::response::Response::builder()
            .status(answer.status_code as u16)
            .header("content-type", "application/problem+json")
            .body(axum::body::Body::from(body))
            .unwrap_or_default();
    }
    upgrade.on_upgrade(move |socket| run_socket(shared, id, peer, socket))
}

async fn run_socket(shared: Arc<Shared>, id: String, peer: SocketAddr, mut socket: axum::extract::ws::WebSocket) {
    use axum::extract::ws::Message;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    shared.sockets.lock().expect("sockets lock").insert(id.clone(), tx);
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(text) => if socket.send(Message::Text(text.into())).await.is_err() { break },
                None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let ev = socket_event("$default", &id, peer, None, Some(text.as_str()));
                    let _ = ws_connections::handle(&shared.app, ev).await;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    shared.sockets.lock().expect("sockets lock").remove(&id);
    let _ = ws_connections::handle(&shared.app, socket_event("$disconnect", &id, peer, None, None)).await;
}

/// `POST /@connections/{id}`: API Gateway's Management API (what `worker-live`'s SDK client calls):
/// 200 once the data is on its way to the socket, 410 `GoneException` when the connection is gone.
async fn post_to_connection(
    State(shared): State<Arc<Shared>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: Bytes,
) -> axum::response::Response {
    let sender = shared.sockets.lock().expect("sockets lock").get(&id).cloned();
    let sent = sender.is_some_and(|s| s.send(String::from_utf8_lossy(&body).into_owned()).is_ok());
    if sent {
        axum::response::Response::builder().status(200).body(axum::body::Body::empty()).unwrap_or_default()
    } else {
        axum::response::Response::builder()
            .status(410)
            .header("x-amzn-errortype", "GoneException")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(r#"{"message":"the connection is gone"}"#))
            .unwrap_or_default()
    }
}

/// What API Gateway tells a function about the connection: here, the TCP peer's address.
fn request_context(peer: SocketAddr) -> lambda_http::request::RequestContext {
    let mut ctx = aws_lambda_events::event::apigw::ApiGatewayV2httpRequestContext::default();
    ctx.http.source_ip = Some(peer.ip().to_string());
    lambda_http::request::RequestContext::ApiGatewayV2(ctx)
}

/// The scheduled event EventBridge Scheduler would send, for `time`.
pub fn scheduled_event(
    time: chrono::DateTime<chrono::Utc>,
) -> aws_lambda_events::event::cloudwatch_events::CloudWatchEvent<serde_json::Value> {
    serde_json::from_value(serde_json::json!({
        "version": "0", "id": uuid::Uuid::now_v7().to_string(), "detail-type": "Scheduled Event",
        "source": "aws.scheduler", "account": "000000000000", "time": time.to_rfc3339(),
        "region": "us-east-1", "resources": [], "detail": {}
    }))
    .expect("scheduled event JSON")
}

/// `POST /_local/jobs/{function-name}` with an optional body `{"time": "<RFC 3339>"}` (default: the
/// clock's now): runs the job once and answers its report. Exists only in the local runner.
async fn run_job_on_demand(shared: &Shared, method: &str, name: &str, body: &[u8]) -> axum::response::Response {
    let reply = |status: u16, v: serde_json::Value| {
        axum::response::Response::builder()
            .status(status)
            .header("content-type", if status < 300 { "application/json" } else { "application/problem+json" })
            .body(axum::body::Body::from(v.to_string()))
            .unwrap_or_default()
    };
    if method != "POST" {
        return reply(
            405,
            serde_json::json!({"status": 405, "code": "method_not_allowed", "title": "Method Not Allowed", "detail": "POST runs a job"}),
        );
    }
    let known = shared.template.functions.iter().any(|f| f.binary == name && !f.schedules.is_empty());
    let Some(job) = registry::job_function(name).filter(|_| known) else {
        return reply(
            404,
            serde_json::json!({"status": 404, "code": "not_found", "title": "Not Found", "detail": format!("no scheduled job {name}")}),
        );
    };
    let time = if body.is_empty() {
        Ok(shared.app.now())
    } else {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("time").and_then(|t| t.as_str()).map(str::to_string))
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
            .ok_or(())
    };
    let Ok(time) = time else {
        return reply(
            422,
            serde_json::json!({"status": 422, "code": "validation_failed", "title": "Unprocessable Entity",
            "detail": "the body must be {\"time\": \"<RFC 3339>\"}", "errors": [{"field": "time", "message": "must be an RFC 3339 time"}]}),
        );
    };
    match job(&shared.app, scheduled_event(time)).await {
        Ok(report) => reply(200, report),
        Err(e) => reply(
            500,
            serde_json::json!({"status": 500, "code": "internal", "title": "Internal Server Error", "detail": e}),
        ),
    }
}

/// Runs a job at each time its schedule names, as the app's clock tells it (`make run`: the
/// system clock). A job whose schedule never comes again stops.
async fn run_schedule(
    app: App,
    name: String,
    job: registry::JobFn,
    schedule: Schedule,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let now = app.now();
        let Some(next) = schedule.next_after(now) else { return };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        match job(&app, scheduled_event(app.now())).await {
            Ok(report) => tracing::info!(job = %name, %report, "scheduled job ran"),
            Err(e) => tracing::error!(job = %name, error = %e, "scheduled job failed"),
        }
    }
}

/// Reads the stream as Lambda's event source mapping would: in order, retrying from the first record
/// the handler reports as failed.
async fn poll_stream(
    client: aws_sdk_dynamodbstreams::Client,
    arn: String,
    publisher: stream_publisher::Publisher,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut iterators: HashMap<String, Option<String>> = HashMap::new();
    loop {
        if *stop.borrow() {
            return;
        }
        if let Ok(d) = client.describe_stream().stream_arn(&arn).send().await {
            for s in d.stream_description.map(|d| d.shards.unwrap_or_default()).unwrap_or_default() {
                let id = s.shard_id.unwrap_or_default();
                if let std::collections::hash_map::Entry::Vacant(slot) = iterators.entry(id.clone()) {
                    let it = client
                        .get_shard_iterator()
                        .stream_arn(&arn)
                        .shard_id(&id)
                        .shard_iterator_type(ShardIteratorType::TrimHorizon)
                        .send()
                        .await
                        .ok()
                        .and_then(|o| o.shard_iterator);
                    slot.insert(it);
                }
            }
        }
        for (shard, it) in iterators.iter_mut() {
            let Some(current) = it.clone() else { continue };
            let Ok(out) = client.get_records().shard_iterator(&current).limit(100).send().await else { continue };
            let records = out.records.unwrap_or_default();
            if records.is_empty() {
                *it = out.next_shard_iterator;
                continue;
            }
            let event = stream_event(&arn, &records);
            let resp = stream_publisher::handle(&publisher, event).await;
            match resp.batch_item_failures.first() {
                None => *it = out.next_shard_iterator,
                Some(failed) => {
                    // Start again at the first record that was not published.
                    *it = client
                        .get_shard_iterator()
                        .stream_arn(&arn)
                        .shard_id(shard)
                        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                        .sequence_number(&failed.item_identifier)
                        .send()
                        .await
                        .ok()
                        .and_then(|o| o.shard_iterator)
                        .or(Some(current));
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Stream records as the Lambda event JSON, so the real handler parses exactly what AWS would send.
fn stream_event(
    arn: &str,
    records: &[aws_sdk_dynamodbstreams::types::Record],
) -> aws_lambda_events::event::dynamodb::Event {
    let recs: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let d =
                r.dynamodb.clone().unwrap_or_else(|| aws_sdk_dynamodbstreams::types::StreamRecord::builder().build());
            let img = |m: Option<HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
                serde_json::to_value(serde_dynamo::Item::from(m.unwrap_or_default())).unwrap_or_default()
            };
            serde_json::json!({
                "eventID": r.event_id.clone().unwrap_or_default(),
                "eventName": r.event_name.as_ref().map(|n| n.as_str().to_string()).unwrap_or_default(),
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "eventSourceARN": arn,
                "dynamodb": {
                    "ApproximateCreationDateTime": d.approximate_creation_date_time.map(|t| t.secs()).unwrap_or(0),
                    "Keys": img(d.keys),
                    "NewImage": img(d.new_image),
                    "OldImage": img(d.old_image),
                    "SequenceNumber": d.sequence_number.clone().unwrap_or_default(),
                    "SizeBytes": d.size_bytes.unwrap_or(0),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                }
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": recs })).expect("stream event JSON matches aws_lambda_events")
}

/// Receives from a queue as Lambda's SQS event source would, deleting what the worker did not report
/// as failed; failed messages reappear after the visibility timeout and move to the DLQ after the
/// redrive limit.
async fn poll_queue(
    sqs: aws_sdk_sqs::Client,
    url: String,
    arn: String,
    worker: WorkerFn,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let got = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await;
        let messages = got.ok().and_then(|o| o.messages).unwrap_or_default();
        if !messages.is_empty() {
            let recs: Vec<serde_json::Value> = messages
                .iter()
                .map(|m| {
                    let attrs: HashMap<String, String> = m
                        .attributes
                        .clone()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k.as_str().to_string(), v))
                        .collect();
                    serde_json::json!({
                        "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
                        "md5OfBody": m.md5_of_body, "attributes": attrs, "messageAttributes": {},
                        "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1",
                    })
                })
                .collect();
            let event: aws_lambda_events::event::sqs::SqsEvent =
                serde_json::from_value(serde_json::json!({ "Records": recs })).expect("SQS event JSON");
            let resp = worker(event).await;
            for m in &messages {
                let failed = resp.batch_item_failures.iter().any(|f| Some(&f.item_identifier) == m.message_id.as_ref());
                if !failed && let Some(h) = &m.receipt_handle {
                    let _ = sqs.delete_message().queue_url(&url).receipt_handle(h).send().await;
                }
            }
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}
