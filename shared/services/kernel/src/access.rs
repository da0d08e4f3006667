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
    let tid = actor.tenant()?;
    let root: Option<Uuid> = actor
        .scope
        .as_deref()
        .map(domain::user::scope_root)
        .and_then(|r| r.parse().ok())
        .filter(|r| *r != actor.user_id);
    let own = keys::operator_profile(tid, actor.user_id);
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
