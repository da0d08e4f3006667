//! Subscriptions (`/v1/customers/{id}/subscriptions`, `/v1/subscriptions`): create, read, list across
//! the ISP, and every change through the one state machine in `domain::subscription`.
//!
//! A change is one transaction: the subscription (version-checked), its customer's status counts,
//! usage counters of package and router, username/IP sentinels, a timeline entry, the audit entry
//! and the event provisioning acts on. Changes carry no client version, so a clash with a concurrent
//! change of the same customer is retried on fresh data.

use chrono::{DateTime, Utc};
use crm::customers::{CustomerRecord, stage_customer};
use domain::actor::Actor;
use domain::billing::{BillingDue, Priced, activation_charge, anchor_day, billing_due, package_change_lines};
use domain::customer::Customer;
use domain::event::{DomainEvent, NetworkEvent};
use domain::invoice::{Invoice, InvoiceKind};
use domain::package::{ConnectionType, Package};
use domain::role::Permission;
use domain::subscription::{
    Action, BillingModel, Subscription, SubscriptionStatus, check_restore, extended_expiry, normalize_mac,
    status_after_extension, transition, valid_secret_password,
};
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::access::confined_pops;
use kernel::idempotency::{IdempotentRequest, Outcome, record, replay};
use kernel::projections::dashboard::{Deltas, counted_expiry};
use kernel::projections::timeline::{TimelineEntry, TimelineKind};
use kernel::projections::usage::stage_usage;
use kernel::support::{Audited, StoreResultExt, audit, decoded, snapshot, store_err, tenant_of};
use network::packages::{OfferRecord, live_package, selling_price};
use network::routers::{RouterRecord, live_router};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use store::keys::UsageOf;
use store::{Conflict, Filter, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscription {
    pub package_id: Uuid,
    pub router_id: Uuid,
    /// PPPoE secret / hotspot user name; defaults to the customer's username.
    pub username: Option<String>,
    /// Generated when omitted (read it back with `GET /v1/subscriptions/{id}/password`).
    pub password: Option<String>,
    pub billing_model: BillingModel,
    /// Postpaid: day of month (1-28); defaults to the ISP's billing day.
    pub billing_day: Option<u8>,
    /// Defaults to true.
    pub auto_renew: Option<bool>,
    #[schema(value_type = Option<String>, example = "10.20.0.15")]
    pub ip_address: Option<String>,
    pub mac_address: Option<String>,
    /// For migrated subscribers: when the service started and when it is paid until.
    pub start_date: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A subscription as stored: the API shape plus the sealed password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    #[serde(flatten)]
    pub subscription: Subscription,
    pub password_sealed: String,
}

/// Where a subscription lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SubscriptionRef {
    subscription_id: Uuid,
    customer_id: Uuid,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubscriptionPassword {
    pub subscription_id: Uuid,
    pub username: String,
    pub password: String,
}

/// A change to a subscription, as the API and the bulk worker ask for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Activate,
    Suspend {
        reason: Option<String>,
    },
    Restore,
    Cancel {
        reason: Option<String>,
    },
    /// The expiry sweep (system), as of its run's time: refused if the validity runs past `at`
    /// (a payment renewed it after the sweep read the index).
    Expire {
        at: DateTime<Utc>,
    },
    ChangePackage {
        package_id: Uuid,
    },
    Extend {
        days: u32,
    },
    MoveRouter {
        router_id: Uuid,
    },
    ResetPassword {
        password: Option<String>,
    },
}

impl Change {
    pub fn action(&self) -> Action {
        match self {
            Change::Activate => Action::Activate,
            Change::Suspend { .. } => Action::Suspend,
            Change::Restore => Action::Restore,
            Change::Cancel { .. } => Action::Cancel,
            Change::Expire { .. } => Action::Expire,
            Change::ChangePackage { .. } => Action::ChangePackage,
            Change::Extend { .. } => Action::Extend,
            Change::MoveRouter { .. } => Action::MoveRouter,
            Change::ResetPassword { .. } => Action::ResetPassword,
        }
    }

    /// Checks the change's own fields (before anything is read).
    pub fn validate(&self) -> Result<()> {
        let mut v = Validation::new();
        match self {
            Change::Suspend { reason } | Change::Cancel { reason } => {
                v.optional_text("reason", reason.as_deref(), 300);
            }
            Change::Extend { days } => v.range_i64("days", (*days).into(), 1, 3660),
            Change::ResetPassword { password: Some(p) } if !valid_secret_password(p) => {
                v.add("password", "must be 4-64 printable characters without spaces or quotes")
            }
            _ => {}
        }
        Ok(v.finish()?)
    }
}

fn password_aad(tid: Uuid, id: Uuid) -> Vec<u8> {
    format!("subscription-password:{tid}:{id}").into_bytes()
}

fn generated_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..10).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

impl store::Stored for SubscriptionRecord {
    const TYPE: &'static str = "SUBSCRIPTION";
    fn keys(&self) -> store::ItemKeys {
        sub_keys(&self.subscription)
    }
    fn version(&self) -> Option<u64> {
        Some(self.subscription.version)
    }
}

pub fn sub_keys(s: &Subscription) -> store::ItemKeys {
    // Cancelled subscriptions leave the expiry index: they never expire again.
    let expiry = if s.status == SubscriptionStatus::Cancelled { None } else { s.expires_at };
    // Cancelled ones leave the router index too: nothing of theirs belongs on a router.
    let router = if s.status == SubscriptionStatus::Cancelled { None } else { Some(s.router_id) };
    let due = billing_due(s).map(|d| match d {
        BillingDue::Prepaid(at) => (keys::BillingIndex::Prepaid, at),
        BillingDue::Postpaid(at) => (keys::BillingIndex::Postpaid, at),
    });
    keys::with_billing_due(
        keys::subscription(s.tenant_id, s.customer_id, s.id, s.scope.as_deref(), expiry, router),
        s.tenant_id,
        s.id,
        due,
    )
}

fn unique_key(tid: Uuid, field: &str, value: &str) -> store::ItemKeys {
    keys::subscription_unique(tid, field, value)
}

/// The username and IP a live subscription holds (a cancelled one holds nothing).
fn held_values(s: &Subscription) -> Vec<(&'static str, String)> {
    if s.status == SubscriptionStatus::Cancelled {
        return vec![];
    }
    let mut v = vec![("username", s.username.clone())];
    if let Some(ip) = s.ip_address {
        v.push(("ip_address", ip.to_string()));
    }
    v
}

pub fn event_detail(s: &Subscription, extra: serde_json::Value) -> serde_json::Value {
    let mut d = serde_json::json!({
        "subscription_id": s.id,
        "customer_id": s.customer_id,
        "router_id": s.router_id,
        "package_id": s.package_id,
        "status": s.status,
        "version": s.version,
    });
    if let (Some(d), serde_json::Value::Object(x)) = (d.as_object_mut(), extra) {
        d.extend(x);
    }
    d
}

fn visible_customer(actor: &Actor, rec: Option<CustomerRecord>) -> Result<Customer> {
    match rec {
        Some(r) if r.deleted_at.is_none() && actor.sees_scope(r.customer.scope.as_deref()) => Ok(r.customer),
        _ => Err(Error::not_found("customer")),
    }
}

/// A router the caller may put subscriptions on (operators: within their POPs).
async fn usable_router(app: &App, actor: &Actor, rec: Option<RouterRecord>, v: &mut Validation) -> Result<()> {
    match rec {
        None => v.add("router_id", "is not a router of this ISP"),
        Some(r) => {
            if let Some(mine) = confined_pops(app, actor).await?
                && !r.router.pop_id.is_some_and(|p| mine.contains(&p))
            {
                v.add("router_id", "is not a router of your POPs");
            }
        }
    }
    Ok(())
}

fn usable_package(p: Option<&Package>, v: &mut Validation) {
    match p {
        None => v.add("package_id", "is not a package of this ISP"),
        Some(p) if !p.active => v.add("package_id", "is not active"),
        _ => {}
    }
}

pub async fn create_subscription(
    app: &App,
    actor: &Actor,
    customer_id: Uuid,
    input: CreateSubscription,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Subscription>> {
    actor.require(Permission::CustomersWrite)?;
    let tid = actor.tenant()?;
    // One round trip for everything the rules need; a second only when an admin sells to an
    // operator's customer (that operator's offer sets the price).
    let ck = keys::customer(tid, customer_id, None);
    let pk = keys::package(tid, input.package_id, "");
    let rk = keys::router(tid, input.router_id, "", None);
    let tk = keys::tenant(tid, None);
    let ok = keys::package_offer(tid, input.package_id, actor.user_id);
    let mut got = app.store.batch_get(&[&ck, &pk, &rk, &tk, &ok]).await.or_500()?.into_iter();
    let customer = visible_customer(actor, decoded(got.next().flatten())?)?;
    let package = live_package(got.next().flatten())?;
    let router = live_router(got.next().flatten())?;
    let tenant = tenant_of(got.next().flatten())?;
    let mut offer: Option<OfferRecord> = decoded(got.next().flatten())?;
    if let Some(op) = customer.operator_id
        && op != actor.user_id
    {
        offer = app.store.get(&keys::package_offer(tid, input.package_id, op)).await.or_500()?;
    }
    let now = app.now();
    let mut v = Validation::new();
    usable_router(app, actor, router, &mut v).await?;
    let ctx = NewSubscriptionContext {
        customer: &customer,
        package: package.as_ref(),
        tenant: &tenant,
        offer: offer.as_ref(),
    };
    let (sub, password) = prepare_subscription(v, &ctx, &input, now)?;
    let mut tx = Tx::new();
    let new = NewSubscription { customer: &customer, sub: &sub, password: &password, write: CustomerWrite::Update };
    stage_new_subscription(app, &mut tx, actor, new, now)?;
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &sub, app)?);
    }
    match app.store.commit(tx).await {
        Ok(()) => Ok(Outcome::Fresh(sub)),
        Err(StoreError::Conflict(Conflict::Idempotency)) if idem.is_some() => {
            replay(app, Owner::Tenant(tid), actor.user_id, idem.expect("checked")).await
        }
        Err(e) => Err(write_conflict(e)),
    }
}

/// How a new subscription's customer is written: updated (versioned) beside it, or created by the
/// caller in the same transaction with the subscription already counted (an import).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerWrite {
    Update,
    CreatedByCaller,
}

/// What checking a new subscription needs to have read.
pub struct NewSubscriptionContext<'a> {
    pub customer: &'a Customer,
    pub package: Option<&'a Package>,
    pub tenant: &'a domain::tenant::Tenant,
    /// The package's offer to the customer's operator, if it has one.
    pub offer: Option<&'a OfferRecord>,
}

/// Checks a new subscription against what was read (the router was checked by the caller, into
/// `v`); no I/O. Returns it with its password (given or generated).
pub fn prepare_subscription(
    mut v: Validation,
    ctx: &NewSubscriptionContext<'_>,
    input: &CreateSubscription,
    now: DateTime<Utc>,
) -> Result<(Subscription, String)> {
    let (customer, package, tenant, offer) = (ctx.customer, ctx.package, ctx.tenant, ctx.offer);
    let (tid, customer_id) = (customer.tenant_id, customer.id);
    usable_package(package, &mut v);
    let username = v.username("username", input.username.as_deref().unwrap_or(&customer.username));
    let password = match &input.password {
        Some(p) if !valid_secret_password(p) => {
            v.add("password", "must be 4-64 printable characters without spaces or quotes");
            String::new()
        }
        Some(p) => p.clone(),
        None => generated_password(),
    };
    let ip_address = match input.ip_address.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => match s.parse::<Ipv4Addr>() {
            Ok(ip) if !ip.is_unspecified() && !ip.is_broadcast() && !ip.is_multicast() => Some(ip),
            _ => {
                v.add("ip_address", "must be an IPv4 host address");
                None
            }
        },
    };
    let mac_address = match input.mac_address.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) => normalize_mac(m).or_else(|| {
            v.add("mac_address", "must be a MAC address like AA:BB:CC:DD:EE:FF");
            None
        }),
    };
    if package.as_ref().is_some_and(|p| p.connection_type == ConnectionType::Static) && ip_address.is_none() {
        v.add("ip_address", "is required for a static package");
    }
    let billing_day = match input.billing_model {
        BillingModel::Prepaid => {
            if input.billing_day.is_some() {
                v.add("billing_day", "applies to postpaid subscriptions only");
            }
            None
        }
        BillingModel::Postpaid => {
            let d = input.billing_day.unwrap_or(tenant.billing.billing_day);
            v.range_i64("billing_day", d.into(), 1, 28);
            Some(d)
        }
    };
    if let (Some(s), Some(e)) = (input.start_date, input.expires_at)
        && e <= s
    {
        v.add("expires_at", "must be after start_date");
    }
    let price = match &package {
        Some(p) if p.active => selling_price(p, customer.operator_id, offer).unwrap_or_else(|e| {
            if let Error::Validation(errors) = e {
                for fe in errors {
                    v.add(&fe.field, fe.message);
                }
            }
            0
        }),
        _ => 0,
    };
    v.finish()?;
    let package = package.expect("validated");
    let sub = Subscription {
        id: ids::new_id(),
        tenant_id: tid,
        customer_id,
        package_id: package.id,
        package_name: package.name.clone(),
        connection_type: package.connection_type,
        router_id: input.router_id,
        username,
        ip_address,
        mac_address,
        billing_model: input.billing_model,
        billing_day,
        auto_renew: input.auto_renew.unwrap_or(true),
        price,
        currency: package.currency.clone(),
        status: SubscriptionStatus::Pending,
        status_reason: None,
        start_date: input.start_date,
        expires_at: input.expires_at,
        ended_at: None,
        turbo: None,
        scheduled_package: None,
        billed_through: None,
        operator_id: customer.operator_id,
        scope: customer.scope.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    Ok((sub, password))
}

/// A subscription to stage, with its customer (as read) and its password in the clear (sealed
/// here).
pub struct NewSubscription<'a> {
    pub customer: &'a Customer,
    pub sub: &'a Subscription,
    pub password: &'a str,
    pub write: CustomerWrite,
}

/// Stages everything a new subscription writes: the subscription, where it lives, its username and
/// IP, the live checks of package and router, usage counters, the customer's counts (see
/// [`CustomerWrite`]), dashboard, timeline, audit and event. Returns the customer with the
/// subscription counted.
pub fn stage_new_subscription(
    app: &App,
    tx: &mut Tx,
    actor: &Actor,
    new: NewSubscription<'_>,
    now: DateTime<Utc>,
) -> Result<Customer> {
    let NewSubscription { customer, sub, password, write } = new;
    let tid = sub.tenant_id;
    let customer_id = customer.id;
    let rec = SubscriptionRecord {
        subscription: sub.clone(),
        password_sealed: app.secrets.seal(password.as_bytes(), &password_aad(tid, sub.id)),
    };
    let pk = keys::package(tid, sub.package_id, "");
    let rk = keys::router(tid, sub.router_id, "", None);
    tx.put_new(Store::encode_stored(&rec).or_500()?, Conflict::Exists);
    let r = SubscriptionRef { subscription_id: sub.id, customer_id };
    tx.put_new(
        Store::encode(&keys::subscription_ref(tid, sub.id), "SUBSCRIPTION_REF", &r, None).or_500()?,
        Conflict::Exists,
    );
    for (field, value) in held_values(sub) {
        tx.put_unique(unique_key(tid, field, &value), field, &sub.id.to_string());
    }
    // Package and router must still be live when the subscription lands on them.
    tx.check(
        &pk,
        "attribute_exists(pk) AND attribute_not_exists(deleted_at) AND active = :t",
        bool_value(true),
        Conflict::Unique("package_id".into()),
    );
    tx.check(
        &rk,
        "attribute_exists(pk) AND attribute_not_exists(deleted_at)",
        Default::default(),
        Conflict::Unique("router_id".into()),
    );
    stage_usage(tx, tid, UsageOf::Package, sub.package_id, 1);
    stage_usage(tx, tid, UsageOf::Router, sub.router_id, 1);
    let mut c = customer.clone();
    c.subscriptions = c.subscriptions.moved(None, sub.status);
    c.status = c.subscriptions.customer_status();
    let mut counts = Deltas::default();
    if write == CustomerWrite::Update {
        c.version += 1;
        c.updated_at = now;
        stage_customer(tx, &c, Some(customer.version))?;
        counts.customer(c.scope.as_deref(), Some(customer.status), Some(c.status));
    }
    counts.expiry(sub.scope.as_deref(), None, counted_expiry(sub));
    counts.stage(tx, tid);
    let mut entry = TimelineEntry::new(
        customer_id,
        TimelineKind::Subscription,
        "subscription.created",
        format!("Subscription {} on {} created", sub.username, sub.package_name),
        now,
    );
    entry.subscription_id = Some(sub.id);
    entry.actor_id = Some(actor.real_actor());
    kernel::projections::timeline::stage(tx, tid, &entry)?;
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "subscription.created",
            entity: "subscription",
            id: sub.id.to_string(),
            before: None,
            after: Some(snapshot(sub)),
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        NetworkEvent::SubscriptionCreated,
        Some(tid),
        event_detail(sub, serde_json::json!({})),
        now,
    ));
    Ok(c)
}

fn bool_value(b: bool) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    std::collections::HashMap::from([(":t".to_string(), aws_sdk_dynamodb::types::AttributeValue::Bool(b))])
}

/// Conflicts of a subscription write: a package or router that vanished meanwhile is a 422 on its
/// field; a taken username or IP a 409 naming it.
fn write_conflict(e: StoreError) -> Error {
    match e {
        StoreError::Conflict(Conflict::Unique(f)) if f == "package_id" => {
            Error::field("package_id", "is not an active package of this ISP")
        }
        StoreError::Conflict(Conflict::Unique(f)) if f == "router_id" => {
            Error::field("router_id", "is not a router of this ISP")
        }
        other => store_err(other),
    }
}

/// The PPPoE/hotspot password in clear (staff with the permission, and provisioning).
pub fn open_password(app: &App, rec: &SubscriptionRecord) -> Result<String> {
    let s = &rec.subscription;
    kernel::support::open_text(
        &app.secrets,
        &rec.password_sealed,
        &password_aad(s.tenant_id, s.id),
        "subscription password",
    )
}

async fn locate(app: &App, tid: Uuid, id: Uuid) -> Result<Uuid> {
    let r: Option<SubscriptionRef> = app.store.get(&keys::subscription_ref(tid, id)).await.or_500()?;
    r.map(|r| r.customer_id).ok_or_else(|| Error::not_found("subscription"))
}

pub async fn load_record(app: &App, actor: &Actor, id: Uuid) -> Result<SubscriptionRecord> {
    actor.require(Permission::CustomersRead)?;
    let tid = actor.tenant()?;
    let customer_id = locate(app, tid, id).await?;
    let rec: Option<SubscriptionRecord> =
        app.store.get(&keys::subscription(tid, customer_id, id, None, None, None)).await.or_500()?;
    visible_record(actor, rec)
}

/// A subscription only exists for a caller who may see its operator subtree.
fn visible_record(actor: &Actor, rec: Option<SubscriptionRecord>) -> Result<SubscriptionRecord> {
    match rec {
        Some(r) if actor.sees_scope(r.subscription.scope.as_deref()) => Ok(r),
        _ => Err(Error::not_found("subscription")),
    }
}

/// A subscription with what provisioning last did for it on its router.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubscriptionDetail {
    #[serde(flatten)]
    pub subscription: Subscription,
    /// Absent until the provisioning worker has looked at it (a pending subscription is not on a
    /// router).
    pub provisioning: Option<domain::provisioning::ProvisioningRecord>,
}

/// The subscription and its provisioning record: the ref, then both items in one BatchGetItem.
pub async fn get_subscription(app: &App, actor: &Actor, id: Uuid) -> Result<SubscriptionDetail> {
    actor.require(Permission::CustomersRead)?;
    let tid = actor.tenant()?;
    let customer_id = locate(app, tid, id).await?;
    let sub_key = keys::subscription(tid, customer_id, id, None, None, None);
    let prov_key = keys::subscription_provisioning(tid, customer_id, id);
    let mut items = app.store.batch_get(&[&sub_key, &prov_key]).await.or_500()?.into_iter();
    let rec = visible_record(actor, decoded(items.next().flatten())?)?;
    Ok(SubscriptionDetail { subscription: rec.subscription, provisioning: decoded(items.next().flatten())? })
}

/// The PPPoE/hotspot password, for staff allowed to see it.
pub async fn get_password(app: &App, actor: &Actor, id: Uuid) -> Result<SubscriptionPassword> {
    actor.require(Permission::SubscriptionSecretsRead)?;
    let rec = load_record(app, actor, id).await?;
    let password = open_password(app, &rec)?;
    kernel::support::audit_secret_read(
        app,
        actor,
        rec.subscription.tenant_id,
        Audited {
            action: "subscription.password_read",
            entity: "subscription",
            id: id.to_string(),
            before: None,
            after: Some(serde_json::json!({"username": rec.subscription.username})),
        },
    )
    .await?;
    Ok(SubscriptionPassword { subscription_id: rec.subscription.id, username: rec.subscription.username, password })
}

/// A customer's subscriptions, oldest first.
pub async fn list_for_customer(app: &App, actor: &Actor, customer_id: Uuid) -> Result<Vec<Subscription>> {
    let tid = actor.tenant()?;
    crm::customers::get_customer(app, actor, customer_id).await?;
    let q = Query::table(keys::customer_pk(tid, customer_id)).prefix(keys::SUBSCRIPTION_SK_PREFIX).limit(200);
    let page: Page<Subscription> =
        app.store.query_page(Owner::Tenant(tid), &format!("customer-subs:{customer_id}"), q, None).await.or_500()?;
    Ok(page.items)
}

#[derive(Debug, Default, Clone)]
pub struct SubscriptionFilter {
    pub status: Option<SubscriptionStatus>,
    pub package_id: Option<Uuid>,
    pub router_id: Option<Uuid>,
    pub expiring_after: Option<DateTime<Utc>>,
    pub expiring_before: Option<DateTime<Utc>>,
}

impl SubscriptionFilter {
    fn id(&self) -> String {
        format!(
            "{:?}:{:?}:{:?}:{:?}:{:?}",
            self.status.map(|s| s.as_str()),
            self.package_id,
            self.router_id,
            self.expiring_after.map(keys::key_time),
            self.expiring_before.map(keys::key_time)
        )
    }
}

/// Subscriptions across the ISP: newest first, or by expiry when a window is given (from the
/// sharded expiry index). Operators see their subtree's.
pub async fn list_subscriptions(
    app: &App,
    actor: &Actor,
    filter: SubscriptionFilter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Subscription>> {
    actor.require(Permission::CustomersRead)?;
    let tid = actor.tenant()?;
    let owner = Owner::Tenant(tid);
    let scope = actor.confinement()?.map(str::to_string);
    let mut f = Filter::default();
    if let Some(s) = filter.status {
        f = f.eq("status", s.as_str());
    }
    if let Some(p) = filter.package_id {
        f = f.eq("package_id", &p.to_string());
    }
    if let Some(r) = filter.router_id {
        f = f.eq("router_id", &r.to_string());
    }
    let qid = format!("subs:{}:{}", scope.as_deref().unwrap_or(""), filter.id());
    if filter.expiring_before.is_some() || filter.expiring_after.is_some() {
        if let (Some(a), Some(b)) = (filter.expiring_after, filter.expiring_before)
            && a >= b
        {
            return Err(Error::field("expiring_after", "must be before expiring_before"));
        }
        if let Some(s) = &scope {
            f = f.in_subtree("scope", s);
        }
        let lo = filter.expiring_after.map(keys::key_time);
        // `~` sorts after every character of a key, so "before" alone is an open upper end.
        let hi = filter.expiring_before.map(keys::key_time).unwrap_or_else(|| "~".into());
        let queries = (0..keys::EXPIRY_SHARDS)
            .map(|shard| {
                let mut q =
                    Query::index("gsi2", keys::subscriptions_by_expiry_gsi2(tid, shard)).range(lo.clone(), hi.clone());
                if !f.expression.is_empty() {
                    q = q.filter(f.clone());
                }
                q
            })
            .collect();
        let (items, next) = app.store.query_merged_page(owner, &qid, queries, limit, cursor).await.or_500()?;
        return Ok(Page {
            items: items.into_iter().map(Store::decode).collect::<store::Result<_>>().or_500()?,
            next_cursor: next,
        });
    }
    let q = match &scope {
        Some(s) => Query::index("gsi3", keys::subscriptions_by_operator_gsi3(tid, s)).prefix(s.clone()).newest_first(),
        None => Query::index("gsi1", keys::subscriptions_gsi1(tid)).newest_first(),
    };
    let mut q = q.limit(limit);
    if !f.expression.is_empty() {
        q = q.filter(f);
    }
    app.store.query_page(owner, &qid, q, cursor).await.or_500()
}

/// Applies a change asked for through the API.
pub async fn change(
    app: &App,
    actor: &Actor,
    id: Uuid,
    change: Change,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Subscription>> {
    actor.require(Permission::CustomersWrite)?;
    change.validate()?;
    let tid = actor.tenant()?;
    if let Some(req) = idem
        && let Some(first) = kernel::idempotency::stored_answer(app, Owner::Tenant(tid), actor.user_id, req).await?
    {
        return Ok(first);
    }
    let customer_id = locate(app, tid, id).await?;
    apply(app, actor, &ChangeRequest::new(tid, customer_id, id, &change).idempotent(idem)).await
}

/// Something a caller adds to the change's transaction (a bulk job's row marker and progress); a
/// marker written with `put_new` that exists already makes the change `already_applied`.
pub type ExtraWrites<'a> = &'a (dyn Fn(&mut Tx) -> Result<()> + Sync);

/// Applies a change to a subscription whose customer is known (API, bulk actions, jobs).
pub async fn apply(app: &App, actor: &Actor, req: &ChangeRequest<'_>) -> Result<Outcome<Subscription>> {
    let mut attempt = 0;
    loop {
        match try_apply(app, actor, req).await {
            Err(TryError::Stale) if attempt < 4 => attempt += 1,
            Err(TryError::Stale) => return Err(Error::version_conflict()),
            Err(TryError::Idempotent) => {
                let key = req.idem.expect("only with a key");
                return replay(app, Owner::Tenant(req.tid), actor.user_id, key).await;
            }
            Err(TryError::Failed(e)) => return Err(e),
            Ok(s) => return Ok(Outcome::Fresh(s)),
        }
    }
}

enum TryError {
    /// The subscription or its customer changed between read and write: read again.
    Stale,
    /// The idempotency key was used already.
    Idempotent,
    Failed(Error),
}

impl From<Error> for TryError {
    fn from(e: Error) -> Self {
        TryError::Failed(e)
    }
}

/// What a change does to a subscription before anything is written: its new state, the usage
/// counters it moves, the entities the write must still find, the event's extra detail, and what
/// the change bills (an activation's validity, a package change's new package).
struct Planned {
    after: Subscription,
    sealed: String,
    usage: Vec<(UsageOf, Uuid, i64)>,
    checks: Vec<(store::ItemKeys, &'static str)>,
    detail: serde_json::Value,
    extra_event: Option<(NetworkEvent, serde_json::Value)>,
    activation_validity: Option<domain::package::Validity>,
    new_package: Option<Package>,
}

/// The subscription a change is for, and how it is asked for.
pub struct ChangeRequest<'a> {
    tid: Uuid,
    customer_id: Uuid,
    id: Uuid,
    change: &'a Change,
    idem: Option<&'a IdempotentRequest>,
    extra: Option<ExtraWrites<'a>>,
}

impl<'a> ChangeRequest<'a> {
    /// A change to subscription `id` of customer `customer_id` in ISP `tid`.
    pub fn new(tid: Uuid, customer_id: Uuid, id: Uuid, change: &'a Change) -> Self {
        ChangeRequest { tid, customer_id, id, change, idem: None, extra: None }
    }

    /// Under the caller's `Idempotency-Key`: a repeat answers what the first one did.
    pub fn idempotent(mut self, idem: Option<&'a IdempotentRequest>) -> Self {
        self.idem = idem;
        self
    }

    /// With the caller's own writes in the same transaction.
    pub fn with_writes(mut self, extra: ExtraWrites<'a>) -> Self {
        self.extra = Some(extra);
        self
    }
}

/// One optimistic attempt: read (one BatchGetItem with whatever the change names), plan, bill,
/// write one transaction; a concurrent change makes it `Stale` and the caller reads again.
async fn try_apply(app: &App, actor: &Actor, req: &ChangeRequest<'_>) -> std::result::Result<Subscription, TryError> {
    let ChangeRequest { tid, customer_id, id, change, idem, extra } = *req;
    let now = app.now();
    let sk = keys::subscription(tid, customer_id, id, None, None, None);
    let ck = keys::customer(tid, customer_id, None);
    // Whatever else the change needs comes in the same round trip.
    let (extra_pk, extra_rk) = match change {
        Change::ChangePackage { package_id } => (Some(keys::package(tid, *package_id, "")), None),
        Change::MoveRouter { router_id } => (None, Some(keys::router(tid, *router_id, "", None))),
        _ => (None, None),
    };
    let mut wanted = vec![&sk, &ck];
    if let Some(k) = &extra_pk {
        wanted.push(k);
    }
    if let Some(k) = &extra_rk {
        wanted.push(k);
    }
    let mut got = app.store.batch_get(&wanted).await.or_500()?.into_iter();
    let rec: Option<SubscriptionRecord> = decoded(got.next().flatten())?;
    let rec = rec
        .filter(|r| actor.sees_scope(r.subscription.scope.as_deref()))
        .ok_or_else(|| Error::not_found("subscription"))?;
    let customer_rec: Option<CustomerRecord> = decoded(got.next().flatten())?;
    let customer =
        customer_rec.map(|c| c.customer).ok_or_else(|| Error::Internal("subscription without customer".into()))?;
    let before = rec.subscription.clone();
    let action = change.action();
    let mut planned = plan_change(app, actor, &rec, change, &mut got, now).await?;
    let mut tx = Tx::new();
    let invoice = stage_change_invoice(app, actor, &mut tx, &before, &mut planned, now).await?;
    if let Some((kind, amount)) = operator_price(app, actor, &before, change, now).await? {
        let currency = invoice.as_ref().map(|i| i.currency.clone()).unwrap_or(tenant_currency(app, tid).await?);
        let sale = wallets::sales::Sale {
            tenant_id: tid,
            currency: &currency,
            operator_id: before.operator_id.expect("an operator's sale"),
            kind,
            subscription_id: id,
            customer_id,
            invoice_id: invoice.as_ref().map(|i| i.id),
            amount,
            note: format!(
                "{} of {} ({})",
                change.action().as_str().replace('_', " "),
                before.username,
                before.package_name
            ),
            by: actor.real_actor(),
            at: now,
        };
        wallets::sales::stage_sale(app, &mut tx, &sale).await?;
    }
    stage_change_writes(&mut tx, &before, &planned, &customer, now)?;
    stage_change_record(&mut tx, actor, change, &before, &planned.after, now)?;
    let Planned { after, mut detail, extra_event, .. } = planned;
    if let Some(inv) = &invoice {
        detail["invoice_id"] = serde_json::json!(inv.id);
    }
    tx.put_event(&DomainEvent::new(action.event(), Some(tid), event_detail(&after, detail), now));
    if let Some((name, d)) = extra_event {
        tx.put_event(&DomainEvent::new(name, Some(tid), event_detail(&after, d), now));
    }
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 200, &after, app)?);
    }
    if let Some(f) = extra {
        f(&mut tx)?;
    }
    match app.store.commit(tx).await {
        Ok(()) => Ok(after),
        Err(StoreError::Conflict(Conflict::Idempotency)) if idem.is_some() => Err(TryError::Idempotent),
        Err(StoreError::Conflict(Conflict::Version)) => Err(TryError::Stale),
        Err(StoreError::Conflict(Conflict::Exists)) => Err(TryError::Failed(Error::Conflict {
            code: "already_applied",
            detail: "this change was applied already".into(),
            field: None,
        })),
        Err(e) => Err(write_conflict(e).into()),
    }
}

async fn tenant_currency(app: &App, tid: Uuid) -> Result<String> {
    Ok(kernel::support::load_tenant(app, tid).await?.currency)
}

/// What an operator's wallet pays the ISP for a change the operator (or one above it in its tree)
/// makes for its customer, at the customer's operator's price (its offer's wholesale price): an
/// activation the package's price; a renewal (extension) its share of the package's validity; an
/// upgrade the difference for the time left. Nothing when the ISP's staff make the change, for
/// the ISP's own customers, or for a change that costs nothing (a downgrade).
async fn operator_price(
    app: &App,
    actor: &Actor,
    before: &Subscription,
    change: &Change,
    now: DateTime<Utc>,
) -> Result<Option<(wallets::sales::SaleKind, i64)>> {
    use wallets::sales::SaleKind;
    let Some(op) = before.operator_id.filter(|_| actor.role.is_scoped()) else { return Ok(None) };
    let tid = before.tenant_id;
    let priced = |package: Uuid| async move {
        let (pk, ok) = (keys::package(tid, package, ""), keys::package_offer(tid, package, op));
        let mut got = app.store.batch_get(&[&pk, &ok]).await.or_500()?.into_iter();
        let package = live_package(got.next().flatten())?;
        let offer: Option<OfferRecord> = decoded(got.next().flatten())?;
        Ok::<_, Error>(package.zip(offer).map(|(p, o)| (p.validity.duration(), o.offer.wholesale_price)))
    };
    let unpriced = || Error::field("package_id", "is not offered to the customer's operator");
    let sale = match change {
        Change::Activate => {
            let (_, price) = priced(before.package_id).await?.ok_or_else(unpriced)?;
            (SaleKind::Activation, price)
        }
        Change::Extend { days } => {
            let (validity, price) = priced(before.package_id).await?.ok_or_else(unpriced)?;
            let share = domain::billing::mul_div(price, i64::from(*days) * 86_400, validity.num_seconds().max(1));
            (SaleKind::Renewal, share)
        }
        Change::ChangePackage { package_id } => {
            let (Some((validity, old)), Some((_, new))) =
                (priced(before.package_id).await?, priced(*package_id).await?)
            else {
                return Err(unpriced());
            };
            let left = before.expires_at.map(|e| (e - now).num_seconds()).unwrap_or(0).max(0);
            (SaleKind::PackageChange, domain::billing::mul_div(new - old, left, validity.num_seconds().max(1)))
        }
        _ => return Ok(None),
    };
    Ok(Some(sale).filter(|(_, amount)| *amount > 0))
}

/// Checks a change against the subscription and decides its new state (no writes; reads only
/// what the change itself needs: the package of an activation, an operator's offer). `got` holds
/// the rest of the first read: a new package or router.
async fn plan_change(
    app: &App,
    actor: &Actor,
    rec: &SubscriptionRecord,
    change: &Change,
    got: &mut impl Iterator<Item = Option<store::Item>>,
    now: DateTime<Utc>,
) -> Result<Planned> {
    let before = &rec.subscription;
    let (tid, id) = (before.tenant_id, before.id);
    let status = transition(before.status, change.action())?;
    let mut after = before.clone();
    after.status = status;
    let mut v = Validation::new();
    let mut extra_event: Option<(NetworkEvent, serde_json::Value)> = None;
    let mut sealed = rec.password_sealed.clone();
    let mut usage: Vec<(UsageOf, Uuid, i64)> = vec![];
    let mut checks: Vec<(store::ItemKeys, &'static str)> = vec![];
    let mut detail = serde_json::json!({});
    let mut activation_validity = None;
    let mut new_package: Option<Package> = None;
    match change {
        Change::Activate => {
            // The current package gives the validity of a prepaid subscription.
            let current = keys::package(tid, before.package_id, "");
            let package =
                live_package(app.store.get_item(&current).await.or_500()?)?.ok_or_else(|| Error::Conflict {
                    code: "package_gone",
                    detail: "the subscription's package was deleted; change the package first".into(),
                    field: None,
                })?;
            after.start_date = after.start_date.or(Some(now));
            after.expires_at = before.expiry_on_activation(package.validity, now);
            after.status_reason = None;
            activation_validity = Some(package.validity);
        }
        Change::Suspend { reason } => after.status_reason = reason.clone().filter(|r| !r.trim().is_empty()),
        Change::Restore => {
            check_restore(before.expires_at, now)?;
            after.status_reason = None;
        }
        Change::Cancel { reason } => {
            after.status_reason = reason.clone().filter(|r| !r.trim().is_empty());
            after.ended_at = Some(now);
            usage.push((UsageOf::Package, before.package_id, -1));
            usage.push((UsageOf::Router, before.router_id, -1));
        }
        Change::Expire { at } => {
            if before.expires_at.is_none_or(|e| e > *at) {
                return Err(Error::Conflict {
                    code: "not_expired",
                    detail: "the subscription's validity has not ended".into(),
                    field: None,
                });
            }
            after.status_reason = Some("validity ended".into());
        }
        Change::ChangePackage { package_id } => {
            let package = live_package(got.next().flatten())?;
            usable_package(package.as_ref(), &mut v);
            if let Some(p) = &package {
                if *package_id == before.package_id {
                    v.add("package_id", "is the subscription's package already");
                }
                if p.connection_type != before.connection_type {
                    v.add("package_id", "must be of the same connection type (pppoe, hotspot or static)");
                }
                let offer: Option<OfferRecord> = match before.operator_id {
                    Some(op) => app.store.get(&keys::package_offer(tid, *package_id, op)).await.or_500()?,
                    None => None,
                };
                if p.active {
                    match selling_price(p, before.operator_id, offer.as_ref()) {
                        Ok(price) => after.price = price,
                        Err(Error::Validation(errors)) => errors.into_iter().for_each(|e| v.add(&e.field, e.message)),
                        Err(e) => return Err(e),
                    }
                }
                after.package_id = p.id;
                after.package_name = p.name.clone();
                // Any package change supersedes a scheduled one.
                after.scheduled_package = None;
            }
            new_package = package.clone();
            usage.push((UsageOf::Package, *package_id, 1));
            usage.push((UsageOf::Package, before.package_id, -1));
            checks.push((keys::package(tid, *package_id, ""), "package_id"));
            detail = serde_json::json!({"previous_package_id": before.package_id});
        }
        Change::Extend { days } => {
            let e = extended_expiry(before.expires_at, *days, now);
            after.expires_at = Some(e);
            after.status = status_after_extension(before.status, e, now);
            if after.status != before.status {
                after.status_reason = None;
                extra_event = Some((Action::Restore.event(), serde_json::json!({"reason": "extended"})));
            }
            detail = serde_json::json!({"days": days, "previous_expires_at": before.expires_at});
        }
        Change::MoveRouter { router_id } => {
            let router = live_router(got.next().flatten())?;
            usable_router(app, actor, router, &mut v).await?;
            if *router_id == before.router_id {
                v.add("router_id", "is the subscription's router already");
            }
            after.router_id = *router_id;
            usage.push((UsageOf::Router, *router_id, 1));
            usage.push((UsageOf::Router, before.router_id, -1));
            checks.push((keys::router(tid, *router_id, "", None), "router_id"));
            // Provisioning removes the secret from the router it leaves.
            detail = serde_json::json!({"previous_router_id": before.router_id});
        }
        Change::ResetPassword { password } => {
            let p = password.clone().unwrap_or_else(generated_password);
            sealed = app.secrets.seal(p.as_bytes(), &password_aad(tid, id));
        }
    }
    v.finish()?;
    after.version += 1;
    after.updated_at = now;
    Ok(Planned { after, sealed, usage, checks, detail, extra_event, activation_validity, new_package })
}

/// What the change bills goes into the change's own transaction: the activation's first period,
/// or the proration of a package change. The ISP, the customer's account and the number sequence
/// come in one read, only when something is billed.
async fn stage_change_invoice(
    app: &App,
    actor: &Actor,
    tx: &mut Tx,
    before: &Subscription,
    planned: &mut Planned,
    now: DateTime<Utc>,
) -> Result<Option<Invoice>> {
    let (tid, customer_id) = (before.tenant_id, before.customer_id);
    let after = &mut planned.after;
    let mut invoice = None;
    let mut books = match planned.activation_validity.is_some() || planned.new_package.is_some() {
        true => Some(billing::books::Books::load(app, tid, customer_id, &["invoice"]).await?),
        false => None,
    };
    if let (Some(validity), Some(books)) = (planned.activation_validity, books.as_mut()) {
        let terms = books.terms();
        if after.billing_model == BillingModel::Postpaid && after.billing_day.is_none() {
            after.billing_day = Some(anchor_day(after, &terms, now));
        }
        // Charged unless it was paid ahead before it was switched on (its expiry as it was then).
        let basis = Subscription { expires_at: before.expires_at, ..after.clone() };
        if let Some(charge) = activation_charge(&basis, validity, &terms, now) {
            let what = billing::books::ChangeBilling {
                kind: InvoiceKind::Activation,
                period: Some(charge.period),
                lines: charge.lines,
                memo: "activation",
                actor: Some(actor.real_actor()),
            };
            invoice = billing::books::stage_change_billing(app, tx, books, after, what, now).await?;
            after.billed_through = Some(charge.period.end);
        } else if after.billing_model == BillingModel::Prepaid {
            // Paid ahead (a migrated subscriber): renewals start from its expiry.
            after.billed_through = after.expires_at;
        }
    }
    if let (Some(p), Some(books)) = (&planned.new_package, books.as_mut()) {
        let old = live_package(app.store.get_item(&keys::package(tid, before.package_id, "")).await.or_500()?)?;
        if let Some(old) = old {
            let terms = books.terms();
            let lines = package_change_lines(
                before,
                &Priced { name: &before.package_name, price: before.price, validity: old.validity },
                &Priced { name: &p.name, price: p.price, validity: p.validity },
                after.price,
                &terms,
                now,
            );
            let memo = format!("package change {} -> {}", before.package_name, p.name);
            let what = billing::books::ChangeBilling {
                kind: InvoiceKind::PackageChange,
                period: None,
                lines,
                memo: &memo,
                actor: Some(actor.real_actor()),
            };
            invoice = billing::books::stage_change_billing(app, tx, books, after, what, now).await?;
        }
    }
    Ok(invoice)
}

/// The change's own writes: the subscription against the version read, the usernames and
/// addresses it frees, the entities it must still find, the usage counters, the customer's
/// status counts and the dashboard's.
fn stage_change_writes(
    tx: &mut Tx,
    before: &Subscription,
    planned: &Planned,
    customer: &Customer,
    now: DateTime<Utc>,
) -> Result<()> {
    let (tid, id, after) = (before.tenant_id, before.id, &planned.after);
    let new_rec = SubscriptionRecord { subscription: after.clone(), password_sealed: planned.sealed.clone() };
    tx.put_versioned(Store::encode_stored(&new_rec).or_500()?, before.version);
    // Released on cancel: the username and IP are free for a new subscription.
    for (field, value) in held_values(before) {
        if !held_values(after).contains(&(field, value.clone())) {
            tx.delete_unique(unique_key(tid, field, &value), &id.to_string());
        }
    }
    for (k, field) in &planned.checks {
        let cond = if *field == "package_id" {
            "attribute_exists(pk) AND attribute_not_exists(deleted_at) AND active = :t"
        } else {
            "attribute_exists(pk) AND attribute_not_exists(deleted_at)"
        };
        let values = if *field == "package_id" { bool_value(true) } else { Default::default() };
        tx.check(k, cond, values, Conflict::Unique((*field).into()));
    }
    for (kind, entity, by) in &planned.usage {
        stage_usage(tx, tid, *kind, *entity, *by);
    }
    let mut counts = Deltas::default();
    if after.status != before.status {
        let mut c = customer.clone();
        c.subscriptions = c.subscriptions.moved(Some(before.status), after.status);
        c.status = c.subscriptions.customer_status();
        c.version += 1;
        c.updated_at = now;
        stage_customer(tx, &c, Some(customer.version))?;
        counts.customer(c.scope.as_deref(), Some(customer.status), Some(c.status));
    }
    counts.expiry(after.scope.as_deref(), counted_expiry(before), counted_expiry(after));
    counts.stage(tx, tid);
    Ok(())
}

/// The change's record: its timeline entry and its audit entry (a new password is noted, never
/// written).
fn stage_change_record(
    tx: &mut Tx,
    actor: &Actor,
    change: &Change,
    before: &Subscription,
    after: &Subscription,
    now: DateTime<Utc>,
) -> Result<()> {
    let (tid, id, action) = (before.tenant_id, before.id, change.action());
    let mut entry = TimelineEntry::new(
        before.customer_id,
        TimelineKind::Subscription,
        &format!("subscription.{}", action.as_str()),
        timeline_note(change, before, after),
        now,
    );
    entry.subscription_id = Some(id);
    entry.actor_id = Some(actor.real_actor());
    entry.data = serde_json::json!({"from": before.status, "to": after.status});
    kernel::projections::timeline::stage(tx, tid, &entry)?;
    let mut after_snap = snapshot(after);
    if matches!(change, Change::ResetPassword { .. }) {
        after_snap["password_changed"] = serde_json::Value::Bool(true);
    }
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: &format!("subscription.{}", action.as_str()),
            entity: "subscription",
            id: id.to_string(),
            before: Some(snapshot(before)),
            after: Some(after_snap),
        },
        now,
    ));
    Ok(())
}

/// The timeline's line for a change (pure).
fn timeline_note(change: &Change, before: &Subscription, after: &Subscription) -> String {
    let verb = change.action().as_str().replace('_', " ");
    match change {
        Change::Suspend { reason: Some(r) } | Change::Cancel { reason: Some(r) } => {
            format!("Subscription {}: {verb} ({r})", after.username)
        }
        Change::Extend { days } => format!("Subscription {}: extended by {days} days", after.username),
        Change::ChangePackage { .. } => {
            format!("Subscription {}: package {} -> {}", after.username, before.package_name, after.package_name)
        }
        _ => format!("Subscription {}: {verb}", after.username),
    }
}

/// A change the billing engine makes to a subscription: as read, as it becomes, the events that
/// announce it and the timeline's line.
pub struct BillingUpdate<'a> {
    pub rec: &'a SubscriptionRecord,
    pub after: &'a Subscription,
    pub events: &'a [(NetworkEvent, serde_json::Value)],
    pub note: String,
}

/// Stages a change the billing engine makes to a subscription (an extension a payment bought, a
/// restore once its debt is cleared): the subscription against the version it was read at, the
/// move in its customer's counts (`customer` accumulates them; the caller stages it once), the
/// dashboard's expiry buckets, a timeline entry and the events.
pub fn stage_billing_update(
    tx: &mut Tx,
    customer: &mut Customer,
    counts: &mut Deltas,
    update: BillingUpdate<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    let BillingUpdate { rec, after, events, note } = update;
    let before = &rec.subscription;
    stage_subscription_record(tx, rec, after)?;
    if after.status != before.status {
        customer.subscriptions = customer.subscriptions.moved(Some(before.status), after.status);
        customer.status = customer.subscriptions.customer_status();
    }
    counts.expiry(after.scope.as_deref(), counted_expiry(before), counted_expiry(after));
    let mut entry =
        TimelineEntry::new(before.customer_id, TimelineKind::Subscription, "subscription.billing", note, now);
    entry.subscription_id = Some(after.id);
    entry.data = serde_json::json!({"from": before.status, "to": after.status, "expires_at": after.expires_at});
    kernel::projections::timeline::stage(tx, after.tenant_id, &entry)?;
    for (name, d) in events {
        tx.put_event(&DomainEvent::new(*name, Some(after.tenant_id), event_detail(after, d.clone()), now));
    }
    Ok(())
}

/// A subscription as the table stores it, with every index key (for tools that write many at
/// once, like the billing-run benchmark; the password is sealed for the subscription).
pub fn stored_item(app: &App, s: &Subscription, password: &str) -> Result<store::Item> {
    let rec = SubscriptionRecord {
        subscription: s.clone(),
        password_sealed: app.secrets.seal(password.as_bytes(), &password_aad(s.tenant_id, s.id)),
    };
    Store::encode_stored(&rec).or_500()
}

/// Stages a subscription's new state against the version `rec` was read at (its indexes follow).
pub fn stage_subscription_record(tx: &mut Tx, rec: &SubscriptionRecord, after: &Subscription) -> Result<()> {
    let new_rec = SubscriptionRecord { subscription: after.clone(), password_sealed: rec.password_sealed.clone() };
    tx.put_versioned(Store::encode_stored(&new_rec).or_500()?, rec.subscription.version);
    Ok(())
}

/// Stages a customer whose counts `stage_billing_update` moved (once per transaction).
pub fn stage_customer_moves(
    tx: &mut Tx,
    before: &Customer,
    after: &mut Customer,
    counts: &mut Deltas,
    now: DateTime<Utc>,
) -> Result<()> {
    if after.subscriptions == before.subscriptions {
        return Ok(());
    }
    after.version = before.version + 1;
    after.updated_at = now;
    stage_customer(tx, after, Some(before.version))?;
    counts.customer(after.scope.as_deref(), Some(before.status), Some(after.status));
    Ok(())
}

// ---- request bodies of the actions -------------------------------------------------------------

/// Body of `activate` and `restore`: nothing (or `{}`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePackageInput {
    pub package_id: Uuid,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendInput {
    /// 1-3660.
    pub days: u32,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRouterInput {
    pub router_id: Uuid,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordInput {
    /// Generated when omitted.
    pub password: Option<String>,
}
