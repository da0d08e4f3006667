//! Every function the runner can run, by binary name. A test holds this list, the template and the
//! `functions/` folder to one another.

use kernel::App;
use lambda_http::{Body, Request, Response};
use std::future::Future;
use std::pin::Pin;

pub type ApiFuture<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;
pub type ApiFn = for<'a> fn(&'a App, Request) -> ApiFuture<'a>;

macro_rules! api {
    ($krate:ident) => {{
        fn call(app: &App, req: Request) -> ApiFuture<'_> {
            Box::pin($krate::handle(app, req))
        }
        call as ApiFn
    }};
}

/// The HTTP handler of an `api-*` function.
pub fn api_function(binary: &str) -> Option<ApiFn> {
    Some(match binary {
        "api-auth" => api!(api_auth),
        "api-platform-resellers" => api!(api_platform_resellers),
        "api-tenants" => api!(api_tenants),
        "api-users" => api!(api_users),
        "api-customers" => api!(api_customers),
        "api-audit-log" => api!(api_audit_log),
        "api-openapi" => api!(api_openapi),
        "api-imports" => api!(api_imports),
        "api-dashboard" => api!(api_dashboard),
        "api-leads" => api!(api_leads),
        "api-subscriptions" => api!(api_subscriptions),
        "api-operators" => api!(api_operators),
        "api-routers" => api!(api_routers),
        "api-pops" => api!(api_pops),
        "api-packages" => api!(api_packages),
        "api-invoices" => api!(api_invoices),
        "api-billing" => api!(api_billing),
        "api-reports" => api!(api_reports),
        "api-payments" => api!(api_payments),
        _ => return None,
    })
}

/// Functions driven by the stream or a queue (their handlers are wired in `lib.rs`).
pub const EVENT_FUNCTIONS: &[&str] =
    &["stream-publisher", "worker-notifications", "worker-imports", "worker-provisioning", "worker-invoicing"];

pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<serde_json::Value, String>> + Send + 'a>>;
pub type JobFn = for<'a> fn(
    &'a App,
    aws_lambda_events::event::cloudwatch_events::CloudWatchEvent<serde_json::Value>,
) -> JobFuture<'a>;

macro_rules! job {
    ($krate:ident) => {{
        fn call(
            app: &App,
            ev: aws_lambda_events::event::cloudwatch_events::CloudWatchEvent<serde_json::Value>,
        ) -> JobFuture<'_> {
            Box::pin(async move {
                let report = $krate::handle(app, ev).await?;
                serde_json::to_value(report).map_err(|e| e.to_string())
            })
        }
        call as JobFn
    }};
}

/// The handler of a `job-*` function; its answer is shown by `POST /_local/jobs/{name}`.
pub fn job_function(binary: &str) -> Option<JobFn> {
    Some(match binary {
        "job-platform-subscriptions" => job!(job_platform_subscriptions),
        "job-router-health" => job!(job_router_health),
        "job-router-reconcile" => job!(job_router_reconcile),
        "job-billing-run" => job!(job_billing_run),
        "job-dunning" => job!(job_dunning),
        "job-expiry-sweep" => job!(job_expiry_sweep),
        _ => return None,
    })
}

pub const JOB_FUNCTIONS: &[&str] = &[
    "job-platform-subscriptions",
    "job-router-health",
    "job-router-reconcile",
    "job-billing-run",
    "job-dunning",
    "job-expiry-sweep",
];

/// Every function the runner knows.
pub fn all_functions() -> Vec<&'static str> {
    let mut v = vec![
        "api-auth",
        "api-platform-resellers",
        "api-tenants",
        "api-users",
        "api-customers",
        "api-audit-log",
        "api-openapi",
        "api-imports",
        "api-dashboard",
        "api-leads",
        "api-subscriptions",
        "api-operators",
        "api-routers",
        "api-packages",
        "api-pops",
        "api-invoices",
        "api-billing",
        "api-reports",
        "api-payments",
    ];
    v.extend_from_slice(EVENT_FUNCTIONS);
    v.extend_from_slice(JOB_FUNCTIONS);
    v
}

/// The routes an `api-*` function's handler answers (its own `ROUTES`), to compare with the template.
pub fn api_routes(binary: &str) -> Option<&'static [&'static str]> {
    Some(match binary {
        "api-auth" => api_auth::ROUTES,
        "api-platform-resellers" => api_platform_resellers::ROUTES,
        "api-tenants" => api_tenants::ROUTES,
        "api-users" => api_users::ROUTES,
        "api-customers" => api_customers::ROUTES,
        "api-audit-log" => api_audit_log::ROUTES,
        "api-openapi" => api_openapi::ROUTES,
        "api-imports" => api_imports::ROUTES,
        "api-dashboard" => api_dashboard::ROUTES,
        "api-leads" => api_leads::ROUTES,
        "api-subscriptions" => api_subscriptions::ROUTES,
        "api-operators" => api_operators::ROUTES,
        "api-routers" => api_routers::ROUTES,
        "api-pops" => api_pops::ROUTES,
        "api-packages" => api_packages::ROUTES,
        "api-invoices" => api_invoices::ROUTES,
        "api-billing" => api_billing::ROUTES,
        "api-reports" => api_reports::ROUTES,
        "api-payments" => api_payments::ROUTES,
        _ => return None,
    })
}
