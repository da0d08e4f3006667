//! Items (`/v1/inventory/items`) and stock locations (`/v1/inventory/locations`). An item is read
//! with its stock levels in one Query (they share its partition); a location with its stock by
//! its index.

use domain::actor::Actor;
use domain::inventory::{Item, Location, LocationKind, StockLevel, normalise_sku};
use domain::patch::Patch;
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record};
use kernel::support::{Audited, StoreResultExt, audit, expected_version, load_tenant, snapshot};
use serde::{Deserialize, Serialize};
use store::{Conflict, Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateItem {
    pub name: String,
    /// Unique in the ISP; letters, digits, `-`, `_`, `.` (stored upper case).
    pub sku: String,
    pub category: String,
    /// `pcs` by default.
    pub unit: Option<String>,
    /// Each unit has a serial and is tracked as an asset (default false).
    pub serial_tracked: Option<bool>,
    /// Minor units of the ISP's currency.
    pub unit_cost: i64,
    pub low_stock_threshold: Option<i64>,
    pub active: Option<bool>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateItem {
    pub name: Option<String>,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub unit_cost: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub low_stock_threshold: Patch<i64>,
    pub active: Option<bool>,
    pub version: Option<u64>,
}

/// An item with its stock: per location, in all, and whether it is low.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    #[serde(flatten)]
    pub item: Item,
    pub stock: Vec<StockLevel>,
    pub on_hand: i64,
    pub low_stock: bool,
    /// Its low-stock alert of this episode was raised (the marker is there).
    #[serde(skip)]
    pub low_stock_alerted: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLocation {
    pub name: String,
    pub kind: LocationKind,
    /// The POP a `pop` location is at (required for that kind, refused for the others).
    pub pop_id: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLocation {
    pub name: Option<String>,
    /// An inactive location takes no more stock in.
    pub active: Option<bool>,
    pub version: Option<u64>,
}

/// A location with what it holds.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LocationView {
    #[serde(flatten)]
    pub location: Location,
    pub stock: Vec<StockLevel>,
}

pub(crate) fn item_keys(i: &Item) -> store::ItemKeys {
    keys::inventory_item(i.tenant_id, i.id, &i.sku)
}

fn sku_unique(tid: Uuid, sku: &str) -> store::ItemKeys {
    keys::unique(Owner::Tenant(tid), "inventory_sku", sku)
}

fn check_cost(v: &mut Validation, cost: i64) {
    if !(0..=1_000_000_000_000).contains(&cost) {
        v.add("unit_cost", "must be from 0 to 1000000000000 (minor units)");
    }
}

fn check_threshold(v: &mut Validation, t: Option<i64>) {
    if t.is_some_and(|t| !(0..=domain::inventory::MAX_QUANTITY).contains(&t)) {
        v.add("low_stock_threshold", "must be from 0 to 1000000");
    }
}

pub async fn create_item(
    app: &App,
    actor: &Actor,
    input: CreateItem,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<ItemView>> {
    actor.require(Permission::InventoryWrite)?;
    let tid = actor.tenant()?;
    let now = app.now();
    let tenant = load_tenant(app, tid).await?;
    let mut v = Validation::new();
    let name = v.text("name", &input.name, 120);
    let sku = normalise_sku(&mut v, "sku", &input.sku);
    let category = v.text("category", &input.category.trim().to_lowercase(), 40);
    let unit = v.text("unit", input.unit.as_deref().unwrap_or("pcs"), 16);
    check_cost(&mut v, input.unit_cost);
    check_threshold(&mut v, input.low_stock_threshold);
    v.finish()?;
    let item = Item {
        id: ids::new_id(),
        tenant_id: tid,
        name,
        sku,
        category,
        unit,
        serial_tracked: input.serial_tracked.unwrap_or(false),
        unit_cost: input.unit_cost,
        currency: tenant.currency,
        low_stock_threshold: input.low_stock_threshold,
        active: input.active.unwrap_or(true),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = Tx::new();
    tx.put_new(Store::encode(&item_keys(&item), "INVITEM", &item, Some(1)).or_500()?, Conflict::Exists);
    tx.put_unique(sku_unique(tid, &item.sku), "sku", &item.id.to_string());
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "inventory_item.created",
            entity: "inventory_item",
            id: item.id.to_string(),
            before: None,
            after: Some(snapshot(&item)),
        },
        now,
    ));
    let view = view(item, vec![]);
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &view, app)?);
    }
    commit_create(app, tx, Owner::Tenant(tid), actor.user_id, idem, view).await
}

/// An item and its stock levels (one Query on its partition, the ledger left out).
pub(crate) async fn item_with_stock(app: &App, tid: Uuid, id: Uuid) -> Result<Option<ItemView>> {
    let q = Query::table(keys::inventory_item_pk(tid, id)).prefix(keys::ITEM_SK).limit(1000);
    let items = app.store.query_all_items(q, 10_000).await.or_500()?;
    let (mut item, mut stock, mut alerted) = (None, vec![], false);
    let marker = keys::low_stock_marker(tid, id).sk;
    for i in items {
        match store::string_attr(&i, "sk").as_deref() {
            Some(keys::ITEM_SK) => item = Some(Store::decode::<Item>(i).or_500()?),
            Some(sk) if sk == marker => alerted = true,
            Some(sk) if sk.starts_with(keys::STOCK_SK_PREFIX) => stock.push(Store::decode::<StockLevel>(i).or_500()?),
            _ => {}
        }
    }
    Ok(item.map(|item| ItemView { low_stock_alerted: alerted, ..view(item, stock) }))
}

fn view(item: Item, mut stock: Vec<StockLevel>) -> ItemView {
    stock.retain(|s| s.quantity != 0);
    stock.sort_by_key(|s| s.location_id);
    let on_hand = stock.iter().map(|s| s.quantity).sum();
    let low_stock = item.low_stock_threshold.is_some_and(|t| on_hand < t);
    ItemView { item, stock, on_hand, low_stock, low_stock_alerted: false }
}

pub async fn get_item(app: &App, actor: &Actor, id: Uuid) -> Result<ItemView> {
    actor.require(Permission::InventoryRead)?;
    item_with_stock(app, actor.tenant()?, id).await?.ok_or_else(|| Error::not_found("item"))
}

/// Items by SKU (without their stock; `GET /v1/inventory/items/{id}` and the valuation have it).
pub async fn list_items(app: &App, actor: &Actor, limit: u32, cursor: Option<&str>) -> Result<Page<Item>> {
    actor.require(Permission::InventoryRead)?;
    let tid = actor.tenant()?;
    let q = Query::index("gsi1", keys::inventory_items_gsi1(tid)).limit(limit);
    app.store.query_page(Owner::Tenant(tid), "inventory:items", q, cursor).await.or_500()
}

pub async fn update_item(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdateItem,
    if_match: Option<u64>,
) -> Result<ItemView> {
    actor.require(Permission::InventoryWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let current = item_with_stock(app, tid, id).await?.ok_or_else(|| Error::not_found("item"))?;
    let before = current.item.clone();
    let mut after = before.clone();
    let mut v = Validation::new();
    if let Some(n) = &input.name {
        after.name = v.text("name", n, 120);
    }
    if let Some(c) = &input.category {
        after.category = v.text("category", &c.trim().to_lowercase(), 40);
    }
    if let Some(u) = &input.unit {
        after.unit = v.text("unit", u, 16);
    }
    if let Some(c) = input.unit_cost {
        check_cost(&mut v, c);
        after.unit_cost = c;
    }
    input.low_stock_threshold.clone().apply_to(&mut after.low_stock_threshold);
    check_threshold(&mut v, after.low_stock_threshold);
    if let Some(a) = input.active {
        after.active = a;
    }
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    let now = app.now();
    after.version += 1;
    after.updated_at = now;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode(&item_keys(&after), "INVITEM", &after, Some(after.version)).or_500()?, expected);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "inventory_item.updated",
            entity: "inventory_item",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: Some(snapshot(&after)),
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(ItemView { low_stock_alerted: current.low_stock_alerted, ..view(after, current.stock) })
}

pub async fn create_location(
    app: &App,
    actor: &Actor,
    input: CreateLocation,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Location>> {
    actor.require(Permission::InventoryWrite)?;
    let tid = actor.tenant()?;
    let now = app.now();
    let mut v = Validation::new();
    let name = v.text("name", &input.name, 120);
    match (input.kind, input.pop_id) {
        (LocationKind::Pop, None) => v.add("pop_id", "is required for a location at a POP"),
        (LocationKind::Pop, Some(p)) => {
            let pop = network::pops::live_pop(app.store.get_item(&keys::pop(tid, p, "")).await.or_500()?)?;
            if pop.is_none() {
                v.add("pop_id", "is not a POP of this ISP");
            }
        }
        (_, Some(_)) => v.add("pop_id", "only a `pop` location is at a POP"),
        _ => {}
    }
    v.finish()?;
    let loc = Location {
        id: ids::new_id(),
        tenant_id: tid,
        name,
        kind: input.kind,
        pop_id: input.pop_id,
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = Tx::new();
    tx.put_new(
        Store::encode(&keys::inventory_location(tid, loc.id), "INVLOC", &loc, Some(1)).or_500()?,
        Conflict::Exists,
    );
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "inventory_location.created",
            entity: "inventory_location",
            id: loc.id.to_string(),
            before: None,
            after: Some(snapshot(&loc)),
        },
        now,
    ));
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &loc, app)?);
    }
    commit_create(app, tx, Owner::Tenant(tid), actor.user_id, idem, loc).await
}

pub async fn list_locations(app: &App, actor: &Actor, limit: u32, cursor: Option<&str>) -> Result<Page<Location>> {
    actor.require(Permission::InventoryRead)?;
    let tid = actor.tenant()?;
    let q = Query::index("gsi1", keys::inventory_locations_gsi1(tid)).limit(limit);
    app.store.query_page(Owner::Tenant(tid), "inventory:locations", q, cursor).await.or_500()
}

/// A location and its stock (its index Query beside the GetItem, at once).
pub async fn get_location(app: &App, actor: &Actor, id: Uuid) -> Result<LocationView> {
    actor.require(Permission::InventoryRead)?;
    let tid = actor.tenant()?;
    let q = Query::index("gsi1", keys::stock_by_location_gsi1(tid, id)).limit(1000);
    let (location, stock) = futures::try_join!(
        async { app.store.get::<Location>(&keys::inventory_location(tid, id)).await.or_500() },
        async { app.store.query_all::<StockLevel>(q, 100_000).await.or_500() },
    )?;
    let location = location.ok_or_else(|| Error::not_found("location"))?;
    Ok(LocationView { location, stock: stock.into_iter().filter(|s| s.quantity != 0).collect() })
}

pub async fn update_location(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdateLocation,
    if_match: Option<u64>,
) -> Result<Location> {
    actor.require(Permission::InventoryWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let before: Location = app
        .store
        .get(&keys::inventory_location(tid, id))
        .await
        .or_500()?
        .ok_or_else(|| Error::not_found("location"))?;
    let mut after = before.clone();
    let mut v = Validation::new();
    if let Some(n) = &input.name {
        after.name = v.text("name", n, 120);
    }
    if let Some(a) = input.active {
        after.active = a;
    }
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    let now = app.now();
    after.version += 1;
    after.updated_at = now;
    let mut tx = Tx::new();
    tx.put_versioned(
        Store::encode(&keys::inventory_location(tid, id), "INVLOC", &after, Some(after.version)).or_500()?,
        expected,
    );
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "inventory_location.updated",
            entity: "inventory_location",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: Some(snapshot(&after)),
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}
