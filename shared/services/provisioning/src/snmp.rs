//! SNMP polling of devices that are not MikroTik routers (OLTs, switches): the interface table
//! (IF-MIB `ifDescr`, `ifOperStatus`, `ifHCInOctets`, `ifHCOutOctets`) and `sysUpTime`, over
//! SNMP v2c or v3 (USM, authentication and privacy) with `snmp2`. The provisioning worker is the
//! only function that reaches the ISP's network, so this is its.

use domain::monitoring::{InterfaceCounters, SnmpAuthProtocol, SnmpCredentials, SnmpPrivacy};
use snmp2::{AsyncSession, Oid, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

const IF_DESCR: &[u64] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 2];
const IF_OPER_STATUS: &[u64] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 8];
const IF_HC_IN_OCTETS: &[u64] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6];
const IF_HC_OUT_OCTETS: &[u64] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 10];
const SYS_UPTIME: &[u64] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];

/// What a poll read of a device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceReading {
    pub uptime_seconds: Option<u64>,
    pub interfaces: Vec<InterfaceCounters>,
}

fn oid(arcs: &[u64]) -> Oid<'static> {
    Oid::from(arcs).expect("a valid OID")
}

async fn session(addr: SocketAddr, c: &SnmpCredentials) -> Result<Box<AsyncSession>, String> {
    match c {
        SnmpCredentials::V2c { community } => {
            AsyncSession::new_v2c(addr, community.as_bytes(), 1).await.map(Box::new).map_err(|e| e.to_string())
        }
        SnmpCredentials::V3 { username, auth_protocol, auth_password, privacy, privacy_password } => {
            use snmp2::v3::{Auth, AuthProtocol, Cipher, Security};
            let auth = match (privacy, privacy_password) {
                (SnmpPrivacy::None, _) => Auth::AuthNoPriv,
                (p, Some(pw)) => Auth::AuthPriv {
                    cipher: if *p == SnmpPrivacy::Des { Cipher::Des } else { Cipher::Aes128 },
                    privacy_password: pw.as_bytes().to_vec(),
                },
                (_, None) => return Err("privacy needs a privacy password".into()),
            };
            let protocol = match auth_protocol {
                SnmpAuthProtocol::Md5 => AuthProtocol::Md5,
                SnmpAuthProtocol::Sha1 => AuthProtocol::Sha1,
                SnmpAuthProtocol::Sha256 => AuthProtocol::Sha256,
            };
            let security = Security::new(username.as_bytes(), auth_password.as_bytes())
                .with_auth_protocol(protocol)
                .with_auth(auth);
            let mut s = AsyncSession::new_v3(addr, 1, security).await.map_err(|e| e.to_string())?;
            s.init().await.map_err(|e| format!("SNMPv3: {e:?}"))?;
            Ok(Box::new(s))
        }
    }
}

/// Every value under `base` (GETBULK, 25 at a time), by the last arc of its OID (the ifIndex).
async fn walk(s: &mut AsyncSession, base: &[u64], per_request: Duration) -> Result<BTreeMap<u64, Cell>, String> {
    let mut out = BTreeMap::new();
    let mut next: Vec<u64> = base.to_vec();
    for _ in 0..200 {
        let from = oid(&next);
        let pdu = tokio::time::timeout(per_request, s.getbulk(&[&from], 0, 25))
            .await
            .map_err(|_| "no answer".to_string())?
            .map_err(|e| format!("{e:?}"))?;
        let mut last = None;
        let mut done = true;
        for (name, value) in pdu.varbinds {
            let arcs: Vec<u64> = name.iter().map(|i| i.collect()).unwrap_or_default();
            if !arcs.starts_with(base) || matches!(value, Value::EndOfMibView) {
                done = true;
                break;
            }
            done = false;
            if let Some(index) = arcs.last() {
                out.insert(*index, cell(&value));
            }
            last = Some(arcs);
        }
        match (done, last) {
            (false, Some(l)) => next = l,
            _ => return Ok(out),
        }
    }
    Ok(out)
}

/// A value a poll keeps, out of the response's buffer.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Text(String),
    Number(u64),
    Other,
}

fn cell(v: &Value<'_>) -> Cell {
    match v {
        Value::Integer(i) => u64::try_from(*i).map(Cell::Number).unwrap_or(Cell::Other),
        Value::Counter32(c) | Value::Unsigned32(c) | Value::Timeticks(c) => Cell::Number(*c as u64),
        Value::Counter64(c) => Cell::Number(*c),
        Value::OctetString(b) => Cell::Text(String::from_utf8_lossy(b).into_owned()),
        _ => Cell::Other,
    }
}

fn number(c: Option<&Cell>) -> Option<u64> {
    match c? {
        Cell::Number(n) => Some(*n),
        _ => None,
    }
}

/// Reads a device's interfaces and uptime; an error when it does not answer (`timeout` per
/// request) or refuses the credentials.
pub async fn poll(addr: SocketAddr, c: &SnmpCredentials, timeout: Duration) -> Result<DeviceReading, String> {
    let mut s = tokio::time::timeout(timeout, session(addr, c)).await.map_err(|_| "no answer".to_string())??;
    let uptime = {
        let up = oid(SYS_UPTIME);
        let pdu = tokio::time::timeout(timeout, s.get(&up)).await.map_err(|_| "no answer".to_string())?;
        let mut pdu = pdu.map_err(|e| format!("{e:?}"))?;
        pdu.varbinds.next().and_then(|(_, v)| number(Some(&cell(&v)))).map(|ticks| ticks / 100)
    };
    let descr = walk(&mut s, IF_DESCR, timeout).await?;
    let status = walk(&mut s, IF_OPER_STATUS, timeout).await?;
    let rx = walk(&mut s, IF_HC_IN_OCTETS, timeout).await?;
    let tx = walk(&mut s, IF_HC_OUT_OCTETS, timeout).await?;
    let interfaces = descr
        .iter()
        .map(|(index, name)| InterfaceCounters {
            name: match name {
                Cell::Text(t) => t.clone(),
                _ => format!("if{index}"),
            },
            // ifOperStatus 1 = up.
            running: number(status.get(index)) == Some(1),
            rx_bytes: number(rx.get(index)).unwrap_or(0),
            tx_bytes: number(tx.get(index)).unwrap_or(0),
        })
        .collect();
    Ok(DeviceReading { uptime_seconds: uptime, interfaces })
}
