//! A RouterOS API connection built on the sans-IO protocol core of mikrotik-rs 0.7.0
//! (`mikrotik_rs::{Handshaking, Connection, CommandBuilder}`: word encoding, tagging, login,
//! reply parsing), driven by our own Tokio task.
//!
//! Why not `mikrotik_rs::MikrotikDevice`: its task routes every reply into a per-command channel
//! of 16 events with `try_send`, all replies of one 8 KiB read in one go, and cancels the command
//! when the channel is full. A `print` of more than a handful of PPP secrets therefore loses its
//! rows even when the reader is fast; it also has no timeouts and no reconnection. Here:
//! - every connect, TLS handshake and login has a deadline, and commands have a deadline on the
//!   router's *silence*: while commands are outstanding, the router must send something within
//!   the command deadline. A slow router that answers a long pipelined batch steadily is never
//!   cut off (a deadline counted from when a command was queued failed whole batches that the
//!   router was still working through), and a dead one still cannot hang a function;
//! - at most [`WINDOW`] commands are on the wire at once; the rest wait in order, so a batch of
//!   10,000 never floods the router's buffers;
//! - a command's rows are collected without limit and handed over on `!done`; a connection that
//!   closes (or a `!fatal`) before `!done` fails every command still in flight;
//! - commands are pipelined: callers issue many commands at once on one connection; the task
//!   writes whatever is queued in one write (TCP_NODELAY) and matches replies by `.tag`;
//! - writing runs in its own task so a large pipelined batch never blocks reading the replies.

use crate::error::{RouterError, Stage};
pub use domain::network::RouterHosts;
use domain::network::{router_address_refusal, router_name_refusal};
use mikrotik_rs::{CommandBuilder, Connection, Event, Handshaking, LoginError, LoginProgress, Tag};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// One reply row (`!re`): attribute name to value, as RouterOS prints them.
pub type Row = BTreeMap<String, String>;

/// How to reach and log in to a router.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: String,
    pub password: String,
    /// Which addresses the host may resolve to; checked at every connect, on the address
    /// connected to (a name may resolve elsewhere later).
    pub hosts: RouterHosts,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password, not even in a debug log.
        f.debug_struct("Endpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain API (8728): only over the VPN.
    Plain,
    /// API-SSL (8729) with the certificate verified against the system's trust store.
    Verified,
    /// API-SSL accepting a self-signed certificate: an explicit per-router choice.
    AcceptSelfSigned,
}

/// Commands on the wire at once per connection (RouterOS answers them in order; more in flight
/// only fills buffers).
pub const WINDOW: usize = 128;

/// Deadlines of each stage. A live API call must answer within 5 s, a worker has longer.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub login: Duration,
    /// The longest the router may stay silent while commands are outstanding.
    pub command: Duration,
}

impl Timeouts {
    /// For the provisioning worker: patient, but bounded.
    pub const WORKER: Timeouts =
        Timeouts { connect: Duration::from_secs(5), login: Duration::from_secs(5), command: Duration::from_secs(15) };
    /// For live operations behind an API call that must answer within 5 seconds.
    pub const LIVE: Timeouts = Timeouts {
        connect: Duration::from_millis(1500),
        login: Duration::from_millis(1500),
        command: Duration::from_millis(2000),
    };
}

/// What a process did to routers: read by benchmarks and tests.
#[derive(Debug, Default)]
pub struct Stats {
    connections: AtomicU64,
    logins: AtomicU64,
    commands: AtomicU64,
}

impl Stats {
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
    pub fn logins(&self) -> u64 {
        self.logins.load(Ordering::Relaxed)
    }
    pub fn commands(&self) -> u64 {
        self.commands.load(Ordering::Relaxed)
    }
}

/// A RouterOS API command: menu path with verb, `=attribute=value` words, `?query` words and the
/// `.proplist` to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub path: String,
    pub attributes: Vec<(String, String)>,
    pub queries: Vec<Query>,
    pub proplist: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    Equal(String, String),
    Present(String),
}

impl Command {
    pub fn new(path: impl Into<String>) -> Self {
        Command { path: path.into(), attributes: Vec::new(), queries: Vec::new(), proplist: None }
    }

    pub fn attr(mut self, key: &str, value: impl Into<String>) -> Self {
        self.attributes.push((key.to_string(), value.into()));
        self
    }

    pub fn query_eq(mut self, key: &str, value: impl Into<String>) -> Self {
        self.queries.push(Query::Equal(key.to_string(), value.into()));
        self
    }

    pub fn proplist(mut self, props: &str) -> Self {
        self.proplist = Some(props.to_string());
        self
    }

    fn build(&self) -> mikrotik_rs::Command {
        let mut b = CommandBuilder::new().command(&self.path);
        for (k, v) in &self.attributes {
            b = b.attribute(k, Some(v));
        }
        if let Some(p) = &self.proplist {
            b = b.attribute(".proplist", Some(p));
        }
        for q in &self.queries {
            b = match q {
                Query::Equal(k, v) => b.query_equal(k, v),
                Query::Present(k) => b.query_is_present(k),
            };
        }
        b.build()
    }
}

/// Asked, before anything is sent to a router reached by name, whether it may be used at the
/// address the name resolved to: the provisioning function refuses an address another ISP's
/// router is registered at (a name may resolve to it; a literal address is claimed when saved).
pub trait AddressCheck: Send + Sync {
    fn check(&self, address: IpAddr) -> futures::future::BoxFuture<'_, Result<(), RouterError>>;
}

/// Resolves the host and connects to the first address that is allowed and answers; an address
/// refused by the policy (or by `check`, for a host name) is never connected to.
async fn connect_allowed(endpoint: &Endpoint, check: Option<&dyn AddressCheck>) -> Result<TcpStream, RouterError> {
    let host = endpoint.host.trim_start_matches('[').trim_end_matches(']');
    if let Some(why) = router_name_refusal(host, endpoint.hosts) {
        return Err(RouterError::Refused(format!("{host} {why}")));
    }
    let addrs =
        tokio::net::lookup_host((host, endpoint.port)).await.map_err(|e| RouterError::Unreachable(e.to_string()))?;
    let mut last = RouterError::Unreachable(format!("{host} resolves to no address"));
    // A refusal is what the caller must hear, whatever the other addresses did.
    let mut refused = None;
    for addr in addrs {
        if let Some(why) = router_address_refusal(addr.ip(), endpoint.hosts) {
            refused = Some(RouterError::Refused(format!("{host} resolves to {}, which {why}", addr.ip())));
            continue;
        }
        if let Some(check) = check.filter(|_| host.parse::<IpAddr>().is_err()) {
            match check.check(addr.ip().to_canonical()).await {
                Ok(()) => {}
                Err(e @ RouterError::Refused(_)) => {
                    refused = Some(e);
                    continue;
                }
                Err(e) => {
                    last = e;
                    continue;
                }
            }
        }
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = RouterError::Unreachable(e.to_string()),
        }
    }
    Err(refused.unwrap_or(last))
}

/// A byte stream to or from a router: TCP or TLS over TCP.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

struct Request {
    command: mikrotik_rs::Command,
    path: String,
    reply: oneshot::Sender<Result<Vec<Row>, RouterError>>,
}

struct InFlight {
    path: String,
    rows: Vec<Row>,
    reply: oneshot::Sender<Result<Vec<Row>, RouterError>>,
}

/// One logged-in API connection. Cheap to clone; every clone pipelines on the same TCP connection.
/// The connection closes when the last clone is dropped.
#[derive(Clone)]
pub struct RouterConnection {
    requests: mpsc::UnboundedSender<Request>,
    stats: Arc<Stats>,
}

impl RouterConnection {
    /// Connect, (TLS,) log in. Every stage has its deadline.
    pub async fn open(endpoint: &Endpoint, timeouts: Timeouts, stats: Arc<Stats>) -> Result<Self, RouterError> {
        Self::open_checked(endpoint, timeouts, stats, None).await
    }

    /// [`RouterConnection::open`], asking `check` about the address a host name resolves to.
    pub async fn open_checked(
        endpoint: &Endpoint,
        timeouts: Timeouts,
        stats: Arc<Stats>,
        check: Option<&dyn AddressCheck>,
    ) -> Result<Self, RouterError> {
        let tcp = match tokio::time::timeout(timeouts.connect, connect_allowed(endpoint, check)).await {
            Err(_) => return Err(RouterError::Timeout(Stage::Connect)),
            Ok(r) => r?,
        };
        stats.connections.fetch_add(1, Ordering::Relaxed);
        // Without it a sentence waits for the previous one's ACK (Nagle + delayed ACK: ~40 ms).
        tcp.set_nodelay(true).map_err(|e| RouterError::Unreachable(e.to_string()))?;
        let stream: Box<dyn Stream> = match endpoint.tls {
            TlsMode::Plain => Box::new(tcp),
            mode => {
                let connector = crate::tls::connector(mode == TlsMode::AcceptSelfSigned)?;
                let name = crate::tls::server_name(&endpoint.host)?;
                match tokio::time::timeout(timeouts.connect, connector.connect(name, tcp)).await {
                    Err(_) => return Err(RouterError::Timeout(Stage::Tls)),
                    Ok(Err(e)) => return Err(RouterError::Tls(e.to_string())),
                    Ok(Ok(s)) => Box::new(s),
                }
            }
        };
        let (stream, conn) =
            match tokio::time::timeout(timeouts.login, login(stream, &endpoint.username, &endpoint.password)).await {
                Err(_) => return Err(RouterError::Timeout(Stage::Login)),
                Ok(r) => r?,
            };
        stats.logins.fetch_add(1, Ordering::Relaxed);
        let (requests, rx) = mpsc::unbounded_channel();
        tokio::spawn(drive(stream, conn, rx, timeouts.command));
        Ok(RouterConnection { requests, stats })
    }

    /// Run one command and collect its rows. Many calls may be in flight at once (pipelining).
    /// It fails when the connection fails, which includes the router staying silent for the
    /// command deadline while commands are outstanding.
    pub async fn run(&self, command: &Command) -> Result<Vec<Row>, RouterError> {
        let (reply, answer) = oneshot::channel();
        let request = Request { command: command.build(), path: command.path.clone(), reply };
        self.requests.send(request).map_err(|_| RouterError::ConnectionLost("connection already closed".into()))?;
        self.stats.commands.fetch_add(1, Ordering::Relaxed);
        match answer.await {
            Err(_) => Err(RouterError::ConnectionLost(format!("closed before {} was answered", command.path))),
            Ok(r) => r,
        }
    }

    /// Run many commands pipelined on this connection; answers in the order given.
    pub async fn run_all(&self, commands: &[Command]) -> Vec<Result<Vec<Row>, RouterError>> {
        futures::future::join_all(commands.iter().map(|c| self.run(c))).await
    }

    /// The connection's task ended (router closed it, fatal, write failed).
    pub fn is_closed(&self) -> bool {
        self.requests.is_closed()
    }
}

async fn login(
    mut stream: Box<dyn Stream>,
    username: &str,
    password: &str,
) -> Result<(Box<dyn Stream>, Connection), RouterError> {
    let lost = |e: String| RouterError::ConnectionLost(e);
    let mut hs = Handshaking::new(username, Some(password)).map_err(|e| lost(e.to_string()))?;
    let mut out = Vec::new();
    while let Some(t) = hs.poll_transmit() {
        out.extend_from_slice(&t.data);
    }
    stream.write_all(&out).await.map_err(|e| lost(e.to_string()))?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.map_err(|e| lost(e.to_string()))?;
        if n == 0 {
            return Err(lost("closed during login".into()));
        }
        hs.receive(&buf[..n]).map_err(|e| lost(e.to_string()))?;
        match hs.advance() {
            Ok(LoginProgress::Pending(h)) => hs = h,
            Ok(LoginProgress::Complete(auth)) => return Ok((stream, auth.into_connection())),
            Err(LoginError::Authentication(trap)) => return Err(RouterError::LoginRejected(trap.message)),
            Err(LoginError::Fatal(reason)) => return Err(lost(format!("fatal during login: {reason}"))),
            Err(e) => return Err(lost(format!("unreadable login reply: {e}"))),
        }
    }
}

/// The connection's task: owns the protocol state machine and the read half; hands writes to a
/// writer task so it is always reading. Keeps at most [`WINDOW`] commands in flight and fails
/// them all when the router stays silent for `silence` while any is outstanding.
async fn drive(
    stream: Box<dyn Stream>,
    mut conn: Connection,
    mut requests: mpsc::UnboundedReceiver<Request>,
    silence: Duration,
) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let (write_failed_tx, mut write_failed) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(mut bytes) = out_rx.recv().await {
            // Coalesce whatever else is queued into the same write.
            while let Ok(more) = out_rx.try_recv() {
                bytes.extend_from_slice(&more);
            }
            if let Err(e) = wr.write_all(&bytes).await {
                let _ = write_failed_tx.send(e.to_string());
                return;
            }
        }
        let _ = wr.shutdown().await;
    });

    let mut in_flight: HashMap<Tag, InFlight> = HashMap::new();
    let mut waiting: VecDeque<Request> = VecDeque::new();
    let mut last_heard = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    let failure = loop {
        // Fill the window from the commands waiting, in order, as one write.
        if in_flight.len() < WINDOW && !waiting.is_empty() {
            if in_flight.is_empty() {
                // The silence is the router's only from when it has something to answer.
                last_heard = Instant::now();
            }
            while in_flight.len() < WINDOW {
                let Some(r) = waiting.pop_front() else { break };
                match conn.send_command(r.command) {
                    Ok(tag) => {
                        in_flight.insert(tag, InFlight { path: r.path, rows: Vec::new(), reply: r.reply });
                    }
                    Err(e) => {
                        let _ = r.reply.send(Err(RouterError::ConnectionLost(e.to_string())));
                    }
                }
            }
            if let Err(e) = flush(&mut conn, &out_tx) {
                break Some(e);
            }
        }
        tokio::select! {
            request = requests.recv() => match request {
                Some(r) => {
                    waiting.push_back(r);
                    while let Ok(r) = requests.try_recv() {
                        waiting.push_back(r);
                    }
                }
                // Every clone dropped: nobody waits for answers any more.
                None => break None,
            },
            read = rd.read(&mut buf) => {
                let n = match read {
                    Ok(0) => break Some(lost("closed by the router")),
                    Ok(n) => n,
                    Err(e) => break Some(lost(&e.to_string())),
                };
                last_heard = Instant::now();
                if let Err(e) = conn.receive(&buf[..n]) {
                    break Some(lost(&format!("unreadable reply: {e}")));
                }
                let mut fatal = None;
                while let Some(event) = conn.poll_event() {
                    match event {
                        Event::Reply { tag, response } => {
                            if let Some(f) = in_flight.get_mut(&tag) {
                                f.rows.push(response.attributes.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect());
                            }
                        }
                        Event::Done { tag } | Event::Empty { tag } => {
                            if let Some(f) = in_flight.remove(&tag) {
                                let _ = f.reply.send(Ok(f.rows));
                            }
                        }
                        Event::Trap { tag, response } => {
                            if let Some(f) = in_flight.remove(&tag) {
                                let _ = f.reply.send(Err(RouterError::Trap {
                                    command: f.path,
                                    category: response.category.map(|c| c as u8),
                                    message: response.message,
                                }));
                            }
                        }
                        Event::Fatal { reason } => fatal = Some(lost(&format!("router sent !fatal: {reason}"))),
                    }
                }
                if fatal.is_some() {
                    break fatal;
                }
                // Some replies may have queued a /cancel or similar.
                if let Err(e) = flush(&mut conn, &out_tx) {
                    break Some(e);
                }
            }
            _ = tokio::time::sleep_until(last_heard + silence), if !in_flight.is_empty() => {
                break Some(RouterError::Timeout(Stage::Command));
            }
            Some(e) = write_failed.recv() => break Some(lost(&format!("write failed: {e}"))),
        }
    };
    // Refuse new commands first, then tell every command still waiting that its answer will never
    // come (so whoever sees the failure also sees the connection closed).
    let failure = failure.unwrap_or_else(|| lost("connection closed"));
    requests.close();
    for (_, f) in in_flight.drain() {
        let _ = f.reply.send(Err(match &failure {
            RouterError::ConnectionLost(why) => {
                RouterError::ConnectionLost(format!("{why} before {} was answered", f.path))
            }
            other => other.clone(),
        }));
    }
    for r in waiting.drain(..) {
        let _ = r.reply.send(Err(failure.clone()));
    }
    while let Ok(r) = requests.try_recv() {
        let _ = r.reply.send(Err(failure.clone()));
    }
    drop(out_tx);
    let _ = writer.await;
}

fn lost(why: &str) -> RouterError {
    RouterError::ConnectionLost(why.to_string())
}

/// Hands whatever the protocol state machine has to send to the writer task.
fn flush(conn: &mut Connection, out: &mpsc::UnboundedSender<Vec<u8>>) -> Result<(), RouterError> {
    let mut bytes = Vec::new();
    while let Some(t) = conn.poll_transmit() {
        bytes.extend_from_slice(&t.data);
    }
    if !bytes.is_empty() && out.send(bytes).is_err() {
        return Err(lost("writer stopped"));
    }
    Ok(())
}
