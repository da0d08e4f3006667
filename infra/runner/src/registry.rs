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
            Box::pin(isp_http::with_cors(app, req, $krate::handle))
        }
        call as ApiFn
    }};
}

macro_rules! api_registry {
    ($($krate:ident $binary:literal,)*) => {
        /// The HTTP handler of an `api-*` function.
        pub fn api_function(binary: &str) -> Option<ApiFn> {
            match binary {
                $($binary => Some(api!($krate)),)*
                _ => None,
            }
        }

        /// The routes an `api-*` function's handler answers (its own `ROUTES`), to compare with the
        /// template.
        pub fn api_routes(binary: &str) -> Option<&'static [&'static str]> {
            match binary {
                $($binary => Some($krate::ROUTES),)*
                _ => None,
            }
        }

        pub const API_FUNCTIONS: &[&str] = &[$($binary),*];
    };
}

// One list of the API functions for the handlers, their routes and the OpenAPI document's parts.
api_openapi::with_api_functions!(api_registry);

/// What each queue worker acts on, by event name: the rules feeding its queue must route exactly
/// these (held together by a test).
pub fn consumer(binary: &str) -> Option<fn(domain::event::EventName) -> bool> {
    Some(match binary {
        "worker-provisioning" => provisioning::worker::consumes,
        "worker-invoicing" => worker_invoicing::consumes,
        "worker-imports" => worker_imports::consumes,
        "worker-notifications" => worker_notifications::consumes,
        "worker-live" => worker_live::consumes,
        _ => return None,
    })
}

/// Functions driven by the stream or a queue (their handlers are wired in `lib.rs`).
pub const EVENT_FUNCTIONS: &[&str] = &[
    "stream-publisher",
    "worker-notifications",
    "worker-imports",
    "worker-provisioning",
    "worker-invoicing",
    "worker-live",
];

/// The function serving the WebSocket API's routes (wired in `lib.rs`'s `/live`).
pub const WEBSOCKET_FUNCTIONS: &[&str] = &["ws-connections"];

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

macro_rules! job_registry {
    ($($krate:ident $binary:literal,)*) => {
        /// The handler of a `job-*` function; its answer is shown by `POST /_local/jobs/{name}`.
        pub fn job_function(binary: &str) -> Option<JobFn> {
            match binary {
                $($binary => Some(job!($krate)),)*
                _ => None,
            }
        }

        pub const JOB_FUNCTIONS: &[&str] = &[$($binary),*];
    };
}

job_registry! {
    job_platform_stats "job-platform-stats",
    job_platform_subscriptions "job-platform-subscriptions",
    job_router_health "job-router-health",
    job_router_backups "job-router-backups",
    job_router_reconcile "job-router-reconcile",
    job_billing_run "job-billing-run",
    job_dunning "job-dunning",
    job_message_release "job-message-release",
    job_expiry_sweep "job-expiry-sweep",
    job_voucher_expiry "job-voucher-expiry",
    job_turbo_sweep "job-turbo-sweep",
    job_ticket_sla "job-ticket-sla",
    job_payment_reconcile "job-payment-reconcile",
}

/// Every function the runner knows.
pub fn all_functions() -> Vec<&'static str> {
    [API_FUNCTIONS, EVENT_FUNCTIONS, WEBSOCKET_FUNCTIONS, JOB_FUNCTIONS].concat()
}
