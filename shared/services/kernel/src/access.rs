//! Access rules that every context applies: which POPs an operator (or sub-operator) or a
//! branch's staff are confined to, and which branches may take new members.

use crate::App;
use crate::support::{StoreResultExt, decoded};
use domain::actor::Actor;
use domain::branch::{Branch, BranchStatus};
use domain::user::OperatorProfile;
use domain::{Result, Validation};
use store::{Filter, Query, keys};
use uuid::Uuid;

/// The POPs a confined caller is confined to (None: not confined). A sub-operator without POPs of
/// its own works in its operator's; staff bound to a branch in the branch's.
pub async fn confined_pops(app: &App, actor: &Actor) -> Result<Option<Vec<Uuid>>> {
    if actor.role.is_scoped() {
        return operator_pops(app, actor.tenant()?, actor.user_id, actor.scope.as_deref()).await;
    }
    match actor.branch() {
        Some(b) => Ok(Some(branch_pops(app, actor.tenant()?, b).await?)),
        None => Ok(None),
    }
}

/// The POPs of a branch (one Query of the ISP's POPs, a few dozen at most).
pub async fn branch_pops(app: &App, tid: Uuid, branch: Uuid) -> Result<Vec<Uuid>> {
    let q = Query::index("gsi1", keys::pops_gsi1(tid))
        .limit(500)
        .filter(Filter::default().eq("branch_id", &branch.to_string()));
    let pops: Vec<IdOnly> = app.store.query_all(q, 10_000).await.or_500()?;
    Ok(pops.into_iter().map(|p| p.id).collect())
}

#[derive(serde::Deserialize)]
struct IdOnly {
    id: Uuid,
}

/// A branch of the ISP, if there is one by that id.
pub async fn load_branch(app: &App, tid: Uuid, id: Uuid) -> Result<Option<Branch>> {
    decoded(app.store.get_item(&keys::branch(tid, id, "")).await.or_500()?)
}

/// The caller narrowed to one branch, to read that branch's figures as its own staff would: the
/// ISP's staff any branch of the ISP, a branch's staff their own (404 otherwise).
pub async fn as_branch(app: &App, actor: &Actor, branch: Uuid) -> Result<Actor> {
    if actor.is_confined() {
        return match actor.branch() {
            Some(b) if b == branch && !actor.role.is_scoped() => Ok(actor.clone()),
            _ => Err(domain::Error::not_found("branch")),
        };
    }
    load_branch(app, actor.tenant()?, branch).await?.ok_or_else(|| domain::Error::not_found("branch"))?;
    Ok(Actor { scope: Some(domain::branch::scope_of(branch)), ..actor.clone() })
}

/// Checks that `branch` may take a new member (a user, a POP): an open branch of the ISP, and
/// for a caller bound to a branch, its own.
pub async fn check_branch_for_new(
    app: &App,
    actor: &Actor,
    v: &mut Validation,
    field: &str,
    branch: Uuid,
) -> Result<()> {
    if actor.branch().is_some_and(|mine| mine != branch) {
        v.add(field, "you work in your own branch only");
        return Ok(());
    }
    match load_branch(app, actor.tenant()?, branch).await? {
        Some(b) if b.status == BranchStatus::Active => {}
        _ => v.add(field, "is not an open branch of this ISP"),
    }
    Ok(())
}

/// The POPs an operator or sub-operator (`user`, with its `scope`) works in (None: all of them).
/// The one rule for POPs: a customer's operator holds the customer's POP, whoever assigns or moves
/// it; reads and changes follow the customer's operator subtree.
pub async fn operator_pops(app: &App, tid: Uuid, user: Uuid, scope: Option<&str>) -> Result<Option<Vec<Uuid>>> {
    let root: Option<Uuid> =
        scope.and_then(domain::user::root_operator).and_then(|r| r.parse().ok()).filter(|r| *r != user);
    let own = keys::operator_profile(tid, user);
    let parent = keys::operator_profile(tid, root.unwrap_or_default());
    let mut got = app.store.batch_get(&[&own, &parent]).await.or_500()?.into_iter();
    let own: Option<OperatorProfile> = decoded(got.next().flatten())?;
    let parent: Option<OperatorProfile> = decoded(got.next().flatten())?;
    let pops = match (own, parent) {
        (Some(o), _) if !o.pop_ids.is_empty() => o.pop_ids,
        (_, Some(p)) if root.is_some() => p.pop_ids,
        _ => vec![],
    };
    if !pops.is_empty() {
        return Ok(Some(pops));
    }
    // Without POPs of its own, an operator of a branch works in the branch's.
    match domain::branch::branch_of(scope) {
        Some(b) => Ok(Some(branch_pops(app, tid, b).await?)),
        None => Ok(None),
    }
}
