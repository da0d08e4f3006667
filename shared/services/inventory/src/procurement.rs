//! Suppliers (`/v1/inventory/suppliers`) and purchase orders (`/v1/inventory/purchase-orders`):
//! `draft -> ordered -> received`, or cancelled before. Receiving puts the goods in stock once: the
//! order's status, a ledger line per line, the stock levels and the serials' assets in one
//! transaction, so a repeated or concurrent receipt receives nothing more.

use crate::movements::{movement_conflict, stage_movement, stage_new_assets};
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::inventory::{
    Item, Location, MAX_PO_LINES, MAX_PO_SERIALS, Movement, MovementKind, PurchaseOrder, PurchaseOrderLine,
    PurchaseOrderStatus, Supplier, normalise_serial, po_transition,
};
use domain::patch::Patch;
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record, replay, stored_answer};
use kernel::support::{Audited, StoreResultExt, audit, decoded, expected_version, snapshot, store_err, tenant_of};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use store::{Conflict, Filter, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSupplier {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSupplier {
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub address: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
    pub active: Option<bool>,
    pub version: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub item_id: Uuid,
    pub quantity: i64,
    /// Minor units (default: the item's unit cost).
    pub unit_cost: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePurchaseOrder {
    pub supplier_id: Uuid,
    /// Where the goods will be received.
    pub location_id: Uuid,
    pub lines: Vec<LineInput>,
    pub note: Option<String>,
}

/// A draft's changes (lines as a whole).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePurchaseOrder {
    pub location_id: Option<Uuid>,
    pub lines: Option<Vec<LineInput>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub note: Patch<String>,
    pub version: Option<u64>,
}

/// The serials of the serial-tracked lines, by item.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceivePurchaseOrder {
    #[serde(default)]
    pub serials: BTreeMap<Uuid, Vec<String>>,
    pub version: Option<u64>,
}

const SEQUENCE: &str = "purchase_order";

fn po_keys(p: &PurchaseOrder) -> store::ItemKeys {
    keys::purchase_order(p.tenant_id, p.id, p.supplier_id)
}

fn supplier_fields(
    v: &mut Validation,
    phone: Option<&str>,
    email: Option<&str>,
    address: Option<&str>,
    notes: Option<&str>,
) -> [Option<String>; 4] {
    [
        v.optional_text("phone", phone, 40),
        email.map(str::trim).filter(|e| !e.is_empty()).map(|e| v.email("email", e)),
        v.optional_text("address", address, 300),
        v.optional_text("notes", notes, 2000),
    ]
}

pub async fn create_supplier(
    app: &App,
    actor: &Actor,
    input: CreateSupplier,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Supplier>> {
    actor.require(Permission::InventoryWrite)?;
    let tid = actor.tenant()?;
    let now = app.now();
    let mut v = Validation::new();
    let name = v.text("name", &input.name, 120);
    let [phone, email, address, notes] = supplier_fields(
        &mut v,
        input.phone.as_deref(),
        input.email.as_deref(),
        input.address.as_deref(),
        input.notes.as_deref(),
    );
    v.finish()?;
    let s = Supplier {
        id: ids::new_id(),
        tenant_id: tid,
        name,
        phone,
        email,
        address,
        notes,
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = Tx::new();
    tx.put_new(Store::encode(&keys::supplier(tid, s.id), "SUPPLIER", &s, Some(1)).or_500()?, Conflict::Exists);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "supplier.created",
            entity: "supplier",
            id: s.id.to_string(),
            before: None,
            after: Some(snapshot(&s)),
        },
        now,
    ));
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &s, app)?);
    }
    commit_create(app, tx, Owner::Tenant(tid), actor.user_id, idem, s).await
}

pub async fn list_suppliers(app: &App, actor: &Actor, limit: u32, cursor: Option<&str>) -> Result<Page<Supplier>> {
    actor.require(Permission::InventoryRead)?;
    let tid = actor.tenant()?;
    let q = Query::index("gsi1", keys::suppliers_gsi1(tid)).limit(limit);
    app.store.query_page(Owner::Tenant(tid), "inventory:suppliers", q, cursor).await.or_500()
}

pub async fn get_supplier(app: &App, actor: &Actor, id: Uuid) -> Result<Supplier> {
    actor.require(Permission::InventoryRead)?;
    let tid = actor.tenant()?;
    app.store.get(&keys::supplier(tid, id)).await.or_500()?.ok_or_else(|| Error::not_found("supplier"))
}

pub async fn update_supplier(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdateSupplier,
    if_match: Option<u64>,
) -> Result<Supplier> {
    actor.require(Permission::InventoryWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let before = get_supplier(app, actor, id).await?;
    let mut after = before.clone();
    let mut v = Validation::new();
    if let Some(n) = &input.name {
        after.name = v.text("name", n, 120);
    }
    let pick = |p: &Patch<String>, old: &Option<String>| -> Option<String> {
        match p.as_update() {
            None => old.clone(),
            Some(x) => x.cloned(),
        }
    };
    let [phone, email, address, notes] = supplier_fields(
        &mut v,
        pick(&input.phone, &before.phone).as_deref(),
        pick(&input.email, &before.email).as_deref(),
        pick(&input.address, &before.address).as_deref(),
        pick(&input.notes, &before.notes).as_deref(),
    );
    (after.phone, after.email, after.address, after.notes) = (phone, email, address, notes);
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
        Store::encode(&keys::supplier(tid, id), "SUPPLIER", &after, Some(after.version)).or_500()?,
        expected,
    );
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "supplier.updated",
            entity: "supplier",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: Some(snapshot(&after)),
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}

/// Checks lines against the items read (by id) and prices them.
fn priced_lines(v: &mut Validation, input: &[LineInput], items: &HashMap<Uuid, Item>) -> Vec<PurchaseOrderLine> {
    if input.is_empty() || input.len() > MAX_PO_LINES {
        v.add("lines", format!("1 to {MAX_PO_LINES} lines"));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = vec![];
    for (i, l) in input.iter().enumerate() {
        let field = format!("lines[{i}]");
        if !seen.insert(l.item_id) {
            v.add(&field, "each item once");
        }
        let Some(item) = items.get(&l.item_id).filter(|i| i.active) else {
            v.add(&format!("{field}.item_id"), "is not an active item of this ISP");
            continue;
        };
        if !(1..=domain::inventory::MAX_QUANTITY).contains(&l.quantity) {
            v.add(&format!("{field}.quantity"), "must be from 1 to 1000000");
        }
        let unit_cost = l.unit_cost.unwrap_or(item.unit_cost);
        if !(0..=1_000_000_000_000).contains(&unit_cost) {
            v.add(&format!("{field}.unit_cost"), "must be from 0 to 1000000000000 (minor units)");
        }
        out.push(PurchaseOrderLine {
            item_id: item.id,
            sku: item.sku.clone(),
            name: item.name.clone(),
            quantity: l.quantity,
            unit_cost,
            amount: l.quantity.saturating_mul(unit_cost),
        });
    }
    out
}

/// The items of `lines`, by id.
async fn items_of(app: &App, tid: Uuid, lines: &[LineInput]) -> Result<HashMap<Uuid, Item>> {
    let ks: Vec<store::ItemKeys> = lines.iter().map(|l| keys::inventory_item(tid, l.item_id, "")).collect();
    let refs: Vec<&store::ItemKeys> = ks.iter().collect();
    let mut out = HashMap::new();
    for got in app.store.batch_get_many(&refs).await.or_500()? {
        if let Some(i) = decoded::<Item>(got)? {
            out.insert(i.id, i);
        }
    }
    Ok(out)
}

fn active_location(v: &mut Validation, loc: Option<Location>) {
    match loc {
        None => v.add("location_id", "is not a location of this ISP"),
        Some(l) if !l.active => v.add("location_id", "is inactive: it takes no stock in"),
        _ => {}
    }
}

/// A draft, numbered from the ISP's gapless sequence (advanced in the order's own transaction;
/// a number taken meanwhile is read again).
pub async fn create_purchase_order(
    app: &App,
    actor: &Actor,
    input: CreatePurchaseOrder,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<PurchaseOrder>> {
    actor.require(Permission::InventoryWrite)?;
    let tid = actor.tenant()?;
    let items = items_of(app, tid, &input.lines).await?;
    for _ in 0..6 {
        let ks = [
            keys::tenant(tid, None),
            keys::sequence(tid, SEQUENCE),
            keys::supplier(tid, input.supplier_id),
            keys::inventory_location(tid, input.location_id),
        ];
        let mut got = app.store.batch_get(&ks.iter().collect::<Vec<_>>()).await.or_500()?.into_iter();
        let tenant = tenant_of(got.next().flatten())?;
        let read = got.next().flatten().and_then(|i| store::number_attr(&i, "n")).unwrap_or(0);
        let supplier: Option<Supplier> = decoded(got.next().flatten())?;
        let location: Option<Location> = decoded(got.next().flatten())?;
        let mut v = Validation::new();
        if !supplier.as_ref().is_some_and(|s| s.active) {
            v.add("supplier_id", "is not an active supplier of this ISP");
        }
        active_location(&mut v, location);
        let lines = priced_lines(&mut v, &input.lines, &items);
        let note = v.optional_text("note", input.note.as_deref(), 2000);
        v.finish()?;
        let now = app.now();
        let po = PurchaseOrder {
            id: ids::new_id(),
            tenant_id: tid,
            number: format!("PO-{:06}", read + 1),
            supplier_id: input.supplier_id,
            supplier_name: supplier.map(|s| s.name).unwrap_or_default(),
            location_id: input.location_id,
            status: PurchaseOrderStatus::Draft,
            total: lines.iter().map(|l| l.amount).sum(),
            lines,
            currency: tenant.currency,
            note,
            ordered_at: None,
            received_at: None,
            movement_ids: vec![],
            created_by: actor.real_actor(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let mut tx = Tx::new();
        tx.advance_sequence(&keys::sequence(tid, SEQUENCE), read, 1);
        tx.put_new(Store::encode(&po_keys(&po), "PO", &po, Some(1)).or_500()?, Conflict::Exists);
        tx.put_audit(&audit(
            actor,
            Some(tid),
            Audited {
                action: "purchase_order.created",
                entity: "purchase_order",
                id: po.id.to_string(),
                before: None,
                after: Some(snapshot(&po)),
            },
            now,
        ));
        if let Some(req) = idem {
            tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &po, app)?);
        }
        match app.store.commit(tx).await {
            Ok(()) => return Ok(Outcome::Fresh(po)),
            Err(StoreError::Conflict(Conflict::Idempotency)) if idem.is_some() => {
                return replay(app, Owner::Tenant(tid), actor.user_id, idem.expect("checked")).await;
            }
            Err(StoreError::Conflict(Conflict::Version)) => continue,
            Err(e) => return Err(store_err(e)),
        }
    }
    Err(Error::Internal("the purchase order sequence stayed busy".into()))
}

/// Purchase orders newest first, by status if asked.
pub async fn list_purchase_orders(
    app: &App,
    actor: &Actor,
    status: Option<PurchaseOrderStatus>,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<PurchaseOrder>> {
    actor.require(Permission::InventoryRead)?;
    let tid = actor.tenant()?;
    let mut q = Query::index("gsi1", keys::purchase_orders_gsi1(tid)).newest_first().limit(limit);
    if let Some(s) = status {
        q = q.filter(Filter::default().eq("status", s.as_str()));
    }
    let qid = format!("inventory:pos:{}", status.map_or("", |s| s.as_str()));
    app.store.query_page(Owner::Tenant(tid), &qid, q, cursor).await.or_500()
}

pub async fn get_purchase_order(app: &App, actor: &Actor, id: Uuid) -> Result<PurchaseOrder> {
    actor.require(Permission::InventoryRead)?;
    let tid = actor.tenant()?;
    app.store
        .get(&keys::purchase_order(tid, id, Uuid::nil()))
        .await
        .or_500()?
        .ok_or_else(|| Error::not_found("purchase order"))
}

fn stage_po(
    tx: &mut Tx,
    actor: &Actor,
    before: &PurchaseOrder,
    after: &PurchaseOrder,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.put_versioned(Store::encode(&po_keys(after), "PO", after, Some(after.version)).or_500()?, before.version);
    tx.put_audit(&audit(
        actor,
        Some(after.tenant_id),
        Audited {
            action: "purchase_order.updated",
            entity: "purchase_order",
            id: after.id.to_string(),
            before: Some(snapshot(before)),
            after: Some(snapshot(after)),
        },
        now,
    ));
    Ok(())
}

fn wrong_status(po: &PurchaseOrder, to: PurchaseOrderStatus) -> Error {
    Error::Conflict {
        code: "invalid_transition",
        detail: format!("a {} purchase order cannot become {}", po.status.as_str(), to.as_str()),
        field: None,
    }
}

/// Changes a draft.
pub async fn update_purchase_order(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdatePurchaseOrder,
    if_match: Option<u64>,
) -> Result<PurchaseOrder> {
    actor.require(Permission::InventoryWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let before = get_purchase_order(app, actor, id).await?;
    if before.status != PurchaseOrderStatus::Draft {
        return Err(Error::Conflict {
            code: "not_a_draft",
            detail: "only a draft purchase order changes".into(),
            field: None,
        });
    }
    let mut after = before.clone();
    let mut v = Validation::new();
    if let Some(l) = input.location_id {
        let loc: Option<Location> = app.store.get(&keys::inventory_location(tid, l)).await.or_500()?;
        active_location(&mut v, loc);
        after.location_id = l;
    }
    if let Some(lines) = &input.lines {
        let items = items_of(app, tid, lines).await?;
        after.lines = priced_lines(&mut v, lines, &items);
        after.total = after.lines.iter().map(|l| l.amount).sum();
    }
    if let Some(n) = input.note.as_update() {
        after.note = v.optional_text("note", n.map(String::as_str), 2000);
    }
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    let now = app.now();
    after.version += 1;
    after.updated_at = now;
    let mut tx = Tx::new();
    stage_po(&mut tx, actor, &before, &after, now)?;
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}

/// Sends a draft to the supplier, or cancels an order not yet received.
pub async fn move_purchase_order(
    app: &App,
    actor: &Actor,
    id: Uuid,
    to: PurchaseOrderStatus,
    if_match: Option<u64>,
) -> Result<PurchaseOrder> {
    actor.require(Permission::InventoryWrite)?;
    let before = get_purchase_order(app, actor, id).await?;
    if to == PurchaseOrderStatus::Received || !po_transition(before.status, to) {
        return Err(wrong_status(&before, to));
    }
    if if_match.is_some_and(|v| v != before.version) {
        return Err(Error::version_conflict());
    }
    let now = app.now();
    let mut after = before.clone();
    after.status = to;
    if to == PurchaseOrderStatus::Ordered {
        after.ordered_at = Some(now);
    }
    after.version += 1;
    after.updated_at = now;
    let mut tx = Tx::new();
    stage_po(&mut tx, actor, &before, &after, now)?;
    match app.store.commit(tx).await {
        Ok(()) => Ok(after),
        Err(StoreError::Conflict(Conflict::Version)) => Err(Error::version_conflict()),
        Err(e) => Err(store_err(e)),
    }
}

/// Receives an ordered purchase order into its location, once (`Idempotency-Key`; a second
/// receipt is 409 `invalid_transition`).
pub async fn receive_purchase_order(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: ReceivePurchaseOrder,
    idem: &IdempotentRequest,
) -> Result<Outcome<PurchaseOrder>> {
    actor.require(Permission::InventoryWrite)?;
    let tid = actor.tenant()?;
    let before = get_purchase_order(app, actor, id).await?;
    if input.version.is_some_and(|v| v != before.version) {
        return Err(Error::version_conflict());
    }
    let lines: Vec<LineInput> = before
        .lines
        .iter()
        .map(|l| LineInput { item_id: l.item_id, quantity: l.quantity, unit_cost: Some(l.unit_cost) })
        .collect();
    let (items, location) = futures::try_join!(items_of(app, tid, &lines), async {
        app.store.get::<Location>(&keys::inventory_location(tid, before.location_id)).await.or_500()
    })?;
    let mut v = Validation::new();
    let mut serials: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for (item_id, given) in &input.serials {
        let field = format!("serials.{item_id}");
        if !before.lines.iter().any(|l| l.item_id == *item_id) {
            v.add(&field, "is not an item of this purchase order");
        }
        serials.insert(*item_id, given.iter().map(|s| normalise_serial(&mut v, &field, s)).collect());
    }
    for l in &before.lines {
        let Some(item) = items.get(&l.item_id) else {
            v.add("lines", format!("{} is no longer an item of this ISP", l.sku));
            continue;
        };
        let field = format!("serials.{}", l.item_id);
        match (item.serial_tracked, serials.get(&l.item_id)) {
            (true, Some(s)) if s.len() as i64 == l.quantity => {
                let mut d = s.clone();
                d.sort();
                d.dedup();
                if d.len() != s.len() {
                    v.add(&field, "each serial once");
                }
            }
            (true, _) => v.add(&field, format!("{} serials are expected for {}", l.quantity, l.sku)),
            (false, Some(_)) => v.add(&field, format!("{} is not serial-tracked", l.sku)),
            (false, None) => {}
        }
    }
    if serials.values().map(Vec::len).sum::<usize>() > MAX_PO_SERIALS {
        v.add("serials", format!("at most {MAX_PO_SERIALS} serials per receipt: split the order"));
    }
    if location.is_none() {
        v.add("location_id", "the order's location is gone");
    }
    v.finish()?;
    if before.status != PurchaseOrderStatus::Ordered {
        // The same receipt again (its key): the first answer.
        if let Some(first) = stored_answer(app, Owner::Tenant(tid), actor.user_id, idem).await? {
            return Ok(first);
        }
        return Err(wrong_status(&before, PurchaseOrderStatus::Received));
    }
    let now = app.now();
    let mut after = before.clone();
    let mut tx = Tx::new();
    for l in &before.lines {
        let item = &items[&l.item_id];
        let these = serials.get(&l.item_id).cloned().unwrap_or_default();
        stage_new_assets(&mut tx, item, before.location_id, &these, now)?;
        let m = Movement {
            id: ids::new_id(),
            tenant_id: tid,
            item_id: l.item_id,
            kind: MovementKind::Receive,
            from_location_id: None,
            to_location_id: Some(before.location_id),
            quantity: l.quantity,
            serials: these,
            holder: None,
            reason: Some(format!("{} from {}", before.number, before.supplier_name)),
            actor_id: actor.real_actor(),
            at: now,
        };
        stage_movement(&mut tx, &m)?;
        after.movement_ids.push(m.id);
    }
    after.status = PurchaseOrderStatus::Received;
    after.received_at = Some(now);
    after.version += 1;
    after.updated_at = now;
    stage_po(&mut tx, actor, &before, &after, now)?;
    tx.put_idempotency(Owner::Tenant(tid), &idem.key_hash(actor.user_id), &record(idem, 200, &after, app)?);
    match app.store.commit(tx).await {
        Ok(()) => {
            for l in after.lines.iter().filter(|l| items[&l.item_id].low_stock_threshold.is_some()) {
                crate::movements::check_low_stock(app, tid, l.item_id).await;
            }
            Ok(Outcome::Fresh(after))
        }
        Err(StoreError::Conflict(Conflict::Idempotency)) => replay(app, Owner::Tenant(tid), actor.user_id, idem).await,
        Err(StoreError::Conflict(Conflict::Version)) => Err(wrong_status(&before, PurchaseOrderStatus::Received)),
        Err(StoreError::Conflict(c)) => Err(movement_conflict(c)),
        Err(e) => Err(store_err(e)),
    }
}
