//! Operators and sub-operators (`/v1/operators`): their business profile (commission, credit limit,
//! POPs) beside their user, the operator tree, and the POPs that confine what they see.

use domain::actor::Actor;
use domain::event::{CrmEvent, DomainEvent};
use domain::package::PackageOffer;
use domain::role::{Permission, Role};
use domain::user::OperatorProfile;
use domain::user::User;
use domain::{Error, Result, Validation};
use identity::users::UserRecord;
use kernel::App;
use kernel::support::{Audited, StoreResultExt, audit, decoded, expected_version, snapshot};
use network::packages::OfferRecord;
use serde::{Deserialize, Serialize};
use store::{Filter, Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

/// An operator as listed: the user, its profile, and the packages offered to it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Operator {
    pub user: User,
    pub profile: OperatorProfile,
    pub packages: Vec<PackageOffer>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutOperatorProfile {
    pub commission_rate_bps: u32,
    pub credit_limit: i64,
    /// Tell the operator by SMS when its wallet falls below this (minor units; 0 or absent: never).
    #[serde(default)]
    pub low_balance_alert: i64,
    #[serde(default)]
    pub pop_ids: Vec<Uuid>,
    /// The version read (0 for a profile never set); or `If-Match`.
    pub version: Option<u64>,
}

async fn scoped_user(app: &App, actor: &Actor, tid: Uuid, id: Uuid) -> Result<User> {
    visible_operator(actor, app.store.get(&keys::user(Some(tid), id)).await.or_500()?)
}

fn visible_operator(actor: &Actor, u: Option<UserRecord>) -> Result<User> {
    match u {
        Some(u) if u.user.role.is_scoped() && actor.sees_scope(u.user.scope.as_deref()) => Ok(u.user),
        _ => Err(Error::not_found("operator")),
    }
}

/// The operators and sub-operators the caller may see (operators: itself and its subtree), by scope
/// path, so each sub-operator follows its operator.
pub async fn list_operators(app: &App, actor: &Actor) -> Result<Vec<Operator>> {
    actor.require(Permission::UsersRead)?;
    let tid = actor.tenant()?;
    let mut f = Filter::default().any_of("role", &[Role::Operator.as_str().into(), Role::SubOperator.as_str().into()]);
    if let Some(s) = actor.confinement()? {
        f = f.in_subtree("scope", s);
    }
    let q = Query::index("gsi1", keys::users_gsi1(tid)).limit(200).filter(f);
    let records: Vec<UserRecord> = app.store.query_all(q, 2_000).await.or_500()?;
    let mut users: Vec<User> = records.into_iter().map(|u| u.user).collect();
    users.sort_by(|a, b| a.scope.cmp(&b.scope));
    let wanted: Vec<store::ItemKeys> = users.iter().map(|u| keys::operator_profile(tid, u.id)).collect();
    let refs: Vec<&store::ItemKeys> = wanted.iter().collect();
    let profiles = app.store.batch_get(&refs).await.or_500()?;
    let mut out = Vec::new();
    for (u, p) in users.into_iter().zip(profiles) {
        let profile = decoded::<OperatorProfile>(p)?.unwrap_or_else(|| OperatorProfile::empty(u.id));
        out.push(Operator { user: u, profile, packages: vec![] });
    }
    Ok(out)
}

pub async fn get_operator(app: &App, actor: &Actor, id: Uuid) -> Result<Operator> {
    actor.require(Permission::UsersRead)?;
    let tid = actor.tenant()?;
    // User and profile share a partition: one round trip for both.
    let (uk, pk) = (keys::user(Some(tid), id), keys::operator_profile(tid, id));
    let mut got = app.store.batch_get(&[&uk, &pk]).await.or_500()?.into_iter();
    let user = visible_operator(actor, decoded(got.next().flatten())?)?;
    let profile = decoded::<OperatorProfile>(got.next().flatten())?.unwrap_or_else(|| OperatorProfile::empty(id));
    let offers: Page<OfferRecord> = app
        .store
        .query_page(
            Owner::Tenant(tid),
            "operator-offers",
            Query::index("gsi1", keys::offers_by_operator_gsi1(tid, id)).limit(200),
            None,
        )
        .await
        .or_500()?;
    Ok(Operator { user, profile, packages: offers.items.into_iter().map(|o| o.offer).collect() })
}

/// Sets an operator's profile: the ISP for operators, an operator for its sub-operators (whose POPs
/// must be among its own, and whose credit cannot exceed its own).
pub async fn put_profile(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: PutOperatorProfile,
    if_match: Option<u64>,
) -> Result<OperatorProfile> {
    actor.require(Permission::UsersWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let user = scoped_user(app, actor, tid, id).await?;
    if id == actor.user_id {
        return Err(Error::forbidden("an operator's profile is set by whoever manages it"));
    }
    let parent = match (user.role, user.parent_id) {
        (Role::SubOperator, Some(p)) => Some(p),
        _ => None,
    };
    // One round trip: the profile, its parent's (limits for sub-operators) and the named POPs.
    let mut wanted = vec![keys::operator_profile(tid, id), keys::operator_profile(tid, parent.unwrap_or_default())];
    wanted.extend(input.pop_ids.iter().map(|p| keys::pop(tid, *p, "")));
    let refs: Vec<&store::ItemKeys> = wanted.iter().collect();
    let mut got = app.store.batch_get(&refs).await.or_500()?.into_iter();
    let before = decoded::<OperatorProfile>(got.next().flatten())?.unwrap_or_else(|| OperatorProfile::empty(id));
    let parent_profile = decoded::<OperatorProfile>(got.next().flatten())?;
    let mut v = Validation::new();
    if input.pop_ids.len() > 50 {
        v.add("pop_ids", "at most 50 POPs");
    }
    // An operator of a branch works in that branch's POPs only.
    let branch = domain::branch::branch_of(user.scope.as_deref());
    for (i, found) in got.enumerate() {
        match network::pops::live_pop(found)? {
            None => v.add(&format!("pop_ids[{i}]"), "is not a POP of this ISP"),
            Some(p) if p.branch_id.is_some() && p.branch_id != branch => {
                v.add(&format!("pop_ids[{i}]"), "is a POP of another branch")
            }
            Some(_) => {}
        }
    }
    v.range_i64("commission_rate_bps", input.commission_rate_bps.into(), 0, 10_000);
    v.range_i64("credit_limit", input.credit_limit, 0, 1_000_000_000_000);
    v.range_i64("low_balance_alert", input.low_balance_alert, 0, domain::wallet::MAX_MOVEMENT);
    if let (Some(_), Some(pp)) = (parent, &parent_profile) {
        if !pp.pop_ids.is_empty() && input.pop_ids.iter().any(|p| !pp.pop_ids.contains(p)) {
            v.add("pop_ids", "must be among the operator's own POPs");
        }
        if input.credit_limit > pp.credit_limit {
            v.add("credit_limit", "must not exceed the operator's own credit limit");
        }
    }
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    let mut pop_ids = input.pop_ids.clone();
    pop_ids.sort();
    pop_ids.dedup();
    let now = app.now();
    let after = OperatorProfile {
        user_id: id,
        commission_rate_bps: input.commission_rate_bps,
        credit_limit: input.credit_limit,
        low_balance_alert: input.low_balance_alert,
        pop_ids,
        updated_at: Some(now),
        version: before.version + 1,
    };
    let item =
        Store::encode(&keys::operator_profile(tid, id), "OPERATOR_PROFILE", &after, Some(after.version)).or_500()?;
    let mut tx = Tx::new();
    tx.put_read_at(item, before.version);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "operator.profile_updated",
            entity: "user",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: Some(snapshot(&after)),
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        CrmEvent::OperatorProfileUpdated,
        Some(tid),
        serde_json::json!({"operator_id": id, "version": after.version}),
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}
