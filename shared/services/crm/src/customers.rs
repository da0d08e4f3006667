//! Customers (`/v1/customers`): create, read, list and search, update, soft delete. Phone, e-mail and
//! username are unique per ISP (sentinels in the same transaction); operators and sub-operators see
//! only their own subtree.

use chrono::{DateTime, NaiveDate, Utc};
use domain::actor::Actor;
use domain::branch::{Branch, BranchStatus};
use domain::customer::{AccessMedium, ClientType, Customer, CustomerStatus, search_fold, validate_tags};
use domain::event::{CrmEvent, DomainEvent};
use domain::language::Language;
use domain::network::Pop;
use domain::patch::Patch;
use domain::phone::{national_digits, search_prefix, to_e164};
use domain::role::Permission;
use domain::tenant::Tenant;
use domain::{Error, Result, Validation, ids};
use identity::users::UserRecord;
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, record, replay};
use kernel::projections::dashboard::{Deltas, month_of};
use kernel::projections::timeline::{TimelineEntry, TimelineKind};
use kernel::support::{
    Audited, StoreResultExt, Updated, audit, decoded, expected_version, snapshot, store_err, tenant_of,
};
use serde::{Deserialize, Serialize};
use store::{Conflict, Filter, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomer {
    pub name: String,
    /// Any local or international form; stored as E.164 using the ISP's country.
    pub phone: String,
    pub email: Option<String>,
    pub username: String,
    pub address: Option<String>,
    pub area: Option<String>,
    pub pop_id: Option<Uuid>,
    /// The address in the parts regulators ask for (the ISP may require them: `btrc` settings).
    pub house_no: Option<String>,
    pub road_no: Option<String>,
    pub thana: Option<String>,
    pub district: Option<String>,
    pub client_type: Option<ClientType>,
    pub access_medium: Option<AccessMedium>,
    pub national_id: Option<String>,
    /// `YYYY-MM-DD`.
    pub connection_date: Option<NaiveDate>,
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// What SMS and e-mail to the customer are written in (default: the ISP's language).
    #[serde(default)]
    pub language: Option<Language>,
    /// Assigns the customer to an operator or sub-operator (admins and managers only; operators'
    /// customers are always their own).
    pub operator_id: Option<Uuid>,
    /// Puts the customer in a branch (default: the caller's own branch, or the operator's). Set
    /// at creation.
    #[serde(default)]
    pub branch_id: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomer {
    pub name: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    pub username: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub address: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub area: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub pop_id: Patch<Uuid>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub connection_date: Patch<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub house_no: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub road_no: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub thana: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub district: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<ClientType>)]
    pub client_type: Patch<ClientType>,
    #[serde(default)]
    #[schema(value_type = Option<AccessMedium>)]
    pub access_medium: Patch<AccessMedium>,
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Language>)]
    pub language: Patch<Language>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub national_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
    pub version: Option<u64>,
}

/// How a listing is narrowed.
#[derive(Debug, Default, Clone)]
pub struct CustomerFilter {
    pub status: Option<CustomerStatus>,
    /// Prefix searches; at most one.
    pub name: Option<String>,
    pub phone: Option<String>,
    pub username: Option<String>,
}

/// A customer as stored: the profile, plus when it was deleted (deleted customers are kept for
/// history, but are gone from every listing and lookup).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerRecord {
    #[serde(flatten)]
    pub customer: Customer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

const SEARCH_FIELDS: [&str; 3] = ["name", "phone", "username"];

fn search_value(c: &Customer, field: &str) -> String {
    match field {
        "name" => search_fold(&c.name),
        "phone" => national_digits(&c.phone),
        _ => c.username.clone(),
    }
}

fn owner_of(c: &Customer) -> String {
    c.id.to_string()
}

/// Writes the profile and its search entries (full copies, so a search answers in one Query).
pub fn stage_customer(tx: &mut Tx, c: &Customer, expected: Option<u64>) -> Result<()> {
    let item = Store::encode_stored(c).or_500()?;
    match expected {
        None => tx.put_new(item, Conflict::Exists),
        Some(v) => tx.put_versioned(item, v),
    }
    for f in SEARCH_FIELDS {
        let k = keys::customer_search(c.tenant_id, c.id, f, &search_value(c, f));
        tx.put(Store::encode(&k, "CUSTOMER_SEARCH", c, None).or_500()?);
    }
    Ok(())
}

fn unique_values(c: &Customer) -> Vec<(&'static str, String)> {
    let mut v = vec![("phone", c.phone.clone()), ("username", c.username.clone())];
    if let Some(e) = &c.email {
        v.push(("email", e.clone()));
    }
    v
}

pub(crate) fn unique_key(tenant: Uuid, field: &str, value: &str) -> store::ItemKeys {
    keys::unique(Owner::Tenant(tenant), &format!("customer_{field}"), value)
}

pub async fn create_customer(
    app: &App,
    actor: &Actor,
    input: CreateCustomer,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Customer>> {
    let tid = actor.tenant()?;
    let (customer, mut tx) = stage_new_customer(app, actor, input).await?;
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &customer, app)?);
    }
    match app.store.commit(tx).await {
        Ok(()) => Ok(Outcome::Fresh(customer)),
        Err(StoreError::Conflict(Conflict::Idempotency)) if idem.is_some() => {
            replay(app, Owner::Tenant(tid), actor.user_id, idem.expect("checked")).await
        }
        Err(e) => Err(store_err(e)),
    }
}

/// Checks a new customer and stages everything its creation writes (profile, search entries,
/// sentinels, timeline, audit, event) in a transaction the caller may add to (lead conversion).
pub async fn stage_new_customer(app: &App, actor: &Actor, input: CreateCustomer) -> Result<(Customer, Tx)> {
    actor.require(Permission::CustomersWrite)?;
    let tid = actor.tenant()?;
    let now = app.now();
    // One round trip: the ISP (its country reads local phone numbers), the named operator, POP
    // and branch.
    let tk = keys::tenant(tid, None);
    let ok = keys::user(Some(tid), input.operator_id.unwrap_or_default());
    let pk = keys::pop(tid, input.pop_id.unwrap_or_default(), "");
    let bk = keys::branch(tid, input.branch_id.unwrap_or_default(), "");
    let mut got = app.store.batch_get(&[&tk, &ok, &pk, &bk]).await.or_500()?.into_iter();
    let tenant: Tenant = tenant_of(got.next().flatten())?;
    let operator: Option<UserRecord> = decoded(got.next().flatten())?;
    let pop = network::pops::live_pop(got.next().flatten())?;
    let branch: Option<Branch> = decoded(got.next().flatten())?;
    let confined_pops = if input.pop_id.is_some() { kernel::access::confined_pops(app, actor).await? } else { None };
    // An operator assigned by an admin or manager must hold the customer's POP.
    let operator_pops = match (&operator, input.pop_id) {
        (Some(op), Some(_)) if !actor.role.is_scoped() && op.user.role.is_scoped() => {
            kernel::access::operator_pops(app, tid, op.user.id, op.user.scope.as_deref()).await?
        }
        _ => None,
    };
    let require_btrc_fields = tenant.btrc.fields_required;
    let ctx = NewCustomerContext { tenant, operator, pop, branch, confined_pops, operator_pops, require_btrc_fields };
    let customer = prepare_customer(actor, &ctx, input, now)?;
    let mut tx = Tx::new();
    stage_customer_creation(&mut tx, actor, &customer, &ctx.tenant, now)?;
    Ok((customer, tx))
}

/// What checking a new customer needs to have read.
pub struct NewCustomerContext {
    pub tenant: Tenant,
    /// The operator named by `operator_id`, if any.
    pub operator: Option<UserRecord>,
    /// The named POP, if it exists.
    pub pop: Option<Pop>,
    /// The named branch, if it exists.
    pub branch: Option<Branch>,
    /// The caller's POPs, when it is confined to some.
    pub confined_pops: Option<Vec<Uuid>>,
    /// The named operator's POPs, when it is confined to some.
    pub operator_pops: Option<Vec<Uuid>>,
    /// The ISP requires the fields of the BTRC report (imports migrate existing subscribers and
    /// are not held to it: their gaps are listed by the report).
    pub require_btrc_fields: bool,
}

/// Most a part of an address may hold.
const ADDRESS_PART_MAX: usize = 80;

/// The fields the ISP's BTRC setting requires that `after` lacks and `before` (if any) had.
fn btrc_gaps(v: &mut Validation, before: Option<&Customer>, after: &Customer, now: DateTime<Utc>) {
    let template = domain::regulator::btrc_template_at(now);
    let had = before.map(|b| template.missing_customer_fields(b)).unwrap_or_default();
    for field in template.missing_customer_fields(after) {
        if !had.contains(&field) {
            v.add(field, "is required by the ISP for the BTRC subscriber report");
        }
    }
}

/// The scope of a customer put straight into a branch (no operator): the one named, or the
/// caller's own; staff bound to a branch add to theirs only.
fn customer_branch_scope(
    actor: &Actor,
    ctx: &NewCustomerContext,
    named: Option<Uuid>,
    v: &mut Validation,
) -> Option<String> {
    let mine = actor.branch();
    let branch = match (named, mine) {
        (Some(b), Some(m)) if b != m => {
            v.add("branch_id", "you add customers to your own branch only");
            return None;
        }
        (Some(b), _) => {
            if !ctx.branch.as_ref().is_some_and(|x| x.id == b && x.status == BranchStatus::Active) {
                v.add("branch_id", "is not an open branch of this ISP");
                return None;
            }
            b
        }
        (None, Some(m)) => m,
        (None, None) => return None,
    };
    Some(domain::branch::scope_of(branch))
}

/// Checks a new customer against what was read; no I/O.
pub fn prepare_customer(
    actor: &Actor,
    ctx: &NewCustomerContext,
    input: CreateCustomer,
    now: DateTime<Utc>,
) -> Result<Customer> {
    actor.require(Permission::CustomersWrite)?;
    let tid = actor.tenant()?;
    let tenant = &ctx.tenant;
    let operator = ctx.operator.clone();
    let mut v = Validation::new();
    let name = v.text("name", &input.name, 120);
    let phone = match to_e164(&input.phone, &tenant.country) {
        Some(p) => p,
        None => {
            v.add("phone", "must be a valid phone number");
            String::new()
        }
    };
    let email = input.email.as_deref().map(str::trim).filter(|e| !e.is_empty()).map(|e| v.email("email", e));
    let username = v.username("username", &input.username);
    let address = v.optional_text("address", input.address.as_deref(), 300);
    let area = v.optional_text("area", input.area.as_deref(), 80);
    let house_no = v.optional_text("house_no", input.house_no.as_deref(), ADDRESS_PART_MAX);
    let road_no = v.optional_text("road_no", input.road_no.as_deref(), ADDRESS_PART_MAX);
    let thana = v.optional_text("thana", input.thana.as_deref(), ADDRESS_PART_MAX);
    let district = v.optional_text("district", input.district.as_deref(), ADDRESS_PART_MAX);
    let national_id = v.optional_text("national_id", input.national_id.as_deref(), 40);
    let notes = v.optional_text("notes", input.notes.as_deref(), 2000);
    let tags = validate_tags(&mut v, "tags", &input.tags);
    if let Some(p) = input.pop_id {
        if ctx.pop.is_none() {
            v.add("pop_id", "is not a POP of this ISP");
        } else if ctx.confined_pops.as_ref().is_some_and(|mine| !mine.contains(&p)) {
            v.add("pop_id", "is not one of your POPs");
        }
    }
    let (operator_id, scope) = if actor.role.is_scoped() {
        if input.operator_id.is_some_and(|o| o != actor.user_id) {
            v.add("operator_id", "an operator's customers are its own");
        }
        (Some(actor.user_id), actor.scope.clone())
    } else {
        match (input.operator_id, operator) {
            (None, _) => (None, customer_branch_scope(actor, ctx, input.branch_id, &mut v)),
            (Some(id), Some(op))
                if op.user.role.is_scoped()
                    && !op.user.email.is_empty()
                    && actor.sees_scope(op.user.scope.as_deref()) =>
            {
                if input.pop_id.is_some_and(|p| ctx.operator_pops.as_ref().is_some_and(|theirs| !theirs.contains(&p))) {
                    v.add("operator_id", "does not work in this POP: assign an operator that holds it");
                }
                (Some(id), op.user.scope)
            }
            (Some(_), _) => {
                v.add("operator_id", "must be an operator or sub-operator of this ISP");
                (None, None)
            }
        }
    };
    let branch = domain::branch::branch_of(scope.as_deref());
    if input.branch_id.is_some_and(|b| Some(b) != branch) && operator_id.is_some() {
        v.add("branch_id", "is not the operator's branch: the customer goes where its operator works");
    }
    // A POP of a branch serves that branch's customers only.
    if let Some(pop) = &ctx.pop
        && pop.branch_id.is_some()
        && pop.branch_id != branch
    {
        v.add("pop_id", "is a POP of another branch");
    }
    let customer = Customer {
        id: ids::new_id(),
        tenant_id: tid,
        name,
        phone,
        email,
        username,
        status: CustomerStatus::New,
        address,
        area,
        pop_id: input.pop_id,
        house_no,
        road_no,
        thana,
        district,
        client_type: input.client_type,
        access_medium: input.access_medium,
        national_id,
        connection_date: input.connection_date,
        notes,
        tags,
        language: input.language,
        subscriptions: Default::default(),
        operator_id,
        scope,
        created_by: actor.user_id,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    if ctx.require_btrc_fields {
        btrc_gaps(&mut v, None, &customer, now);
    }
    v.finish()?;
    Ok(customer)
}

/// Stages everything a new customer writes: profile, search entries, sentinels, timeline, audit,
/// event and dashboard counts (with the customer's status as given, so an import may count it with
/// its subscription already).
pub fn stage_customer_creation(
    tx: &mut Tx,
    actor: &Actor,
    customer: &Customer,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> Result<()> {
    let tid = customer.tenant_id;
    stage_customer(tx, customer, None)?;
    for (field, value) in unique_values(customer) {
        tx.put_unique(unique_key(tid, field, &value), field, &owner_of(customer));
    }
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "customer.created",
            entity: "customer",
            id: customer.id.to_string(),
            before: None,
            after: Some(snapshot(customer)),
        },
        now,
    ));
    let mut entry = TimelineEntry::new(
        customer.id,
        TimelineKind::Customer,
        "customer.created",
        format!("Customer {} created", customer.name),
        now,
    );
    entry.actor_id = Some(actor.real_actor());
    kernel::projections::timeline::stage(tx, tid, &entry)?;
    tx.put_event(&DomainEvent::new(
        CrmEvent::CustomerCreated,
        Some(tid),
        serde_json::json!({"customer_id": customer.id, "operator_id": customer.operator_id, "version": 1}),
        now,
    ));
    let mut counts = Deltas::default();
    counts.customer(customer.scope.as_deref(), None, Some(customer.status));
    counts.new_customer(customer.scope.as_deref(), &month_of(now, &tenant.time_zone));
    counts.stage(tx, tid);
    Ok(())
}

/// A customer's POP must exist, and lie among an operator's POPs when it is confined to some.
async fn check_pop(app: &App, actor: &Actor, v: &mut Validation, pop: Option<Uuid>, found: bool) -> Result<()> {
    let Some(p) = pop else { return Ok(()) };
    if !found {
        v.add("pop_id", "is not a POP of this ISP");
    } else if let Some(mine) = kernel::access::confined_pops(app, actor).await?
        && !mine.contains(&p)
    {
        v.add("pop_id", "is not one of your POPs");
    }
    Ok(())
}

async fn visible(app: &App, actor: &Actor, id: Uuid) -> Result<Customer> {
    Ok(visible_with_tenant(app, actor, id, false).await?.0)
}

/// A customer the caller may see, and (when asked) its ISP, in one round trip.
async fn visible_with_tenant(
    app: &App,
    actor: &Actor,
    id: Uuid,
    with_tenant: bool,
) -> Result<(Customer, Option<Tenant>)> {
    actor.require(Permission::CustomersRead)?;
    let tid = actor.tenant()?;
    let ck = keys::customer(tid, id, None);
    let (rec, tenant): (Option<CustomerRecord>, Option<Tenant>) = if with_tenant {
        let tk = keys::tenant(tid, None);
        let mut got = app.store.batch_get(&[&ck, &tk]).await.or_500()?.into_iter();
        let rec = got.next().flatten().map(Store::decode).transpose().or_500()?;
        (rec, got.next().flatten().map(Store::decode).transpose().or_500()?)
    } else {
        (app.store.get(&ck).await.or_500()?, None)
    };
    match rec {
        Some(r) if r.deleted_at.is_none() && actor.sees_scope(r.customer.scope.as_deref()) => Ok((r.customer, tenant)),
        _ => Err(Error::not_found("customer")),
    }
}

pub async fn get_customer(app: &App, actor: &Actor, id: Uuid) -> Result<Customer> {
    visible(app, actor, id).await
}

pub async fn list_customers(
    app: &App,
    actor: &Actor,
    filter: CustomerFilter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Customer>> {
    actor.require(Permission::CustomersRead)?;
    let tid = actor.tenant()?;
    let owner = Owner::Tenant(tid);
    let searches: Vec<(&str, String)> = [
        ("name", filter.name.as_deref().map(search_fold)),
        ("phone", filter.phone.as_deref().map(search_prefix)),
        ("username", filter.username.as_deref().map(|u| u.trim().to_lowercase())),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.map(|v| (f, v)))
    .collect();
    if searches.len() > 1 {
        return Err(Error::field("name", "search by one of name, phone or username at a time"));
    }
    let mut f = Filter::default();
    if let Some(s) = filter.status {
        f = f.eq("status", s.as_str());
    }
    let scope = actor.confinement()?.map(str::to_string);
    let status = filter.status.map(|s| s.as_str()).unwrap_or("");
    let (q, qid) = if let Some((field, value)) = searches.first() {
        if value.is_empty() {
            return Err(Error::field(field, "must contain something to search for"));
        }
        if let Some(s) = &scope {
            f = f.in_subtree("scope", s);
        }
        (
            Query::index("gsi3", keys::customer_search_gsi3(tid, field)).prefix(value.clone()),
            format!("customers:search:{field}:{value}:{status}"),
        )
    } else if let Some(s) = &scope {
        (
            Query::index("gsi2", keys::customers_by_operator_gsi2(tid, s)).prefix(s.clone()).newest_first(),
            format!("customers:scope:{s}:{status}"),
        )
    } else {
        (Query::index("gsi1", keys::customers_gsi1(tid)).newest_first(), format!("customers:all:{status}"))
    };
    let mut q = q.limit(limit);
    if !f.expression.is_empty() {
        q = q.filter(f);
    }
    app.store.query_page(owner, &qid, q, cursor).await.or_500()
}

pub async fn update_customer(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdateCustomer,
    if_match: Option<u64>,
) -> Result<Customer> {
    actor.require(Permission::CustomersWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    // The ISP is needed only to read a number typed in local form, or when a field the ISP may
    // require changes (it may not be cleared then).
    let local_phone = input.phone.as_deref().is_some_and(|p| !p.trim().starts_with('+'));
    let clears = [&input.house_no, &input.road_no, &input.thana, &input.district, &input.area, &input.email]
        .iter()
        .any(|p| !p.is_absent())
        || !(input.pop_id.is_absent() && input.client_type.is_absent() && input.access_medium.is_absent());
    let (before, tenant) = visible_with_tenant(app, actor, id, local_phone || clears).await?;
    let mut after = before.clone();
    let mut v = Validation::new();
    if let Some(n) = &input.name {
        after.name = v.text("name", n, 120);
    }
    if let Some(p) = &input.phone {
        let country = tenant.as_ref().map_or("", |t| t.country.as_str());
        match to_e164(p, country) {
            Some(e) => after.phone = e,
            None => v.add("phone", "must be a valid phone number"),
        }
    }
    if let Some(e) = input.email.as_update() {
        after.email = e.map(|e| e.trim()).filter(|e| !e.is_empty()).map(|e| v.email("email", e));
    }
    if let Some(u) = &input.username {
        after.username = v.username("username", u);
    }
    if let Some(a) = input.address.as_update() {
        after.address = v.optional_text("address", a.map(String::as_str), 300);
    }
    if let Some(a) = input.area.as_update() {
        after.area = v.optional_text("area", a.map(String::as_str), 80);
    }
    input.connection_date.clone().apply_to(&mut after.connection_date);
    for (field, patch, value) in [
        ("house_no", &input.house_no, &mut after.house_no),
        ("road_no", &input.road_no, &mut after.road_no),
        ("thana", &input.thana, &mut after.thana),
        ("district", &input.district, &mut after.district),
    ] {
        if let Some(p) = patch.as_update() {
            *value = v.optional_text(field, p.map(String::as_str), ADDRESS_PART_MAX);
        }
    }
    input.client_type.clone().apply_to(&mut after.client_type);
    input.access_medium.clone().apply_to(&mut after.access_medium);
    if let Some(t) = &input.tags {
        after.tags = validate_tags(&mut v, "tags", t);
    }
    input.language.clone().apply_to(&mut after.language);
    if let Some(p) = input.pop_id.as_update().map(Option::<&Uuid>::copied) {
        if p.is_some() && p != before.pop_id {
            let found = network::pops::live_pop(
                app.store.get_item(&keys::pop(tid, p.unwrap_or_default(), "")).await.or_500()?,
            )?;
            check_pop(app, actor, &mut v, p, found.is_some()).await?;
            // A POP of a branch serves that branch's customers only, whoever moves them.
            if found.as_ref().is_some_and(|f| {
                f.branch_id.is_some() && f.branch_id != domain::branch::branch_of(before.scope.as_deref())
            }) {
                v.add("pop_id", "is a POP of another branch");
            }
            // The customer's operator must hold the new POP too, whoever moves it.
            if let (Some(pop), Some(op)) = (p, before.operator_id)
                && op != actor.user_id
                && let Some(theirs) = kernel::access::operator_pops(app, tid, op, before.scope.as_deref()).await?
                && !theirs.contains(&pop)
            {
                v.add("pop_id", "is not one of the customer's operator's POPs");
            }
        }
        after.pop_id = p;
    }
    if let Some(n) = input.national_id.as_update() {
        after.national_id = v.optional_text("national_id", n.map(String::as_str), 40);
    }
    if let Some(n) = input.notes.as_update() {
        after.notes = v.optional_text("notes", n.map(String::as_str), 2000);
    }
    if tenant.as_ref().is_some_and(|t| t.btrc.fields_required) {
        btrc_gaps(&mut v, Some(&before), &after, app.now());
    }
    v.finish()?;
    commit_update(app, actor, before, after, expected).await
}

/// A subscriber's own change of what the ISP lets them edit (e-mail, address, language), from
/// the portal; audited as the subscriber.
pub async fn update_own_profile(
    app: &App,
    subscriber: domain::portal::Subscriber,
    email: Patch<String>,
    address: Patch<String>,
    language: Patch<domain::language::Language>,
    expected: u64,
) -> Result<Customer> {
    let domain::portal::Subscriber { tenant_id: tid, customer_id: id } = subscriber;
    let rec: Option<CustomerRecord> = app.store.get(&keys::customer(tid, id, None)).await.or_500()?;
    let before =
        rec.filter(|r| r.deleted_at.is_none()).map(|r| r.customer).ok_or_else(|| Error::not_found("customer"))?;
    let mut after = before.clone();
    let mut v = Validation::new();
    if let Some(e) = email.as_update() {
        after.email = e.map(|e| e.trim()).filter(|e| !e.is_empty()).map(|e| v.email("email", e));
    }
    if let Some(a) = address.as_update() {
        after.address = v.optional_text("address", a.map(String::as_str), 300);
    }
    language.apply_to(&mut after.language);
    v.finish()?;
    commit_update(app, &Actor::subscriber(subscriber), before, after, expected).await
}

async fn commit_update(
    app: &App,
    actor: &Actor,
    before: Customer,
    mut after: Customer,
    expected: u64,
) -> Result<Customer> {
    let (tid, id, now) = (before.tenant_id, before.id, app.now());
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    after.version += 1;
    after.updated_at = now;
    let mut tx = Tx::new();
    stage_customer(&mut tx, &after, Some(expected))?;
    kernel::support::stage_unique_changes(
        &mut tx,
        &unique_values(&before),
        &unique_values(&after),
        |f, v| unique_key(tid, f, v),
        &owner_of(&after),
    );
    Updated { entity: "customer", id, before: &before, after: &after }.stage(
        &mut tx,
        actor,
        Some(tid),
        DomainEvent::new(
            CrmEvent::CustomerUpdated,
            Some(tid),
            serde_json::json!({"customer_id": id, "version": after.version}),
            now,
        ),
    );
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}

/// Soft delete: the record stays for history (and the audit trail), but it leaves every listing and
/// search, and its phone, e-mail and username are free again.
pub async fn delete_customer(app: &App, actor: &Actor, id: Uuid, if_match: Option<u64>) -> Result<()> {
    actor.require(Permission::CustomersDelete)?;
    let tid = actor.tenant()?;
    let before = visible(app, actor, id).await?;
    if let Some(v) = if_match
        && v != before.version
    {
        return Err(Error::version_conflict());
    }
    let live = before.subscriptions;
    if live.pending + live.active + live.suspended + live.expired > 0 {
        return Err(Error::Conflict {
            code: "customer_has_subscriptions",
            detail: "cancel the customer's subscriptions first".into(),
            field: None,
        });
    }
    let now = app.now();
    let mut gone = before.clone();
    gone.version += 1;
    gone.updated_at = now;
    let rec = CustomerRecord { customer: gone.clone(), deleted_at: Some(now) };
    let mut item = Store::encode(&keys::customer(tid, id, None), "CUSTOMER", &rec, Some(gone.version)).or_500()?;
    for a in ["gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        item.remove(a);
    }
    let mut tx = Tx::new();
    tx.put_versioned(item, before.version);
    for f in SEARCH_FIELDS {
        tx.delete(&keys::customer_search(tid, id, f, ""));
    }
    for (field, value) in unique_values(&before) {
        tx.delete_unique(unique_key(tid, field, &value), &owner_of(&before));
    }
    let mut counts = Deltas::default();
    counts.customer(before.scope.as_deref(), Some(before.status), None);
    counts.stage(&mut tx, tid);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "customer.deleted",
            entity: "customer",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: None,
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        CrmEvent::CustomerDeleted,
        Some(tid),
        serde_json::json!({"customer_id": id, "version": gone.version}),
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(())
}
