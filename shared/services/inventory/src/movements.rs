//! The stock ledger (`POST /v1/inventory/movements`), serial-numbered assets and the valuation.
//!
//! A movement is one transaction: its ledger line, an `ADD` to each stock level it touches (a
//! decrease conditioned on the level holding enough, so stock is never negative and concurrent
//! movements stay exact without a read-modify-write), and for serial-tracked items each asset's
//! new state (conditioned on the version read). An asset issued to a customer is on the
//! customer's timeline.

use crate::catalog::item_with_stock;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::actor::Actor;
use domain::alert::{Alert, AlertKind, AlertSubject};
use domain::inventory::{
    Asset, AssetStatus, Holder, Item, Location, Movement, MovementKind, MovementShape, StockLevel, check_shape,
    level_changes, normalise_serial,
};
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, record, replay, stored_answer};
use kernel::projections::timeline::{TimelineEntry, TimelineKind};
use kernel::support::{Audited, StoreResultExt, audit, decoded, snapshot, store_err};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use store::{Conflict, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMovement {
    pub kind: MovementKind,
    pub item_id: Uuid,
    /// Units (for a serial-tracked item: the number of serials, which is the default).
    pub quantity: Option<i64>,
    pub from_location_id: Option<Uuid>,
    pub to_location_id: Option<Uuid>,
    /// A serial-tracked item's units, by serial.
    #[serde(default)]
    pub serials: Vec<String>,
    /// The customer or POP an issue goes to or a return comes from:
    /// `{"type": "customer", "id": "..."}`.
    pub holder: Option<Holder>,
    pub reason: Option<String>,
}

const INSUFFICIENT: &str = "insufficient_stock";

fn level_update(tx: &mut Tx, tid: Uuid, item: Uuid, location: Uuid, change: i64) {
    let k = keys::stock_level(tid, item, location);
    let (g1, g2) = (k.gsi1.clone().expect("a level is listed per location"), k.gsi2.clone().expect("and per ISP"));
    let mut values: store::Item = HashMap::from([
        (":d".to_string(), AttributeValue::N(change.to_string())),
        (":t".to_string(), AttributeValue::S("INVSTOCK".into())),
        (":i".to_string(), AttributeValue::S(item.to_string())),
        (":l".to_string(), AttributeValue::S(location.to_string())),
        (":g1p".to_string(), AttributeValue::S(g1.0)),
        (":g1s".to_string(), AttributeValue::S(g1.1)),
        (":g2p".to_string(), AttributeValue::S(g2.0)),
        (":g2s".to_string(), AttributeValue::S(g2.1)),
    ]);
    let expr = "ADD quantity :d SET #t = :t, item_id = :i, location_id = :l, gsi1pk = :g1p, gsi1sk = :g1s, \
                gsi2pk = :g2p, gsi2sk = :g2s";
    let condition = if change < 0 {
        values.insert(":need".into(), AttributeValue::N((-change).to_string()));
        Some("quantity >= :need")
    } else {
        None
    };
    tx.update(&k, expr, condition, &[("#t", "type")], values, Conflict::Limit(INSUFFICIENT.into()));
}

/// A ledger line and the stock levels it changes.
pub(crate) fn stage_movement(tx: &mut Tx, m: &Movement) -> Result<()> {
    let k = keys::stock_movement(m.tenant_id, m.item_id, m.id);
    tx.put_new(Store::encode(&k, "INVMOVE", m, None).or_500()?, Conflict::Exists);
    for (location, change) in level_changes(m.from_location_id, m.to_location_id, m.quantity) {
        level_update(tx, m.tenant_id, m.item_id, location, change);
    }
    Ok(())
}

/// New assets for received serials, in stock at `location` (each serial claimed for the item).
pub(crate) fn stage_new_assets(
    tx: &mut Tx,
    item: &Item,
    location: Uuid,
    serials: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    for s in serials {
        let a = Asset {
            id: ids::new_id(),
            tenant_id: item.tenant_id,
            item_id: item.id,
            serial: s.clone(),
            status: AssetStatus::InStock,
            location_id: Some(location),
            holder: None,
            updated_at: now,
            version: 1,
        };
        tx.put_unique(keys::asset_serial(item.tenant_id, item.id, s), "serials", &a.id.to_string());
        tx.put_new(Store::encode(&asset_keys(&a), "ASSET", &a, Some(1)).or_500()?, Conflict::Exists);
    }
    Ok(())
}

/// What a failed movement commit means to the caller.
pub(crate) fn movement_conflict(c: Conflict) -> Error {
    match c {
        Conflict::Limit(_) => Error::Conflict {
            code: INSUFFICIENT,
            detail: "the location holds fewer units than the movement takes".into(),
            field: Some("quantity".into()),
        },
        Conflict::Version => Error::Conflict {
            code: "asset_moved",
            detail: "an asset moved meanwhile: read it again".into(),
            field: Some("serials".into()),
        },
        Conflict::Unique(_) => Error::Conflict {
            code: "serial_taken",
            detail: "a serial is already an asset of this item".into(),
            field: Some("serials".into()),
        },
        other => store_err(StoreError::Conflict(other)),
    }
}

fn asset_keys(a: &Asset) -> store::ItemKeys {
    keys::asset(a.tenant_id, a.id, a.item_id, a.holder.map(Holder::id))
}

/// Reads the assets of `serials` (their sentinels, then the assets): the serials not found are
/// named in the error.
async fn assets_by_serial(app: &App, tid: Uuid, item: Uuid, serials: &[String]) -> Result<Vec<Asset>> {
    let sentinels: Vec<store::ItemKeys> = serials.iter().map(|s| keys::asset_serial(tid, item, s)).collect();
    let refs: Vec<&store::ItemKeys> = sentinels.iter().collect();
    let owners = app.store.batch_get_many(&refs).await.or_500()?;
    let mut ids = vec![];
    let mut unknown = vec![];
    for (serial, owner) in serials.iter().zip(owners) {
        match owner.and_then(|o| store::string_attr(&o, "owner_id")).and_then(|o| o.parse::<Uuid>().ok()) {
            Some(id) => ids.push(id),
            None => unknown.push(serial.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(Error::field("serials", format!("not assets of this item: {}", unknown.join(", "))));
    }
    let asset_keys: Vec<store::ItemKeys> = ids.iter().map(|id| keys::asset(tid, *id, item, None)).collect();
    let refs: Vec<&store::ItemKeys> = asset_keys.iter().collect();
    let mut out = vec![];
    for got in app.store.batch_get_many(&refs).await.or_500()? {
        out.push(decoded::<Asset>(got)?.ok_or_else(|| Error::Internal("an asset's serial without its asset".into()))?);
    }
    Ok(out)
}

/// Records a movement once (`Idempotency-Key`): 409 `insufficient_stock` when a location holds
/// too little, 409 `asset_moved` when an asset changed meanwhile; nothing is written then.
pub async fn record_movement(
    app: &App,
    actor: &Actor,
    input: CreateMovement,
    idem: &IdempotentRequest,
) -> Result<Outcome<Movement>> {
    actor.require(Permission::InventoryWrite)?;
    let tid = actor.tenant()?;
    let now = app.now();
    // One round trip: the item with its stock, and the locations and holder named.
    let loc_keys: Vec<store::ItemKeys> = [input.from_location_id, input.to_location_id]
        .iter()
        .map(|l| keys::inventory_location(tid, l.unwrap_or_default()))
        .collect();
    let holder_key = match input.holder {
        Some(Holder::Customer(c)) => keys::customer(tid, c, None),
        Some(Holder::Pop(p)) => keys::pop(tid, p, ""),
        None => keys::customer(tid, Uuid::nil(), None),
    };
    let (item, got) = futures::try_join!(item_with_stock(app, tid, input.item_id), async {
        app.store.batch_get(&[&loc_keys[0], &loc_keys[1], &holder_key]).await.or_500()
    })?;
    let mut got = got.into_iter();
    let (from, to): (Option<Location>, Option<Location>) =
        (decoded(got.next().flatten())?, decoded(got.next().flatten())?);
    let holder_item = got.next().flatten();
    let mut v = Validation::new();
    let Some(item) = item.map(|i| i.item) else {
        return Err(Error::field("item_id", "is not an item of this ISP"));
    };
    let serials: Vec<String> = input.serials.iter().map(|s| normalise_serial(&mut v, "serials", s)).collect();
    let quantity = input.quantity.unwrap_or(if item.serial_tracked { serials.len() as i64 } else { 0 });
    let reason = v.optional_text("reason", input.reason.as_deref(), 300);
    check_shape(
        &mut v,
        &MovementShape {
            kind: input.kind,
            serial_tracked: item.serial_tracked,
            from: input.from_location_id,
            to: input.to_location_id,
            quantity,
            serials: &serials,
            holder: input.holder,
            reason: reason.as_deref(),
        },
    );
    if input.from_location_id.is_some() && from.is_none() {
        v.add("from_location_id", "is not a location of this ISP");
    }
    match (&to, input.to_location_id) {
        (None, Some(_)) => v.add("to_location_id", "is not a location of this ISP"),
        (Some(l), _) if !l.active => v.add("to_location_id", "is inactive: it takes no stock in"),
        _ => {}
    }
    if input.holder.is_some() {
        let live = match input.holder {
            Some(Holder::Customer(_)) => {
                decoded::<crm::customers::CustomerRecord>(holder_item)?.is_some_and(|r| r.deleted_at.is_none())
            }
            _ => network::pops::live_pop(holder_item)?.is_some(),
        };
        if !live {
            v.add("holder", "is not a customer or POP of this ISP");
        }
    }
    if !item.active && matches!(input.kind, MovementKind::Receive) {
        v.add("item_id", "is inactive: it is not received any more");
    }
    if let Err(refused) = v.finish() {
        return first_answer_or(app, tid, actor, idem, refused.into()).await;
    }

    // Serial-tracked: the assets as they are, and as they will be.
    let mut tx = Tx::new();
    if item.serial_tracked {
        if input.kind == MovementKind::Receive {
            let to = input.to_location_id.expect("a receipt names its location");
            stage_new_assets(&mut tx, &item, to, &serials, now)?;
        } else {
            let before = assets_by_serial(app, tid, item.id, &serials).await?;
            let mut wrong = vec![];
            for a in before {
                let fits = match input.kind {
                    MovementKind::Issue | MovementKind::Transfer => {
                        a.status == AssetStatus::InStock && a.location_id == input.from_location_id
                    }
                    _ => a.status == AssetStatus::Assigned && a.holder == input.holder,
                };
                if !fits {
                    wrong.push(a.serial.clone());
                    continue;
                }
                let mut after = a.clone();
                match input.kind {
                    MovementKind::Issue => {
                        after.status = AssetStatus::Assigned;
                        after.location_id = None;
                        after.holder = input.holder;
                    }
                    MovementKind::Transfer => after.location_id = input.to_location_id,
                    _ => {
                        after.status = AssetStatus::InStock;
                        after.location_id = input.to_location_id;
                        after.holder = None;
                    }
                }
                after.version += 1;
                after.updated_at = now;
                tx.put_versioned(
                    Store::encode(&asset_keys(&after), "ASSET", &after, Some(after.version)).or_500()?,
                    a.version,
                );
            }
            if !wrong.is_empty() {
                let place = match input.kind {
                    MovementKind::Issue | MovementKind::Transfer => "in stock at from_location_id",
                    _ => "held by the holder",
                };
                let refused = Error::field("serials", format!("not {place}: {}", wrong.join(", ")));
                return first_answer_or(app, tid, actor, idem, refused).await;
            }
        }
    }

    let movement = Movement {
        id: ids::new_id(),
        tenant_id: tid,
        item_id: item.id,
        kind: input.kind,
        from_location_id: input.from_location_id,
        to_location_id: input.to_location_id,
        quantity,
        serials,
        holder: input.holder,
        reason,
        actor_id: actor.real_actor(),
        at: now,
    };
    stage_movement(&mut tx, &movement)?;
    if let Some(Holder::Customer(c)) = movement.holder {
        let what = if movement.serials.is_empty() {
            format!("{} {} {}", quantity, item.unit, item.name)
        } else {
            format!("{} {}", item.name, movement.serials.join(", "))
        };
        let (action, summary) = match movement.kind {
            MovementKind::Return => ("asset.returned", format!("Returned: {what}")),
            _ => ("asset.assigned", format!("Installed: {what}")),
        };
        let mut entry = TimelineEntry::new(c, TimelineKind::Equipment, action, summary, now);
        entry.actor_id = Some(actor.real_actor());
        kernel::projections::timeline::stage(&mut tx, tid, &entry)?;
    }
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "inventory_movement.recorded",
            entity: "inventory_movement",
            id: movement.id.to_string(),
            before: None,
            after: Some(snapshot(&movement)),
        },
        now,
    ));
    tx.put_idempotency(Owner::Tenant(tid), &idem.key_hash(actor.user_id), &record(idem, 201, &movement, app)?);
    match app.store.commit(tx).await {
        Ok(()) => {
            if item.low_stock_threshold.is_some() {
                check_low_stock(app, tid, item.id).await;
            }
            Ok(Outcome::Fresh(movement))
        }
        Err(StoreError::Conflict(Conflict::Idempotency)) => replay(app, Owner::Tenant(tid), actor.user_id, idem).await,
        Err(StoreError::Conflict(c)) => Err(movement_conflict(c)),
        Err(e) => Err(store_err(e)),
    }
}

/// A movement its rules refuse may be a repeat of one already made (the asset has moved, the
/// location closed since): its key's stored answer then, else the refusal.
async fn first_answer_or(
    app: &App,
    tid: Uuid,
    actor: &Actor,
    idem: &IdempotentRequest,
    refused: Error,
) -> Result<Outcome<Movement>> {
    match stored_answer(app, Owner::Tenant(tid), actor.user_id, idem).await? {
        Some(first) => Ok(first),
        None => Err(refused),
    }
}

/// After stock moved: an item below its threshold raises one `low_stock` alert per episode (the
/// alert and the item's marker are created together, so racing movements raise it once), and an
/// item back at its threshold ends the episode (the marker goes). Runs after the movement's
/// commit; a failure here is logged, never the movement's.
pub(crate) async fn check_low_stock(app: &App, tid: Uuid, item: Uuid) {
    if let Err(e) = low_stock_episode(app, tid, item).await {
        tracing::warn!(error = %e, %item, "low-stock check failed");
    }
}

async fn low_stock_episode(app: &App, tid: Uuid, item: Uuid) -> Result<()> {
    let Some(v) = item_with_stock(app, tid, item).await? else { return Ok(()) };
    let marker = keys::low_stock_marker(tid, item);
    match (v.low_stock, v.low_stock_alerted) {
        (true, false) => {
            let now = app.now();
            let threshold = v.item.low_stock_threshold.unwrap_or_default();
            let detail =
                format!("{} ({}): {} {} on hand, below {threshold}", v.item.name, v.item.sku, v.on_hand, v.item.unit);
            let alert = Alert::new(ids::new_id(), tid, AlertKind::LowStock, AlertSubject::default(), Some(detail), now);
            let mut tx = Tx::new();
            let mark: store::Item = HashMap::from([
                ("pk".to_string(), AttributeValue::S(marker.pk.clone())),
                ("sk".to_string(), AttributeValue::S(marker.sk.clone())),
                ("type".to_string(), AttributeValue::S("LOWSTOCK".into())),
                ("alert_id".to_string(), AttributeValue::S(alert.id.to_string())),
            ]);
            tx.put_new(mark, Conflict::Exists);
            kernel::alerts::raise(&mut tx, &alert)?;
            match app.store.commit(tx).await {
                Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
                Err(e) => Err(store_err(e)),
            }
        }
        (false, true) => {
            let mut tx = Tx::new();
            tx.delete(&marker);
            app.store.commit(tx).await.or_500()
        }
        _ => Ok(()),
    }
}

/// An item's ledger, newest first.
pub async fn list_movements(
    app: &App,
    actor: &Actor,
    item: Uuid,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Movement>> {
    actor.require(Permission::InventoryRead)?;
    let tid = actor.tenant()?;
    let q =
        Query::table(keys::inventory_item_pk(tid, item)).prefix(keys::MOVEMENT_SK_PREFIX).newest_first().limit(limit);
    app.store.query_page(Owner::Tenant(tid), &format!("inventory:moves:{item}"), q, cursor).await.or_500()
}

/// Whose assets a listing shows.
#[derive(Debug, Clone, Copy)]
pub enum AssetsOf {
    Item(Uuid),
    Holder(Uuid),
}

pub async fn list_assets(
    app: &App,
    actor: &Actor,
    of: AssetsOf,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Asset>> {
    actor.require(Permission::InventoryRead)?;
    let tid = actor.tenant()?;
    let (q, qid) = match of {
        AssetsOf::Item(i) => (Query::index("gsi1", keys::assets_by_item_gsi1(tid, i)), format!("assets:item:{i}")),
        AssetsOf::Holder(h) => {
            (Query::index("gsi2", keys::assets_by_holder_gsi2(tid, h)), format!("assets:holder:{h}"))
        }
    };
    app.store.query_page(Owner::Tenant(tid), &qid, q.limit(limit), cursor).await.or_500()
}

pub async fn get_asset(app: &App, actor: &Actor, id: Uuid) -> Result<Asset> {
    actor.require(Permission::InventoryRead)?;
    let tid = actor.tenant()?;
    app.store.get(&keys::asset(tid, id, Uuid::nil(), None)).await.or_500()?.ok_or_else(|| Error::not_found("asset"))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ValuedItem {
    pub item_id: Uuid,
    pub sku: String,
    pub name: String,
    pub category: String,
    pub on_hand: i64,
    pub unit_cost: i64,
    /// `on_hand × unit_cost`, minor units.
    pub value: i64,
    pub low_stock: bool,
}

/// What the stock is worth at the items' unit costs, per item and in all.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Valuation {
    pub currency: String,
    pub total_value: i64,
    pub items: Vec<ValuedItem>,
}

/// Two Query walks at once: the ISP's items and every stock level.
pub async fn valuation(app: &App, actor: &Actor) -> Result<Valuation> {
    actor.require(Permission::InventoryRead)?;
    let tid = actor.tenant()?;
    let (items, levels, tenant) = futures::try_join!(
        async {
            app.store
                .query_all::<Item>(Query::index("gsi1", keys::inventory_items_gsi1(tid)).limit(1000), 100_000)
                .await
                .or_500()
        },
        async {
            app.store
                .query_all::<StockLevel>(Query::index("gsi2", keys::stock_levels_gsi2(tid)).limit(1000), 1_000_000)
                .await
                .or_500()
        },
        kernel::support::load_tenant(app, tid),
    )?;
    let mut on_hand: BTreeMap<Uuid, i64> = BTreeMap::new();
    for l in levels {
        *on_hand.entry(l.item_id).or_default() += l.quantity;
    }
    let items: Vec<ValuedItem> = items
        .into_iter()
        .map(|i| {
            let n = on_hand.get(&i.id).copied().unwrap_or(0);
            ValuedItem {
                item_id: i.id,
                value: n.saturating_mul(i.unit_cost),
                low_stock: i.low_stock_threshold.is_some_and(|t| n < t),
                sku: i.sku,
                name: i.name,
                category: i.category,
                on_hand: n,
                unit_cost: i.unit_cost,
            }
        })
        .collect();
    Ok(Valuation { currency: tenant.currency, total_value: items.iter().map(|i| i.value).sum(), items })
}

#[cfg(feature = "csv")]
pub fn valuation_sheet(v: &Valuation, format: domain::export::Format) -> Result<Vec<u8>> {
    let mut out = domain::export::Sheet::new(
        format,
        &["item_id", "sku", "name", "category", "on_hand", "unit_cost", "value", "low_stock"],
    )?;
    for i in &v.items {
        out.row(&[
            i.item_id.to_string(),
            i.sku.clone(),
            i.name.clone(),
            i.category.clone(),
            i.on_hand.to_string(),
            domain::money::plain_decimal(i.unit_cost, &v.currency),
            domain::money::plain_decimal(i.value, &v.currency),
            i.low_stock.to_string(),
        ])?;
    }
    out.finish()
}
