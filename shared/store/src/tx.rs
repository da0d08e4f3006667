//! TransactWriteItems with a label on every conditional item, so a cancelled transaction tells which
//! rule it broke (the duplicate field, a stale version, a used idempotency key, a limit).

use crate::keys::{self, ItemKeys, Owner};
use crate::{Item, Store, StoreError, dynamo_err, ttl_at};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};
use domain::audit::AuditEntry;
use domain::event::DomainEvent;
use std::collections::HashMap;

/// Which rule a failed condition stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// A uniqueness sentinel exists: the value of this field is taken.
    Unique(String),
    /// The entity changed since the caller read it (or never had that version).
    Version,
    /// The item to create exists already.
    Exists,
    /// The item to change does not exist.
    Missing,
    /// The idempotency key was used by an earlier request, whose answer is stored.
    Idempotency,
    /// A counted limit would be exceeded (e.g. `isp_limit`).
    Limit(String),
    /// Any other failed condition.
    Condition,
}

impl Conflict {
    /// Which conflict to report when several items failed: a repeated request first, then the
    /// caller's own mistakes in a stable order.
    fn priority(&self) -> u8 {
        match self {
            Conflict::Idempotency => 0,
            Conflict::Version => 1,
            Conflict::Missing => 2,
            Conflict::Limit(_) => 3,
            Conflict::Unique(_) => 4,
            Conflict::Exists => 5,
            Conflict::Condition => 6,
        }
    }
}

/// Outbox items live a day: long enough for the stream to carry them, short enough to stay small.
const OUTBOX_TTL_HOURS: i64 = 24;
/// Stored answers of idempotent requests are kept for a day, as the major payment APIs do.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;
pub const MAX_ITEMS: usize = 100;

#[derive(Debug, Default, Clone)]
pub struct Tx {
    ops: Vec<(TransactWriteItem, Option<Conflict>)>,
    /// Aggregate items to add to, merged per item (a transaction touches an item once).
    counters: std::collections::BTreeMap<(String, String), Counter>,
    /// The write shard of this transaction's aggregates (one per transaction, so a transaction
    /// that moves many invoices adds to few aggregate items).
    shard: Option<u8>,
}

#[derive(Debug, Default, Clone)]
struct Counter {
    item_type: String,
    adds: std::collections::BTreeMap<String, i64>,
    /// Attributes set beside the adds (what the record is: whose, which day, when it expires).
    sets: Item,
}

fn names(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    if pairs.is_empty() { None } else { Some(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()) }
}

impl Tx {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.ops.len() + self.counters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.counters.is_empty()
    }

    /// The shard this transaction's aggregates use: `pick` chooses it on first use.
    pub fn aggregate_shard(&mut self, pick: impl FnOnce() -> u8) -> u8 {
        *self.shard.get_or_insert_with(pick)
    }

    /// Adds to numbers of an aggregate item (a report's day, month or due date), creating it on
    /// first use. Adds to one item in a transaction are merged.
    pub fn add_counters(&mut self, keys: &ItemKeys, item_type: &str, adds: &[(String, i64)]) {
        let c = self.counters.entry((keys.pk.clone(), keys.sk.clone())).or_default();
        c.item_type = item_type.to_string();
        for (name, by) in adds {
            *c.adds.entry(name.clone()).or_default() += by;
        }
    }

    /// [`Tx::add_counters`] on a record that also carries fixed attributes (`sets`, e.g. its
    /// owner, its day, its `ttl`), written on every add. Key attributes in `sets` are ignored.
    pub fn add_counters_setting(&mut self, keys: &ItemKeys, item_type: &str, adds: &[(String, i64)], sets: Item) {
        self.add_counters(keys, item_type, adds);
        let c = self.counters.get_mut(&(keys.pk.clone(), keys.sk.clone())).expect("just added");
        for (k, v) in sets {
            if !matches!(k.as_str(), "pk" | "sk" | "type" | "v") {
                c.sets.insert(k, v);
            }
        }
    }

    /// The operations to send: the staged ones and one update per aggregate item.
    fn into_ops(mut self) -> Vec<(TransactWriteItem, Option<Conflict>)> {
        for ((pk, sk), c) in std::mem::take(&mut self.counters) {
            let adds: Vec<(String, i64)> = c.adds.into_iter().filter(|(_, v)| *v != 0).collect();
            if adds.is_empty() {
                continue;
            }
            let mut names: Vec<(String, String)> = vec![("#t".into(), "type".into())];
            let mut values: Item = HashMap::from([(":t".to_string(), AttributeValue::S(c.item_type))]);
            let mut add_expr = vec![];
            for (i, (name, by)) in adds.into_iter().enumerate() {
                add_expr.push(format!("#a{i} :a{i}"));
                names.push((format!("#a{i}"), name));
                values.insert(format!(":a{i}"), AttributeValue::N(by.to_string()));
            }
            let mut set_expr = vec!["#t = :t".to_string()];
            for (i, (name, value)) in c.sets.into_iter().enumerate() {
                set_expr.push(format!("#s{i} = :s{i}"));
                names.push((format!("#s{i}"), name));
                values.insert(format!(":s{i}"), value);
            }
            let expr = format!("ADD {} SET {}", add_expr.join(", "), set_expr.join(", "));
            let names_ref: Vec<(&str, &str)> = names.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            self.update(&ItemKeys::new(pk, &sk), &expr, None, &names_ref, values, Conflict::Condition);
        }
        self.ops
    }

    fn put_with(&mut self, item: Item, condition: Option<&str>, values: Option<Item>, conflict: Option<Conflict>) {
        let put = Put::builder()
            .table_name("")
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_values(values)
            .build()
            .expect("put has a table and an item");
        self.ops.push((TransactWriteItem::builder().put(put).build(), conflict));
    }

    /// Creates an item that must not exist yet.
    pub fn put_new(&mut self, item: Item, on_conflict: Conflict) {
        self.put_with(item, Some("attribute_not_exists(pk)"), None, Some(on_conflict));
    }

    /// Writes an item whatever is there (outbox, audit, search entries).
    pub fn put(&mut self, item: Item) {
        self.put_with(item, None, None, None);
    }

    /// Replaces an entity only if its stored version is `expected` (optimistic concurrency).
    /// A missing item also fails, as [`Conflict::Version`].
    pub fn put_versioned(&mut self, item: Item, expected: u64) {
        let values = HashMap::from([(":expected".to_string(), AttributeValue::N(expected.to_string()))]);
        self.put_with(item, Some("v = :expected"), Some(values), Some(Conflict::Version));
    }

    /// Writes an entity read at version `read` (0: it was not there, and must still not be), as
    /// [`Conflict::Version`] when it moved meanwhile.
    pub fn put_read_at(&mut self, item: Item, read: u64) {
        if read == 0 {
            self.put_new(item, Conflict::Version);
        } else {
            self.put_versioned(item, read);
        }
    }

    /// Claims a unique value for `field` (phone, e-mail, username, slug...); owned by `owner_id`.
    pub fn put_unique(&mut self, keys: ItemKeys, field: &str, owner_id: &str) {
        let item = HashMap::from([
            ("pk".to_string(), AttributeValue::S(keys.pk)),
            ("sk".to_string(), AttributeValue::S(keys.sk)),
            ("type".to_string(), AttributeValue::S("UNIQUE".into())),
            ("field".to_string(), AttributeValue::S(field.into())),
            ("owner_id".to_string(), AttributeValue::S(owner_id.into())),
        ]);
        self.put_new(item, Conflict::Unique(field.to_string()));
    }

    /// One transactional Delete, with its condition if any.
    fn push_delete(&mut self, keys: &ItemKeys, condition: Option<&str>, values: Item, on_conflict: Option<Conflict>) {
        let del = Delete::builder()
            .table_name("")
            .key("pk", AttributeValue::S(keys.pk.clone()))
            .key("sk", AttributeValue::S(keys.sk.clone()))
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_values(if values.is_empty() { None } else { Some(values) })
            .build()
            .expect("delete has a key");
        self.ops.push((TransactWriteItem::builder().delete(del).build(), on_conflict));
    }

    /// Frees a unique value (it must still belong to `owner_id`).
    pub fn delete_unique(&mut self, keys: ItemKeys, owner_id: &str) {
        let values = HashMap::from([(":o".to_string(), AttributeValue::S(owner_id.into()))]);
        let cond = "attribute_not_exists(pk) OR owner_id = :o";
        self.push_delete(&keys, Some(cond), values, Some(Conflict::Condition));
    }

    /// Claims `value` for `owner_id`, which may hold it for several of its things (counted in
    /// `users`); another owner gets it only once no user is left. Fails as
    /// [`Conflict::Unique`] (`field`) while another owner holds it.
    pub fn claim_shared(&mut self, keys: ItemKeys, field: &str, owner_id: &str) {
        let values = HashMap::from([
            (":o".to_string(), AttributeValue::S(owner_id.into())),
            (":f".to_string(), AttributeValue::S(field.into())),
            (":t".to_string(), AttributeValue::S("CLAIM".into())),
            (":one".to_string(), AttributeValue::N("1".into())),
        ]);
        self.update(
            &keys,
            "SET #type = :t, #field = :f, owner_id = :o ADD #users :one",
            Some("attribute_not_exists(pk) OR owner_id = :o OR #users < :one"),
            &[("#type", "type"), ("#field", "field"), ("#users", "users")],
            values,
            Conflict::Unique(field.to_string()),
        );
    }

    /// Gives back one use of a value claimed with [`Tx::claim_shared`]. A thing stored before its
    /// value was claimed at all (data older than the claim) releases nothing: the item is left
    /// with no user, which frees the value like a released one.
    pub fn release_shared(&mut self, keys: ItemKeys, owner_id: &str) {
        let values = HashMap::from([
            (":o".to_string(), AttributeValue::S(owner_id.into())),
            (":t".to_string(), AttributeValue::S("CLAIM".into())),
            (":one".to_string(), AttributeValue::N("1".into())),
        ]);
        self.update(
            &keys,
            "SET #users = if_not_exists(#users, :one) - :one, owner_id = if_not_exists(owner_id, :o), \
             #type = if_not_exists(#type, :t)",
            Some("attribute_not_exists(pk) OR owner_id = :o"),
            &[("#users", "users"), ("#type", "type")],
            values,
            Conflict::Condition,
        );
    }

    /// Deletes an item unconditionally.
    pub fn delete(&mut self, keys: &ItemKeys) {
        self.push_delete(keys, None, HashMap::new(), None);
    }

    /// Deletes an item only while `condition` holds (e.g. an aggregate still at the value read).
    pub fn delete_if(&mut self, keys: &ItemKeys, condition: &str, values: Item, on_conflict: Conflict) {
        self.push_delete(keys, Some(condition), values, Some(on_conflict));
    }

    /// Deletes an item that must exist (single-use tokens).
    pub fn delete_existing(&mut self, keys: &ItemKeys, on_conflict: Conflict) {
        self.push_delete(keys, Some("attribute_exists(pk)"), HashMap::new(), Some(on_conflict));
    }

    /// A raw UpdateItem (e.g. `ADD isp_count :one` with `isp_count < isp_limit`).
    pub fn update(
        &mut self,
        keys: &ItemKeys,
        update_expression: &str,
        condition: Option<&str>,
        attr_names: &[(&str, &str)],
        values: Item,
        on_conflict: Conflict,
    ) {
        let upd = Update::builder()
            .table_name("")
            .key("pk", AttributeValue::S(keys.pk.clone()))
            .key("sk", AttributeValue::S(keys.sk.clone()))
            .update_expression(update_expression)
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_names(names(attr_names))
            .set_expression_attribute_values(if values.is_empty() { None } else { Some(values) })
            .build()
            .expect("update has a key and an expression");
        self.ops.push((TransactWriteItem::builder().update(upd).build(), Some(on_conflict)));
    }

    /// Moves a per-tenant document sequence from `expected` (0: never used) to `expected + by`
    /// (the numbers this transaction gives out); a sequence that moved meanwhile fails as
    /// [`Conflict::Version`], so the caller reads it again.
    pub fn advance_sequence(&mut self, keys: &ItemKeys, expected: u64, by: u64) {
        let cond = if expected == 0 { "attribute_not_exists(pk)" } else { "n = :expected" };
        let mut values = HashMap::from([
            (":next".to_string(), AttributeValue::N((expected + by).to_string())),
            (":t".to_string(), AttributeValue::S("SEQ".into())),
        ]);
        if expected > 0 {
            values.insert(":expected".into(), AttributeValue::N(expected.to_string()));
        }
        self.update(keys, "SET n = :next, #t = :t", Some(cond), &[("#t", "type")], values, Conflict::Version);
    }

    /// Requires another item to satisfy a condition without changing it.
    pub fn check(&mut self, keys: &ItemKeys, condition: &str, values: Item, on_conflict: Conflict) {
        let chk = ConditionCheck::builder()
            .table_name("")
            .key("pk", AttributeValue::S(keys.pk.clone()))
            .key("sk", AttributeValue::S(keys.sk.clone()))
            .condition_expression(condition)
            .set_expression_attribute_values(if values.is_empty() { None } else { Some(values) })
            .build()
            .expect("check has a key and a condition");
        self.ops.push((TransactWriteItem::builder().condition_check(chk).build(), Some(on_conflict)));
    }

    /// The outbox: the event is committed with the change it announces (DESIGN section 4).
    pub fn put_event(&mut self, event: &DomainEvent) {
        let owner = Owner::from_tenant(event.tenant_id);
        let k = keys::outbox_event(owner, event.id);
        let mut item = HashMap::from([
            ("pk".to_string(), AttributeValue::S(k.pk)),
            ("sk".to_string(), AttributeValue::S(k.sk)),
            ("type".to_string(), AttributeValue::S("EVENT".into())),
            ("event_id".to_string(), AttributeValue::S(event.id.to_string())),
            ("detail_type".to_string(), AttributeValue::S(event.name.clone())),
            ("source".to_string(), AttributeValue::S(event.source.clone())),
            ("detail".to_string(), AttributeValue::S(event.detail.to_string())),
            ("occurred_at".to_string(), AttributeValue::S(event.occurred_at.to_rfc3339())),
            ("ttl".to_string(), ttl_at(event.occurred_at + chrono::Duration::hours(OUTBOX_TTL_HOURS))),
        ]);
        if let Some(t) = event.tenant_id {
            item.insert("tenant_id".into(), AttributeValue::S(t.to_string()));
        }
        self.put(item);
    }

    /// The audit entry of a person's write, committed with the write.
    pub fn put_audit(&mut self, entry: &AuditEntry) {
        let owner = Owner::from_tenant(entry.tenant_id);
        let k = keys::audit(owner, entry.id, &entry.entity_type, &entry.entity_id, entry.acting_as_id);
        let mut item = Store::encode(&k, "AUDIT", entry, None).expect("audit entries always encode");
        // Snapshots are stored as JSON text so their shape never collides with DynamoDB types.
        for f in ["before", "after"] {
            item.remove(f);
        }
        if let Some(b) = &entry.before {
            item.insert("before_json".into(), AttributeValue::S(b.to_string()));
        }
        if let Some(a) = &entry.after {
            item.insert("after_json".into(), AttributeValue::S(a.to_string()));
        }
        self.put(item);
    }

    /// Records the first answer to an idempotent request; fails with [`Conflict::Idempotency`] when
    /// the key was used already, which makes concurrent repeats execute at most once.
    pub fn put_idempotency(&mut self, owner: Owner, key_hash: &str, record: &IdempotencyRecord) {
        let k = keys::idempotency(owner, key_hash);
        let mut item = Store::encode(&k, "IDEM", record, None).expect("idempotency records always encode");
        item.insert("ttl".into(), ttl_at(record.created_at + chrono::Duration::hours(IDEMPOTENCY_TTL_HOURS)));
        self.put_new(item, Conflict::Idempotency);
    }
}

/// The stored first answer to a request made with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdempotencyRecord {
    /// Hash of method, path and body: the same key with another request is refused.
    pub fingerprint: String,
    pub status: u16,
    pub body: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub(crate) async fn commit(store: &Store, tx: Tx) -> crate::Result<()> {
    let ops = tx.into_ops();
    if ops.is_empty() {
        return Ok(());
    }
    if ops.len() > MAX_ITEMS {
        return Err(StoreError::Dynamo(format!("transaction of {} items exceeds {MAX_ITEMS}", ops.len())));
    }
    let table = store.table().to_string();
    let items: Vec<TransactWriteItem> = ops.iter().map(|(op, _)| with_table(op.clone(), &table)).collect();
    let mut attempt = 0u32;
    loop {
        let res = store.client().transact_write_items().set_transact_items(Some(items.clone())).send().await;
        let err = match res {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        let retry = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                let reasons = c.cancellation_reasons();
                let mut failed: Vec<Conflict> = reasons
                    .iter()
                    .zip(ops.iter())
                    .filter(|(r, _)| r.code() == Some("ConditionalCheckFailed"))
                    .map(|(_, (_, label))| label.clone().unwrap_or(Conflict::Condition))
                    .collect();
                if !failed.is_empty() {
                    failed.sort_by_key(Conflict::priority);
                    return Err(StoreError::Conflict(failed.remove(0)));
                }
                let throttled = reasons
                    .iter()
                    .any(|r| matches!(r.code(), Some("ThrottlingError" | "ProvisionedThroughputExceeded")));
                if throttled && attempt >= 3 {
                    return Err(StoreError::Throttled);
                }
                reasons.iter().any(|r| {
                    matches!(
                        r.code(),
                        Some("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded")
                    )
                })
            }
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
            _ => false,
        };
        if !retry || attempt >= 4 {
            return Err(dynamo_err(err));
        }
        attempt += 1;
        tokio::time::sleep(std::time::Duration::from_millis(15 * 2u64.pow(attempt))).await;
    }
}

fn with_table(op: TransactWriteItem, table: &str) -> TransactWriteItem {
    let mut b = TransactWriteItem::builder();
    if let Some(mut p) = op.put {
        p.table_name = table.to_string();
        b = b.put(p);
    }
    if let Some(mut d) = op.delete {
        d.table_name = table.to_string();
        b = b.delete(d);
    }
    if let Some(mut u) = op.update {
        u.table_name = table.to_string();
        b = b.update(u);
    }
    if let Some(mut c) = op.condition_check {
        c.table_name = table.to_string();
        b = b.condition_check(c);
    }
    b.build()
}
