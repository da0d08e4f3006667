//! Staff authentication: login with lockout, rotating refresh tokens with reuse detection, logout,
//! password change and reset, and audited impersonation.

use crate::users::{LoginPointer, UserRecord, load_user, user_item};
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::auth::{
    ACCESS_TOKEN_TTL, LOCKOUT, LoginGuard, MAX_FAILED_LOGINS, PASSWORD_RESET_TTL, REFRESH_TOKEN_TTL,
    burn_password_check, hash_password, verify_password,
};
use domain::crypto::{b64url_decode, b64url_encode, random_token, sha256_hex};
use domain::event::{DomainEvent, IdentityEvent, PasswordResetRequested as PasswordResetRequestedPayload};
use domain::platform::PlatformReseller;
use domain::rate::RateLimit;
use domain::role::{Permission, Role};
use domain::tenant::{Tenant, TenantStatus};
use domain::user::{User, UserStatus};
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::support::{Audited, StoreResultExt, attr, audit, store_err};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use store::{Conflict, Store, StoreError, Tx, keys, ttl_at};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    pub token: String,
    pub new_password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpersonateRequest {
    pub user_id: Uuid,
    /// The ISP of the user; omitted for a platform reseller's user.
    pub tenant_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImpersonationToken {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub acting_as: User,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: User,
    pub tenant: Option<Tenant>,
    pub permissions: Vec<String>,
    /// Set when the token is an impersonation: the real person.
    pub impersonator_id: Option<Uuid>,
}

/// A refresh-token family: one login's chain of rotated refresh tokens (a staff user's, or a
/// subscriber's portal login).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshFamily {
    pub family_id: Uuid,
    /// The user, or for a portal login the customer.
    pub user_id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub reseller_id: Option<Uuid>,
    pub generation: u32,
    /// The user's session epoch when the family began.
    #[serde(default)]
    pub epoch: u32,
    /// A subscriber's portal login (its token works only on the portal's refresh).
    #[serde(default)]
    pub customer: bool,
    token_hash: String,
    revoked: bool,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// A pending password reset; the token is kept only hashed (to check) and sealed (to deliver).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordReset {
    pub id: Uuid,
    pub user_id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub email: String,
    pub name: String,
    pub token_hash: String,
    pub sealed_token: String,
    pub expires_at: DateTime<Utc>,
    /// The user's session epoch when the code was made: a code of an older epoch is dead.
    #[serde(default)]
    pub epoch: u32,
}

fn normalise_email(e: &str) -> String {
    e.trim().to_lowercase()
}

fn refresh_token_for(app: &App, family: Uuid, generation: u32) -> String {
    let body = format!("{family}.{generation}");
    format!("{body}.{}", b64url_encode(&app.refresh_signer.sign(body.as_bytes())))
}

fn parse_refresh_token(app: &App, token: &str) -> Result<(Uuid, u32)> {
    let bad = || Error::Unauthorized { code: "invalid_refresh_token", detail: "the refresh token is not valid".into() };
    let mut parts = token.trim().splitn(3, '.');
    let (Some(f), Some(g), Some(sig)) = (parts.next(), parts.next(), parts.next()) else { return Err(bad()) };
    let sig = b64url_decode(sig).ok_or_else(bad)?;
    if !app.refresh_signer.verify(format!("{f}.{g}").as_bytes(), &sig) {
        return Err(bad());
    }
    Ok((f.parse().map_err(|_| bad())?, g.parse().map_err(|_| bad())?))
}

fn family_item(f: &RefreshFamily) -> Result<store::Item> {
    let mut item = Store::encode(&keys::refresh_family(f.family_id), "SESSION", f, None).or_500()?;
    item.insert("ttl".into(), ttl_at(f.expires_at));
    Ok(item)
}

/// Loads a user with its ISP and platform reseller (one BatchGetItem).
async fn load_session_subject(
    app: &App,
    tenant_id: Option<Uuid>,
    reseller_id: Option<Uuid>,
    user_id: Uuid,
) -> Result<(UserRecord, Option<Tenant>, Option<PlatformReseller>)> {
    let (user, tenant, reseller) = load_subject(app, tenant_id, reseller_id, Some(user_id)).await?;
    Ok((user.ok_or_else(Error::invalid_credentials)?, tenant, reseller))
}

/// The user (if named), its ISP and its platform reseller: whichever are asked for, in one BatchGetItem.
async fn load_subject(
    app: &App,
    tenant_id: Option<Uuid>,
    reseller_id: Option<Uuid>,
    user_id: Option<Uuid>,
) -> Result<(Option<UserRecord>, Option<Tenant>, Option<PlatformReseller>)> {
    let uk = keys::user(tenant_id, user_id.unwrap_or_default());
    let tk = keys::tenant(tenant_id.unwrap_or_default(), None);
    let rk = keys::platform_reseller(reseller_id.unwrap_or_default());
    let mut wanted = vec![];
    if user_id.is_some() {
        wanted.push(&uk);
    }
    if tenant_id.is_some() {
        wanted.push(&tk);
    }
    if reseller_id.is_some() {
        wanted.push(&rk);
    }
    if wanted.is_empty() {
        return Ok((None, None, None));
    }
    let mut got = app.store.batch_get(&wanted).await.or_500()?.into_iter();
    let mut next = |asked: bool| if asked { got.next().flatten() } else { None };
    let user: Option<UserRecord> = next(user_id.is_some()).map(Store::decode).transpose().or_500()?;
    let tenant: Option<Tenant> = next(tenant_id.is_some()).map(Store::decode).transpose().or_500()?;
    let reseller: Option<PlatformReseller> = next(reseller_id.is_some()).map(Store::decode).transpose().or_500()?;
    Ok((user, tenant, reseller))
}

fn check_may_work(
    app: &App,
    user: &UserRecord,
    tenant: Option<&Tenant>,
    reseller: Option<&PlatformReseller>,
) -> Result<()> {
    if user.user.status != UserStatus::Active || user.user.email.is_empty() {
        return Err(Error::Forbidden { code: "account_disabled", detail: "this account is disabled".into() });
    }
    if let Some(t) = tenant
        && t.status == TenantStatus::Suspended
    {
        return Err(Error::Forbidden { code: "tenant_suspended", detail: "this ISP is suspended".into() });
    }
    if user.user.tenant_id.is_some()
        && let Some(r) = reseller
        && r.is_expired(app.now())
    {
        return Err(Error::Forbidden {
            code: "subscription_expired",
            detail: "the platform subscription of this ISP has expired".into(),
        });
    }
    Ok(())
}

fn actor_of(user: &User) -> Actor {
    Actor {
        user_id: user.id,
        tenant_id: user.tenant_id,
        reseller_id: user.reseller_id,
        role: user.role,
        scope: user.scope.clone(),
        impersonator_id: None,
        key: None,
    }
}

/// Starts a new refresh family in `tx` and returns the token pair it stands for.
fn stage_session(app: &App, tx: &mut Tx, user: &UserRecord, reseller: Option<&PlatformReseller>) -> Result<TokenPair> {
    let u = &user.user;
    let refresh = stage_family(app, tx, u.id, u.tenant_id, u.reseller_id, user.session_epoch, false)?;
    Ok(token_pair(app, u, reseller, refresh))
}

/// Starts a refresh family in `tx` for a staff user or (`customer`) a subscriber's portal login,
/// and returns its first refresh token.
pub fn stage_family(
    app: &App,
    tx: &mut Tx,
    user_id: Uuid,
    tenant_id: Option<Uuid>,
    reseller_id: Option<Uuid>,
    epoch: u32,
    customer: bool,
) -> Result<String> {
    let now = app.now();
    let family = RefreshFamily {
        family_id: ids::new_id(),
        user_id,
        tenant_id,
        reseller_id,
        generation: 0,
        epoch,
        customer,
        token_hash: String::new(),
        revoked: false,
        created_at: now,
        expires_at: now + REFRESH_TOKEN_TTL,
    };
    let refresh = refresh_token_for(app, family.family_id, 0);
    let family = RefreshFamily { token_hash: sha256_hex(refresh.as_bytes()), ..family };
    tx.put_new(family_item(&family)?, Conflict::Exists);
    Ok(refresh)
}

/// An access token for `user` (carrying its reseller's subscription end) with a refresh token.
fn token_pair(app: &App, user: &User, reseller: Option<&PlatformReseller>, refresh_token: String) -> TokenPair {
    TokenPair {
        access_token: app.tokens.issue(&actor_of(user), reseller.map(|r| r.subscription_expires_at), app.now()),
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: ACCESS_TOKEN_TTL.num_seconds(),
    }
}

/// Counts one login attempt for `email` before its password is checked, atomically: at most
/// [`MAX_FAILED_LOGINS`] attempts since the last success are ever checked, however many arrive at
/// once; the rest are refused as locked until [`LOCKOUT`] after the last counted one.
async fn count_attempt(app: &App, email: &str) -> Result<()> {
    count_attempt_at(app, &keys::login_guard(email)).await
}

/// As [`count_attempt`], on the guard item `gk` (a subscriber's portal login has its own).
pub async fn count_attempt_at(app: &App, gk: &store::ItemKeys) -> Result<()> {
    let gk = gk.clone();
    for _ in 0..3 {
        let now = app.now();
        let take = app
            .store
            .update(&gk)
            .update_expression(
                "SET failed = if_not_exists(failed, :zero) + :one, last_at = :now, #ttl = :ttl, #type = :type",
            )
            .condition_expression("attribute_not_exists(failed) OR failed < :max")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_names("#type", "type")
            .expression_attribute_values(":zero", attr(&0u32))
            .expression_attribute_values(":one", attr(&1u32))
            .expression_attribute_values(":max", attr(&MAX_FAILED_LOGINS))
            .expression_attribute_values(":now", attr(&now))
            .expression_attribute_values(":ttl", ttl_at(now + chrono::Duration::days(1)))
            .expression_attribute_values(":type", attr(&"GUARD"));
        match app.store.send_update(take).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(store_err(e)),
        }
        // The attempts are used up: locked, unless the lock has run out (then a new count starts,
        // once: of two concurrent restarts one wins, the other counts on top of it).
        let guard: LoginGuard = app.store.get(&gk).await.or_500()?.unwrap_or_default();
        if let Some(left) = guard.locked_for(now) {
            return Err(locked_error(left));
        }
        if guard.lock_ran_out(now) {
            let restart = app
                .store
                .update(&gk)
                .update_expression("SET failed = :zero")
                .condition_expression("last_at = :seen AND failed >= :max")
                .expression_attribute_values(":zero", attr(&0u32))
                .expression_attribute_values(":seen", attr(&guard.last_at))
                .expression_attribute_values(":max", attr(&MAX_FAILED_LOGINS));
            match app.store.send_update(restart).await {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(store_err(e)),
            }
        }
    }
    Err(locked_error(LOCKOUT))
}

fn locked_error(left: chrono::Duration) -> Error {
    Error::TooManyRequests {
        code: "account_locked",
        detail: "too many failed logins; try again later".into(),
        retry_after_secs: left.num_seconds().max(1) as u64,
    }
}

/// `POST /v1/auth/login`. Unknown e-mail and wrong password answer alike and do the same work (the
/// same DynamoDB requests and one Argon2 verification), so neither the answer nor its time tells
/// whether an account exists. Each attempt is counted before its password is checked; five
/// attempts without a success lock the address for 15 minutes, whether or not an account has it.
pub async fn login(app: &App, input: LoginRequest, source: Option<&str>) -> Result<TokenPair> {
    let email = normalise_email(&input.email);
    if email.is_empty() || email.len() > 254 || input.password.is_empty() || input.password.len() > 1024 {
        return Err(Error::invalid_credentials());
    }
    let limits = kernel::gate::limits(app, None).await?;
    count_from_source(app, &limits.logins_per_source(), source).await?;
    count_attempt(app, &email).await?;
    let pointer: Option<LoginPointer> = app.store.get(&keys::login(&email)).await.or_500()?;
    let subject = match &pointer {
        Some(p) => load_subject(app, p.tenant_id, p.reseller_id, Some(p.user_id)).await?,
        // The same read as for a real account, of keys that do not exist.
        None => load_subject(app, Some(Uuid::nil()), Some(Uuid::nil()), Some(Uuid::nil())).await?,
    };
    let (Some(user), tenant, reseller) = subject else {
        burn_password_check(&input.password);
        return Err(Error::invalid_credentials());
    };
    if pointer.is_none() || !verify_password(&input.password, &user.password_hash) {
        return Err(Error::invalid_credentials());
    }
    check_may_work(app, &user, tenant.as_ref(), reseller.as_ref())?;
    let mut tx = Tx::new();
    let pair = stage_session(app, &mut tx, &user, reseller.as_ref())?;
    tx.delete(&keys::login_guard(&email));
    app.store.commit(tx).await.or_500()?;
    Ok(pair)
}

async fn revoke_family(app: &App, family: Uuid) -> Result<()> {
    app.store
        .send_update(
            app.store
                .update(&keys::refresh_family(family))
                .update_expression("SET revoked = :t")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":t", attr(&true)),
        )
        .await
        .or_else(|e| match e {
            StoreError::Conflict(_) => Ok(()),
            e => Err(store_err(e)),
        })
}

/// `POST /v1/auth/refresh`. Rotates: the presented token dies and a new one is issued. Presenting an
/// already rotated token (a stolen copy, or the legitimate one after theft) revokes the whole family.
pub async fn refresh(app: &App, input: RefreshRequest) -> Result<TokenPair> {
    let family = open_family(app, &input.refresh_token, false).await?;
    let (user, tenant, reseller) =
        load_session_subject(app, family.tenant_id, family.reseller_id, family.user_id).await?;
    if family.epoch != user.session_epoch {
        return Err(invalid_refresh());
    }
    check_may_work(app, &user, tenant.as_ref(), reseller.as_ref())?;
    let token = rotate_family(app, &family).await?;
    Ok(token_pair(app, &user.user, reseller.as_ref(), token))
}

fn invalid_refresh() -> Error {
    Error::Unauthorized { code: "invalid_refresh_token", detail: "the refresh token is not valid".into() }
}

fn reused_refresh() -> Error {
    Error::Unauthorized { code: "refresh_token_reused", detail: "the refresh token was already used".into() }
}

/// The live family a refresh token belongs to (of the kind asked for). A token already rotated
/// revokes its family.
pub async fn open_family(app: &App, refresh_token: &str, customer: bool) -> Result<RefreshFamily> {
    let (family_id, generation) = parse_refresh_token(app, refresh_token)?;
    let now = app.now();
    let family: RefreshFamily =
        app.store.get(&keys::refresh_family(family_id)).await.or_500()?.ok_or_else(invalid_refresh)?;
    if family.revoked || family.expires_at <= now || family.customer != customer {
        return Err(invalid_refresh());
    }
    if generation != family.generation || sha256_hex(refresh_token.trim().as_bytes()) != family.token_hash {
        revoke_family(app, family_id).await?;
        return Err(reused_refresh());
    }
    Ok(family)
}

/// Moves `family` on by one token and returns it; a concurrent rotation of the same token is reuse.
pub async fn rotate_family(app: &App, family: &RefreshFamily) -> Result<String> {
    let next_gen = family.generation + 1;
    let token = refresh_token_for(app, family.family_id, next_gen);
    let mut tx = Tx::new();
    tx.update(
        &keys::refresh_family(family.family_id),
        "SET generation = :next, token_hash = :hash",
        Some("generation = :gen AND revoked = :f"),
        &[],
        HashMap::from([
            (":next".to_string(), attr(&next_gen)),
            (":hash".to_string(), attr(&sha256_hex(token.as_bytes()))),
            (":gen".to_string(), attr(&family.generation)),
            (":f".to_string(), attr(&false)),
        ]),
        Conflict::Version,
    );
    match app.store.commit(tx).await {
        Ok(()) => Ok(token),
        Err(StoreError::Conflict(_)) => {
            // Someone rotated this same token a moment ago: that is reuse.
            revoke_family(app, family.family_id).await?;
            Err(reused_refresh())
        }
        Err(e) => Err(store_err(e)),
    }
}

/// `POST /v1/auth/logout`: the refresh family is revoked (access tokens run out within 15 minutes).
pub async fn logout(app: &App, input: RefreshRequest) -> Result<()> {
    let (family_id, _) = parse_refresh_token(app, &input.refresh_token)?;
    revoke_family(app, family_id).await
}

pub async fn me(app: &App, actor: &Actor) -> Result<Me> {
    let (user, tenant, _) =
        load_session_subject(app, actor.tenant_id, None, actor.user_id).await.map_err(|_| Error::not_found("user"))?;
    Ok(Me {
        user: user.user,
        tenant,
        permissions: actor
            .role
            .permissions()
            .iter()
            .filter(|p| actor.can(**p))
            .map(|p| p.as_str().to_string())
            .collect(),
        impersonator_id: actor.impersonator_id,
    })
}

/// `POST /v1/auth/password`: needs the current password; every other session ends, and the caller
/// gets a fresh pair.
pub async fn change_password(app: &App, actor: &Actor, input: ChangePasswordRequest) -> Result<TokenPair> {
    if actor.impersonator_id.is_some() {
        return Err(Error::forbidden("a password is not changed while impersonating"));
    }
    let mut v = Validation::new();
    v.password("new_password", &input.new_password);
    v.finish()?;
    let (before, _, reseller) = load_session_subject(app, actor.tenant_id, actor.reseller_id, actor.user_id).await?;
    if !verify_password(&input.current_password, &before.password_hash) {
        return Err(Error::field("current_password", "is wrong"));
    }
    if input.current_password == input.new_password {
        return Err(Error::field("new_password", "must differ from the current password"));
    }
    let now = app.now();
    let mut after = before.clone();
    after.password_hash = hash_password(&input.new_password);
    after.session_epoch += 1;
    after.user.version += 1;
    after.user.updated_at = now;
    let mut tx = Tx::new();
    tx.put_versioned(user_item(&after)?, before.user.version);
    let pair = stage_session(app, &mut tx, &after, reseller.as_ref())?;
    tx.put_audit(&audit(
        actor,
        actor.tenant_id,
        Audited {
            action: "user.password_changed",
            entity: "user",
            id: actor.user_id.to_string(),
            before: None,
            after: None,
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        IdentityEvent::PasswordChanged,
        actor.tenant_id,
        serde_json::json!({"user_id": actor.user_id, "version": after.user.version}),
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(pair)
}

/// `POST /v1/auth/password-reset`: accepted alike for any address, doing the same work whether or
/// not it has an account: the request is counted (per address and per source address, 429 past
/// either limit) and handed on as an event; the notification worker looks the address up and, for
/// an active account, sends a single-use code valid for 30 minutes.
pub async fn request_password_reset(app: &App, input: PasswordResetRequest, source: Option<&str>) -> Result<()> {
    let email = normalise_email(&input.email);
    if email.is_empty() || email.len() > 254 || !email.contains('@') {
        return Ok(());
    }
    let now = app.now();
    let mut tx = Tx::new();
    let settings = kernel::gate::limits(app, None).await?;
    let mut limits = vec![(settings.resets_per_address(), sha256_hex(email.as_bytes()))];
    if let Some(ip) = source.map(str::trim).filter(|s| !s.is_empty()) {
        limits.push((settings.resets_per_source(), sha256_hex(ip.as_bytes())));
    }
    let detail = PasswordResetRequestedPayload { email, requested_at: now };
    tx.put_event(&DomainEvent::new(
        IdentityEvent::PasswordResetRequested,
        None,
        serde_json::to_value(&detail).map_err(|e| Error::Internal(e.to_string()))?,
        now,
    ));
    let refused = ("too_many_reset_requests", "too many password reset requests; try again later");
    commit_counted(app, tx, &limits, refused, now).await
}

/// Commits `tx` with one count against each of `limits` (limit, subject) in it: a full window
/// refuses the whole request (429 `refused`, `Retry-After` to the window's end), nothing written.
pub async fn commit_counted(
    app: &App,
    mut tx: Tx,
    limits: &[(RateLimit, String)],
    refused: (&'static str, &str),
    now: DateTime<Utc>,
) -> Result<()> {
    for (limit, subject) in limits {
        stage_rate_count(&mut tx, limit, subject, now);
    }
    match app.store.commit(tx).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(Conflict::Limit(name))) => {
            let limit = limits.iter().map(|(l, _)| l).find(|l| l.name == name).unwrap_or(&limits[0].0);
            Err(Error::TooManyRequests {
                code: refused.0,
                detail: refused.1.into(),
                retry_after_secs: (limit.window(now).1 - now).num_seconds().max(1) as u64,
            })
        }
        Err(e) => Err(store_err(e)),
    }
}

/// Counts a login attempt from a source address (hashed) against `limit`, on its own: 429 once the
/// window's attempts are used up, whatever account they name. No address (a call that did not come
/// through API Gateway) counts nothing.
pub async fn count_from_source(app: &App, limit: &RateLimit, source: Option<&str>) -> Result<()> {
    let Some(ip) = source.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(()) };
    let now = app.now();
    let (start, end) = limit.window(now);
    let update = app
        .store
        .update(&keys::rate_window(limit.name, &sha256_hex(ip.as_bytes()), start.timestamp()))
        .update_expression("ADD n :one SET #ttl = :ttl, #type = :type")
        .condition_expression("attribute_not_exists(n) OR n < :max")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_names("#type", "type")
        .expression_attribute_values(":one", attr(&1u32))
        .expression_attribute_values(":max", attr(&limit.max))
        .expression_attribute_values(":ttl", ttl_at(end + chrono::Duration::hours(1)))
        .expression_attribute_values(":type", attr(&"RATE"));
    match app.store.send_update(update).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(_)) => Err(Error::TooManyRequests {
            code: "too_many_logins_from_address",
            detail: "too many login attempts from this address; try again later".into(),
            retry_after_secs: (end - now).num_seconds().max(1) as u64,
        }),
        Err(e) => Err(store_err(e)),
    }
}

/// Counts one request against `limit` for `subject` in the transaction; a full window fails it as
/// `Conflict::Limit(limit.name)`.
fn stage_rate_count(tx: &mut Tx, limit: &RateLimit, subject: &str, now: DateTime<Utc>) {
    let (start, end) = limit.window(now);
    tx.update(
        &keys::rate_window(limit.name, subject, start.timestamp()),
        "ADD n :one SET #ttl = :ttl, #type = :type",
        Some("attribute_not_exists(n) OR n < :max"),
        &[("#ttl", "ttl"), ("#type", "type")],
        HashMap::from([
            (":one".to_string(), attr(&1u32)),
            (":max".to_string(), attr(&limit.max)),
            (":ttl".to_string(), ttl_at(end + chrono::Duration::hours(1))),
            (":type".to_string(), attr(&"RATE")),
        ]),
        Conflict::Limit(limit.name.to_string()),
    );
}

/// For the notification worker: the reset a `PasswordResetRequested` event asks for, and its code.
/// `None` when the address has no active account or the request is older than the code's life.
/// The reset's id comes from the event's, so a redelivered event finds the same code again.
pub async fn issue_password_reset(
    app: &App,
    event_id: Uuid,
    request: &PasswordResetRequestedPayload,
) -> Result<Option<(PasswordReset, String)>> {
    let expires_at = request.requested_at + PASSWORD_RESET_TTL;
    if expires_at <= app.now() {
        return Ok(None);
    }
    let id = ids::derived_id(request.requested_at, &format!("password-reset:{event_id}"));
    let k = keys::password_reset(id);
    if let Some(reset) = app.store.get::<PasswordReset>(&k).await.or_500()? {
        return open_reset(app, reset, &k).map(Some);
    }
    let email = normalise_email(&request.email);
    let Some(pointer) = app.store.get::<LoginPointer>(&keys::login(&email)).await.or_500()? else { return Ok(None) };
    let Some(user) = load_user(app, pointer.tenant_id, pointer.user_id).await? else { return Ok(None) };
    if user.user.status != UserStatus::Active || user.user.email != email {
        return Ok(None);
    }
    let secret = random_token(32);
    let token = format!("{id}.{secret}");
    let reset = PasswordReset {
        id,
        user_id: user.user.id,
        tenant_id: user.user.tenant_id,
        email,
        name: user.user.name.clone(),
        token_hash: sha256_hex(token.as_bytes()),
        sealed_token: app.secrets.seal(token.as_bytes(), k.pk.as_bytes()),
        expires_at,
        epoch: user.session_epoch,
    };
    let mut item = Store::encode(&k, "PWRESET", &reset, None).or_500()?;
    item.insert("ttl".into(), ttl_at(reset.expires_at));
    let mut tx = Tx::new();
    tx.put_new(item, Conflict::Exists);
    match app.store.commit(tx).await {
        Ok(()) => Ok(Some((reset, token))),
        // A copy of the same event got there first: deliver what it stored.
        Err(StoreError::Conflict(Conflict::Exists)) => {
            let reset = app
                .store
                .get::<PasswordReset>(&k)
                .await
                .or_500()?
                .ok_or_else(|| Error::Internal("a password reset vanished after its creation clashed".into()))?;
            open_reset(app, reset, &k).map(Some)
        }
        Err(e) => Err(store_err(e)),
    }
}

fn open_reset(app: &App, reset: PasswordReset, k: &store::ItemKeys) -> Result<(PasswordReset, String)> {
    let token = app.secrets.open(&reset.sealed_token, k.pk.as_bytes()).map_err(|e| Error::Internal(e.to_string()))?;
    Ok((reset, String::from_utf8(token).map_err(|e| Error::Internal(e.to_string()))?))
}

/// `POST /v1/auth/password-reset/confirm`: the token works once, within 30 minutes; it ends every
/// session and lifts a login lock.
pub async fn confirm_password_reset(app: &App, input: PasswordResetConfirm) -> Result<()> {
    let invalid = || Error::BadRequest {
        code: "invalid_reset_token",
        detail: "the reset token is invalid or has expired".into(),
    };
    let mut v = Validation::new();
    v.password("new_password", &input.new_password);
    v.finish()?;
    let id: Uuid = input.token.split('.').next().and_then(|s| s.parse().ok()).ok_or_else(invalid)?;
    let now = app.now();
    let k = keys::password_reset(id);
    let reset: PasswordReset = app.store.get(&k).await.or_500()?.ok_or_else(invalid)?;
    if reset.expires_at <= now || sha256_hex(input.token.trim().as_bytes()) != reset.token_hash {
        return Err(invalid());
    }
    let before = load_user(app, reset.tenant_id, reset.user_id).await?.ok_or_else(invalid)?;
    // A password change, an earlier reset, a disable or a deletion since the code was made ended
    // every session, and every outstanding code with them.
    if reset.epoch != before.session_epoch || before.user.status != UserStatus::Active {
        return Err(invalid());
    }
    let mut after = before.clone();
    after.password_hash = hash_password(&input.new_password);
    after.session_epoch += 1;
    after.user.version += 1;
    after.user.updated_at = now;
    let mut tx = Tx::new();
    tx.delete_existing(&k, Conflict::Missing);
    tx.put_versioned(user_item(&after)?, before.user.version);
    tx.delete(&keys::login_guard(&reset.email));
    let self_actor = actor_of(&before.user);
    tx.put_audit(&audit(
        &self_actor,
        reset.tenant_id,
        Audited {
            action: "user.password_reset",
            entity: "user",
            id: reset.user_id.to_string(),
            before: None,
            after: None,
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        IdentityEvent::PasswordResetCompleted,
        reset.tenant_id,
        serde_json::json!({"user_id": reset.user_id, "version": after.user.version}),
        now,
    ));
    match app.store.commit(tx).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(Conflict::Missing)) => Err(invalid()),
        Err(e) => Err(store_err(e)),
    }
}

/// `POST /v1/impersonate`: the owner may act as anyone below it, a platform reseller as its ISPs'
/// staff. The token (no refresh) names the real person, and every write made with it is audited
/// with both.
pub async fn impersonate(app: &App, actor: &Actor, input: ImpersonateRequest) -> Result<ImpersonationToken> {
    actor.require(Permission::Impersonate)?;
    if actor.impersonator_id.is_some() {
        return Err(Error::forbidden("impersonation cannot be nested"));
    }
    let not_found = || Error::not_found("user");
    let target = load_user(app, input.tenant_id, input.user_id).await?.ok_or_else(not_found)?;
    // The user is in hand; only its ISP and reseller are still needed.
    let (_, tenant, reseller) = load_subject(app, target.user.tenant_id, target.user.reseller_id, None).await?;
    let allowed = match actor.role {
        Role::Developer => target.user.role != Role::Developer,
        Role::SuperAdmin => {
            target.user.tenant_id.is_some()
                && tenant.as_ref().is_some_and(|t| t.reseller_id.is_some() && t.reseller_id == actor.reseller_id)
        }
        _ => false,
    };
    if !allowed || target.user.email.is_empty() {
        return Err(not_found());
    }
    if target.user.status != UserStatus::Active {
        return Err(Error::Forbidden { code: "account_disabled", detail: "the user is disabled".into() });
    }
    let now = app.now();
    let acting = Actor { impersonator_id: Some(actor.user_id), ..actor_of(&target.user) };
    let token = app.tokens.issue(&acting, reseller.as_ref().map(|r| r.subscription_expires_at), now);
    let mut tx = Tx::new();
    tx.put_audit(&audit(
        &acting,
        target.user.tenant_id,
        Audited {
            action: "impersonation.started",
            entity: "user",
            id: target.user.id.to_string(),
            before: None,
            after: None,
        },
        now,
    ));
    if let Some(tid) = target.user.tenant_id {
        // The platform's own log too: the ISP's log is the ISP's to read, not the platform's.
        tx.put_audit(&audit(
            &acting,
            None,
            Audited {
                action: "impersonation.started",
                entity: "user",
                id: target.user.id.to_string(),
                before: None,
                after: Some(serde_json::json!({"tenant_id": tid, "role": target.user.role, "name": target.user.name})),
            },
            now,
        ));
    }
    tx.put_event(&DomainEvent::new(
        IdentityEvent::ImpersonationStarted,
        target.user.tenant_id,
        serde_json::json!({"user_id": target.user.id, "impersonator_id": actor.user_id}),
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(ImpersonationToken {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: ACCESS_TOKEN_TTL.num_seconds(),
        acting_as: target.user,
    })
}
