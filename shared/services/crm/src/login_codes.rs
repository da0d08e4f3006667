//! One-time login codes for the subscriber portal, sent by SMS. A request is counted and handed on
//! as an event whether or not the login exists (so the answer and its work tell nothing); the
//! notification worker finds the customer and makes the code here (its id from the event's, so a
//! redelivery sends the same code). A code works once, for 10 minutes, for at most 5 tries; it is
//! stored only as a keyed fingerprint (to check) and sealed (to deliver).

use chrono::{DateTime, Utc};
use domain::crypto::random_digits;
use domain::event::{CrmEvent, DomainEvent, PortalCodeRequested};
use domain::portal::{LoginName, OTP_DIGITS, OTP_MAX_TRIES, OTP_TTL};
use domain::{Error, Result};
use kernel::App;
use kernel::support::{StoreResultExt, attr, store_err};
use serde::{Deserialize, Serialize};
use store::{Conflict, Store, StoreError, Tx, keys, ttl_at};
use uuid::Uuid;

/// A subscriber's current login code (one per customer: a newer request replaces it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginCode {
    pub tenant_id: Uuid,
    pub customer_id: Uuid,
    /// The event that asked for it (a redelivery finds its own code again).
    pub event_id: Uuid,
    pub fingerprint: String,
    pub sealed_code: String,
    pub expires_at: DateTime<Utc>,
    pub tries: u32,
}

fn fingerprint(app: &App, tenant: Uuid, customer: Uuid, code: &str) -> String {
    domain::crypto::b64url_encode(&app.fingerprint.sign(format!("portal-code:{tenant}:{customer}:{code}").as_bytes()))
}

/// The login name as the event carries it.
pub fn login_text(name: &LoginName) -> String {
    match name {
        LoginName::Phone(p) => format!("phone:{p}"),
        LoginName::Username(u) => format!("username:{u}"),
    }
}

fn parse_login_text(s: &str) -> Option<LoginName> {
    match s.split_once(':')? {
        ("phone", p) => Some(LoginName::Phone(p.into())),
        ("username", u) => Some(LoginName::Username(u.into())),
        _ => None,
    }
}

/// The customer a login name belongs to in the ISP (its username or phone sentinel).
pub async fn customer_named(app: &App, tenant: Uuid, name: &LoginName) -> Result<Option<Uuid>> {
    let (field, value) = match name {
        LoginName::Phone(p) => ("phone", p.as_str()),
        LoginName::Username(u) => ("username", u.as_str()),
    };
    kernel::support::unique_owner(app, &crate::customers::unique_key(tenant, field, value)).await
}

/// The event asking for a code for `name` in the ISP (staged by the portal's request).
pub fn request_event(tenant: Uuid, name: &LoginName, now: DateTime<Utc>) -> Result<DomainEvent> {
    let detail = PortalCodeRequested { login: login_text(name), requested_at: now };
    Ok(DomainEvent::new(
        CrmEvent::PortalCodeRequested,
        Some(tenant),
        serde_json::to_value(&detail).map_err(|e| Error::Internal(e.to_string()))?,
        now,
    ))
}

/// For the notification worker: the customer a `PortalCodeRequested` names and the code to send
/// them. None when no live customer has the login or the request is older than a code's life.
pub async fn issue(
    app: &App,
    tenant: Uuid,
    event_id: Uuid,
    request: &PortalCodeRequested,
) -> Result<Option<(Uuid, String)>> {
    let expires_at = request.requested_at + OTP_TTL;
    if expires_at <= app.now() {
        return Ok(None);
    }
    let Some(name) = parse_login_text(&request.login) else { return Ok(None) };
    let Some(customer) = customer_named(app, tenant, &name).await? else { return Ok(None) };
    let k = keys::portal_otp(tenant, customer);
    if let Some(existing) = app.store.get::<LoginCode>(&k).await.or_500()?
        && existing.event_id == event_id
    {
        return open(app, &existing, &k).map(|c| Some((customer, c)));
    }
    let code = random_digits(OTP_DIGITS);
    let record = LoginCode {
        tenant_id: tenant,
        customer_id: customer,
        event_id,
        fingerprint: fingerprint(app, tenant, customer, &code),
        sealed_code: app.secrets.seal(code.as_bytes(), k.pk.as_bytes()),
        expires_at,
        tries: 0,
    };
    let mut item = Store::encode(&k, "PORTAL_CODE", &record, None).or_500()?;
    item.insert("ttl".into(), ttl_at(expires_at));
    app.store.put(item).await.or_500()?;
    Ok(Some((customer, code)))
}

fn open(app: &App, c: &LoginCode, k: &store::ItemKeys) -> Result<String> {
    let code = app.secrets.open(&c.sealed_code, k.pk.as_bytes()).map_err(|e| Error::Internal(e.to_string()))?;
    String::from_utf8(code).map_err(|e| Error::Internal(e.to_string()))
}

fn invalid() -> Error {
    Error::Unauthorized { code: "invalid_code", detail: "the code is wrong or has expired; ask for a new one".into() }
}

/// Checks `code` for the customer, counting the try first (at most 5 per code, however many arrive
/// at once). On a match, stages the code's deletion (conditional: the code works once) in `tx`.
pub async fn check(app: &App, tenant: Uuid, customer: Uuid, code: &str, tx: &mut Tx) -> Result<()> {
    let k = keys::portal_otp(tenant, customer);
    let now = app.now();
    let Some(current) = app.store.get::<LoginCode>(&k).await.or_500()? else { return Err(invalid()) };
    if current.expires_at <= now {
        return Err(invalid());
    }
    let count = app
        .store
        .update(&k)
        .update_expression("SET tries = tries + :one")
        .condition_expression("event_id = :e AND tries < :max")
        .expression_attribute_values(":one", attr(&1u32))
        .expression_attribute_values(":e", attr(&current.event_id))
        .expression_attribute_values(":max", attr(&OTP_MAX_TRIES));
    match app.store.send_update(count).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(invalid()),
        Err(e) => return Err(store_err(e)),
    }
    let given = code.trim();
    if given.len() != OTP_DIGITS || fingerprint(app, tenant, customer, given) != current.fingerprint {
        return Err(invalid());
    }
    let values = std::collections::HashMap::from([(":e".to_string(), attr(&current.event_id))]);
    tx.delete_if(&k, "event_id = :e", values, Conflict::Missing);
    Ok(())
}
