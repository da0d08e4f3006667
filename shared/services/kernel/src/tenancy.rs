//! Which ISP a request is for when no token says so (the subscriber portal's host or ISP code), and
//! which browser origins may call the API for an ISP.

use crate::App;
use domain::Result;
use domain::portal::{normalise_host, normalise_origin, subdomain_code};
use store::keys;
use uuid::Uuid;

async fn owner(app: &App, k: &store::ItemKeys) -> Result<Option<Uuid>> {
    crate::support::unique_owner(app, k).await
}

/// The ISP a request names: by its ISP code if it gives one, else by its host (a host the ISP
/// mapped, or `<code>.<platform portal domain>`). One GetItem.
pub async fn isp_by_host_or_code(app: &App, host: Option<&str>, code: Option<&str>) -> Result<Option<Uuid>> {
    if let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) {
        return owner(app, &keys::tenant_slug(&code.to_ascii_lowercase())).await;
    }
    let Some(host) = host.and_then(normalise_host) else { return Ok(None) };
    if let Some(code) = subdomain_code(&host, &app.portal_domain) {
        return owner(app, &keys::tenant_slug(code)).await;
    }
    owner(app, &keys::portal_host(&host)).await
}

/// Whether `origin` may call the API from a browser: the platform's own frontends' origins
/// (`ADMIN_ORIGINS`) always; an ISP's configured origin only for that ISP's requests (`tenant`),
/// or for a preflight (`tenant` None: it carries no credentials and tells nothing). One GetItem
/// for an ISP's origin.
pub async fn origin_allowed(app: &App, origin: &str, tenant: Option<Uuid>, preflight: bool) -> Result<bool> {
    let Some(origin) = normalise_origin(origin) else { return Ok(false) };
    if app.admin_origins.contains(&origin) {
        return Ok(true);
    }
    let holder = owner(app, &keys::portal_origin(&origin)).await?;
    Ok(match holder {
        Some(h) => preflight || tenant == Some(h),
        None => false,
    })
}
