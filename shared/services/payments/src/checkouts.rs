//! Checkouts (`/v1/checkouts`): an online payment asked of one of the ISP's gateway accounts, for
//! an invoice (what it owes) or as an advance (an amount staff name). The amount is ours, never
//! the gateway's. What the gateway later reports (a verified notification, the status API asked
//! by a browser return or the janitor) goes through [`apply_report`]: the pure verdict of
//! `domain::checkout` decides, and a success is applied through the one settle path
//! ([`crate::payments::settle`]) in the same transaction as the checkout's move to `paid`, with a
//! sentinel on the gateway's transaction id. Concurrent or repeated reports apply once.

use crate::gateway_accounts::{self, usable_account};
use crate::payments::{ClosedInvoice, MoneyIn, RecordPayment, settle};
use billing::books::{Attempt, MAX_AMOUNT, load_invoice, require_key};
use chrono::{DateTime, Duration, Utc};
use domain::actor::Actor;
use domain::checkout::{
    Checkout, CheckoutFor, CheckoutState, GatewayAccount, GatewayAccountStatus, RefundState, Report, Verdict,
    checkout_of_order, next_state, order_id, verdict,
};
use domain::payment::{GatewayPayment, PaymentMethod};
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use gateways::adapter::Adapter;
use gateways::{CheckoutRequest, GatewayError, GatewayHttp, PaymentState, TransactionStatus};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record, stored_answer};
use kernel::support::{StoreResultExt, decoded};
use serde::{Deserialize, Serialize};
use store::{Conflict, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCheckout {
    /// Pay this invoice: the amount is what it owes now.
    pub invoice_id: Option<Uuid>,
    /// Or put money on this customer's account (open invoices first, the rest credit).
    pub customer_id: Option<Uuid>,
    /// Minor units; with `customer_id` or `operator_id`.
    pub amount: Option<i64>,
    /// Or top up this operator's (or sub-operator's) wallet: the operator itself, one above it,
    /// or the ISP's staff.
    pub operator_id: Option<Uuid>,
    /// Or sell a hotspot voucher of this plan at its price (the ISP's staff): on payment one of
    /// the counter's unsold vouchers is sold to `buyer_phone` and its login sent there by SMS.
    pub voucher_plan_id: Option<Uuid>,
    pub buyer_phone: Option<String>,
    pub gateway_account_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CheckoutRecord {
    #[serde(flatten)]
    pub checkout: Checkout,
}

impl store::Stored for CheckoutRecord {
    const TYPE: &'static str = "CHECKOUT";
    fn keys(&self) -> store::ItemKeys {
        let c = &self.checkout;
        let refunding_since =
            c.refunds.iter().filter(|r| r.state == RefundState::Requested).map(|r| r.requested_at).min();
        let pending = c.state == CheckoutState::Pending;
        keys::checkout(
            Owner::from_tenant(c.tenant_id),
            c.id,
            c.paying_for.payer_id(),
            c.created_at,
            pending,
            refunding_since,
        )
    }
    fn version(&self) -> Option<u64> {
        Some(self.checkout.version)
    }
}

pub(crate) fn encoded(c: &Checkout) -> Result<store::Item> {
    Store::encode_stored(&CheckoutRecord { checkout: c.clone() }).or_500()
}

/// Where the gateways send the payer back and their notifications, for an account's checkout.
pub(crate) fn return_url(app: &App, account: Uuid, order: &str) -> String {
    format!("{}/v1/checkouts/returns/{account}/{order}", app.public_url)
}

pub(crate) fn webhook_url(app: &App, account: &GatewayAccount) -> String {
    format!("{}/v1/webhooks/{}/{}", app.public_url, account.gateway.as_str(), account.id)
}

/// Raises the ISP's staff alert for an account the gateway refuses (credentials, account) or
/// cannot be reached at: once a day per account while it keeps failing (the alert's id is the
/// account's and the day's), so staff hear of it without one alert per payer.
async fn gateway_failing(app: &App, account: &domain::checkout::GatewayAccount, e: &GatewayError, now: DateTime<Utc>) {
    use domain::alert::{Alert, AlertKind, AlertSubject};
    let failing = matches!(e, GatewayError::Unavailable(_) | GatewayError::Refused { status: 401 | 403, .. });
    let Some(tid) = account.tenant_id.filter(|_| failing) else { return };
    let day = now.date_naive();
    let id = ids::derived_id(DateTime::UNIX_EPOCH, &format!("gateway-alert:{}:{day}", account.id));
    let subject = AlertSubject {
        gateway: Some(account.gateway.as_str().to_string()),
        account_id: Some(account.id),
        account_name: Some(account.name.clone()),
        ..Default::default()
    };
    let mut tx = Tx::new();
    if kernel::alerts::raise(
        &mut tx,
        &Alert::new(id, tid, AlertKind::GatewayFailing, subject, Some(e.to_string()), now),
    )
    .is_err()
    {
        return;
    }
    match app.store.commit(tx).await {
        // Raised already today.
        Ok(()) | Err(store::StoreError::Conflict(_)) => {}
        Err(err) => tracing::warn!(account = %account.id, error = %err, "gateway alert not raised"),
    }
}

pub(crate) fn gateway_failure(e: GatewayError) -> Error {
    match e {
        GatewayError::Unavailable(d) => Error::Unavailable { detail: format!("the gateway did not answer: {d}") },
        GatewayError::Amount(d) => Error::field("amount", d),
        e => Error::BadGateway { code: "gateway_refused", detail: format!("the gateway refused the checkout: {e}") },
    }
}

/// Creates a checkout at the account's gateway. `Idempotency-Key` is required: a repeat returns
/// the first checkout (and its payment page) rather than asking the gateway again.
pub async fn create_checkout(
    app: &App,
    actor: &Actor,
    input: CreateCheckout,
    idem: Option<&IdempotentRequest>,
    http: &GatewayHttp,
    payer_ip: &str,
) -> Result<Outcome<Checkout>> {
    actor.require(Permission::PaymentsCollect)?;
    let idem = require_key(idem, "checkout")?;
    let tid = actor.tenant()?;
    let owner = Owner::Tenant(tid);
    if let Some(plan) = input.voucher_plan_id {
        return voucher_checkout(app, actor, &input, plan, idem, http, payer_ip).await;
    }
    if input.buyer_phone.is_some() {
        return Err(Error::field("buyer_phone", "goes only with voucher_plan_id"));
    }
    let mut v = Validation::new();
    match (input.invoice_id, input.customer_id.or(input.operator_id), input.amount) {
        _ if input.customer_id.is_some() && input.operator_id.is_some() => {
            v.add("operator_id", "give one of invoice_id, customer_id or operator_id")
        }
        (Some(_), None, None) => {}
        (Some(_), _, Some(_)) => {
            v.add("amount", "comes from the invoice; give it only with customer_id or operator_id")
        }
        (None, Some(_), Some(a)) => {
            v.range_i64("amount", a, 1, MAX_AMOUNT);
        }
        (None, Some(_), None) => v.add("amount", "is required with customer_id or operator_id"),
        (Some(_), Some(_), _) => v.add("customer_id", "give one of invoice_id, customer_id or operator_id"),
        (None, None, _) => v.add("invoice_id", "one of invoice_id, customer_id or operator_id is required"),
    }
    v.finish()?;
    if let Some(first) = stored_answer(app, owner, actor.user_id, idem).await? {
        return Ok(first);
    }
    let (account, credentials) = usable_account(app, Some(tid), input.gateway_account_id)
        .await?
        .filter(|(a, _)| a.status == GatewayAccountStatus::Active)
        .ok_or_else(|| Error::field("gateway_account_id", "is not an active payment gateway account of this ISP"))?;
    let at = GatewayAt { account: &account, credentials: &credentials, http, payer_ip };
    if let Some(op) = input.operator_id {
        let operator = wallets::payable_operator(app, actor, op).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::field("operator_id", "is not an operator of yours"),
            e => e,
        })?;
        let tenant = kernel::support::load_tenant(app, tid).await?;
        let new = NewCheckout {
            then_turbo: None,
            tenant_id: Some(tid),
            paying_for: CheckoutFor::WalletTopUp { operator_id: op },
            amount: input.amount.unwrap_or_default(),
            currency: tenant.currency,
            description: format!("Wallet top-up at {}", tenant.name),
            payer_name: Some(operator.name.clone()),
            payer_email: Some(operator.email.clone()),
            payer_phone: operator.phone.clone(),
            operator_id: Some(op),
            scope: operator.scope.clone(),
        };
        return open_at_gateway(app, actor, &at, new, owner, idem).await;
    }
    let (paying_for, amount, currency, description, customer_id) = match (input.invoice_id, input.customer_id) {
        (Some(id), _) => {
            let inv = load_invoice(app, actor, id).await.map_err(|e| match e {
                Error::NotFound { .. } => Error::field("invoice_id", "is not an invoice of this ISP"),
                e => e,
            })?;
            let what = payable(&inv)?;
            (
                CheckoutFor::Invoice { customer_id: inv.customer_id, invoice_id: id },
                inv.amount_due,
                inv.currency,
                what,
                inv.customer_id,
            )
        }
        (None, Some(c)) => {
            let tenant = kernel::support::load_tenant(app, tid).await?;
            let what = format!("Payment to {}", tenant.name);
            (CheckoutFor::Advance { customer_id: c }, input.amount.unwrap_or_default(), tenant.currency, what, c)
        }
        (None, None) => unreachable!("validated"),
    };
    let customer = crm::customers::get_customer(app, actor, customer_id).await.map_err(|e| match e {
        Error::NotFound { .. } => Error::field("customer_id", "is not a customer of this ISP"),
        e => e,
    })?;
    let new = NewCheckout::of_customer(tid, &customer, paying_for, amount, currency, description);
    open_at_gateway(app, actor, &at, new, owner, idem).await
}

/// What a subscriber pays online from the portal: an invoice of theirs (what it owes now), or an
/// amount on their account (open invoices first, the rest credit).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalCheckout {
    pub invoice_id: Option<Uuid>,
    /// Minor units, without `invoice_id`.
    pub amount: Option<i64>,
    /// Or a turbo of one's subscription: its price (less one's credit) is paid into the account
    /// and the turbo bought from it as soon as the gateway's word settles the payment.
    pub turbo: Option<domain::turbo::TurboIntent>,
    pub gateway_account_id: Uuid,
}

/// `POST /v1/portal/checkouts`: a subscriber's own payment through one of the ISP's active gateway
/// accounts; settled like any checkout (the webhook or the return restores a suspended
/// subscription the moment it pays). `Idempotency-Key` required.
pub async fn create_portal_checkout(
    app: &App,
    s: domain::portal::Subscriber,
    input: PortalCheckout,
    idem: Option<&IdempotentRequest>,
    http: &GatewayHttp,
    payer_ip: &str,
) -> Result<Outcome<Checkout>> {
    let idem = require_key(idem, "checkout")?;
    let actor = Actor::subscriber(s);
    let tid = s.tenant_id;
    let owner = Owner::Tenant(tid);
    let mut v = Validation::new();
    match (input.invoice_id, input.amount, &input.turbo) {
        (_, _, Some(_)) if input.invoice_id.is_some() || input.amount.is_some() => {
            v.add("turbo", "give one of invoice_id, amount or turbo")
        }
        (Some(_), Some(_), _) => v.add("amount", "comes from the invoice; give one of invoice_id or amount"),
        (None, Some(a), _) => v.range_i64("amount", a, 1, MAX_AMOUNT),
        (None, None, None) => v.add("invoice_id", "give the invoice to pay, an amount, or a turbo"),
        _ => {}
    }
    v.finish()?;
    if let Some(first) = stored_answer(app, owner, actor.user_id, idem).await? {
        return Ok(first);
    }
    let ck = keys::customer(tid, s.customer_id, None);
    let tk = keys::tenant(tid, None);
    let mut got = app.store.batch_get(&[&ck, &tk]).await.or_500()?.into_iter();
    let rec: Option<crm::customers::CustomerRecord> = decoded(got.next().flatten())?;
    let customer = rec.filter(|r| r.deleted_at.is_none()).ok_or_else(|| Error::not_found("customer"))?.customer;
    let tenant = kernel::support::tenant_of(got.next().flatten())?;
    let (paying_for, amount, currency, description) = match input.invoice_id {
        Some(id) => {
            let inv: Option<domain::invoice::Invoice> =
                app.store.get(&keys::invoice(tid, s.customer_id, id, None, None, None)).await.or_500()?;
            let inv = inv
                .filter(|i| i.customer_id == s.customer_id && i.status != domain::invoice::InvoiceStatus::Draft)
                .ok_or_else(|| Error::field("invoice_id", "is not an invoice of yours"))?;
            let what = payable(&inv)?;
            (CheckoutFor::Invoice { customer_id: s.customer_id, invoice_id: id }, inv.amount_due, inv.currency, what)
        }
        None => match &input.turbo {
            Some(t) => (
                CheckoutFor::Advance { customer_id: s.customer_id },
                turbo_to_pay(app, s, t).await?,
                tenant.currency.clone(),
                format!("Turbo at {}", tenant.name),
            ),
            None => (
                CheckoutFor::Advance { customer_id: s.customer_id },
                input.amount.unwrap_or_default(),
                tenant.currency.clone(),
                format!("Payment to {}", tenant.name),
            ),
        },
    };
    let (account, credentials) = usable_account(app, Some(tid), input.gateway_account_id)
        .await?
        .filter(|(a, _)| a.status == GatewayAccountStatus::Active)
        .ok_or_else(|| Error::field("gateway_account_id", "is not a payment method of your ISP"))?;
    let mut new = NewCheckout::of_customer(tid, &customer, paying_for, amount, currency, description);
    new.then_turbo = input.turbo;
    let at = GatewayAt { account: &account, credentials: &credentials, http, payer_ip };
    open_at_gateway(app, &actor, &at, new, owner, idem).await
}

/// What a turbo paid online asks of the gateway: its price less the account's credit. Refused
/// (409) while the subscription cannot take one or the account has invoices to pay (the money
/// would settle them first), and when the credit covers it (buy it from the credit).
async fn turbo_to_pay(app: &App, s: domain::portal::Subscriber, t: &domain::turbo::TurboIntent) -> Result<i64> {
    let (_, _, offer) =
        subscriptions::turbo::offer_for(app, s, t.subscription_id, &t.code).await.map_err(|e| match e {
            Error::Validation(errors) => Error::Validation(
                errors.into_iter().map(|f| domain::FieldError { field: format!("turbo.{}", f.field), ..f }).collect(),
            ),
            Error::NotFound { .. } => Error::field("turbo.subscription_id", "is not a subscription of yours"),
            e => e,
        })?;
    let account: Option<domain::ledger::Account> =
        app.store.get(&keys::account(s.tenant_id, s.customer_id)).await.or_500()?;
    let (open, credit) =
        account.map_or((0, 0), |a| (a.open.iter().map(|o| o.amount_due).sum::<i64>(), a.available_credit()));
    let conflict = |code, detail: &str| Error::Conflict { code, detail: detail.into(), field: Some("turbo".into()) };
    if open > 0 {
        return Err(conflict("open_invoices_first", "pay your open invoices first; then buy the turbo"));
    }
    if credit >= offer.price {
        return Err(conflict("pay_from_credit", "your credit covers the turbo: buy it from your balance"));
    }
    Ok(offer.price - credit.max(0))
}

/// `POST /v1/portal/voucher-checkouts`: someone at the ISP's hotspot login page buys a voucher.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoucherPurchase {
    pub voucher_plan_id: Uuid,
    /// Where the voucher's login is sent by SMS once paid.
    pub buyer_phone: String,
    /// One of the ISP's payment methods (`GET /v1/portal/voucher-plans` lists them).
    pub gateway_account_id: Uuid,
}

/// A voucher bought without an account from the ISP the address serves: the same checkout as
/// staff's sale to a phone, counted per phone and per source address (429 past either). The
/// buyer's `Idempotency-Key` is the phone's own (a stable id from it), so another buyer's key
/// never answers with this one's checkout.
pub async fn create_voucher_purchase(
    app: &App,
    tid: Uuid,
    input: VoucherPurchase,
    idem: Option<&IdempotentRequest>,
    http: &GatewayHttp,
    payer_ip: &str,
) -> Result<Outcome<Checkout>> {
    let idem = require_key(idem, "checkout")?;
    let tenant = kernel::support::load_tenant(app, tid).await?;
    let phone = domain::phone::to_e164(input.buyer_phone.trim(), &tenant.country)
        .ok_or_else(|| Error::field("buyer_phone", "is not a phone number"))?;
    let buyer = Actor {
        user_id: domain::ids::derived_id(chrono::DateTime::UNIX_EPOCH, &format!("voucher-buyer:{tid}:{phone}")),
        ..Actor::system(tid)
    };
    // A repeat (a retried request) gets its first checkout without counting again.
    if let Some(first) = kernel::idempotency::stored_answer(app, Owner::Tenant(tid), buyer.user_id, idem).await? {
        return Ok(first);
    }
    let now = app.now();
    let limits = [
        (domain::rate::VOUCHER_PURCHASE_PER_PHONE, format!("{tid}:{phone}")),
        (domain::rate::VOUCHER_PURCHASE_PER_SOURCE, format!("{tid}:{}", payer_ip.trim())),
    ];
    let refused = ("too_many_purchases", "too many voucher purchases; try again later");
    identity::auth::commit_counted(app, Tx::new(), &limits, refused, now).await?;
    let sale = CreateCheckout {
        invoice_id: None,
        customer_id: None,
        amount: None,
        operator_id: None,
        voucher_plan_id: Some(input.voucher_plan_id),
        buyer_phone: Some(phone),
        gateway_account_id: input.gateway_account_id,
    };
    voucher_checkout(app, &buyer, &sale, input.voucher_plan_id, idem, http, payer_ip).await
}

/// A checkout for a hotspot voucher: the plan's price, the buyer's phone (E.164 in the ISP's
/// country), and a voucher left to give.
async fn voucher_checkout(
    app: &App,
    actor: &Actor,
    input: &CreateCheckout,
    plan: Uuid,
    idem: &IdempotentRequest,
    http: &GatewayHttp,
    payer_ip: &str,
) -> Result<Outcome<Checkout>> {
    let tid = actor.tenant()?;
    if actor.role.is_scoped() {
        return Err(Error::forbidden("an operator sells its vouchers from its wallet (POST /v1/vouchers/{code}/sell)"));
    }
    let mut v = Validation::new();
    if input.invoice_id.is_some() || input.customer_id.is_some() || input.operator_id.is_some() {
        v.add("voucher_plan_id", "give one of invoice_id, customer_id, operator_id or voucher_plan_id");
    }
    if input.amount.is_some() {
        v.add("amount", "comes from the voucher plan");
    }
    let raw = v.optional_text("buyer_phone", input.buyer_phone.as_deref(), 32);
    if raw.is_none() {
        v.add("buyer_phone", "is required: the voucher's login is sent there");
    }
    v.finish()?;
    let owner = Owner::Tenant(tid);
    if let Some(first) = stored_answer(app, owner, actor.user_id, idem).await? {
        return Ok(first);
    }
    let tenant = kernel::support::load_tenant(app, tid).await?;
    let phone = domain::phone::to_e164(&raw.unwrap_or_default(), &tenant.country)
        .ok_or_else(|| Error::field("buyer_phone", "is not a phone number"))?;
    let plan = vouchers::online::plan_for_sale(app, tid, plan).await?;
    let (account, credentials) = usable_account(app, Some(tid), input.gateway_account_id)
        .await?
        .filter(|(a, _)| a.status == GatewayAccountStatus::Active)
        .ok_or_else(|| Error::field("gateway_account_id", "is not an active payment gateway account of this ISP"))?;
    let new = NewCheckout {
        then_turbo: None,
        tenant_id: Some(tid),
        paying_for: CheckoutFor::Voucher { plan_id: plan.id, phone: phone.clone() },
        amount: plan.price,
        currency: tenant.currency,
        description: format!("{} WiFi voucher {}", tenant.name, plan.name),
        payer_name: None,
        payer_email: None,
        payer_phone: Some(phone),
        operator_id: None,
        scope: None,
    };
    let at = GatewayAt { account: &account, credentials: &credentials, http, payer_ip };
    open_at_gateway(app, actor, &at, new, owner, idem).await
}

/// What a checkout of an invoice says it pays for; 409 when the invoice owes nothing now.
fn payable(inv: &domain::invoice::Invoice) -> Result<String> {
    if !inv.status.is_open() || inv.amount_due <= 0 {
        return Err(Error::Conflict {
            code: "invoice_not_payable",
            detail: format!("the invoice is {}", inv.status.as_str().replace('_', " ")),
            field: Some("invoice_id".into()),
        });
    }
    Ok(format!("Invoice {}", inv.number.clone().unwrap_or_else(|| inv.id.to_string())))
}

impl NewCheckout {
    /// A customer's payment: the customer pays, and its operator's subtree owns the checkout.
    fn of_customer(
        tid: Uuid,
        customer: &domain::customer::Customer,
        paying_for: CheckoutFor,
        amount: i64,
        currency: String,
        description: String,
    ) -> NewCheckout {
        NewCheckout {
            tenant_id: Some(tid),
            paying_for,
            amount,
            currency,
            description,
            payer_name: Some(customer.name.clone()),
            payer_email: customer.email.clone(),
            payer_phone: Some(customer.phone.clone()),
            operator_id: customer.operator_id,
            scope: customer.scope.clone(),
            then_turbo: None,
        }
    }
}

/// A checkout about to be asked of a gateway: whose money, for what, who pays.
pub(crate) struct NewCheckout {
    /// A turbo bought from the money once it is in (see [`Checkout::then_turbo`]).
    pub then_turbo: Option<domain::turbo::TurboIntent>,
    pub tenant_id: Option<Uuid>,
    pub paying_for: CheckoutFor,
    pub amount: i64,
    pub currency: String,
    pub description: String,
    pub payer_name: Option<String>,
    pub payer_email: Option<String>,
    pub payer_phone: Option<String>,
    pub operator_id: Option<Uuid>,
    pub scope: Option<String>,
}

/// The gateway account a checkout is opened at, and how to reach it.
pub(crate) struct GatewayAt<'a> {
    pub account: &'a GatewayAccount,
    pub credentials: &'a std::collections::BTreeMap<String, String>,
    pub http: &'a GatewayHttp,
    pub payer_ip: &'a str,
}

/// Opens a checkout at the gateway (one that does not take the currency is refused first) and
/// records it pending with the answer under the `Idempotency-Key`: the one way an ISP's and the
/// platform's checkouts begin.
pub(crate) async fn open_at_gateway(
    app: &App,
    actor: &Actor,
    at: &GatewayAt<'_>,
    new: NewCheckout,
    owner: Owner,
    idem: &IdempotentRequest,
) -> Result<Outcome<Checkout>> {
    let account = at.account;
    let supported = account.gateway.currencies();
    if !supported.is_empty() && !supported.contains(&new.currency.as_str()) {
        return Err(Error::field(
            "gateway_account_id",
            format!("{} does not take {} (it takes {})", account.gateway.as_str(), new.currency, supported.join(", ")),
        ));
    }
    let now = app.now();
    let id = ids::new_id();
    let order = order_id(id);
    let request = CheckoutRequest {
        order_id: order.clone(),
        amount: gateways::Amount::new(new.amount, &new.currency),
        description: new.description,
        customer_name: new.payer_name,
        customer_email: new.payer_email,
        customer_phone: new.payer_phone,
        return_url: return_url(app, account.id, &order),
        cancel_url: format!("{}?cancelled=1", return_url(app, account.id, &order)),
        notify_url: Some(webhook_url(app, account)),
        methods: account.methods.clone(),
    };
    let adapter = gateway_accounts::adapter(account, at.credentials);
    let created = match adapter.create_checkout(at.http, &request, &id.to_string(), at.payer_ip, now).await {
        Ok(c) => c,
        Err(e) => {
            gateway_failing(app, account, &e, now).await;
            return Err(gateway_failure(e));
        }
    };
    let mut checkout = Checkout {
        id,
        tenant_id: new.tenant_id,
        account_id: account.id,
        gateway: account.gateway,
        paying_for: new.paying_for,
        amount: new.amount,
        currency: new.currency,
        order_id: order,
        reference: created.reference,
        redirect_url: created.redirect_url,
        state: CheckoutState::Pending,
        expires_at: created.expires_at,
        payment_id: None,
        transaction_id: None,
        method: None,
        attention: None,
        history: vec![],
        refunds: vec![],
        operator_id: new.operator_id,
        scope: new.scope,
        then_turbo: new.then_turbo,
        created_by: actor.real_actor(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    checkout.log(now, "created", format!("{} checkout {} created", account.gateway.as_str(), checkout.reference));
    let mut tx = Tx::new();
    tx.put_new(encoded(&checkout)?, Conflict::Exists);
    tx.put_idempotency(owner, &idem.key_hash(actor.user_id), &record(idem, 201, &checkout, app)?);
    commit_create(app, tx, owner, actor.user_id, Some(idem), checkout).await
}

pub(crate) async fn load(app: &App, owner: Owner, id: Uuid) -> Result<Option<Checkout>> {
    let item = app.store.get_item(&store::ItemKeys::new(keys::checkout_pk(owner, id), "CHECKOUT")).await.or_500()?;
    Ok(decoded::<CheckoutRecord>(item)?.map(|r| r.checkout))
}

/// A checkout the actor may see (staff of its ISP; operators in their subtree).
pub async fn get_checkout(app: &App, actor: &Actor, id: Uuid) -> Result<Checkout> {
    actor.require(Permission::BillingRead)?;
    let tid = actor.tenant()?;
    match load(app, Owner::Tenant(tid), id).await? {
        Some(c) if actor.sees_scope(c.scope.as_deref()) => Ok(c),
        _ => Err(Error::not_found("checkout")),
    }
}

/// A customer's checkouts, oldest first.
pub async fn list_customer_checkouts(
    app: &App,
    actor: &Actor,
    customer_id: Uuid,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Checkout>> {
    actor.require(Permission::BillingRead)?;
    let tid = actor.tenant()?;
    // Operators: the customer must be in their subtree (answers 404 otherwise).
    crm::customers::get_customer(app, actor, customer_id).await?;
    let q = Query::index("gsi1", keys::customer_checkouts_gsi1(tid, customer_id)).limit(limit);
    let listing = format!("customer-checkouts:{customer_id}");
    let page: Page<CheckoutRecord> = app.store.query_page(Owner::Tenant(tid), &listing, q, cursor).await.or_500()?;
    Ok(Page { items: page.items.into_iter().map(|r| r.checkout).collect(), next_cursor: page.next_cursor })
}

/// Where a report came from, for the checkout's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Notification,
    Return,
    Janitor,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Notification => "notification",
            Source::Return => "return",
            Source::Janitor => "status",
        }
    }
}

/// A gateway's word in the terms of the checkout rules.
pub fn report_of(status: &TransactionStatus) -> Report {
    Report {
        state: match status.state {
            PaymentState::Pending => CheckoutState::Pending,
            PaymentState::Paid => CheckoutState::Paid,
            PaymentState::Failed => CheckoutState::Failed,
            PaymentState::Expired => CheckoutState::Expired,
            PaymentState::Refunded => CheckoutState::Refunded,
        },
        amount: status.amount.as_ref().map(|a| (a.minor, a.currency.clone())),
        transaction_id: status.transaction_id.clone(),
    }
}

/// Applies what the gateway reported about a checkout, once however often and however
/// concurrently it is reported: a success is settled with the checkout's move to `paid` in one
/// transaction (the checkout's version and the transaction's sentinel refuse a second); a
/// failure or expiry closes a pending checkout; a report that cannot be applied is kept for staff.
/// Duplicates write nothing.
pub async fn apply_report(
    app: &App,
    checkout: Checkout,
    status: &TransactionStatus,
    source: Source,
) -> Result<Checkout> {
    if status.order_id != checkout.order_id {
        return Err(Error::BadRequest {
            code: "gateway_other_order",
            detail: "the gateway's answer is about another order".into(),
        });
    }
    let report = report_of(status);
    let owner = Owner::from_tenant(checkout.tenant_id);
    let mut current = checkout;
    for _ in 0..8 {
        let now = app.now();
        let v = verdict(current.state, current.amount, &current.currency, &report);
        let mut after = current.clone();
        after.state = next_state(current.state, &v);
        after.version += 1;
        after.updated_at = now;
        if status.method.is_some() {
            after.method = status.method.clone();
        }
        let written = match &v {
            Verdict::Ignore { .. } => return Ok(current),
            Verdict::Settle { transaction_id, amount } => {
                after.transaction_id = Some(transaction_id.clone());
                let partial = if *amount < current.amount { " (partial)" } else { "" };
                after.log(
                    now,
                    "settled",
                    format!(
                        "{}: paid {amount} {}{partial}, transaction {transaction_id}",
                        source.as_str(),
                        current.currency
                    ),
                );
                settle_checkout(app, &current, &after, transaction_id, *amount).await
            }
            Verdict::Fail | Verdict::Expire | Verdict::MarkRefunded => {
                let kind = match after.state {
                    CheckoutState::Failed => "failed",
                    CheckoutState::Expired => "expired",
                    _ => "refunded",
                };
                after.log(now, kind, format!("{}: the gateway says {kind}", source.as_str()));
                write_state(app, &current, &after).await
            }
            Verdict::Mismatch { detail } => {
                if current.attention.as_deref() == Some(detail.as_str()) {
                    return Ok(current);
                }
                after.attention = Some(detail.clone());
                after.log(now, "mismatch", format!("{}: not applied: {detail}", source.as_str()));
                tracing::warn!(checkout = %current.id, %detail, "a gateway report that cannot be applied");
                write_state(app, &current, &after).await
            }
        };
        match written {
            Ok(Some(done)) => return Ok(done),
            // Something moved (another report, a payment by hand): read again and decide again.
            Ok(None) => {
                current = load(app, owner, current.id).await?.ok_or_else(|| Error::not_found("checkout"))?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::Unavailable { detail: "the checkout kept changing; try again".into() })
}

/// The checkout's new state alone (no money moves). `None`: it moved meanwhile.
pub(crate) async fn write_state(app: &App, before: &Checkout, after: &Checkout) -> Result<Option<Checkout>> {
    let mut tx = Tx::new();
    tx.put_versioned(encoded(after)?, before.version);
    match app.store.commit(tx).await {
        Ok(()) => Ok(Some(after.clone())),
        Err(StoreError::Conflict(Conflict::Version)) => Ok(None),
        Err(e) => Err(kernel::support::store_err(e)),
    }
}

/// The payment through the settle path, with the checkout's move to `paid` in its transaction.
async fn settle_checkout(
    app: &App,
    before: &Checkout,
    after: &Checkout,
    transaction_id: &str,
    amount: i64,
) -> Result<Option<Checkout>> {
    let Some(tid) = before.tenant_id else {
        return settle_purchase(app, before, after, transaction_id, amount).await;
    };
    match &before.paying_for {
        CheckoutFor::WalletTopUp { operator_id } => {
            return settle_top_up(app, tid, *operator_id, before, after, transaction_id, amount).await;
        }
        CheckoutFor::Voucher { plan_id, phone } => {
            return settle_voucher(app, tid, (*plan_id, phone), before, after, transaction_id, amount).await;
        }
        _ => {}
    }
    let input = RecordPayment {
        invoice_id: before.paying_for.invoice_id(),
        customer_id: match before.paying_for {
            CheckoutFor::Advance { customer_id } => Some(customer_id),
            _ => None,
        },
        amount,
        method: PaymentMethod::Online,
        reference: None,
        note: None,
        received_at: None,
    };
    let paid = std::sync::Mutex::new(None);
    let with_checkout = |tx: &mut Tx, payment: &domain::payment::Payment| -> Result<()> {
        let mut done = after.clone();
        done.payment_id = Some(payment.id);
        tx.put_versioned(encoded(&done)?, before.version);
        // A turbo paid online: bought from the money now in the account, by the invoicing worker.
        if let (Some(t), Some(customer_id)) = (&before.then_turbo, before.paying_for.customer_id()) {
            let detail = domain::event::TurboCheckoutPaid {
                customer_id,
                subscription_id: t.subscription_id,
                code: t.code.clone(),
                checkout_id: before.id,
            };
            tx.put_event(&domain::event::DomainEvent::new(
                domain::event::BillingEvent::TurboCheckoutPaid,
                Some(tid),
                serde_json::to_value(&detail).map_err(|e| Error::Internal(e.to_string()))?,
                app.now(),
            ));
        }
        *paid.lock().expect("paid checkout") = Some(done);
        Ok(())
    };
    let money = MoneyIn {
        input: &input,
        reference: Some(transaction_id.to_string()),
        note: Some(format!("{} checkout {}", before.gateway.as_str(), before.order_id)),
        gateway: Some(GatewayPayment {
            gateway: before.gateway,
            account_id: before.account_id,
            checkout_id: before.id,
            transaction_id: transaction_id.to_string(),
            method: after.method.clone(),
        }),
        closed_invoice: ClosedInvoice::Advance,
        // An invoice's payment takes the invoice's subtree (an advance reads its customer's).
        payer: match before.paying_for {
            CheckoutFor::Invoice { customer_id, .. } => Some(customer_id),
            _ => None,
        },
        also: &with_checkout,
    };
    match settle(app, &Actor::system(tid), tid, &money).await {
        Ok(_) => Ok(paid.into_inner().expect("paid checkout")),
        Err(Attempt::Stale) => Ok(None),
        // The transaction was applied (to this checkout by a concurrent report, which the next
        // read shows; or to another checkout, which is kept for staff).
        Err(Attempt::Failed(Error::Conflict { code: "transaction_applied", .. })) => {
            applied_elsewhere(app, before, transaction_id).await
        }
        Err(Attempt::Failed(e)) => Err(e),
        Err(Attempt::Idempotent) => Err(Error::Internal("no idempotency key in a settlement".into())),
    }
}

/// The gateway's transaction was applied already: to this checkout by a concurrent report (the
/// next read shows it: `None`), or to another checkout, which is kept for staff to look at.
async fn applied_elsewhere(app: &App, before: &Checkout, transaction_id: &str) -> Result<Option<Checkout>> {
    let now_there = load(app, Owner::from_tenant(before.tenant_id), before.id).await?;
    if now_there.is_none_or(|c| c.version != before.version) {
        return Ok(None);
    }
    flag(app, before, format!("transaction {transaction_id} was applied to another checkout")).await
}

/// Keeps a report that cannot be applied on the checkout for staff (nothing else changes).
async fn flag(app: &App, before: &Checkout, detail: String) -> Result<Option<Checkout>> {
    let now = app.now();
    let mut flagged = before.clone();
    flagged.attention = Some(detail.clone());
    flagged.version += 1;
    flagged.updated_at = now;
    flagged.log(now, "mismatch", detail);
    write_state(app, before, &flagged).await
}

/// The checkout an account's return or notification names by our order id, if it is this
/// account's.
pub async fn checkout_of(app: &App, account: &GatewayAccount, order: &str) -> Result<Option<Checkout>> {
    let Some(id) = checkout_of_order(order) else { return Ok(None) };
    let owner = Owner::from_tenant(account.tenant_id);
    Ok(load(app, owner, id).await?.filter(|c| c.account_id == account.id && c.order_id == order))
}

/// Where the payer's browser goes after a return: the account's page for the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnOutcome {
    pub location: String,
    pub state: CheckoutState,
}

/// A payer's browser came back from the gateway: confirm with the gateway (never the browser's
/// word), apply what it says, and send the payer to the ISP's page for the outcome. A gateway
/// that does not answer leaves the checkout pending for the janitor.
pub async fn confirm_return(
    app: &App,
    account_id: Uuid,
    order: &str,
    params: &str,
    http: &GatewayHttp,
) -> Result<ReturnOutcome> {
    let (account, credentials) =
        usable_account(app, None, account_id).await?.ok_or_else(|| Error::not_found("checkout"))?;
    let checkout = checkout_of(app, &account, order).await?.ok_or_else(|| Error::not_found("checkout"))?;
    let adapter: Adapter = gateway_accounts::adapter(&account, &credentials);
    let state = if checkout.state == CheckoutState::Pending {
        match adapter.confirm_return(http, &checkout.order_id, &checkout.reference, params).await {
            Ok(status) => apply_report(app, checkout, &status, Source::Return).await?.state,
            Err(e) => {
                tracing::warn!(checkout = %checkout.id, code = e.code(), "a return not confirmed: {e}");
                checkout.state
            }
        }
    } else {
        checkout.state
    };
    let page = match state {
        CheckoutState::Paid | CheckoutState::Pending => &account.success_url,
        _ => &account.cancel_url,
    };
    let sep = if page.contains('?') { '&' } else { '?' };
    let state_name = serde_json::to_value(state).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    Ok(ReturnOutcome { location: format!("{page}{sep}checkout={}&state={state_name}", order), state })
}

/// How long a checkout may stay pending before the janitor asks the gateway.
pub const RECONCILE_AFTER: Duration = Duration::minutes(10);
/// A pending checkout this old that the gateway still calls pending is expired.
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);

/// What a janitor run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    pub asked: u32,
    pub settled: u32,
    pub closed: u32,
    pub still_pending: u32,
    pub errors: u32,
}

/// The reconciliation janitor: every checkout pending for longer than [`RECONCILE_AFTER`] is
/// asked at its gateway's status API and settled, failed or expired; one the gateway still calls
/// pending after [`GIVE_UP_AFTER`] (or past its own expiry) is expired.
pub async fn reconcile_pending(app: &App, http: &GatewayHttp, max: usize) -> Result<ReconcileReport> {
    let now = app.now();
    let mut report = ReconcileReport::default();
    let mut accounts: std::collections::HashMap<Uuid, Option<Adapter>> = Default::default();
    for shard in 0..keys::CHECKOUT_SHARDS {
        let q = Query::index("gsi2", keys::pending_checkouts_gsi2(shard))
            .range(None, keys::pending_checkouts_before(now - RECONCILE_AFTER));
        let pending: Vec<CheckoutRecord> = app.store.query_all(q, max).await.or_500()?;
        for CheckoutRecord { checkout } in pending {
            if checkout.state != CheckoutState::Pending {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = accounts.entry(checkout.account_id) {
                let found = usable_account(app, checkout.tenant_id, checkout.account_id).await?;
                slot.insert(found.map(|(a, creds)| gateway_accounts::adapter(&a, &creds)));
            }
            let Some(adapter) = accounts[&checkout.account_id].as_ref() else { continue };
            report.asked += 1;
            let status = match adapter.checkout_status(http, &checkout.order_id, &checkout.reference).await {
                Ok(s) => s,
                // Never created at the gateway's side, or the payer never chose a method.
                Err(GatewayError::UnknownOrder) => TransactionStatus {
                    order_id: checkout.order_id.clone(),
                    transaction_id: None,
                    state: PaymentState::Pending,
                    amount: None,
                    method: None,
                },
                Err(e) => {
                    tracing::warn!(checkout = %checkout.id, code = e.code(), "status not asked: {e}");
                    report.errors += 1;
                    continue;
                }
            };
            let given_up = checkout.created_at + GIVE_UP_AFTER <= now || checkout.expires_at.is_some_and(|e| e <= now);
            let status = if status.state == PaymentState::Pending && given_up {
                TransactionStatus { state: PaymentState::Expired, ..status }
            } else {
                status
            };
            match apply_report(app, checkout, &status, Source::Janitor).await {
                Ok(c) if c.state == CheckoutState::Paid => report.settled += 1,
                Ok(c) if c.state == CheckoutState::Pending => report.still_pending += 1,
                Ok(_) => report.closed += 1,
                Err(e) => {
                    tracing::warn!("a reconciled checkout not applied: {e}");
                    report.errors += 1;
                }
            }
        }
    }
    Ok(report)
}

/// Settles a paid purchase: the reseller changed, the checkout paid and the transaction's
/// sentinel, in one transaction. `None`: something moved meanwhile (read again). Only the whole
/// price buys: a partial payment is kept for the owner to look at.
async fn settle_purchase(
    app: &App,
    before: &Checkout,
    after: &Checkout,
    transaction_id: &str,
    amount: i64,
) -> Result<Option<Checkout>> {
    let CheckoutFor::Platform { reseller_id, purchase } = before.paying_for else {
        return Err(Error::Internal("an ISP's checkout settled as a platform purchase".into()));
    };
    let now = app.now();
    if let Some(short) = short_of_whole(before, amount, "a purchase") {
        return flag(app, before, short).await;
    }
    let reseller: domain::platform::PlatformReseller = app
        .store
        .get(&keys::platform_reseller(reseller_id))
        .await
        .or_500()?
        .ok_or_else(|| Error::Internal("a purchase of a reseller that is gone".into()))?;
    let mut changed = reseller.clone();
    purchase.apply(&mut changed, now);
    changed.version += 1;
    changed.updated_at = now;
    let mut tx = Tx::new();
    tx.update(
        &keys::platform_reseller(reseller_id),
        "SET isp_limit = :limit, subscription_expires_at = :sxp, updated_at = :now, version = :next, v = :next",
        Some("v = :expected"),
        &[],
        std::collections::HashMap::from([
            (":limit".to_string(), kernel::support::attr(&changed.isp_limit)),
            (":sxp".to_string(), kernel::support::attr(&changed.subscription_expires_at)),
            (":now".to_string(), kernel::support::attr(&now)),
            (":next".to_string(), kernel::support::attr(&changed.version)),
            (":expected".to_string(), kernel::support::attr(&reseller.version)),
        ]),
        Conflict::Version,
    );
    // The platform's revenue of the month counts it in the same transaction: once, as it is
    // applied once.
    let (slots, months) = match purchase {
        domain::platform::PlatformPurchase::IspSlots { count } => (count, 0),
        domain::platform::PlatformPurchase::Renewal { months } => (0, months),
    };
    kernel::projections::platform_stats::stage_purchase(
        &mut tx,
        now,
        reseller_id,
        before.gateway.as_str(),
        &before.currency,
        amount,
        slots,
        months,
    );
    let system = Actor::system_platform();
    tx.put_audit(&kernel::support::audit(
        &system,
        None,
        kernel::support::Audited {
            action: "platform_purchase.paid",
            entity: "platform_reseller",
            id: reseller_id.to_string(),
            before: Some(kernel::support::snapshot(&reseller)),
            after: Some(kernel::support::snapshot(&changed)),
        },
        now,
    ));
    tx.put_event(&domain::event::DomainEvent::new(
        domain::event::PlatformEvent::PlatformPurchasePaid,
        None,
        serde_json::json!({"reseller_id": reseller_id, "checkout_id": before.id, "purchase": purchase,
            "amount": amount, "currency": before.currency, "gateway": before.gateway,
            "isp_limit": changed.isp_limit, "subscription_expires_at": changed.subscription_expires_at}),
        now,
    ));
    commit_settlement(app, Owner::Platform, tx, before, after, transaction_id).await
}

/// Settles a paid wallet top-up: the money into the operator's wallet, the checkout paid and the
/// transaction's sentinel, in one transaction. `None`: something moved meanwhile (read again).
/// Only the whole amount tops up: a partial payment is kept for staff to look at.
async fn settle_top_up(
    app: &App,
    tid: Uuid,
    operator_id: Uuid,
    before: &Checkout,
    after: &Checkout,
    transaction_id: &str,
    amount: i64,
) -> Result<Option<Checkout>> {
    if let Some(short) = short_of_whole(before, amount, "a top-up") {
        return flag(app, before, short).await;
    }
    let now = app.now();
    let mut tx = Tx::new();
    let reference = format!("{} {transaction_id}", before.gateway.as_str());
    let paid = wallets::OnlineTopUp {
        operator: operator_id,
        amount,
        currency: &before.currency,
        reference: &reference,
        at: now,
    };
    let entry = wallets::stage_online_top_up(app, &mut tx, tid, &paid).await?;
    tx.put_audit(&kernel::support::audit(
        &Actor::system(tid),
        Some(tid),
        kernel::support::Audited {
            action: "wallet.topped_up",
            entity: "wallet",
            id: operator_id.to_string(),
            before: None,
            after: Some(serde_json::json!({"movement_id": entry.movement_id, "amount": amount,
                "currency": before.currency, "checkout_id": before.id, "gateway": before.gateway})),
        },
        now,
    ));
    commit_settlement(app, Owner::Tenant(tid), tx, before, after, transaction_id).await
}

/// Settles a paid voucher: one of the counter's unsold vouchers of the plan sold to the buyer's
/// phone (its login sent by SMS), the checkout paid and the transaction's sentinel, in one
/// transaction. `None`: something moved meanwhile (another payment took that voucher: read
/// again). Only the whole price buys, and a plan with no voucher left is kept for staff (refund).
async fn settle_voucher(
    app: &App,
    tid: Uuid,
    (plan, phone): (Uuid, &str),
    before: &Checkout,
    after: &Checkout,
    transaction_id: &str,
    amount: i64,
) -> Result<Option<Checkout>> {
    if let Some(short) = short_of_whole(before, amount, "a voucher") {
        return flag(app, before, short).await;
    }
    let now = app.now();
    let mut tx = Tx::new();
    let Some(voucher) = vouchers::online::stage_online_sale(app, &mut tx, tid, plan, phone, amount, now).await? else {
        return flag(
            app,
            before,
            "paid, but no unsold voucher of the plan is left: refund the buyer or make a batch".into(),
        )
        .await;
    };
    let mut done = after.clone();
    done.log(now, "voucher", format!("voucher {} sold to {phone}", voucher.code));
    tx.put_audit(&kernel::support::audit(
        &Actor::system(tid),
        Some(tid),
        kernel::support::Audited {
            action: "voucher.sold_online",
            entity: "voucher",
            id: voucher.code.clone(),
            before: None,
            after: Some(serde_json::json!({"checkout_id": before.id, "amount": amount, "currency": before.currency,
                "phone": phone, "gateway": before.gateway})),
        },
        now,
    ));
    commit_settlement(app, Owner::Tenant(tid), tx, before, &done, transaction_id).await
}

/// What is wrong with a payment of less (or more) than a checkout that buys something whole (a
/// platform purchase, a top-up, a voucher) asked for: it is kept for staff, never applied.
fn short_of_whole(before: &Checkout, amount: i64, what: &str) -> Option<String> {
    (amount != before.amount)
        .then(|| format!("paid {amount} of {} {}: {what} needs the whole amount", before.amount, before.currency))
}

/// Commits a settlement other than a customer's payment: what `tx` holds, the checkout's move to
/// `paid` (on the version read) and the gateway transaction's sentinel. `None`: something moved
/// meanwhile (read again); the transaction applied elsewhere is kept for staff.
async fn commit_settlement(
    app: &App,
    owner: Owner,
    mut tx: Tx,
    before: &Checkout,
    done: &Checkout,
    transaction_id: &str,
) -> Result<Option<Checkout>> {
    tx.put_versioned(encoded(done)?, before.version);
    let value = format!("{}:{transaction_id}", before.gateway.as_str());
    tx.put_unique(keys::unique(owner, "gateway_transaction", &value), "transaction_id", &before.id.to_string());
    match app.store.commit(tx).await {
        Ok(()) => Ok(Some(done.clone())),
        Err(StoreError::Conflict(Conflict::Version)) => Ok(None),
        Err(StoreError::Conflict(Conflict::Unique(_))) => applied_elsewhere(app, before, transaction_id).await,
        Err(e) => Err(kernel::support::store_err(e)),
    }
}
