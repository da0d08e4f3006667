//! POPs (`/v1/pops`): the ISP's points of presence. Operators confined to POPs see only theirs.
//! A POP with routers cannot be deleted (its usage counter is checked in the deleting
//! transaction).

use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::event::{DomainEvent, NetworkEvent};
use domain::network::{Pop, PopStatus, validate_coordinates, validate_pop_code};
use domain::patch::Patch;
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::access::confined_pops;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record};
use kernel::projections::usage::{in_use_conflict, stage_usage_zero};
use kernel::support::{Audited, StoreResultExt, Updated, audit, decoded, expected_version, snapshot};
use serde::{Deserialize, Serialize};
use store::keys::UsageOf;
use store::{Conflict, Filter, Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

// ---- POPs --------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePop {
    pub name: String,
    pub code: String,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub status: Option<PopStatus>,
    /// The branch it serves (default: the caller's own, for a branch's staff).
    #[serde(default)]
    pub branch_id: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePop {
    pub name: Option<String>,
    pub code: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub address: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub latitude: Patch<f64>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub longitude: Patch<f64>,
    pub status: Option<PopStatus>,
    /// Moves the POP to a branch, or (null) to the ISP as a whole (the ISP's own staff only).
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub branch_id: Patch<Uuid>,
    pub version: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PopRecord {
    #[serde(flatten)]
    pop: Pop,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deleted_at: Option<DateTime<Utc>>,
}

pub fn live_pop(item: Option<store::Item>) -> Result<Option<Pop>> {
    Ok(decoded::<PopRecord>(item)?.filter(|r| r.deleted_at.is_none()).map(|r| r.pop))
}

fn pop_unique(tid: Uuid, code: &str) -> store::ItemKeys {
    keys::unique(Owner::Tenant(tid), "pop_code", code)
}

fn pop_event(name: NetworkEvent, p: &Pop, now: DateTime<Utc>) -> DomainEvent {
    DomainEvent::new(name, Some(p.tenant_id), serde_json::json!({"pop_id": p.id, "version": p.version}), now)
}

pub async fn create_pop(
    app: &App,
    actor: &Actor,
    input: CreatePop,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Pop>> {
    actor.require(Permission::NetworkWrite)?;
    let tid = actor.tenant()?;
    let now = app.now();
    let mut v = Validation::new();
    let name = v.text("name", &input.name, 120);
    let code = validate_pop_code(&mut v, "code", &input.code);
    let address = v.optional_text("address", input.address.as_deref(), 300);
    validate_coordinates(&mut v, input.latitude, input.longitude);
    let branch_id = input.branch_id.or(actor.branch());
    if let Some(b) = branch_id {
        kernel::access::check_branch_for_new(app, actor, &mut v, "branch_id", b).await?;
    }
    v.finish()?;
    let pop = Pop {
        id: ids::new_id(),
        tenant_id: tid,
        name,
        code,
        address,
        latitude: input.latitude,
        longitude: input.longitude,
        status: input.status.unwrap_or(PopStatus::Active),
        branch_id,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = Tx::new();
    tx.put_new(Store::encode_stored(&pop).or_500()?, Conflict::Exists);
    tx.put_unique(pop_unique(tid, &pop.code), "code", &pop.id.to_string());
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "pop.created",
            entity: "pop",
            id: pop.id.to_string(),
            before: None,
            after: Some(snapshot(&pop)),
        },
        now,
    ));
    tx.put_event(&pop_event(NetworkEvent::PopCreated, &pop, now));
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &pop, app)?);
    }
    commit_create(app, tx, Owner::Tenant(tid), actor.user_id, idem, pop).await
}

async fn visible_pop(app: &App, actor: &Actor, id: Uuid) -> Result<Pop> {
    actor.require(Permission::NetworkRead)?;
    let tid = actor.tenant()?;
    let pop = live_pop(app.store.get_item(&keys::pop(tid, id, "")).await.or_500()?)?;
    match (pop, confined_pops(app, actor).await?) {
        (Some(p), None) => Ok(p),
        (Some(p), Some(mine)) if mine.contains(&p.id) => Ok(p),
        _ => Err(Error::not_found("pop")),
    }
}

pub async fn get_pop(app: &App, actor: &Actor, id: Uuid) -> Result<Pop> {
    visible_pop(app, actor, id).await
}

pub async fn list_pops(app: &App, actor: &Actor, limit: u32, cursor: Option<&str>) -> Result<Page<Pop>> {
    actor.require(Permission::NetworkRead)?;
    let tid = actor.tenant()?;
    let mut q = Query::index("gsi1", keys::pops_gsi1(tid)).limit(limit);
    let confined = confined_pops(app, actor).await?;
    if let Some(pops) = &confined {
        q = q.filter(Filter::default().any_of("id", &pops.iter().map(Uuid::to_string).collect::<Vec<_>>()));
    }
    let qid = format!("pops:{}", confined.is_some());
    app.store.query_page(Owner::Tenant(tid), &qid, q, cursor).await.or_500()
}

pub async fn update_pop(app: &App, actor: &Actor, id: Uuid, input: UpdatePop, if_match: Option<u64>) -> Result<Pop> {
    actor.require(Permission::NetworkWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let before = visible_pop(app, actor, id).await?;
    let now = app.now();
    let mut v = Validation::new();
    let mut after = before.clone();
    if let Some(n) = &input.name {
        after.name = v.text("name", n, 120);
    }
    if let Some(c) = &input.code {
        after.code = validate_pop_code(&mut v, "code", c);
    }
    if let Some(a) = input.address.as_update() {
        after.address = v.optional_text("address", a.map(String::as_str), 300);
    }
    input.latitude.apply_to(&mut after.latitude);
    input.longitude.apply_to(&mut after.longitude);
    validate_coordinates(&mut v, after.latitude, after.longitude);
    if let Some(s) = input.status {
        after.status = s;
    }
    if let Some(b) = input.branch_id.as_update().map(Option::<&Uuid>::copied)
        && b != before.branch_id
    {
        if actor.branch().is_some() {
            v.add("branch_id", "only the ISP's own staff move POPs between branches");
        } else if let Some(b) = b {
            kernel::access::check_branch_for_new(app, actor, &mut v, "branch_id", b).await?;
        }
        after.branch_id = b;
    }
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    after.version += 1;
    after.updated_at = now;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&after).or_500()?, expected);
    if after.code != before.code {
        tx.put_unique(pop_unique(tid, &after.code), "code", &id.to_string());
        tx.delete_unique(pop_unique(tid, &before.code), &id.to_string());
    }
    Updated { entity: "pop", id, before: &before, after: &after }.stage(
        &mut tx,
        actor,
        Some(tid),
        pop_event(NetworkEvent::PopUpdated, &after, now),
    );
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}

pub async fn delete_pop(app: &App, actor: &Actor, id: Uuid, if_match: Option<u64>) -> Result<()> {
    actor.require(Permission::NetworkWrite)?;
    let tid = actor.tenant()?;
    let before = visible_pop(app, actor, id).await?;
    if if_match.is_some_and(|v| v != before.version) {
        return Err(Error::version_conflict());
    }
    let now = app.now();
    let mut gone = before.clone();
    gone.version += 1;
    gone.status = PopStatus::Inactive;
    gone.updated_at = now;
    let mut item = Store::encode(
        &keys::pop(tid, id, ""),
        "POP",
        &PopRecord { pop: gone.clone(), deleted_at: Some(now) },
        Some(gone.version),
    )
    .or_500()?;
    item.remove("gsi1pk");
    item.remove("gsi1sk");
    let mut tx = Tx::new();
    tx.put_versioned(item, before.version);
    stage_usage_zero(&mut tx, tid, UsageOf::Pop, id, "pop_in_use");
    tx.delete_unique(pop_unique(tid, &before.code), &id.to_string());
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "pop.deleted",
            entity: "pop",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: None,
        },
        now,
    ));
    tx.put_event(&pop_event(NetworkEvent::PopDeleted, &gone, now));
    app.store.commit(tx).await.map_err(in_use_conflict("pop"))
}
