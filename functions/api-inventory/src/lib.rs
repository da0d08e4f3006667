//! `api-inventory`: items, stock locations, the stock ledger, serial-numbered assets and the
//! stock valuation (`/v1/inventory/...`).

use domain::Error;
use domain::actor::Actor;
use domain::inventory::{Asset, Location, Movement};
use inventory::catalog::{self, CreateItem, CreateLocation, ItemView, LocationView, UpdateItem, UpdateLocation};
use inventory::movements::{self, AssetsOf, CreateMovement, Valuation};
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok, spreadsheet_file};
use kernel::App;
use lambda_http::{Body, Request, Response};
use uuid::Uuid;

pub const ROUTES: &[&str] = &[
    "POST /v1/inventory/items",
    "GET /v1/inventory/items",
    "GET /v1/inventory/items/{id}",
    "PATCH /v1/inventory/items/{id}",
    "GET /v1/inventory/items/{id}/movements",
    "POST /v1/inventory/locations",
    "GET /v1/inventory/locations",
    "GET /v1/inventory/locations/{id}",
    "PATCH /v1/inventory/locations/{id}",
    "POST /v1/inventory/movements",
    "GET /v1/inventory/assets",
    "GET /v1/inventory/assets/{id}",
    "GET /v1/inventory/valuation",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.actor(&app.tokens, app.now())?;
    match route {
        "POST /v1/inventory/items" => create_item(app, &actor, &r).await,
        "GET /v1/inventory/items" => list_items(app, &actor, &r).await,
        "GET /v1/inventory/items/{id}" => get_item(app, &actor, params.id("id", "item")?).await,
        "PATCH /v1/inventory/items/{id}" => update_item(app, &actor, &r, params.id("id", "item")?).await,
        "GET /v1/inventory/items/{id}/movements" => list_movements(app, &actor, &r, params.id("id", "item")?).await,
        "POST /v1/inventory/locations" => create_location(app, &actor, &r).await,
        "GET /v1/inventory/locations" => list_locations(app, &actor, &r).await,
        "GET /v1/inventory/locations/{id}" => get_location(app, &actor, params.id("id", "location")?).await,
        "PATCH /v1/inventory/locations/{id}" => update_location(app, &actor, &r, params.id("id", "location")?).await,
        "POST /v1/inventory/movements" => record_movement(app, &actor, &r).await,
        "GET /v1/inventory/assets" => list_assets(app, &actor, &r).await,
        "GET /v1/inventory/assets/{id}" => get_asset(app, &actor, params.id("id", "asset")?).await,
        _ => valuation(app, &actor, &r).await,
    }
}

/// Create an item; its SKU is unique in the ISP.
#[utoipa::path(post, path = "/v1/inventory/items", tag = "inventory", request_body = CreateItem,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = ItemView), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create_item(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateItem = r.json()?;
    created_outcome(catalog::create_item(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// Items by SKU.
#[utoipa::path(get, path = "/v1/inventory/items", tag = "inventory",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<domain::inventory::Item>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_items(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = catalog::list_items(app, actor, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// An item with its stock per location, in all, and whether it is low.
#[utoipa::path(get, path = "/v1/inventory/items/{id}", tag = "inventory", params(("id" = Uuid, Path)),
    responses((status = 200, body = ItemView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_item(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&catalog::get_item(app, actor, id).await?)
}

/// Change an item (not its SKU or whether it is serial-tracked); send the version you read.
#[utoipa::path(patch, path = "/v1/inventory/items/{id}", tag = "inventory", request_body = UpdateItem,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = ItemView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update_item(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdateItem = r.json()?;
    ok(&catalog::update_item(app, actor, id, input, r.if_match()?).await?)
}

/// An item's stock ledger, newest first.
#[utoipa::path(get, path = "/v1/inventory/items/{id}/movements", tag = "inventory",
    params(("id" = Uuid, Path), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Movement>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list_movements(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = movements::list_movements(app, actor, id, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// Create a place stock is kept: a warehouse, a POP (`pop_id`) or a van.
#[utoipa::path(post, path = "/v1/inventory/locations", tag = "inventory", request_body = CreateLocation,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Location), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_location(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateLocation = r.json()?;
    created_outcome(catalog::create_location(app, actor, input, r.idempotent()?.as_ref()).await?)
}

#[utoipa::path(get, path = "/v1/inventory/locations", tag = "inventory",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Location>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list_locations(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = catalog::list_locations(app, actor, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

/// A location and the stock it holds.
#[utoipa::path(get, path = "/v1/inventory/locations/{id}", tag = "inventory", params(("id" = Uuid, Path)),
    responses((status = 200, body = LocationView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_location(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&catalog::get_location(app, actor, id).await?)
}

/// Rename a location or stop stock going in (`active: false`); send the version you read.
#[utoipa::path(patch, path = "/v1/inventory/locations/{id}", tag = "inventory", request_body = UpdateLocation,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Location), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update_location(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdateLocation = r.json()?;
    ok(&catalog::update_location(app, actor, id, input, r.if_match()?).await?)
}

/// Record a stock movement once: receive, issue (to a customer or POP, or consumed), transfer,
/// adjust (with a reason) or return; serial-tracked items move by their serials. 409
/// `insufficient_stock` when a location holds too little (stock is never negative).
/// `Idempotency-Key` is required.
#[utoipa::path(post, path = "/v1/inventory/movements", tag = "inventory", request_body = CreateMovement,
    params(("Idempotency-Key" = String, Header, description = "required; repeats return the first answer")),
    responses((status = 201, body = Movement), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn record_movement(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateMovement = r.json()?;
    let idem = r.idempotent()?;
    let idem = kernel::idempotency::require_key(idem.as_ref(), "stock movement")?;
    created_outcome(movements::record_movement(app, actor, input, idem).await?)
}

/// Assets of an item (`item_id`), or held by a customer (`customer_id`) or a POP (`pop_id`).
#[utoipa::path(get, path = "/v1/inventory/assets", tag = "inventory",
    params(("item_id" = Option<Uuid>, Query), ("customer_id" = Option<Uuid>, Query), ("pop_id" = Option<Uuid>, Query),
        ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Asset>), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_assets(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["item_id", "customer_id", "pop_id", "limit", "cursor"])?;
    let page = r.pagination()?;
    let of = match (r.query_id("item_id")?, r.query_id("customer_id")?, r.query_id("pop_id")?) {
        (Some(i), None, None) => AssetsOf::Item(i),
        (None, Some(h), None) | (None, None, Some(h)) => AssetsOf::Holder(h),
        _ => return Err(Error::field("item_id", "give one of item_id, customer_id or pop_id")),
    };
    let out = movements::list_assets(app, actor, of, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/inventory/assets/{id}", tag = "inventory", params(("id" = Uuid, Path)),
    responses((status = 200, body = Asset), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_asset(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&movements::get_asset(app, actor, id).await?)
}

/// What the stock is worth at the items' unit costs (and which items are low).
#[utoipa::path(get, path = "/v1/inventory/valuation", tag = "inventory",
    params(("format" = Option<String>, Query, description = "json (default), csv or xlsx")),
    responses((status = 200, body = Valuation), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn valuation(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["format"])?;
    let sheet = r.report_format()?;
    let v = movements::valuation(app, actor).await?;
    if let Some(f) = sheet {
        return spreadsheet_file("stock-valuation", f, movements::valuation_sheet(&v, f)?);
    }
    ok(&v)
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_item,
    list_items,
    get_item,
    update_item,
    list_movements,
    create_location,
    list_locations,
    get_location,
    update_location,
    record_movement,
    list_assets,
    get_asset,
    valuation
))]
pub struct Doc;
