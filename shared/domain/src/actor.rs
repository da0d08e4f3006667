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
        }
    }

    /// The person to hold responsible in the audit log.
    pub fn real_actor(&self) -> Uuid {
        self.impersonator_id.unwrap_or(self.user_id)
    }

    /// Refuses `what` under an impersonation token: impersonation is for looking and for ordinary
    /// work, not for minting credentials, changing who can log in, or where reset codes go.
    pub fn require_own_identity(&self, what: &str) -> Result<()> {
        match self.impersonator_id {
            None => Ok(()),
            Some(_) => Err(Error::Forbidden {
                code: "impersonation_refused",
                detail: format!("{what} is not done while impersonating"),
            }),
        }
    }

    pub fn require(&self, p: Permission) -> Result<()> {
        if self.role.has(p) {
            Ok(())
        } else {
            Err(Error::forbidden(format!("the {} role may not {}", self.role, p.as_str())))
        }
    }

    /// The caller's tenant, for tenant routes; platform users have none and are refused.
    pub fn tenant(&self) -> Result<Uuid> {
        self.tenant_id.ok_or_else(|| Error::forbidden("this route is for an ISP's staff"))
    }

    /// Whether a record owned by `owner_scope` is visible: unscoped roles see the whole tenant,
    /// operators and sub-operators only their subtree.
    pub fn sees_scope(&self, owner_scope: Option<&str>) -> bool {
        if !self.role.is_scoped() {
            return true;
        }
        match &self.scope {
            Some(mine) => in_subtree(owner_scope, mine),
            None => false,
        }
    }
}
