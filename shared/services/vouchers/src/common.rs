//! What the vouchers' use cases share: who may change them, who sells them and who sees them.

use domain::Result;
use domain::actor::Actor;
use domain::role::Permission;
use domain::user::User;
use kernel::App;
use uuid::Uuid;

/// Making and changing vouchers is the ISP's (its admins and managers), never an operator's.
pub fn write_access(actor: &Actor) -> Result<Uuid> {
    actor.require(Permission::PackagesWrite)?;
    if actor.role.is_scoped() {
        return Err(domain::Error::forbidden("vouchers are made and changed by the ISP"));
    }
    actor.tenant()
}

/// An operator or sub-operator of the ISP (a scoped login that is not deleted).
pub async fn operator_user(app: &App, tid: Uuid, id: Uuid) -> Result<Option<User>> {
    Ok(identity::users::load_user(app, Some(tid), id)
        .await?
        .map(|r| r.user)
        .filter(|u| u.role.is_scoped() && !u.email.is_empty()))
}

/// Whether the caller sees what this seller sells: the ISP's staff see all; an operator its own
/// and its sub-operators'.
pub async fn seller_visible(app: &App, actor: &Actor, seller: Option<Uuid>) -> Result<bool> {
    if !actor.role.is_scoped() {
        return Ok(true);
    }
    let Some(id) = seller else { return Ok(false) };
    if id == actor.user_id {
        return Ok(true);
    }
    let tid = actor.tenant()?;
    Ok(operator_user(app, tid, id).await?.is_some_and(|u| actor.sees_scope(u.scope.as_deref())))
}

pub use domain::voucher::password_aad;
