//! `api-reports`: billing reports from the aggregates the money transactions keep: collections
//! (by day, method, collector, operator), dues aging and revenue (by month and package); JSON, or
//! a spreadsheet with `format=csv` or `format=xlsx`; and traffic (per day and router, the day's top users) from the day
//! records the router sweeps write. Operators and sub-operators read their own subtree's
//! collections and dues; revenue and traffic are the ISP's.

use billing::report_csv;
use domain::Error;
use domain::actor::Actor;
use isp_http::{Incoming, Problem, Reply, finish, ok, spreadsheet_file};
use kernel::App;
use kernel::projections::reports::{self, CollectionsReport, CommissionReport, DuesReport, RevenueReport};
use lambda_http::{Body, Request, Response};
use subscriptions::traffic::{self, TopUsers, UsageReport};

pub const ROUTES: &[&str] = &[
    "GET /v1/reports/collections",
    "GET /v1/reports/dues",
    "GET /v1/reports/revenue",
    "GET /v1/reports/commissions",
    "GET /v1/reports/usage",
    "GET /v1/reports/top-users",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, _) = r.route(ROUTES)?;
    let actor = r.actor(&app.tokens, app.now())?;
    match route {
        "GET /v1/reports/collections" => collections(app, &actor, &r).await,
        "GET /v1/reports/dues" => dues(app, &actor, &r).await,
        "GET /v1/reports/commissions" => commissions(app, &actor, &r).await,
        "GET /v1/reports/usage" => usage(app, &actor, &r).await,
        "GET /v1/reports/top-users" => top_users(app, &actor, &r).await,
        _ => revenue(app, &actor, &r).await,
    }
}

/// Money collected per local day, and by method, collector and operator (default: this month).
#[utoipa::path(get, path = "/v1/reports/collections", tag = "reports",
    params(("from" = Option<String>, Query, description = "first local date, e.g. 2026-12-01"),
        ("to" = Option<String>, Query, description = "last local date (at most 366 days after from)"),
        ("format" = Option<String>, Query, description = "json (default), csv or xlsx")),
    responses((status = 200, body = CollectionsReport), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn collections(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["from", "to", "format"])?;
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
    params(("format" = Option<String>, Query, description = "json (default), csv or xlsx")),
    responses((status = 200, body = DuesReport), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn dues(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["format"])?;
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
    params(("from" = Option<String>, Query, description = "first month, e.g. 2026-01"),
        ("to" = Option<String>, Query, description = "last month (at most 24 after from)"),
        ("format" = Option<String>, Query, description = "json (default), csv or xlsx")),
    responses((status = 200, body = CommissionReport), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn commissions(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["from", "to", "format"])?;
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

#[derive(utoipa::OpenApi)]
#[openapi(paths(collections, dues, revenue, commissions, usage, top_users))]
pub struct Doc;
