//! Reading the audit log (`GET /v1/audit-log`), newest first.

use crate::App;
use crate::support::StoreResultExt;
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::audit::AuditEntry;
use domain::role::{Permission, Role};
use domain::{Error, Result};
use serde::Deserialize;
use store::{Owner, Page, Query, keys};
use uuid::Uuid;

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Both or neither: one entity's history.
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// What one user did (as themselves or impersonated).
    pub user_id: Option<Uuid>,
}

#[derive(Deserialize)]
struct AuditRecord {
    id: Uuid,
    tenant_id: Option<Uuid>,
    actor_id: Uuid,
    acting_as_id: Uuid,
    #[serde(default)]
    api_key_id: Option<Uuid>,
    action: String,
    entity_type: String,
    entity_id: String,
    before_json: Option<String>,
    after_json: Option<String>,
    at: DateTime<Utc>,
}

impl From<AuditRecord> for AuditEntry {
    fn from(r: AuditRecord) -> Self {
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        AuditEntry {
            id: r.id,
            tenant_id: r.tenant_id,
            actor_id: r.actor_id,
            acting_as_id: r.acting_as_id,
            api_key_id: r.api_key_id,
            action: r.action,
            entity_type: r.entity_type,
            entity_id: r.entity_id,
            before: parse(r.before_json),
            after: parse(r.after_json),
            at: r.at,
        }
    }
}

/// An ISP's staff read their ISP's log; the owner reads the platform log; a platform reseller reads
/// what its own users did on the platform.
pub async fn list_audit(
    app: &App,
    actor: &Actor,
    filter: AuditFilter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<AuditEntry>> {
    actor.require(Permission::AuditRead)?;
    let owner = Owner::from_tenant(actor.tenant_id);
    let user_filter = match (actor.role, filter.user_id) {
        (Role::SuperAdmin, Some(u)) if u != actor.user_id => {
            return Err(Error::forbidden("a reseller reads its own entries"));
        }
        (Role::SuperAdmin, _) => Some(actor.user_id),
        (_, u) => u,
    };
    let (q, qid) = match (&filter.entity_type, &filter.entity_id, user_filter) {
        (Some(t), Some(id), None) => {
            (Query::index("gsi1", keys::audit_by_entity_gsi1(owner, t, id)), format!("audit:e:{t}:{id}"))
        }
        (None, None, Some(u)) => (Query::index("gsi2", keys::audit_by_user_gsi2(owner, u)), format!("audit:u:{u}")),
        (None, None, None) => (Query::table(keys::audit_pk(owner)), "audit".to_string()),
        (Some(_), Some(_), Some(_)) => {
            return Err(Error::field("user_id", "filter by entity or by user, not both"));
        }
        _ => return Err(Error::field("entity_id", "entity_type and entity_id go together")),
    };
    let page: Page<AuditRecord> =
        app.store.query_page(owner, &qid, q.newest_first().limit(limit), cursor).await.or_500()?;
    Ok(Page { items: page.items.into_iter().map(AuditEntry::from).collect(), next_cursor: page.next_cursor })
}
