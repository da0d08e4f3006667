//! The BTRC subscriber report: one row per subscription in service during a local month (first
//! activated before the month's end, not cancelled before its start), laid out by the template
//! version in force for that month (`domain::regulator`); for the whole ISP or one operator's
//! subtree. And the customers that lack a field the template requires.
//!
//! Reads whole collections with Queries on the ISP's (or the operator's) customer and
//! subscription indexes, page after page, then the packages, POPs and operators named, by key;
//! never a Scan.

use chrono::{Datelike, NaiveDate};
use domain::actor::Actor;
use domain::customer::{Customer, CustomerStatus};
use domain::cycle::{local_date, local_midnight, parse_tz};
use domain::regulator::{RowFacts, Template, btrc_template};
use domain::subscription::{Subscription, SubscriptionStatus};
use domain::tenant::Tenant;
use domain::{Error, Result};
use identity::users::UserRecord;
use kernel::App;
use kernel::support::{StoreResultExt, load_tenant};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use store::{Query, Store, keys};
use uuid::Uuid;

use crate::subscriptions::SubscriptionRecord;
use crm::customers::CustomerRecord;

/// The most customers or subscriptions one report reads (a Lambda's answer is at most 6 MB; the
/// JSON of this many rows is about 4.5 MB, the CSV 3.2 MB).
pub const MAX_REPORT_ROWS: usize = 25_000;

/// The report as JSON: what the CSV and XLSX files hold, row by row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BtrcReport {
    /// `2026-11`.
    pub month: String,
    pub template_version: u32,
    pub title: String,
    /// The operator whose subtree the report covers (None: the whole ISP, or the caller's own).
    pub operator_id: Option<Uuid>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Rows with a required column empty: their customers are listed by `/v1/reports/btrc/missing`.
    pub incomplete_rows: usize,
}

/// The customers that lack a field the template in force requires.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BtrcGaps {
    pub template_version: u32,
    pub operator_id: Option<Uuid>,
    pub customers: Vec<CustomerGaps>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerGaps {
    pub customer_id: Uuid,
    pub name: String,
    pub phone: String,
    pub username: String,
    pub operator_id: Option<Uuid>,
    /// The customer's fields to fill, as `PATCH /v1/customers/{id}` names them.
    pub missing: Vec<String>,
}

/// The template versions, oldest first.
pub fn templates() -> &'static [Template] {
    domain::regulator::btrc_templates()
}

/// The subtree a report covers: a scoped caller's own (or a sub-operator's inside it, when
/// asked for), or for staff who see the whole ISP the named operator's (or the whole ISP).
async fn subtree(app: &App, tid: Uuid, own: Option<String>, operator_id: Option<Uuid>) -> Result<Option<String>> {
    let Some(op) = operator_id else { return Ok(own) };
    let rec: Option<UserRecord> = app.store.get(&keys::user(Some(tid), op)).await.or_500()?;
    let scope = rec
        .filter(|r| r.user.role.is_scoped() && r.user.tenant_id == Some(tid))
        .and_then(|r| r.user.scope)
        .ok_or_else(|| Error::field("operator_id", "is not an operator or sub-operator of this ISP"))?;
    match own {
        Some(mine) if scope != mine && !scope.starts_with(&format!("{mine}/")) => {
            Err(Error::field("operator_id", "is not in your subtree"))
        }
        _ => Ok(Some(scope)),
    }
}

async fn customers_of(app: &App, tid: Uuid, scope: Option<&str>) -> Result<Vec<Customer>> {
    let q = match scope {
        Some(s) => Query::index("gsi2", keys::customers_by_operator_gsi2(tid, s)).prefix(s.to_string()),
        None => Query::index("gsi1", keys::customers_gsi1(tid)),
    }
    .limit(1000);
    let all: Vec<CustomerRecord> = app.store.query_all(q, MAX_REPORT_ROWS + 1).await.or_500()?;
    too_many(all.len())?;
    Ok(all.into_iter().filter(|r| r.deleted_at.is_none()).map(|r| r.customer).collect())
}

fn too_many(n: usize) -> Result<()> {
    if n > MAX_REPORT_ROWS {
        return Err(Error::Conflict {
            code: "report_too_large",
            detail: format!("more than {MAX_REPORT_ROWS} rows: ask for one operator's subtree at a time (operator_id)"),
            field: Some("operator_id".into()),
        });
    }
    Ok(())
}

fn month_of(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok().filter(|_| s.len() == 7)
}

/// Reads the items for `keys` (duplicates and all), keyed by id.
async fn by_id<T: serde::de::DeserializeOwned>(
    app: &App,
    ids: &BTreeSet<Uuid>,
    key: impl Fn(Uuid) -> store::ItemKeys,
) -> Result<HashMap<Uuid, T>> {
    let ids: Vec<Uuid> = ids.iter().copied().collect();
    let all: Vec<store::ItemKeys> = ids.iter().map(|id| key(*id)).collect();
    let refs: Vec<&store::ItemKeys> = all.iter().collect();
    let items = app.store.batch_get_many(&refs).await.or_500()?;
    let mut out = HashMap::new();
    for (id, item) in ids.into_iter().zip(items) {
        if let Some(i) = item {
            out.insert(id, Store::decode(i).or_500()?);
        }
    }
    Ok(out)
}

/// What a month's report is made from, as read.
pub struct BtrcSources {
    pub tenant: Tenant,
    pub month_start: NaiveDate,
    pub template: &'static Template,
    pub operator_id: Option<Uuid>,
    /// The subscriptions in service during the month.
    pub subscriptions: Vec<Subscription>,
    /// Their customers (those deleted since included), packages, POPs and operators, by id.
    pub customers: HashMap<Uuid, Customer>,
    pub packages: HashMap<Uuid, domain::package::Package>,
    pub pops: HashMap<Uuid, domain::network::Pop>,
    pub operators: HashMap<Uuid, UserRecord>,
}

/// `GET /v1/reports/btrc`: the month's rows (default: this local month).
pub async fn btrc_report(
    app: &App,
    actor: &Actor,
    month: Option<&str>,
    operator_id: Option<Uuid>,
    version: Option<u32>,
) -> Result<BtrcReport> {
    Ok(assemble(&read_sources(app, actor, month, operator_id, version).await?))
}

/// Reads what the month's report needs: two index walks at once, then three rounds of reads by key.
pub async fn read_sources(
    app: &App,
    actor: &Actor,
    month: Option<&str>,
    operator_id: Option<Uuid>,
    version: Option<u32>,
) -> Result<BtrcSources> {
    let (tid, own) = kernel::projections::reports::reader(actor)?;
    let (tenant, scope) = futures::try_join!(load_tenant(app, tid), subtree(app, tid, own, operator_id))?;
    let tz = parse_tz(&tenant.time_zone);
    let this_month = local_date(tz, app.now()).with_day(1).expect("day 1");
    let month_start = match month {
        Some(m) => month_of(m).ok_or_else(|| Error::field("month", "must be a month like 2026-11"))?,
        None => this_month,
    };
    if month_start > this_month {
        return Err(Error::field("month", "must not be after this month"));
    }
    let template = btrc_template(version, month_start)?;
    let next_month = month_start.checked_add_months(chrono::Months::new(1)).expect("in range");
    let (start, end) = (local_midnight(tz, month_start), local_midnight(tz, next_month));

    let sub_query = match scope.as_deref() {
        Some(s) => Query::index("gsi3", keys::subscriptions_by_operator_gsi3(tid, s)).prefix(s.to_string()),
        None => Query::index("gsi1", keys::subscriptions_gsi1(tid)),
    }
    .limit(1000);
    let (customers, subscriptions) = futures::try_join!(customers_of(app, tid, scope.as_deref()), async {
        let all: Vec<SubscriptionRecord> = app.store.query_all(sub_query, MAX_REPORT_ROWS + 1).await.or_500()?;
        too_many(all.len())?;
        Ok(all)
    })?;
    let subscriptions: Vec<Subscription> = subscriptions
        .into_iter()
        .map(|r| r.subscription)
        .filter(|s| {
            let began = s.start_date.is_some_and(|d| d < end);
            let ended = s.status == SubscriptionStatus::Cancelled && s.ended_at.unwrap_or(s.updated_at) < start;
            began && !ended
        })
        .collect();

    // What the rows name: customers deleted since (kept for history), packages, POPs, operators.
    let mut customers: HashMap<Uuid, Customer> = customers.into_iter().map(|c| (c.id, c)).collect();
    let gone: BTreeSet<Uuid> =
        subscriptions.iter().map(|s| s.customer_id).filter(|id| !customers.contains_key(id)).collect();
    let package_ids: BTreeSet<Uuid> = subscriptions.iter().map(|s| s.package_id).collect();
    let (deleted, packages) = futures::try_join!(
        by_id::<CustomerRecord>(app, &gone, |id| keys::customer(tid, id, None)),
        by_id::<domain::package::Package>(app, &package_ids, |id| keys::package(tid, id, "")),
    )?;
    customers.extend(deleted.into_iter().map(|(id, r)| (id, r.customer)));
    let named = |f: fn(&Customer) -> Option<Uuid>| -> BTreeSet<Uuid> {
        subscriptions.iter().filter_map(|s| customers.get(&s.customer_id).and_then(f)).collect()
    };
    let (pop_ids, operator_ids) = (named(|c| c.pop_id), named(|c| c.operator_id));
    let (pops, operators) = futures::try_join!(
        by_id::<domain::network::Pop>(app, &pop_ids, |id| keys::pop(tid, id, "")),
        by_id::<UserRecord>(app, &operator_ids, |id| keys::user(Some(tid), id)),
    )?;
    Ok(BtrcSources { tenant, month_start, template, operator_id, subscriptions, customers, packages, pops, operators })
}

/// The report's rows from what was read, by customer name; no I/O.
pub fn assemble(src: &BtrcSources) -> BtrcReport {
    let (tenant, template) = (&src.tenant, src.template);
    let tz = parse_tz(&tenant.time_zone);
    let mut lines: Vec<(&Customer, &Subscription)> =
        src.subscriptions.iter().filter_map(|s| src.customers.get(&s.customer_id).map(|c| (c, s))).collect();
    lines.sort_by(|(a, x), (b, y)| a.name.cmp(&b.name).then(a.id.cmp(&b.id)).then(x.username.cmp(&y.username)));
    let (mut rows, mut incomplete_rows) = (Vec::with_capacity(lines.len()), 0);
    for (c, s) in lines {
        let package = src.packages.get(&s.package_id);
        let net = if tenant.billing.tax_inclusive {
            domain::billing::split_inclusive(s.price, tenant.billing.tax_rate_bps.into()).0
        } else {
            s.price
        };
        let facts = RowFacts {
            customer: c,
            operator_name: c
                .operator_id
                .and_then(|o| src.operators.get(&o))
                .map_or(tenant.name.as_str(), |o| o.user.name.as_str()),
            pop_name: c.pop_id.and_then(|p| src.pops.get(&p)).map(|p| p.name.as_str()),
            connectivity: package.map(|p| p.connectivity),
            activation_date: c.connection_date.or(s.start_date.map(|d| local_date(tz, d))),
            bandwidth_bps: package.map(|p| p.download.0),
            allocated_ip: s.ip_address,
            price_excluding_vat: Some((net, s.currency.as_str())),
            username: &s.username,
        };
        if !template.gaps(&facts).is_empty() {
            incomplete_rows += 1;
        }
        rows.push(template.row(&facts));
    }
    BtrcReport {
        month: src.month_start.format("%Y-%m").to_string(),
        template_version: template.version,
        title: template.title.clone(),
        operator_id: src.operator_id,
        header: template.header().into_iter().map(String::from).collect(),
        rows,
        incomplete_rows,
    }
}

/// `GET /v1/reports/btrc/missing`: the customers (but those who left) lacking a field the
/// template in force this month requires, by name.
pub async fn btrc_missing(app: &App, actor: &Actor, operator_id: Option<Uuid>) -> Result<BtrcGaps> {
    let (tid, own) = kernel::projections::reports::reader(actor)?;
    let (tenant, scope) = futures::try_join!(load_tenant(app, tid), subtree(app, tid, own, operator_id))?;
    let month_start = local_date(parse_tz(&tenant.time_zone), app.now()).with_day(1).expect("day 1");
    let template = btrc_template(None, month_start)?;
    let mut customers: Vec<CustomerGaps> = customers_of(app, tid, scope.as_deref())
        .await?
        .into_iter()
        .filter(|c| c.status != CustomerStatus::Inactive)
        .filter_map(|c| {
            let missing = template.missing_customer_fields(&c);
            (!missing.is_empty()).then(|| CustomerGaps {
                customer_id: c.id,
                name: c.name,
                phone: c.phone,
                username: c.username,
                operator_id: c.operator_id,
                missing: missing.into_iter().map(String::from).collect(),
            })
        })
        .collect();
    customers.sort_by(|a, b| a.name.cmp(&b.name).then(a.customer_id.cmp(&b.customer_id)));
    Ok(BtrcGaps { template_version: template.version, operator_id, customers })
}

/// The report as the regulator's spreadsheet: the template's header, then the rows.
#[cfg(feature = "csv")]
pub fn btrc_sheet(r: &BtrcReport, format: domain::export::Format) -> Result<Vec<u8>> {
    let mut out = domain::export::Sheet::new(format, &r.header)?;
    for row in &r.rows {
        out.row(row)?;
    }
    out.finish()
}

#[cfg(feature = "csv")]
pub fn missing_sheet(r: &BtrcGaps, format: domain::export::Format) -> Result<Vec<u8>> {
    let mut out =
        domain::export::Sheet::new(format, &["customer_id", "name", "phone", "username", "operator_id", "missing"])?;
    for c in &r.customers {
        let operator = c.operator_id.map(|o| o.to_string()).unwrap_or_default();
        out.row(&[
            c.customer_id.to_string().as_str(),
            &c.name,
            &c.phone,
            &c.username,
            &operator,
            &c.missing.join(" "),
        ])?;
    }
    out.finish()
}
