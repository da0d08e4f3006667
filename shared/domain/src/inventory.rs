//! Inventory: items the ISP stocks (ONUs, routers, cable), the places stock is kept (warehouses,
//! POPs, vans), stock movements as a ledger (never below zero), and serial-numbered assets that
//! are handed to a customer or a POP and come back.

use crate::Validation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most serials one movement may carry (a movement is one transaction).
pub const MAX_SERIALS_PER_MOVEMENT: usize = 40;
/// Most units one movement may move.
pub const MAX_QUANTITY: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Item {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// Stock keeping unit, unique in the ISP (`ONU-XPON-01`).
    pub sku: String,
    /// Free text the ISP chooses (`onu`, `router`, `cable`...), folded to lower case.
    pub category: String,
    /// What a quantity counts (`pcs`, `m`, `box`).
    pub unit: String,
    /// Each unit has a serial number and is tracked as an asset (moved by its serials).
    pub serial_tracked: bool,
    /// Cost of one unit in minor units of the ISP's currency: what the stock is valued at.
    pub unit_cost: i64,
    pub currency: String,
    /// Below this many in all locations, the item is low on stock.
    pub low_stock_threshold: Option<i64>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    Warehouse,
    Pop,
    Van,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Location {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub kind: LocationKind,
    /// The POP a `pop` location is at.
    pub pop_id: Option<Uuid>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// How much of an item one location holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StockLevel {
    pub item_id: Uuid,
    pub location_id: Uuid,
    pub quantity: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// Into a location (bought, found).
    Receive,
    /// Out of a location: used at an installation (to a customer or a POP) or consumed.
    Issue,
    /// From one location to another.
    Transfer,
    /// A count corrected, with a reason (by quantity; serial-tracked items move by their serials).
    Adjust,
    /// Assets back from a customer or a POP into a location.
    Return,
}

/// Who holds an asset that left the stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Holder {
    Customer(Uuid),
    Pop(Uuid),
}

impl Holder {
    pub fn id(self) -> Uuid {
        match self {
            Holder::Customer(id) | Holder::Pop(id) => id,
        }
    }
}

/// One line of the stock ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Movement {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub item_id: Uuid,
    pub kind: MovementKind,
    /// Where the units left (issue, transfer, a negative adjustment).
    pub from_location_id: Option<Uuid>,
    /// Where they arrived (receive, transfer, return, a positive adjustment).
    pub to_location_id: Option<Uuid>,
    /// Units moved, always positive (an adjustment's sign is its direction).
    pub quantity: i64,
    pub serials: Vec<String>,
    /// The customer or POP an issue went to, or a return came from.
    pub holder: Option<Holder>,
    pub reason: Option<String>,
    pub actor_id: Uuid,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetStatus {
    InStock,
    Assigned,
}

/// One serial-numbered unit of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Asset {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub item_id: Uuid,
    pub serial: String,
    pub status: AssetStatus,
    /// Where it is kept while in stock.
    pub location_id: Option<Uuid>,
    /// Who has it while assigned.
    pub holder: Option<Holder>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// Who the ISP buys stock from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Supplier {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseOrderStatus {
    /// Being written: lines may change.
    Draft,
    /// Sent to the supplier: waiting for the goods.
    Ordered,
    /// The goods came in: the stock was received (once).
    Received,
    Cancelled,
}

impl PurchaseOrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Ordered => "ordered",
            Self::Received => "received",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What a purchase order may do next: `draft -> ordered -> received`, cancelled before it is
/// received.
pub fn po_transition(from: PurchaseOrderStatus, to: PurchaseOrderStatus) -> bool {
    use PurchaseOrderStatus::*;
    matches!((from, to), (Draft, Ordered) | (Ordered, Received) | (Draft | Ordered, Cancelled))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PurchaseOrderLine {
    pub item_id: Uuid,
    /// The item's SKU and name when the line was written.
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    /// Minor units.
    pub unit_cost: i64,
    /// `quantity × unit_cost`.
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PurchaseOrder {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Gapless per ISP: `PO-000042`.
    pub number: String,
    pub supplier_id: Uuid,
    pub supplier_name: String,
    /// Where the goods are received.
    pub location_id: Uuid,
    pub status: PurchaseOrderStatus,
    pub lines: Vec<PurchaseOrderLine>,
    pub total: i64,
    pub currency: String,
    pub note: Option<String>,
    pub ordered_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    /// The ledger lines its receipt wrote, one per line.
    #[serde(default)]
    pub movement_ids: Vec<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// Most lines a purchase order may have (it is received in one transaction).
pub const MAX_PO_LINES: usize = 20;
/// Most serials a purchase order's receipt may carry in all.
pub const MAX_PO_SERIALS: usize = 30;

/// A serial as typed: trimmed, upper case, 1-64 letters, digits, `-`, `_`, `:`, `/`, `.`.
pub fn normalise_serial(v: &mut Validation, field: &str, s: &str) -> String {
    let t = s.trim().to_uppercase();
    let ok = (1..=64).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphanumeric() || "-_:/.".contains(c));
    if !ok {
        v.add(field, "each serial must be 1-64 letters, digits, '-', '_', ':', '/' or '.'");
    }
    t
}

/// A SKU: trimmed, upper case, 1-40 letters, digits, `-`, `_`, `.`.
pub fn normalise_sku(v: &mut Validation, field: &str, s: &str) -> String {
    let t = s.trim().to_uppercase();
    let ok = (1..=40).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !ok {
        v.add(field, "must be 1-40 letters, digits, '-', '_' or '.'");
    }
    t
}

/// What a movement does to stock levels: `(location, change)` pairs, decreases first.
pub fn level_changes(from: Option<Uuid>, to: Option<Uuid>, quantity: i64) -> Vec<(Uuid, i64)> {
    from.map(|f| (f, -quantity)).into_iter().chain(to.map(|t| (t, quantity))).collect()
}

/// A movement as asked for, before it is checked.
pub struct MovementShape<'a> {
    pub kind: MovementKind,
    pub serial_tracked: bool,
    pub from: Option<Uuid>,
    pub to: Option<Uuid>,
    pub quantity: i64,
    pub serials: &'a [String],
    pub holder: Option<Holder>,
    pub reason: Option<&'a str>,
}

/// Checks a movement's shape (which locations, holder, serials and quantity it needs); field
/// errors name the API's fields.
pub fn check_shape(v: &mut Validation, m: &MovementShape<'_>) {
    let MovementShape { kind, serial_tracked, from, to, quantity, serials, holder, reason } = *m;
    let need = |v: &mut Validation, field: &str, present: bool, wanted: bool| {
        if present && !wanted {
            v.add(field, format!("is not part of a {} movement", kind_name(kind)));
        } else if !present && wanted {
            v.add(field, format!("is required for a {} movement", kind_name(kind)));
        }
    };
    match kind {
        MovementKind::Receive => {
            need(v, "from_location_id", from.is_some(), false);
            need(v, "to_location_id", to.is_some(), true);
            need(v, "holder", holder.is_some(), false);
        }
        MovementKind::Issue => {
            need(v, "from_location_id", from.is_some(), true);
            need(v, "to_location_id", to.is_some(), false);
            if serial_tracked && holder.is_none() {
                v.add("holder", "an asset is issued to a customer or a POP");
            }
        }
        MovementKind::Transfer => {
            need(v, "from_location_id", from.is_some(), true);
            need(v, "to_location_id", to.is_some(), true);
            need(v, "holder", holder.is_some(), false);
            if from.is_some() && from == to {
                v.add("to_location_id", "must differ from from_location_id");
            }
        }
        MovementKind::Adjust => {
            if from.is_some() == to.is_some() {
                v.add(
                    "to_location_id",
                    "an adjustment names one location: to_location_id to add, from_location_id to take",
                );
            }
            need(v, "holder", holder.is_some(), false);
            if serial_tracked {
                v.add("kind", "serial-tracked items move by their serials: receive, issue or return them");
            }
            if reason.is_none_or(|r| r.trim().is_empty()) {
                v.add("reason", "is required for an adjustment");
            }
        }
        MovementKind::Return => {
            need(v, "from_location_id", from.is_some(), false);
            need(v, "to_location_id", to.is_some(), true);
            need(v, "holder", holder.is_some(), true);
        }
    }
    if serial_tracked {
        if serials.is_empty() {
            v.add("serials", "a serial-tracked item moves by its serials");
        } else if serials.len() > MAX_SERIALS_PER_MOVEMENT {
            v.add("serials", format!("at most {MAX_SERIALS_PER_MOVEMENT} per movement"));
        } else if i64::try_from(serials.len()).ok() != Some(quantity) {
            v.add("quantity", "must equal the number of serials");
        }
        let mut seen = serials.to_vec();
        seen.sort();
        seen.dedup();
        if seen.len() != serials.len() {
            v.add("serials", "each serial once");
        }
    } else if !serials.is_empty() {
        v.add("serials", "the item is not serial-tracked");
    }
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        v.add("quantity", format!("must be from 1 to {MAX_QUANTITY}"));
    }
}

fn kind_name(k: MovementKind) -> &'static str {
    match k {
        MovementKind::Receive => "receive",
        MovementKind::Issue => "issue",
        MovementKind::Transfer => "transfer",
        MovementKind::Adjust => "adjust",
        MovementKind::Return => "return",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        kind: MovementKind,
        tracked: bool,
        from: bool,
        to: bool,
        q: i64,
        serials: &[&str],
        holder: bool,
    ) -> Vec<String> {
        let mut v = Validation::new();
        let serials: Vec<String> = serials.iter().map(|s| s.to_string()).collect();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        check_shape(
            &mut v,
            &MovementShape {
                kind,
                serial_tracked: tracked,
                from: from.then_some(a),
                to: to.then_some(b),
                quantity: q,
                serials: &serials,
                holder: holder.then_some(Holder::Customer(Uuid::from_u128(3))),
                reason: Some("count"),
            },
        );
        v.finish().err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn movement_shapes() {
        use MovementKind::*;
        assert!(check(Receive, false, false, true, 5, &[], false).is_empty());
        assert_eq!(check(Receive, false, true, true, 5, &[], false), ["from_location_id"]);
        assert!(check(Issue, false, true, false, 2, &[], false).is_empty(), "consumed");
        assert_eq!(check(Issue, true, true, false, 1, &["S1"], false), ["holder"]);
        assert!(check(Transfer, true, true, true, 2, &["S1", "S2"], false).is_empty());
        assert_eq!(check(Transfer, true, true, true, 3, &["S1", "S2"], false), ["quantity"]);
        assert_eq!(check(Transfer, true, true, true, 2, &["S1", "S1"], false), ["serials"]);
        assert_eq!(check(Adjust, true, false, true, 1, &["S1"], false), ["kind"]);
        assert_eq!(check(Adjust, false, true, true, 1, &[], false), ["to_location_id"]);
        assert_eq!(check(Return, false, false, true, 1, &[], false), ["holder"]);
        assert_eq!(check(Receive, false, false, true, 0, &[], false), ["quantity"]);
        assert_eq!(check(Receive, false, false, true, 1, &["X"], false), ["serials"]);
    }

    #[test]
    fn purchase_orders_move_forward_only() {
        use PurchaseOrderStatus::*;
        assert!(po_transition(Draft, Ordered) && po_transition(Ordered, Received));
        assert!(po_transition(Draft, Cancelled) && po_transition(Ordered, Cancelled));
        assert!(!po_transition(Draft, Received), "ordered first");
        assert!(!po_transition(Received, Cancelled) && !po_transition(Received, Received));
        assert!(!po_transition(Cancelled, Ordered));
    }

    #[test]
    fn levels_change_decreases_first() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(level_changes(Some(a), Some(b), 3), [(a, -3), (b, 3)]);
        assert_eq!(level_changes(None, Some(b), 3), [(b, 3)]);
    }

    #[test]
    fn serials_and_skus_are_normalised() {
        let mut v = Validation::new();
        assert_eq!(normalise_serial(&mut v, "s", " zte-1234:ab "), "ZTE-1234:AB");
        assert_eq!(normalise_sku(&mut v, "sku", "onu-xpon"), "ONU-XPON");
        assert!(v.is_empty());
        normalise_serial(&mut v, "s", "has space");
        normalise_sku(&mut v, "sku", "");
        assert_eq!(v.finish().unwrap_err().len(), 2);
    }
}
