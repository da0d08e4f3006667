//! Usage counters: how many subscriptions use a package or router, how many routers a POP has.
//! Writers add to them in their own transactions; a delete checks them in its transaction.

use crate::support::attr;
use domain::Error;
use std::collections::HashMap;
use store::keys::UsageOf;
use store::{Conflict, Tx, keys};
use uuid::Uuid;

/// Checks (in the transaction) that nothing uses the entity.
pub fn stage_usage_zero(tx: &mut Tx, tid: Uuid, kind: UsageOf, id: Uuid, what: &str) {
    tx.check(
        &keys::usage(tid, kind, id),
        "attribute_not_exists(pk) OR n = :zero",
        HashMap::from([(":zero".to_string(), attr(&0u64))]),
        Conflict::Limit(what.into()),
    );
}

/// Adds `by` (may be negative) to an entity's usage counter, in the transaction.
pub fn stage_usage(tx: &mut Tx, tid: Uuid, kind: UsageOf, id: Uuid, by: i64) {
    tx.update(
        &keys::usage(tid, kind, id),
        "ADD n :by SET #t = :t",
        None,
        &[("#t", "type")],
        HashMap::from([(":by".to_string(), attr(&by)), (":t".to_string(), attr(&"USAGE"))]),
        Conflict::Condition,
    );
}

/// Maps the usage check of a delete to 409 `<what>_in_use`.
pub fn in_use_conflict(what: &'static str) -> impl Fn(store::StoreError) -> Error {
    move |e| match e {
        store::StoreError::Conflict(Conflict::Limit(_)) => Error::Conflict {
            code: match what {
                "package" => "package_in_use",
                "router" => "router_in_use",
                _ => "pop_in_use",
            },
            detail: match what {
                "package" => "subscriptions use this package; deactivate it instead".into(),
                "router" => "subscriptions are on this router; move them first".into(),
                _ => "routers belong to this POP; move them first".into(),
            },
            field: None,
        },
        other => crate::support::store_err(other),
    }
}
