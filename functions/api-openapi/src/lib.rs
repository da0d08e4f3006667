//! `api-openapi`: `GET /v1/openapi.json`, the OpenAPI 3.1 document of every route, generated from the
//! handlers' annotations.

use isp_http::{Incoming, Reply, finish};
use kernel::App;
use lambda_http::{Body, Request, Response};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

pub const ROUTES: &[&str] = &["GET /v1/openapi.json"];

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
    for part in [
        Doc::openapi(),
        api_auth::Doc::openapi(),
        api_platform_resellers::Doc::openapi(),
        api_tenants::Doc::openapi(),
        api_users::Doc::openapi(),
        api_customers::Doc::openapi(),
        api_audit_log::Doc::openapi(),
        api_imports::Doc::openapi(),
        api_dashboard::Doc::openapi(),
        api_leads::Doc::openapi(),
        api_invoices::Doc::openapi(),
        api_billing::Doc::openapi(),
        api_reports::Doc::openapi(),
        api_payments::Doc::openapi(),
        api_subscriptions::Doc::openapi(),
        api_operators::Doc::openapi(),
        api_routers::Doc::openapi(),
        api_pops::Doc::openapi(),
        api_packages::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    let mut components = doc.components.take().unwrap_or_default();
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
    );
    doc.components = Some(components);
    doc
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn openapi_json() {}

#[derive(OpenApi)]
#[openapi(paths(openapi_json))]
pub struct Doc;

pub async fn handle(_app: &App, req: Request) -> Response<Body> {
    finish(dispatch(req))
}

fn dispatch(req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    r.route(ROUTES)?;
    let text = document().to_json().map_err(|e| domain::Error::Internal(e.to_string()))?;
    Ok(isp_http::raw_json(lambda_http::http::StatusCode::OK, text))
}
