//! Small pieces every use case shares: error mapping, audit entries, version checks.

use crate::App;
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::audit::{AuditEntry, redact};
use domain::event::DomainEvent;
use domain::{Error, ids};
use serde::Serialize;
use store::{Conflict, StoreError, Tx};
use uuid::Uuid;

pub fn store_err(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(Conflict::Unique(field)) => Error::duplicate(&field),
        StoreError::Conflict(Conflict::Version) => Error::version_conflict(),
        StoreError::Conflict(Conflict::Missing) => Error::not_found("resource"),
        StoreError::Conflict(Conflict::Limit(what)) => Error::Conflict {
            code: if what == "isp_limit" { "isp_limit_reached" } else { "limit_reached" },
            detail: format!("the {what} has been reached"),
            field: None,
        },
        StoreError::Conflict(c) => Error::Conflict { code: "conflict", detail: format!("{c:?}"), field: None },
        StoreError::Cursor(c) => Error::bad_request("invalid_cursor", c.to_string()),
        StoreError::Throttled => Error::Unavailable { detail: "the service is busy; retry shortly".into() },
        StoreError::Codec(m) | StoreError::Dynamo(m) => Error::Internal(m),
    }
}

/// The owner a uniqueness sentinel names (`owner_id`, an id), if the sentinel exists.
pub async fn unique_owner(app: &App, k: &store::ItemKeys) -> Result<Option<Uuid>, Error> {
    let item = app.store.get_item(k).await.map_err(store_err)?;
    Ok(item.and_then(|i| store::string_attr(&i, "owner_id")).and_then(|s| s.parse().ok()))
}

/// Conversion used with `?` on store calls.
pub trait StoreResultExt<T> {
    fn or_500(self) -> Result<T, Error>;
}

impl<T> StoreResultExt<T> for Result<T, StoreError> {
    fn or_500(self) -> Result<T, Error> {
        self.map_err(store_err)
    }
}

/// Checks the bearer a platform component presents (the edge concentrator's sync agent, the
/// platform's FreeRADIUS) against the deployment's token, in constant time. A token shorter than
/// 32 characters (or none configured) admits nobody.
pub fn check_platform_token(expected: &str, given: Option<&str>, who: &str) -> Result<(), Error> {
    let (expected, given) = (expected.as_bytes(), given.unwrap_or_default().as_bytes());
    if expected.len() >= 32 && domain::crypto::constant_time_eq(expected, given) {
        Ok(())
    } else {
        Err(Error::Unauthorized { code: "invalid_token", detail: format!("the {who}'s token is required") })
    }
}

/// Opens a sealed secret that is text (a router or subscriber password). `what` names it in the
/// internal error; the secret itself never appears in one.
pub fn open_text(secrets: &domain::crypto::SecretBox, sealed: &str, aad: &[u8], what: &str) -> Result<String, Error> {
    let plain = secrets.open(sealed, aad).map_err(|_| Error::Internal(format!("{what} cannot be opened")))?;
    String::from_utf8(plain).map_err(|_| Error::Internal(format!("{what} is not text")))
}

/// Named credentials at an outside service (a payment gateway, an SMS provider, a bot), sealed
/// as one JSON object bound to what they belong to (`purpose` and the record's id), so a sealed
/// value copied onto another record does not open.
pub fn seal_credentials(
    secrets: &domain::crypto::SecretBox,
    purpose: &str,
    id: Uuid,
    credentials: &std::collections::BTreeMap<String, String>,
) -> Result<String, Error> {
    let json = serde_json::to_vec(credentials).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(secrets.seal(&json, format!("{purpose}:{id}").as_bytes()))
}

/// Opens what [`seal_credentials`] sealed.
pub fn open_credentials(
    secrets: &domain::crypto::SecretBox,
    purpose: &str,
    id: Uuid,
    sealed: &str,
) -> Result<std::collections::BTreeMap<String, String>, Error> {
    let text = open_text(secrets, sealed, format!("{purpose}:{id}").as_bytes(), purpose)?;
    serde_json::from_str(&text).map_err(|e| Error::Internal(format!("{purpose}: {e}")))
}

pub fn snapshot<T: Serialize>(v: &T) -> serde_json::Value {
    redact(serde_json::to_value(v).unwrap_or(serde_json::Value::Null))
}

/// The audit snapshot of an account whose credentials may have changed: which ones changed, never
/// what they are (they are sealed in the record, not in the account snapshotted).
pub fn snapshot_with_credentials<T: Serialize>(
    v: &T,
    changed: Option<&std::collections::BTreeMap<String, String>>,
) -> serde_json::Value {
    let mut s = snapshot(v);
    if let Some(given) = changed {
        s["credentials_changed"] = serde_json::json!(given.keys().collect::<Vec<_>>());
    }
    s
}

/// What an audit entry records: the action (`customer.updated`), the entity, and what it was and
/// became (snapshots, redacted; `None` where there is nothing to show).
pub struct Audited<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

pub fn audit(actor: &Actor, tenant: Option<Uuid>, what: Audited<'_>, now: DateTime<Utc>) -> AuditEntry {
    AuditEntry {
        id: ids::new_id(),
        tenant_id: tenant,
        actor_id: actor.real_actor(),
        acting_as_id: actor.user_id,
        api_key_id: actor.key_id(),
        action: what.action.to_string(),
        entity_type: what.entity.to_string(),
        entity_id: what.id,
        before: what.before,
        after: what.after,
        at: now,
    }
}

/// Records that a secret (a subscriber's password, an export with passwords) was shown: who, as
/// whom (an impersonation names both) and what, before the secret is answered.
pub async fn audit_secret_read(app: &App, actor: &Actor, tenant: Uuid, what: Audited<'_>) -> Result<(), Error> {
    let mut tx = Tx::new();
    tx.put_audit(&audit(actor, Some(tenant), what, app.now()));
    app.store.commit(tx).await.map_err(store_err)
}

/// An update as its audit entry records it: the entity, what it was and what it became.
pub struct Updated<'a, T> {
    pub entity: &'static str,
    pub id: Uuid,
    pub before: &'a T,
    pub after: &'a T,
}

impl<T: Serialize> Updated<'_, T> {
    /// Stages the update's audit entry (`<entity>.updated`, before and after, redacted) and the
    /// event that announces it, in the update's own transaction.
    pub fn stage(&self, tx: &mut Tx, actor: &Actor, tenant: Option<Uuid>, event: DomainEvent) {
        let action = format!("{}.updated", self.entity);
        let (before, after) = (Some(snapshot(self.before)), Some(snapshot(self.after)));
        tx.put_audit(&audit(
            actor,
            tenant,
            Audited { action: &action, entity: self.entity, id: self.id.to_string(), before, after },
            event.occurred_at,
        ));
        tx.put_event(&event);
    }
}

/// The version an update must match: from `If-Match` or the body; one of them is required.
pub fn expected_version(if_match: Option<u64>, body: Option<u64>) -> Result<u64, Error> {
    match (if_match, body) {
        (Some(a), Some(b)) if a != b => Err(Error::field("version", "differs from If-Match")),
        (Some(v), _) | (None, Some(v)) => Ok(v),
        (None, None) => Err(Error::field("version", "is required (send it in the body or as If-Match)")),
    }
}

/// One attribute value from a plain Rust value, through the same codec as whole items.
pub fn attr<T: Serialize>(v: &T) -> aws_sdk_dynamodb::types::AttributeValue {
    serde_dynamo::to_attribute_value(v).expect("plain values always encode")
}

/// Decodes an item a batch read may or may not have found.
pub fn decoded<T: serde::de::DeserializeOwned>(item: Option<store::Item>) -> Result<Option<T>, Error> {
    item.map(store::Store::decode).transpose().map_err(store_err)
}

/// The ISP of the caller's token; it exists for as long as its tokens verify.
pub fn tenant_of(item: Option<store::Item>) -> Result<domain::tenant::Tenant, Error> {
    decoded(item)?.ok_or_else(|| Error::Internal("tenant of a valid token is missing".into()))
}

/// The caller's ISP (one GetItem).
pub async fn load_tenant(app: &crate::App, tid: uuid::Uuid) -> Result<domain::tenant::Tenant, Error> {
    tenant_of(app.store.get_item(&store::keys::tenant(tid, None)).await.or_500()?)
}

/// An update's uniqueness sentinels: claims the values that are new, frees the ones that went.
pub fn stage_unique_changes(
    tx: &mut store::Tx,
    old: &[(&str, String)],
    new: &[(&str, String)],
    key: impl Fn(&str, &str) -> store::ItemKeys,
    owner_id: &str,
) {
    for (field, value) in new {
        if !old.contains(&(field, value.clone())) {
            tx.put_unique(key(field, value), field, owner_id);
        }
    }
    for (field, value) in old {
        if !new.contains(&(field, value.clone())) {
            tx.delete_unique(key(field, value), owner_id);
        }
    }
}
