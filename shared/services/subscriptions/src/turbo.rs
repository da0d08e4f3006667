//! Turbo boost: a subscriber buys one of the package's offers from the account's credit; the
//! subscription holds it with its end time (never past the subscription's expiry), provisioning
//! applies its speed while it lasts (read against the clock), and the sweep tells provisioning
//! when one ends so the package's speed is back on time. A router that was down then converges to
//! the package's speed at its next reconcile, since the desired state has the end time in it.

use crate::subscriptions::{SubscriptionRecord, event_detail};
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::cycle::Period;
use domain::event::{DomainEvent, NetworkEvent};
use domain::invoice::{Invoice, InvoiceKind, InvoiceStatus, LineInput, LineKind};
use domain::money::format_minor;
use domain::portal::Subscriber;
use domain::subscription::SubscriptionStatus;
use domain::turbo::Turbo;
use domain::{Error, Result};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, record, replay, stored_answer};
use kernel::support::{Audited, StoreResultExt, audit, decoded};
use network::packages::live_package;
use serde::{Deserialize, Serialize};
use store::{Conflict, Owner, Query, Store, StoreError, Tx, keys, ttl_at};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyTurbo {
    /// The offer's code, from the package's `turbo_offers`.
    pub code: String,
}

/// A turbo bought: what it gives, until when, and the invoice its credit paid.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TurboBought {
    pub subscription_id: Uuid,
    pub turbo: Turbo,
    pub invoice: Invoice,
}

/// The end of a turbo as the sweep reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TurboEnd {
    tenant_id: Uuid,
    customer_id: Uuid,
    subscription_id: Uuid,
    router_id: Uuid,
    ends_at: DateTime<Utc>,
}

fn conflict(code: &'static str, detail: String) -> Error {
    Error::Conflict { code, detail, field: None }
}

/// `POST /v1/portal/subscriptions/{id}/turbo`: buys the offer from the account's credit (an
/// invoice paid at once), one turbo at a time. 409 `insufficient_credit` with nothing written when
/// the credit does not cover it (the subscriber pays the amount online first). `Idempotency-Key`
/// required: a repeat answers the first purchase.
pub async fn buy(
    app: &App,
    s: Subscriber,
    subscription_id: Uuid,
    input: BuyTurbo,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<TurboBought>> {
    let idem = billing::books::require_key(idem, "turbo purchase")?;
    let actor = Actor::subscriber(s);
    let (tid, owner) = (s.tenant_id, Owner::Tenant(s.tenant_id));
    if let Some(first) = stored_answer(app, owner, actor.user_id, idem).await? {
        return Ok(first);
    }
    let (rec, package, offer) = offer_for(app, s, subscription_id, &input.code).await?;
    let before = &rec.subscription;
    let now = app.now();
    let offer = &offer;
    let mut turbo = domain::turbo::start(&package, offer, now, before.expires_at, Uuid::nil())
        .ok_or_else(|| conflict("subscription_ending", "the subscription has no time left for a turbo".into()))?;

    let mut tx = Tx::new();
    let mut books = billing::books::Books::load(app, tid, s.customer_id, &["invoice"]).await?;
    let hours = (turbo.ends_at - turbo.starts_at).num_minutes() as f64 / 60.0;
    let line = LineInput {
        kind: LineKind::Manual,
        description: format!("{} ({}), {hours:.1} h", offer.name, before.username),
        amount: offer.price,
        package_id: Some(package.id),
        period: Some(Period { start: turbo.starts_at, end: turbo.ends_at }),
        discountable: false,
    };
    let credit = books.account.available_credit();
    let what = billing::books::ChangeBilling {
        kind: InvoiceKind::Manual,
        period: None,
        lines: vec![line],
        memo: "turbo",
        actor: Some(actor.user_id),
    };
    let invoice = billing::books::stage_change_billing(app, &mut tx, &mut books, before, what, now)
        .await?
        .ok_or_else(|| Error::Internal("a turbo's invoice was not made".into()))?;
    turbo.invoice_id = invoice.id;
    if invoice.status != InvoiceStatus::Paid {
        return Err(Error::Conflict {
            code: "insufficient_credit",
            detail: format!(
                "the turbo costs {currency} {}; your credit is {currency} {}: pay the difference online first",
                format_minor(invoice.total, &invoice.currency),
                format_minor(credit.max(0), &invoice.currency),
                currency = invoice.currency,
            ),
            field: None,
        });
    }
    let mut after = before.clone();
    after.turbo = Some(turbo.clone());
    after.version += 1;
    after.updated_at = now;
    let new_rec = SubscriptionRecord { subscription: after.clone(), password_sealed: rec.password_sealed.clone() };
    tx.put_versioned(Store::encode_stored(&new_rec).or_500()?, before.version);
    let end = TurboEnd {
        tenant_id: tid,
        customer_id: s.customer_id,
        subscription_id,
        router_id: after.router_id,
        ends_at: turbo.ends_at,
    };
    let mut end_item =
        Store::encode(&keys::turbo_end(tid, subscription_id, turbo.ends_at), "TURBO_END", &end, None).or_500()?;
    // Gone by itself a day after (the sweep deletes it when it runs).
    end_item.insert("ttl".into(), ttl_at(turbo.ends_at + chrono::Duration::days(1)));
    tx.put(end_item);
    tx.put_audit(&audit(
        &actor,
        Some(tid),
        Audited {
            action: "subscription.turbo_bought",
            entity: "subscription",
            id: subscription_id.to_string(),
            before: None,
            after: Some(serde_json::json!({"turbo": turbo, "invoice_id": invoice.id})),
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        NetworkEvent::SubscriptionTurboStarted,
        Some(tid),
        event_detail(&after, serde_json::json!({"turbo_ends_at": turbo.ends_at, "code": turbo.code})),
        now,
    ));
    let bought = TurboBought { subscription_id, turbo, invoice };
    tx.put_idempotency(owner, &idem.key_hash(actor.user_id), &record(idem, 201, &bought, app)?);
    match app.store.commit(tx).await {
        Ok(()) => Ok(Outcome::Fresh(bought)),
        Err(StoreError::Conflict(Conflict::Idempotency)) => replay(app, owner, actor.user_id, idem).await,
        // The subscription or the account changed meanwhile (another purchase, a payment).
        Err(StoreError::Conflict(_)) => Err(Error::version_conflict()),
        Err(e) => Err(kernel::support::store_err(e)),
    }
}

/// The subscriber's subscription, its package and the package's offer `code`, when the
/// subscription can take a turbo now (active, none in force): 404, 409 or 422 otherwise.
pub async fn offer_for(
    app: &App,
    s: Subscriber,
    subscription_id: Uuid,
    code: &str,
) -> Result<(SubscriptionRecord, domain::package::Package, domain::turbo::TurboOffer)> {
    let sk = keys::subscription(s.tenant_id, s.customer_id, subscription_id, None, None, None);
    let rec: SubscriptionRecord = app.store.get(&sk).await.or_500()?.ok_or_else(|| Error::not_found("subscription"))?;
    let sub = &rec.subscription;
    if sub.customer_id != s.customer_id {
        return Err(Error::not_found("subscription"));
    }
    if sub.status != SubscriptionStatus::Active {
        return Err(conflict("subscription_not_active", format!("the subscription is {}", sub.status.as_str())));
    }
    if let Some(t) = sub.turbo.as_ref().filter(|t| t.active_at(app.now())) {
        return Err(conflict("turbo_active", format!("{} lasts until {}", t.name, t.ends_at.to_rfc3339())));
    }
    let package = live_package(app.store.get_item(&keys::package(s.tenant_id, sub.package_id, "")).await.or_500()?)?
        .ok_or_else(|| Error::field("code", "the subscription's package offers no turbo"))?;
    let offer = package
        .turbo_offers
        .iter()
        .find(|o| o.code == code.trim())
        .cloned()
        .ok_or_else(|| Error::field("code", "is not a turbo offer of the subscription's package"))?;
    Ok((rec, package, offer))
}

/// A turbo paid online (`TurboCheckoutPaid`): bought from the money the checkout put in the
/// account, once per checkout (its id is the purchase's idempotency key, so a redelivered event
/// answers the first purchase). When it can no longer be bought (a turbo bought meanwhile, the
/// subscription suspended or its package changed), the money stays as the subscriber's credit:
/// `Ok(false)`. A concurrent change of the subscription or the account is an error, retried.
pub async fn buy_paid(app: &App, tenant: Uuid, paid: &domain::event::TurboCheckoutPaid) -> Result<bool> {
    let s = Subscriber { tenant_id: tenant, customer_id: paid.customer_id };
    let path = format!("/v1/portal/subscriptions/{}/turbo", paid.subscription_id);
    let body = serde_json::json!({"code": paid.code}).to_string();
    let key = format!("turbo-checkout:{}", paid.checkout_id);
    let idem = IdempotentRequest::new(key, "POST", &path, body.as_bytes());
    let input = BuyTurbo { code: paid.code.clone() };
    match buy(app, s, paid.subscription_id, input, Some(&idem)).await {
        Ok(_) => Ok(true),
        Err(e @ Error::Conflict { code: "version_conflict", .. }) => Err(e),
        Err(e @ (Error::Conflict { .. } | Error::Validation(_) | Error::NotFound { .. })) => {
            tracing::warn!(checkout = %paid.checkout_id, error = %e, "a paid turbo could not be bought; the money is credit");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// What a sweep did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TurboSweep {
    pub ended: usize,
}

/// Tells provisioning of every turbo whose end has come (`SubscriptionTurboEnded`, the end
/// removed in the same transaction, so each is told once): a Query per shard, up to `max` ends.
pub async fn end_due(app: &App, now: DateTime<Utc>, max: usize) -> Result<TurboSweep> {
    let mut report = TurboSweep::default();
    let hi = format!("{}~", keys::key_time(now));
    for shard in 0..keys::TURBO_END_SHARDS {
        let q = Query::table(keys::turbo_ends_pk(shard)).range(None, hi.clone()).limit(100);
        let page = app.store.query_page_raw(Owner::Platform, "turbo-ends", q, None).await.or_500()?;
        for chunk in page.0.chunks(40) {
            let mut tx = Tx::new();
            for item in chunk {
                let Some(end) = decoded::<TurboEnd>(Some(item.clone()))? else { continue };
                if end.ends_at > now {
                    continue;
                }
                let k = keys::turbo_end(end.tenant_id, end.subscription_id, end.ends_at);
                tx.delete_existing(&k, Conflict::Missing);
                tx.put_event(&DomainEvent::new(
                    NetworkEvent::SubscriptionTurboEnded,
                    Some(end.tenant_id),
                    serde_json::json!({"subscription_id": end.subscription_id, "customer_id": end.customer_id,
                        "router_id": end.router_id, "turbo_ended_at": end.ends_at}),
                    now,
                ));
                report.ended += 1;
            }
            match app.store.commit(tx).await {
                // Another sweep took them first.
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(kernel::support::store_err(e)),
            }
            if report.ended >= max {
                return Ok(report);
            }
        }
    }
    Ok(report)
}
