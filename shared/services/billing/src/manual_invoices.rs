//! Invoices made by staff: a draft for a customer with manual lines (installation, equipment, a
//! late fee), lines added while it is a draft, then issued (numbered, booked on the account, paid
//! from credit as far as that goes). Issued invoices do not change: a correction is a credit note
//! or a new invoice.

use crate::books::{
    Books, InvoiceDraft, invoice_event, load_discounts, load_invoice, new_invoice, stage_invoice_ref,
    stage_invoice_write, stage_issue_of,
};
use domain::actor::Actor;
use domain::event::BillingEvent;
use domain::invoice::{Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineInput, LineKind};
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record};
use kernel::support::{Audited, audit, expected_version, snapshot, store_err};
use serde::Deserialize;
use store::{Conflict, Owner, StoreError, Tx};
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualLine {
    pub description: String,
    /// Minor units per unit; negative for a goodwill credit (the invoice may not total below zero).
    pub unit_amount: i64,
    /// Default 1.
    pub quantity: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvoice {
    pub customer_id: Uuid,
    /// Up to 50; more can be added while it is a draft.
    #[serde(default)]
    pub lines: Vec<ManualLine>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLine {
    #[serde(flatten)]
    pub line: ManualLine,
    /// The draft's version (or send If-Match).
    pub version: Option<u64>,
}

const MAX_LINES: usize = 50;
const MAX_UNIT: i64 = 100_000_000_000;

fn checked_lines(v: &mut Validation, lines: &[ManualLine], first: usize) -> Vec<LineInput> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let field = |f: &str| format!("lines[{}].{f}", first + i);
            let description = v.text(&field("description"), &l.description, 200);
            v.range_i64(&field("unit_amount"), l.unit_amount, -MAX_UNIT, MAX_UNIT);
            let q = l.quantity.unwrap_or(1);
            v.range_i64(&field("quantity"), q.into(), 1, 10_000);
            let description = if q > 1 { format!("{description} x {q}") } else { description };
            LineInput {
                kind: LineKind::Manual,
                description,
                amount: l.unit_amount.saturating_mul(q.into()),
                package_id: None,
                period: None,
                discountable: false,
            }
        })
        .collect()
}

/// The inputs a priced line came from (discounts reduce package charges only).
fn input_of(l: &InvoiceLine) -> LineInput {
    LineInput {
        kind: l.kind,
        description: l.description.clone(),
        amount: l.amount,
        package_id: l.package_id,
        period: l.period,
        discountable: l.kind == LineKind::Package,
    }
}

/// A draft invoice for a customer (`POST /v1/invoices`).
pub async fn create_draft(
    app: &App,
    actor: &Actor,
    input: CreateInvoice,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Invoice>> {
    actor.require(Permission::BillingWrite)?;
    let tid = actor.tenant()?;
    let mut v = Validation::new();
    if input.lines.len() > MAX_LINES {
        v.add("lines", format!("at most {MAX_LINES}"));
    }
    let lines = checked_lines(&mut v, &input.lines, 0);
    v.finish()?;
    let customer = crm::customers::get_customer(app, actor, input.customer_id).await.map_err(|e| match e {
        Error::NotFound { .. } => Error::field("customer_id", "is not a customer of this ISP"),
        e => e,
    })?;
    let tenant = kernel::support::load_tenant(app, tid).await?;
    let discounts = load_discounts(app, tid).await?;
    let now = app.now();
    let scope = (customer.operator_id, customer.scope.clone());
    let draft = InvoiceDraft {
        id: ids::new_id(),
        customer_id: customer.id,
        scope,
        subscription_id: None,
        kind: InvoiceKind::Manual,
        period: None,
        lines: &lines,
    };
    let inv = new_invoice(&tenant, &discounts, draft, now);
    let mut tx = Tx::new();
    stage_invoice_write(&mut tx, &tenant, &inv, None)?;
    stage_invoice_ref(&mut tx, &inv)?;
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "invoice.drafted",
            entity: "invoice",
            id: inv.id.to_string(),
            before: None,
            after: Some(snapshot(&inv)),
        },
        now,
    ));
    tx.put_event(&invoice_event(BillingEvent::InvoiceDrafted, &inv, now));
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &inv, app)?);
    }
    commit_create(app, tx, Owner::Tenant(tid), actor.user_id, idem, inv).await
}

fn not_draft(inv: &Invoice) -> Error {
    Error::Conflict {
        code: "invoice_not_draft",
        detail: format!(
            "the invoice is {}; issued invoices do not change (issue a credit note or a new invoice)",
            inv.status.as_str().replace('_', " ")
        ),
        field: None,
    }
}

/// Adds a manual line to a draft (`POST /v1/invoices/{id}/lines`).
pub async fn add_line(app: &App, actor: &Actor, id: Uuid, input: AddLine, if_match: Option<u64>) -> Result<Invoice> {
    actor.require(Permission::BillingWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let before = load_invoice(app, actor, id).await?;
    if before.status != InvoiceStatus::Draft {
        return Err(not_draft(&before));
    }
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    let mut v = Validation::new();
    if before.lines.len() >= MAX_LINES {
        v.add("lines", format!("a draft holds at most {MAX_LINES} lines"));
    }
    let added = checked_lines(&mut v, std::slice::from_ref(&input.line), before.lines.len());
    v.finish()?;
    let tenant = kernel::support::load_tenant(app, tid).await?;
    let discounts = load_discounts(app, tid).await?;
    let now = app.now();
    let mut inputs: Vec<LineInput> = before.lines.iter().map(input_of).collect();
    inputs.extend(added);
    let draft = InvoiceDraft {
        id,
        customer_id: before.customer_id,
        scope: (before.operator_id, before.scope.clone()),
        subscription_id: before.subscription_id,
        kind: before.kind,
        period: before.period,
        lines: &inputs,
    };
    let priced = new_invoice(&tenant, &discounts, draft, before.created_at);
    let mut inv = before.clone();
    inv.set_lines(priced.lines);
    inv.version += 1;
    inv.updated_at = now;
    let mut tx = Tx::new();
    stage_invoice_write(&mut tx, &tenant, &inv, Some(&before))?;
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "invoice.line_added",
            entity: "invoice",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: Some(snapshot(&inv)),
        },
        now,
    ));
    tx.put_event(&invoice_event(BillingEvent::InvoiceDraftUpdated, &inv, now));
    app.store.commit(tx).await.map_err(store_err)?;
    Ok(inv)
}

/// Issues a draft (`POST /v1/invoices/{id}/issue`): numbered, booked, paid from credit.
pub async fn issue_draft(app: &App, actor: &Actor, id: Uuid) -> Result<Invoice> {
    actor.require(Permission::BillingWrite)?;
    let tid = actor.tenant()?;
    for _ in 0..6 {
        let draft = load_invoice(app, actor, id).await?;
        if draft.status != InvoiceStatus::Draft {
            return Err(not_draft(&draft));
        }
        if draft.lines.is_empty() {
            return Err(Error::field("lines", "a draft needs at least one line to be issued"));
        }
        let now = app.now();
        let mut books = Books::load(app, tid, draft.customer_id, &["invoice"]).await?;
        let mut inv = draft.clone();
        let mut tx = Tx::new();
        stage_issue_of(&mut tx, &mut books, &mut inv, Some(&draft), None, Some(actor.real_actor()), now)?;
        books.stage(&mut tx, tid)?;
        tx.put_audit(&audit(
            actor,
            Some(tid),
            Audited {
                action: "invoice.issued",
                entity: "invoice",
                id: id.to_string(),
                before: Some(snapshot(&draft)),
                after: Some(snapshot(&inv)),
            },
            now,
        ));
        match app.store.commit(tx).await {
            Ok(()) => return Ok(inv),
            Err(StoreError::Conflict(Conflict::Version)) => continue,
            Err(e) => return Err(store_err(e)),
        }
    }
    Err(Error::version_conflict())
}
