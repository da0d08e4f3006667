//! `api-openapi`: `GET /v1/openapi.json`, the OpenAPI 3.1 document of every route, generated from the
//! handlers' annotations.

use isp_http::{Incoming, Reply, finish};
use kernel::App;
use lambda_http::{Body, Request, Response};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

// The list below names this crate like the others, so that its own part comes from it too.
extern crate self as api_openapi;

pub const ROUTES: &[&str] = &["GET /v1/openapi.json", "GET /docs", "GET /docs/redoc.standalone.js"];

/// Redoc, the API reference renderer `/docs` serves: vendored into the repository by
/// `scripts/vendor-redoc.sh` (the pinned npm package, integrity-checked), never fetched at run time.
const REDOC_JS: &str = include_str!("../vendor/redoc.standalone.js");
const REDOC_VERSION: &str = include_str!("../vendor/REDOC-VERSION");

/// The reference page: Redoc from this API, rendering this API's own document.
fn docs_page() -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>ISP billing &amp; CRM API reference</title>\n</head>\n<body>\n\
         <redoc spec-url=\"/v1/openapi.json\"></redoc>\n\
         <script src=\"/docs/redoc.standalone.js?v={}\"></script>\n</body>\n</html>\n",
        REDOC_VERSION.trim()
    )
}

/// Every API function, once: its crate and its binary. `with_api_functions!(m)` calls `m!` with
/// the list, so this document's parts and the local runner's registry (handlers, routes) cannot
/// drift apart; a test holds the list to the template and the `functions/` folder.
#[macro_export]
macro_rules! with_api_functions {
    ($m:ident) => {
        $m! {
            api_openapi "api-openapi",
            api_auth "api-auth",
            api_platform_analytics "api-platform-analytics",
            api_platform_resellers "api-platform-resellers",
            api_tenants "api-tenants",
            api_users "api-users",
            api_customers "api-customers",
            api_audit_log "api-audit-log",
            api_imports "api-imports",
            api_dashboard "api-dashboard",
            api_leads "api-leads",
            api_tickets "api-tickets",
            api_inventory "api-inventory",
            api_invoices "api-invoices",
            api_billing "api-billing",
            api_reports "api-reports",
            api_payments "api-payments",
            api_payment_gateways "api-payment-gateways",
            api_checkouts "api-checkouts",
            api_messaging "api-messaging",
            api_messages "api-messages",
            api_alerts "api-alerts",
            api_edge "api-edge",
            api_radius "api-radius",
            api_monitoring "api-monitoring",
            api_vouchers "api-vouchers",
            api_portal "api-portal",
            api_webhook_endpoints "api-webhook-endpoints",
            webhook_stripe "webhook-stripe",
            webhook_sms "webhook-sms",
            webhook_midtrans "webhook-midtrans",
            webhook_sslcommerz "webhook-sslcommerz",
            webhook_bkash "webhook-bkash",
            webhook_paypal "webhook-paypal",
            webhook_aamarpay "webhook-aamarpay",
            webhook_nagad "webhook-nagad",
            api_subscriptions "api-subscriptions",
            api_operators "api-operators",
            api_routers "api-routers",
            api_branches "api-branches",
            api_pops "api-pops",
            api_keys "api-keys",
            api_packages "api-packages",
        }
    };
}

/// The whole API's document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("ISP billing & CRM API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Multi-tenant ISP billing and CRM. Errors are application/problem+json (RFC 9457) with a stable `code`.",
                ))
                .build(),
        )
        .build();
    macro_rules! parts {
        ($($krate:ident $binary:literal,)*) => {
            [$($krate::Doc::openapi()),*]
        };
    }
    for part in with_api_functions!(parts) {
        doc.merge(part);
    }
    let mut components = doc.components.take().unwrap_or_default();
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT access token or API key (isk_...)")
                .build(),
        ),
    );
    doc.components = Some(components);
    doc
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi_json() {}

/// The API reference page (Redoc rendering `/v1/openapi.json`).
#[utoipa::path(get, path = "/docs", tag = "meta", responses((status = 200, content_type = "text/html", description = "the API reference page")))]
pub async fn docs_html() {}

/// The renderer's script the reference page loads (vendored Redoc).
#[utoipa::path(get, path = "/docs/redoc.standalone.js", tag = "meta",
    responses((status = 200, content_type = "application/javascript", description = "Redoc's standalone bundle")))]
pub async fn docs_js() {}

#[derive(OpenApi)]
#[openapi(paths(openapi_json, docs_html, docs_js))]
pub struct Doc;

pub async fn handle(_app: &App, req: Request) -> Response<Body> {
    finish(dispatch(req))
}

fn dispatch(req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, _) = r.route(ROUTES)?;
    let page = |content_type: &str, cache: &str, body: String| {
        lambda_http::Response::builder()
            .status(lambda_http::http::StatusCode::OK)
            .header("content-type", content_type)
            .header("cache-control", cache)
            .header("x-content-type-options", "nosniff")
            .body(Body::Text(body))
            .map_err(|e| domain::Error::Internal(e.to_string()))
    };
    match route {
        "GET /docs" => page("text/html; charset=utf-8", "no-cache", docs_page()),
        // Named by version in the page: a browser may keep it a day.
        "GET /docs/redoc.standalone.js" => {
            page("application/javascript; charset=utf-8", "public, max-age=86400", REDOC_JS.to_string())
        }
        _ => {
            let text = document().to_json().map_err(|e| domain::Error::Internal(e.to_string()))?;
            Ok(isp_http::raw_json(lambda_http::http::StatusCode::OK, text))
        }
    }
}
