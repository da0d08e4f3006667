//! Voucher batches (`/v1/voucher-batches`): up to 10,000 vouchers of one plan, for a router, a POP
//! or all the ISP's routers, sold by the ISP or an operator. The request stores the batch and one
//! chunk event per 500 vouchers (`VoucherChunkReady`); `worker-imports` generates each chunk
//! ([`generate_chunk`]): codes from the OS's CSPRNG, each code's sentinel written with its voucher,
//! so a code is unique in the ISP and a redelivered chunk makes nothing twice. Each generated chunk
//! asks provisioning to put its vouchers on the routers (`VouchersGenerated`).

use crate::common::{operator_user, password_aad, seller_visible, write_access};
use domain::actor::Actor;
use domain::event::{ChunkReady, DomainEvent, NetworkEvent, VouchersOnRouters};
use domain::role::Permission;
use domain::voucher::{self, PasswordMode, Placement, PlanStatus, Voucher, VoucherBatch, VoucherPlan, VoucherStatus};
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record, require_key};
use kernel::support::{Audited, StoreResultExt, audit, decoded, load_tenant, open_text, store_err};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use store::{Conflict, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBatch {
    pub plan_id: Uuid,
    /// 1 to 10,000.
    pub quantity: u32,
    /// Up to 6 letters or digits before the random part (e.g. the café's initials).
    #[serde(default)]
    pub prefix: String,
    /// Random symbols after the prefix, 6-16 (default 8): 31 symbols without 0/O, 1/I/L.
    #[serde(default = "eight")]
    pub code_length: u8,
    #[serde(default = "same")]
    pub password_mode: PasswordMode,
    pub placement: Placement,
    /// The operator or sub-operator who sells them; absent: the ISP's own counter.
    pub operator_id: Option<Uuid>,
    pub note: Option<String>,
    /// The hotspot's login page for the cards' QR codes (default `http://10.5.50.1/login`,
    /// RouterOS's hotspot address).
    pub login_url: Option<String>,
    /// Made for one buyer: kept with each voucher.
    pub buyer_name: Option<String>,
    pub buyer_phone: Option<String>,
    /// Send each voucher's login to `buyer_phone` by SMS once made (at most 20 vouchers).
    #[serde(default)]
    pub send_sms: bool,
}

fn eight() -> u8 {
    8
}

fn same() -> PasswordMode {
    PasswordMode::SameAsCode
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Vouchers are still being generated.
    Generating,
    /// All vouchers exist (they reach the routers through provisioning).
    Ready,
}

/// The last provisioning outcome of a batch's vouchers on one router.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouterOutcome {
    pub router_id: Uuid,
    /// Vouchers that match the router (present while unused or active, gone otherwise).
    pub converged: u64,
    pub failed: u64,
    pub last_error: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A batch as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchView {
    #[serde(flatten)]
    pub batch: VoucherBatch,
    pub status: BatchStatus,
    pub generated: u64,
    pub routers: Vec<RouterOutcome>,
}

/// Fetches a batch the caller may see (an operator: its own subtree's).
pub async fn load_batch(app: &App, actor: &Actor, id: Uuid) -> Result<VoucherBatch> {
    actor.require(Permission::PackagesRead)?;
    let tid = actor.tenant()?;
    let batch: VoucherBatch = decoded(app.store.get_item(&keys::voucher_batch(tid, id)).await.or_500()?)?
        .filter(|b: &VoucherBatch| b.tenant_id == tid)
        .ok_or_else(|| Error::not_found("voucher batch"))?;
    if !seller_visible(app, actor, batch.operator_id).await? {
        return Err(Error::not_found("voucher batch"));
    }
    Ok(batch)
}

async fn routers_for(app: &App, actor: &Actor, tid: Uuid, placement: Placement) -> Result<Vec<Uuid>> {
    let ids: Vec<Uuid> = match placement {
        Placement::Router { router_id } => {
            network::routers::get_router(app, actor, router_id).await.map_err(|e| match e {
                Error::NotFound { .. } => Error::field("placement", "no such router in this ISP"),
                e => e,
            })?;
            vec![router_id]
        }
        Placement::Pop { pop_id } => network::routers::all_routers(app, tid)
            .await?
            .into_iter()
            .filter(|r| r.pop_id == Some(pop_id))
            .map(|r| r.id)
            .collect(),
        Placement::All => network::routers::all_routers(app, tid).await?.into_iter().map(|r| r.id).collect(),
    };
    if ids.is_empty() {
        return Err(Error::field("placement", "no router of this ISP is there: vouchers need a hotspot router"));
    }
    Ok(ids)
}

/// Makes a batch: checked, stored with its chunk events; the vouchers follow in the worker.
pub async fn create_batch(
    app: &App,
    actor: &Actor,
    input: CreateBatch,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<BatchView>> {
    let tid = write_access(actor)?;
    let idem = require_key(idem, "voucher batch")?;
    let mut v = Validation::new();
    let prefix = voucher::check_batch(&mut v, input.quantity, &input.prefix, input.code_length);
    let note = v.optional_text("note", input.note.as_deref(), 120);
    let login_url = voucher::check_login_url(&mut v, input.login_url.as_deref().unwrap_or(voucher::DEFAULT_LOGIN_URL));
    let buyer_name = v.optional_text("buyer_name", input.buyer_name.as_deref(), 120);
    let raw_phone = v.optional_text("buyer_phone", input.buyer_phone.as_deref(), 32);
    if input.send_sms && raw_phone.is_none() {
        v.add("buyer_phone", "is required to send the logins by SMS");
    }
    if input.send_sms && input.quantity > voucher::MAX_SMS_BATCH {
        v.add("send_sms", format!("at most {} vouchers are sent by SMS to one phone", voucher::MAX_SMS_BATCH));
    }
    v.finish()?;
    let buyer_phone = match raw_phone {
        Some(p) => Some(
            crate::vouchers::buyer_phone(app, tid, &p)
                .await
                .map_err(|_| Error::field("buyer_phone", "is not a phone number"))?,
        ),
        None => None,
    };
    let plan: VoucherPlan = decoded(app.store.get_item(&keys::voucher_plan(tid, input.plan_id, None)).await.or_500()?)?
        .filter(|p: &VoucherPlan| p.tenant_id == tid)
        .ok_or_else(|| Error::field("plan_id", "no such voucher plan in this ISP"))?;
    if plan.status == PlanStatus::Retired {
        return Err(Error::field("plan_id", "the plan is retired: no new batches"));
    }
    if let Some(op) = input.operator_id
        && operator_user(app, tid, op).await?.is_none()
    {
        return Err(Error::field("operator_id", "no such operator or sub-operator in this ISP"));
    }
    let router_ids = routers_for(app, actor, tid, input.placement).await?;
    let tenant = load_tenant(app, tid).await?;
    let now = app.now();
    let chunks = input.quantity.div_ceil(voucher::BATCH_CHUNK);
    let batch = VoucherBatch {
        id: ids::new_id(),
        tenant_id: tid,
        plan_id: plan.id,
        plan_name: plan.name.clone(),
        validity_hours: plan.validity_hours,
        validity_from: plan.validity_from,
        data_limit_mb: plan.data_limit_mb,
        price: plan.price,
        currency: tenant.currency.clone(),
        quantity: input.quantity,
        prefix,
        code_length: input.code_length,
        password_mode: input.password_mode,
        placement: input.placement,
        router_ids: router_ids.clone(),
        operator_id: input.operator_id,
        note,
        login_url,
        buyer_name,
        buyer_phone,
        send_sms: input.send_sms,
        chunks,
        created_by: actor.real_actor(),
        created_at: now,
    };
    // The routers' index first: an entry whose batch never got stored names nothing and is skipped.
    let index: Vec<store::Item> = router_ids
        .iter()
        .map(|r| {
            Store::encode(
                &keys::router_voucher_batch(tid, *r, batch.id),
                "ROUTER_VBATCH",
                &serde_json::json!({ "batch_id": batch.id }),
                None,
            )
        })
        .collect::<std::result::Result<_, _>>()
        .or_500()?;
    app.store.put_many(index).await.or_500()?;
    let view = BatchView { batch: batch.clone(), status: BatchStatus::Generating, generated: 0, routers: Vec::new() };
    let owner = Owner::Tenant(tid);
    let mut tx = Tx::new();
    tx.put_new(Store::encode_stored(&batch).or_500()?, Conflict::Exists);
    for n in 0..chunks {
        let detail = serde_json::to_value(ChunkReady { job_id: batch.id, chunk: n })
            .map_err(|e| Error::Internal(e.to_string()))?;
        tx.put_event(&DomainEvent::new(NetworkEvent::VoucherChunkReady, Some(tid), detail, now));
    }
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "voucher_batch.created",
            entity: "voucher_batch",
            id: batch.id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "plan": batch.plan_name, "quantity": batch.quantity, "routers": batch.router_ids.len(),
                "operator_id": batch.operator_id,
            })),
        },
        now,
    ));
    tx.put_idempotency(owner, &idem.key_hash(actor.user_id), &record(idem, 201, &view, app)?);
    commit_create(app, tx, owner, actor.user_id, Some(idem), view).await
}

/// Vouchers generated per chunk, summed from the per-chunk counters (one Query).
async fn generated(app: &App, tid: Uuid, batch: Uuid) -> Result<(u64, Vec<RouterOutcome>)> {
    let q = Query::table(keys::voucher_batch_pk(tid, batch)).prefix(keys::VOUCHER_PROGRESS_PREFIX).limit(100);
    let items = app.store.query_all_items(q, 100).await.or_500()?;
    let total = items.iter().filter_map(|i| store::number_attr(i, "generated")).sum();
    let q = Query::table(keys::voucher_batch_pk(tid, batch)).prefix(keys::VOUCHER_ROUTER_PREFIX).limit(100);
    let routers: Vec<RouterOutcome> = app.store.query_all(q, 10_000).await.or_500()?;
    Ok((total, routers))
}

fn view(batch: VoucherBatch, generated: u64, routers: Vec<RouterOutcome>) -> BatchView {
    let status = if generated >= u64::from(batch.quantity) { BatchStatus::Ready } else { BatchStatus::Generating };
    BatchView { batch, status, generated, routers }
}

pub async fn get_batch(app: &App, actor: &Actor, id: Uuid) -> Result<BatchView> {
    let batch = load_batch(app, actor, id).await?;
    let (n, routers) = generated(app, batch.tenant_id, id).await?;
    Ok(view(batch, n, routers))
}

/// The ISP's batches, newest first (an operator's: those it sells).
pub async fn list_batches(app: &App, actor: &Actor, limit: u32, cursor: Option<&str>) -> Result<Page<BatchView>> {
    actor.require(Permission::PackagesRead)?;
    let tid = actor.tenant()?;
    let mut q = Query::index("gsi1", keys::voucher_batches_gsi1(tid)).newest_first().limit(limit);
    if actor.role.is_scoped() {
        q = q.filter(store::Filter::default().eq("operator_id", &actor.user_id.to_string()));
    }
    let page: Page<VoucherBatch> =
        app.store.query_page(Owner::Tenant(tid), "voucher-batches", q, cursor).await.or_500()?;
    let mut items = Vec::new();
    for b in page.items {
        let (n, routers) = generated(app, tid, b.id).await?;
        items.push(view(b, n, routers));
    }
    Ok(Page { items, next_cursor: page.next_cursor })
}

/// Every voucher of a batch in sequence order (one Query per ~1 MB).
pub async fn batch_vouchers(app: &App, tid: Uuid, batch: Uuid) -> Result<Vec<Voucher>> {
    let q = Query::table(keys::voucher_batch_pk(tid, batch)).prefix(keys::VOUCHER_PREFIX).limit(1000);
    app.store.query_all(q, voucher::MAX_BATCH as usize).await.or_500()
}

/// The batch's vouchers from `first` to `last` (0-based sequence numbers), in order.
pub async fn batch_vouchers_between(app: &App, tid: Uuid, batch: Uuid, first: u32, last: u32) -> Result<Vec<Voucher>> {
    let q = Query::table(keys::voucher_batch_pk(tid, batch))
        .range(Some(keys::voucher_sk(first)), keys::voucher_sk(last))
        .limit(1000);
    app.store.query_all(q, (last - first + 1) as usize).await.or_500()
}

/// A voucher's password: its code, or its own sealed one.
pub fn voucher_password(app: &App, v: &Voucher) -> Result<String> {
    match &v.password_sealed {
        None => Ok(v.code.clone()),
        Some(sealed) => open_text(&app.secrets, sealed, &password_aad(v.tenant_id, &v.code), "voucher password"),
    }
}

#[cfg(feature = "export")]
/// One printed line per voucher (code, password, plan, price, validity, status), for the ISP's
/// own printing or a spreadsheet (CSV or XLSX). Only for those who may print them: the ISP's
/// staff and the batch's seller.
pub async fn export_sheet(app: &App, actor: &Actor, id: Uuid, format: domain::export::Format) -> Result<Vec<u8>> {
    actor.require(Permission::SubscriptionSecretsRead)?;
    let batch = load_batch(app, actor, id).await?;
    let vouchers = batch_vouchers(app, batch.tenant_id, id).await?;
    let mut sheet = domain::export::Sheet::new(
        format,
        &["seq", "code", "password", "plan", "price", "currency", "validity_hours", "data_limit_mb", "status"],
    )?;
    for v in &vouchers {
        sheet.row(&[
            (v.seq + 1).to_string(),
            v.code.clone(),
            voucher_password(app, v)?,
            batch.plan_name.clone(),
            domain::money::format_minor(batch.price, &batch.currency),
            batch.currency.clone(),
            batch.validity_hours.to_string(),
            batch.data_limit_mb.map(|m| m.to_string()).unwrap_or_default(),
            v.status.as_str().to_string(),
        ])?;
    }
    sheet.finish()
}

/// Vouchers written per transaction: each is two items (the voucher and its code's sentinel).
const VOUCHERS_PER_TX: usize = 40;

/// Generates one chunk of a batch (the worker's): the vouchers of its range that do not exist
/// yet, in transactions of 40, each voucher with its code's sentinel and the chunk's counter; a
/// code already taken (or a voucher a concurrent delivery made) sends the group round again with
/// fresh codes for what is still missing. Then asks provisioning to place the chunk. Returns how
/// many vouchers this call made.
pub async fn generate_chunk(app: &App, tid: Uuid, batch_id: Uuid, chunk: u32) -> Result<usize> {
    let batch: VoucherBatch = decoded(app.store.get_item(&keys::voucher_batch(tid, batch_id)).await.or_500()?)?
        .ok_or_else(|| Error::not_found("voucher batch"))?;
    let range = batch.chunk_range(chunk);
    let mut made = 0;
    for _round in 0..8 {
        let lo = keys::voucher_sk(range.start);
        let hi = keys::voucher_sk(range.end.max(1) - 1);
        let q = Query::table(keys::voucher_batch_pk(tid, batch_id)).range(Some(lo), hi).limit(1000);
        let existing: BTreeSet<u32> = app
            .store
            .query_all::<Voucher>(q, voucher::BATCH_CHUNK as usize)
            .await
            .or_500()?
            .into_iter()
            .map(|v| v.seq)
            .collect();
        let missing: Vec<u32> = range.clone().filter(|s| !existing.contains(s)).collect();
        if missing.is_empty() {
            break;
        }
        let mut clashed = false;
        for group in missing.chunks(VOUCHERS_PER_TX) {
            let now = app.now();
            let mut rng = rand::rngs::OsRng;
            let mut tx = Tx::new();
            for &seq in group {
                let code = voucher::new_code(&mut rng, &batch.prefix, batch.code_length);
                let password_sealed = match batch.password_mode {
                    PasswordMode::SameAsCode => None,
                    PasswordMode::Separate => {
                        let pw = voucher::random_symbols(&mut rng, batch.code_length);
                        Some(app.secrets.seal(pw.as_bytes(), &password_aad(tid, &code)))
                    }
                };
                let v = Voucher {
                    id: ids::derived_id(batch.created_at, &format!("voucher:{batch_id}:{seq}")),
                    tenant_id: tid,
                    batch_id,
                    seq,
                    code: code.clone(),
                    password_sealed,
                    plan_id: batch.plan_id,
                    status: VoucherStatus::Unused,
                    operator_id: batch.operator_id,
                    created_at: now,
                    activated_at: None,
                    first_login_at: None,
                    expires_at: None,
                    bytes_used: 0,
                    status_changed_at: None,
                    sold_at: None,
                    sold_by: None,
                    sold_price: None,
                    buyer_name: batch.buyer_name.clone(),
                    buyer_phone: batch.buyer_phone.clone(),
                    version: 1,
                };
                tx.put_new(Store::encode_stored(&v).or_500()?, Conflict::Exists);
                if let (true, Some(phone)) = (batch.send_sms, &batch.buyer_phone) {
                    tx.put_event(&crate::vouchers::login_sms(&v, phone, now)?);
                }
                tx.put_unique(keys::voucher_code(tid, &code), "voucher_code", &format!("{batch_id}:{seq}"));
            }
            tx.add_counters(
                &keys::voucher_batch_progress(tid, batch_id, chunk),
                "VBATCH_PROGRESS",
                &[("generated".to_string(), group.len() as i64)],
            );
            match app.store.commit(tx).await {
                Ok(()) => made += group.len(),
                Err(StoreError::Conflict(_)) => clashed = true,
                Err(e) => return Err(store_err(e)),
            }
        }
        if !clashed {
            break;
        }
    }
    let mut tx = Tx::new();
    let detail = serde_json::to_value(VouchersOnRouters { batch_id, chunk: Some(chunk), seqs: Vec::new() })
        .map_err(|e| Error::Internal(e.to_string()))?;
    tx.put_event(&DomainEvent::new(NetworkEvent::VouchersGenerated, Some(tid), detail, app.now()));
    app.store.commit(tx).await.or_500()?;
    Ok(made)
}
