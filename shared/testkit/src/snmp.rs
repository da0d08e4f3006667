//! Debian's `snmpd` (Net-SNMP) on 127.0.0.1 for tests: a v2c community and a v3 user with SHA
//! authentication and AES privacy, answering for this machine's own interfaces (`lo` counts the
//! tests' own loopback traffic).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Snmpd {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

impl Snmpd {
    pub async fn start(community: &str, user: &str, auth_password: &str, privacy_password: &str) -> Snmpd {
        let dir = std::env::temp_dir().join(format!("snmpd-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(dir.join("persist")).expect("snmpd dir");
        for _ in 0..5 {
            let port = std::net::UdpSocket::bind("127.0.0.1:0").expect("a port").local_addr().expect("bound").port();
            let conf = format!(
                "agentAddress udp:127.0.0.1:{port}\nrocommunity {community} 127.0.0.1\n\
                 createUser {user} SHA \"{auth_password}\" AES \"{privacy_password}\"\nrouser {user} priv\n\
                 sysDescr Test OLT\n"
            );
            std::fs::write(dir.join("snmpd.conf"), conf).expect("snmpd.conf");
            let log = dir.join("snmpd.log");
            let child = Command::new("snmpd")
                .args(["-f", "-Lf"])
                .arg(&log)
                .args(["-C", "-c"])
                .arg(dir.join("snmpd.conf"))
                .args(["-p"])
                .arg(dir.join("snmpd.pid"))
                .args(["-M", "/dev/null", "-m", ""])
                .env("SNMP_PERSISTENT_DIR", dir.join("persist"))
                .env("SNMPCONFPATH", &dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("snmpd (Debian package snmpd, installed by `make tools`)");
            let mut server = Snmpd { child, dir: dir.clone(), port };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if std::fs::read_to_string(&log).unwrap_or_default().contains("NET-SNMP version") {
                    return server;
                }
                if let Ok(Some(_)) = server.child.try_wait() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = server.child.kill();
            let _ = server.child.wait();
            std::mem::forget(server);
        }
        panic!("snmpd did not start: {}", std::fs::read_to_string(dir.join("snmpd.log")).unwrap_or_default());
    }

    /// The agent stops answering (the device is down).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Snmpd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
