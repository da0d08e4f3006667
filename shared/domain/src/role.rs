//! Roles and their permissions, as data. Authorization everywhere asks `role.has(permission)`;
//! the table below is the single place that says who may do what.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Platform owner ("Developer"): sees everything, can impersonate anyone (audited).
    Developer,
    /// Platform reseller ("Super Admin"): manages its own ISPs.
    SuperAdmin,
    /// ISP owner.
    Admin,
    Manager,
    /// Reseller inside an ISP, with its own customers.
    Operator,
    /// Reseller under an operator.
    SubOperator,
    Staff,
    Accountant,
    /// Subscriber (self-service portal).
    Customer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Permission {
    PlatformResellersRead,
    PlatformResellersWrite,
    TenantsRead,
    TenantsWrite,
    Impersonate,
    TenantSettingsRead,
    TenantSettingsWrite,
    UsersRead,
    UsersWrite,
    CustomersRead,
    CustomersWrite,
    CustomersDelete,
    /// See the PPPoE/hotspot passwords of subscriptions.
    SubscriptionSecretsRead,
    AuditRead,
    PackagesRead,
    PackagesWrite,
    NetworkRead,
    NetworkWrite,
    BillingRead,
    BillingWrite,
    PaymentsCollect,
    ReportsRead,
    /// The helpdesk: read tickets, and open, answer and move them.
    TicketsRead,
    TicketsWrite,
    /// Stock: items, locations, movements, assets and their valuation.
    InventoryRead,
    InventoryWrite,
    /// Create, list and revoke API keys (never given to a key).
    ApiKeysManage,
}

impl Permission {
    /// Every permission, for reading one back from its name.
    pub const ALL: [Permission; 27] = [
        PlatformResellersRead,
        PlatformResellersWrite,
        TenantsRead,
        TenantsWrite,
        Impersonate,
        TenantSettingsRead,
        TenantSettingsWrite,
        UsersRead,
        UsersWrite,
        CustomersRead,
        CustomersWrite,
        CustomersDelete,
        SubscriptionSecretsRead,
        AuditRead,
        PackagesRead,
        PackagesWrite,
        NetworkRead,
        NetworkWrite,
        BillingRead,
        BillingWrite,
        PaymentsCollect,
        ReportsRead,
        TicketsRead,
        TicketsWrite,
        InventoryRead,
        InventoryWrite,
        ApiKeysManage,
    ];

    /// What covers the whole ISP rather than a branch's part of it: its settings, packages and
    /// prices, stock, API keys and the audit log of everyone's changes. Staff bound to a branch
    /// lack these whatever their role.
    pub fn is_whole_isp(self) -> bool {
        matches!(self, TenantSettingsWrite | PackagesWrite | InventoryWrite | AuditRead | ApiKeysManage | Impersonate)
    }

    /// A permission from its name (`customers:read`).
    pub fn parse(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        use Permission::*;
        match self {
            PlatformResellersRead => "platform_resellers:read",
            PlatformResellersWrite => "platform_resellers:write",
            TenantsRead => "tenants:read",
            TenantsWrite => "tenants:write",
            Impersonate => "impersonate",
            TenantSettingsRead => "tenant_settings:read",
            TenantSettingsWrite => "tenant_settings:write",
            UsersRead => "users:read",
            UsersWrite => "users:write",
            CustomersRead => "customers:read",
            CustomersWrite => "customers:write",
            CustomersDelete => "customers:delete",
            SubscriptionSecretsRead => "subscriptions:secrets",
            AuditRead => "audit:read",
            PackagesRead => "packages:read",
            PackagesWrite => "packages:write",
            NetworkRead => "network:read",
            NetworkWrite => "network:write",
            BillingRead => "billing:read",
            BillingWrite => "billing:write",
            PaymentsCollect => "payments:collect",
            ReportsRead => "reports:read",
            TicketsRead => "tickets:read",
            TicketsWrite => "tickets:write",
            InventoryRead => "inventory:read",
            InventoryWrite => "inventory:write",
            ApiKeysManage => "api_keys:manage",
        }
    }
}

use Permission::*;

const ALL_TENANT: &[Permission] = &[
    TenantSettingsRead,
    TenantSettingsWrite,
    UsersRead,
    UsersWrite,
    CustomersRead,
    CustomersWrite,
    CustomersDelete,
    SubscriptionSecretsRead,
    AuditRead,
    PackagesRead,
    PackagesWrite,
    NetworkRead,
    NetworkWrite,
    BillingRead,
    BillingWrite,
    PaymentsCollect,
    ReportsRead,
    TicketsRead,
    TicketsWrite,
    InventoryRead,
    InventoryWrite,
    ApiKeysManage,
];

const DEVELOPER: &[Permission] =
    &[PlatformResellersRead, PlatformResellersWrite, TenantsRead, TenantsWrite, Impersonate, AuditRead, ApiKeysManage];
const SUPER_ADMIN: &[Permission] = &[TenantsRead, TenantsWrite, Impersonate, AuditRead];
const MANAGER: &[Permission] = &[
    TenantSettingsRead,
    UsersRead,
    UsersWrite,
    CustomersRead,
    CustomersWrite,
    CustomersDelete,
    SubscriptionSecretsRead,
    AuditRead,
    PackagesRead,
    PackagesWrite,
    NetworkRead,
    NetworkWrite,
    BillingRead,
    BillingWrite,
    PaymentsCollect,
    ReportsRead,
    TicketsRead,
    TicketsWrite,
    InventoryRead,
    InventoryWrite,
];
const OPERATOR: &[Permission] = &[
    TenantSettingsRead,
    UsersRead,
    UsersWrite,
    CustomersRead,
    CustomersWrite,
    CustomersDelete,
    SubscriptionSecretsRead,
    NetworkRead,
    PackagesRead,
    BillingRead,
    PaymentsCollect,
    // Their own subtree's collections and dues (revenue stays the ISP's).
    ReportsRead,
    TicketsRead,
    TicketsWrite,
];
const SUB_OPERATOR: &[Permission] = &[
    TenantSettingsRead,
    CustomersRead,
    CustomersWrite,
    SubscriptionSecretsRead,
    NetworkRead,
    PackagesRead,
    BillingRead,
    PaymentsCollect,
    ReportsRead,
    TicketsRead,
    TicketsWrite,
];
const STAFF: &[Permission] = &[
    TenantSettingsRead,
    CustomersRead,
    CustomersWrite,
    PackagesRead,
    NetworkRead,
    TicketsRead,
    TicketsWrite,
    InventoryRead,
    InventoryWrite,
];
const ACCOUNTANT: &[Permission] = &[
    TenantSettingsRead,
    CustomersRead,
    AuditRead,
    BillingRead,
    BillingWrite,
    PaymentsCollect,
    ReportsRead,
    TicketsRead,
    InventoryRead,
];
const CUSTOMER: &[Permission] = &[];

impl Role {
    pub const TENANT_STAFF: [Role; 6] =
        [Role::Admin, Role::Manager, Role::Operator, Role::SubOperator, Role::Staff, Role::Accountant];

    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Role::Developer => DEVELOPER,
            Role::SuperAdmin => SUPER_ADMIN,
            Role::Admin => ALL_TENANT,
            Role::Manager => MANAGER,
            Role::Operator => OPERATOR,
            Role::SubOperator => SUB_OPERATOR,
            Role::Staff => STAFF,
            Role::Accountant => ACCOUNTANT,
            Role::Customer => CUSTOMER,
        }
    }

    pub fn has(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }

    pub fn is_platform(self) -> bool {
        matches!(self, Role::Developer | Role::SuperAdmin)
    }

    pub fn is_tenant_staff(self) -> bool {
        Role::TENANT_STAFF.contains(&self)
    }

    /// Operators and sub-operators are confined to their own subtree of customers and users.
    pub fn is_scoped(self) -> bool {
        matches!(self, Role::Operator | Role::SubOperator)
    }

    /// Whether `self` may give `target` to a user (create, change role to, or manage a user holding it).
    /// Nobody grants a role that has a permission they lack; operators only create sub-operators (under
    /// themselves, which the caller enforces by setting the parent).
    pub fn may_assign(self, target: Role) -> bool {
        if !self.has(UsersWrite) || !target.is_tenant_staff() {
            return false;
        }
        if self == Role::Operator {
            return target == Role::SubOperator;
        }
        target.permissions().iter().all(|p| self.has(*p))
    }

    /// Whether this role is strictly above `target`: it may grant it, and `target` lacks some of
    /// its permissions. A peer (the same role, or one with the same rights) is not below.
    pub fn outranks(self, target: Role) -> bool {
        self.may_assign(target) && !self.permissions().iter().all(|p| target.has(*p))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Developer => "developer",
            Role::SuperAdmin => "super_admin",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Operator => "operator",
            Role::SubOperator => "sub_operator",
            Role::Staff => "staff",
            Role::Accountant => "accountant",
            Role::Customer => "customer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Role; 9] = [
        Role::Developer,
        Role::SuperAdmin,
        Role::Admin,
        Role::Manager,
        Role::Operator,
        Role::SubOperator,
        Role::Staff,
        Role::Accountant,
        Role::Customer,
    ];

    #[test]
    fn nobody_grants_a_permission_they_lack() {
        for a in ALL {
            for t in ALL {
                if a.may_assign(t) {
                    for p in t.permissions() {
                        assert!(a.has(*p), "{a} may assign {t} but lacks {}", p.as_str());
                    }
                }
            }
        }
    }

    #[test]
    fn admin_assigns_every_staff_role_and_operator_only_sub_operators() {
        for t in Role::TENANT_STAFF {
            assert!(Role::Admin.may_assign(t));
        }
        assert!(!Role::Manager.may_assign(Role::Admin));
        assert!(Role::Manager.may_assign(Role::Operator));
        assert_eq!(
            Role::TENANT_STAFF.iter().filter(|t| Role::Operator.may_assign(**t)).collect::<Vec<_>>(),
            [&Role::SubOperator]
        );
        assert!(!Role::SubOperator.may_assign(Role::SubOperator));
        assert!(!Role::Staff.may_assign(Role::Staff));
        assert!(!Role::Developer.may_assign(Role::Developer), "platform roles are not granted through /v1/users");
    }

    #[test]
    fn every_permission_reads_back_from_its_name() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
        }
        let mut names: Vec<_> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Permission::ALL.len(), "names are unique");
        assert_eq!(Permission::parse("customers:reads"), None);
    }

    #[test]
    fn a_peer_is_not_below() {
        for r in Role::TENANT_STAFF {
            assert!(!r.outranks(r), "{r} is its own peer");
        }
        assert!(Role::Admin.outranks(Role::Manager));
        assert!(!Role::Manager.outranks(Role::Admin));
        assert!(Role::Manager.outranks(Role::Operator));
        assert!(Role::Operator.outranks(Role::SubOperator));
        assert!(!Role::SubOperator.outranks(Role::Operator));
        assert!(!Role::Staff.outranks(Role::Staff));
    }

    #[test]
    fn customers_have_no_staff_permissions() {
        assert!(Role::Customer.permissions().is_empty());
    }
}
