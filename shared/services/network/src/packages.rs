//! Service packages (`/v1/packages`) and what each operator may sell them at
//! (`/v1/packages/{id}/offers/{operator_id}`).
//!
//! Name and router profile are unique in the ISP. A package some subscription uses cannot be deleted
//! (a usage counter in the package's collection is checked in the deleting transaction), only
//! deactivated; a change that alters what routers apply says so in its `PackageUpdated` event.

use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::customer::search_fold;
use domain::event::{DomainEvent, NetworkEvent};
use domain::package::{
    BurstInput, ConnectionType, FairUsage, Package, PackageOffer, Rate, RatePair, Validity, rate_limit,
    validate_profile_name,
};
use domain::patch::Patch;
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use identity::users::UserRecord;
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record};
use kernel::projections::usage::in_use_conflict;
use kernel::support::{Audited, StoreResultExt, Updated, audit, decoded, expected_version, snapshot};
use serde::{Deserialize, Serialize};
use store::keys::UsageOf;
use store::{Conflict, Filter, Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePackage {
    pub name: String,
    pub connection_type: ConnectionType,
    /// e.g. `10M`, `512k`.
    pub download: String,
    pub upload: String,
    pub burst: Option<BurstInput>,
    /// 1 (highest) to 8 (default).
    pub priority: Option<u8>,
    /// Minor units of the ISP's currency.
    pub price: i64,
    pub validity_days: Option<u32>,
    pub validity_hours: Option<u32>,
    pub fair_usage: Option<FairUsageInput>,
    /// Profile name on the routers; defaults to the package name.
    pub router_profile: Option<String>,
    /// Boosts its subscribers may buy (at most 5).
    #[serde(default)]
    pub turbo_offers: Vec<domain::turbo::TurboOffer>,
    /// `shared` (default) or `dedicated` bandwidth.
    pub connectivity: Option<domain::package::Connectivity>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FairUsageInput {
    pub quota_mb: u64,
    /// Speed after the quota.
    pub download: String,
    pub upload: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePackage {
    pub name: Option<String>,
    pub connection_type: Option<ConnectionType>,
    pub download: Option<String>,
    pub upload: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<BurstInput>)]
    pub burst: Patch<BurstInput>,
    pub priority: Option<u8>,
    pub price: Option<i64>,
    pub validity_days: Option<u32>,
    pub validity_hours: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Option<FairUsageInput>)]
    pub fair_usage: Patch<FairUsageInput>,
    pub router_profile: Option<String>,
    /// Replaces the package's turbo offers as a whole.
    pub turbo_offers: Option<Vec<domain::turbo::TurboOffer>>,
    pub connectivity: Option<domain::package::Connectivity>,
    pub active: Option<bool>,
    pub version: Option<u64>,
}

/// A package as a caller sees it: operators see their own selling price in `price` and what they
/// pay for it in `wholesale_price`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PackageView {
    #[serde(flatten)]
    pub package: Package,
    pub wholesale_price: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageRecord {
    #[serde(flatten)]
    pub package: Package,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// An offer as stored: also the holder's subtree, so an operator lists its sub-operators' offers.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OfferRecord {
    #[serde(flatten)]
    pub offer: PackageOffer,
    pub scope: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutOffer {
    /// What the grantor charges the operator (set by the ISP, or by an operator for its sub-operators).
    pub wholesale_price: Option<i64>,
    /// What the operator sells at; never below `wholesale_price`. Defaults to the package's price.
    pub price: Option<i64>,
}

#[derive(Debug, Default, Clone)]
pub struct PackageFilter {
    pub active: Option<bool>,
    pub connection_type: Option<ConnectionType>,
}

fn rate(v: &mut Validation, field: &str, s: &str) -> Rate {
    Rate::parse(s).unwrap_or_else(|| {
        v.add(field, "must be a rate as RouterOS writes it: a number of bits/s with k, M or G (e.g. 512k, 10M)");
        Rate(0)
    })
}

fn fair_usage(v: &mut Validation, f: &FairUsageInput, download: Rate, upload: Rate) -> FairUsage {
    let d = rate(v, "fair_usage.download", &f.download);
    let u = rate(v, "fair_usage.upload", &f.upload);
    if f.quota_mb == 0 || f.quota_mb > 100_000_000 {
        v.add("fair_usage.quota_mb", "must be between 1 and 100000000");
    }
    if d.0 != 0 && d > download {
        v.add("fair_usage.download", "must not be above the package's download rate");
    }
    if u.0 != 0 && u > upload {
        v.add("fair_usage.upload", "must not be above the package's upload rate");
    }
    FairUsage { quota_mb: f.quota_mb, download: d, upload: u }
}

/// The fields every write checks the same way, from what was asked (create) or the merged result
/// of the old package and the change (update).
struct Spec<'a> {
    name: &'a str,
    download: &'a str,
    upload: &'a str,
    burst: Option<&'a BurstInput>,
    priority: u8,
    price: i64,
    fair_usage: Option<&'a FairUsageInput>,
    router_profile: &'a str,
}

struct Checked {
    name: String,
    download: Rate,
    upload: Rate,
    burst: Option<domain::package::Burst>,
    fair_usage: Option<FairUsage>,
    router_profile: String,
    rate_limit: String,
}

fn check(v: &mut Validation, s: Spec<'_>) -> Checked {
    let name = v.text("name", s.name, 80);
    let download = rate(v, "download", s.download);
    let upload = rate(v, "upload", s.upload);
    if !(1..=8).contains(&s.priority) {
        v.add("priority", "must be between 1 and 8");
    }
    v.range_i64("price", s.price, 0, 1_000_000_000_000);
    let rates_ok = download.0 != 0 && upload.0 != 0;
    let burst = match s.burst {
        Some(b) if rates_ok => b.validate(v, "burst", RatePair { upload, download }),
        _ => None,
    };
    let fair_usage = s.fair_usage.map(|f| fair_usage(v, f, download, upload));
    let router_profile = validate_profile_name(v, "router_profile", s.router_profile);
    let rate_limit = rate_limit(upload, download, burst.as_ref(), s.priority);
    Checked { name, download, upload, burst, fair_usage, router_profile, rate_limit }
}

fn unique_values(p: &Package) -> [(&'static str, String); 2] {
    [("name", search_fold(&p.name)), ("router_profile", p.router_profile.clone())]
}

fn unique_key(tenant: Uuid, field: &str, value: &str) -> store::ItemKeys {
    keys::unique(Owner::Tenant(tenant), &format!("package_{field}"), value)
}

pub async fn create_package(
    app: &App,
    actor: &Actor,
    input: CreatePackage,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Package>> {
    actor.require(Permission::PackagesWrite)?;
    let tid = actor.tenant()?;
    let tenant = kernel::support::load_tenant(app, tid).await?;
    let now = app.now();
    let mut v = Validation::new();
    let validity = Validity::from_fields(&mut v, input.validity_days, input.validity_hours);
    let c = check(
        &mut v,
        Spec {
            name: &input.name,
            download: &input.download,
            upload: &input.upload,
            burst: input.burst.as_ref(),
            priority: input.priority.unwrap_or(8),
            price: input.price,
            fair_usage: input.fair_usage.as_ref(),
            router_profile: input.router_profile.as_deref().unwrap_or(&input.name),
        },
    );
    domain::turbo::validate_offers(
        &mut v,
        "turbo_offers",
        &input.turbo_offers,
        domain::package::RatePair { download: c.download, upload: c.upload },
    );
    v.finish()?;
    let package = Package {
        id: ids::new_id(),
        tenant_id: tid,
        name: c.name,
        connection_type: input.connection_type,
        download: c.download,
        upload: c.upload,
        burst: c.burst,
        priority: input.priority.unwrap_or(8),
        price: input.price,
        currency: tenant.currency,
        validity: validity.expect("validated"),
        fair_usage: c.fair_usage,
        connectivity: input.connectivity.unwrap_or_default(),
        router_profile: c.router_profile,
        rate_limit: c.rate_limit,
        turbo_offers: input.turbo_offers,
        active: input.active.unwrap_or(true),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = Tx::new();
    tx.put_new(Store::encode_stored(&package).or_500()?, Conflict::Exists);
    for (field, value) in unique_values(&package) {
        tx.put_unique(unique_key(tid, field, &value), field, &package.id.to_string());
    }
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "package.created",
            entity: "package",
            id: package.id.to_string(),
            before: None,
            after: Some(snapshot(&package)),
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        NetworkEvent::PackageCreated,
        Some(tid),
        serde_json::json!({"package_id": package.id, "version": 1}),
        now,
    ));
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &package, app)?);
    }
    commit_create(app, tx, Owner::Tenant(tid), actor.user_id, idem, package).await
}

/// A live package of the caller's ISP.
pub async fn load_package(app: &App, tid: Uuid, id: Uuid) -> Result<Package> {
    let rec: Option<PackageRecord> = app.store.get(&keys::package(tid, id, "")).await.or_500()?;
    match rec {
        Some(r) if r.deleted_at.is_none() => Ok(r.package),
        _ => Err(Error::not_found("package")),
    }
}

/// The validity of each of the ISP's packages (one Query per page): a billing run prices renewals
/// with them.
pub async fn validities(app: &App, tid: Uuid) -> Result<std::collections::HashMap<Uuid, Validity>> {
    let q = Query::index("gsi1", keys::packages_gsi1(tid)).limit(500);
    let all: Vec<PackageRecord> = app.store.query_all(q, 100_000).await.or_500()?;
    Ok(all.into_iter().map(|r| (r.package.id, r.package.validity)).collect())
}

pub fn live_package(item: Option<store::Item>) -> Result<Option<Package>> {
    Ok(decoded::<PackageRecord>(item)?.filter(|r| r.deleted_at.is_none()).map(|r| r.package))
}

/// Operators see a package only when it is offered to them, at their own price.
pub async fn get_package(app: &App, actor: &Actor, id: Uuid) -> Result<PackageView> {
    actor.require(Permission::PackagesRead)?;
    let tid = actor.tenant()?;
    if !actor.role.is_scoped() {
        return Ok(PackageView { package: load_package(app, tid, id).await?, wholesale_price: None });
    }
    let pk = keys::package(tid, id, "");
    let ok = keys::package_offer(tid, id, actor.user_id);
    let mut got = app.store.batch_get(&[&pk, &ok]).await.or_500()?.into_iter();
    let package = live_package(got.next().flatten())?;
    let offer: Option<OfferRecord> = decoded(got.next().flatten())?;
    match (package, offer) {
        (Some(p), Some(o)) => Ok(as_offered(p, &o.offer)),
        _ => Err(Error::not_found("package")),
    }
}

fn as_offered(mut p: Package, o: &PackageOffer) -> PackageView {
    p.price = o.price;
    PackageView { package: p, wholesale_price: Some(o.wholesale_price) }
}

/// Packages by name; operators get the packages offered to them.
pub async fn list_packages(
    app: &App,
    actor: &Actor,
    filter: PackageFilter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<PackageView>> {
    actor.require(Permission::PackagesRead)?;
    let tid = actor.tenant()?;
    let keep = |p: &Package| {
        filter.active.is_none_or(|a| p.active == a) && filter.connection_type.is_none_or(|c| p.connection_type == c)
    };
    if actor.role.is_scoped() {
        let q = Query::index("gsi1", keys::offers_by_operator_gsi1(tid, actor.user_id)).limit(limit);
        let offers: Page<OfferRecord> =
            app.store.query_page(Owner::Tenant(tid), &format!("offers:{}", actor.user_id), q, cursor).await.or_500()?;
        let wanted: Vec<store::ItemKeys> =
            offers.items.iter().map(|o| keys::package(tid, o.offer.package_id, "")).collect();
        let refs: Vec<&store::ItemKeys> = wanted.iter().collect();
        let found = app.store.batch_get(&refs).await.or_500()?;
        let mut items = Vec::new();
        for (item, o) in found.into_iter().zip(&offers.items) {
            if let Some(p) = live_package(item)?.filter(|p| keep(p)) {
                items.push(as_offered(p, &o.offer));
            }
        }
        return Ok(Page { items, next_cursor: offers.next_cursor });
    }
    let mut f = Filter::default();
    if let Some(a) = filter.active {
        f = f.eq_bool("active", a);
    }
    if let Some(c) = filter.connection_type {
        f = f.eq("connection_type", c.as_str());
    }
    let mut q = Query::index("gsi1", keys::packages_gsi1(tid)).limit(limit);
    if !f.expression.is_empty() {
        q = q.filter(f);
    }
    let qid = format!("packages:{:?}:{:?}", filter.active, filter.connection_type.map(|c| c.as_str()));
    let page: Page<Package> = app.store.query_page(Owner::Tenant(tid), &qid, q, cursor).await.or_500()?;
    Ok(Page {
        items: page.items.into_iter().map(|p| PackageView { package: p, wholesale_price: None }).collect(),
        next_cursor: page.next_cursor,
    })
}

pub async fn update_package(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdatePackage,
    if_match: Option<u64>,
) -> Result<Package> {
    actor.require(Permission::PackagesWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let pk = keys::package(tid, id, "");
    let uk = keys::usage(tid, UsageOf::Package, id);
    let mut got = app.store.batch_get(&[&pk, &uk]).await.or_500()?.into_iter();
    let before = live_package(got.next().flatten())?.ok_or_else(|| Error::not_found("package"))?;
    let in_use = got.next().flatten().and_then(|i| store::number_attr(&i, "n")).unwrap_or(0);
    let now = app.now();
    let mut v = Validation::new();
    let validity = match (input.validity_days, input.validity_hours) {
        (None, None) => Some(before.validity),
        (d, h) => Validity::from_fields(&mut v, d, h),
    };
    // The merged package is checked as a whole, so a new rate is held against the kept burst.
    let download = input.download.clone().unwrap_or_else(|| before.download.to_string());
    let upload = input.upload.clone().unwrap_or_else(|| before.upload.to_string());
    let old_burst = before.burst.map(|b| BurstInput {
        limit: b.limit.to_string(),
        threshold: b.threshold.to_string(),
        time: format!("{}/{}", b.time_upload, b.time_download),
    });
    let mut burst = old_burst;
    input.burst.clone().apply_to(&mut burst);
    let old_fup = before.fair_usage.map(|f| FairUsageInput {
        quota_mb: f.quota_mb,
        download: f.download.to_string(),
        upload: f.upload.to_string(),
    });
    let mut fup = old_fup;
    input.fair_usage.clone().apply_to(&mut fup);
    let name = input.name.clone().unwrap_or_else(|| before.name.clone());
    let profile = input.router_profile.clone().unwrap_or_else(|| before.router_profile.clone());
    let priority = input.priority.unwrap_or(before.priority);
    let price = input.price.unwrap_or(before.price);
    let connection_type = input.connection_type.unwrap_or(before.connection_type);
    let c = check(
        &mut v,
        Spec {
            name: &name,
            download: &download,
            upload: &upload,
            burst: burst.as_ref(),
            priority,
            price,
            fair_usage: fup.as_ref(),
            router_profile: &profile,
        },
    );
    if connection_type != before.connection_type && in_use > 0 {
        v.add("connection_type", "cannot change while subscriptions use the package");
    }
    let turbo_offers = input.turbo_offers.clone().unwrap_or_else(|| before.turbo_offers.clone());
    domain::turbo::validate_offers(
        &mut v,
        "turbo_offers",
        &turbo_offers,
        domain::package::RatePair { download: c.download, upload: c.upload },
    );
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    let after = Package {
        name: c.name,
        connection_type,
        download: c.download,
        upload: c.upload,
        burst: c.burst,
        priority,
        price,
        validity: validity.expect("validated"),
        fair_usage: c.fair_usage,
        router_profile: c.router_profile,
        rate_limit: c.rate_limit,
        turbo_offers,
        connectivity: input.connectivity.unwrap_or(before.connectivity),
        active: input.active.unwrap_or(before.active),
        updated_at: now,
        version: before.version + 1,
        ..before.clone()
    };
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&after).or_500()?, expected);
    kernel::support::stage_unique_changes(
        &mut tx,
        &unique_values(&before),
        &unique_values(&after),
        |f, v| unique_key(tid, f, v),
        &id.to_string(),
    );
    Updated { entity: "package", id, before: &before, after: &after }.stage(
        &mut tx,
        actor,
        Some(tid),
        DomainEvent::new(
            NetworkEvent::PackageUpdated,
            Some(tid),
            serde_json::json!({
                "package_id": id,
                "version": after.version,
                "subscriptions": in_use,
                "provisioning_changed": before.provisioning_differs(&after),
            }),
            now,
        ),
    );
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}

/// Deletes a package no subscription uses (409 `package_in_use` otherwise: deactivate it instead).
/// The record stays for history; it leaves listings, its offers go, its name is free again.
pub async fn delete_package(app: &App, actor: &Actor, id: Uuid, if_match: Option<u64>) -> Result<()> {
    actor.require(Permission::PackagesWrite)?;
    let tid = actor.tenant()?;
    let before = load_package(app, tid, id).await?;
    if if_match.is_some_and(|v| v != before.version) {
        return Err(Error::version_conflict());
    }
    let offers: Page<OfferRecord> = app
        .store
        .query_page(
            Owner::Tenant(tid),
            "package-offers",
            Query::table(keys::package_pk(tid, id)).prefix("OFFER#").limit(90),
            None,
        )
        .await
        .or_500()?;
    let now = app.now();
    let mut gone = before.clone();
    gone.version += 1;
    gone.active = false;
    gone.updated_at = now;
    let rec = PackageRecord { package: gone.clone(), deleted_at: Some(now) };
    let mut item = Store::encode(&keys::package(tid, id, ""), "PACKAGE", &rec, Some(gone.version)).or_500()?;
    item.remove("gsi1pk");
    item.remove("gsi1sk");
    let mut tx = Tx::new();
    tx.put_versioned(item, before.version);
    kernel::projections::usage::stage_usage_zero(&mut tx, tid, UsageOf::Package, id, "package_in_use");
    for o in &offers.items {
        tx.delete(&keys::package_offer(tid, id, o.offer.operator_id));
    }
    for (field, value) in unique_values(&before) {
        tx.delete_unique(unique_key(tid, field, &value), &id.to_string());
    }
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "package.deleted",
            entity: "package",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: None,
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        NetworkEvent::PackageDeleted,
        Some(tid),
        serde_json::json!({"package_id": id, "version": gone.version}),
        now,
    ));
    app.store.commit(tx).await.map_err(in_use_conflict("package"))
}

// ---- offers ------------------------------------------------------------------------------------

/// Who is setting an offer, relative to its holder.
enum OfferRole {
    /// The ISP (admin, manager): any price.
    Isp,
    /// An operator for one of its sub-operators: not below what the ISP charges the operator.
    ParentOperator { floor: i64 },
    /// The holder itself: only its selling price.
    Holder,
}

/// Sets what an operator pays for a package and sells it at.
pub async fn put_offer(
    app: &App,
    actor: &Actor,
    package_id: Uuid,
    operator_id: Uuid,
    input: PutOffer,
) -> Result<PackageOffer> {
    actor.require(Permission::PackagesRead)?;
    let tid = actor.tenant()?;
    let pk = keys::package(tid, package_id, "");
    let hk = keys::user(Some(tid), operator_id);
    let ok = keys::package_offer(tid, package_id, operator_id);
    let mine = keys::package_offer(tid, package_id, actor.user_id);
    let mut got = app.store.batch_get(&[&pk, &hk, &ok, &mine]).await.or_500()?.into_iter();
    let package = live_package(got.next().flatten())?.ok_or_else(|| Error::not_found("package"))?;
    let holder: Option<UserRecord> = decoded(got.next().flatten())?;
    let existing: Option<OfferRecord> = decoded(got.next().flatten())?;
    let own: Option<OfferRecord> = decoded(got.next().flatten())?;
    let holder = holder.filter(|h| h.user.role.is_scoped() && actor.sees_scope(h.user.scope.as_deref()));
    let Some(holder) = holder else {
        return Err(Error::not_found("operator"));
    };
    let role = if operator_id == actor.user_id {
        OfferRole::Holder
    } else if actor.can(Permission::PackagesWrite) {
        OfferRole::Isp
    } else if actor.role.is_scoped() && actor.can(Permission::UsersWrite) {
        match own {
            Some(o) => OfferRole::ParentOperator { floor: o.offer.wholesale_price },
            None => return Err(Error::forbidden("the package is not offered to you")),
        }
    } else {
        return Err(Error::forbidden(format!("the {} role may not set package offers", actor.role)));
    };
    let mut v = Validation::new();
    let wholesale = match (&role, input.wholesale_price, &existing) {
        (OfferRole::Holder, Some(w), Some(e)) if w != e.offer.wholesale_price => {
            v.add("wholesale_price", "is set by whoever offers you the package");
            e.offer.wholesale_price
        }
        (OfferRole::Holder, _, None) => return Err(Error::not_found("offer")),
        (OfferRole::Holder, _, Some(e)) => e.offer.wholesale_price,
        (_, Some(w), _) => w,
        (_, None, Some(e)) => e.offer.wholesale_price,
        (_, None, None) => {
            v.add("wholesale_price", "is required for a new offer");
            0
        }
    };
    v.range_i64("wholesale_price", wholesale, 0, 1_000_000_000_000);
    if let OfferRole::ParentOperator { floor } = role
        && wholesale < floor
    {
        v.add("wholesale_price", format!("must not be below what you pay for the package ({floor})"));
    }
    let price = input.price.or(existing.as_ref().map(|e| e.offer.price)).unwrap_or(package.price);
    if price < wholesale {
        v.add("price", format!("must not be below the wholesale price ({wholesale})"));
    }
    v.range_i64("price", price, 0, 1_000_000_000_000);
    v.finish()?;
    let now = app.now();
    let offer = PackageOffer {
        package_id,
        operator_id,
        wholesale_price: wholesale,
        price,
        updated_by: actor.user_id,
        updated_at: now,
    };
    let rec = OfferRecord { offer: offer.clone(), scope: holder.user.scope.clone() };
    let mut tx = Tx::new();
    tx.put(Store::encode(&ok, "PACKAGE_OFFER", &rec, None).or_500()?);
    // The package must still be there when the offer lands.
    tx.check(&pk, "attribute_exists(pk) AND attribute_not_exists(deleted_at)", Default::default(), Conflict::Missing);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "package.offer_set",
            entity: "package",
            id: package_id.to_string(),
            before: existing.as_ref().map(snapshot),
            after: Some(snapshot(&rec)),
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        NetworkEvent::PackageOfferSet,
        Some(tid),
        serde_json::json!({"package_id": package_id, "operator_id": operator_id}),
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(offer)
}

pub async fn delete_offer(app: &App, actor: &Actor, package_id: Uuid, operator_id: Uuid) -> Result<()> {
    actor.require(Permission::PackagesRead)?;
    let tid = actor.tenant()?;
    let ok = keys::package_offer(tid, package_id, operator_id);
    let existing: OfferRecord = app.store.get(&ok).await.or_500()?.ok_or_else(|| Error::not_found("offer"))?;
    let grantor = actor.can(Permission::PackagesWrite)
        || (actor.role.is_scoped()
            && actor.can(Permission::UsersWrite)
            && operator_id != actor.user_id
            && actor.sees_scope(existing.scope.as_deref()));
    if !actor.sees_scope(existing.scope.as_deref()) {
        return Err(Error::not_found("offer"));
    }
    if !grantor {
        return Err(Error::forbidden("only whoever offers a package can withdraw it"));
    }
    let now = app.now();
    let mut tx = Tx::new();
    tx.delete(&ok);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "package.offer_withdrawn",
            entity: "package",
            id: package_id.to_string(),
            before: Some(snapshot(&existing)),
            after: None,
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        NetworkEvent::PackageOfferWithdrawn,
        Some(tid),
        serde_json::json!({"package_id": package_id, "operator_id": operator_id}),
        now,
    ));
    app.store.commit(tx).await.or_500()
}

/// The offers of a package: all of them for the ISP, an operator's own and its sub-operators'.
pub async fn list_offers(app: &App, actor: &Actor, package_id: Uuid) -> Result<Vec<PackageOffer>> {
    actor.require(Permission::PackagesRead)?;
    let tid = actor.tenant()?;
    let page: Page<OfferRecord> = app
        .store
        .query_page(
            Owner::Tenant(tid),
            "package-offers",
            Query::table(keys::package_pk(tid, package_id)).prefix("OFFER#").limit(200),
            None,
        )
        .await
        .or_500()?;
    let visible: Vec<PackageOffer> =
        page.items.into_iter().filter(|o| actor.sees_scope(o.scope.as_deref())).map(|o| o.offer).collect();
    if actor.role.is_scoped() && !visible.iter().any(|o| o.operator_id == actor.user_id) {
        return Err(Error::not_found("package"));
    }
    if !actor.role.is_scoped() {
        load_package(app, tid, package_id).await?;
    }
    Ok(visible)
}

/// The price the owner of a customer sells `package` at: the ISP's list price, or the operator's
/// offer (which must exist).
pub fn selling_price(package: &Package, operator: Option<Uuid>, offer: Option<&OfferRecord>) -> Result<i64> {
    match (operator, offer) {
        (None, _) => Ok(package.price),
        (Some(_), Some(o)) => Ok(o.offer.price),
        (Some(_), None) => Err(Error::field("package_id", "is not offered to the customer's operator")),
    }
}
