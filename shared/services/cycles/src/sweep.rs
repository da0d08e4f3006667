//! What the daily jobs share: the ISPs they work for, and paging through sharded indexes.

use chrono::{DateTime, Utc};
use domain::Result;
use domain::tenant::{Tenant, TenantStatus};
use kernel::App;
use kernel::support::StoreResultExt;
use store::{Owner, Page, Query, keys};
use uuid::Uuid;

/// The ISP, unless it is gone or suspended (then its scheduled work is skipped).
pub async fn active_tenant(app: &App, tid: Uuid) -> Result<Option<Tenant>> {
    let tenant = kernel::support::load_tenant(app, tid).await?;
    Ok((tenant.status != TenantStatus::Suspended).then_some(tenant))
}

/// Every page of a sharded index's partitions (one query each), one page at a time.
pub struct IndexScan {
    owner: Owner,
    qid: &'static str,
    queries: Vec<Query>,
    at: usize,
    cursor: Option<String>,
}

impl IndexScan {
    pub fn new(owner: Owner, qid: &'static str, queries: Vec<Query>) -> IndexScan {
        IndexScan { owner, qid, queries, at: 0, cursor: None }
    }

    pub async fn next_page<T: serde::de::DeserializeOwned>(&mut self, app: &App) -> Result<Option<Vec<T>>> {
        while let Some(q) = self.queries.get(self.at) {
            let page: Page<T> =
                app.store.query_page(self.owner, self.qid, q.clone(), self.cursor.as_deref()).await.or_500()?;
            match page.next_cursor {
                Some(c) => self.cursor = Some(c),
                None => {
                    self.cursor = None;
                    self.at += 1;
                }
            }
            if !page.items.is_empty() {
                return Ok(Some(page.items));
            }
        }
        Ok(None)
    }
}

/// The upper sort-key bound of `<time>#<id>` keys up to `t`.
pub fn until(t: DateTime<Utc>) -> String {
    // `~` sorts after `#`: every key of that second is in.
    format!("{}~", keys::key_time(t))
}
