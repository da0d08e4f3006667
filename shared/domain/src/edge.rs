//! The network edge: how the provisioning function reaches ISPs' routers without a VPN connection
//! per ISP. One WireGuard concentrator for the whole platform; each ISP gets its own /24 blocks of
//! the platform's edge pool (never shared, so two ISPs' routers are never at the same address);
//! each router enrolled at the edge gets the next address of its ISP's blocks and its own key pair.
//! The concentrator is the pool's first address; it forwards only from the functions' subnets to
//! the routers (never between routers) and presents itself to them as that address.
//!
//! Pure: the address plan, the keys and the router's onboarding script (RouterOS 7).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use uuid::Uuid;

/// Addresses of a block a router may take (`.1`-`.254` of a /24).
pub const HOSTS_PER_BLOCK: u64 = 254;
/// The router's side of the tunnel (RouterOS's own default is 13231; ours is apart from it).
pub const ROUTER_LISTEN_PORT: u16 = 13_232;
/// The names the onboarding script gives what it adds, so it can be recognised (and removed).
pub const INTERFACE: &str = "isp-edge";
pub const API_GROUP: &str = "isp-api";
pub const CERTIFICATE: &str = "isp-api-ssl";

/// The deployment's edge: where the concentrator is and its public key, the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeConfig {
    /// `host:port` the routers dial (a public address or name of the concentrator).
    pub endpoint_host: String,
    pub endpoint_port: u16,
    /// The concentrator's WireGuard public key (base64).
    pub public_key: String,
    pub pool: Pool,
}

impl EdgeConfig {
    /// From `EDGE_ENDPOINT` (`host:port`), `EDGE_PUBLIC_KEY`, `EDGE_POOL` (a CIDR of /8 to /20).
    pub fn parse(endpoint: &str, public_key: &str, pool: &str) -> Result<EdgeConfig, String> {
        let (host, port) = endpoint.rsplit_once(':').ok_or("EDGE_ENDPOINT must be host:port")?;
        let port: u16 = port.parse().map_err(|_| "EDGE_ENDPOINT's port is not a port")?;
        if host.is_empty() || port == 0 {
            return Err("EDGE_ENDPOINT must be host:port".into());
        }
        if !is_key(public_key) {
            return Err("EDGE_PUBLIC_KEY must be a WireGuard key (32 bytes, base64)".into());
        }
        Ok(EdgeConfig {
            endpoint_host: host.to_string(),
            endpoint_port: port,
            public_key: public_key.to_string(),
            pool: Pool::parse(pool)?,
        })
    }
}

/// The platform's edge address pool, cut into /24 blocks; block 0 holds the concentrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    base: u32,
    prefix: u8,
}

impl Pool {
    pub fn parse(cidr: &str) -> Result<Pool, String> {
        let (addr, prefix) = cidr.split_once('/').ok_or("the edge pool must be a CIDR such as 10.224.0.0/11")?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| "the edge pool's address is not IPv4")?;
        let prefix: u8 = prefix.parse().map_err(|_| "the edge pool's prefix is not a number")?;
        if !(8..=20).contains(&prefix) {
            return Err("the edge pool must be a /8 to a /20".into());
        }
        let base = u32::from(addr);
        if base & (u32::MAX >> prefix) != 0 {
            return Err("the edge pool's address has host bits set".into());
        }
        let shared = addr.octets()[0] == 100 && (64..128).contains(&addr.octets()[1]);
        if !(addr.is_private() || shared) {
            return Err("the edge pool must be private (RFC 1918) or shared (100.64.0.0/10) space".into());
        }
        Ok(Pool { base, prefix })
    }

    /// Blocks in the pool (block 0 is the concentrator's).
    pub fn blocks(&self) -> u64 {
        1u64 << (24 - self.prefix)
    }

    /// The concentrator's address: the pool's first host.
    pub fn concentrator(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base + 1)
    }

    /// The `n`-th router address of an ISP holding `blocks` (in the order they were given), or
    /// `None` when its blocks are used up (the caller then asks for another block).
    pub fn host(&self, blocks: &[u64], n: u64) -> Option<Ipv4Addr> {
        let block = *blocks.get((n / HOSTS_PER_BLOCK) as usize)?;
        if block == 0 || block >= self.blocks() {
            return None;
        }
        Some(Ipv4Addr::from(self.base + (block as u32) * 256 + 1 + (n % HOSTS_PER_BLOCK) as u32))
    }

    pub fn cidr(&self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }

    /// A block as a CIDR.
    pub fn block_cidr(&self, block: u64) -> String {
        format!("{}/24", Ipv4Addr::from(self.base + (block as u32) * 256))
    }
}

fn is_key(k: &str) -> bool {
    B64.decode(k).is_ok_and(|b| b.len() == 32)
}

/// A WireGuard key pair (base64, as `wg` and RouterOS write them) from 32 random bytes.
pub fn key_pair(random: [u8; 32]) -> (String, String) {
    let secret = x25519_dalek::StaticSecret::from(random);
    let public = x25519_dalek::PublicKey::from(&secret);
    (B64.encode(secret.to_bytes()), B64.encode(public.as_bytes()))
}

/// A fresh key pair.
pub fn new_key_pair() -> (String, String) {
    key_pair(rand::random())
}

/// The public key of a private one (to check a stored pair).
pub fn public_key(private_b64: &str) -> Option<String> {
    let bytes: [u8; 32] = B64.decode(private_b64).ok()?.try_into().ok()?;
    Some(key_pair(bytes).1)
}

/// What the table keeps of an ISP's share of the edge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantEdge {
    pub tenant_id: Uuid,
    /// The pool's blocks given to this ISP, in order.
    pub blocks: Vec<u64>,
    /// Router addresses handed out so far (the next is `hosts_used`).
    pub hosts_used: u64,
    pub version: u64,
}

/// A router enrolled at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EdgePeer {
    pub router_id: Uuid,
    pub tenant_id: Uuid,
    /// The router's tunnel address: where the provisioning function reaches its API.
    pub address: String,
    /// The router's WireGuard public key (its private key is sealed in the table).
    pub public_key: String,
    /// The API over TLS (8729, the router's self-signed certificate) rather than plain (8728).
    pub api_ssl: bool,
    pub enrolled_at: chrono::DateTime<chrono::Utc>,
}

/// One peer as the concentrator configures it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConcentratorPeer {
    pub public_key: String,
    /// `<router address>/32`.
    pub allowed_ip: String,
}

/// The peers in `wg syncconf` form (the concentrator's sync agent appends them to its interface).
pub fn wg_peers(peers: &[ConcentratorPeer]) -> String {
    peers.iter().map(|p| format!("[Peer]\nPublicKey = {}\nAllowedIPs = {}\n\n", p.public_key, p.allowed_ip)).collect()
}

/// What an onboarding script is made of.
pub struct Onboarding<'a> {
    pub isp: &'a str,
    pub router_name: &'a str,
    pub edge: &'a EdgeConfig,
    pub peer: &'a EdgePeer,
    pub private_key: &'a str,
    pub api_username: &'a str,
    pub api_password: &'a str,
}

fn quoted(v: &str) -> String {
    crate::router_config::script_value(v)
}

/// The RouterOS 7 script an ISP pastes into a router's terminal: the WireGuard tunnel to the
/// edge, the router's tunnel address, an API user in a group with only the rights the system
/// needs (read, write, api, policy, test, sensitive: PPP and hotspot accounts with their
/// passwords, the backup scheduler entry) allowed only from the concentrator, the API service
/// bound to the concentrator's address (API-SSL with a self-signed certificate when chosen), and
/// a filter rule letting the API in over the tunnel, placed first.
pub fn onboarding_script(o: &Onboarding<'_>) -> String {
    let edge = o.edge.pool.concentrator();
    let me = &o.peer.address;
    let note = quoted("ISP billing edge: managed, do not edit");
    let (service, other, port) = if o.peer.api_ssl { ("api-ssl", "api", 8729) } else { ("api", "api-ssl", 8728) };
    let mut s = String::new();
    s.push_str(&format!("# Onboarding of router {} for {}\n", quoted(o.router_name), quoted(o.isp)));
    s.push_str("# Paste into the router's terminal (RouterOS 7). It holds the router's tunnel key and API\n");
    s.push_str("# password: keep it safe, and download it again rather than copying it around.\n");
    s.push_str("/interface wireguard\n");
    s.push_str(&format!(
        "add name={INTERFACE} listen-port={ROUTER_LISTEN_PORT} mtu=1420 private-key={} comment={note}\n",
        quoted(o.private_key)
    ));
    s.push_str("/interface wireguard peers\n");
    s.push_str(&format!(
        "add interface={INTERFACE} public-key={} endpoint-address={} endpoint-port={} allowed-address={edge}/32 persistent-keepalive=25s comment={note}\n",
        quoted(&o.edge.public_key),
        quoted(&o.edge.endpoint_host),
        o.edge.endpoint_port
    ));
    s.push_str("/ip address\n");
    s.push_str(&format!("add address={me}/32 network={edge} interface={INTERFACE} comment={note}\n"));
    s.push_str("/user group\n");
    s.push_str(&format!(
        "add name={API_GROUP} policy=read,write,api,policy,test,sensitive,!local,!telnet,!ssh,!ftp,!reboot,!winbox,!web,!password,!sniff,!romon,!rest-api comment={note}\n"
    ));
    s.push_str("/user\n");
    s.push_str(&format!(
        "add name={} group={API_GROUP} password={} address={edge}/32 comment={note}\n",
        quoted(o.api_username),
        quoted(o.api_password)
    ));
    if o.peer.api_ssl {
        s.push_str("/certificate\n");
        s.push_str(&format!("add name={CERTIFICATE} common-name={me} days-valid=3650 key-usage=tls-server\n"));
        s.push_str(&format!("sign {CERTIFICATE}\n"));
        s.push_str(":delay 5s\n");
    }
    s.push_str("/ip service\n");
    if o.peer.api_ssl {
        s.push_str(&format!("set {service} address={edge}/32 certificate={CERTIFICATE} port={port} disabled=no\n"));
    } else {
        s.push_str(&format!("set {service} address={edge}/32 port={port} disabled=no\n"));
    }
    s.push_str(&format!("set {other} disabled=yes\n"));
    let rule = format!(
        "chain=input action=accept in-interface={INTERFACE} src-address={edge} protocol=tcp dst-port={port} comment={note}"
    );
    s.push_str("/ip firewall filter\n");
    s.push_str(&format!(
        ":if ([:len [find]] > 0) do={{ add {rule} place-before=[:pick [find] 0] }} else={{ add {rule} }}\n"
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EdgeConfig {
        let (_, public) = key_pair([9; 32]);
        EdgeConfig::parse("edge.example.net:51820", &public, "10.224.0.0/11").unwrap()
    }

    #[test]
    fn isps_get_blocks_of_their_own_and_routers_the_next_address() {
        let pool = Pool::parse("10.224.0.0/11").unwrap();
        assert_eq!(pool.blocks(), 8192);
        assert_eq!(pool.concentrator(), Ipv4Addr::new(10, 224, 0, 1));
        // Block 0 is the concentrator's: never an ISP's.
        assert_eq!(pool.host(&[0], 0), None);
        assert_eq!(pool.host(&[1], 0), Some(Ipv4Addr::new(10, 224, 1, 1)));
        assert_eq!(pool.host(&[1], 253), Some(Ipv4Addr::new(10, 224, 1, 254)));
        assert_eq!(pool.host(&[1], 254), None, "the block is used up");
        assert_eq!(pool.host(&[1, 7], 254), Some(Ipv4Addr::new(10, 224, 7, 1)));
        assert_eq!(pool.host(&[8192], 0), None, "past the pool");
        // Two ISPs' blocks never share an address.
        let a: Vec<_> = (0..254).map(|n| pool.host(&[1], n).unwrap()).collect();
        let b: Vec<_> = (0..254).map(|n| pool.host(&[2], n).unwrap()).collect();
        assert!(a.iter().all(|x| !b.contains(x)));
        assert_eq!(pool.block_cidr(2), "10.224.2.0/24");
        for bad in ["10.224.0.0", "10.224.0.1/11", "10.224.0.0/24", "8.8.0.0/16", "10.0.0.0/7", "x/11"] {
            assert!(Pool::parse(bad).is_err(), "{bad}");
        }
        assert!(Pool::parse("100.64.0.0/10").is_ok());
    }

    #[test]
    fn key_pairs_are_wireguard_keys() {
        let (private, public) = key_pair([1; 32]);
        assert!(is_key(&private) && is_key(&public));
        assert_eq!(public_key(&private), Some(public.clone()));
        // RFC 7748's clamping is applied to the secret: the same bytes, the same pair.
        assert_eq!(key_pair([1; 32]).1, public);
        assert_ne!(key_pair([2; 32]).1, public);
        assert!(EdgeConfig::parse("edge:51820", "not-a-key", "10.224.0.0/11").is_err());
        assert!(EdgeConfig::parse("edge", &public, "10.224.0.0/11").is_err());
    }

    #[test]
    fn the_onboarding_script_binds_the_api_to_the_tunnel() {
        let edge = config();
        let peer = EdgePeer {
            router_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            address: "10.224.1.1".into(),
            public_key: key_pair([3; 32]).1,
            api_ssl: false,
            enrolled_at: chrono::DateTime::UNIX_EPOCH,
        };
        let (private, _) = key_pair([3; 32]);
        let o = Onboarding {
            isp: "Demo ISP",
            router_name: "POP-1 CCR",
            edge: &edge,
            peer: &peer,
            private_key: &private,
            api_username: "billing",
            api_password: "s3cret pass",
        };
        let s = onboarding_script(&o);
        assert!(s.contains(&format!("private-key=\"{private}\"")) || s.contains(&format!("private-key={private}")));
        assert!(s.contains("endpoint-address=edge.example.net endpoint-port=51820 allowed-address=10.224.0.1/32"));
        assert!(s.contains("add address=10.224.1.1/32 network=10.224.0.1 interface=isp-edge"));
        assert!(s.contains("add name=billing group=isp-api password=\"s3cret pass\" address=10.224.0.1/32"));
        assert!(s.contains("set api address=10.224.0.1/32 port=8728 disabled=no\nset api-ssl disabled=yes\n"));
        assert!(!s.contains("/certificate"));
        let ssl = onboarding_script(&Onboarding { peer: &EdgePeer { api_ssl: true, ..peer.clone() }, ..o });
        assert!(ssl.contains(
            "set api-ssl address=10.224.0.1/32 certificate=isp-api-ssl port=8729 disabled=no\nset api disabled=yes\n"
        ));
        assert!(ssl.contains("add name=isp-api-ssl common-name=10.224.1.1"));
        let peers = wg_peers(&[ConcentratorPeer { public_key: "K".into(), allowed_ip: "10.224.1.1/32".into() }]);
        assert_eq!(peers, "[Peer]\nPublicKey = K\nAllowedIPs = 10.224.1.1/32\n\n");
    }
}
