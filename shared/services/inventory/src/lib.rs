//! Inventory (the seed's procurement, stock and assets): items and stock locations
//! ([`catalog`]), the stock ledger, serial-numbered assets and the stock valuation ([`movements`]),
//! suppliers and purchase orders ([`procurement`]).

pub mod catalog;
pub mod movements;
pub mod procurement;
