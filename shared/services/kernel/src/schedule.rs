//! Scheduled work fanned out per ISP: a job writes one event per active ISP and a queue's worker
//! does each ISP's share, so a slow or failing ISP holds up no other.

use crate::App;
use crate::support::StoreResultExt;
use chrono::{DateTime, Utc};
use domain::Result;
use domain::event::{DomainEvent, EventName, TenantJobRequested};
use domain::tenant::{Tenant, TenantStatus};
use serde::Serialize;
use store::{Owner, Page, Query, Tx, keys};

/// What a fan-out job did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct FanOut {
    pub tenants: usize,
    pub skipped_suspended: usize,
}

/// One outbox event per active ISP (`event`, e.g. `RouterHealthCheckRequested`), 100 ISPs per
/// transaction; a rule brings each to its worker, which does that ISP's
/// share (its routers, its billing run). Suspended ISPs are skipped.
pub async fn fan_out(app: &App, event: impl Into<EventName> + Copy, now: DateTime<Utc>) -> Result<FanOut> {
    let mut report = FanOut::default();
    let mut cursor: Option<String> = None;
    loop {
        let q = Query::index("gsi1", keys::tenants_gsi1()).limit(100);
        let page: Page<Tenant> =
            app.store.query_page(Owner::Platform, "tenant-fan-out", q, cursor.as_deref()).await.or_500()?;
        let mut tx = Tx::new();
        for t in &page.items {
            if t.status == TenantStatus::Suspended {
                report.skipped_suspended += 1;
                continue;
            }
            report.tenants += 1;
            tx.put_event(&DomainEvent::new(
                event,
                Some(t.id),
                serde_json::to_value(TenantJobRequested { tenant_id: t.id, requested_at: now })
                    .map_err(|e| domain::Error::Internal(e.to_string()))?,
                now,
            ));
        }
        if !tx.is_empty() {
            app.store.commit(tx).await.or_500()?;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(report),
        }
    }
}
