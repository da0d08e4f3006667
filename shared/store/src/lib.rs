//! The single DynamoDB table. All reads and writes of the system go through [`Store`]; every key is
//! built in [`keys`]; nothing here decides business rules.

pub mod cursor;
pub mod keys;
pub mod metrics;
pub mod schema;
pub mod stored;
pub mod tx;

pub use cursor::{Cursor, CursorError};
pub use keys::{ItemKeys, Owner};
pub use metrics::{OpStats, RequestCounter};
pub use stored::Stored;
pub use tx::{Conflict, Tx};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use domain::crypto::Signer;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition of a write failed: a duplicate, a stale version, a missing item, a limit.
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    #[error("invalid cursor: {0}")]
    Cursor(#[from] CursorError),
    #[error("throttled by DynamoDB")]
    Throttled,
    #[error("item could not be decoded: {0}")]
    Codec(String),
    #[error("DynamoDB error: {0}")]
    Dynamo(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) fn dynamo_err<E, R>(err: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = err.as_service_error().and_then(|e| e.code()).map(str::to_string);
    match code.as_deref() {
        Some("ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded") => {
            StoreError::Throttled
        }
        _ => StoreError::Dynamo(format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err))),
    }
}

/// Handle on the table. Cheap to clone; build once per process.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
    cursor_signer: Signer,
}

/// Attributes the store itself writes on every item.
pub const RESERVED_ATTRIBUTES: &[&str] = &[
    "pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk", "gsi5pk", "gsi5sk",
    "type", "v", "ttl",
];

/// The AWS configuration every client is built from: region, credentials and endpoint from the
/// environment (`AWS_ENDPOINT_URL` points them at moto locally), over one HTTPS client (rustls with
/// ring), so a function links one TLS stack rather than the SDK's two.
pub async fn aws_config_from_env() -> aws_config::SdkConfig {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https).load().await
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>, cursor_secret: &[u8]) -> Self {
        Self { client, table: table.into(), cursor_signer: Signer::new(cursor_secret, "cursor") }
    }

    /// A DynamoDB client from the environment (`AWS_ENDPOINT_URL` points it at moto locally),
    /// with the request counter attached when one is given.
    pub async fn client_from_env(counter: Option<RequestCounter>) -> Client {
        let shared = aws_config_from_env().await;
        let mut builder = aws_sdk_dynamodb::config::Builder::from(&shared);
        if let Some(c) = counter {
            builder = builder.interceptor(c);
        }
        Client::from_conf(builder.build())
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Encodes an entity with its keys, its type and (for mutable entities) its version `v`.
    pub fn encode<T: Serialize>(keys: &ItemKeys, item_type: &str, entity: &T, version: Option<u64>) -> Result<Item> {
        let mut item: Item = serde_dynamo::to_item(entity).map_err(|e| StoreError::Codec(e.to_string()))?;
        let s = |v: &str| AttributeValue::S(v.to_string());
        item.insert("pk".into(), s(&keys.pk));
        item.insert("sk".into(), s(&keys.sk));
        for (i, g) in [&keys.gsi1, &keys.gsi2, &keys.gsi3, &keys.gsi4, &keys.gsi5].into_iter().enumerate() {
            if let Some((p, k)) = g {
                item.insert(format!("gsi{}pk", i + 1), s(p));
                item.insert(format!("gsi{}sk", i + 1), s(k));
            }
        }
        item.insert("type".into(), s(item_type));
        if let Some(v) = version {
            item.insert("v".into(), AttributeValue::N(v.to_string()));
        }
        Ok(item)
    }

    pub fn decode<T: DeserializeOwned>(item: Item) -> Result<T> {
        serde_dynamo::from_item(item).map_err(|e| StoreError::Codec(e.to_string()))
    }

    fn key_of(pk: &str, sk: &str) -> Item {
        HashMap::from([("pk".into(), AttributeValue::S(pk.into())), ("sk".into(), AttributeValue::S(sk.into()))])
    }

    /// One strongly consistent GetItem.
    pub async fn get_item(&self, keys: &ItemKeys) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key_of(&keys.pk, &keys.sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamo_err)?;
        Ok(out.item)
    }

    pub async fn get<T: DeserializeOwned>(&self, keys: &ItemKeys) -> Result<Option<T>> {
        self.get_item(keys).await?.map(Self::decode).transpose()
    }

    /// One BatchGetItem for up to 100 keys (unprocessed keys are retried); the answer is in the order
    /// of `keys`, None where an item does not exist.
    pub async fn batch_get(&self, keys: &[&ItemKeys]) -> Result<Vec<Option<Item>>> {
        let mut found: HashMap<(String, String), Item> = HashMap::new();
        // DynamoDB refuses a request naming a key twice: each key once, wherever it repeats.
        let mut seen = std::collections::HashSet::new();
        let mut pending: Vec<Item> = keys
            .iter()
            .filter(|k| seen.insert((k.pk.as_str(), k.sk.as_str())))
            .map(|k| Self::key_of(&k.pk, &k.sk))
            .collect();
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let req = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Dynamo(e.to_string()))?;
            let out = self.client.batch_get_item().request_items(&self.table, req).send().await.map_err(dynamo_err)?;
            for item in out.responses.unwrap_or_default().remove(&self.table).unwrap_or_default() {
                let pk = string_attr(&item, "pk").unwrap_or_default();
                let sk = string_attr(&item, "sk").unwrap_or_default();
                found.insert((pk, sk), item);
            }
            if let Some(mut un) = out.unprocessed_keys
                && let Some(k) = un.remove(&self.table)
            {
                pending = k.keys;
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20 * 2u64.pow(attempt.min(6)))).await;
            }
        }
        Ok(keys.iter().map(|k| found.get(&(k.pk.clone(), k.sk.clone())).cloned()).collect())
    }

    /// One unconditional PutItem (a record only its one writer keeps, such as a router's health).
    pub async fn put(&self, item: Item) -> Result<()> {
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(dynamo_err)?;
        Ok(())
    }

    /// One conditional PutItem of an entity read at version `read` (0: it was not there, and must
    /// still not be): a single item's optimistic write at half a transaction's write units. A
    /// version that moved meanwhile is [`Conflict::Version`].
    pub async fn put_read_at(&self, item: Item, read: u64) -> Result<()> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        let req = self.client.put_item().table_name(&self.table).set_item(Some(item));
        let req = if read == 0 {
            req.condition_expression("attribute_not_exists(pk)")
        } else {
            req.condition_expression("v = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(read.to_string()))
        };
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Err(StoreError::Conflict(Conflict::Version)),
                _ => Err(dynamo_err(e)),
            },
        }
    }

    /// [`Store::batch_get`] for any number of keys: one BatchGetItem per 100, run concurrently.
    pub async fn batch_get_many(&self, keys: &[&ItemKeys]) -> Result<Vec<Option<Item>>> {
        let chunks = futures::future::try_join_all(keys.chunks(100).map(|c| self.batch_get(c))).await?;
        Ok(chunks.into_iter().flatten().collect())
    }

    /// Unconditional puts of independent items (records that only their one writer keeps, such
    /// as provisioning outcomes): one BatchWriteItem per 25, unprocessed items retried.
    pub async fn put_many(&self, items: Vec<Item>) -> Result<()> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in items.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|i| {
                    PutRequest::builder()
                        .set_item(Some(i.clone()))
                        .build()
                        .map(|p| WriteRequest::builder().put_request(p).build())
                        .map_err(|e| StoreError::Dynamo(e.to_string()))
                })
                .collect::<Result<_>>()?;
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, std::mem::take(&mut pending))
                    .send()
                    .await
                    .map_err(dynamo_err)?;
                if let Some(mut un) = out.unprocessed_items
                    && let Some(rest) = un.remove(&self.table)
                    && !rest.is_empty()
                {
                    pending = rest;
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20 * 2u64.pow(attempt.min(6)))).await;
                }
            }
        }
        Ok(())
    }

    /// Commits a transaction. A failed condition becomes [`StoreError::Conflict`] naming the first
    /// failed item's label; a clash with a concurrent transaction is retried, since every item
    /// carries its own condition and a retry can never apply twice.
    pub async fn commit(&self, tx: Tx) -> Result<()> {
        tx::commit(self, tx).await
    }

    /// Atomically adds `by` to a counter and returns the new value (per-tenant numbering).
    pub async fn next_counter(&self, owner: Owner, name: &str, by: u64) -> Result<u64> {
        self.add(&keys::counter(owner, name), by, "COUNTER", None).await
    }

    /// Atomically adds `by` to the count `n` of the item at `keys` (created at 0, expiring at `ttl`)
    /// and returns the new count: one UpdateItem.
    pub async fn add_to_count(&self, keys: &ItemKeys, by: u64, ttl: chrono::DateTime<chrono::Utc>) -> Result<u64> {
        self.add(keys, by, "RATE", Some(ttl)).await
    }

    /// `ADD n :by` on an item of `item_type` (with its TTL), answering the new `n`.
    async fn add(
        &self,
        keys: &ItemKeys,
        by: u64,
        item_type: &str,
        ttl: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<u64> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key_of(&keys.pk, &keys.sk)))
            .expression_attribute_names("#n", "n")
            .expression_attribute_names("#t", "type")
            .expression_attribute_values(":by", AttributeValue::N(by.to_string()))
            .expression_attribute_values(":t", AttributeValue::S(item_type.into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew);
        req = match ttl {
            Some(at) => req
                .update_expression("ADD #n :by SET #t = :t, #ttl = :ttl")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":ttl", ttl_at(at)),
            None => req.update_expression("ADD #n :by SET #t = :t"),
        };
        let out = req.send().await.map_err(dynamo_err)?;
        out.attributes
            .and_then(|a| a.get("n").and_then(|n| n.as_n().ok()).and_then(|n| n.parse().ok()))
            .ok_or_else(|| StoreError::Codec("count without value".into()))
    }

    /// A single conditional UpdateItem, for changes that need no transaction (login counters).
    pub fn update(
        &self,
        keys: &ItemKeys,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client.update_item().table_name(&self.table).set_key(Some(Self::key_of(&keys.pk, &keys.sk)))
    }

    pub async fn send_update(
        &self,
        req: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<()> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Err(StoreError::Conflict(Conflict::Condition))
                }
                _ => Err(dynamo_err(e)),
            },
        }
    }

    /// Runs one page of a query and signs the continuation into an opaque cursor bound to `owner` and
    /// `query_id` (a cursor of another tenant or another listing is rejected).
    pub async fn query_page<T: DeserializeOwned>(
        &self,
        owner: Owner,
        query_id: &str,
        q: Query,
        cursor: Option<&str>,
    ) -> Result<Page<T>> {
        let (items, next) = self.query_page_raw(owner, query_id, q, cursor).await?;
        Ok(Page { items: items.into_iter().map(Self::decode).collect::<Result<_>>()?, next_cursor: next })
    }

    pub async fn query_page_raw(
        &self,
        owner: Owner,
        query_id: &str,
        q: Query,
        cursor: Option<&str>,
    ) -> Result<(Vec<Item>, Option<String>)> {
        let start = match cursor {
            Some(c) => Some(Cursor::open(&self.cursor_signer, c, owner, query_id)?.key),
            None => None,
        };
        debug_assert!(q.pk.starts_with(&owner.prefix()), "a query must stay inside its owner's keys");
        let (items, lek) = self.run_query(&q, start).await?;
        let next =
            lek.map(|key| Cursor { owner: owner.prefix(), query: query_id.to_string(), key }.seal(&self.cursor_signer));
        Ok((items, next))
    }

    /// One page across the partitions of a write-sharded index (one query per shard, same sort key
    /// space), merged in sort-key order. The cursor keeps each shard's position; no item is skipped or
    /// repeated, and items come in order across pages (an item is only returned once every shard
    /// that still has unread items has been read past it).
    pub async fn query_merged_page(
        &self,
        owner: Owner,
        query_id: &str,
        queries: Vec<Query>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Item>, Option<String>)> {
        #[derive(Clone)]
        enum Pos {
            Start,
            After(BTreeMap<String, String>),
            Done,
        }
        let mut pos = vec![Pos::Start; queries.len()];
        if let Some(c) = cursor {
            let key = Cursor::open(&self.cursor_signer, c, owner, query_id)?.key;
            for (i, p) in pos.iter_mut().enumerate() {
                let tag = format!("{i}.");
                if key.contains_key(&format!("{i}.done")) {
                    *p = Pos::Done;
                } else {
                    let m: BTreeMap<String, String> = key
                        .iter()
                        .filter_map(|(k, v)| k.strip_prefix(&tag).map(|a| (a.to_string(), v.clone())))
                        .collect();
                    if !m.is_empty() {
                        *p = Pos::After(m);
                    }
                }
            }
        }
        let forward = queries.first().is_none_or(|q| q.forward);
        let mut runs = Vec::new();
        for (q, p) in queries.iter().zip(&pos) {
            debug_assert!(q.pk.starts_with(&owner.prefix()), "a query must stay inside its owner's keys");
            let start = match p {
                Pos::Done => None,
                Pos::Start => Some(None),
                Pos::After(m) => Some(Some(m.clone())),
            };
            runs.push(async move {
                match start {
                    None => Ok((Vec::new(), None)),
                    Some(s) => self.run_query(&q.clone().limit(limit), s).await,
                }
            });
        }
        let results = futures::future::join_all(runs).await;
        let sk_attr = |q: &Query| q.index.map_or("sk".to_string(), |i| format!("{i}sk"));
        let mut merged = Vec::new();
        let mut leks = Vec::new();
        for (i, r) in results.into_iter().enumerate() {
            let (items, lek) = r?;
            let attr = sk_attr(&queries[i]);
            for item in items {
                let sk = string_attr(&item, &attr).unwrap_or_default();
                merged.push((sk, i, item));
            }
            leks.push(lek);
        }
        // Nothing beyond the point a shard with more items stopped reading is safe to return yet.
        let bound = leks
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.as_ref().and_then(|l| l.get(&sk_attr(&queries[i])).cloned()))
            .reduce(|a, b| if (a < b) == forward { a } else { b });
        merged.sort_by(|a, b| if forward { a.0.cmp(&b.0) } else { b.0.cmp(&a.0) });
        let eligible = |sk: &String| bound.as_ref().is_none_or(|b| if forward { sk <= b } else { sk >= b });
        let mut taken: Vec<(usize, Item)> = Vec::new();
        let mut left_over = vec![false; queries.len()];
        for (sk, i, item) in merged {
            if taken.len() < limit as usize && eligible(&sk) {
                taken.push((i, item));
            } else {
                left_over[i] = true;
            }
        }
        let key_attrs = |q: &Query| {
            let mut v = vec!["pk".to_string(), "sk".to_string()];
            if let Some(i) = q.index {
                v.push(format!("{i}pk"));
                v.push(format!("{i}sk"));
            }
            v
        };
        let mut next = BTreeMap::new();
        let mut more = false;
        for (i, q) in queries.iter().enumerate() {
            let last_taken = taken.iter().rev().find(|(s, _)| *s == i).map(|(_, item)| {
                key_attrs(q)
                    .into_iter()
                    .filter_map(|a| string_attr(item, &a).map(|v| (a, v)))
                    .collect::<BTreeMap<_, _>>()
            });
            let p = match (&pos[i], left_over[i], last_taken, leks[i].take()) {
                (Pos::Done, ..) => Pos::Done,
                (_, true, Some(k), _) => Pos::After(k),
                (p, true, None, _) => p.clone(),
                (_, false, _, Some(lek)) => Pos::After(lek),
                (_, false, _, None) => Pos::Done,
            };
            match p {
                Pos::Done => {
                    next.insert(format!("{i}.done"), "1".to_string());
                }
                Pos::After(m) => {
                    more = true;
                    next.extend(m.into_iter().map(|(k, v)| (format!("{i}.{k}"), v)));
                }
                Pos::Start => {
                    more = true;
                }
            }
        }
        let cursor = more.then(|| {
            Cursor { owner: owner.prefix(), query: query_id.to_string(), key: next }.seal(&self.cursor_signer)
        });
        Ok((taken.into_iter().map(|(_, item)| item).collect(), cursor))
    }

    /// Every item of a query, page after page, up to `max` items: for small, bounded collections read
    /// whole (an ISP's packages, routers or POPs, a job's progress items).
    pub async fn query_all<T: DeserializeOwned>(&self, q: Query, max: usize) -> Result<Vec<T>> {
        self.query_all_items(q, max).await?.into_iter().map(Self::decode).collect()
    }

    /// [`Store::query_all`] without decoding (aggregates whose attributes are not a fixed shape).
    pub async fn query_all_items(&self, q: Query, max: usize) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let (items, lek) = self.run_query(&q, start).await?;
            for item in items {
                if out.len() == max {
                    return Ok(out);
                }
                out.push(item);
            }
            match lek {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }

    /// One Query request; returns the items and the continuation key, if any.
    async fn run_query(
        &self,
        q: &Query,
        start: Option<BTreeMap<String, String>>,
    ) -> Result<(Vec<Item>, Option<BTreeMap<String, String>>)> {
        let (pk_attr, sk_attr) = match q.index {
            None => ("pk".to_string(), "sk".to_string()),
            Some(i) => (format!("{i}pk"), format!("{i}sk")),
        };
        let mut cond = "#pk = :pk".to_string();
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", AttributeValue::S(q.pk.clone()))
            .scan_index_forward(q.forward)
            .limit(q.limit as i32)
            .set_exclusive_start_key(start.map(|m| m.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect()));
        if let Some(index) = q.index {
            req = req.index_name(index);
        } else {
            req = req.consistent_read(true);
        }
        match (&q.sk_prefix, &q.sk_range) {
            (Some(prefix), _) => {
                cond.push_str(" AND begins_with(#sk, :skp)");
                req = req
                    .expression_attribute_names("#sk", sk_attr)
                    .expression_attribute_values(":skp", AttributeValue::S(prefix.clone()));
            }
            (None, Some((Some(lo), hi))) => {
                cond.push_str(" AND #sk BETWEEN :sklo AND :skhi");
                req = req
                    .expression_attribute_names("#sk", sk_attr)
                    .expression_attribute_values(":sklo", AttributeValue::S(lo.clone()))
                    .expression_attribute_values(":skhi", AttributeValue::S(hi.clone()));
            }
            (None, Some((None, hi))) => {
                cond.push_str(" AND #sk < :skhi");
                req = req
                    .expression_attribute_names("#sk", sk_attr)
                    .expression_attribute_values(":skhi", AttributeValue::S(hi.clone()));
            }
            (None, None) => {}
        }
        if let Some(f) = &q.filter {
            req = req.filter_expression(f.expression.clone());
            for (k, v) in &f.names {
                req = req.expression_attribute_names(k, v);
            }
            for (k, v) in &f.values {
                req = req.expression_attribute_values(k, v.clone());
            }
        }
        let out = req.key_condition_expression(cond).send().await.map_err(dynamo_err)?;
        let lek = match out.last_evaluated_key {
            Some(lek) if !lek.is_empty() => {
                Some(lek.into_iter().filter_map(|(k, v)| v.as_s().ok().map(|s| (k, s.clone()))).collect())
            }
            _ => None,
        };
        Ok((out.items.unwrap_or_default(), lek))
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A Query on the table (`index: None`) or on `gsi1`/`gsi2`/`gsi3`.
#[derive(Debug, Clone)]
pub struct Query {
    pub index: Option<&'static str>,
    pub pk: String,
    pub sk_prefix: Option<String>,
    /// `sk BETWEEN lo AND hi`, or `sk < hi` without a lower bound.
    pub sk_range: Option<(Option<String>, String)>,
    pub forward: bool,
    pub limit: u32,
    pub filter: Option<Filter>,
}

impl Query {
    pub fn table(pk: String) -> Self {
        Self { index: None, pk, sk_prefix: None, sk_range: None, forward: true, limit: 50, filter: None }
    }
    pub fn index(index: &'static str, pk: String) -> Self {
        Self { index: Some(index), ..Self::table(pk) }
    }
    pub fn newest_first(mut self) -> Self {
        self.forward = false;
        self
    }
    pub fn prefix(mut self, p: impl Into<String>) -> Self {
        self.sk_prefix = Some(p.into());
        self
    }
    /// Sort keys from `lo` (inclusive, when given) up to `hi`: inclusive with a lower bound, exclusive
    /// without one (DynamoDB offers `BETWEEN` or `<`, not both bounds exclusive).
    pub fn range(mut self, lo: Option<String>, hi: impl Into<String>) -> Self {
        self.sk_range = Some((lo, hi.into()));
        self
    }
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = n;
        self
    }
    pub fn filter(mut self, f: Filter) -> Self {
        self.filter = Some(f);
        self
    }
}

/// A filter expression applied after the key condition (for narrow extra criteria like status).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub expression: String,
    pub names: Vec<(String, String)>,
    pub values: Vec<(String, AttributeValue)>,
}

impl Filter {
    /// `attr = value`, combined with AND when called again.
    pub fn eq(mut self, attr: &str, value: &str) -> Self {
        let n = self.names.len();
        if !self.expression.is_empty() {
            self.expression.push_str(" AND ");
        }
        self.expression.push_str(&format!("#f{n} = :f{n}"));
        self.names.push((format!("#f{n}"), attr.to_string()));
        self.values.push((format!(":f{n}"), AttributeValue::S(value.to_string())));
        self
    }

    /// `attr = true|false`.
    pub fn eq_bool(mut self, attr: &str, value: bool) -> Self {
        let n = self.names.len();
        if !self.expression.is_empty() {
            self.expression.push_str(" AND ");
        }
        self.expression.push_str(&format!("#f{n} = :f{n}"));
        self.names.push((format!("#f{n}"), attr.to_string()));
        self.values.push((format!(":f{n}"), AttributeValue::Bool(value)));
        self
    }

    /// `attr IN (values)` (at most 100 values).
    pub fn any_of(mut self, attr: &str, values: &[String]) -> Self {
        let n = self.names.len();
        if !self.expression.is_empty() {
            self.expression.push_str(" AND ");
        }
        let placeholders: Vec<String> = (0..values.len()).map(|i| format!(":f{n}_{i}")).collect();
        if placeholders.is_empty() {
            // Any of nothing: nothing matches (DynamoDB has no empty IN list).
            self.expression.push_str(&format!("(attribute_exists(#f{n}) AND attribute_not_exists(#f{n}))"));
        } else {
            self.expression.push_str(&format!("#f{n} IN ({})", placeholders.join(", ")));
        }
        self.names.push((format!("#f{n}"), attr.to_string()));
        for (p, v) in placeholders.into_iter().zip(values) {
            self.values.push((p, AttributeValue::S(v.clone())));
        }
        self
    }

    /// `lo <= attr < hi` on a text attribute (either end open when None).
    pub fn between(mut self, attr: &str, lo: Option<String>, hi: Option<String>) -> Self {
        let n = self.names.len();
        let mut parts = vec![];
        if let Some(lo) = lo {
            parts.push(format!("#f{n} >= :f{n}"));
            self.values.push((format!(":f{n}"), AttributeValue::S(lo)));
        }
        if let Some(hi) = hi {
            parts.push(format!("#f{n} < :g{n}"));
            self.values.push((format!(":g{n}"), AttributeValue::S(hi)));
        }
        if parts.is_empty() {
            return self;
        }
        if !self.expression.is_empty() {
            self.expression.push_str(" AND ");
        }
        self.expression.push_str(&parts.join(" AND "));
        self.names.push((format!("#f{n}"), attr.to_string()));
        self
    }

    /// `attr = value OR begins_with(attr, value + "/")`: membership of an operator subtree.
    pub fn in_subtree(mut self, attr: &str, scope: &str) -> Self {
        let n = self.names.len();
        if !self.expression.is_empty() {
            self.expression.push_str(" AND ");
        }
        self.expression.push_str(&format!("(#f{n} = :f{n} OR begins_with(#f{n}, :g{n}))"));
        self.names.push((format!("#f{n}"), attr.to_string()));
        self.values.push((format!(":f{n}"), AttributeValue::S(scope.to_string())));
        self.values.push((format!(":g{n}"), AttributeValue::S(format!("{scope}/"))));
        self
    }
}

pub fn string_attr(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

pub fn number_attr(item: &Item, name: &str) -> Option<u64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

/// TTL value (epoch seconds) for an item that should disappear at `at`.
pub fn ttl_at(at: chrono::DateTime<chrono::Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp().to_string())
}
