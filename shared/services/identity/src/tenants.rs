//! ISPs (tenants): created by the platform owner or a platform reseller within its slots, each with
//! its first admin.

use crate::users::{NewStaff, UserRecord, stage_new_user};
use domain::actor::Actor;
use domain::event::{DomainEvent, IdentityEvent, PlatformEvent};
use domain::platform::PlatformReseller;
use domain::role::{Permission, Role};
use domain::tenant::{
    BillingDefaults, Tenant, TenantStatus, default_country_for, validate_country, validate_currency, validate_time_zone,
};
use domain::user::{User, UserStatus};
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, record, replay};
use kernel::support::{Audited, StoreResultExt, Updated, attr, audit, expected_version, snapshot, store_err};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use store::{Conflict, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub name: String,
    pub slug: String,
    pub time_zone: String,
    pub currency: String,
    /// ISO 3166 alpha-2; defaults from the currency (BDT -> BD).
    pub country: Option<String>,
    pub billing: Option<BillingDefaults>,
    /// The platform owner may create an ISP on behalf of a reseller; a reseller always creates its own.
    pub reseller_id: Option<Uuid>,
    pub admin: NewStaff,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub time_zone: Option<String>,
    pub currency: Option<String>,
    pub country: Option<String>,
    pub billing: Option<BillingDefaults>,
    /// The subscriber portal's settings, as a whole (hosts and origins each belong to one ISP).
    pub portal: Option<domain::portal::PortalSettings>,
    /// The helpdesk's service levels per priority and reopening window, as a whole.
    pub tickets: Option<domain::ticket::TicketSettings>,
    /// The BTRC subscriber report's settings.
    pub btrc: Option<domain::regulator::BtrcSettings>,
    /// Router configuration backups: `schedule` (off, daily, weekly), `keep` per router (1-100),
    /// `on_router_daily` (the router's own daily `/system backup`, kept by a scheduler entry).
    pub router_backups: Option<domain::router_config::RouterBackupSettings>,
    /// Monitoring: `targets` (up to 5 addresses every router pings each sweep) and `thresholds`
    /// (`latency_ms`, `loss_percent`, `cpu_percent`, `interface_down`), as a whole.
    pub monitoring: Option<domain::monitoring::MonitoringSettings>,
    /// This ISP's request limits over the platform's defaults (the platform owner's to set; a
    /// field left out takes the platform's default).
    pub rate_limits: Option<domain::rate::RateLimitSettings>,
    pub version: Option<u64>,
}

/// What creating an ISP answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedTenant {
    #[serde(flatten)]
    pub tenant: Tenant,
    pub admin_user_id: Uuid,
}

fn tenant_item(t: &Tenant) -> Result<store::Item> {
    Store::encode_stored(t).or_500()
}

pub async fn create_tenant(
    app: &App,
    actor: &Actor,
    input: CreateTenant,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<CreatedTenant>> {
    actor.require(Permission::TenantsWrite)?;
    actor.require_own_identity("creating an ISP with its admin login")?;
    let reseller_id = match actor.role {
        Role::SuperAdmin => {
            if input.reseller_id.is_some_and(|r| Some(r) != actor.reseller_id) {
                return Err(Error::field("reseller_id", "a reseller creates ISPs for itself only"));
            }
            actor.reseller_id
        }
        _ => input.reseller_id,
    };
    let now = app.now();
    let mut v = Validation::new();
    let name = v.text("name", &input.name, 120);
    let slug = v.slug("slug", &input.slug);
    validate_time_zone(&mut v, "time_zone", &input.time_zone);
    validate_currency(&mut v, "currency", &input.currency);
    let country = input.country.clone().unwrap_or_else(|| default_country_for(&input.currency).to_string());
    validate_country(&mut v, "country", &country);
    let billing = input.billing.clone().unwrap_or_default();
    billing.validate(&mut v, "billing");
    let admin = input.admin.validate(&mut v, "admin");
    v.finish()?;

    let tenant = Tenant {
        id: ids::new_id(),
        reseller_id,
        name,
        slug: slug.clone(),
        time_zone: input.time_zone.clone(),
        currency: input.currency.clone(),
        country,
        billing,
        portal: Default::default(),
        tickets: Default::default(),
        btrc: Default::default(),
        router_backups: Default::default(),
        monitoring: Default::default(),
        rate_limits: Default::default(),
        status: TenantStatus::Active,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let user = UserRecord::new(
        User {
            id: ids::new_id(),
            tenant_id: Some(tenant.id),
            reseller_id,
            name: admin.name,
            email: admin.email,
            phone: admin.phone,
            role: Role::Admin,
            parent_id: None,
            scope: None,
            status: UserStatus::Active,
            created_at: now,
            updated_at: now,
            version: 1,
        },
        &admin.password,
    );
    let created = CreatedTenant { tenant: tenant.clone(), admin_user_id: user.user.id };

    let mut tx = Tx::new();
    tx.put_new(tenant_item(&tenant)?, Conflict::Exists);
    tx.put_unique(keys::tenant_slug(&slug), "slug", &tenant.id.to_string());
    if let Some(rid) = reseller_id {
        // Takes a slot; fails when the reseller has none left (or does not exist).
        tx.update(
            &keys::platform_reseller(rid),
            "SET isp_count = isp_count + :one",
            Some("attribute_exists(pk) AND isp_count < isp_limit"),
            &[],
            HashMap::from([(":one".to_string(), attr(&1u32))]),
            Conflict::Limit("isp_limit".into()),
        );
    }
    stage_new_user(&mut tx, &user, "admin.email")?;
    tx.put_audit(&audit(
        actor,
        None,
        Audited {
            action: "tenant.created",
            entity: "tenant",
            id: tenant.id.to_string(),
            before: None,
            after: Some(snapshot(&tenant)),
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        PlatformEvent::TenantCreated,
        Some(tenant.id),
        serde_json::json!({"reseller_id": reseller_id, "version": 1}),
        now,
    ));
    tx.put_event(&DomainEvent::new(
        IdentityEvent::UserCreated,
        Some(tenant.id),
        serde_json::json!({"user_id": user.user.id, "role": "admin", "version": 1}),
        now,
    ));
    // Idempotency records of platform calls live under the platform prefix, per caller.
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Platform, &req.key_hash(actor.user_id), &record(req, 201, &created, app)?);
    }
    match app.store.commit(tx).await {
        Ok(()) => Ok(Outcome::Fresh(created)),
        Err(StoreError::Conflict(Conflict::Idempotency)) if idem.is_some() => {
            replay(app, Owner::Platform, actor.user_id, idem.expect("checked")).await
        }
        Err(StoreError::Conflict(Conflict::Limit(l))) => {
            // A missing reseller fails the same condition; say which it was.
            let r: Option<PlatformReseller> =
                app.store.get(&keys::platform_reseller(reseller_id.unwrap_or_default())).await.or_500()?;
            match r {
                None => Err(Error::field("reseller_id", "no such platform reseller")),
                Some(_) => Err(store_err(StoreError::Conflict(Conflict::Limit(l)))),
            }
        }
        Err(e) => Err(store_err(e)),
    }
}

/// Who may see an ISP's platform record: the owner, its reseller, and its own staff.
fn may_see(actor: &Actor, t: &Tenant) -> bool {
    match actor.role {
        Role::Developer => true,
        Role::SuperAdmin => actor.reseller_id.is_some() && t.reseller_id == actor.reseller_id,
        _ => actor.tenant_id == Some(t.id) && actor.can(Permission::TenantSettingsRead),
    }
}

pub async fn load_tenant(app: &App, id: Uuid) -> Result<Option<Tenant>> {
    app.store.get(&keys::tenant(id, None)).await.or_500()
}

pub async fn get_tenant(app: &App, actor: &Actor, id: Uuid) -> Result<Tenant> {
    match load_tenant(app, id).await? {
        Some(t) if may_see(actor, &t) => Ok(t),
        _ => Err(Error::not_found("tenant")),
    }
}

pub async fn list_tenants(app: &App, actor: &Actor, limit: u32, cursor: Option<&str>) -> Result<Page<Tenant>> {
    actor.require(Permission::TenantsRead)?;
    match (actor.role, actor.reseller_id) {
        (Role::Developer, _) => {
            let q = Query::index("gsi1", keys::tenants_gsi1()).newest_first().limit(limit);
            app.store.query_page(Owner::Platform, "tenants", q, cursor).await.or_500()
        }
        (Role::SuperAdmin, Some(rid)) => {
            let q = Query::index("gsi2", keys::reseller_tenants_gsi2(rid)).newest_first().limit(limit);
            app.store.query_page(Owner::Platform, &format!("tenants:{rid}"), q, cursor).await.or_500()
        }
        _ => Err(Error::forbidden("only the platform owner and resellers list ISPs")),
    }
}

/// Settings: by the owner, the ISP's reseller, or the ISP's admin. Version-checked.
pub async fn update_tenant(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdateTenant,
    if_match: Option<u64>,
) -> Result<Tenant> {
    let before = get_tenant(app, actor, id).await?;
    if !(actor.can(Permission::TenantsWrite) || actor.can(Permission::TenantSettingsWrite)) {
        return Err(Error::forbidden("the role may not change ISP settings"));
    }
    let expected = expected_version(if_match, input.version)?;
    let now = app.now();
    let mut after = before.clone();
    let mut v = Validation::new();
    if let Some(n) = &input.name {
        after.name = v.text("name", n, 120);
    }
    if let Some(s) = &input.slug {
        after.slug = v.slug("slug", s);
    }
    if let Some(tz) = &input.time_zone {
        validate_time_zone(&mut v, "time_zone", tz);
        after.time_zone = tz.clone();
    }
    if let Some(c) = &input.currency {
        validate_currency(&mut v, "currency", c);
        after.currency = c.clone();
    }
    if let Some(c) = &input.country {
        validate_country(&mut v, "country", c);
        after.country = c.clone();
    }
    if let Some(b) = &input.billing {
        b.validate(&mut v, "billing");
        after.billing = b.clone();
    }
    if let Some(t) = &input.tickets {
        t.validate(&mut v, "tickets");
        after.tickets = *t;
    }
    if let Some(b) = input.btrc {
        after.btrc = b;
    }
    if let Some(b) = input.router_backups {
        b.validate(&mut v, "router_backups");
        after.router_backups = b;
    }
    if let Some(m) = &input.monitoring {
        domain::monitoring::validate_settings(&mut v, m);
        after.monitoring = m.clone();
    }
    if let Some(l) = &input.rate_limits {
        if actor.role != Role::Developer || !actor.can(Permission::TenantsWrite) {
            return Err(Error::Forbidden {
                code: "platform_setting",
                detail: "an ISP's request limits are set by the platform owner".into(),
            });
        }
        l.check_for_isp(&mut v, "rate_limits.");
        after.rate_limits = l.clone();
    }
    if let Some(p) = &input.portal {
        after.portal = p.normalised(&mut v, "portal");
        // `<code>.<portal domain>` names every ISP by its code: no ISP maps a host under it.
        let platform = format!(".{}", app.portal_domain);
        if !app.portal_domain.is_empty()
            && after.portal.hosts.iter().any(|h| h.ends_with(&platform) || *h == app.portal_domain)
        {
            v.add("portal.hosts", format!("hosts under {} are the platform's (<ISP code>.{0})", app.portal_domain));
        }
    }
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    after.version += 1;
    after.updated_at = now;
    let mut tx = Tx::new();
    tx.put_versioned(tenant_item(&after)?, expected);
    if after.slug != before.slug {
        tx.put_unique(keys::tenant_slug(&after.slug), "slug", &id.to_string());
        tx.delete_unique(keys::tenant_slug(&before.slug), &id.to_string());
    }
    // Each host and origin points at the one ISP that holds it (how a request finds its ISP).
    let pointers = |p: &domain::portal::PortalSettings| {
        p.hosts
            .iter()
            .map(|h| (keys::portal_host(h), "portal.hosts"))
            .chain(p.allowed_origins.iter().map(|o| (keys::portal_origin(o), "portal.allowed_origins")))
            .collect::<Vec<_>>()
    };
    let (old, new) = (pointers(&before.portal), pointers(&after.portal));
    for (k, field) in &new {
        if !old.iter().any(|(o, _)| o.pk == k.pk) {
            tx.put_unique(k.clone(), field, &id.to_string());
        }
    }
    for (k, _) in &old {
        if !new.iter().any(|(n, _)| n.pk == k.pk) {
            tx.delete_unique(k.clone(), &id.to_string());
        }
    }
    Updated { entity: "tenant", id, before: &before, after: &after }.stage(
        &mut tx,
        actor,
        Some(id),
        DomainEvent::new(PlatformEvent::TenantUpdated, Some(id), serde_json::json!({"version": after.version}), now),
    );
    app.store.commit(tx).await.or_500()?;
    if input.rate_limits.is_some() {
        kernel::gate::forget_limits(app);
    }
    Ok(after)
}

/// An ISP's request limits: its override and the limits in force (over the platform's defaults).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IspRateLimits {
    /// What is set for this ISP (unset fields take the platform's defaults).
    pub settings: domain::rate::RateLimitSettings,
    /// The limits in force.
    pub effective: domain::rate::RateLimits,
}

/// `GET /v1/tenants/{id}/rate-limits`: for whoever may see the ISP.
pub async fn rate_limits(app: &App, actor: &Actor, id: Uuid) -> Result<IspRateLimits> {
    let t = get_tenant(app, actor, id).await?;
    Ok(IspRateLimits { effective: kernel::gate::read_limits(app, Some(id)).await?, settings: t.rate_limits })
}

/// Suspends (or resumes) an ISP: its staff can no longer log in or refresh; subscribers keep service.
pub async fn set_tenant_status(app: &App, actor: &Actor, id: Uuid, status: TenantStatus) -> Result<Tenant> {
    actor.require(Permission::TenantsWrite)?;
    let before = get_tenant(app, actor, id).await?;
    if before.status == status {
        return Ok(before);
    }
    let now = app.now();
    let mut after = before.clone();
    after.status = status;
    after.version += 1;
    after.updated_at = now;
    let (action, event) = match status {
        TenantStatus::Suspended => ("tenant.suspended", PlatformEvent::TenantSuspended),
        TenantStatus::Active => ("tenant.resumed", PlatformEvent::TenantResumed),
    };
    let mut tx = Tx::new();
    tx.put_versioned(tenant_item(&after)?, before.version);
    tx.put_audit(&audit(
        actor,
        Some(id),
        Audited {
            action,
            entity: "tenant",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: Some(snapshot(&after)),
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(event, Some(id), serde_json::json!({"version": after.version}), now));
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}
