//! The staff alert log (`/v1/alerts`): what went wrong (a router down, a subscriber the router
//! refused, a gateway account failing) and came right again, newest first, read or unread. Alerts
//! are raised where they are found (`kernel::alerts::raise`); their delivery is `send`'s.
//! Operators confined to POPs see the alerts of their POPs only.

use domain::actor::Actor;
use domain::alert::{Alert, AlertKind};
use domain::role::Permission;
use domain::{Error, Result};
use kernel::App;
use kernel::access::confined_pops;
use kernel::support::{StoreResultExt, decoded};
use store::{Filter, Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

/// How a listing is narrowed.
#[derive(Debug, Default, Clone)]
pub struct AlertFilter {
    pub unread: bool,
    pub kind: Option<AlertKind>,
}

/// Newest first; only the unread ones with `unread` (their own index: no filtering of the read).
pub async fn list_alerts(
    app: &App,
    actor: &Actor,
    filter: &AlertFilter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Alert>> {
    actor.require(Permission::NetworkRead)?;
    let tid = actor.tenant()?;
    let q = if filter.unread {
        Query::index("gsi2", keys::unread_alerts_gsi2(tid))
    } else {
        Query::index("gsi1", keys::alerts_gsi1(tid))
    };
    let mut f = Filter::default();
    if let Some(k) = filter.kind {
        f = f.eq("kind", k.as_str());
    }
    let confined = confined_pops(app, actor).await?;
    if let Some(mine) = &confined {
        if mine.is_empty() {
            return Ok(Page { items: vec![], next_cursor: None });
        }
        f = f.any_of("pop_id", &mine.iter().map(Uuid::to_string).collect::<Vec<_>>());
    }
    let mut q = q.newest_first().limit(limit);
    if !f.expression.is_empty() {
        q = q.filter(f);
    }
    let qid = format!(
        "alerts:{}:{}:{}",
        filter.unread,
        filter.kind.map(AlertKind::as_str).unwrap_or_default(),
        confined.as_ref().map_or(0, Vec::len)
    );
    app.store.query_page(Owner::Tenant(tid), &qid, q, cursor).await.or_500()
}

pub async fn get_alert(app: &App, actor: &Actor, id: Uuid) -> Result<Alert> {
    actor.require(Permission::NetworkRead)?;
    let tid = actor.tenant()?;
    let alert = decoded::<Alert>(app.store.get_item(&keys::alert_key(tid, id)).await.or_500()?)?
        .filter(|a| a.tenant_id == tid)
        .ok_or_else(|| Error::not_found("alert"))?;
    if let Some(mine) = confined_pops(app, actor).await?
        && !alert.subject.pop_id.is_some_and(|p| mine.contains(&p))
    {
        return Err(Error::not_found("alert"));
    }
    Ok(alert)
}

/// Marks an alert read (by the caller) or unread again; marking it as it already is changes
/// nothing.
pub async fn mark_alert(app: &App, actor: &Actor, id: Uuid, read: bool) -> Result<Alert> {
    actor.require(Permission::NetworkRead)?;
    let before = get_alert(app, actor, id).await?;
    if before.unread() != read {
        return Ok(before);
    }
    let mut after = before.clone();
    if read {
        after.read_at = Some(app.now());
        after.read_by = Some(actor.user_id);
    } else {
        after.read_at = None;
        after.read_by = None;
    }
    after.version += 1;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&after).or_500()?, before.version);
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}
