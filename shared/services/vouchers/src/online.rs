//! Vouchers bought online: a buyer pays a plan's price through one of the ISP's gateways (a
//! checkout `for: voucher`), and on payment one of the ISP counter's unused, unsold vouchers of
//! the plan is sold to the buyer's phone and its login sent by SMS, in the transaction that marks
//! the checkout paid. Two payments racing for the same voucher: one wins it, the other (its
//! checkout's transaction failing on the voucher's version) takes the next one.

use domain::voucher::{PlanStatus, Voucher, VoucherBatch, VoucherPlan, VoucherStatus};
use domain::{Error, Result};
use kernel::App;
use kernel::support::{StoreResultExt, decoded};
use store::{Filter, Query, Store, Tx, keys};
use uuid::Uuid;

/// A plan as a hotspot's login page offers it (no internal names).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PlanOnSale {
    pub id: Uuid,
    pub name: String,
    pub validity_hours: u32,
    pub data_limit_mb: Option<u64>,
    /// The speed (RouterOS rate limit, e.g. `5M/5M`).
    pub rate_limit: String,
    pub shared_users: u32,
    pub price: i64,
    pub currency: String,
}

/// The ISP's active plans, for anyone at its hotspot (one Query of its plans).
pub async fn plans_on_sale(app: &App, tid: Uuid) -> Result<Vec<PlanOnSale>> {
    let plans: Vec<VoucherPlan> =
        app.store.query_all(Query::index("gsi1", keys::voucher_plans_gsi1(tid)).limit(200), 1000).await.or_500()?;
    Ok(plans
        .into_iter()
        .filter(|p| p.status == PlanStatus::Active)
        .map(|p| PlanOnSale {
            id: p.id,
            name: p.name,
            validity_hours: p.validity_hours,
            data_limit_mb: p.data_limit_mb,
            rate_limit: p.rate_limit,
            shared_users: p.shared_users,
            price: p.price,
            currency: p.currency,
        })
        .collect())
}

/// The plan a buyer pays for, if the ISP still sells it online: its price now, and whether a
/// voucher is left to give.
pub async fn plan_for_sale(app: &App, tid: Uuid, plan: Uuid) -> Result<VoucherPlan> {
    let p = decoded::<VoucherPlan>(app.store.get_item(&keys::voucher_plan(tid, plan, None)).await.or_500()?)?
        .filter(|p| p.tenant_id == tid && p.status == PlanStatus::Active)
        .ok_or_else(|| Error::field("voucher_plan_id", "is not an active voucher plan of this ISP"))?;
    if first_unsold(app, tid, plan).await?.is_none() {
        return Err(Error::Conflict {
            code: "no_vouchers_left",
            detail: format!("no unsold voucher of {} is left at the ISP's counter: make a batch first", p.name),
            field: Some("voucher_plan_id".into()),
        });
    }
    Ok(p)
}

/// The first unused, unsold voucher of the plan at the ISP's counter (the seller index, status
/// `unused` first), with its batch.
async fn first_unsold(app: &App, tid: Uuid, plan: Uuid) -> Result<Option<(Voucher, VoucherBatch)>> {
    let q = Query::index("gsi2", keys::vouchers_by_seller_gsi2(tid, None))
        .prefix(format!("{}#", VoucherStatus::Unused.as_str()))
        .filter(Filter::default().eq("plan_id", &plan.to_string()))
        .limit(100);
    // Pages until ten of the plan's are found (the filter is the plan), not the whole index.
    let found: Vec<Voucher> = app.store.query_all(q, 10).await.or_500()?;
    // The index is eventually consistent, and another payment may have just taken one: the first
    // few candidates as they are now (with their batches), in one BatchGetItem.
    let candidates: Vec<&Voucher> =
        found.iter().filter(|v| v.sold_at.is_none() && v.status == VoucherStatus::Unused).take(10).collect();
    let mut batch_ids: Vec<Uuid> = candidates.iter().map(|v| v.batch_id).collect();
    batch_ids.sort();
    batch_ids.dedup();
    let mut wanted: Vec<store::ItemKeys> =
        candidates.iter().map(|v| keys::voucher(tid, v.batch_id, v.seq, None)).collect();
    wanted.extend(batch_ids.iter().map(|b| keys::voucher_batch(tid, *b)));
    let mut got = app.store.batch_get_many(&wanted.iter().collect::<Vec<_>>()).await.or_500()?.into_iter();
    let now: Vec<Option<Voucher>> =
        candidates.iter().map(|_| decoded::<Voucher>(got.next().flatten())).collect::<Result<_>>()?;
    let mut batches = std::collections::HashMap::new();
    for b in &batch_ids {
        if let Some(batch) = decoded::<VoucherBatch>(got.next().flatten())? {
            batches.insert(*b, batch);
        }
    }
    for v in now.into_iter().flatten() {
        if v.sold_at.is_none()
            && v.status == VoucherStatus::Unused
            && let Some(b) = batches.get(&v.batch_id)
        {
            return Ok(Some((v, b.clone())));
        }
    }
    Ok(None)
}

/// Stages the sale of a voucher of `plan` to `phone` for `price` (what was paid) and the SMS of
/// its login. `None`: no voucher is left (the payment is kept for staff to refund).
pub async fn stage_online_sale(
    app: &App,
    tx: &mut Tx,
    tid: Uuid,
    plan: Uuid,
    phone: &str,
    price: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Voucher>> {
    let Some((before, batch)) = first_unsold(app, tid, plan).await? else { return Ok(None) };
    let mut after = before.clone();
    after.sell(&batch, now, Uuid::nil(), None, Some(phone.to_string())).map_err(|e| Error::Conflict {
        code: "voucher_state",
        detail: e.0,
        field: None,
    })?;
    after.sold_price = Some(price);
    after.version = before.version + 1;
    kernel::schedule::mark_voucher_due(app, &after).await?;
    tx.put_versioned(Store::encode_stored(&after).or_500()?, before.version);
    tx.put_event(&crate::vouchers::login_sms(&after, phone, now)?);
    Ok(Some(after))
}
