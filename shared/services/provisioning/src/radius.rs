//! RADIUS mode on the worker's side: a router in RADIUS mode holds no PPP secrets or hotspot users
//! of ours; converging a subscriber there writes the answer its next login gets
//! ([`RadiusAnswer`]) and tells its online sessions of a change, by CoA-Request (a new speed) or
//! Disconnect-Request (refused now, or into or out of the walled garden) on the router's
//! `/radius incoming` port (RFC 5176). Level-triggered like the API mode: what the sessions were
//! last told is kept with the answer, so a telling that failed is tried again on the next message.

use chrono::Utc;
use domain::network::Router;
use domain::radius::{
    Grant, RadiusAnswer, RadiusSession, RadiusSessions, RadiusTerms, SessionChange, answer_password_aad,
    grant_in_force, session_change,
};
use domain::{Error, Result};
use kernel::App;
use kernel::support::{StoreResultExt, decoded};
use radius::core::code::Code;
use radius::core::packet::Packet;
use radius::core::vsa::StringVSA;
use radius::core::{rfc2865, rfc2866, rfc2869};
use routeros::RouterError;
use routeros::plan::{Access, Applied, Desired};
use routeros::provision::{Provisioned, SubscriberResult};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use store::{Store, keys};
use uuid::Uuid;

/// MikroTik's vendor id and its `Mikrotik-Rate-Limit` attribute.
pub const MIKROTIK_VENDOR: i32 = 14988;
pub const MIKROTIK_RATE_LIMIT: u8 = 8;

/// How long the router has to answer a CoA or Disconnect-Request, and how often it is asked.
const COA_TIMEOUT: Duration = Duration::from_secs(2);
const COA_TRIES: usize = 2;

/// One subscriber to converge on a RADIUS router.
pub struct RadiusItem<'a> {
    pub subscription: Uuid,
    pub customer: Uuid,
    pub desired: &'a Desired,
    pub terms: &'a RadiusTerms,
    /// The subscription's version the desired state comes from.
    pub version: u64,
    /// False for the router a subscription moved away from (its answer goes).
    pub current_router: bool,
    /// The user name the last converge on this router wrote the answer under.
    pub previous_username: Option<String>,
}

/// The router's NAS: where CoA goes and its shared secret.
pub struct Nas {
    pub address: SocketAddr,
    pub secret: String,
}

/// Where and how to tell a RADIUS router's sessions.
pub async fn nas_of(app: &App, r: &Router, secret_sealed: Option<&str>) -> Result<Nas> {
    let settings = r.radius.clone().unwrap_or_default();
    let secret = network::routers::open_radius_secret(
        app,
        r.tenant_id,
        r.id,
        secret_sealed.ok_or_else(|| Error::Internal(format!("router {} in RADIUS mode has no secret", r.id)))?,
    )?;
    let ip: IpAddr = match r.host.parse() {
        Ok(ip) => ip,
        Err(_) => tokio::net::lookup_host((r.host.as_str(), settings.coa_port))
            .await
            .ok()
            .and_then(|mut a| a.next())
            .map(|a| a.ip())
            .ok_or_else(|| Error::Unavailable { detail: format!("{} does not resolve", r.host) })?,
    };
    if let Some(why) = domain::network::router_address_refusal(ip, app.router_hosts) {
        return Err(Error::Unavailable { detail: format!("router address refused: {why}") });
    }
    Ok(Nas { address: SocketAddr::new(ip, settings.coa_port), secret })
}

fn grant_for(access: &Access, terms: &RadiusTerms) -> Option<Grant> {
    match access {
        Access::Absent => None,
        Access::Open => Some(Grant::Open { profile: terms.profile.clone(), rate_limit: terms.rate_limit.clone() }),
        Access::Cut => Some(Grant::Refused { reason: "suspended or expired".into() }),
        Access::WalledGarden { profile, address_list } => {
            Some(Grant::WalledGarden { profile: profile.clone(), address_list: address_list.clone() })
        }
    }
}

/// The user name a converge wrote the answer under, as its outcome records it (the item id).
pub fn answer_item_id(username: &str) -> String {
    format!("radius:{username}")
}

pub fn username_of_item_id(item_id: &str) -> Option<&str> {
    item_id.strip_prefix("radius:")
}

/// Converges these subscribers (PPPoE and hotspot, on one RADIUS router): answers written,
/// sessions told. One result per item, as the API mode gives.
pub async fn converge(app: &App, r: &Router, items: &[RadiusItem<'_>], nas: &Nas) -> Result<Vec<SubscriberResult>> {
    let router = r.id;
    let tenant = r.tenant_id;
    let settings = r.radius.clone().unwrap_or_default();
    let timezone = kernel::support::load_tenant(app, tenant).await?.time_zone;
    let now = app.now();
    // Each subscriber's answer and sessions under its user name now, and the answer under the
    // name it had before (a renamed subscriber's old answer goes).
    let mut wanted: Vec<store::ItemKeys> = Vec::new();
    for i in items {
        wanted.push(keys::radius_answer(tenant, &i.desired.username));
        wanted.push(keys::radius_sessions(tenant, &i.desired.username));
        let old = i.previous_username.as_ref().filter(|u| **u != i.desired.username);
        wanted.push(keys::radius_answer(tenant, old.map(String::as_str).unwrap_or(&i.desired.username)));
    }
    let refs: Vec<&store::ItemKeys> = wanted.iter().collect();
    let mut found = app.store.batch_get_many(&refs).await.or_500()?.into_iter();
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let old: Option<RadiusAnswer> = decoded(found.next().flatten())?;
        let sessions: Option<RadiusSessions> = decoded(found.next().flatten())?;
        let renamed_from: Option<RadiusAnswer> = decoded(found.next().flatten())?;
        let sub = item.subscription;
        // Only this subscription's answer on this router is ours to replace or remove.
        let mine = |a: &Option<RadiusAnswer>| a.clone().filter(|a| a.subscription_id == sub && a.router_id == router);
        let old_mine = mine(&old);
        let d = &item.desired;
        let grant = if item.current_router { grant_for(&d.access, item.terms) } else { None };
        let mut actions = Vec::new();
        let mut tx = store::Tx::new();
        if let Some(stale) = mine(&renamed_from).filter(|a| a.username != d.username) {
            tx.delete(&keys::radius_answer(tenant, &stale.username));
            actions.push(format!("removed the answer of the old name {}", stale.username));
        }
        let online: Vec<RadiusSession> = sessions
            .as_ref()
            .map(|s| s.online().filter(|x| x.router_id == router).cloned().collect())
            .unwrap_or_default();
        let granted_now = grant.as_ref().map(|g| grant_in_force(g, item.terms.turbo.as_ref(), now));
        // What the online sessions run under: what they were told, else what the old answer
        // granted (a session logged in under it).
        let told = old_mine.as_ref().and_then(|a| a.told.clone().or_else(|| Some(a.grant_at(now))));
        let change =
            if online.is_empty() { SessionChange::None } else { session_change(told.as_ref(), granted_now.as_ref()) };
        let telling = tell(nas, &d.username, &online, &change).await;
        let told_now = match &telling {
            Ok(_) => granted_now.clone(),
            Err(_) => told.clone(),
        };
        if let Ok(done) = &telling {
            actions.extend(done.iter().cloned());
        }
        match &grant {
            None => {
                if old_mine.is_some() {
                    tx.delete(&keys::radius_answer(tenant, &d.username));
                    actions.push("removed the answer".into());
                }
            }
            Some(g) => {
                let password_sealed = match &old_mine {
                    Some(a) if opened(app, tenant, a).as_deref() == Some(d.password.as_str()) => {
                        a.password_sealed.clone()
                    }
                    _ => app.secrets.seal(d.password.as_bytes(), &answer_password_aad(tenant, &d.username)),
                };
                let answer = RadiusAnswer {
                    tenant_id: tenant,
                    router_id: router,
                    subscription_id: sub,
                    customer_id: item.customer,
                    username: d.username.clone(),
                    password_sealed,
                    grant: g.clone(),
                    turbo: item.terms.turbo.clone(),
                    framed_ip: item.terms.framed_ip,
                    expires_at: item.terms.expires_at,
                    one_session: settings.one_session,
                    interim_minutes: settings.interim_minutes,
                    timezone: timezone.clone(),
                    subscription_version: item.version,
                    told: told_now,
                    updated_at: now,
                };
                let same = old_mine.as_ref().is_some_and(|o| RadiusAnswer { updated_at: now, ..o.clone() } == answer);
                // Another subscription's answer under this name (a name freed and taken again)
                // is replaced: the name is this subscription's now.
                if !same {
                    tx.put(
                        Store::encode(&keys::radius_answer(tenant, &d.username), "RADIUS_ANSWER", &answer, None)
                            .or_500()?,
                    );
                    actions.push(if old_mine.is_some() { "answer updated".into() } else { "answer written".into() });
                }
            }
        }
        if !tx.is_empty() {
            app.store.commit(tx).await.or_500()?;
        }
        if let Ok(done) = &telling
            && done.iter().any(|a| a.starts_with("disconnected"))
        {
            mark_disconnected(app, tenant, &d.username, router, &online).await?;
        }
        results.push(match telling {
            Err(e) => Err(e),
            Ok(_) => Ok(Provisioned {
                subscription_id: d.subscription_id.clone(),
                state: if grant.is_some() { d.access.state().to_string() } else { "absent".into() },
                item_id: grant.as_ref().map(|_| answer_item_id(&d.username)),
                actions,
                applied: Applied {
                    state: if grant.is_some() { d.access.state().to_string() } else { "absent".into() },
                    profile: match &granted_now {
                        Some(Grant::Open { profile, .. }) | Some(Grant::WalledGarden { profile, .. }) => {
                            Some(profile.clone())
                        }
                        _ => None,
                    },
                    rate_limit: match &granted_now {
                        Some(Grant::Open { rate_limit, .. }) => Some(rate_limit.clone()),
                        _ => None,
                    },
                },
            }),
        });
    }
    Ok(results)
}

fn opened(app: &App, tenant: Uuid, a: &RadiusAnswer) -> Option<String> {
    let plain = app.secrets.open(&a.password_sealed, &answer_password_aad(tenant, &a.username)).ok()?;
    String::from_utf8(plain).ok()
}

/// Sends what the change needs to each online session; what was done, or the fault (retried).
async fn tell(
    nas: &Nas,
    username: &str,
    online: &[RadiusSession],
    change: &SessionChange,
) -> std::result::Result<Vec<String>, RouterError> {
    let mut done = Vec::new();
    for s in online {
        match change {
            SessionChange::None => {}
            SessionChange::Rate(rate) => {
                if send(nas, Code::CoARequest, username, s, Some(rate)).await? {
                    done.push(format!("told session {} the new speed {rate}", s.session_id));
                } else {
                    // The router would not change the session (NAK): it logs in again instead.
                    send(nas, Code::DisconnectRequest, username, s, None).await?;
                    done.push(format!("disconnected session {} (CoA refused)", s.session_id));
                }
            }
            SessionChange::Disconnect => {
                // A NAK here means the session is gone already: the same outcome.
                send(nas, Code::DisconnectRequest, username, s, None).await?;
                done.push(format!("disconnected session {}", s.session_id));
            }
        }
    }
    Ok(done)
}

/// One CoA or Disconnect-Request; true on ACK, false on NAK.
async fn send(
    nas: &Nas,
    code: Code,
    username: &str,
    s: &RadiusSession,
    rate_limit: Option<&str>,
) -> std::result::Result<bool, RouterError> {
    let mut p = Packet::new(code, nas.secret.as_bytes());
    rfc2865::add_user_name(&mut p, username);
    rfc2866::add_acct_session_id(&mut p, &s.session_id);
    if let Some(ip) = s.framed_ip.as_deref().and_then(|ip| ip.parse().ok()) {
        rfc2865::add_framed_ip_address(&mut p, &ip);
    }
    rfc2869::add_event_timestamp(&mut p, &Utc::now());
    if let Some(rate) = rate_limit {
        rfc2865::add_vsa_attribute(&mut p, &StringVSA::new(MIKROTIK_VENDOR, MIKROTIK_RATE_LIMIT, rate));
    }
    let client = radius::client::Client::new(Some(COA_TIMEOUT), Some(COA_TIMEOUT));
    let mut last = String::new();
    for _ in 0..COA_TRIES {
        match client.send_packet(&nas.address, &p).await {
            Ok(answer) => {
                return match answer.get_code() {
                    Code::CoAACK | Code::DisconnectACK => Ok(true),
                    Code::CoANAK | Code::DisconnectNAK => Ok(false),
                    other => Err(RouterError::ConnectionLost(format!("unexpected answer {other:?} to {code:?}"))),
                };
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(RouterError::Unreachable(format!("no answer to {code:?} on {}: {last}", nas.address)))
}

/// Sessions cut by a Disconnect-Request are no longer online (the router's Accounting-Stop
/// brings their last bytes to the edge's report), so a subscriber who logs in again at once is
/// not refused as online.
async fn mark_disconnected(app: &App, tenant: Uuid, username: &str, router: Uuid, cut: &[RadiusSession]) -> Result<()> {
    let ended: Vec<(String, String)> = cut.iter().map(|s| (s.session_id.clone(), username.to_string())).collect();
    network::radius::close_sessions(app, tenant, router, &ended, "Admin-Reset").await?;
    Ok(())
}
