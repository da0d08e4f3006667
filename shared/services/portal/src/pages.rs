//! The subscriber's own pages. Every key is built from the token's customer, so a page can only
//! ever read that customer's items; a document of another customer is simply not there (404).

use chrono::{DateTime, Utc};
use domain::customer::Customer;
use domain::invoice::Invoice;
use domain::language::Language;
use domain::ledger::Account;
use domain::package::Package;
use domain::patch::Patch;
use domain::payment::Payment;
use domain::portal::{EditableField, Subscriber};
use domain::subscription::{Subscription, SubscriptionStatus};
use domain::tenant::Tenant;
use domain::{Error, Result};
use kernel::App;
use kernel::support::{StoreResultExt, decoded, tenant_of};
use serde::{Deserialize, Serialize};
use store::{Owner, Page, Query, keys};
use uuid::Uuid;

/// What the portal shows of the ISP.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PortalIsp {
    pub id: Uuid,
    pub name: String,
    pub code: String,
    pub currency: String,
    pub time_zone: String,
    pub editable_fields: Vec<EditableField>,
    pub otp_login: bool,
    pub self_upgrade: bool,
    pub self_downgrade: bool,
}

impl From<&Tenant> for PortalIsp {
    fn from(t: &Tenant) -> Self {
        Self {
            id: t.id,
            name: t.name.clone(),
            code: t.slug.clone(),
            currency: t.currency.clone(),
            time_zone: t.time_zone.clone(),
            editable_fields: t.portal.editable_fields.clone(),
            otp_login: t.portal.otp_login,
            self_upgrade: t.portal.self_upgrade,
            self_downgrade: t.portal.self_downgrade,
        }
    }
}

/// The subscriber's profile as they see it (no staff notes, tags or operator internals).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Profile {
    pub id: Uuid,
    pub name: String,
    pub username: String,
    pub phone: String,
    pub email: Option<String>,
    pub address: Option<String>,
    pub area: Option<String>,
    pub language: Option<Language>,
    pub status: domain::customer::CustomerStatus,
    pub version: u64,
}

impl From<&Customer> for Profile {
    fn from(c: &Customer) -> Self {
        Self {
            id: c.id,
            name: c.name.clone(),
            username: c.username.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            address: c.address.clone(),
            area: c.area.clone(),
            language: c.language,
            status: c.status,
            version: c.version,
        }
    }
}

/// The account as the subscriber sees it: what they owe (positive) or hold in credit.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Balance {
    pub currency: String,
    /// Owed minus credit, in minor units (negative: in credit).
    pub balance: i64,
    pub credit: i64,
    /// Open invoices' count and what is left to pay on them.
    pub open_invoices: usize,
    pub open_amount: i64,
}

fn balance_of(account: Option<Account>, currency: &str) -> Balance {
    match account {
        Some(a) => Balance {
            currency: a.currency.clone(),
            balance: a.balance,
            credit: a.credit,
            open_invoices: a.open.len(),
            open_amount: a.open.iter().map(|o| o.amount_due).sum(),
        },
        None => Balance { currency: currency.into(), balance: 0, credit: 0, open_invoices: 0, open_amount: 0 },
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub customer: Profile,
    pub isp: PortalIsp,
    pub balance: Balance,
}

/// The customer, its ISP and its account in one BatchGetItem.
async fn load_me(app: &App, s: Subscriber) -> Result<(Customer, Tenant, Option<Account>)> {
    let ck = keys::customer(s.tenant_id, s.customer_id, None);
    let tk = keys::tenant(s.tenant_id, None);
    let ak = keys::account(s.tenant_id, s.customer_id);
    let mut got = app.store.batch_get(&[&ck, &tk, &ak]).await.or_500()?.into_iter();
    let rec: Option<crm::customers::CustomerRecord> = decoded(got.next().flatten())?;
    let customer = rec.filter(|r| r.deleted_at.is_none()).ok_or_else(|| Error::not_found("customer"))?.customer;
    let tenant = tenant_of(got.next().flatten())?;
    Ok((customer, tenant, decoded(got.next().flatten())?))
}

/// `GET /v1/portal/me`: profile, ISP and balance (one round trip).
pub async fn me(app: &App, s: Subscriber) -> Result<Me> {
    let (customer, tenant, account) = load_me(app, s).await?;
    Ok(Me { customer: (&customer).into(), isp: (&tenant).into(), balance: balance_of(account, &tenant.currency) })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub address: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Language>)]
    pub language: Patch<Language>,
    pub version: Option<u64>,
}

/// `PATCH /v1/portal/me`: only what the ISP lets subscribers edit (422 naming the field otherwise).
pub async fn update_me(app: &App, s: Subscriber, input: UpdateMe, if_match: Option<u64>) -> Result<Profile> {
    let expected = kernel::support::expected_version(if_match, input.version)?;
    let tenant = tenant_of(app.store.get_item(&keys::tenant(s.tenant_id, None)).await.or_500()?)?;
    let mut v = domain::Validation::new();
    for (field, given, which) in [
        ("email", input.email.as_update().is_some(), EditableField::Email),
        ("address", input.address.as_update().is_some(), EditableField::Address),
        ("language", input.language.as_update().is_some(), EditableField::Language),
    ] {
        if given && !tenant.portal.may_edit(which) {
            v.add(field, "your ISP does not let subscribers change this; ask them to");
        }
    }
    v.finish()?;
    let c = crm::customers::update_own_profile(app, s, input.email, input.address, input.language, expected).await?;
    Ok((&c).into())
}

/// A subscription as the subscriber sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PortalSubscription {
    pub id: Uuid,
    pub package_id: Uuid,
    pub package_name: String,
    pub connection_type: domain::package::ConnectionType,
    pub username: String,
    pub status: SubscriptionStatus,
    pub billing_model: domain::subscription::BillingModel,
    pub price: i64,
    pub currency: String,
    pub auto_renew: bool,
    pub start_date: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Whole days until the expiry (0 on the last day; none without an expiry).
    pub days_left: Option<i64>,
    /// The package's speed, in kbit/s (none when the package is gone).
    pub download_kbps: Option<u64>,
    pub upload_kbps: Option<u64>,
    #[schema(value_type = Option<String>)]
    pub ip_address: Option<std::net::Ipv4Addr>,
    /// The turbo boost in force, if any.
    pub turbo: Option<domain::turbo::Turbo>,
    /// The boosts the package offers (bought with `POST /v1/portal/subscriptions/{id}/turbo`).
    pub turbo_offers: Vec<domain::turbo::TurboOffer>,
    /// A move to a cheaper package waiting for the end of the period.
    pub scheduled_package: Option<domain::subscription::ScheduledPackage>,
}

fn portal_subscription(s: &Subscription, package: Option<&Package>, now: DateTime<Utc>) -> PortalSubscription {
    PortalSubscription {
        id: s.id,
        package_id: s.package_id,
        package_name: s.package_name.clone(),
        connection_type: s.connection_type,
        username: s.username.clone(),
        status: s.status,
        billing_model: s.billing_model,
        price: s.price,
        currency: s.currency.clone(),
        auto_renew: s.auto_renew,
        start_date: s.start_date,
        expires_at: s.expires_at,
        days_left: s.expires_at.map(|e| ((e - now).num_seconds().max(0)) / 86_400),
        download_kbps: package.map(|p| p.download.0 / 1000),
        upload_kbps: package.map(|p| p.upload.0 / 1000),
        ip_address: s.ip_address,
        turbo: s.turbo.clone().filter(|t| t.active_at(now)),
        turbo_offers: package.map(|p| p.turbo_offers.clone()).unwrap_or_default(),
        scheduled_package: s.scheduled_package.clone(),
    }
}

/// `GET /v1/portal/subscriptions`: the subscriber's subscriptions with their package's speed
/// (a Query of the customer's subscriptions, then one BatchGetItem of their packages).
pub async fn subscriptions(app: &App, s: Subscriber) -> Result<Vec<PortalSubscription>> {
    let q = Query::table(keys::customer_pk(s.tenant_id, s.customer_id)).prefix(keys::SUBSCRIPTION_SK_PREFIX).limit(200);
    let page: Page<Subscription> =
        app.store.query_page(Owner::Tenant(s.tenant_id), "portal-subs", q, None).await.or_500()?;
    let mut package_ids: Vec<Uuid> = page.items.iter().map(|s| s.package_id).collect();
    package_ids.sort();
    package_ids.dedup();
    let pks: Vec<store::ItemKeys> = package_ids.iter().map(|p| keys::package(s.tenant_id, *p, "")).collect();
    let refs: Vec<&store::ItemKeys> = pks.iter().collect();
    let packages: Vec<Package> = if refs.is_empty() {
        vec![]
    } else {
        app.store
            .batch_get_many(&refs)
            .await
            .or_500()?
            .into_iter()
            .flatten()
            .map(store::Store::decode)
            .collect::<std::result::Result<_, _>>()
            .or_500()?
    };
    let now = app.now();
    Ok(page
        .items
        .iter()
        .map(|sub| portal_subscription(sub, packages.iter().find(|p| p.id == sub.package_id), now))
        .collect())
}

/// `GET /v1/portal/invoices`: newest first (one Query).
pub async fn invoices(app: &App, s: Subscriber, limit: u32, cursor: Option<&str>) -> Result<Page<Invoice>> {
    let q = Query::table(keys::customer_pk(s.tenant_id, s.customer_id))
        .prefix(keys::INVOICE_SK_PREFIX)
        .newest_first()
        .limit(limit);
    let page: Page<Invoice> = app
        .store
        .query_page(Owner::Tenant(s.tenant_id), &format!("portal-invoices:{}", s.customer_id), q, cursor)
        .await
        .or_500()?;
    // Drafts are the ISP's work in progress, not the subscriber's bill.
    Ok(Page {
        items: page.items.into_iter().filter(|i| i.status != domain::invoice::InvoiceStatus::Draft).collect(),
        next_cursor: page.next_cursor,
    })
}

/// `GET /v1/portal/invoices/{id}` (one GetItem, keyed by the subscriber).
pub async fn invoice(app: &App, s: Subscriber, id: Uuid) -> Result<Invoice> {
    let inv: Option<Invoice> =
        app.store.get(&keys::invoice(s.tenant_id, s.customer_id, id, None, None, None)).await.or_500()?;
    inv.filter(|i| i.customer_id == s.customer_id && i.status != domain::invoice::InvoiceStatus::Draft)
        .ok_or_else(|| Error::not_found("invoice"))
}

/// `GET /v1/portal/invoices/{id}/pdf`: the invoice, its ISP and the customer in one BatchGetItem.
#[cfg(feature = "pdf")]
pub async fn invoice_pdf(app: &App, s: Subscriber, id: Uuid) -> Result<(String, Vec<u8>)> {
    let ik = keys::invoice(s.tenant_id, s.customer_id, id, None, None, None);
    let (ck, tk) = (keys::customer(s.tenant_id, s.customer_id, None), keys::tenant(s.tenant_id, None));
    let mut got = app.store.batch_get(&[&ik, &ck, &tk]).await.or_500()?.into_iter();
    let inv: Option<Invoice> = decoded(got.next().flatten())?;
    let inv = inv
        .filter(|i| i.customer_id == s.customer_id && i.status != domain::invoice::InvoiceStatus::Draft)
        .ok_or_else(|| Error::not_found("invoice"))?;
    let rec: Option<crm::customers::CustomerRecord> = decoded(got.next().flatten())?;
    let customer = rec.ok_or_else(|| Error::not_found("customer"))?.customer;
    let tenant = tenant_of(got.next().flatten())?;
    let name = format!("{}.pdf", inv.number.clone().unwrap_or_else(|| inv.id.to_string()));
    Ok((name, billing::invoice_pdf::render(&tenant, &customer, &inv)?))
}

/// `GET /v1/portal/payments`: the subscriber's payments and receipts, newest first (one Query).
pub async fn payments(app: &App, s: Subscriber, limit: u32, cursor: Option<&str>) -> Result<Page<Payment>> {
    let q = Query::table(keys::customer_pk(s.tenant_id, s.customer_id))
        .prefix(keys::PAYMENT_SK_PREFIX)
        .newest_first()
        .limit(limit);
    app.store
        .query_page(Owner::Tenant(s.tenant_id), &format!("portal-payments:{}", s.customer_id), q, cursor)
        .await
        .or_500()
}

/// `GET /v1/portal/balance` (one BatchGetItem: the account and the ISP's currency).
pub async fn balance(app: &App, s: Subscriber) -> Result<Balance> {
    let ak = keys::account(s.tenant_id, s.customer_id);
    let tk = keys::tenant(s.tenant_id, None);
    let mut got = app.store.batch_get(&[&ak, &tk]).await.or_500()?.into_iter();
    let account: Option<Account> = decoded(got.next().flatten())?;
    let tenant = tenant_of(got.next().flatten())?;
    Ok(balance_of(account, &tenant.currency))
}
