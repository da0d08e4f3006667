//! Subscriber login within an ISP: username or phone and password (Argon2id, the staff lockout),
//! sessions on the same rotating refresh tokens as staff, password change by the subscriber and
//! set or reset by staff. One active session per customer when the ISP asks for it.

use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::auth::{ACCESS_TOKEN_TTL, burn_password_check, hash_password, verify_password};
use domain::crypto::sha256_hex;
use domain::portal::{LoginName, Subscriber, login_name};
use domain::role::Permission;
use domain::tenant::Tenant;
use domain::{Error, Result, Validation};
use identity::auth::{RefreshRequest, TokenPair};
use kernel::App;
use kernel::support::{Audited, StoreResultExt, audit, decoded, tenant_of};
use serde::{Deserialize, Serialize};
use store::{Conflict, Store, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalLoginRequest {
    /// The subscriber's portal username or phone number.
    pub login: String,
    pub password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalCodeRequest {
    /// The subscriber's portal username or phone number.
    pub login: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalCodeLogin {
    pub login: String,
    /// The code the SMS carried.
    pub code: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalPasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPortalPassword {
    pub password: String,
}

/// A subscriber's portal login as stored (beside the profile, never in an answer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PortalLogin {
    pub customer_id: Uuid,
    pub tenant_id: Uuid,
    pub password_hash: Option<String>,
    /// Raised by a password change or reset, and by a login when the ISP allows one session: older
    /// sessions' refresh tokens stop working.
    pub session_epoch: u32,
    pub password_set_at: Option<DateTime<Utc>>,
    pub version: u64,
}

impl PortalLogin {
    fn new(s: Subscriber) -> Self {
        Self {
            customer_id: s.customer_id,
            tenant_id: s.tenant_id,
            password_hash: None,
            session_epoch: 0,
            password_set_at: None,
            version: 0,
        }
    }
}

/// What a portal login or refresh answers: the token pair and who it is for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PortalSession {
    #[serde(flatten)]
    pub tokens: TokenPair,
    pub customer_id: Uuid,
    pub tenant_id: Uuid,
}

fn login_item(l: &PortalLogin) -> Result<store::Item> {
    Store::encode(&keys::portal_login(l.tenant_id, l.customer_id), "PORTAL_LOGIN", l, Some(l.version)).or_500()
}

/// The actor a subscriber's token stands for (and the audit log names).
pub fn subscriber_actor(s: Subscriber) -> Actor {
    Actor::subscriber(s)
}

fn pair(app: &App, s: Subscriber, refresh_token: String) -> PortalSession {
    PortalSession {
        tokens: TokenPair {
            access_token: app.tokens.issue(&subscriber_actor(s), None, app.now()),
            refresh_token,
            token_type: "Bearer".into(),
            expires_in: ACCESS_TOKEN_TTL.num_seconds(),
        },
        customer_id: s.customer_id,
        tenant_id: s.tenant_id,
    }
}

/// The ISP a hotspot's login page sells for: found like a login's, and only while it is active.
pub async fn find_selling_isp(app: &App, host: Option<&str>, code: Option<&str>) -> Result<Tenant> {
    let tenant = find_isp(app, host, code).await?;
    if tenant.status != domain::tenant::TenantStatus::Active {
        return Err(Error::NotFound { detail: "this ISP sells nothing online now".into() });
    }
    Ok(tenant)
}

/// The ISP a portal request is for (its host or `X-ISP` code); 404 when none is.
pub async fn find_isp(app: &App, host: Option<&str>, code: Option<&str>) -> Result<Tenant> {
    let tid = kernel::tenancy::isp_by_host_or_code(app, host, code).await?.ok_or_else(|| Error::NotFound {
        detail: "no ISP serves this address; give its ISP code in the X-ISP header".into(),
    })?;
    tenant_of(app.store.get_item(&keys::tenant(tid, None)).await.or_500()?)
}

/// The live customer and its portal login (one BatchGetItem).
async fn load(app: &App, s: Subscriber) -> Result<(Option<domain::customer::Customer>, PortalLogin)> {
    let ck = keys::customer(s.tenant_id, s.customer_id, None);
    let lk = keys::portal_login(s.tenant_id, s.customer_id);
    let mut got = app.store.batch_get(&[&ck, &lk]).await.or_500()?.into_iter();
    let rec: Option<crm::customers::CustomerRecord> = decoded(got.next().flatten())?;
    let login: Option<PortalLogin> = decoded(got.next().flatten())?;
    Ok((rec.filter(|r| r.deleted_at.is_none()).map(|r| r.customer), login.unwrap_or_else(|| PortalLogin::new(s))))
}

fn guard_name(name: &LoginName) -> String {
    match name {
        LoginName::Phone(p) => sha256_hex(p.as_bytes()),
        LoginName::Username(u) => sha256_hex(u.as_bytes()),
    }
}

fn wrong() -> Error {
    Error::Unauthorized { code: "invalid_credentials", detail: "the login or password is wrong".into() }
}

/// `POST /v1/portal/auth/login`. An unknown login and a wrong password answer alike; five tries
/// without a success lock the login name for 15 minutes (429 with `Retry-After`).
pub async fn login(
    app: &App,
    tenant: &Tenant,
    input: PortalLoginRequest,
    source: Option<&str>,
) -> Result<PortalSession> {
    let name = login_name(&input.login, &tenant.country).ok_or_else(wrong)?;
    if input.password.is_empty() || input.password.len() > 1024 {
        return Err(wrong());
    }
    let limits = kernel::gate::limits(app, Some(tenant.id)).await?;
    identity::auth::count_from_source(app, &limits.portal_logins_per_source(), source).await?;
    let guard = keys::portal_login_guard(tenant.id, &guard_name(&name));
    identity::auth::count_attempt_at(app, &guard).await?;
    let customer_id = crm::login_codes::customer_named(app, tenant.id, &name).await?;
    let s = Subscriber { tenant_id: tenant.id, customer_id: customer_id.unwrap_or_else(Uuid::nil) };
    let (customer, login) = load(app, s).await?;
    let Some(hash) = login.password_hash.as_deref().filter(|_| customer.is_some()) else {
        burn_password_check(&input.password);
        return Err(wrong());
    };
    if !verify_password(&input.password, hash) {
        return Err(wrong());
    }
    let mut tx = Tx::new();
    let epoch = stage_new_session_epoch(&mut tx, tenant, login)?;
    let refresh = identity::auth::stage_family(app, &mut tx, s.customer_id, Some(s.tenant_id), None, epoch, true)?;
    tx.delete(&guard);
    app.store.commit(tx).await.or_500()?;
    Ok(pair(app, s, refresh))
}

/// With one session per customer a login raises the epoch (ending the others); it answers the
/// epoch the new session starts at.
fn stage_new_session_epoch(tx: &mut Tx, tenant: &Tenant, mut login: PortalLogin) -> Result<u32> {
    if tenant.portal.one_session_per_customer {
        let expected = login.version;
        login.session_epoch += 1;
        login.version += 1;
        tx.put_versioned(login_item(&login)?, expected);
    }
    Ok(login.session_epoch)
}

fn otp_allowed(tenant: &Tenant) -> Result<()> {
    if tenant.portal.otp_login {
        return Ok(());
    }
    Err(Error::Forbidden { code: "otp_login_disabled", detail: "this ISP's subscribers log in with a password".into() })
}

/// `POST /v1/portal/auth/code`: asks for a login code by SMS. Accepted alike for any login (the
/// notification worker decides whether it has a customer); 429 past 5 an hour for one login or 30
/// from one source address.
pub async fn request_code(app: &App, tenant: &Tenant, input: PortalCodeRequest, source: Option<&str>) -> Result<()> {
    otp_allowed(tenant)?;
    let Some(name) = login_name(&input.login, &tenant.country) else {
        return Err(Error::field("login", "give your username or phone number"));
    };
    let now = app.now();
    let mut tx = Tx::new();
    let settings = kernel::gate::limits(app, Some(tenant.id)).await?;
    let login_key = format!("{}:{}", tenant.id, guard_name(&name));
    let mut limits = vec![(settings.portal_codes_per_login(), sha256_hex(login_key.as_bytes()))];
    if let Some(ip) = source.map(str::trim).filter(|s| !s.is_empty()) {
        limits.push((settings.portal_codes_per_source(), sha256_hex(ip.as_bytes())));
    }
    tx.put_event(&crm::login_codes::request_event(tenant.id, &name, now)?);
    let refused = ("too_many_code_requests", "too many login codes asked for; try again later");
    identity::auth::commit_counted(app, tx, &limits, refused, now).await
}

/// `POST /v1/portal/auth/code/login`: logs in with a code from the SMS. Tries count on the same
/// lock as passwords, and each code takes at most 5; a code works once.
pub async fn login_with_code(
    app: &App,
    tenant: &Tenant,
    input: PortalCodeLogin,
    source: Option<&str>,
) -> Result<PortalSession> {
    otp_allowed(tenant)?;
    let invalid = || Error::Unauthorized { code: "invalid_code", detail: "the code is wrong or has expired".into() };
    let name = login_name(&input.login, &tenant.country).ok_or_else(invalid)?;
    let limits = kernel::gate::limits(app, Some(tenant.id)).await?;
    identity::auth::count_from_source(app, &limits.portal_logins_per_source(), source).await?;
    let guard = keys::portal_login_guard(tenant.id, &guard_name(&name));
    identity::auth::count_attempt_at(app, &guard).await?;
    let customer_id = crm::login_codes::customer_named(app, tenant.id, &name).await?.ok_or_else(invalid)?;
    let s = Subscriber { tenant_id: tenant.id, customer_id };
    let mut tx = Tx::new();
    crm::login_codes::check(app, tenant.id, customer_id, &input.code, &mut tx).await?;
    let (customer, login) = load(app, s).await?;
    customer.ok_or_else(invalid)?;
    let epoch = stage_new_session_epoch(&mut tx, tenant, login)?;
    let refresh = identity::auth::stage_family(app, &mut tx, customer_id, Some(tenant.id), None, epoch, true)?;
    tx.delete(&guard);
    match app.store.commit(tx).await {
        // The same code used at once by another request: it worked there, not here.
        Err(store::StoreError::Conflict(Conflict::Missing)) => Err(invalid()),
        r => r.or_500().map(|()| pair(app, s, refresh)),
    }
}

/// `POST /v1/portal/auth/refresh`: rotates like staff refresh tokens; a password change or reset
/// (or, with one session per customer, a newer login) ends it, as does the customer's deletion.
pub async fn refresh(app: &App, input: RefreshRequest) -> Result<PortalSession> {
    let family = identity::auth::open_family(app, &input.refresh_token, true).await?;
    let invalid =
        || Error::Unauthorized { code: "invalid_refresh_token", detail: "the refresh token is not valid".into() };
    let s = Subscriber { tenant_id: family.tenant_id.ok_or_else(invalid)?, customer_id: family.user_id };
    let (customer, login) = load(app, s).await?;
    if customer.is_none() || login.session_epoch != family.epoch {
        return Err(invalid());
    }
    let token = identity::auth::rotate_family(app, &family).await?;
    Ok(pair(app, s, token))
}

/// `POST /v1/portal/auth/logout`.
pub async fn logout(app: &App, input: RefreshRequest) -> Result<()> {
    identity::auth::logout(app, input).await
}

/// `POST /v1/portal/password`: needs the current password; other sessions end, a new pair is given.
pub async fn change_password(app: &App, s: Subscriber, input: PortalPasswordChange) -> Result<PortalSession> {
    let mut v = Validation::new();
    v.password("new_password", &input.new_password);
    v.finish()?;
    let (customer, before) = load(app, s).await?;
    customer.ok_or_else(|| Error::not_found("customer"))?;
    if !before.password_hash.as_deref().is_some_and(|h| verify_password(&input.current_password, h)) {
        return Err(Error::field("current_password", "is wrong"));
    }
    if input.current_password == input.new_password {
        return Err(Error::field("new_password", "must differ from the current password"));
    }
    let mut tx = Tx::new();
    let after = stage_password(
        app,
        &mut tx,
        &subscriber_actor(s),
        before,
        &input.new_password,
        "customer.portal_password_changed",
    )?;
    let refresh =
        identity::auth::stage_family(app, &mut tx, s.customer_id, Some(s.tenant_id), None, after.session_epoch, true)?;
    commit(app, tx).await?;
    Ok(pair(app, s, refresh))
}

/// `PUT /v1/customers/{id}/portal-password`: staff set or reset a subscriber's portal password
/// (the subscriber's sessions end). Needs `customers:write` and the customer in the caller's view.
pub async fn set_password(app: &App, actor: &Actor, customer_id: Uuid, input: SetPortalPassword) -> Result<()> {
    actor.require(Permission::CustomersWrite)?;
    let mut v = Validation::new();
    v.password("password", &input.password);
    v.finish()?;
    let customer = crm::customers::get_customer(app, actor, customer_id).await?;
    let s = Subscriber { tenant_id: customer.tenant_id, customer_id };
    let (_, before) = load(app, s).await?;
    let mut tx = Tx::new();
    stage_password(app, &mut tx, actor, before, &input.password, "customer.portal_password_set")?;
    commit(app, tx).await
}

fn stage_password(
    app: &App,
    tx: &mut Tx,
    actor: &Actor,
    before: PortalLogin,
    password: &str,
    action: &'static str,
) -> Result<PortalLogin> {
    let now = app.now();
    let mut after = before.clone();
    after.password_hash = Some(hash_password(password));
    after.session_epoch += 1;
    after.password_set_at = Some(now);
    after.version += 1;
    if before.version == 0 {
        tx.put_new(login_item(&after)?, Conflict::Version);
    } else {
        tx.put_versioned(login_item(&after)?, before.version);
    }
    tx.put_audit(&audit(
        actor,
        Some(before.tenant_id),
        Audited { action, entity: "customer", id: before.customer_id.to_string(), before: None, after: None },
        now,
    ));
    Ok(after)
}

async fn commit(app: &App, tx: Tx) -> Result<()> {
    match app.store.commit(tx).await {
        Err(store::StoreError::Conflict(Conflict::Version)) => Err(Error::version_conflict()),
        r => r.or_500(),
    }
}
