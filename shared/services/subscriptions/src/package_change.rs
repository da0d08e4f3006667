//! A subscriber's own package change from the portal, as the ISP allows it: a move to a package
//! that costs as much or more happens at once (the unused part of the old package credited, the
//! rest of the period charged at the new price, as a staff change does); a move to a cheaper one
//! is scheduled for the end of the period paid for, and the hourly expiry sweep makes it then. A
//! preview shows either before anything is written.

use crate::subscriptions::{Change, ChangeRequest, SubscriptionRecord, apply};
use billing::books::{Books, InvoiceDraft, new_invoice, subscription_scope};
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::billing::{Priced, anchor_day, package_change_lines};
use domain::invoice::InvoiceKind;
use domain::package::Package;
use domain::portal::Subscriber;
use domain::subscription::{BillingModel, ScheduledPackage, Subscription, SubscriptionStatus};
use domain::{Error, Result};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, record, replay, stored_answer};
use kernel::support::{Audited, StoreResultExt, audit, decoded};
use network::packages::{OfferRecord, live_package, selling_price};
use serde::{Deserialize, Serialize};
use store::{Conflict, Owner, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageChangeInput {
    pub package_id: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TakesEffect {
    Now,
    AtRenewal,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PreviewLine {
    pub description: String,
    pub amount: i64,
}

/// What a package change would do, before it is made.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackageChangePreview {
    pub subscription_id: Uuid,
    pub from_package: String,
    pub to_package_id: Uuid,
    pub to_package: String,
    /// The new package's price per period for this subscriber.
    pub new_price: i64,
    pub currency: String,
    pub takes_effect: TakesEffect,
    /// When it takes effect (now, or the end of the period paid for).
    pub effective_at: DateTime<Utc>,
    /// What is invoiced now (an upgrade): the old package's unused part credited, the new one
    /// charged for the rest of the period, with the ISP's tax.
    pub lines: Vec<PreviewLine>,
    pub total: i64,
}

/// A package the subscriber may move to, at their price.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackageChoice {
    pub package_id: Uuid,
    pub name: String,
    pub download_kbps: u64,
    pub upload_kbps: u64,
    pub price: i64,
    pub currency: String,
    pub takes_effect: TakesEffect,
}

/// Whether the ISP lets its subscribers make this move themselves.
fn allowed(tenant: &domain::tenant::Tenant, effect: TakesEffect) -> Result<()> {
    let ok = match effect {
        TakesEffect::Now => tenant.portal.self_upgrade,
        TakesEffect::AtRenewal => tenant.portal.self_downgrade,
    };
    if ok {
        return Ok(());
    }
    Err(Error::Forbidden {
        code: "package_change_not_allowed",
        detail: "your ISP makes this change for you; ask them".into(),
    })
}

/// The subscriber's live, active subscription (404 for anything else of anyone else's).
async fn subscription(app: &App, s: Subscriber, id: Uuid) -> Result<SubscriptionRecord> {
    let k = keys::subscription(s.tenant_id, s.customer_id, id, None, None, None);
    let rec: SubscriptionRecord = app.store.get(&k).await.or_500()?.ok_or_else(|| Error::not_found("subscription"))?;
    if rec.subscription.customer_id != s.customer_id || rec.subscription.status == SubscriptionStatus::Cancelled {
        return Err(Error::not_found("subscription"));
    }
    Ok(rec)
}

/// The end of the period the subscription has paid for: its expiry (prepaid) or the end of its
/// current month (postpaid).
fn period_end(sub: &Subscription, terms: &domain::billing::Terms, now: DateTime<Utc>) -> DateTime<Utc> {
    match sub.billing_model {
        BillingModel::Prepaid => sub.expires_at.filter(|e| *e > now).unwrap_or(now),
        BillingModel::Postpaid => {
            let anchor = anchor_day(sub, terms, sub.start_date.unwrap_or(now));
            domain::cycle::monthly_period(terms.tz, anchor, now).end
        }
    }
}

/// A package the subscription may move to, and its price for this subscriber.
async fn target(app: &App, sub: &Subscription, package_id: Uuid) -> Result<(Package, i64)> {
    let tid = sub.tenant_id;
    let bad = |m: &str| Error::field("package_id", m.to_string());
    let pk = keys::package(tid, package_id, "");
    let ok = keys::package_offer(tid, package_id, sub.operator_id.unwrap_or_default());
    let mut got = app.store.batch_get(&[&pk, &ok]).await.or_500()?.into_iter();
    let package = live_package(got.next().flatten())?.ok_or_else(|| bad("is not a package of your ISP"))?;
    let offer: Option<OfferRecord> = decoded(got.next().flatten())?;
    if !package.active || package.connection_type != sub.connection_type {
        return Err(bad("is not a package you can move to"));
    }
    if package.id == sub.package_id {
        return Err(bad("is your package already"));
    }
    let price = selling_price(&package, sub.operator_id, offer.as_ref())
        .map_err(|_| bad("is not offered to subscribers of your operator"))?;
    Ok((package, price))
}

/// `POST /v1/portal/subscriptions/{id}/package-change/preview`.
pub async fn preview(app: &App, s: Subscriber, id: Uuid, input: PackageChangeInput) -> Result<PackageChangePreview> {
    Ok(plan(app, s, id, input.package_id).await?.0)
}

/// The preview of a move, with the subscription as it was read for it.
async fn plan(
    app: &App,
    s: Subscriber,
    id: Uuid,
    package_id: Uuid,
) -> Result<(PackageChangePreview, SubscriptionRecord)> {
    let rec = subscription(app, s, id).await?;
    let sub = &rec.subscription;
    if sub.status != SubscriptionStatus::Active {
        return Err(Error::Conflict {
            code: "subscription_not_active",
            detail: format!("the subscription is {}", sub.status.as_str()),
            field: None,
        });
    }
    let (package, new_price) = target(app, sub, package_id).await?;
    let mut books = Books::load(app, s.tenant_id, s.customer_id, &[]).await?;
    let terms = books.terms();
    let now = app.now();
    let effect = if new_price >= sub.price { TakesEffect::Now } else { TakesEffect::AtRenewal };
    allowed(&books.tenant, effect)?;
    let mut preview = PackageChangePreview {
        subscription_id: sub.id,
        from_package: sub.package_name.clone(),
        to_package_id: package.id,
        to_package: package.name.clone(),
        new_price,
        currency: sub.currency.clone(),
        takes_effect: effect,
        effective_at: now,
        lines: vec![],
        total: 0,
    };
    if effect == TakesEffect::AtRenewal {
        preview.effective_at = period_end(sub, &terms, now);
        return Ok((preview, rec));
    }
    let old = live_package(app.store.get_item(&keys::package(s.tenant_id, sub.package_id, "")).await.or_500()?)?;
    let Some(old) = old else { return Ok((preview, rec)) };
    let lines = package_change_lines(
        sub,
        &Priced { name: &sub.package_name, price: sub.price, validity: old.validity },
        &Priced { name: &package.name, price: package.price, validity: package.validity },
        new_price,
        &terms,
        now,
    );
    books.load_discounts(app).await?;
    let draft = InvoiceDraft {
        id: Uuid::nil(),
        customer_id: sub.customer_id,
        scope: subscription_scope(sub),
        subscription_id: Some(sub.id),
        kind: InvoiceKind::PackageChange,
        period: None,
        lines: &lines,
    };
    let inv = new_invoice(&books.tenant, &books.discounts, draft, now);
    preview.lines =
        inv.lines.iter().map(|l| PreviewLine { description: l.description.clone(), amount: l.amount }).collect();
    preview.total = inv.total;
    Ok((preview, rec))
}

/// `POST /v1/portal/subscriptions/{id}/package-change`: an upgrade at once (the change's invoice
/// as a staff change makes it), a downgrade scheduled for the end of the period paid for.
/// `Idempotency-Key` required. Answers the subscription.
pub async fn change(
    app: &App,
    s: Subscriber,
    id: Uuid,
    input: PackageChangeInput,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Subscription>> {
    let idem = billing::books::require_key(idem, "package change")?;
    let actor = Actor::subscriber(s);
    let owner = Owner::Tenant(s.tenant_id);
    if let Some(first) = stored_answer(app, owner, actor.user_id, idem).await? {
        return Ok(first);
    }
    let (plan, rec) = plan(app, s, id, input.package_id).await?;
    if plan.takes_effect == TakesEffect::Now {
        let change = Change::ChangePackage { package_id: input.package_id };
        return apply(app, &actor, &ChangeRequest::new(s.tenant_id, s.customer_id, id, &change).idempotent(Some(idem)))
            .await;
    }
    let before = &rec.subscription;
    let now = app.now();
    let mut after = before.clone();
    after.scheduled_package = Some(ScheduledPackage {
        package_id: plan.to_package_id,
        package_name: plan.to_package.clone(),
        at: plan.effective_at,
    });
    after.version += 1;
    after.updated_at = now;
    let mut tx = Tx::new();
    let new_rec = SubscriptionRecord { subscription: after.clone(), password_sealed: rec.password_sealed.clone() };
    tx.put_versioned(Store::encode_stored(&new_rec).or_500()?, before.version);
    if let Some(old) = &before.scheduled_package {
        tx.delete(&keys::scheduled_package_change(s.tenant_id, old.at, id));
    }
    let due = DueChange {
        customer_id: s.customer_id,
        subscription_id: id,
        package_id: plan.to_package_id,
        at: plan.effective_at,
    };
    tx.put(
        Store::encode(&keys::scheduled_package_change(s.tenant_id, plan.effective_at, id), "PKG_CHANGE", &due, None)
            .or_500()?,
    );
    tx.put_audit(&audit(
        &actor,
        Some(s.tenant_id),
        Audited {
            action: "subscription.package_change_scheduled",
            entity: "subscription",
            id: id.to_string(),
            before: None,
            after: Some(serde_json::json!({"scheduled_package": after.scheduled_package})),
        },
        now,
    ));
    tx.put_idempotency(owner, &idem.key_hash(actor.user_id), &record(idem, 200, &after, app)?);
    match app.store.commit(tx).await {
        Ok(()) => Ok(Outcome::Fresh(after)),
        Err(StoreError::Conflict(Conflict::Idempotency)) => replay(app, owner, actor.user_id, idem).await,
        Err(StoreError::Conflict(_)) => Err(Error::version_conflict()),
        Err(e) => Err(kernel::support::store_err(e)),
    }
}

/// `DELETE /v1/portal/subscriptions/{id}/package-change`: the scheduled move is called off.
pub async fn cancel(app: &App, s: Subscriber, id: Uuid) -> Result<Subscription> {
    let rec = subscription(app, s, id).await?;
    let before = &rec.subscription;
    let Some(scheduled) = &before.scheduled_package else {
        return Err(Error::not_found("scheduled package change"));
    };
    let now = app.now();
    let mut after = before.clone();
    after.scheduled_package = None;
    after.version += 1;
    after.updated_at = now;
    let mut tx = Tx::new();
    let new_rec = SubscriptionRecord { subscription: after.clone(), password_sealed: rec.password_sealed.clone() };
    tx.put_versioned(Store::encode_stored(&new_rec).or_500()?, before.version);
    tx.delete(&keys::scheduled_package_change(s.tenant_id, scheduled.at, id));
    tx.put_audit(&audit(
        &Actor::subscriber(s),
        Some(s.tenant_id),
        Audited {
            action: "subscription.package_change_cancelled",
            entity: "subscription",
            id: id.to_string(),
            before: Some(serde_json::json!({"scheduled_package": before.scheduled_package})),
            after: None,
        },
        now,
    ));
    match app.store.commit(tx).await {
        Ok(()) => Ok(after),
        Err(StoreError::Conflict(_)) => Err(Error::version_conflict()),
        Err(e) => Err(kernel::support::store_err(e)),
    }
}

/// `GET /v1/portal/subscriptions/{id}/packages`: the packages the subscription may move to, at
/// the subscriber's price (the ISP's packages of its connection type; an operator's offers).
pub async fn choices(app: &App, s: Subscriber, id: Uuid) -> Result<Vec<PackageChoice>> {
    let rec = subscription(app, s, id).await?;
    let sub = &rec.subscription;
    let q = Query::index("gsi1", keys::packages_gsi1(s.tenant_id)).limit(200);
    let page: store::Page<Package> =
        app.store.query_page(Owner::Tenant(s.tenant_id), "portal-packages", q, None).await.or_500()?;
    let candidates: Vec<Package> = page
        .items
        .into_iter()
        .filter(|p| p.active && p.connection_type == sub.connection_type && p.id != sub.package_id)
        .collect();
    let offers: Vec<Option<OfferRecord>> = match sub.operator_id {
        None => candidates.iter().map(|_| None).collect(),
        Some(op) => {
            let ks: Vec<store::ItemKeys> =
                candidates.iter().map(|p| keys::package_offer(s.tenant_id, p.id, op)).collect();
            let refs: Vec<&store::ItemKeys> = ks.iter().collect();
            let got = if refs.is_empty() { vec![] } else { app.store.batch_get_many(&refs).await.or_500()? };
            got.into_iter().map(decoded).collect::<Result<_>>()?
        }
    };
    Ok(candidates
        .iter()
        .zip(offers)
        .filter_map(|(p, o)| {
            let price = selling_price(p, sub.operator_id, o.as_ref()).ok()?;
            Some(PackageChoice {
                package_id: p.id,
                name: p.name.clone(),
                download_kbps: p.download.0 / 1000,
                upload_kbps: p.upload.0 / 1000,
                price,
                currency: p.currency.clone(),
                takes_effect: if price >= sub.price { TakesEffect::Now } else { TakesEffect::AtRenewal },
            })
        })
        .collect())
}

/// A scheduled move as the sweep reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DueChange {
    customer_id: Uuid,
    subscription_id: Uuid,
    package_id: Uuid,
    at: DateTime<Utc>,
}

/// For the hourly expiry sweep: makes the ISP's scheduled moves whose time has come (a Query of
/// the ISP's schedule up to now). A move that can no longer be made (the package retired, the
/// subscription cancelled or changed meanwhile) is dropped. Answers how many were made.
pub async fn apply_due(app: &App, tid: Uuid, now: DateTime<Utc>) -> Result<usize> {
    let q = Query::table(keys::scheduled_package_changes_pk(tid))
        .range(None, format!("{}~", keys::key_time(now)))
        .limit(200);
    let (items, _) = app.store.query_page_raw(Owner::Tenant(tid), "package-changes-due", q, None).await.or_500()?;
    let system = Actor::system(tid);
    let mut made = 0;
    for item in items {
        let Some(due) = decoded::<DueChange>(Some(item))? else { continue };
        let k = keys::scheduled_package_change(tid, due.at, due.subscription_id);
        let sk = keys::subscription(tid, due.customer_id, due.subscription_id, None, None, None);
        let rec: Option<SubscriptionRecord> = app.store.get(&sk).await.or_500()?;
        let still = rec
            .as_ref()
            .and_then(|r| r.subscription.scheduled_package.as_ref())
            .is_some_and(|p| p.package_id == due.package_id && p.at == due.at);
        if still {
            let change = Change::ChangePackage { package_id: due.package_id };
            let drop_schedule = |tx: &mut Tx| {
                tx.delete(&k);
                Ok(())
            };
            let req =
                ChangeRequest::new(tid, due.customer_id, due.subscription_id, &change).with_writes(&drop_schedule);
            match apply(app, &system, &req).await {
                Ok(_) => {
                    made += 1;
                    continue;
                }
                Err(e @ (Error::Conflict { .. } | Error::Validation(_) | Error::NotFound { .. })) => {
                    // The package retired, or the subscription changed meanwhile: dropped.
                    tracing::warn!(subscription = %due.subscription_id, error = %e, "scheduled package change dropped");
                    clear_schedule(app, rec.expect("checked"), &k).await?;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        let mut tx = Tx::new();
        tx.delete(&k);
        app.store.commit(tx).await.or_500()?;
    }
    Ok(made)
}

async fn clear_schedule(app: &App, rec: SubscriptionRecord, k: &store::ItemKeys) -> Result<()> {
    let mut after = rec.subscription.clone();
    after.scheduled_package = None;
    after.version += 1;
    after.updated_at = app.now();
    let mut tx = Tx::new();
    let new_rec = SubscriptionRecord { subscription: after, password_sealed: rec.password_sealed };
    tx.put_versioned(Store::encode_stored(&new_rec).or_500()?, rec.subscription.version);
    tx.delete(k);
    match app.store.commit(tx).await {
        Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(kernel::support::store_err(e)),
    }
}
