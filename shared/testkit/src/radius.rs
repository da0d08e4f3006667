//! RADIUS for tests: the project's own FreeRADIUS configuration (`infra/radius/raddb`) run by
//! Debian's `freeradius` on 127.0.0.1 in front of a local runner, `radclient` to log in and
//! account as a router would, and a NAS stand-in that answers CoA and Disconnect-Request as a
//! MikroTik's `/radius incoming` does (RFC 5176, checked against the shared secret).

use radius::core::code::Code;
use radius::core::packet::Packet;
use radius::core::{rfc2865, rfc2866};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The project's FreeRADIUS configuration.
pub fn raddb() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/radius/raddb"))
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").expect("a free UDP port").local_addr().expect("bound").port()
}

/// A FreeRADIUS of this test's own.
pub struct FreeRadius {
    child: Child,
    dir: PathBuf,
    api_url: String,
    token: String,
    pub auth_port: u16,
    pub acct_port: u16,
}

impl FreeRadius {
    /// Starts FreeRADIUS asking `api_url` with `token`, knowing the NAS in `clients_conf`.
    /// Async, as the runner it asks usually shares the test's runtime: nothing here may block it.
    pub async fn start(api_url: &str, token: &str, clients_conf: &str) -> FreeRadius {
        let dir = std::env::temp_dir().join(format!("freeradius-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("run dir");
        std::fs::write(dir.join("clients.conf"), clients_conf).expect("clients.conf");
        for _ in 0..5 {
            let (auth_port, acct_port) = (free_udp_port(), free_udp_port());
            let log = dir.join("radius.log");
            let child = Command::new("freeradius")
                .args(["-f", "-d"])
                .arg(raddb())
                .args(["-l"])
                .arg(&log)
                .env("RADIUS_CONF_DIR", raddb())
                .env("RADIUS_RUN_DIR", &dir)
                .env("RADIUS_SESSIONS_DB", dir.join("sessions.db"))
                .env("RADIUS_API_URL", api_url)
                .env("RADIUS_API_TOKEN", token)
                .env("RADIUS_AUTH_PORT", auth_port.to_string())
                .env("RADIUS_ACCT_PORT", acct_port.to_string())
                .env("RADIUS_LISTEN_ADDR", "127.0.0.1")
                .env("TZ", "UTC")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("freeradius (Debian package freeradius, installed by `make tools`)");
            let mut server = FreeRadius {
                child,
                dir: dir.clone(),
                api_url: api_url.to_string(),
                token: token.to_string(),
                auth_port,
                acct_port,
            };
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if text.contains("Ready to process requests") {
                    return server;
                }
                if let Ok(Some(_)) = server.child.try_wait() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // A port taken meanwhile: try others.
            let _ = server.child.kill();
            let _ = server.child.wait();
            std::mem::forget(server);
        }
        panic!("freeradius did not start: {}", std::fs::read_to_string(dir.join("radius.log")).unwrap_or_default());
    }

    /// `radclient` sends `attributes` (one per line, `Name = value`) as a NAS with `secret`;
    /// what it printed (`Received Access-Accept ...` and the reply's attributes).
    pub async fn radclient(&self, kind: &str, secret: &str, attributes: &str) -> String {
        let port = if kind == "acct" { self.acct_port } else { self.auth_port };
        let (kind, secret, attributes) = (kind.to_string(), secret.to_string(), attributes.to_string());
        tokio::task::spawn_blocking(move || radclient(port, &kind, &secret, &attributes)).await.expect("radclient ran")
    }

    /// Runs the edge's usage report (`infra/radius/post-usage.sh`) against this FreeRADIUS's
    /// session table and the API it asks; its exit status and what it printed.
    pub async fn post_usage(&self) -> (bool, String) {
        let script = raddb().join("../post-usage.sh");
        let mut cmd = Command::new("sh");
        cmd.arg(script)
            .env("RADIUS_ENV", self.dir.join("no-env-file"))
            .env("RADIUS_SESSIONS_DB", self.dir.join("sessions.db"))
            .env("RADIUS_API_URL", &self.api_url)
            .env("RADIUS_API_TOKEN", &self.token);
        let out = tokio::task::spawn_blocking(move || cmd.output().expect("sh (post-usage.sh)")).await.expect("ran");
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    }

    /// A query of the edge's session table (`sqlite3`), its output.
    pub fn sessions_table(&self, sql: &str) -> String {
        let out = Command::new("sqlite3").arg(self.dir.join("sessions.db")).arg(sql).output().expect("sqlite3");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("radius.log")).unwrap_or_default()
    }
}

fn radclient(port: u16, kind: &str, secret: &str, attributes: &str) -> String {
    {
        let mut child = Command::new("radclient")
            .args(["-x", "-r", "1", "-t", "5"])
            .arg(format!("127.0.0.1:{port}"))
            .arg(kind)
            .arg(secret)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("radclient (Debian package freeradius-utils)");
        child.stdin.take().expect("stdin").write_all(attributes.as_bytes()).expect("attributes");
        let out = child.wait_with_output().expect("radclient ran");
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A CoA or Disconnect-Request the stand-in received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NasRequest {
    pub code: String,
    pub username: Option<String>,
    pub session_id: Option<String>,
    /// `Mikrotik-Rate-Limit` (vendor 14988, type 8), on a CoA.
    pub rate_limit: Option<String>,
}

#[derive(Default)]
struct NasState {
    online: BTreeSet<String>,
    received: Vec<NasRequest>,
    forged: usize,
}

/// A router's `/radius incoming` on 127.0.0.1: sessions it holds, CoA and Disconnect-Request
/// answered ACK (the session is there) or NAK (it is not), packets with a wrong authenticator
/// dropped unanswered (as a NAS does).
pub struct NasStandIn {
    pub port: u16,
    state: Arc<Mutex<NasState>>,
    task: tokio::task::JoinHandle<()>,
}

impl NasStandIn {
    pub async fn start(secret: &str) -> NasStandIn {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("udp");
        let port = socket.local_addr().expect("bound").port();
        let state = Arc::new(Mutex::new(NasState::default()));
        let (st, secret) = (state.clone(), secret.as_bytes().to_vec());
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else { return };
                let bytes = &buf[..n];
                if !Packet::is_authentic_request(bytes, &secret) {
                    st.lock().unwrap().forged += 1;
                    continue;
                }
                let Ok(p) = Packet::decode(bytes, &secret) else { continue };
                let req = NasRequest {
                    code: p.get_code().string().to_string(),
                    username: rfc2865::lookup_user_name(&p).and_then(Result::ok),
                    session_id: rfc2866::lookup_acct_session_id(&p).and_then(Result::ok),
                    rate_limit: mikrotik_rate_limit(&p),
                };
                let answer = {
                    let mut s = st.lock().unwrap();
                    let there = req.session_id.as_ref().is_some_and(|id| s.online.contains(id));
                    let code = match (p.get_code(), there) {
                        (Code::DisconnectRequest, true) => {
                            s.online.remove(req.session_id.as_ref().unwrap());
                            Code::DisconnectACK
                        }
                        (Code::DisconnectRequest, false) => Code::DisconnectNAK,
                        (Code::CoARequest, true) => Code::CoAACK,
                        _ => Code::CoANAK,
                    };
                    s.received.push(req);
                    p.make_response_packet(code)
                };
                if let Ok(out) = answer.encode() {
                    let _ = socket.send_to(&out, from).await;
                }
            }
        });
        NasStandIn { port, state, task }
    }

    /// A session the NAS holds (a subscriber logged in).
    pub fn connect(&self, session_id: &str) {
        self.state.lock().unwrap().online.insert(session_id.to_string());
    }

    pub fn is_online(&self, session_id: &str) -> bool {
        self.state.lock().unwrap().online.contains(session_id)
    }

    pub fn received(&self) -> Vec<NasRequest> {
        self.state.lock().unwrap().received.clone()
    }

    /// Packets dropped for a wrong authenticator.
    pub fn forged(&self) -> usize {
        self.state.lock().unwrap().forged
    }
}

impl Drop for NasStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn mikrotik_rate_limit(p: &Packet) -> Option<String> {
    for avp in p.lookup_all(26) {
        let raw = avp.encode_bytes();
        // Vendor id (4 octets), vendor type, vendor length, value.
        if raw.len() > 6 && raw[..4] == 14988u32.to_be_bytes() && raw[4] == 8 {
            return String::from_utf8(raw[6..].to_vec()).ok();
        }
    }
    None
}
