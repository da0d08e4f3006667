//! Staff users: platform owner and reseller staff, and each ISP's admins, operators and staff.

use crate::role::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    /// The ISP the user works for; None for platform users (owner, reseller staff).
    pub tenant_id: Option<Uuid>,
    /// The platform reseller a Super Admin belongs to, or the reseller that owns the user's ISP.
    pub reseller_id: Option<Uuid>,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub role: Role,
    /// The operator a sub-operator works under.
    pub parent_id: Option<Uuid>,
    /// Subtree path: `<operator>` or `<operator>/<sub-operator>` for scoped roles, below
    /// `br-<branch>/` in a branch; `br-<branch>` for other staff bound to a branch.
    pub scope: Option<String>,
    pub status: UserStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// Subtree path of a new user: an operator roots its own subtree (inside its branch, if any), a
/// sub-operator hangs below its operator's; other staff bound to a branch carry the branch's path.
pub fn scope_for(role: Role, user_id: Uuid, parent_scope: Option<&str>, branch: Option<Uuid>) -> Option<String> {
    match role {
        Role::Operator => Some(match branch {
            Some(b) => format!("{}/{user_id}", crate::branch::scope_of(b)),
            None => user_id.to_string(),
        }),
        Role::SubOperator => parent_scope.map(|p| format!("{p}/{user_id}")),
        _ => branch.map(crate::branch::scope_of),
    }
}

/// The first segment of a subtree path (`op` of `op/sub`, the branch of `br-<b>/op`): whose
/// partition of the per-subtree indexes a record is listed in.
pub fn scope_root(scope: &str) -> &str {
    scope.split('/').next().unwrap_or(scope)
}

/// The operators on a subtree path, root first (`[op, sub]` of `br-<b>/op/sub`), each with the
/// path up to it (`br-<b>/op`, `br-<b>/op/sub`).
pub fn operators_on(scope: &str) -> Vec<(&str, &str)> {
    scope_members(scope).zip(scope_chain(scope)).filter(|(m, _)| !crate::branch::is_branch_segment(m)).collect()
}

/// The operator at the root of an operator subtree (`op` of `br-<b>/op/sub`), if the path has one.
pub fn root_operator(scope: &str) -> Option<&str> {
    operators_on(scope).first().map(|(m, _)| *m)
}

/// The operator or sub-operator a subtree path belongs to (`sub` of `op/sub`).
pub fn scope_owner(scope: &str) -> &str {
    scope.rsplit('/').next().unwrap_or(scope)
}

/// Everyone on a subtree path, root first (`[op, sub]` of `op/sub`).
pub fn scope_members(scope: &str) -> impl Iterator<Item = &str> {
    scope.split('/').filter(|s| !s.is_empty())
}

/// The subtree paths a path lies within, root first (`[op, op/sub]` of `op/sub`): whose figures
/// something owned there counts in.
pub fn scope_chain(scope: &str) -> Vec<&str> {
    scope.match_indices('/').map(|(i, _)| &scope[..i]).chain(std::iter::once(scope)).filter(|s| !s.is_empty()).collect()
}

/// Whether something owned by `owner_scope` lies within `viewer_scope`'s subtree.
pub fn in_subtree(owner_scope: Option<&str>, viewer_scope: &str) -> bool {
    match owner_scope {
        Some(s) => s == viewer_scope || (s.starts_with(viewer_scope) && s[viewer_scope.len()..].starts_with('/')),
        None => false,
    }
}

/// What an operator or sub-operator is to the ISP beyond its login: commission, credit, POPs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OperatorProfile {
    pub user_id: Uuid,
    /// Commission on what its customers pay, in basis points (250 = 2.5%).
    pub commission_rate_bps: u32,
    /// How far its wallet may go below zero, in minor units.
    pub credit_limit: i64,
    /// The operator is told (through messaging) when a payment from its wallet takes the balance
    /// below this (minor units; 0: never).
    #[serde(default)]
    pub low_balance_alert: i64,
    /// POPs it works in; empty: all of the ISP's (or, for a sub-operator, its operator's).
    pub pop_ids: Vec<Uuid>,
    pub updated_at: Option<DateTime<Utc>>,
    pub version: u64,
}

impl OperatorProfile {
    pub fn empty(user_id: Uuid) -> Self {
        Self {
            user_id,
            commission_rate_bps: 0,
            credit_limit: 0,
            low_balance_alert: 0,
            pop_ids: vec![],
            updated_at: None,
            version: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_counts_in_its_own_and_every_ancestors_figures() {
        assert_eq!(scope_chain("op"), ["op"]);
        assert_eq!(scope_chain("op/sub"), ["op", "op/sub"]);
        assert_eq!(scope_chain("a/b/c"), ["a", "a/b", "a/b/c"]);
        for s in scope_chain("a/b/c") {
            assert!(in_subtree(Some("a/b/c"), s), "{s}");
        }
    }

    #[test]
    fn subtree_membership() {
        assert!(in_subtree(Some("a"), "a"));
        assert!(in_subtree(Some("a/b"), "a"));
        assert!(!in_subtree(Some("a"), "a/b"));
        assert!(!in_subtree(Some("ab"), "a"), "a prefix of an id is not a parent");
        assert!(!in_subtree(Some("a/c"), "a/b"));
        assert!(!in_subtree(None, "a"));
    }

    #[test]
    fn scopes_nest() {
        let op = Uuid::now_v7();
        let sub = Uuid::now_v7();
        let op_scope = scope_for(Role::Operator, op, None, None).unwrap();
        let sub_scope = scope_for(Role::SubOperator, sub, Some(&op_scope), None).unwrap();
        assert!(in_subtree(Some(&sub_scope), &op_scope));
        assert_eq!(scope_for(Role::Staff, op, None, None), None);
        assert_eq!(scope_root(&sub_scope), op.to_string());
        assert_eq!(scope_owner(&sub_scope), sub.to_string());
        assert_eq!(scope_members(&sub_scope).count(), 2);
        assert_eq!(root_operator(&sub_scope), Some(op.to_string().as_str()));
    }

    #[test]
    fn a_branch_tops_the_subtrees_of_its_operators_and_staff() {
        let (b, op, sub, staff) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let branch_scope = scope_for(Role::Manager, staff, None, Some(b)).unwrap();
        let op_scope = scope_for(Role::Operator, op, None, Some(b)).unwrap();
        let sub_scope = scope_for(Role::SubOperator, sub, Some(&op_scope), Some(b)).unwrap();
        assert_eq!(branch_scope, crate::branch::scope_of(b));
        assert_eq!(sub_scope, format!("br-{b}/{op}/{sub}"));
        // The branch's staff see its operators' subtrees; an operator sees its own only.
        assert!(in_subtree(Some(&sub_scope), &branch_scope));
        assert!(in_subtree(Some(&op_scope), &branch_scope));
        assert!(!in_subtree(Some(&branch_scope), &op_scope));
        // The operators on the path skip the branch, and each carries its own path.
        let (op_s, sub_s) = (op.to_string(), sub.to_string());
        assert_eq!(
            operators_on(&sub_scope),
            vec![(op_s.as_str(), op_scope.as_str()), (sub_s.as_str(), sub_scope.as_str())]
        );
        assert_eq!(root_operator(&sub_scope), Some(op_s.as_str()));
        assert_eq!(root_operator(&branch_scope), None);
        assert_eq!(scope_root(&sub_scope), branch_scope, "the branch's partition lists them all");
    }
}
