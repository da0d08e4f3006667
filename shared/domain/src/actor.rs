//! Who is calling, as established from a verified access token. Use cases authorise against this.

use crate::error::{Error, Result};
use crate::role::{Permission, Role};
use crate::user::in_subtree;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The identity whose rights are used.
    pub user_id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub reseller_id: Option<Uuid>,
    pub role: Role,
    pub scope: Option<String>,
    /// The real person behind an impersonation token (None when acting as themselves).
    pub impersonator_id: Option<Uuid>,
    /// The API key the call was made with: its abilities narrow the role's permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyAccess>,
}

/// What an API key adds to its caller: which key (for the audit log) and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAccess {
    pub key_id: Uuid,
    /// The person who created the key, held responsible for what it does.
    pub created_by: Uuid,
    pub abilities: Vec<Permission>,
    /// Requests a minute the key may make (its own limit, within its ISP's).
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
}

impl Actor {
    /// The system's own scheduled work inside an ISP (billing runs, dunning, the expiry sweep):
    /// audited as the nil user, with the ISP admin's rights.
    pub fn system(tenant: Uuid) -> Actor {
        Actor {
            user_id: Uuid::nil(),
            tenant_id: Some(tenant),
            reseller_id: None,
            role: Role::Admin,
            scope: None,
            impersonator_id: None,
            key: None,
        }
    }

    /// The system acting for the platform (a reseller's purchase settled by a gateway's word):
    /// audited as the nil user, no ISP.
    pub fn system_platform() -> Actor {
        Actor {
            user_id: Uuid::nil(),
            tenant_id: None,
            reseller_id: None,
            role: Role::Developer,
            scope: None,
            impersonator_id: None,
            key: None,
        }
    }

    /// A subscriber acting in the portal (their own account only): audited as the customer.
    pub fn subscriber(s: crate::portal::Subscriber) -> Actor {
        Actor {
            user_id: s.customer_id,
            tenant_id: Some(s.tenant_id),
            reseller_id: None,
            role: Role::Customer,
            scope: None,
            impersonator_id: None,
            key: None,
        }
    }

    /// The person to hold responsible in the audit log: the impersonator, or a key's creator.
    pub fn real_actor(&self) -> Uuid {
        match (&self.key, self.impersonator_id) {
            (Some(k), _) => k.created_by,
            (None, Some(i)) => i,
            (None, None) => self.user_id,
        }
    }

    /// The API key the call was made with, if any.
    pub fn key_id(&self) -> Option<Uuid> {
        self.key.as_ref().map(|k| k.key_id)
    }

    /// Refuses `what` under an impersonation token or an API key: they are for looking and for
    /// ordinary work, not for minting credentials, changing who can log in, or where reset codes go.
    pub fn require_own_identity(&self, what: &str) -> Result<()> {
        if self.key.is_some() {
            return Err(Error::Forbidden {
                code: "api_key_refused",
                detail: format!("{what} is not done with an API key"),
            });
        }
        match self.impersonator_id {
            None => Ok(()),
            Some(_) => Err(Error::Forbidden {
                code: "impersonation_refused",
                detail: format!("{what} is not done while impersonating"),
            }),
        }
    }

    /// Whether the caller holds `p`: its role grants it and, with a key, the key was given it;
    /// staff bound to a branch never change what is the whole ISP's.
    pub fn can(&self, p: Permission) -> bool {
        self.role.has(p)
            && self.key.as_ref().is_none_or(|k| k.abilities.contains(&p))
            && !(self.branch().is_some() && p.is_whole_isp())
    }

    pub fn require(&self, p: Permission) -> Result<()> {
        if !self.role.has(p) {
            Err(Error::forbidden(format!("the {} role may not {}", self.role, p.as_str())))
        } else if self.branch().is_some() && p.is_whole_isp() {
            Err(Error::Forbidden {
                code: "branch_bound",
                detail: format!("staff bound to a branch may not {}: it is the whole ISP's", p.as_str()),
            })
        } else if !self.can(p) {
            Err(Error::Forbidden {
                code: "ability_missing",
                detail: format!("this API key may not {}; it was not given that ability", p.as_str()),
            })
        } else {
            Ok(())
        }
    }

    /// The caller's tenant, for tenant routes; platform users have none and are refused.
    pub fn tenant(&self) -> Result<Uuid> {
        self.tenant_id.ok_or_else(|| Error::forbidden("this route is for an ISP's staff"))
    }

    /// Whether the caller sees only part of its ISP: operators and sub-operators their subtree,
    /// staff bound to a branch that branch.
    pub fn is_confined(&self) -> bool {
        self.role.is_scoped() || self.scope.is_some()
    }

    /// The subtree a confined caller sees (None: the whole ISP). An operator without a subtree
    /// sees nothing, and is refused.
    pub fn confinement(&self) -> Result<Option<&str>> {
        match (&self.scope, self.role.is_scoped()) {
            (Some(s), _) => Ok(Some(s.as_str())),
            (None, true) => Err(Error::forbidden("operator without a scope")),
            (None, false) => Ok(None),
        }
    }

    /// The branch the caller is bound to, if any.
    pub fn branch(&self) -> Option<Uuid> {
        crate::branch::branch_of(self.scope.as_deref())
    }

    /// Whether a record owned by `owner_scope` is visible: the whole ISP's staff see everything,
    /// operators and sub-operators only their subtree, branch-bound staff only their branch.
    pub fn sees_scope(&self, owner_scope: Option<&str>) -> bool {
        if !self.is_confined() {
            return true;
        }
        match &self.scope {
            Some(mine) => in_subtree(owner_scope, mine),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(role: Role, scope: Option<String>) -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            tenant_id: Some(Uuid::now_v7()),
            reseller_id: None,
            role,
            scope,
            impersonator_id: None,
            key: None,
        }
    }

    #[test]
    fn a_branchs_staff_see_its_subtree_and_never_change_the_whole_isp() {
        let (b, other, op) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let branch = crate::branch::scope_of(b);
        let manager = staff(Role::Manager, Some(branch.clone()));
        assert!(manager.is_confined());
        assert_eq!(manager.branch(), Some(b));
        assert_eq!(manager.confinement().unwrap(), Some(branch.as_str()));
        assert!(manager.sees_scope(Some(&branch)));
        assert!(manager.sees_scope(Some(&format!("{branch}/{op}"))), "its operators' customers");
        assert!(!manager.sees_scope(Some(&crate::branch::scope_of(other))));
        assert!(!manager.sees_scope(None), "the ISP's own customers are not a branch's");
        assert!(!manager.sees_scope(Some(&op.to_string())), "an operator outside the branch");
        // Its role's rights, but nothing that is the whole ISP's.
        assert!(manager.can(Permission::CustomersWrite));
        assert!(!manager.can(Permission::PackagesWrite));
        assert!(matches!(manager.require(Permission::AuditRead), Err(Error::Forbidden { code: "branch_bound", .. })));
        // The ISP's own manager: unconfined, as before branches.
        let isp = staff(Role::Manager, None);
        assert!(!isp.is_confined() && isp.sees_scope(None) && isp.sees_scope(Some(&branch)));
        assert!(isp.can(Permission::PackagesWrite));
        // An operator without a subtree sees nothing and is refused a confinement.
        let lost = staff(Role::Operator, None);
        assert!(!lost.sees_scope(None) && lost.confinement().is_err());
    }
}
