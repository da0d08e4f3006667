//! Platform resellers ("Super Admins"): created and managed by the platform owner.

use crate::users::{NewStaff, UserRecord, stage_new_user};
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::event::{DomainEvent, IdentityEvent, PlatformEvent};
use domain::patch::Patch;
use domain::platform::{PlatformPrices, PlatformReseller};
use domain::role::{Permission, Role};
use domain::user::{User, UserStatus};
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::support::{Audited, StoreResultExt, Updated, attr, audit, expected_version, snapshot};
use serde::Deserialize;
use store::{Conflict, Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReseller {
    pub name: String,
    pub phone: Option<String>,
    pub subscription_expires_at: DateTime<Utc>,
    pub isp_limit: u32,
    /// The reseller's first login.
    pub admin: NewStaff,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateReseller {
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    pub subscription_expires_at: Option<DateTime<Utc>>,
    pub isp_limit: Option<u32>,
    /// What it pays online for an ISP slot and a month (`null` stops online purchases).
    #[serde(default)]
    #[schema(value_type = Option<PlatformPrices>)]
    pub prices: Patch<PlatformPrices>,
    pub version: Option<u64>,
}

const MAX_ISP_LIMIT: i64 = 100_000;
/// A price of the platform, in minor units.
const MAX_PRICE: i64 = 1_000_000_000_000;

fn item(r: &PlatformReseller) -> Result<store::Item> {
    Store::encode_stored(r).or_500()
}

pub async fn create_reseller(app: &App, actor: &Actor, input: CreateReseller) -> Result<PlatformReseller> {
    actor.require(Permission::PlatformResellersWrite)?;
    actor.require_own_identity("creating a platform reseller with its login")?;
    let now = app.now();
    let mut v = Validation::new();
    let name = v.text("name", &input.name, 120);
    let phone = v.optional_text("phone", input.phone.as_deref(), 32);
    v.range_i64("isp_limit", input.isp_limit.into(), 0, MAX_ISP_LIMIT);
    let admin = input.admin.validate(&mut v, "admin");
    v.finish()?;

    let id = ids::new_id();
    let reseller = PlatformReseller {
        prices: None,
        id,
        name,
        email: admin.email.clone(),
        phone,
        subscription_expires_at: input.subscription_expires_at,
        isp_limit: input.isp_limit,
        isp_count: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let user = UserRecord::new(
        User {
            id: ids::new_id(),
            tenant_id: None,
            reseller_id: Some(id),
            name: admin.name,
            email: admin.email,
            phone: admin.phone,
            role: Role::SuperAdmin,
            parent_id: None,
            scope: None,
            status: UserStatus::Active,
            created_at: now,
            updated_at: now,
            version: 1,
        },
        &admin.password,
    );
    let mut tx = Tx::new();
    tx.put_new(item(&reseller)?, Conflict::Exists);
    stage_new_user(&mut tx, &user, "admin.email")?;
    tx.put_audit(&audit(
        actor,
        None,
        Audited {
            action: "platform_reseller.created",
            entity: "platform_reseller",
            id: id.to_string(),
            before: None,
            after: Some(snapshot(&reseller)),
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        PlatformEvent::PlatformResellerCreated,
        None,
        serde_json::json!({"reseller_id": id, "version": 1}),
        now,
    ));
    tx.put_event(&DomainEvent::new(
        IdentityEvent::UserCreated,
        None,
        serde_json::json!({"user_id": user.user.id, "reseller_id": id, "role": "super_admin", "version": 1}),
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(reseller)
}

/// The owner sees every reseller; a reseller sees only itself.
pub async fn get_reseller(app: &App, actor: &Actor, id: Uuid) -> Result<PlatformReseller> {
    let visible = actor.can(Permission::PlatformResellersRead)
        || (actor.role == Role::SuperAdmin && actor.reseller_id == Some(id));
    if !visible {
        return Err(Error::not_found("platform reseller"));
    }
    app.store.get(&keys::platform_reseller(id)).await.or_500()?.ok_or_else(|| Error::not_found("platform reseller"))
}

pub async fn list_resellers(
    app: &App,
    actor: &Actor,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<PlatformReseller>> {
    actor.require(Permission::PlatformResellersRead)?;
    let q = Query::index("gsi1", keys::resellers_gsi1()).newest_first().limit(limit);
    app.store.query_page(Owner::Platform, "platform-resellers", q, cursor).await.or_500()
}

/// Changes name, phone, subscription end or ISP slots. Version-checked; the limit can never drop
/// below the ISPs the reseller already has (checked in the same write that counts them).
pub async fn update_reseller(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdateReseller,
    if_match: Option<u64>,
) -> Result<PlatformReseller> {
    actor.require(Permission::PlatformResellersWrite)?;
    let expected = expected_version(if_match, input.version)?;
    let now = app.now();
    let before = get_reseller(app, actor, id).await?;
    let mut after = before.clone();
    let mut v = Validation::new();
    if let Some(n) = &input.name {
        after.name = v.text("name", n, 120);
    }
    if let Some(p) = input.phone.as_update() {
        after.phone = v.optional_text("phone", p.map(String::as_str), 32);
    }
    if let Some(t) = input.subscription_expires_at {
        after.subscription_expires_at = t;
    }
    if let Some(l) = input.isp_limit {
        v.range_i64("isp_limit", l.into(), 0, MAX_ISP_LIMIT);
        after.isp_limit = l;
    }
    if let Some(p) = input.prices.as_update() {
        if let Some(p) = p {
            domain::tenant::validate_currency(&mut v, "prices.currency", &p.currency);
            v.range_i64("prices.isp_slot", p.isp_slot, 1, MAX_PRICE);
            v.range_i64("prices.month", p.month, 1, MAX_PRICE);
        }
        after.prices = p.cloned();
    }
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    after.version = expected + 1;
    after.updated_at = now;

    // An UpdateItem rather than a Put: isp_count moves concurrently as ISPs are created.
    let k = keys::platform_reseller(id);
    let mut tx = Tx::new();
    tx.update(
        &k,
        "SET #name = :name, phone = :phone, subscription_expires_at = :sxp, isp_limit = :limit, updated_at = :now, \
         prices = :prices, version = :next, v = :next",
        Some("v = :expected AND isp_count <= :limit"),
        &[("#name", "name")],
        std::collections::HashMap::from([
            (":name".to_string(), attr(&after.name)),
            (":phone".to_string(), attr(&after.phone)),
            (":sxp".to_string(), attr(&after.subscription_expires_at)),
            (":limit".to_string(), attr(&after.isp_limit)),
            (":prices".to_string(), attr(&after.prices)),
            (":now".to_string(), attr(&now)),
            (":next".to_string(), attr(&after.version)),
            (":expected".to_string(), attr(&expected)),
        ]),
        Conflict::Version,
    );
    Updated { entity: "platform_reseller", id, before: &before, after: &after }.stage(
        &mut tx,
        actor,
        None,
        DomainEvent::new(
            PlatformEvent::PlatformResellerUpdated,
            None,
            serde_json::json!({"reseller_id": id, "version": after.version}),
            now,
        ),
    );
    match app.store.commit(tx).await {
        Ok(()) => Ok(after),
        Err(store::StoreError::Conflict(Conflict::Version)) => {
            // Tell apart a stale version from a limit below the ISPs in use.
            let current = get_reseller(app, actor, id).await?;
            if current.version == expected && after.isp_limit < current.isp_count {
                Err(Error::Conflict {
                    code: "isp_limit_below_usage",
                    detail: format!("the reseller already has {} ISPs", current.isp_count),
                    field: Some("isp_limit".into()),
                })
            } else {
                Err(Error::version_conflict())
            }
        }
        Err(e) => Err(kernel::support::store_err(e)),
    }
}

/// What the daily subscription sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SubscriptionSweep {
    pub resellers_checked: u32,
    pub expiring_notices: u32,
    pub expired_notices: u32,
}

/// Resellers are warned this long before their subscription (and so their ISPs' staff access) ends.
pub const EXPIRY_WARNING: chrono::Duration = chrono::Duration::days(7);

/// The daily sweep: a reseller whose subscription ends within seven days gets
/// `PlatformSubscriptionExpiring`, one that has ended `PlatformSubscriptionExpired`, each once per
/// expiry date (a marker item is written in the same transaction as the event, so a rerun of the job
/// sends nothing twice). Renewing moves the expiry date, which arms the notices again.
pub async fn subscription_sweep(app: &App, now: DateTime<Utc>) -> Result<SubscriptionSweep> {
    let mut report = SubscriptionSweep::default();
    let mut cursor: Option<String> = None;
    loop {
        let q = Query::index("gsi1", keys::resellers_gsi1()).limit(100);
        let page: Page<PlatformReseller> =
            app.store.query_page(Owner::Platform, "platform-resellers-sweep", q, cursor.as_deref()).await.or_500()?;
        for r in &page.items {
            report.resellers_checked += 1;
            let (kind, event) = if r.subscription_expires_at <= now {
                ("expired", PlatformEvent::PlatformSubscriptionExpired)
            } else if r.subscription_expires_at - now <= EXPIRY_WARNING {
                ("expiring", PlatformEvent::PlatformSubscriptionExpiring)
            } else {
                continue;
            };
            let about = r.subscription_expires_at.to_rfc3339();
            let marker = keys::reseller_notice(r.id, kind, &about);
            let mut item =
                Store::encode(&marker, "NOTICE", &serde_json::json!({"reseller_id": r.id, "kind": kind}), None)
                    .or_500()?;
            item.insert("ttl".into(), store::ttl_at(r.subscription_expires_at + chrono::Duration::days(90)));
            let mut tx = Tx::new();
            tx.put_new(item, Conflict::Exists);
            tx.put_event(&DomainEvent::new(
                event,
                None,
                serde_json::json!({"reseller_id": r.id, "subscription_expires_at": r.subscription_expires_at, "version": r.version}),
                now,
            ));
            match app.store.commit(tx).await {
                Ok(()) if kind == "expired" => report.expired_notices += 1,
                Ok(()) => report.expiring_notices += 1,
                Err(store::StoreError::Conflict(Conflict::Exists)) => {}
                Err(e) => return Err(kernel::support::store_err(e)),
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(report),
        }
    }
}

/// A reseller's record for the notification worker.
pub async fn load_reseller(app: &App, id: Uuid) -> Result<Option<PlatformReseller>> {
    app.store.get(&keys::platform_reseller(id)).await.or_500()
}

/// The platform's request limits: its defaults and the limits they make for platform callers.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PlatformRateLimits {
    /// The platform's defaults (unset fields take the built-in values).
    pub settings: domain::rate::RateLimitSettings,
    /// The defaults in force, every field resolved.
    pub effective: domain::rate::RateLimits,
    pub version: u64,
}

fn platform_owner(actor: &Actor) -> Result<()> {
    if actor.role == Role::Developer && actor.can(Permission::TenantsWrite) {
        Ok(())
    } else {
        Err(Error::forbidden("the platform's settings are the platform owner's"))
    }
}

async fn load_settings(app: &App) -> Result<kernel::gate::PlatformSettings> {
    Ok(app.store.get(&keys::platform_settings()).await.or_500()?.unwrap_or_default())
}

fn shown(s: kernel::gate::PlatformSettings) -> PlatformRateLimits {
    PlatformRateLimits {
        effective: domain::rate::RateLimits::resolve(&s.rate_limits, None),
        settings: s.rate_limits,
        version: s.version,
    }
}

/// `GET /v1/platform/rate-limits`.
pub async fn rate_limits(app: &App, actor: &Actor) -> Result<PlatformRateLimits> {
    platform_owner(actor)?;
    Ok(shown(load_settings(app).await?))
}

/// `PUT /v1/platform/rate-limits`: the platform's defaults, as a whole (an ISP's override stays).
/// Containers apply a change within a minute.
pub async fn set_rate_limits(
    app: &App,
    actor: &Actor,
    input: domain::rate::RateLimitSettings,
    if_match: Option<u64>,
) -> Result<PlatformRateLimits> {
    platform_owner(actor)?;
    actor.require_own_identity("changing the platform's limits")?;
    let mut v = Validation::new();
    input.check(&mut v, "");
    v.finish()?;
    let before = load_settings(app).await?;
    if if_match.is_some_and(|m| m != before.version) {
        return Err(Error::version_conflict());
    }
    let after = kernel::gate::PlatformSettings { rate_limits: input, version: before.version + 1 };
    let now = app.now();
    let item = Store::encode(&keys::platform_settings(), "SETTINGS", &after, Some(after.version)).or_500()?;
    let mut tx = Tx::new();
    tx.put_read_at(item, before.version);
    tx.put_audit(&audit(
        actor,
        None,
        Audited {
            action: "platform.rate_limits_changed",
            entity: "platform_settings",
            id: "rate_limits".into(),
            before: Some(snapshot(&before.rate_limits)),
            after: Some(snapshot(&after.rate_limits)),
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    kernel::gate::forget_limits(app);
    Ok(shown(after))
}
