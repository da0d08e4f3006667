//! `api-inventory`: items, stock locations, the stock ledger, serial-numbered assets, suppliers
//! and purchase orders, and the stock valuation (`/v1/inventory/...`).

use domain::Error;
use domain::actor::Actor;
use domain::inventory::{Asset, Location, Movement, PurchaseOrder, PurchaseOrderStatus, Supplier};
use inventory::catalog::{self, CreateItem, CreateLocation, ItemView, LocationView, UpdateItem, UpdateLocation};
use inventory::movements::{self, AssetsOf, CreateMovement, Valuation};
use inventory::procurement::{
    self, CreatePurchaseOrder, CreateSupplier, ReceivePurchaseOrder, UpdatePurchaseOrder, UpdateSupplier,
};
use isp_http::{Incoming, ListResponse, Problem, Reply, created_outcome, finish, ok, ok_outcome, spreadsheet_file};
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
    "POST /v1/inventory/suppliers",
    "GET /v1/inventory/suppliers",
    "GET /v1/inventory/suppliers/{id}",
    "PATCH /v1/inventory/suppliers/{id}",
    "POST /v1/inventory/purchase-orders",
    "GET /v1/inventory/purchase-orders",
    "GET /v1/inventory/purchase-orders/{id}",
    "PATCH /v1/inventory/purchase-orders/{id}",
    "POST /v1/inventory/purchase-orders/{id}/order",
    "POST /v1/inventory/purchase-orders/{id}/cancel",
    "POST /v1/inventory/purchase-orders/{id}/receive",
];

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    finish(dispatch(app, req).await)
}

async fn dispatch(app: &App, req: Request) -> Reply {
    let r = Incoming::from_request(req)?;
    let (route, params) = r.route(ROUTES)?;
    let actor = r.caller(app).await?;
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
        "POST /v1/inventory/suppliers" => create_supplier(app, &actor, &r).await,
        "GET /v1/inventory/suppliers" => list_suppliers(app, &actor, &r).await,
        "GET /v1/inventory/suppliers/{id}" => get_supplier(app, &actor, params.id("id", "supplier")?).await,
        "PATCH /v1/inventory/suppliers/{id}" => update_supplier(app, &actor, &r, params.id("id", "supplier")?).await,
        "POST /v1/inventory/purchase-orders" => create_purchase_order(app, &actor, &r).await,
        "GET /v1/inventory/purchase-orders" => list_purchase_orders(app, &actor, &r).await,
        "GET /v1/inventory/purchase-orders/{id}" => {
            get_purchase_order(app, &actor, params.id("id", "purchase order")?).await
        }
        "PATCH /v1/inventory/purchase-orders/{id}" => {
            update_purchase_order(app, &actor, &r, params.id("id", "purchase order")?).await
        }
        "POST /v1/inventory/purchase-orders/{id}/order" => {
            order_purchase_order(app, &actor, &r, params.id("id", "purchase order")?).await
        }
        "POST /v1/inventory/purchase-orders/{id}/cancel" => {
            cancel_purchase_order(app, &actor, &r, params.id("id", "purchase order")?).await
        }
        "POST /v1/inventory/purchase-orders/{id}/receive" => {
            receive_purchase_order(app, &actor, &r, params.id("id", "purchase order")?).await
        }
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

#[utoipa::path(post, path = "/v1/inventory/suppliers", tag = "inventory", request_body = CreateSupplier,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = Supplier), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_supplier(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreateSupplier = r.json()?;
    created_outcome(procurement::create_supplier(app, actor, input, r.idempotent()?.as_ref()).await?)
}

#[utoipa::path(get, path = "/v1/inventory/suppliers", tag = "inventory",
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<Supplier>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list_suppliers(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["limit", "cursor"])?;
    let page = r.pagination()?;
    let out = procurement::list_suppliers(app, actor, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/inventory/suppliers/{id}", tag = "inventory", params(("id" = Uuid, Path)),
    responses((status = 200, body = Supplier), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_supplier(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&procurement::get_supplier(app, actor, id).await?)
}

/// Change a supplier (`active: false` takes no new orders); send the version you read.
#[utoipa::path(patch, path = "/v1/inventory/suppliers/{id}", tag = "inventory", request_body = UpdateSupplier,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Supplier), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update_supplier(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdateSupplier = r.json()?;
    ok(&procurement::update_supplier(app, actor, id, input, r.if_match()?).await?)
}

/// A draft purchase order (`PO-000042`, gapless per ISP), priced at the lines' or the items' costs.
#[utoipa::path(post, path = "/v1/inventory/purchase-orders", tag = "inventory", request_body = CreatePurchaseOrder,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeats return the first answer")),
    responses((status = 201, body = PurchaseOrder), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_purchase_order(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    let input: CreatePurchaseOrder = r.json()?;
    created_outcome(procurement::create_purchase_order(app, actor, input, r.idempotent()?.as_ref()).await?)
}

/// Purchase orders newest first (`status`: draft, ordered, received, cancelled).
#[utoipa::path(get, path = "/v1/inventory/purchase-orders", tag = "inventory",
    params(("status" = Option<String>, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<PurchaseOrder>), (status = 403, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn list_purchase_orders(app: &App, actor: &Actor, r: &Incoming) -> Reply {
    r.allow_query(&["status", "limit", "cursor"])?;
    let page = r.pagination()?;
    let status = match r.query("status") {
        None => None,
        Some(s) => Some(
            serde_json::from_value::<PurchaseOrderStatus>(serde_json::json!(s))
                .map_err(|_| Error::field("status", "must be draft, ordered, received or cancelled"))?,
        ),
    };
    let out = procurement::list_purchase_orders(app, actor, status, page.limit, page.cursor.as_deref()).await?;
    ok(&ListResponse { items: out.items, next_cursor: out.next_cursor })
}

#[utoipa::path(get, path = "/v1/inventory/purchase-orders/{id}", tag = "inventory", params(("id" = Uuid, Path)),
    responses((status = 200, body = PurchaseOrder), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_purchase_order(app: &App, actor: &Actor, id: Uuid) -> Reply {
    ok(&procurement::get_purchase_order(app, actor, id).await?)
}

/// Change a draft (its location, lines as a whole, note); send the version you read.
#[utoipa::path(patch, path = "/v1/inventory/purchase-orders/{id}", tag = "inventory", request_body = UpdatePurchaseOrder,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = PurchaseOrder), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update_purchase_order(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: UpdatePurchaseOrder = r.json()?;
    ok(&procurement::update_purchase_order(app, actor, id, input, r.if_match()?).await?)
}

/// A draft is sent to the supplier (`ordered`).
#[utoipa::path(post, path = "/v1/inventory/purchase-orders/{id}/order", tag = "inventory",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = PurchaseOrder), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn order_purchase_order(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    ok(&procurement::move_purchase_order(app, actor, id, PurchaseOrderStatus::Ordered, r.if_match()?).await?)
}

/// Cancel an order not yet received.
#[utoipa::path(post, path = "/v1/inventory/purchase-orders/{id}/cancel", tag = "inventory",
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = PurchaseOrder), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn cancel_purchase_order(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    ok(&procurement::move_purchase_order(app, actor, id, PurchaseOrderStatus::Cancelled, r.if_match()?).await?)
}

/// The goods came in: each line into the order's location as a ledger line, serial-tracked
/// lines by their serials (`{"serials": {"<item id>": ["SN1", ...]}}`), once. `Idempotency-Key`
/// is required.
#[utoipa::path(post, path = "/v1/inventory/purchase-orders/{id}/receive", tag = "inventory",
    request_body = ReceivePurchaseOrder,
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "required; repeats return the first answer")),
    responses((status = 200, body = PurchaseOrder), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn receive_purchase_order(app: &App, actor: &Actor, r: &Incoming, id: Uuid) -> Reply {
    let input: ReceivePurchaseOrder = r.json_or_default()?;
    let idem = r.idempotent()?;
    let idem = kernel::idempotency::require_key(idem.as_ref(), "receipt")?;
    ok_outcome(procurement::receive_purchase_order(app, actor, id, input, idem).await?)
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
    valuation,
    create_supplier,
    list_suppliers,
    get_supplier,
    update_supplier,
    create_purchase_order,
    list_purchase_orders,
    get_purchase_order,
    update_purchase_order,
    order_purchase_order,
    cancel_purchase_order,
    receive_purchase_order
))]
pub struct Doc;
