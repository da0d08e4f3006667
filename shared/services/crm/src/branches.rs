//! Branches (`/v1/branches`): an ISP's offices or areas. A branch groups POPs, staff, operators and
//! customers through their scope paths (`domain::branch`); staff bound to one see and change only
//! its data. Made and changed by the ISP's admins; a closed branch keeps what it holds and takes
//! nothing new.

use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::branch::{Branch, BranchStatus, validate_code};
use domain::patch::Patch;
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record};
use kernel::support::{Audited, StoreResultExt, audit, expected_version, snapshot};
use serde::Deserialize;
use store::{Conflict, Filter, Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBranch {
    pub name: String,
    /// Short code, unique in the ISP (`CTG`, `DHK-NORTH`).
    pub code: String,
    pub address: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBranch {
    pub name: Option<String>,
    pub code: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub address: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    /// `closed`: keeps its staff, POPs and customers, takes no new ones; `active` opens it again.
    pub status: Option<BranchStatus>,
    pub version: Option<u64>,
}

fn code_unique(tid: Uuid, code: &str) -> store::ItemKeys {
    keys::unique(Owner::Tenant(tid), "branch_code", code)
}

/// Branches are the ISP's to make and change (its settings' writers; never a branch's own staff).
fn writer(actor: &Actor) -> Result<Uuid> {
    actor.require(Permission::TenantSettingsWrite)?;
    actor.tenant()
}

/// Who may read branches: the ISP's staff all of them, a branch's staff and operators their own.
fn reader(actor: &Actor) -> Result<Uuid> {
    actor.require(Permission::CustomersRead)?;
    actor.tenant()
}

fn audited(
    actor: &Actor,
    action: &'static str,
    before: Option<&Branch>,
    after: Option<&Branch>,
    id: Uuid,
    now: DateTime<Utc>,
) -> domain::audit::AuditEntry {
    audit(
        actor,
        actor.tenant_id,
        Audited {
            action,
            entity: "branch",
            id: id.to_string(),
            before: before.map(snapshot),
            after: after.map(snapshot),
        },
        now,
    )
}

pub async fn create_branch(
    app: &App,
    actor: &Actor,
    input: CreateBranch,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Branch>> {
    let tid = writer(actor)?;
    let now = app.now();
    let mut v = Validation::new();
    let name = v.text("name", &input.name, 120);
    let code = validate_code(&mut v, "code", &input.code);
    let address = v.optional_text("address", input.address.as_deref(), 300);
    let phone = v.optional_text("phone", input.phone.as_deref(), 32);
    v.finish()?;
    let branch = Branch {
        id: ids::new_id(),
        tenant_id: tid,
        name,
        code,
        address,
        phone,
        status: BranchStatus::Active,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = Tx::new();
    tx.put_new(Store::encode_stored(&branch).or_500()?, Conflict::Exists);
    tx.put_unique(code_unique(tid, &branch.code), "code", &branch.id.to_string());
    tx.put_audit(&audited(actor, "branch.created", None, Some(&branch), branch.id, now));
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &branch, app)?);
    }
    commit_create(app, tx, Owner::Tenant(tid), actor.user_id, idem, branch).await
}

/// A branch the caller may see (404 otherwise: another ISP's, or not the caller's own).
async fn visible_branch(app: &App, actor: &Actor, id: Uuid) -> Result<Branch> {
    let tid = reader(actor)?;
    let mine = actor.is_confined().then(|| actor.branch());
    match kernel::access::load_branch(app, tid, id).await? {
        Some(b) if mine.is_none_or(|m| m == Some(b.id)) => Ok(b),
        _ => Err(Error::not_found("branch")),
    }
}

pub async fn get_branch(app: &App, actor: &Actor, id: Uuid) -> Result<Branch> {
    visible_branch(app, actor, id).await
}

/// The ISP's branches by code (one Query); a branch's staff and operators see their own only.
pub async fn list_branches(
    app: &App,
    actor: &Actor,
    status: Option<BranchStatus>,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Branch>> {
    let tid = reader(actor)?;
    let mut f = Filter::default();
    if let Some(s) = status {
        f = f.eq("status", s.as_str());
    }
    if actor.is_confined() {
        let mine: Vec<String> = actor.branch().map(|b| b.to_string()).into_iter().collect();
        f = f.any_of("id", &mine);
    }
    let mut q = Query::index("gsi1", keys::branches_gsi1(tid)).limit(limit);
    if !f.expression.is_empty() {
        q = q.filter(f);
    }
    let qid = format!("branches:{status:?}:{:?}", actor.branch());
    app.store.query_page(Owner::Tenant(tid), &qid, q, cursor).await.or_500()
}

pub async fn update_branch(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdateBranch,
    if_match: Option<u64>,
) -> Result<Branch> {
    let tid = writer(actor)?;
    let expected = expected_version(if_match, input.version)?;
    let before = visible_branch(app, actor, id).await?;
    let now = app.now();
    let mut v = Validation::new();
    let mut after = before.clone();
    if let Some(n) = &input.name {
        after.name = v.text("name", n, 120);
    }
    if let Some(c) = &input.code {
        after.code = validate_code(&mut v, "code", c);
    }
    if let Some(a) = input.address.as_update() {
        after.address = v.optional_text("address", a.map(String::as_str), 300);
    }
    if let Some(p) = input.phone.as_update() {
        after.phone = v.optional_text("phone", p.map(String::as_str), 32);
    }
    if let Some(s) = input.status {
        after.status = s;
    }
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    if after == before {
        return Ok(before);
    }
    after.version += 1;
    after.updated_at = now;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&after).or_500()?, expected);
    if after.code != before.code {
        tx.put_unique(code_unique(tid, &after.code), "code", &id.to_string());
        tx.delete_unique(code_unique(tid, &before.code), &id.to_string());
    }
    tx.put_audit(&audited(actor, "branch.updated", Some(&before), Some(&after), id, now));
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}
