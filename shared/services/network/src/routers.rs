//! Routers (`/v1/routers`). A router's password is sealed (AES-256-GCM, bound to the router's id)
//! and never leaves this module except to provisioning. Operators confined to POPs see only their
//! POPs' routers. A router with subscriptions cannot be deleted (usage counters checked in the
//! deleting transaction).

use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::alert::{Alert, AlertKind, AlertSubject};
use domain::customer::search_fold;
use domain::event::{DomainEvent, NetworkEvent};
use domain::network::{Router, RouterHosts, RouterStatus, SuspensionMode, validate_host, validate_router_username};
use domain::package::validate_profile_name;
use domain::patch::Patch;
use domain::radius::{AccessMode, RadiusInput, RadiusSettings};
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::access::confined_pops;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record};
use kernel::projections::dashboard::Deltas;
use kernel::projections::usage::{in_use_conflict, stage_usage, stage_usage_zero};
use kernel::support::{Audited, StoreResultExt, audit, decoded, expected_version, snapshot};
use serde::{Deserialize, Serialize};
use store::keys::UsageOf;
use store::{Conflict, Filter, Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

// ---- routers -----------------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRouter {
    pub name: String,
    pub pop_id: Option<Uuid>,
    pub host: String,
    /// Defaults to 8728, or 8729 with `tls`.
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: bool,
    /// Accept a self-signed certificate (API-SSL only).
    #[serde(default)]
    pub tls_insecure: bool,
    pub username: String,
    pub password: String,
    pub routeros_version: Option<String>,
    pub suspension: Option<SuspensionMode>,
    /// `api` (default) or `radius`; RADIUS mode needs `radius.secret`.
    pub access_mode: Option<AccessMode>,
    pub radius: Option<RadiusInput>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRouter {
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub pop_id: Patch<Uuid>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<bool>,
    pub tls_insecure: Option<bool>,
    pub username: Option<String>,
    /// A new password; omitted keeps the stored one.
    pub password: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub routeros_version: Patch<String>,
    pub suspension: Option<SuspensionMode>,
    pub access_mode: Option<AccessMode>,
    /// RADIUS settings to change (a new `secret` replaces the stored one).
    pub radius: Option<RadiusInput>,
    pub version: Option<u64>,
}

/// A router as stored: the API shape plus the sealed password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouterRecord {
    #[serde(flatten)]
    pub router: Router,
    pub password_sealed: String,
    /// RADIUS mode: the NAS's shared secret, sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius_secret_sealed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// How provisioning reaches a router (never serialised into a response or a log).
pub struct RouterCredentials {
    pub router: Router,
    pub password: String,
}

impl std::fmt::Debug for RouterCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterCredentials").field("router", &self.router.id).finish_non_exhaustive()
    }
}

fn router_password_aad(tid: Uuid, id: Uuid) -> Vec<u8> {
    format!("router-password:{tid}:{id}").into_bytes()
}

pub fn live_router(item: Option<store::Item>) -> Result<Option<RouterRecord>> {
    Ok(decoded::<RouterRecord>(item)?.filter(|r| r.deleted_at.is_none()))
}

fn router_unique(tid: Uuid, field: &str, value: &str) -> store::ItemKeys {
    keys::unique(Owner::Tenant(tid), &format!("router_{field}"), value)
}

/// A router belongs to one ISP on the whole platform: its host (whatever the port: 8728 and 8729
/// reach the same router) is claimed by the ISP for as long as one of its routers uses it, so no
/// other ISP can register it and then reconcile away, or export, this ISP's subscribers.
fn claim_router_host(tx: &mut Tx, r: &Router) {
    tx.claim_shared(
        keys::unique(Owner::Platform, "router_address", &r.host),
        "router_address",
        &r.tenant_id.to_string(),
    );
}

/// The ISP whose routers use this address, if one does (read when a router's host name resolves
/// to it: a name may point at another ISP's router).
pub async fn router_address_holder(app: &App, address: std::net::IpAddr) -> Result<Option<Uuid>> {
    #[derive(serde::Deserialize)]
    struct Claim {
        owner_id: Uuid,
        #[serde(default)]
        users: i64,
    }
    let k = keys::unique(Owner::Platform, "router_address", &address.to_canonical().to_string());
    let claim: Option<Claim> = app.store.get(&k).await.or_500()?;
    Ok(claim.filter(|c| c.users > 0).map(|c| c.owner_id))
}

/// How long an address a router's host name resolved to stays with the ISP that last connected
/// there: another ISP's router may resolve to it only once this ISP has not connected for a day.
pub const RESOLVED_ADDRESS_LEASE: chrono::Duration = chrono::Duration::hours(24);

/// Holds the address a router's host name resolved to for `tenant` (one UpdateItem): two ISPs
/// whose routers are reached by two different names of one address cannot both use it. False
/// while another ISP has connected there within [`RESOLVED_ADDRESS_LEASE`].
pub async fn lease_router_address(app: &App, tenant: Uuid, address: std::net::IpAddr) -> Result<bool> {
    let now = app.now();
    let k = keys::unique(Owner::Platform, "router_resolved", &address.to_canonical().to_string());
    let lease = app
        .store
        .update(&k)
        .update_expression("SET owner_id = :me, seen_at = :now, #type = :type, #ttl = :ttl")
        .condition_expression("attribute_not_exists(pk) OR owner_id = :me OR seen_at < :stale")
        .expression_attribute_names("#type", "type")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":me", kernel::support::attr(&tenant.to_string()))
        .expression_attribute_values(":now", kernel::support::attr(&now.timestamp()))
        .expression_attribute_values(":stale", kernel::support::attr(&(now - RESOLVED_ADDRESS_LEASE).timestamp()))
        .expression_attribute_values(":type", kernel::support::attr(&"LEASE"))
        .expression_attribute_values(":ttl", store::ttl_at(now + RESOLVED_ADDRESS_LEASE * 2));
    match app.store.send_update(lease).await {
        Ok(()) => Ok(true),
        Err(store::StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(kernel::support::store_err(e)),
    }
}

fn release_router_host(tx: &mut Tx, r: &Router) {
    tx.release_shared(keys::unique(Owner::Platform, "router_address", &r.host), &r.tenant_id.to_string());
}

fn router_unique_values(r: &Router) -> [(&'static str, String); 2] {
    [("name", search_fold(&r.name)), ("host", format!("{}:{}", r.host, r.port))]
}

impl store::Stored for RouterRecord {
    const TYPE: &'static str = "ROUTER";
    fn keys(&self) -> store::ItemKeys {
        router_keys(&self.router)
    }
    fn version(&self) -> Option<u64> {
        Some(self.router.version)
    }
}

fn router_keys(r: &Router) -> store::ItemKeys {
    keys::router(r.tenant_id, r.id, &search_fold(&r.name), r.pop_id)
}

fn check_suspension(v: &mut Validation, s: &SuspensionMode) -> SuspensionMode {
    match s {
        SuspensionMode::Disable => SuspensionMode::Disable,
        SuspensionMode::WalledGarden { profile, address_list } => SuspensionMode::WalledGarden {
            profile: validate_profile_name(v, "suspension.profile", profile),
            address_list: validate_profile_name(v, "suspension.address_list", address_list),
        },
    }
}

fn check_version(v: &mut Validation, s: Option<&str>) -> Option<String> {
    let s = s.map(str::trim).filter(|s| !s.is_empty())?;
    if s.len() > 20 || !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
        v.add("routeros_version", "must look like 7.16.2");
    }
    Some(s.to_string())
}

fn check_password(v: &mut Validation, p: &str) {
    if p.is_empty() || p.len() > 128 || p.chars().any(char::is_control) {
        v.add("password", "must be 1-128 characters without control characters");
    }
}

/// Validates a new router (also each row of an import); the router and its password.
pub fn new_router(
    v: &mut Validation,
    tid: Uuid,
    input: &CreateRouter,
    hosts: RouterHosts,
    now: DateTime<Utc>,
) -> NewRouter {
    let name = v.text("name", &input.name, 80);
    let host = validate_host(v, "host", &input.host, hosts);
    let port = input.port.unwrap_or(if input.tls { 8729 } else { 8728 });
    if port == 0 {
        v.add("port", "must be between 1 and 65535");
    }
    if input.tls_insecure && !input.tls {
        v.add("tls_insecure", "applies only with tls");
    }
    let username = validate_router_username(v, "username", &input.username);
    check_password(v, &input.password);
    let routeros_version = check_version(v, input.routeros_version.as_deref());
    let suspension = check_suspension(v, input.suspension.as_ref().unwrap_or(&SuspensionMode::Disable));
    let access_mode = input.access_mode.unwrap_or_default();
    let (radius, radius_secret) = check_radius(v, access_mode, None, false, input.radius.as_ref());
    let router = Router {
        id: ids::new_id(),
        tenant_id: tid,
        name,
        pop_id: input.pop_id,
        host,
        port,
        tls: input.tls,
        tls_insecure: input.tls_insecure,
        username,
        routeros_version,
        status: RouterStatus::Unknown,
        last_seen_at: None,
        suspension,
        access_mode,
        radius,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    NewRouter { router, password: input.password.clone(), radius_secret }
}

/// A validated new router with the secrets it is to store.
pub struct NewRouter {
    pub router: Router,
    pub password: String,
    pub radius_secret: Option<String>,
}

/// RADIUS mode's settings and the new secret, if one is given. Entering RADIUS mode needs a secret
/// (given, or already stored); leaving it drops the settings (the stored secret is dropped by
/// the caller).
fn check_radius(
    v: &mut Validation,
    mode: AccessMode,
    current: Option<&RadiusSettings>,
    has_secret: bool,
    input: Option<&RadiusInput>,
) -> (Option<RadiusSettings>, Option<String>) {
    match mode {
        AccessMode::Api => {
            if input.is_some() {
                v.add("radius", "applies only with access_mode radius");
            }
            (None, None)
        }
        AccessMode::Radius => {
            let input = input.cloned().unwrap_or_default();
            let settings = domain::radius::radius_settings(v, current, &input);
            if input.secret.is_none() && !has_secret {
                v.add("radius.secret", "is required for access_mode radius");
            }
            (Some(settings), input.secret)
        }
    }
}

fn radius_secret_aad(tid: Uuid, id: Uuid) -> Vec<u8> {
    format!("router-radius-secret:{tid}:{id}").into_bytes()
}

/// Opens a RADIUS-mode router's shared secret (the provisioning worker's CoA, the NAS list).
pub fn open_radius_secret(app: &App, tid: Uuid, id: Uuid, sealed: &str) -> Result<String> {
    kernel::support::open_text(&app.secrets, sealed, &radius_secret_aad(tid, id), "a router's RADIUS secret")
}

/// FreeRADIUS's entry for a RADIUS-mode router, in the platform's NAS list (written with the
/// router, so the list is one Query).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RadiusNasEntry {
    pub tenant_id: Uuid,
    pub router_id: Uuid,
    pub address: String,
    pub secret_sealed: String,
}

/// Keeps the platform's NAS list in step with a router's record: an entry while it is in RADIUS
/// mode (at its current address, with its current secret), none otherwise.
fn stage_radius_nas(tx: &mut Tx, before: Option<&RouterRecord>, after: Option<&RouterRecord>) -> Result<()> {
    let entry = |r: &RouterRecord| {
        (r.router.access_mode == AccessMode::Radius).then(|| r.radius_secret_sealed.clone()).flatten().map(|s| {
            RadiusNasEntry {
                tenant_id: r.router.tenant_id,
                router_id: r.router.id,
                address: r.router.host.clone(),
                secret_sealed: s,
            }
        })
    };
    let (old, new) = (before.and_then(entry), after.and_then(entry));
    match (&old, &new) {
        (_, Some(n)) => {
            let changed = old.as_ref().is_none_or(|o| o.address != n.address || o.secret_sealed != n.secret_sealed);
            if changed {
                let k = keys::radius_nas(n.tenant_id, n.router_id);
                tx.put(Store::encode(&k, "RADIUSNAS", n, None).or_500()?);
            }
        }
        (Some(o), None) => tx.delete(&keys::radius_nas(o.tenant_id, o.router_id)),
        (None, None) => {}
    }
    Ok(())
}

pub fn stage_new_router(app: &App, tx: &mut Tx, actor: &Actor, new: &NewRouter, now: DateTime<Utc>) -> Result<()> {
    let r = &new.router;
    let tid = r.tenant_id;
    let rec = RouterRecord {
        router: r.clone(),
        password_sealed: app.secrets.seal(new.password.as_bytes(), &router_password_aad(tid, r.id)),
        radius_secret_sealed: new
            .radius_secret
            .as_ref()
            .map(|s| app.secrets.seal(s.as_bytes(), &radius_secret_aad(tid, r.id))),
        deleted_at: None,
    };
    tx.put_new(Store::encode_stored(&rec).or_500()?, Conflict::Exists);
    stage_radius_nas(tx, None, Some(&rec))?;
    for (field, value) in router_unique_values(r) {
        tx.put_unique(router_unique(tid, field, &value), field, &r.id.to_string());
    }
    claim_router_host(tx, r);
    if let Some(p) = r.pop_id {
        // The POP must exist and be live when the router joins it.
        tx.check(
            &keys::pop(tid, p, ""),
            "attribute_exists(pk) AND attribute_not_exists(deleted_at)",
            Default::default(),
            Conflict::Unique("pop_id".into()),
        );
        stage_usage(tx, tid, UsageOf::Pop, p, 1);
    }
    let mut counts = Deltas::default();
    counts.router(None, Some((r.pop_id, r.status)));
    counts.stage(tx, tid);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "router.created",
            entity: "router",
            id: r.id.to_string(),
            before: None,
            after: Some(snapshot(r)),
        },
        now,
    ));
    stage_router_event(tx, NetworkEvent::RouterCreated, r, now);
    Ok(())
}

fn stage_router_event(tx: &mut Tx, name: NetworkEvent, r: &Router, now: DateTime<Utc>) {
    tx.put_event(&DomainEvent::new(
        name,
        Some(r.tenant_id),
        serde_json::json!({"router_id": r.id, "version": r.version}),
        now,
    ));
}

/// Maps a router write's conflicts: a missing POP is a 422 on `pop_id`, not a duplicate.
/// Another ISP holds the host (which one is not this ISP's to know).
fn router_address_taken() -> Error {
    Error::Conflict {
        code: "router_address_taken",
        detail: "a router at this address belongs to another ISP".into(),
        field: Some("host".into()),
    }
}

pub fn router_conflict(e: store::StoreError) -> Error {
    match e {
        store::StoreError::Conflict(Conflict::Unique(f)) if f == "pop_id" => {
            Error::field("pop_id", "is not a POP of this ISP")
        }
        store::StoreError::Conflict(Conflict::Unique(f)) if f == "router_address" => router_address_taken(),
        other => kernel::support::store_err(other),
    }
}

pub async fn create_router(
    app: &App,
    actor: &Actor,
    input: CreateRouter,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Router>> {
    actor.require(Permission::NetworkWrite)?;
    let tid = actor.tenant()?;
    let now = app.now();
    let mut v = Validation::new();
    let new = new_router(&mut v, tid, &input, app.router_hosts, now);
    v.finish()?;
    let mut tx = Tx::new();
    stage_new_router(app, &mut tx, actor, &new, now)?;
    let router = new.router;
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &router, app)?);
    }
    commit_create(app, tx, Owner::Tenant(tid), actor.user_id, idem, router).await.map_err(|e| match e {
        Error::Conflict { field: Some(f), .. } if f == "pop_id" => Error::field("pop_id", "is not a POP of this ISP"),
        Error::Conflict { field: Some(f), .. } if f == "router_address" => router_address_taken(),
        other => other,
    })
}

pub(crate) async fn visible_router(app: &App, actor: &Actor, id: Uuid) -> Result<RouterRecord> {
    actor.require(Permission::NetworkRead)?;
    let tid = actor.tenant()?;
    let rec = live_router(app.store.get_item(&keys::router(tid, id, "", None)).await.or_500()?)?;
    visible_to(app, actor, rec).await
}

/// A router exists for a caller confined to POPs only when it is in one of them.
async fn visible_to(app: &App, actor: &Actor, rec: Option<RouterRecord>) -> Result<RouterRecord> {
    match (rec, confined_pops(app, actor).await?) {
        (Some(r), None) => Ok(r),
        (Some(r), Some(mine)) if r.router.pop_id.is_some_and(|p| mine.contains(&p)) => Ok(r),
        _ => Err(Error::not_found("router")),
    }
}

/// The router (as the caller may see it) and other items of its ISP, in one BatchGetItem.
pub async fn router_with(
    app: &App,
    actor: &Actor,
    id: Uuid,
    others: &[store::ItemKeys],
) -> Result<(Router, Vec<Option<store::Item>>)> {
    actor.require(Permission::NetworkRead)?;
    let tid = actor.tenant()?;
    let router_key = keys::router(tid, id, "", None);
    let mut wanted = vec![&router_key];
    wanted.extend(others.iter());
    let mut items = app.store.batch_get(&wanted).await.or_500()?.into_iter();
    let rec = live_router(items.next().flatten())?;
    let router = visible_to(app, actor, rec).await?.router;
    Ok((router, items.collect()))
}

pub async fn get_router(app: &App, actor: &Actor, id: Uuid) -> Result<Router> {
    Ok(visible_router(app, actor, id).await?.router)
}

/// A router with its last health check (status, version, uptime, CPU, memory, last seen).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RouterDetail {
    #[serde(flatten)]
    pub router: Router,
    /// Absent until the router was first checked.
    pub health: Option<domain::live::RouterHealth>,
}

/// `GET /v1/routers/{id}`: the router and its health item in one BatchGetItem.
pub async fn router_detail(app: &App, actor: &Actor, id: Uuid) -> Result<RouterDetail> {
    actor.require(Permission::NetworkRead)?;
    let tid = actor.tenant()?;
    let (router_key, health_key) = (keys::router(tid, id, "", None), keys::router_health(tid, id));
    let mut items = app.store.batch_get(&[&router_key, &health_key]).await.or_500()?.into_iter();
    let rec = live_router(items.next().flatten())?;
    let health: Option<domain::live::RouterHealth> = decoded(items.next().flatten())?;
    let mut router = visible_to(app, actor, rec).await?.router;
    // The router item is rewritten only when its status changes; the last answer is in `health`.
    if let Some(seen) = health.as_ref().and_then(|h| h.last_seen_at) {
        router.last_seen_at = Some(router.last_seen_at.map_or(seen, |t| t.max(seen)));
    }
    Ok(RouterDetail { router, health })
}

/// The router and its password, for provisioning only.
pub async fn router_credentials(app: &App, tid: Uuid, id: Uuid) -> Result<RouterCredentials> {
    let rec = live_router(app.store.get_item(&keys::router(tid, id, "", None)).await.or_500()?)?
        .ok_or_else(|| Error::not_found("router"))?;
    open_credentials(app, rec)
}

/// A router record with its password opened, for provisioning.
pub fn open_credentials(app: &App, rec: RouterRecord) -> Result<RouterCredentials> {
    let password = kernel::support::open_text(
        &app.secrets,
        &rec.password_sealed,
        &router_password_aad(rec.router.tenant_id, rec.router.id),
        "router password",
    )?;
    Ok(RouterCredentials { router: rec.router, password })
}

/// Every router of an ISP (gsi1), for the jobs and provisioning that visit them all.
pub async fn all_routers(app: &App, tid: Uuid) -> Result<Vec<Router>> {
    Ok(all_router_records(app, tid).await?.into_iter().map(|r| r.router).collect())
}

/// Every live router of the ISP with its sealed password (health checks).
pub async fn all_router_records(app: &App, tid: Uuid) -> Result<Vec<RouterRecord>> {
    let q = store::Query::index("gsi1", keys::routers_gsi1(tid));
    let recs: Vec<RouterRecord> = app.store.query_all(q, 100_000).await.or_500()?;
    Ok(recs.into_iter().filter(|r| r.deleted_at.is_none()).collect())
}

/// A health check's verdict written on the router: its status (and the RouterOS version it
/// reported), the dashboard's router counts and `RouterWentOffline`/`RouterCameBack`, in one
/// transaction, only when something changed. Not `RouterUpdated`: nothing provisioning cares
/// about changed (coming back is `RouterCameBack`, which it does act on). A concurrent edit of the
/// router wins; the next check writes the verdict again.
pub async fn record_router_status(
    app: &App,
    rec: &RouterRecord,
    status: RouterStatus,
    routeros_version: Option<String>,
    event: Option<NetworkEvent>,
    error_code: Option<&str>,
) -> Result<bool> {
    let before = &rec.router;
    let version = routeros_version.or_else(|| before.routeros_version.clone());
    if before.status == status && before.routeros_version == version && event.is_none() {
        return Ok(false);
    }
    let now = app.now();
    let mut after = before.clone();
    after.status = status;
    after.routeros_version = version;
    after.version += 1;
    after.updated_at = now;
    if status == RouterStatus::Online {
        after.last_seen_at = Some(now);
    }
    let new_rec = RouterRecord { router: after.clone(), ..rec.clone() };
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&new_rec).or_500()?, before.version);
    let mut counts = Deltas::default();
    counts.router(Some((before.pop_id, before.status)), Some((after.pop_id, after.status)));
    counts.stage(&mut tx, after.tenant_id);
    if let Some(name) = event {
        tx.put_event(&DomainEvent::new(
            name,
            Some(after.tenant_id),
            serde_json::json!({
                "router_id": after.id,
                "router_name": after.name,
                "pop_id": after.pop_id,
                "status": status,
                "error_code": error_code,
                "version": after.version,
            }),
            now,
        ));
        let kind =
            if name == NetworkEvent::RouterWentOffline { AlertKind::RouterOffline } else { AlertKind::RouterBack };
        let subject = AlertSubject {
            router_id: Some(after.id),
            router_name: Some(after.name.clone()),
            pop_id: after.pop_id,
            ..Default::default()
        };
        let detail = error_code.map(|c| format!("health check: {c}"));
        kernel::alerts::raise(&mut tx, &Alert::new(ids::new_id(), after.tenant_id, kind, subject, detail, now))?;
    }
    match app.store.commit(tx).await {
        Ok(()) => Ok(true),
        Err(store::StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(kernel::support::store_err(e)),
    }
}

pub async fn all_router_ids(app: &App, tid: Uuid) -> Result<Vec<Uuid>> {
    Ok(all_routers(app, tid).await?.into_iter().map(|r| r.id).collect())
}

#[derive(Debug, Default, Clone)]
pub struct RouterFilter {
    pub pop_id: Option<Uuid>,
    pub status: Option<RouterStatus>,
}

pub async fn list_routers(
    app: &App,
    actor: &Actor,
    filter: RouterFilter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Router>> {
    actor.require(Permission::NetworkRead)?;
    let tid = actor.tenant()?;
    let confined = confined_pops(app, actor).await?;
    let mut f = Filter::default();
    if let Some(s) = filter.status {
        f = f.eq("status", s.as_str());
    }
    let q = match (filter.pop_id, &confined) {
        (Some(p), Some(mine)) if !mine.contains(&p) => return Ok(Page { items: vec![], next_cursor: None }),
        (Some(p), _) => Query::index("gsi2", keys::routers_by_pop_gsi2(tid, p)),
        (None, Some(mine)) => {
            f = f.any_of("pop_id", &mine.iter().map(Uuid::to_string).collect::<Vec<_>>());
            Query::index("gsi1", keys::routers_gsi1(tid))
        }
        (None, None) => Query::index("gsi1", keys::routers_gsi1(tid)),
    };
    let mut q = q.limit(limit);
    if !f.expression.is_empty() {
        q = q.filter(f);
    }
    let qid = format!(
        "routers:{:?}:{:?}:{}",
        filter.pop_id,
        filter.status.map(|s| s.as_str()),
        confined.as_ref().map_or(0, Vec::len)
    );
    let page: Page<RouterRecord> = app.store.query_page(Owner::Tenant(tid), &qid, q, cursor).await.or_500()?;
    Ok(Page { items: page.items.into_iter().map(|r| r.router).collect(), next_cursor: page.next_cursor })
}

pub async fn update_router(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdateRouter,
    if_match: Option<u64>,
) -> Result<Router> {
    actor.require(Permission::NetworkWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let rec = visible_router(app, actor, id).await?;
    let before = rec.router.clone();
    let now = app.now();
    let mut v = Validation::new();
    let mut after = before.clone();
    if let Some(n) = &input.name {
        after.name = v.text("name", n, 80);
    }
    input.pop_id.clone().apply_to(&mut after.pop_id);
    if let Some(h) = &input.host {
        after.host = validate_host(&mut v, "host", h, app.router_hosts);
    }
    if let Some(t) = input.tls {
        after.tls = t;
    }
    if let Some(t) = input.tls_insecure {
        after.tls_insecure = t;
    }
    if after.tls_insecure && !after.tls {
        v.add("tls_insecure", "applies only with tls");
    }
    if let Some(p) = input.port {
        if p == 0 {
            v.add("port", "must be between 1 and 65535");
        }
        after.port = p;
    }
    if let Some(u) = &input.username {
        after.username = validate_router_username(&mut v, "username", u);
    }
    if let Some(p) = &input.password {
        check_password(&mut v, p);
    }
    if let Some(r) = input.routeros_version.as_update() {
        after.routeros_version = check_version(&mut v, r.map(String::as_str));
    }
    if let Some(s) = &input.suspension {
        after.suspension = check_suspension(&mut v, s);
    }
    if let Some(m) = input.access_mode {
        after.access_mode = m;
    }
    let has_secret = rec.radius_secret_sealed.is_some() && before.access_mode == AccessMode::Radius;
    let (radius, new_secret) =
        check_radius(&mut v, after.access_mode, before.radius.as_ref(), has_secret, input.radius.as_ref());
    after.radius = radius;
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    after.version += 1;
    after.updated_at = now;
    let sealed = match &input.password {
        Some(p) => app.secrets.seal(p.as_bytes(), &router_password_aad(tid, id)),
        None => rec.password_sealed.clone(),
    };
    let radius_secret_sealed = match (after.access_mode, new_secret) {
        (AccessMode::Api, _) => None,
        (AccessMode::Radius, Some(s)) => Some(app.secrets.seal(s.as_bytes(), &radius_secret_aad(tid, id))),
        (AccessMode::Radius, None) => rec.radius_secret_sealed.clone(),
    };
    let secret_changed = radius_secret_sealed != rec.radius_secret_sealed;
    let new_rec =
        RouterRecord { router: after.clone(), password_sealed: sealed, radius_secret_sealed, deleted_at: None };
    let mut tx = Tx::new();
    let changed = Secrets { password: input.password.is_some(), radius_secret: secret_changed };
    stage_router_update(&mut tx, actor, &rec, &new_rec, changed, expected, now)?;
    app.store.commit(tx).await.map_err(router_conflict)?;
    Ok(after)
}

/// Which of a router's secrets a change replaces (audited as a fact, never the value).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Secrets {
    pub password: bool,
    pub radius_secret: bool,
}

/// Stages a router's change: the record (versioned), its unique name and host:port, the platform
/// claim of its address, the POP's usage, the dashboard's counts, the audit entry (that the
/// password changed, never what it is) and `RouterUpdated`.
pub(crate) fn stage_router_update(
    tx: &mut Tx,
    actor: &Actor,
    old_rec: &RouterRecord,
    new_rec: &RouterRecord,
    changed: Secrets,
    expected: u64,
    now: DateTime<Utc>,
) -> Result<()> {
    let (before, after) = (&old_rec.router, &new_rec.router);
    let (tid, id) = (after.tenant_id, after.id);
    tx.put_versioned(Store::encode_stored(new_rec).or_500()?, expected);
    stage_radius_nas(tx, Some(old_rec), Some(new_rec))?;
    kernel::support::stage_unique_changes(
        tx,
        &router_unique_values(before),
        &router_unique_values(after),
        |f, v| router_unique(tid, f, v),
        &id.to_string(),
    );
    if before.host != after.host {
        claim_router_host(tx, after);
        release_router_host(tx, before);
    }
    if before.pop_id != after.pop_id {
        if let Some(p) = after.pop_id {
            tx.check(
                &keys::pop(tid, p, ""),
                "attribute_exists(pk) AND attribute_not_exists(deleted_at)",
                Default::default(),
                Conflict::Unique("pop_id".into()),
            );
            stage_usage(tx, tid, UsageOf::Pop, p, 1);
        }
        if let Some(p) = before.pop_id {
            stage_usage(tx, tid, UsageOf::Pop, p, -1);
        }
    }
    let mut counts = Deltas::default();
    counts.router(Some((before.pop_id, before.status)), Some((after.pop_id, after.status)));
    counts.stage(tx, tid);
    let mut after_snap = snapshot(after);
    if changed.password {
        after_snap["password_changed"] = serde_json::Value::Bool(true);
    }
    if changed.radius_secret {
        after_snap["radius_secret_changed"] = serde_json::Value::Bool(true);
    }
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "router.updated",
            entity: "router",
            id: id.to_string(),
            before: Some(snapshot(before)),
            after: Some(after_snap),
        },
        now,
    ));
    stage_router_event(tx, NetworkEvent::RouterUpdated, after, now);
    Ok(())
}

pub async fn delete_router(app: &App, actor: &Actor, id: Uuid, if_match: Option<u64>) -> Result<()> {
    actor.require(Permission::NetworkWrite)?;
    let tid = actor.tenant()?;
    let rec = visible_router(app, actor, id).await?;
    let before = rec.router.clone();
    if if_match.is_some_and(|v| v != before.version) {
        return Err(Error::version_conflict());
    }
    // A router enrolled at the edge leaves it: the concentrator drops its peer at its next sync.
    let tunnel: Option<domain::edge::EdgePeer> =
        decoded(app.store.get_item(&keys::router_edge(tid, id)).await.or_500()?)?;
    let tunnel = tunnel.map(|t| t.address);
    let now = app.now();
    let mut gone = before.clone();
    gone.version += 1;
    gone.updated_at = now;
    let mut item = Store::encode(
        &keys::router(tid, id, "", None),
        "ROUTER",
        &RouterRecord { router: gone.clone(), deleted_at: Some(now), ..rec.clone() },
        Some(gone.version),
    )
    .or_500()?;
    for a in ["gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        item.remove(a);
    }
    let mut tx = Tx::new();
    tx.put_versioned(item, before.version);
    stage_usage_zero(&mut tx, tid, UsageOf::Router, id, "router_in_use");
    for (field, value) in router_unique_values(&before) {
        tx.delete_unique(router_unique(tid, field, &value), &id.to_string());
    }
    release_router_host(&mut tx, &before);
    stage_radius_nas(&mut tx, Some(&rec), None)?;
    if let Some(address) = tunnel {
        tx.delete(&keys::router_edge(tid, id));
        tx.delete(&keys::edge_peer(&address));
    }
    if let Some(p) = before.pop_id {
        stage_usage(&mut tx, tid, UsageOf::Pop, p, -1);
    }
    let mut counts = Deltas::default();
    counts.router(Some((before.pop_id, before.status)), None);
    counts.stage(&mut tx, tid);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "router.deleted",
            entity: "router",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: None,
        },
        now,
    ));
    stage_router_event(&mut tx, NetworkEvent::RouterDeleted, &gone, now);
    app.store.commit(tx).await.map_err(in_use_conflict("router"))
}
