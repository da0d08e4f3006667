//! `api-packages`: service packages (`/v1/packages`) and per-operator offers.

use domain::Error;
use domain::actor::Actor;
use domain::commission::CommissionRule;
use domain::package::{ConnectionType, Package, PackageOffer};
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, no_content, ok};
use kernel::App;
use lambda_http::{Body, Request, Response};
use network::packages::{self, CreatePackage, PackageFilter, PackageView, PutOffer, UpdatePackage};
use uuid::Uuid;
use wallets::commissions::{self, SetCommissionRule};

pub const ROUTES: &[&str] = &[
    "POST /v1/packages",
    "GET /v1/packages",
    "GET /v1/packages/{id}",
    "PATCH /v1/packages/{id}",
    "DELETE /v1/packages/{id}",
    "GET /v1/packages/{id}/offers",
    "PUT /v1/packages/{id}/offers/{operator_id}",
    "DELETE /v1/packages/{id}/offers/{operator_id}",
    "GET /v1/packages/{id}/commission",
    "PUT /v1/packages/{id}/commission",
    "DELETE /v1/packages/{id}/commission",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
    let id = || params.id("id", "package");
    match route {
        "POST /v1/packages" => create(app, &actor, &r).await,
        "GET /v1/packages" => list(app, &actor, &r).await,
        "GET /v1/packages/{id}" => get(app, &actor, id()?).await,
        "PATCH /v1/packages/{id}" => update(app, &actor, &r, id()?).await,
        "DELETE /v1/packages/{id}" => delete(app, &actor, &r, id()?).await,
        "GET /v1/packages/{id}/offers" => offers(app, &actor, id()?).await,
        "PUT /v1/packages/{id}/offers/{operator_id}" => {
            put_offer(app, &actor, &r, id()?, params.id("operator_id", "operator")?).await
        }
        "DELETE /v1/packages/{id}/offers/{operator_id}" => {
            delete_offer(app, &actor, id()?, params.id("operator_id", "operator")?).await
        }
        "GET /v1/packages/{id}/commission" => commission(app, &actor, id()?).await,
        "PUT /v1/packages/{id}/commission" => set_commission(app, &actor, &r, id()?).await,
        _ => delete_commission(app, &actor, id()?).await,
    }
}

/// Create a package. Rates and burst are checked as RouterOS reads them; name and router profile are
/// unique in the ISP.
#[utoipa::path(post, path = "/v1/packages", tag = "packages", request_body = CreatePackage,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Package), (status = 409, body = Problem, description = "duplicate name or router profile"),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreatePackage = r.json()?;
    created_outcome(packages::create_package(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// List packages by name. Operators see the packages offered to them, at their own price.
#[utoipa::path(get, path = "/v1/packages", tag = "packages",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query), ("active" = Option<bool>, Query),
        ("connection_type" = Option<ConnectionType>, Query)),
    responses((status = 200, body = ListResponse<PackageView>), (status = 400, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor", "active", "connection_type"])?;
    let page = r.pagination()?;
    let active = match r.query("active") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(Error::field("active", "must be true or false")),
    };
    let connection_type = match r.query("connection_type") {
        None => None,
        Some(c) => Some(
            ConnectionType::parse(c)
                .ok_or_else(|| Error::field("connection_type", "must be pppoe, hotspot or static"))?,
        ),
    };
    let out = packages::list_packages(
        app,
        actor,
        PackageFilter { active, connection_type },
        page.limit,
        page.cursor.as_deref(),
    )
    .await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/packages/{id}", tag = "packages", params(("id" = Uuid, Path)),
    responses((status = 200, body = PackageView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&packages::get_package(app, actor, id).await?)
}

/// Change a package; send the version you read. A change of what routers apply is announced to
/// provisioning (`PackageUpdated` with `provisioning_changed`).
#[utoipa::path(patch, path = "/v1/packages/{id}", tag = "packages", request_body = UpdatePackage,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Package), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdatePackage = r.json()?;
    ok(&packages::update_package(app, actor, id, input, r.if_match()?).await?)
}

/// Delete a package that no subscription uses (409 `package_in_use` otherwise; deactivate it).
#[utoipa::path(delete, path = "/v1/packages/{id}", tag = "packages",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn delete(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    packages::delete_package(app, actor, id, r.if_match()?).await?;
    no_content()
}

/// Who may sell the package, and at what price.
#[utoipa::path(get, path = "/v1/packages/{id}/offers", tag = "packages", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<PackageOffer>), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn offers(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&packages::list_offers(app, actor, id).await?)
}

/// Offer the package to an operator (the ISP), or to a sub-operator (its operator), at a wholesale
/// price; the holder sets its own selling price, never below the wholesale price.
#[utoipa::path(put, path = "/v1/packages/{id}/offers/{operator_id}", tag = "packages", request_body = PutOffer,
    params(("id" = Uuid, Path), ("operator_id" = Uuid, Path)),
    responses((status = 200, body = PackageOffer), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn put_offer(app: &App, actor: &Actor, r: &Incoming, id: Uuid, operator_id: Uuid) -> Reply {
    let input: PutOffer = r.json()?;
    ok(&packages::put_offer(app, actor, id, operator_id, input).await?)
}

/// Withdraw an offer.
#[utoipa::path(delete, path = "/v1/packages/{id}/offers/{operator_id}", tag = "packages",
    params(("id" = Uuid, Path), ("operator_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn delete_offer(app: &App, actor: &Actor, id: Uuid, operator_id: Uuid) -> Reply {
    packages::delete_offer(app, actor, id, operator_id).await?;
    no_content()
}

/// The package's commission rule: what the customer's operator and sub-operator earn on its
/// payments (a level without a share earns at the earner's own rate).
#[utoipa::path(get, path = "/v1/packages/{id}/commission", tag = "packages", params(("id" = Uuid, Path)),
    responses((status = 200, body = CommissionRule), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn commission(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&commissions::get_rule(app, actor, id).await?)
}

/// Set the package's commission rule: per level a percent (basis points of the package's part of
/// each payment, net of tax) or a fixed amount once its invoice is paid in full. The ISP's only.
#[utoipa::path(put, path = "/v1/packages/{id}/commission", tag = "packages", params(("id" = Uuid, Path)),
    request_body = SetCommissionRule,
    responses((status = 200, body = CommissionRule), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn set_commission(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: SetCommissionRule = r.json()?;
    ok(&commissions::set_rule(app, actor, id, input).await?)
}

/// Remove the package's rule: its earners earn at their own rates.
#[utoipa::path(delete, path = "/v1/packages/{id}/commission", tag = "packages", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete_commission(app: &App, actor: &Actor, id: Uuid) -> Reply {
    commissions::delete_rule(app, actor, id).await?;
    no_content()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create,
    list,
    get,
    update,
    delete,
    offers,
    put_offer,
    delete_offer,
    commission,
    set_commission,
    delete_commission
))]
pub struct Doc;
