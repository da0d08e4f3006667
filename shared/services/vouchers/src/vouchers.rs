//! Vouchers (`/v1/vouchers`): found by code, batch, status or seller; their usage as the routers
//! counted it; staff actions (activate, disable, transfer to another seller). A change that the
//! routers must follow is written with a `VouchersChanged` event in its transaction; provisioning
//! does the rest, level-triggered.

use crate::batches::{load_batch, voucher_password};
use crate::common::{operator_user, seller_visible, write_access};
use domain::actor::Actor;
use domain::event::{DomainEvent, NetworkEvent, VouchersOnRouters};
use domain::role::Permission;
use domain::voucher::{self, Voucher, VoucherBatch, VoucherStatus};
use domain::{Error, Result};
use kernel::App;
use kernel::support::{Audited, StoreResultExt, audit, decoded, snapshot};
use serde::{Deserialize, Serialize};
use store::{Filter, Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

/// A voucher as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VoucherView {
    pub id: Uuid,
    pub code: String,
    /// Shown to those who may read subscribers' secrets (the printing staff and the seller).
    pub password: Option<String>,
    pub batch_id: Uuid,
    pub seq: u32,
    pub plan_id: Uuid,
    pub status: VoucherStatus,
    pub operator_id: Option<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub activated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub first_login_at: Option<chrono::DateTime<chrono::Utc>>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Active vouchers: seconds of validity left.
    pub seconds_left: Option<i64>,
    pub bytes_used: u64,
    pub data_limit_bytes: Option<u64>,
    pub bytes_left: Option<u64>,
    pub sold_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The price its seller paid (minor units of the ISP's currency).
    pub sold_price: Option<i64>,
    pub buyer_name: Option<String>,
    pub buyer_phone: Option<String>,
    pub version: u64,
}

pub(crate) fn show(app: &App, actor: &Actor, v: &Voucher, data_limit_bytes: Option<u64>) -> Result<VoucherView> {
    let password =
        if actor.require(Permission::SubscriptionSecretsRead).is_ok() { Some(voucher_password(app, v)?) } else { None };
    Ok(VoucherView {
        id: v.id,
        code: v.code.clone(),
        password,
        batch_id: v.batch_id,
        seq: v.seq,
        plan_id: v.plan_id,
        status: v.status,
        operator_id: v.operator_id,
        created_at: v.created_at,
        activated_at: v.activated_at,
        first_login_at: v.first_login_at,
        expires_at: v.expires_at,
        seconds_left: v.seconds_left(app.now()),
        bytes_used: v.bytes_used,
        data_limit_bytes,
        bytes_left: data_limit_bytes.map(|l| l.saturating_sub(v.bytes_used)),
        sold_at: v.sold_at,
        sold_price: v.sold_price,
        buyer_name: v.buyer_name.clone(),
        buyer_phone: v.buyer_phone.clone(),
        version: v.version,
    })
}

#[derive(Debug, Default, Clone)]
pub struct VoucherFilter {
    /// The exact code (spaces, dashes and case ignored).
    pub code: Option<String>,
    pub batch: Option<Uuid>,
    pub status: Option<VoucherStatus>,
    /// The seller (an operator or sub-operator); operators see their own subtree only.
    pub operator: Option<Uuid>,
}

/// Reads a voucher by code through its sentinel (two GetItems).
pub(crate) async fn find(app: &App, tid: Uuid, code: &str) -> Result<Option<Voucher>> {
    let code = voucher::normalize_code(code);
    let Some(item) = app.store.get_item(&keys::voucher_code(tid, &code)).await.or_500()? else {
        return Ok(None);
    };
    let place = store::string_attr(&item, "owner_id").unwrap_or_default();
    let Some((batch, seq)) = place.split_once(':') else { return Ok(None) };
    let (Ok(batch), Ok(seq)) = (batch.parse::<Uuid>(), seq.parse::<u32>()) else { return Ok(None) };
    decoded(app.store.get_item(&keys::voucher(tid, batch, seq, None)).await.or_500()?)
}

/// A voucher the caller may see, with its batch.
async fn visible(app: &App, actor: &Actor, code: &str) -> Result<(Voucher, VoucherBatch)> {
    actor.require(Permission::PackagesRead)?;
    let tid = actor.tenant()?;
    let v = find(app, tid, code).await?.ok_or_else(|| Error::not_found("voucher"))?;
    if !seller_visible(app, actor, v.operator_id).await? {
        return Err(Error::not_found("voucher"));
    }
    let batch = load_batch(app, actor, v.batch_id).await?;
    Ok((v, batch))
}

pub async fn get_voucher(app: &App, actor: &Actor, code: &str) -> Result<VoucherView> {
    let (v, batch) = visible(app, actor, code).await?;
    show(app, actor, &v, batch.data_limit_bytes())
}

/// Vouchers by code, batch, status or seller. One Query per page: a batch's partition, the
/// status index or the seller index (status as its sort key's prefix); the other criteria filter.
pub async fn list_vouchers(
    app: &App,
    actor: &Actor,
    f: VoucherFilter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<VoucherView>> {
    actor.require(Permission::PackagesRead)?;
    let tid = actor.tenant()?;
    if let Some(code) = &f.code {
        let found = match find(app, tid, code).await? {
            Some(v)
                if seller_visible(app, actor, v.operator_id).await?
                    && f.batch.is_none_or(|b| b == v.batch_id)
                    && f.status.is_none_or(|s| s == v.status)
                    && f.operator.is_none_or(|o| Some(o) == v.operator_id) =>
            {
                let batch = load_batch(app, actor, v.batch_id).await?;
                vec![show(app, actor, &v, batch.data_limit_bytes())?]
            }
            _ => Vec::new(),
        };
        return Ok(Page { items: found, next_cursor: None });
    }
    // An operator lists what it sells, or what one of its sub-operators sells.
    let seller = match (f.operator, actor.role.is_scoped()) {
        (Some(o), _) => {
            if !seller_visible(app, actor, Some(o)).await? || operator_user(app, tid, o).await?.is_none() {
                return Err(Error::field("operator", "no such operator or sub-operator you can see"));
            }
            Some(o)
        }
        (None, true) => Some(actor.user_id),
        (None, false) => None,
    };
    let mut filter = Filter::default();
    let q = match (f.batch, seller, f.status) {
        (Some(b), _, _) => {
            if let Some(s) = seller {
                filter = filter.eq("operator_id", &s.to_string());
            }
            if let Some(s) = f.status {
                filter = filter.eq("status", s.as_str());
            }
            Query::table(keys::voucher_batch_pk(tid, b)).prefix(keys::VOUCHER_PREFIX)
        }
        (None, Some(s), status) => {
            let q = Query::index("gsi2", keys::vouchers_by_seller_gsi2(tid, Some(s)));
            match status {
                Some(st) => q.prefix(format!("{}#", st.as_str())),
                None => q,
            }
        }
        (None, None, Some(st)) => Query::index("gsi1", keys::vouchers_by_status_gsi1(tid, st.as_str())),
        (None, None, None) => {
            return Err(Error::field("status", "name a code, a batch, a status or an operator to list vouchers by"));
        }
    };
    let q = if filter.expression.is_empty() { q } else { q.filter(filter) };
    let page: Page<Voucher> =
        app.store.query_page(Owner::Tenant(tid), "vouchers", q.limit(limit), cursor).await.or_500()?;
    // The page's batches (their data limits) in one BatchGetItem.
    let mut batch_ids: Vec<Uuid> = page.items.iter().map(|v| v.batch_id).collect();
    batch_ids.sort();
    batch_ids.dedup();
    let bk: Vec<store::ItemKeys> = batch_ids.iter().map(|b| keys::voucher_batch(tid, *b)).collect();
    let refs: Vec<&store::ItemKeys> = bk.iter().collect();
    let mut limits = std::collections::HashMap::new();
    for item in app.store.batch_get_many(&refs).await.or_500()?.into_iter().flatten() {
        let b: VoucherBatch = Store::decode(item).or_500()?;
        limits.insert(b.id, b.data_limit_bytes());
    }
    let mut items = Vec::new();
    for v in &page.items {
        items.push(show(app, actor, v, limits.get(&v.batch_id).copied().flatten())?);
    }
    Ok(Page { items, next_cursor: page.next_cursor })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferVoucher {
    /// The operator or sub-operator who sells it from now on; null: the ISP's own counter.
    pub operator_id: Option<Uuid>,
}

/// One versioned change of a voucher, audited, with the event the routers follow when its place
/// there changes.
async fn change(
    app: &App,
    actor: &Actor,
    before: &Voucher,
    after: Voucher,
    action: &'static str,
    routers_follow: bool,
) -> Result<Voucher> {
    let mut after = after;
    after.version = before.version + 1;
    let now = app.now();
    kernel::schedule::mark_voucher_due(app, &after).await?;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&after).or_500()?, before.version);
    if routers_follow {
        let detail =
            serde_json::to_value(VouchersOnRouters { batch_id: after.batch_id, chunk: None, seqs: vec![after.seq] })
                .map_err(|e| Error::Internal(e.to_string()))?;
        tx.put_event(&DomainEvent::new(NetworkEvent::VouchersChanged, Some(after.tenant_id), detail, now));
    }
    let strip = |v: &Voucher| {
        let mut s = snapshot(v);
        if let Some(o) = s.as_object_mut() {
            o.remove("password_sealed");
        }
        s
    };
    tx.put_audit(&audit(
        actor,
        Some(after.tenant_id),
        Audited {
            action,
            entity: "voucher",
            id: after.code.clone(),
            before: Some(strip(before)),
            after: Some(strip(&after)),
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}

fn not_now(e: voucher::NotNow) -> Error {
    Error::Conflict { code: "voucher_state", detail: e.0, field: None }
}

/// Staff start its clock now (a voucher sold at the counter, a complaint settled).
pub async fn activate(app: &App, actor: &Actor, code: &str) -> Result<VoucherView> {
    write_access(actor)?;
    let (before, batch) = visible(app, actor, code).await?;
    let mut after = before.clone();
    after.activate(&batch, app.now(), false).map_err(not_now)?;
    let v = change(app, actor, &before, after, "voucher.activated", false).await?;
    show(app, actor, &v, batch.data_limit_bytes())
}

/// Staff stop it: the routers remove it.
pub async fn disable(app: &App, actor: &Actor, code: &str) -> Result<VoucherView> {
    write_access(actor)?;
    let (before, batch) = visible(app, actor, code).await?;
    let mut after = before.clone();
    after.disable(app.now()).map_err(not_now)?;
    let v = change(app, actor, &before, after, "voucher.disabled", true).await?;
    show(app, actor, &v, batch.data_limit_bytes())
}

/// An unused voucher moves to another seller.
pub async fn transfer(app: &App, actor: &Actor, code: &str, input: TransferVoucher) -> Result<VoucherView> {
    let tid = write_access(actor)?;
    if let Some(op) = input.operator_id
        && operator_user(app, tid, op).await?.is_none()
    {
        return Err(Error::field("operator_id", "no such operator or sub-operator in this ISP"));
    }
    let (before, batch) = visible(app, actor, code).await?;
    if before.operator_id == input.operator_id {
        return show(app, actor, &before, batch.data_limit_bytes());
    }
    let mut after = before.clone();
    after.transfer(input.operator_id).map_err(not_now)?;
    let v = change(app, actor, &before, after, "voucher.transferred", false).await?;
    show(app, actor, &v, batch.data_limit_bytes())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendSms {
    /// Where to send it (absent: the buyer's phone kept with the voucher).
    pub phone: Option<String>,
}

/// What a resend answers: where the login goes (the SMS leaves through messaging).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SmsQueued {
    pub code: String,
    /// E.164.
    pub phone: String,
}

/// A phone the ISP's subscribers have, as E.164 (the ISP's country for local numbers).
pub(crate) async fn buyer_phone(app: &App, tid: Uuid, raw: &str) -> Result<String> {
    let tenant = kernel::support::load_tenant(app, tid).await?;
    domain::phone::to_e164(raw, &tenant.country).ok_or_else(|| Error::field("phone", "is not a phone number"))
}

/// The event that sends a voucher's login by SMS (its code and password are read by messaging
/// from the voucher, never carried in the event).
pub(crate) fn login_sms(v: &Voucher, phone: &str, now: chrono::DateTime<chrono::Utc>) -> Result<DomainEvent> {
    let detail = serde_json::to_value(domain::event::VoucherLoginRequested {
        batch_id: v.batch_id,
        seq: v.seq,
        phone: phone.to_string(),
    })
    .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(DomainEvent::new(NetworkEvent::VoucherLoginRequested, Some(v.tenant_id), detail, now))
}

/// The first answer of a repeated resend.
fn replayed(first: domain::idempotency::Outcome<SmsQueued>) -> Result<SmsQueued> {
    match first {
        domain::idempotency::Outcome::Fresh(v) => Ok(v),
        domain::idempotency::Outcome::Replay { body, .. } => {
            serde_json::from_str(&body).map_err(|e| Error::Internal(format!("a stored answer: {e}")))
        }
    }
}

/// Sends a voucher's login by SMS again (to its buyer, or the phone given): its seller or the
/// ISP's staff, while it can still be used. With an `Idempotency-Key`, a repeat sends nothing more
/// and answers the first.
pub async fn resend_sms(
    app: &App,
    actor: &Actor,
    code: &str,
    input: ResendSms,
    idem: Option<&kernel::idempotency::IdempotentRequest>,
) -> Result<SmsQueued> {
    actor.require(Permission::PaymentsCollect)?;
    if let Some(req) = idem
        && let Some(first) =
            kernel::idempotency::stored_answer(app, Owner::Tenant(actor.tenant()?), actor.user_id, req).await?
    {
        return replayed(first);
    }
    let (v, _) = visible(app, actor, code).await?;
    let tid = v.tenant_id;
    let raw = input
        .phone
        .or_else(|| v.buyer_phone.clone())
        .ok_or_else(|| Error::field("phone", "is required: the voucher has no buyer's phone"))?;
    let phone = buyer_phone(app, tid, &raw).await?;
    if !matches!(v.status, VoucherStatus::Unused | VoucherStatus::Active) {
        return Err(Error::Conflict {
            code: "voucher_state",
            detail: format!("the voucher is {}: its login is of no use", v.status.as_str().replace('_', " ")),
            field: None,
        });
    }
    let now = app.now();
    let mut tx = Tx::new();
    tx.put_event(&login_sms(&v, &phone, now)?);
    let answer = SmsQueued { code: v.code.clone(), phone: phone.clone() };
    if let Some(req) = idem {
        let record = kernel::idempotency::record(req, 202, &answer, app)?;
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record);
    }
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "voucher.sms_sent",
            entity: "voucher",
            id: v.code.clone(),
            before: None,
            after: Some(serde_json::json!({"phone": phone})),
        },
        now,
    ));
    match app.store.commit(tx).await {
        Ok(()) => Ok(answer),
        // The same key answered meanwhile (a concurrent repeat): its answer, nothing sent twice.
        Err(store::StoreError::Conflict(store::Conflict::Idempotency)) if idem.is_some() => {
            let req = idem.expect("checked");
            let first = kernel::idempotency::stored_answer(app, Owner::Tenant(tid), actor.user_id, req).await?;
            first.map(replayed).unwrap_or_else(|| Err(Error::version_conflict()))
        }
        Err(e) => Err(kernel::support::store_err(e)),
    }
}
