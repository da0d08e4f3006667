//! Counts DynamoDB requests per operation through an SDK interceptor, with the capacity units they
//! consume estimated from the real inputs and outputs by DynamoDB's rules (item size = attribute
//! names + values; writes 1 WCU per KB, transactional writes 2; strongly consistent reads 1 RCU per
//! 4 KB, a Query rounded up over the whole page, transactional reads 2). moto does not meter
//! capacity, so this is what benchmarks and tests report.

use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
    batch_write_item::BatchWriteItemInput,
    delete_item::DeleteItemInput,
    get_item::GetItemOutput,
    put_item::PutItemInput,
    query::QueryOutput,
    transact_write_items::TransactWriteItemsInput,
    update_item::UpdateItemInput,
};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// What one operation name consumed since the last reset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpStats {
    pub requests: u64,
    /// Items written by transactions (for TransactWriteItems).
    pub items_written: u64,
    pub write_units: f64,
    pub read_units: f64,
}

#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    stats: Arc<Mutex<BTreeMap<String, OpStats>>>,
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::M(m) => 3 + m.iter().map(|(k, v)| k.len() + value_size(v) + 1).sum::<usize>(),
        AttributeValue::L(l) => 3 + l.iter().map(|v| value_size(v) + 1).sum::<usize>(),
        AttributeValue::Ss(s) => s.iter().map(String::len).sum(),
        AttributeValue::Ns(s) => s.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(s) => s.iter().map(|b| b.as_ref().len()).sum(),
        _ => 1,
    }
}

/// DynamoDB's item size: attribute names plus values, in bytes.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn kb_units(bytes: usize, unit: usize) -> f64 {
    bytes.max(1).div_ceil(unit) as f64
}

impl RequestCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests per operation since the last reset.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.stats().into_iter().map(|(k, v)| (k, v.requests)).collect()
    }

    pub fn stats(&self) -> BTreeMap<String, OpStats> {
        self.stats.lock().expect("counter lock").clone()
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    pub fn reset(&self) {
        self.stats.lock().expect("counter lock").clear();
    }

    fn add(&self, op: &str, f: impl FnOnce(&mut OpStats)) {
        f(self.stats.lock().expect("counter lock").entry(op.to_string()).or_default());
    }
}

/// Write units estimated from the input, kept with the request until its operation name is known.
#[derive(Debug, Clone)]
struct PendingWrites {
    items: u64,
    units: f64,
}

impl Storable for PendingWrites {
    type Storer = StoreReplace<Self>;
}

fn op_name(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>().map(|m| m.name().to_string()).unwrap_or_else(|| "unknown".into())
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    // Write units from the request itself (an update is charged for the item it writes; the
    // request's own size is the lower bound used here).
    fn read_before_execution(
        &self,
        ctx: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = ctx.input();
        let (items, wcu) = if let Some(t) = input.downcast_ref::<TransactWriteItemsInput>() {
            let items = t.transact_items();
            let wcu = items
                .iter()
                .map(|i| {
                    let size = i
                        .put()
                        .map(|p| item_size(p.item()))
                        .or_else(|| i.update().map(|u| item_size(u.key()) + u.update_expression().len()))
                        .or_else(|| i.delete().map(|d| item_size(d.key())))
                        .or_else(|| i.condition_check().map(|c| item_size(c.key())))
                        .unwrap_or(1);
                    2.0 * kb_units(size, 1024)
                })
                .sum();
            (items.len() as u64, wcu)
        } else if let Some(b) = input.downcast_ref::<BatchWriteItemInput>() {
            let requests: Vec<_> = b.request_items().map(|r| r.values().flatten().collect()).unwrap_or_default();
            let wcu = requests
                .iter()
                .map(|w| w.put_request().map(|p| kb_units(item_size(p.item()), 1024)).unwrap_or(1.0))
                .sum();
            (0, wcu)
        } else if let Some(p) = input.downcast_ref::<PutItemInput>() {
            (0, p.item().map(|i| kb_units(item_size(i), 1024)).unwrap_or(1.0))
        } else if input.downcast_ref::<UpdateItemInput>().is_some() || input.downcast_ref::<DeleteItemInput>().is_some()
        {
            (0, 1.0)
        } else {
            (0, 0.0)
        };
        // The operation's name is not in the bag yet at this point: attribute the units on transmit.
        cfg.interceptor_state().store_put(PendingWrites { items, units: wcu });
        Ok(())
    }

    // Counted per attempt, just before it goes on the wire: retries are real round trips too.
    fn read_before_transmit(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let pending = cfg.load::<PendingWrites>().cloned();
        self.add(&op_name(cfg), |s| {
            s.requests += 1;
            if let Some(p) = &pending {
                s.items_written += p.items;
                s.write_units += p.units;
            }
        });
        // A retry is another request, not another set of writes.
        cfg.interceptor_state().store_put(PendingWrites { items: 0, units: 0.0 });
        Ok(())
    }

    // Read units from what came back.
    fn read_after_execution(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Ok(out)) = ctx.output_or_error() else { return Ok(()) };
        let rcu = if let Some(g) = out.downcast_ref::<GetItemOutput>() {
            kb_units(g.item().map(item_size).unwrap_or(0), 4096)
        } else if let Some(q) = out.downcast_ref::<QueryOutput>() {
            kb_units(q.items().iter().map(item_size).sum(), 4096)
        } else if let Some(b) = out.downcast_ref::<BatchGetItemOutput>() {
            let items: Vec<_> = b.responses().map(|r| r.values().flatten().collect()).unwrap_or_default();
            // Every requested key costs at least one unit, found or not.
            let requested = ctx
                .input()
                .and_then(|i| i.downcast_ref::<BatchGetItemInput>())
                .and_then(|i| i.request_items())
                .map(|r| r.values().map(|k| k.keys().len()).sum::<usize>())
                .unwrap_or(items.len());
            items.iter().map(|i| kb_units(item_size(i), 4096)).sum::<f64>()
                + (requested.saturating_sub(items.len())) as f64
        } else {
            0.0
        };
        self.add(&op_name(cfg), |s| s.read_units += rcu);
        Ok(())
    }
}
