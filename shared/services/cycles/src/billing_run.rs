//! Billing runs: every day `job-billing-run` asks `worker-invoicing` (one `BillingRunRequested`
//! per active ISP) to invoice what is due: prepaid auto-renew subscriptions `renewal_days` before
//! they expire, postpaid ones when their next period starts. What is due comes from the billing
//! index (gsi5), never a scan.
//!
//! An invoice's id derives from (subscription, period) and the subscription's `billed_through`
//! moves in the invoice's own transaction, so a repeated run, a redelivered message or two runs at
//! once never issue a period twice. Numbers stay gapless: the ISP's sequence moves in the same
//! transaction. Invoices go out in transactions of up to [`CHUNK`] customers (the sequence
//! advanced once by their count); a chunk that meets a concurrent write falls back to one
//! transaction per invoice, each read again.

use crate::sweep::{IndexScan, active_tenant, until};
use billing::books::{
    Books, InvoiceDraft, Sequence, due_at, load_discounts, load_sequences, new_invoice, period_invoice_id, stage_issue,
    stage_sequences, subscription_scope,
};
use chrono::{DateTime, Duration, Utc};
use domain::actor::Actor;
use domain::billing::{Charge, Terms, renewal_charge};
use domain::invoice::{Discount, Invoice, InvoiceKind};
use domain::package::Validity;
use domain::role::Permission;
use domain::subscription::BillingModel;
use domain::tenant::{Tenant, TenantStatus};
use domain::{Error, Result};
use kernel::App;
use kernel::support::{Audited, StoreResultExt, audit, decoded, snapshot, store_err};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use store::keys::{self, BillingIndex};
use store::{Conflict, Owner, Query, StoreError, Tx};
use subscriptions::subscriptions::{SubscriptionRecord, stage_subscription_record};
use uuid::Uuid;

/// Customers whose invoices share one transaction: each takes at most 9 of its 100 items (with
/// its timeline entry), and the chunk adds the sequence, a revenue aggregate and one dues
/// aggregate per due date (at most one per invoice): 8 x 9 + 1 + 1 + 8 = 82.
pub const CHUNK: usize = 8;
/// Due subscriptions read per Query (a multiple of [`CHUNK`]; their accounts are read together).
const PAGE: u32 = 200;
/// A single invoice is tried again this often when concurrent writes keep moving what it read.
const ATTEMPTS: usize = 6;

/// What a billing run of one ISP did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BillingRunReport {
    pub tenant_id: Uuid,
    pub as_of: DateTime<Utc>,
    /// Subscriptions the billing index listed as due.
    pub due: usize,
    pub issued: usize,
    /// Already invoiced for that period (another run, or this message delivered twice).
    pub already_issued: usize,
    /// Left for the next run (e.g. the package is gone); logged with the reason.
    pub skipped: usize,
    /// Sum of the issued invoices' totals, in minor units of the ISP's currency.
    pub amount: i64,
    /// The ISP is suspended: nothing was invoiced.
    pub tenant_suspended: bool,
}

/// What a run would issue (`POST /v1/billing/preview`): nothing is written.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BillingPreview {
    pub as_of: DateTime<Utc>,
    pub currency: String,
    /// Invoices the run would issue.
    pub count: usize,
    /// Their total, in minor units.
    pub total: i64,
    /// The first `limit` of them, as drafts (the id is the one the run will give them).
    pub invoices: Vec<Invoice>,
    /// More invoices than `limit` would be issued.
    pub truncated: bool,
}

/// What every invoice of a run is priced with, read once per run.
struct RunContext {
    tenant: Tenant,
    terms: Terms,
    validity: HashMap<Uuid, Validity>,
    discounts: Vec<Discount>,
}

impl RunContext {
    async fn load(app: &App, tenant: Tenant) -> Result<RunContext> {
        let tid = tenant.id;
        let (validity, discounts) =
            futures::try_join!(network::packages::validities(app, tid), load_discounts(app, tid))?;
        Ok(RunContext { terms: billing::books::terms_of(&tenant), tenant, validity, discounts })
    }

    /// The renewal a subscription owes at `now`, if any.
    fn charge(&self, sub: &domain::subscription::Subscription, now: DateTime<Utc>) -> Option<Charge> {
        let validity = match sub.billing_model {
            BillingModel::Prepaid => *self.validity.get(&sub.package_id)?,
            // A postpaid period is a month whatever the package's validity.
            BillingModel::Postpaid => Validity::Days(30),
        };
        renewal_charge(sub, validity, &self.terms, self.tenant.billing.renewal_days, now)
    }

    fn draft(&self, sub: &domain::subscription::Subscription, charge: &Charge, now: DateTime<Utc>) -> Invoice {
        let draft = InvoiceDraft {
            id: period_invoice_id(sub.id, &charge.period),
            customer_id: sub.customer_id,
            scope: subscription_scope(sub),
            subscription_id: Some(sub.id),
            kind: InvoiceKind::Renewal,
            period: Some(charge.period),
            lines: &charge.lines,
        };
        new_invoice(&self.tenant, &self.discounts, draft, now)
    }

    /// A prepaid renewal is due when the paid validity ends; a postpaid invoice after the ISP's
    /// due days.
    fn due_date(&self, sub: &domain::subscription::Subscription, charge: &Charge) -> Option<DateTime<Utc>> {
        (sub.billing_model == BillingModel::Prepaid).then_some(charge.period.start)
    }
}

/// The billing index's partitions a run reads at `now`, each up to its bound: prepaid ones
/// expiring within the renewal days, postpaid ones whose next period has started.
fn due_scan(tenant: &Tenant, now: DateTime<Utc>) -> IndexScan {
    let renew_until = now + Duration::days(tenant.billing.renewal_days.into());
    let mut queries = vec![];
    for (kind, bound) in [(BillingIndex::Prepaid, renew_until), (BillingIndex::Postpaid, now)] {
        for shard in 0..keys::EXPIRY_SHARDS {
            let pk = keys::billing_due_gsi5(tenant.id, kind, shard);
            queries.push(Query::index("gsi5", pk).range(None, until(bound)).limit(PAGE));
        }
    }
    IndexScan::new(Owner::Tenant(tenant.id), "billing-run", queries)
}

/// One due subscription and what it owes.
struct Due {
    rec: SubscriptionRecord,
    charge: Charge,
}

/// Invoices everything of one ISP that is due at `now` (the run's time, from the job).
pub async fn run_tenant(app: &App, tid: Uuid, now: DateTime<Utc>) -> Result<BillingRunReport> {
    let mut report = BillingRunReport { tenant_id: tid, as_of: now, ..Default::default() };
    let Some(tenant) = active_tenant(app, tid).await? else {
        report.tenant_suspended = true;
        return Ok(report);
    };
    let ctx = RunContext::load(app, tenant).await?;
    let mut run = Run {
        app,
        ctx: &ctx,
        now,
        sequences: load_sequences(app, tid, &["invoice"], now).await?,
        accounts: HashMap::new(),
        report,
    };
    let mut scan = due_scan(&ctx.tenant, now);
    while let Some(page) = scan.next_page::<SubscriptionRecord>(app).await? {
        run.report.due += page.len();
        let mut dues = vec![];
        for rec in page {
            match ctx.charge(&rec.subscription, now) {
                Some(charge) => dues.push(Due { rec, charge }),
                // The index is read eventually consistently: it may list what was just invoiced.
                None => run.report.already_issued += 1,
            }
        }
        run.issue_page(dues).await?;
        // Accounts are kept only while their page is worked on: memory stays flat.
        run.accounts.clear();
    }
    tracing::info!(report = ?run.report, "billing run done");
    Ok(run.report)
}

struct Run<'a> {
    app: &'a App,
    ctx: &'a RunContext,
    now: DateTime<Utc>,
    sequences: Vec<Sequence>,
    /// Stored account items of the page's customers (None: no account yet).
    accounts: HashMap<Uuid, Option<store::Item>>,
    report: BillingRunReport,
}

impl Run<'_> {
    async fn issue_page(&mut self, mut pending: Vec<Due>) -> Result<()> {
        // The page's accounts in one read (BatchGetItem, 100 keys a request).
        let customers: Vec<Uuid> = pending.iter().map(|d| d.rec.subscription.customer_id).collect();
        self.fetch_accounts(&customers).await?;
        while !pending.is_empty() {
            // A transaction touches an account once: one subscription per customer per chunk.
            let (mut chunk, mut rest, mut seen) = (vec![], vec![], HashSet::new());
            for d in pending {
                if chunk.len() < CHUNK && seen.insert(d.rec.subscription.customer_id) {
                    chunk.push(d);
                } else {
                    rest.push(d);
                }
            }
            self.issue_chunk(chunk).await?;
            pending = rest;
        }
        Ok(())
    }

    async fn fetch_accounts(&mut self, customers: &[Uuid]) -> Result<()> {
        let tid = self.ctx.tenant.id;
        let mut missing: Vec<Uuid> = customers.iter().copied().filter(|c| !self.accounts.contains_key(c)).collect();
        // A customer with several subscriptions due is read once (BatchGetItem refuses duplicates).
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let ks: Vec<store::ItemKeys> = missing.iter().map(|c| keys::account(tid, *c)).collect();
        let got = self.app.store.batch_get_many(&ks.iter().collect::<Vec<_>>()).await.or_500()?;
        self.accounts.extend(missing.into_iter().zip(got));
        Ok(())
    }

    async fn issue_chunk(&mut self, chunk: Vec<Due>) -> Result<()> {
        let customers: Vec<Uuid> = chunk.iter().map(|d| d.rec.subscription.customer_id).collect();
        self.fetch_accounts(&customers).await?;
        let tid = self.ctx.tenant.id;
        let mut tx = Tx::new();
        let mut sequences = self.sequences.clone();
        let mut staged = vec![];
        for d in &chunk {
            let account = self.accounts.get(&d.rec.subscription.customer_id).cloned().flatten();
            let mut books =
                Books::from_parts(self.ctx.tenant.clone(), d.rec.subscription.customer_id, account, sequences, vec![])?;
            let inv = stage_renewal(&mut tx, self.ctx, &mut books, d, self.now)?;
            books.stage_account(&mut tx, tid)?;
            sequences = books.sequences().to_vec();
            staged.push((d.rec.subscription.customer_id, books.committed_account()?, inv.total));
        }
        stage_sequences(&mut tx, tid, &sequences);
        match self.app.store.commit(tx).await {
            Ok(()) => {
                self.sequences = sequences.iter().map(Sequence::committed).collect();
                for (customer, account, total) in staged {
                    self.accounts.insert(customer, Some(account));
                    self.report.issued += 1;
                    self.report.amount += total;
                }
                Ok(())
            }
            Err(StoreError::Conflict(_)) => {
                // Something moved under the chunk (a payment, another run, an API change): each
                // invoice alone, read again.
                for d in chunk {
                    self.accounts.remove(&d.rec.subscription.customer_id);
                    self.issue_one(d.rec.subscription.customer_id, d.rec.subscription.id).await?;
                }
                self.sequences = load_sequences(self.app, tid, &["invoice"], self.now).await?;
                Ok(())
            }
            Err(e) => Err(store_err(e)),
        }
    }

    /// One subscription's renewal in its own transaction, read again (strongly) on every attempt.
    async fn issue_one(&mut self, customer: Uuid, id: Uuid) -> Result<()> {
        let tid = self.ctx.tenant.id;
        for _ in 0..ATTEMPTS {
            let sk = keys::subscription(tid, customer, id, None, None, None);
            let rec: Option<SubscriptionRecord> = decoded(self.app.store.get_item(&sk).await.or_500()?)?;
            let Some(rec) = rec else {
                self.report.skipped += 1;
                return Ok(());
            };
            let Some(charge) = self.ctx.charge(&rec.subscription, self.now) else {
                self.report.already_issued += 1;
                return Ok(());
            };
            let mut books = Books::load(self.app, tid, customer, &["invoice"]).await?;
            let mut tx = Tx::new();
            let inv = stage_renewal(&mut tx, self.ctx, &mut books, &Due { rec, charge }, self.now)?;
            books.stage(&mut tx, tid)?;
            match self.app.store.commit(tx).await {
                Ok(()) => {
                    self.report.issued += 1;
                    self.report.amount += inv.total;
                    return Ok(());
                }
                Err(StoreError::Conflict(Conflict::Version | Conflict::Exists)) => continue,
                Err(e) => return Err(store_err(e)),
            }
        }
        Err(Error::version_conflict())
    }
}

/// Stages a renewal invoice (numbered from `books`, paid from credit as far as that goes) and the
/// subscription's `billed_through`, which takes it off the billing index until its next period.
fn stage_renewal(tx: &mut Tx, ctx: &RunContext, books: &mut Books, d: &Due, now: DateTime<Utc>) -> Result<Invoice> {
    let sub = &d.rec.subscription;
    let mut inv = ctx.draft(sub, &d.charge, now);
    stage_issue(tx, books, &mut inv, ctx.due_date(sub, &d.charge), None, now)?;
    let mut after = sub.clone();
    after.billed_through = Some(d.charge.period.end);
    after.version += 1;
    after.updated_at = now;
    stage_subscription_record(tx, &d.rec, &after)?;
    tx.put_audit(&audit(
        &Actor::system(sub.tenant_id),
        Some(sub.tenant_id),
        Audited {
            action: "invoice.issued",
            entity: "invoice",
            id: inv.id.to_string(),
            before: None,
            after: Some(snapshot(&inv)),
        },
        now,
    ));
    Ok(inv)
}

/// What the next run at `as_of` (default: now) would issue, without writing anything.
pub async fn preview(
    app: &App,
    actor: &Actor,
    as_of: Option<DateTime<Utc>>,
    limit: Option<u32>,
) -> Result<BillingPreview> {
    actor.require(Permission::BillingRead)?;
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::field("limit", "must be 1-1000"));
    }
    let limit = limit as usize;
    let tid = actor.tenant()?;
    let now = as_of.unwrap_or_else(|| app.now());
    let tenant = kernel::support::load_tenant(app, tid).await?;
    let mut out = BillingPreview {
        as_of: now,
        currency: tenant.currency.clone(),
        count: 0,
        total: 0,
        invoices: vec![],
        truncated: false,
    };
    if tenant.status == TenantStatus::Suspended {
        return Ok(out);
    }
    let ctx = RunContext::load(app, tenant).await?;
    let mut scan = due_scan(&ctx.tenant, now);
    while let Some(page) = scan.next_page::<SubscriptionRecord>(app).await? {
        for rec in page {
            let sub = &rec.subscription;
            // Operators preview their own customers only.
            if !actor.sees_scope(sub.scope.as_deref()) {
                continue;
            }
            let Some(charge) = ctx.charge(sub, now) else { continue };
            let mut inv = ctx.draft(sub, &charge, now);
            inv.due_date = Some(due_at(&ctx.tenant, ctx.due_date(sub, &charge), now));
            out.count += 1;
            out.total += inv.total;
            if out.invoices.len() < limit {
                out.invoices.push(inv);
            } else {
                out.truncated = true;
            }
        }
    }
    Ok(out)
}
