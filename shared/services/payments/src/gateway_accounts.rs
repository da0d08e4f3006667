//! Payment gateway accounts (`/v1/payment-gateways`): an ISP admin's (or, without a tenant, the
//! platform owner's) accounts at the gateways, with credentials sealed like router passwords:
//! never returned, never logged, opened only for a gateway call. A live account always talks to
//! the gateway's own hosts; a sandbox account may name another base (a staging host, or a fake on
//! 127.0.0.1 where the platform allows loopback), refused for metadata and link-local hosts as
//! router hosts are.

use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::checkout::{
    Gateway, GatewayAccount, GatewayAccountStatus, GatewayMode, optional_credentials, required_credentials,
};
use domain::customer::search_fold;
use domain::patch::Patch;
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use gateways::adapter::{Adapter, Endpoint};
use gateways::http::{Hosts, checked_base_url, checked_return_url};
use gateways::{GatewayError, GatewayHttp};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record};
use kernel::support::{
    Audited, StoreResultExt, audit, decoded, expected_version, open_credentials, seal_credentials, snapshot,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::{Conflict, Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGatewayAccount {
    pub gateway: Gateway,
    pub mode: GatewayMode,
    pub name: String,
    #[serde(default)]
    pub methods: Vec<String>,
    pub success_url: String,
    pub cancel_url: String,
    /// Sandbox only: another API base URL.
    pub base_url: Option<String>,
    /// By name, as the gateway's dashboard shows them (Stripe: `secret_key`, `webhook_secret`;
    /// Midtrans: `server_key`; SSLCommerz: `store_id`, `store_password`; aamarPay: `store_id`,
    /// `signature_key`; bKash: `app_key`, `app_secret`, `username`, `password`; PayPal: `client_id`,
    /// `client_secret`, `webhook_id`; Nagad: `merchant_id`, `merchant_private_key`, `pg_public_key`).
    pub credentials: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGatewayAccount {
    pub name: Option<String>,
    pub methods: Option<Vec<String>>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub base_url: Patch<String>,
    /// Replaces the named credentials (the others stay).
    pub credentials: Option<BTreeMap<String, String>>,
    pub status: Option<GatewayAccountStatus>,
    pub version: Option<u64>,
}

/// What a connection test found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GatewayTest {
    pub ok: bool,
    /// `credentials_accepted`, or the failure's code (`gateway_refused`, `gateway_unavailable`...).
    pub code: String,
    pub detail: String,
    pub took_ms: u64,
    pub checked_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct GatewayAccountRecord {
    #[serde(flatten)]
    account: GatewayAccount,
    credentials_sealed: String,
}

impl store::Stored for GatewayAccountRecord {
    const TYPE: &'static str = "GWACCOUNT";
    fn keys(&self) -> store::ItemKeys {
        let a = &self.account;
        keys::gateway_account(Owner::from_tenant(a.tenant_id), a.id, &search_fold(&a.name))
    }
    fn version(&self) -> Option<u64> {
        Some(self.account.version)
    }
}

/// Whose accounts the actor manages: its ISP's (ISP admins), or the platform's (the owner).
fn owner_of(actor: &Actor) -> Result<Option<Uuid>> {
    match actor.tenant_id {
        Some(t) => {
            actor.require(Permission::TenantSettingsWrite)?;
            Ok(Some(t))
        }
        None => {
            actor.require(Permission::PlatformResellersWrite)?;
            Ok(None)
        }
    }
}

fn hosts(app: &App) -> Hosts {
    Hosts { allow_loopback: app.router_hosts.allow_loopback }
}

fn check_methods(v: &mut Validation, methods: &[String]) -> Vec<String> {
    let ok = |m: &String| {
        !m.is_empty() && m.len() <= 40 && m.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if methods.len() > 20 || !methods.iter().all(ok) {
        v.add("methods", "at most 20 names of letters, digits, '_' and '-'");
    }
    methods.to_vec()
}

fn check_url(
    v: &mut Validation,
    field: &str,
    url: &str,
    hosts: Hosts,
    check: fn(&str, Hosts) -> std::result::Result<String, GatewayError>,
) -> String {
    match check(url, hosts) {
        Ok(u) => u,
        Err(e) => {
            v.add(field, e.to_string());
            url.to_string()
        }
    }
}

/// The credentials `gateway` needs, each given once, none other, none empty.
fn check_credentials(v: &mut Validation, gateway: Gateway, given: &BTreeMap<String, String>, partial: bool) {
    v.credentials(given, required_credentials(gateway), optional_credentials(gateway), partial, gateway.as_str());
}

pub async fn create_account(
    app: &App,
    actor: &Actor,
    input: CreateGatewayAccount,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<GatewayAccount>> {
    let tenant = owner_of(actor)?;
    let owner = Owner::from_tenant(tenant);
    let now = app.now();
    let mut v = Validation::new();
    let name = v.text("name", &input.name, 80);
    check_credentials(&mut v, input.gateway, &input.credentials, false);
    let methods = check_methods(&mut v, &input.methods);
    let success_url = check_url(&mut v, "success_url", &input.success_url, hosts(app), checked_return_url);
    let cancel_url = check_url(&mut v, "cancel_url", &input.cancel_url, hosts(app), checked_return_url);
    let base_url = match (input.mode, input.base_url.as_deref()) {
        (_, None) => None,
        (GatewayMode::Live, Some(_)) => {
            v.add("base_url", "live accounts always use the gateway's own hosts");
            None
        }
        (GatewayMode::Sandbox, Some(u)) => Some(check_url(&mut v, "base_url", u, hosts(app), checked_base_url)),
    };
    v.finish()?;
    let id = ids::new_id();
    let account = GatewayAccount {
        id,
        tenant_id: tenant,
        gateway: input.gateway,
        mode: input.mode,
        name,
        status: GatewayAccountStatus::Active,
        methods,
        success_url,
        cancel_url,
        base_url,
        credentials_set: input.credentials.keys().cloned().collect(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut v = Validation::new();
    check_credential_values(&mut v, &account, &input.credentials);
    v.finish()?;
    let sealed = seal(app, id, &input.credentials)?;
    let rec = GatewayAccountRecord { account: account.clone(), credentials_sealed: sealed };
    let mut tx = Tx::new();
    tx.put_new(Store::encode_stored(&rec).or_500()?, Conflict::Exists);
    tx.put_audit(&audit(
        actor,
        tenant,
        Audited {
            action: "payment_gateway.created",
            entity: "payment_gateway",
            id: id.to_string(),
            before: None,
            after: Some(snapshot(&account)),
        },
        now,
    ));
    if let Some(req) = idem {
        tx.put_idempotency(owner, &req.key_hash(actor.user_id), &record(req, 201, &account, app)?);
    }
    commit_create(app, tx, owner, actor.user_id, idem, account).await
}

/// The gateway adapter of an account with its opened credentials.
pub(crate) fn adapter(account: &GatewayAccount, credentials: &BTreeMap<String, String>) -> Adapter {
    let at = Endpoint { sandbox: account.mode == GatewayMode::Sandbox, base_url: account.base_url.clone() };
    Adapter::new(account.gateway, credentials, &at)
}

/// What the adapter finds wrong with a whole set of credentials without calling (Nagad's keys).
fn check_credential_values(v: &mut Validation, account: &GatewayAccount, credentials: &BTreeMap<String, String>) {
    for (name, problem) in adapter(account, credentials).credential_problems() {
        v.add(&format!("credentials.{name}"), problem);
    }
}

/// What the sealed credentials are bound to (with the account's id).
const CREDENTIALS: &str = "gateway-credentials";

fn seal(app: &App, id: Uuid, credentials: &BTreeMap<String, String>) -> Result<String> {
    seal_credentials(&app.secrets, CREDENTIALS, id, credentials)
}

fn open(app: &App, rec: &GatewayAccountRecord) -> Result<BTreeMap<String, String>> {
    open_credentials(&app.secrets, CREDENTIALS, rec.account.id, &rec.credentials_sealed)
}

/// An account and its opened credentials, for a gateway call on behalf of `tenant` (`None`: any
/// owner, for a public route that found the account by its id, whose owner then decides).
pub async fn usable_account(
    app: &App,
    tenant: Option<Uuid>,
    id: Uuid,
) -> Result<Option<(GatewayAccount, BTreeMap<String, String>)>> {
    let item = app.store.get_item(&keys::gateway_account(Owner::Platform, id, "")).await.or_500()?;
    let Some(rec) = decoded::<GatewayAccountRecord>(item)? else { return Ok(None) };
    if tenant.is_some() && rec.account.tenant_id != tenant {
        return Ok(None);
    }
    let creds = open(app, &rec)?;
    Ok(Some((rec.account, creds)))
}

/// The account with its sealed credentials, if it is the actor's to manage.
async fn visible(app: &App, actor: &Actor, id: Uuid) -> Result<GatewayAccountRecord> {
    let tenant = owner_of(actor)?;
    let item = app.store.get_item(&keys::gateway_account(Owner::from_tenant(tenant), id, "")).await.or_500()?;
    decoded::<GatewayAccountRecord>(item)?
        .filter(|r| r.account.tenant_id == tenant)
        .ok_or_else(|| Error::not_found("payment gateway account"))
}

pub async fn get_account(app: &App, actor: &Actor, id: Uuid) -> Result<GatewayAccount> {
    Ok(visible(app, actor, id).await?.account)
}

pub async fn list_accounts(app: &App, actor: &Actor, limit: u32, cursor: Option<&str>) -> Result<Page<GatewayAccount>> {
    let owner = Owner::from_tenant(owner_of(actor)?);
    let q = Query::index("gsi1", keys::gateway_accounts_gsi1(owner)).limit(limit);
    let page: Page<GatewayAccountRecord> = app.store.query_page(owner, "payment-gateways", q, cursor).await.or_500()?;
    Ok(Page { items: page.items.into_iter().map(|r| r.account).collect(), next_cursor: page.next_cursor })
}

/// A payment method as a subscriber sees it (no credentials, no URLs).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentMethodView {
    pub gateway_account_id: Uuid,
    pub gateway: domain::checkout::Gateway,
    pub name: String,
    pub methods: Vec<String>,
}

/// The ISP's active gateway accounts, for its subscribers to choose from (one Query).
pub async fn payment_methods(app: &App, tenant: Uuid) -> Result<Vec<PaymentMethodView>> {
    let owner = Owner::Tenant(tenant);
    let q = Query::index("gsi1", keys::gateway_accounts_gsi1(owner)).limit(50);
    let page: Page<GatewayAccountRecord> = app.store.query_page(owner, "portal-methods", q, None).await.or_500()?;
    Ok(page
        .items
        .into_iter()
        .map(|r| r.account)
        .filter(|a| a.status == GatewayAccountStatus::Active)
        .map(|a| PaymentMethodView { gateway_account_id: a.id, gateway: a.gateway, name: a.name, methods: a.methods })
        .collect())
}

pub async fn update_account(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdateGatewayAccount,
    if_match: Option<u64>,
) -> Result<GatewayAccount> {
    let expected = expected_version(if_match, input.version)?;
    let rec = visible(app, actor, id).await?;
    let before = rec.account.clone();
    let now = app.now();
    let mut v = Validation::new();
    let mut after = before.clone();
    if let Some(n) = &input.name {
        after.name = v.text("name", n, 80);
    }
    if let Some(m) = &input.methods {
        after.methods = check_methods(&mut v, m);
    }
    if let Some(u) = &input.success_url {
        after.success_url = check_url(&mut v, "success_url", u, hosts(app), checked_return_url);
    }
    if let Some(u) = &input.cancel_url {
        after.cancel_url = check_url(&mut v, "cancel_url", u, hosts(app), checked_return_url);
    }
    match input.base_url.as_update() {
        None => {}
        Some(None) => after.base_url = None,
        Some(Some(_)) if after.mode == GatewayMode::Live => {
            v.add("base_url", "live accounts always use the gateway's own hosts")
        }
        Some(Some(u)) => after.base_url = Some(check_url(&mut v, "base_url", u, hosts(app), checked_base_url)),
    }
    if let Some(s) = input.status {
        after.status = s;
    }
    let mut credentials = None;
    if let Some(given) = &input.credentials {
        check_credentials(&mut v, before.gateway, given, true);
        let mut all = open(app, &rec)?;
        all.extend(given.clone());
        after.credentials_set = all.keys().cloned().collect();
        check_credential_values(&mut v, &after, &all);
        credentials = Some(all);
    }
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    after.version += 1;
    after.updated_at = now;
    let sealed = match &credentials {
        Some(all) => seal(app, id, all)?,
        None => rec.credentials_sealed.clone(),
    };
    let mut tx = Tx::new();
    tx.put_versioned(
        Store::encode_stored(&GatewayAccountRecord { account: after.clone(), credentials_sealed: sealed }).or_500()?,
        expected,
    );
    let after_snap = kernel::support::snapshot_with_credentials(&after, input.credentials.as_ref());
    tx.put_audit(&audit(
        actor,
        before.tenant_id,
        Audited {
            action: "payment_gateway.updated",
            entity: "payment_gateway",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: Some(after_snap),
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}

/// Makes a harmless call with the account's credentials (the status of an order that does not
/// exist) and says whether the gateway accepted them.
pub async fn test_account(app: &App, actor: &Actor, id: Uuid, http: &GatewayHttp) -> Result<GatewayTest> {
    let rec = visible(app, actor, id).await?;
    let creds = open(app, &rec)?;
    let probe = domain::checkout::order_id(ids::new_id());
    let started = std::time::Instant::now();
    let outcome = adapter(&rec.account, &creds).check_credentials(http, &probe, app.now()).await;
    let took_ms = started.elapsed().as_millis() as u64;
    let (ok, code, detail) = match outcome {
        // The gateway answered about the order: it took the credentials.
        Ok(()) | Err(GatewayError::UnknownOrder) => {
            (true, "credentials_accepted", "the gateway accepted the credentials".to_string())
        }
        Err(GatewayError::Refused { status: 401 | 403, .. }) => {
            (false, "gateway_refused", "the gateway refused the credentials".to_string())
        }
        Err(e) => (false, e.code(), e.to_string()),
    };
    Ok(GatewayTest { ok, code: code.to_string(), detail, took_ms, checked_at: app.now() })
}
