//! Access rules that every context applies: which POPs an operator (or sub-operator) is confined
//! to.

use crate::App;
use crate::support::{StoreResultExt, decoded};
use domain::Result;
use domain::actor::Actor;
use domain::user::OperatorProfile;
use store::keys;
use uuid::Uuid;

/// The POPs a scoped caller is confined to (None: not confined). A sub-operator without POPs of its
/// own works in its operator's.
pub async fn confined_pops(app: &App, actor: &Actor) -> Result<Option<Vec<Uuid>>> {
    if !actor.role.is_scoped() {
        return Ok(None);
    }
    operator_pops(app, actor.tenant()?, actor.user_id, actor.scope.as_deref()).await
}

/// The POPs an operator or sub-operator (`user`, with its `scope`) works in (None: all of them).
/// The one rule for POPs: a customer's operator holds the customer's POP, whoever assigns or moves
/// it; reads and changes follow the customer's operator subtree.
pub async fn operator_pops(app: &App, tid: Uuid, user: Uuid, scope: Option<&str>) -> Result<Option<Vec<Uuid>>> {
    let root: Option<Uuid> = scope.map(domain::user::scope_root).and_then(|r| r.parse().ok()).filter(|r| *r != user);
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
    Ok(if pops.is_empty() { None } else { Some(pops) })
}
