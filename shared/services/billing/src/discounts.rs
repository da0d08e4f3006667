//! Discounts (`/v1/billing/discounts`): fixed or percent, for one customer or one package, with
//! a validity window. They price invoices issued while they are valid; issued invoices keep what
//! they were priced with.

use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::event::{BillingEvent, DomainEvent};
use domain::invoice::{Discount, DiscountTarget, DiscountValue};
use domain::patch::Patch;
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, record, replay};
use kernel::support::{Audited, StoreResultExt, Updated, audit, decoded, expected_version, snapshot, store_err};
use serde::Deserialize;
use store::{Conflict, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDiscount {
    pub name: String,
    pub value: DiscountValue,
    pub target: DiscountTarget,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    /// Default true.
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDiscount {
    pub name: Option<String>,
    pub value: Option<DiscountValue>,
    #[serde(default)]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub valid_from: Patch<DateTime<Utc>>,
    #[serde(default)]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub valid_until: Patch<DateTime<Utc>>,
    pub active: Option<bool>,
    /// The version read (or send If-Match).
    pub version: Option<u64>,
}

/// A fixed discount is at most 10 million in major units; a percent one 0.01%-100%.
const MAX_FIXED: i64 = 1_000_000_000;

fn check(v: &mut Validation, d: &Discount) {
    match d.value {
        DiscountValue::Fixed { amount } => v.range_i64("value.amount", amount, 1, MAX_FIXED),
        DiscountValue::Percent { bps } => v.range_i64("value.bps", bps, 1, 10_000),
    }
    if let (Some(f), Some(u)) = (d.valid_from, d.valid_until)
        && u <= f
    {
        v.add("valid_until", "must be after valid_from");
    }
}

/// What the discount is for must exist in the ISP (checked inside the writing transaction).
fn stage_target_check(tx: &mut Tx, tid: Uuid, target: DiscountTarget) {
    let (k, field) = match target {
        DiscountTarget::Customer(c) => (keys::customer(tid, c, None), "target"),
        DiscountTarget::Package(p) => (keys::package(tid, p, ""), "target"),
    };
    let cond = "attribute_exists(pk) AND attribute_not_exists(deleted_at)";
    tx.check(&k, cond, Default::default(), Conflict::Unique(field.into()));
}

fn target_missing(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(Conflict::Unique(_)) => Error::field("target", "names no customer or package of this ISP"),
        e => store_err(e),
    }
}

fn event(name: BillingEvent, d: &Discount, now: DateTime<Utc>) -> DomainEvent {
    DomainEvent::new(name, Some(d.tenant_id), serde_json::json!({"discount_id": d.id, "version": d.version}), now)
}

pub async fn create_discount(
    app: &App,
    actor: &Actor,
    input: CreateDiscount,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Discount>> {
    actor.require(Permission::BillingWrite)?;
    let tid = actor.tenant()?;
    let now = app.now();
    let mut v = Validation::new();
    let name = v.text("name", &input.name, 100);
    let d = Discount {
        id: ids::new_id(),
        tenant_id: tid,
        name,
        value: input.value,
        target: input.target,
        valid_from: input.valid_from,
        valid_until: input.valid_until,
        active: input.active.unwrap_or(true),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    check(&mut v, &d);
    v.finish()?;
    let mut tx = Tx::new();
    tx.put_new(Store::encode_stored(&d).or_500()?, Conflict::Exists);
    stage_target_check(&mut tx, tid, d.target);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "discount.created",
            entity: "discount",
            id: d.id.to_string(),
            before: None,
            after: Some(snapshot(&d)),
        },
        now,
    ));
    tx.put_event(&event(BillingEvent::DiscountCreated, &d, now));
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &d, app)?);
    }
    match app.store.commit(tx).await {
        Ok(()) => Ok(Outcome::Fresh(d)),
        Err(StoreError::Conflict(Conflict::Idempotency)) if idem.is_some() => {
            replay(app, Owner::Tenant(tid), actor.user_id, idem.expect("checked")).await
        }
        Err(e) => Err(target_missing(e)),
    }
}

pub async fn get_discount(app: &App, actor: &Actor, id: Uuid) -> Result<Discount> {
    actor.require(Permission::BillingRead)?;
    let tid = actor.tenant()?;
    decoded(app.store.get_item(&keys::discount(tid, id)).await.or_500()?)?.ok_or_else(|| Error::not_found("discount"))
}

/// The ISP's discounts, in creation order.
pub async fn list_discounts(app: &App, actor: &Actor, limit: u32, cursor: Option<&str>) -> Result<Page<Discount>> {
    actor.require(Permission::BillingRead)?;
    let tid = actor.tenant()?;
    let q = Query::index("gsi1", keys::discounts_gsi1(tid)).limit(limit);
    app.store.query_page(Owner::Tenant(tid), "discounts", q, cursor).await.or_500()
}

pub async fn update_discount(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdateDiscount,
    if_match: Option<u64>,
) -> Result<Discount> {
    actor.require(Permission::BillingWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let before = get_discount(app, actor, id).await?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    let now = app.now();
    let mut v = Validation::new();
    let mut d = before.clone();
    if let Some(n) = &input.name {
        d.name = v.text("name", n, 100);
    }
    d.value = input.value.unwrap_or(d.value);
    input.valid_from.apply_to(&mut d.valid_from);
    input.valid_until.apply_to(&mut d.valid_until);
    d.active = input.active.unwrap_or(d.active);
    check(&mut v, &d);
    v.finish()?;
    d.version += 1;
    d.updated_at = now;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&d).or_500()?, expected);
    Updated { entity: "discount", id, before: &before, after: &d }.stage(
        &mut tx,
        actor,
        Some(tid),
        event(BillingEvent::DiscountUpdated, &d, now),
    );
    app.store.commit(tx).await.map_err(store_err)?;
    Ok(d)
}

pub async fn delete_discount(app: &App, actor: &Actor, id: Uuid) -> Result<()> {
    actor.require(Permission::BillingWrite)?;
    let tid = actor.tenant()?;
    let before = get_discount(app, actor, id).await?;
    let now = app.now();
    let mut tx = Tx::new();
    tx.delete_existing(&keys::discount(tid, id), Conflict::Missing);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "discount.deleted",
            entity: "discount",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: None,
        },
        now,
    ));
    tx.put_event(&event(BillingEvent::DiscountDeleted, &before, now));
    match app.store.commit(tx).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(Conflict::Missing)) => Err(Error::not_found("discount")),
        Err(e) => Err(store_err(e)),
    }
}
