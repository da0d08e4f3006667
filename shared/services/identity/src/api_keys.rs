//! API keys for an ISP's (or the platform owner's) own systems: created by someone who may manage
//! keys, shown once, stored as a keyed fingerprint, listed with their last use, revoked at once.
//! Checking a presented key is `kernel::gate`'s.

use crate::users::load_user;
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::api_key::{self, ApiKey, PresentedKey, StoredApiKey};
use domain::role::Permission;
use domain::user::UserStatus;
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::support::{Audited, StoreResultExt, audit, snapshot};
use serde::{Deserialize, Serialize};
use store::{Conflict, Owner, Query, Store, Tx, keys, ttl_at};
use uuid::Uuid;

/// A revoked or expired key stays listed this long, then the table forgets it.
const KEPT_AFTER_END_DAYS: i64 = 90;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// What it is for, e.g. "Accounting sync".
    pub name: String,
    /// Abilities, each one of the creator's own permissions, e.g. `["customers:read"]`.
    pub abilities: Vec<String>,
    /// Confine it to one operator's (or sub-operator's) subtree: it then acts as that operator.
    #[serde(default)]
    pub operator_id: Option<Uuid>,
    /// When it stops working (default and at most 730 days from now).
    #[serde(default)]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Its own request limit a minute (default: the ISP's limit for keys).
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
}

/// A change to a key: its name, abilities (as a whole) and own request limit (`null`: the ISP's
/// default for keys). Its operator, expiry and secret never change: make a new key instead.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateApiKey {
    pub name: Option<String>,
    pub abilities: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<u32>)]
    pub requests_per_minute: domain::patch::Patch<u32>,
    pub version: Option<u64>,
}

/// A new key with its secret: the only time the secret is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// Present it as `Authorization: Bearer <secret>`. It cannot be shown again.
    pub secret: String,
}

fn owner_of(actor: &Actor) -> Owner {
    Owner::from_tenant(actor.tenant_id)
}

fn manager(actor: &Actor, what: &str) -> Result<Owner> {
    actor.require(Permission::ApiKeysManage)?;
    actor.require_own_identity(what)?;
    Ok(owner_of(actor))
}

fn key_item(stored: &StoredApiKey) -> Result<store::Item> {
    let owner = Owner::from_tenant(stored.key.tenant_id);
    let mut item = Store::encode(&keys::api_key(owner, stored.key.id), "APIKEY", stored, Some(stored.key.version))
        .map_err(|e| Error::Internal(e.to_string()))?;
    let end = stored.key.revoked_at.map_or(stored.key.expires_at, |r| r.min(stored.key.expires_at));
    item.insert("ttl".into(), ttl_at(end + chrono::Duration::days(KEPT_AFTER_END_DAYS)));
    Ok(item)
}

async fn all_keys(app: &App, owner: Owner) -> Result<Vec<StoredApiKey>> {
    app.store.query_all(Query::table(keys::api_keys_pk(owner)), 1_000).await.or_500()
}

/// `POST /v1/api-keys`.
pub async fn create(app: &App, actor: &Actor, input: CreateApiKey) -> Result<CreatedApiKey> {
    let owner = manager(actor, "creating an API key")?;
    let now = app.now();
    let mut v = Validation::new();
    let grant = api_key::check_new_key(
        &mut v,
        &input.name,
        &input.abilities,
        actor.role,
        input.expires_at,
        input.requests_per_minute,
        now,
    );
    v.finish().map_err(Error::Validation)?;
    let existing = all_keys(app, owner).await?;
    if existing.iter().filter(|k| k.usable(now).is_ok()).count() >= api_key::MAX_KEYS {
        return Err(Error::Conflict {
            code: "api_key_limit",
            detail: format!("at most {} keys may be in use; revoke one first", api_key::MAX_KEYS),
            field: None,
        });
    }
    // The user it acts as: its creator, or the operator it is confined to.
    let (acts_as, role, scope) = match input.operator_id {
        None => (actor.user_id, actor.role, actor.scope.clone()),
        Some(op) => {
            let found = match actor.tenant_id {
                Some(tid) => load_user(app, Some(tid), op).await?,
                None => None,
            };
            match found {
                Some(u)
                    if u.user.role.is_scoped()
                        && u.user.status == UserStatus::Active
                        && !u.user.email.is_empty()
                        && actor.sees_scope(u.user.scope.as_deref()) =>
                {
                    (u.user.id, u.user.role, u.user.scope)
                }
                _ => return Err(Error::field("operator_id", "must be an active operator or sub-operator of yours")),
            }
        }
    };
    let id = ids::new_id();
    let secret = domain::crypto::random_token(32);
    let key = ApiKey {
        id,
        tenant_id: actor.tenant_id,
        name: input.name.trim().to_string(),
        abilities: grant.abilities.iter().map(|p| p.as_str().to_string()).collect(),
        operator_id: input.operator_id,
        requests_per_minute: input.requests_per_minute,
        hint: secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect(),
        created_by: actor.real_actor(),
        created_at: now,
        expires_at: input.expires_at.unwrap_or_else(|| api_key::default_expiry(now)),
        last_used_at: None,
        revoked_at: None,
        revoked_by: None,
        version: 1,
    };
    let stored = StoredApiKey {
        key: key.clone(),
        secret_fingerprint: domain::crypto::b64url_encode(&app.fingerprint.sign(secret.as_bytes())),
        acts_as,
        role,
        scope,
        reseller_id: actor.reseller_id,
    };
    let mut tx = Tx::new();
    tx.put_new(key_item(&stored)?, Conflict::Exists);
    tx.put_audit(&audit(
        actor,
        actor.tenant_id,
        Audited {
            action: "api_key.created",
            entity: "api_key",
            id: id.to_string(),
            before: None,
            after: Some(snapshot(&key)),
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(CreatedApiKey { key, secret: PresentedKey::format(actor.tenant_id, id, &secret) })
}

/// `GET /v1/api-keys`: every key, in use or ended (an ended one is kept 90 days), newest first.
pub async fn list(app: &App, actor: &Actor) -> Result<Vec<ApiKey>> {
    let owner = manager(actor, "managing API keys")?;
    let mut keys: Vec<ApiKey> = all_keys(app, owner).await?.into_iter().map(|s| s.key).collect();
    keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    Ok(keys)
}

async fn load(app: &App, actor: &Actor, id: Uuid) -> Result<StoredApiKey> {
    let owner = manager(actor, "managing API keys")?;
    app.store.get(&keys::api_key(owner, id)).await.or_500()?.ok_or_else(|| Error::not_found("API key"))
}

/// `GET /v1/api-keys/{id}`.
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Result<ApiKey> {
    Ok(load(app, actor, id).await?.key)
}

/// The transaction of a change to a key: the key as it was read (versioned) and its audit entry.
fn changed(actor: &Actor, action: &str, before: &StoredApiKey, after: &StoredApiKey, now: DateTime<Utc>) -> Result<Tx> {
    let mut tx = Tx::new();
    tx.put_versioned(key_item(after)?, before.key.version);
    tx.put_audit(&audit(
        actor,
        actor.tenant_id,
        Audited {
            action,
            entity: "api_key",
            id: after.key.id.to_string(),
            before: Some(snapshot(&before.key)),
            after: Some(snapshot(&after.key)),
        },
        now,
    ));
    Ok(tx)
}

/// `PATCH /v1/api-keys/{id}`: renames it, changes its abilities (each one of the caller's own
/// rights) or its limit; a revoked key is not changed (409).
pub async fn update(app: &App, actor: &Actor, id: Uuid, input: UpdateApiKey, if_match: Option<u64>) -> Result<ApiKey> {
    let before = load(app, actor, id).await?;
    let expected = kernel::support::expected_version(if_match, input.version)?;
    let now = app.now();
    let mut after = before.clone();
    let mut v = Validation::new();
    let abilities = input.abilities.clone().unwrap_or_else(|| before.key.abilities.clone());
    let limit = match input.requests_per_minute {
        domain::patch::Patch::Absent => before.key.requests_per_minute,
        domain::patch::Patch::Null => None,
        domain::patch::Patch::Set(n) => Some(n),
    };
    let name = input.name.clone().unwrap_or_else(|| before.key.name.clone());
    let grant = api_key::check_new_key(&mut v, &name, &abilities, actor.role, None, limit, now);
    v.finish().map_err(Error::Validation)?;
    if before.key.revoked_at.is_some() {
        return Err(Error::Conflict {
            code: "api_key_revoked",
            detail: "a revoked key does not change".into(),
            field: None,
        });
    }
    if before.key.version != expected {
        return Err(Error::version_conflict());
    }
    after.key.name = name.trim().to_string();
    after.key.abilities = grant.abilities.iter().map(|p| p.as_str().to_string()).collect();
    after.key.requests_per_minute = limit;
    after.key.version += 1;
    app.store.commit(changed(actor, "api_key.updated", &before, &after, now)?).await.or_500()?;
    Ok(after.key)
}

/// `DELETE /v1/api-keys/{id}`: revokes the key; its next call is refused. Revoking a revoked key
/// changes nothing.
pub async fn revoke(app: &App, actor: &Actor, id: Uuid) -> Result<ApiKey> {
    let before = load(app, actor, id).await?;
    if before.key.revoked_at.is_some() {
        return Ok(before.key);
    }
    let now = app.now();
    let mut after = before.clone();
    after.key.revoked_at = Some(now);
    after.key.revoked_by = Some(actor.real_actor());
    after.key.version += 1;
    match app.store.commit(changed(actor, "api_key.revoked", &before, &after, now)?).await {
        Ok(()) => Ok(after.key),
        // Revoked at the same moment by someone else: revoked either way.
        Err(store::StoreError::Conflict(Conflict::Version)) => Ok(load(app, actor, id).await?.key),
        Err(e) => Err(kernel::support::store_err(e)),
    }
}
