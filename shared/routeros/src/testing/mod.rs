//! A RouterOS API test server: the real wire protocol over TCP (optionally API-SSL with a
//! self-signed certificate), in-memory menus that answer like RouterOS, and fault injection:
//! reply latency, a per-item cost of prints (a slow router), connections dropped after N commands
//! (optionally after executing the last one without answering), refused logins, going offline and coming back on the same port.
//! It is the local runner's demo router and the router of every provisioning test.

pub mod state;
pub mod wire;

pub use state::{Attrs, Reply, RouterState};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct TestRouterConfig {
    /// 0: any free port.
    pub port: u16,
    pub username: String,
    pub password: String,
    pub identity: String,
    /// Serve API-SSL with a freshly generated self-signed certificate.
    pub tls: bool,
}

impl Default for TestRouterConfig {
    fn default() -> Self {
        TestRouterConfig {
            port: 0,
            username: "api".into(),
            password: "api-secret".into(),
            identity: "test-router".into(),
            tls: false,
        }
    }
}

/// Faults, changeable while the router runs.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Every reply is sent this long after its command arrived (commands pipelined by the client
    /// overlap, as on a real link with this round-trip time).
    pub latency: Duration,
    /// The next this-many logins are refused (`invalid user name or password`).
    pub refuse_logins: u32,
    /// Drop the connection when the N-th command from now arrives.
    pub drop_after: Option<DropFault>,
    /// Answer empty prints with `!empty` before `!done`, as RouterOS 7.18+ does.
    pub empty_replies: bool,
    /// A slow router: each print costs this much per item of its menu (a filtered print scans the
    /// whole menu too), and a connection's commands are worked through one after another, as a
    /// router's API session does; the reply latency comes on top.
    pub scan_cost_per_item: Duration,
    /// Every command of this path (e.g. `/ppp/secret/add`) is refused with `!trap` and this
    /// message, as a router refuses what it will not take.
    pub refuse: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy)]
pub struct DropFault {
    /// 1 = the next command.
    pub after_commands: u32,
    /// Execute that last command before dropping, without answering it: the client cannot
    /// know whether it ran.
    pub execute_last: bool,
}

struct Shared {
    config: TestRouterConfig,
    state: Mutex<RouterState>,
    faults: Mutex<Faults>,
    connections: AtomicU64,
    logins: AtomicU64,
    commands: AtomicU64,
    log: Mutex<Vec<String>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

pub struct TestRouter {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Mutex<Option<JoinHandle<()>>>,
}

use crate::client::Stream;

impl TestRouter {
    pub async fn start(config: TestRouterConfig) -> std::io::Result<TestRouter> {
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let tls = if config.tls { Some(self_signed_acceptor()) } else { None };
        let shared = Arc::new(Shared {
            state: Mutex::new(RouterState::new(&config.identity)),
            config,
            faults: Mutex::new(Faults::default()),
            connections: AtomicU64::new(0),
            logins: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            tls,
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(TestRouter { shared, addr, accept: Mutex::new(Some(accept)) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn username(&self) -> &str {
        &self.shared.config.username
    }

    pub fn password(&self) -> &str {
        &self.shared.config.password
    }

    /// Read or change the configuration directly, as someone at the router's console would.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut RouterState) -> R) -> R {
        f(&mut self.shared.state.lock().expect("state lock"))
    }

    pub fn items(&self, menu: &str) -> Vec<Attrs> {
        self.with_state(|s| s.items(menu))
    }

    pub fn find(&self, menu: &str, name: &str) -> Option<Attrs> {
        self.with_state(|s| s.find(menu, name))
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.lock().expect("faults lock") = faults;
    }

    pub fn update_faults(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.shared.faults.lock().expect("faults lock"));
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    pub fn logins(&self) -> u64 {
        self.shared.logins.load(Ordering::Relaxed)
    }

    /// Commands received after login.
    pub fn commands(&self) -> u64 {
        self.shared.commands.load(Ordering::Relaxed)
    }

    /// Command words received, in order (e.g. `/ppp/secret/set`).
    pub fn command_log(&self) -> Vec<String> {
        self.shared.log.lock().expect("log lock").clone()
    }

    pub fn clear_command_log(&self) {
        self.shared.log.lock().expect("log lock").clear();
    }

    /// Stop listening and cut every connection: the router is down.
    pub fn go_offline(&self) {
        if let Some(a) = self.accept.lock().expect("accept lock").take() {
            a.abort();
        }
        for t in self.shared.tasks.lock().expect("tasks lock").drain(..) {
            t.abort();
        }
    }

    /// Listen again on the same port.
    pub async fn come_back(&self) -> std::io::Result<()> {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                // The aborted listener's socket may take a moment to close.
                Err(_) if tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e),
            }
        };
        *self.accept.lock().expect("accept lock") = Some(tokio::spawn(accept_loop(listener, self.shared.clone())));
        Ok(())
    }
}

impl Drop for TestRouter {
    fn drop(&mut self) {
        self.go_offline();
    }
}

fn self_signed_acceptor() -> tokio_rustls::TlsAcceptor {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("certificate");
    let key = rustls::pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der()).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        shared.connections.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let task = tokio::spawn(connection(stream, shared.clone()));
        let mut tasks = shared.tasks.lock().expect("tasks lock");
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }
}

async fn connection(tcp: TcpStream, shared: Arc<Shared>) {
    let stream: Box<dyn Stream> = match &shared.tls {
        None => Box::new(tcp),
        Some(acceptor) => match acceptor.accept(tcp).await {
            Ok(s) => Box::new(s),
            Err(_) => return,
        },
    };
    let (rd, mut wr) = tokio::io::split(stream);
    let mut rd = BufReader::new(rd);
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, bytes)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if wr.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = wr.shutdown().await;
    });
    let mut logged_in = false;
    // When this connection's previous command is done (the router works through them in order).
    let mut busy_until = Instant::now();
    loop {
        let Ok(Some(words)) = wire::read_sentence(&mut rd).await else { break };
        let Some(command) = words.first().cloned() else { continue };
        let mut tag = None;
        let mut args = Vec::new();
        let mut queries = Vec::new();
        let mut proplist = None;
        for w in &words[1..] {
            if let Some(t) = w.strip_prefix(".tag=") {
                tag = Some(t.to_string());
            } else if let Some(q) = w.strip_prefix('?') {
                queries.push(q.to_string());
            } else if let Some(a) = w.strip_prefix('=') {
                let (k, v) = a.split_once('=').unwrap_or((a, ""));
                if k == ".proplist" {
                    proplist = Some(v.to_string());
                } else {
                    args.push((k.to_string(), v.to_string()));
                }
            }
        }
        let faults = shared.faults.lock().expect("faults lock").clone();
        let scanned = if faults.scan_cost_per_item.is_zero() {
            0
        } else {
            shared.state.lock().expect("state lock").scanned_by(&command)
        };
        let finished = busy_until.max(Instant::now()) + faults.scan_cost_per_item * scanned as u32;
        busy_until = finished;
        // A ping takes its packets' time on the router, beside the session's other commands.
        let pinging = if command == "/ping" { state::ping_duration(&args) } else { Duration::ZERO };
        let due = finished + faults.latency + pinging;
        let tag_word = tag.as_ref().map(|t| format!(".tag={t}"));
        let send = |words: Vec<String>| {
            let mut words = words;
            if let Some(t) = &tag_word {
                words.push(t.clone());
            }
            let _ = tx.send((due, wire::encode_sentence(&words)));
        };

        if !logged_in {
            if command != "/login" {
                let _ = tx.send((due, wire::encode_sentence(&["!fatal".into(), "not logged in".into()])));
                break;
            }
            let refused = {
                let mut f = shared.faults.lock().expect("faults lock");
                if f.refuse_logins > 0 {
                    f.refuse_logins -= 1;
                    true
                } else {
                    false
                }
            };
            let get = |k: &str| args.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
            let valid = get("name") == Some(shared.config.username.as_str())
                && get("password") == Some(shared.config.password.as_str());
            if refused || !valid {
                send(vec!["!trap".into(), "=message=invalid user name or password (6)".into()]);
                continue;
            }
            logged_in = true;
            shared.logins.fetch_add(1, Ordering::Relaxed);
            send(vec!["!done".into()]);
            continue;
        }

        shared.commands.fetch_add(1, Ordering::Relaxed);
        shared.log.lock().expect("log lock").push(command.clone());
        let drop_now = {
            let mut f = shared.faults.lock().expect("faults lock");
            match f.drop_after {
                Some(d) if d.after_commands <= 1 => {
                    f.drop_after = None;
                    Some(d.execute_last)
                }
                Some(ref mut d) => {
                    d.after_commands -= 1;
                    None
                }
                None => None,
            }
        };
        if let Some(execute_last) = drop_now {
            if execute_last && command != "/cancel" && command != "/quit" {
                let _ =
                    shared.state.lock().expect("state lock").execute(&command, &args, &queries, proplist.as_deref());
            }
            // Abruptly: replies still waiting in the writer are lost too.
            writer.abort();
            return;
        }
        match command.as_str() {
            "/cancel" => send(vec!["!done".into()]),
            "/quit" => {
                let _ =
                    tx.send((due, wire::encode_sentence(&["!fatal".into(), "session terminated on request".into()])));
                break;
            }
            _ => {
                let reply = match &faults.refuse {
                    Some((path, message)) if *path == command => state::Reply::trap(message),
                    _ => {
                        shared.state.lock().expect("state lock").execute(&command, &args, &queries, proplist.as_deref())
                    }
                };
                match reply {
                    Reply::Rows { rows, ret } => {
                        let empty = rows.is_empty() && ret.is_none();
                        for row in rows {
                            let mut words = vec!["!re".to_string()];
                            words.extend(row.into_iter().map(|(k, v)| format!("={k}={v}")));
                            send(words);
                        }
                        if empty && faults.empty_replies {
                            send(vec!["!empty".into()]);
                        }
                        let mut done = vec!["!done".to_string()];
                        if let Some(r) = ret {
                            // RouterOS puts `=ret=` before the tag.
                            done.push(format!("=ret={r}"));
                        }
                        send(done);
                    }
                    Reply::Trap { category, message } => {
                        let mut words = vec!["!trap".to_string()];
                        if let Some(c) = category {
                            words.push(format!("=category={c}"));
                        }
                        words.push(format!("=message={message}"));
                        send(words);
                        send(vec!["!done".into()]);
                    }
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}
