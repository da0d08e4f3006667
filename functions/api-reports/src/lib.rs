//! `api-reports`: billing reports from the aggregates the money transactions keep: collections
//! (by day, method, collector, operator), dues aging and revenue (by month and package); JSON, or
//! a spreadsheet with `format=csv` or `format=xlsx`; and traffic (per day and router, the day's top users) from the day
//! records the router sweeps write; the regulator's (BTRC) monthly subscriber report in its
//! template's layout, and the customers lacking a field it requires. Operators and sub-operators
//! read their own subtree's collections, dues and BTRC report; revenue and traffic are the ISP's.

use billing::report_csv;
use domain::Error;
use domain::actor::Actor;
use isp_http::{Incoming, Problem, Reply, finish, ok, spreadsheet_file};
use kernel::App;
use kernel::projections::reports::{self, CollectionsReport, CommissionReport, DuesReport, RevenueReport};
use lambda_http::{Body, Request, Response};
use subscriptions::regulator::{self, BtrcGaps, BtrcReport};
use subscriptions::traffic::{self, TopUsers, UsageReport};

pub const ROUTES: &[&str] = &[
    "GET /v1/reports/collections",
    "GET /v1/reports/dues",
    "GET /v1/reports/revenue",
    "GET /v1/reports/commissions",
    "GET /v1/reports/usage",
    "GET /v1/reports/top-users",
    "GET /v1/reports/btrc",
    "GET /v1/reports/btrc/missing",
    "GET /v1/reports/btrc/templates",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, _) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    // `branch_id`: one branch's figures, as its own staff see them (the ISP's staff, or the
    // branch's own).
    let actor = match r.query_id("branch_id")? {
        Some(b)
            if matches!(
                route,
                "GET /v1/reports/collections" | "GET /v1/reports/dues" | "GET /v1/reports/commissions"
            ) =>
        {
            kernel::access::as_branch(app, &actor, b).await?
        }
        _ => actor,
    };
    match route {
        "GET /v1/reports/collections" => collections(app, &actor, &r).await,
        "GET /v1/reports/dues" => dues(app, &actor, &r).await,
        "GET /v1/reports/commissions" => commissions(app, &actor, &r).await,
        "GET /v1/reports/usage" => usage(app, &actor, &r).await,
        "GET /v1/reports/top-users" => top_users(app, &actor, &r).await,
        "GET /v1/reports/btrc" => btrc(app, &actor, &r).await,
        "GET /v1/reports/btrc/missing" => btrc_missing(app, &actor, &r).await,
        "GET /v1/reports/btrc/templates" => btrc_templates(&actor, &r),
        _ => revenue(app, &actor, &r).await,
    }
}

/// Money collected per local day, and by method, collector and operator (default: this month).
#[utoipa::path(get, path = "/v1/reports/collections", tag = "reports",
    params(("branch_id" = Option<uuid::Uuid>, Query, description = "one branch's figures"),
        ("from" = Option<String>, Query, description = "first local date, e.g. 2026-12-01"),
        ("to" = Option<String>, Query, description = "last local date (at most 366 days after from)"),
        ("format" = Option<String>, Query, description = "json (default), csv or xlsx")),
    responses((status = 200, body = CollectionsReport), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn collections(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["from", "to", "format", "branch_id"])?;
    let sheet = r.report_format()?;
    let report = reports::collections(app, actor, r.query_date("from")?, r.query_date("to")?).await?;
    if let Some(f) = sheet {
        return spreadsheet_file(
            &format!("collections-{}-{}", report.from, report.to),
            f,
            report_csv::collections_sheet(&report, f)?,
        );
    }
    ok(&report)
}

/// What open invoices owe, aged: not due, 0-30, 31-60, 61-90 and over 90 days past due.
#[utoipa::path(get, path = "/v1/reports/dues", tag = "reports",
    params(("format" = Option<String>, Query, description = "json (default), csv or xlsx"),
        ("branch_id" = Option<uuid::Uuid>, Query, description = "one branch's figures")),
    responses((status = 200, body = DuesReport), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn dues(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["format", "branch_id"])?;
    let sheet = r.report_format()?;
    let report = reports::dues(app, actor).await?;
    if let Some(f) = sheet {
        return spreadsheet_file("dues", f, report_csv::dues_sheet(&report, f)?);
    }
    ok(&report)
}

/// Revenue (net of tax) invoiced per local month and package, with tax and credit notes.
#[utoipa::path(get, path = "/v1/reports/revenue", tag = "reports",
    params(("from" = Option<String>, Query, description = "first month, e.g. 2026-01"),
        ("to" = Option<String>, Query, description = "last month (at most 24 after from)"),
        ("format" = Option<String>, Query, description = "json (default), csv or xlsx")),
    responses((status = 200, body = RevenueReport), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn revenue(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["from", "to", "format"])?;
    let sheet = r.report_format()?;
    let report = reports::revenue(app, actor, r.query("from"), r.query("to")).await?;
    if let Some(f) = sheet {
        return spreadsheet_file("revenue", f, report_csv::revenue_sheet(&report, f)?);
    }
    ok(&report)
}

/// Commissions earned per local month and operator (from the aggregates written with each
/// payment); operators see their own subtree's.
#[utoipa::path(get, path = "/v1/reports/commissions", tag = "reports",
    params(("branch_id" = Option<uuid::Uuid>, Query, description = "one branch's figures"),
        ("from" = Option<String>, Query, description = "first month, e.g. 2026-01"),
        ("to" = Option<String>, Query, description = "last month (at most 24 after from)"),
        ("format" = Option<String>, Query, description = "json (default), csv or xlsx")),
    responses((status = 200, body = CommissionReport), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn commissions(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["from", "to", "format", "branch_id"])?;
    let sheet = r.report_format()?;
    let report = reports::commissions(app, actor, r.query("from"), r.query("to")).await?;
    if let Some(f) = sheet {
        return spreadsheet_file("commissions", f, report_csv::commissions_sheet(&report, f)?);
    }
    ok(&report)
}

/// The ISP's traffic per local day and per router, counted from the routers' session counters
/// every 5 minutes (today's figures trail by up to an hour). The whole ISP's.
#[utoipa::path(get, path = "/v1/reports/usage", tag = "reports",
    params(("from" = Option<String>, Query, description = "first local date (default: 29 days before `to`)"),
        ("to" = Option<String>, Query, description = "last local date (default: today; at most 366 days after from)"),
        ("format" = Option<String>, Query, description = "json (default), csv or xlsx")),
    responses((status = 200, body = UsageReport), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn usage(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["from", "to", "format"])?;
    let sheet = r.report_format()?;
    let report = traffic::usage_report(app, actor, r.query_date("from")?, r.query_date("to")?).await?;
    if let Some(f) = sheet {
        return spreadsheet_file(&format!("usage-{}-{}", report.from, report.to), f, traffic::usage_sheet(&report, f)?);
    }
    ok(&report)
}

/// The subscriptions that moved the most bytes on one local day, biggest first.
#[utoipa::path(get, path = "/v1/reports/top-users", tag = "reports",
    params(("date" = Option<String>, Query, description = "local date (default: today)"),
        ("limit" = Option<u32>, Query, description = "1 to 100 (default 20)"),
        ("format" = Option<String>, Query, description = "json (default), csv or xlsx")),
    responses((status = 200, body = TopUsers), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn top_users(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["date", "limit", "format"])?;
    let sheet = r.report_format()?;
    let limit = r
        .query("limit")
        .map(|l| l.parse::<u32>().map_err(|_| Error::field("limit", "must be a number from 1 to 100")))
        .transpose()?;
    let report = traffic::top_users(app, actor, r.query_date("date")?, limit).await?;
    if let Some(f) = sheet {
        return spreadsheet_file(&format!("top-users-{}", report.date), f, traffic::top_users_sheet(&report, f)?);
    }
    ok(&report)
}

/// BTRC's subscriber report for a local month: one row per subscription in service during it
/// (activated before its end, not cancelled before its start), in the layout of the template
/// version in force then; the whole ISP's, or one operator's subtree (operators: their own).
#[utoipa::path(get, path = "/v1/reports/btrc", tag = "reports",
    params(("month" = Option<String>, Query, description = "e.g. 2026-11 (default: this local month)"),
        ("operator_id" = Option<String>, Query, description = "only this operator's (or sub-operator's) subtree"),
        ("template_version" = Option<u32>, Query, description = "a template version (default: the one in force in the month)"),
        ("format" = Option<String>, Query, description = "json (default), csv or xlsx")),
    responses((status = 200, body = BtrcReport), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn btrc(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["month", "operator_id", "template_version", "format"])?;
    let sheet = r.report_format()?;
    let version = r
        .query("template_version")
        .map(|v| v.parse::<u32>().map_err(|_| Error::field("template_version", "must be a version number")))
        .transpose()?;
    let report = regulator::btrc_report(app, actor, r.query("month"), r.query_id("operator_id")?, version).await?;
    if let Some(f) = sheet {
        return spreadsheet_file(
            &format!("btrc-subscribers-{}-v{}", report.month, report.template_version),
            f,
            regulator::btrc_sheet(&report, f)?,
        );
    }
    ok(&report)
}

/// The customers lacking a field the BTRC template in force requires, and which ones.
#[utoipa::path(get, path = "/v1/reports/btrc/missing", tag = "reports",
    params(("operator_id" = Option<String>, Query, description = "only this operator's (or sub-operator's) subtree"),
        ("format" = Option<String>, Query, description = "json (default), csv or xlsx")),
    responses((status = 200, body = BtrcGaps), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn btrc_missing(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["operator_id", "format"])?;
    let sheet = r.report_format()?;
    let report = regulator::btrc_missing(app, actor, r.query_id("operator_id")?).await?;
    if let Some(f) = sheet {
        return spreadsheet_file("btrc-missing-fields", f, regulator::missing_sheet(&report, f)?);
    }
    ok(&report)
}

/// The BTRC report's template versions (columns, which are required, the regulator's words).
#[utoipa::path(get, path = "/v1/reports/btrc/templates", tag = "reports",
    responses((status = 200, body = Vec<domain::regulator::Template>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub fn btrc_templates(actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&[])?;
    actor.require(domain::role::Permission::ReportsRead)?;
    actor.tenant()?;
    ok(&regulator::templates())
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(collections, dues, revenue, commissions, usage, top_users, btrc, btrc_missing, btrc_templates))]
pub struct Doc;
