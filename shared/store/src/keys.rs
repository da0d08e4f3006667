//! Every key format of the table, and nothing else anywhere builds one.
//!
//! Tenant-owned data begins with `T#<tenant_id>#` in the table and in every index; platform data with
//! `P#`. See `docs/data-model.md` for which access pattern each key serves.

use uuid::Uuid;

/// Primary and index keys of one item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemKeys {
    pub pk: String,
    pub sk: String,
    pub gsi1: Option<(String, String)>,
    pub gsi2: Option<(String, String)>,
    pub gsi3: Option<(String, String)>,
}

impl ItemKeys {
    pub fn new(pk: String, sk: &str) -> Self {
        Self { pk, sk: sk.to_string(), ..Default::default() }
    }
    pub fn gsi1(mut self, pk: String, sk: String) -> Self {
        self.gsi1 = Some((pk, sk));
        self
    }
    pub fn gsi2(mut self, pk: String, sk: String) -> Self {
        self.gsi2 = Some((pk, sk));
        self
    }
    pub fn gsi3(mut self, pk: String, sk: String) -> Self {
        self.gsi3 = Some((pk, sk));
        self
    }
}

/// Whose data a key belongs to: the partition prefix every key of theirs starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Platform,
    Tenant(Uuid),
}

impl Owner {
    pub fn prefix(self) -> String {
        match self {
            Owner::Platform => "P#".to_string(),
            Owner::Tenant(t) => format!("T#{t}#"),
        }
    }
    pub fn from_tenant(tenant: Option<Uuid>) -> Self {
        tenant.map_or(Owner::Platform, Owner::Tenant)
    }
}

fn t(tenant: Uuid) -> String {
    format!("T#{tenant}#")
}

// ---- platform ----------------------------------------------------------------------------------

pub fn platform_reseller(id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("P#RESELLER#{id}"), "RESELLER").gsi1("P#RESELLERS".into(), id.to_string())
}

/// The platform's record of an ISP. Listed by the owner (gsi1) and by its reseller (gsi2).
pub fn tenant(id: Uuid, reseller: Option<Uuid>) -> ItemKeys {
    let k = ItemKeys::new(tenant_pk(id), "TENANT").gsi1("P#TENANTS".into(), id.to_string());
    match reseller {
        Some(r) => k.gsi2(format!("P#RESELLER#{r}#TENANTS"), id.to_string()),
        None => k,
    }
}

pub fn tenant_pk(id: Uuid) -> String {
    format!("P#TENANT#{id}")
}

pub fn tenant_slug(slug: &str) -> ItemKeys {
    ItemKeys::new(format!("P#SLUG#{slug}"), "UNIQUE")
}

/// Login credential of a staff user, keyed by e-mail; also what keeps staff e-mails unique.
pub fn login(email: &str) -> ItemKeys {
    ItemKeys::new(format!("P#LOGIN#{email}"), "LOGIN")
}

/// Failed-login counter per e-mail, whether or not an account exists for it.
pub fn login_guard(email: &str) -> ItemKeys {
    ItemKeys::new(format!("P#LOGINGUARD#{email}"), "GUARD")
}

pub fn refresh_family(family: Uuid) -> ItemKeys {
    ItemKeys::new(format!("P#SESSION#{family}"), "SESSION")
}

pub fn password_reset(id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("P#PWRESET#{id}"), "PWRESET")
}

// ---- users -------------------------------------------------------------------------------------

/// A staff user: tenant users live under their tenant; platform users (owner, reseller staff) under P#.
pub fn user(tenant: Option<Uuid>, id: Uuid) -> ItemKeys {
    match tenant {
        Some(tid) => {
            ItemKeys::new(format!("{}USER#{id}", t(tid)), "USER").gsi1(format!("{}USERS", t(tid)), id.to_string())
        }
        None => ItemKeys::new(format!("P#USER#{id}"), "USER").gsi1("P#USERS".into(), id.to_string()),
    }
}

pub fn users_gsi1(tenant: Uuid) -> String {
    format!("{}USERS", t(tenant))
}

// ---- customers ---------------------------------------------------------------------------------

pub fn customer_pk(tenant: Uuid, id: Uuid) -> String {
    format!("{}C#{id}", t(tenant))
}

/// The customer profile. Every customer: gsi1 (tenant list); operator-owned: gsi2 (operator's subtree).
pub fn customer(tenant: Uuid, id: Uuid, scope: Option<&str>) -> ItemKeys {
    let k = ItemKeys::new(customer_pk(tenant, id), "PROFILE").gsi1(customers_gsi1(tenant), id.to_string());
    match scope {
        Some(s) => {
            let root = s.split('/').next().unwrap_or(s);
            k.gsi2(customers_by_operator_gsi2(tenant, root), format!("{s}#{id}"))
        }
        None => k,
    }
}

pub fn customers_gsi1(tenant: Uuid) -> String {
    format!("{}CUSTOMERS", t(tenant))
}

pub fn customers_by_operator_gsi2(tenant: Uuid, root_operator: &str) -> String {
    format!("{}OPCUSTOMERS#{root_operator}", t(tenant))
}

/// A search entry of a customer (one per searchable field), in the customer's item collection.
pub fn customer_search(tenant: Uuid, id: Uuid, field: &str, folded_value: &str) -> ItemKeys {
    ItemKeys::new(customer_pk(tenant, id), &format!("SEARCH#{field}"))
        .gsi3(customer_search_gsi3(tenant, field), format!("{folded_value}#{id}"))
}

pub fn customer_search_gsi3(tenant: Uuid, field: &str) -> String {
    format!("{}CSEARCH#{field}", t(tenant))
}

// ---- cross-cutting -----------------------------------------------------------------------------

/// Uniqueness sentinel: one per (owner, field, value).
pub fn unique(owner: Owner, field: &str, value: &str) -> ItemKeys {
    ItemKeys::new(format!("{}UNIQUE#{field}#{value}", owner.prefix()), "UNIQUE")
}

pub fn counter(owner: Owner, name: &str) -> ItemKeys {
    ItemKeys::new(format!("{}COUNTER#{name}", owner.prefix()), "COUNTER")
}

pub fn idempotency(owner: Owner, key_hash: &str) -> ItemKeys {
    ItemKeys::new(format!("{}IDEM#{key_hash}", owner.prefix()), "IDEM")
}

pub fn outbox_event(owner: Owner, id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}EVENT#{id}", owner.prefix()), "EVENT")
}

/// Newest-first log per owner (pk), and by entity (gsi1) and by acting user (gsi2).
pub fn audit(owner: Owner, id: Uuid, entity_type: &str, entity_id: &str, acting_as: Uuid) -> ItemKeys {
    let p = owner.prefix();
    ItemKeys::new(audit_pk(owner), &id.to_string())
        .gsi1(format!("{p}AUDIT#E#{entity_type}#{entity_id}"), id.to_string())
        .gsi2(format!("{p}AUDIT#U#{acting_as}"), id.to_string())
}

pub fn audit_pk(owner: Owner) -> String {
    format!("{}AUDIT", owner.prefix())
}

pub fn audit_by_entity_gsi1(owner: Owner, entity_type: &str, entity_id: &str) -> String {
    format!("{}AUDIT#E#{entity_type}#{entity_id}", owner.prefix())
}

pub fn audit_by_user_gsi2(owner: Owner, user: Uuid) -> String {
    format!("{}AUDIT#U#{user}", owner.prefix())
}

pub fn resellers_gsi1() -> String {
    "P#RESELLERS".into()
}

pub fn tenants_gsi1() -> String {
    "P#TENANTS".into()
}

pub fn reseller_tenants_gsi2(reseller: Uuid) -> String {
    format!("P#RESELLER#{reseller}#TENANTS")
}

/// A notice sent once to a platform reseller (`kind` and the expiry it is about make it unique).
pub fn reseller_notice(reseller: Uuid, kind: &str, about: &str) -> ItemKeys {
    ItemKeys::new(format!("P#NOTICE#{reseller}#{kind}#{about}"), "NOTICE")
}

/// Marks an event as handled by one consumer (idempotent workers).
pub fn inbox(owner: Owner, consumer: &str, event_id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}INBOX#{consumer}#{event_id}", owner.prefix()), "INBOX")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_keys_start_with_the_tenant_prefix_everywhere() {
        let tid = Uuid::now_v7();
        let id = Uuid::now_v7();
        let p = format!("T#{tid}#");
        let all = [
            user(Some(tid), id),
            customer(tid, id, Some("op/sub")),
            customer_search(tid, id, "name", "rahim"),
            unique(Owner::Tenant(tid), "phone", "+880"),
            counter(Owner::Tenant(tid), "invoice"),
            idempotency(Owner::Tenant(tid), "h"),
            outbox_event(Owner::Tenant(tid), id),
            audit(Owner::Tenant(tid), id, "customer", "x", id),
        ];
        for k in all {
            assert!(k.pk.starts_with(&p), "{k:?}");
            for g in [&k.gsi1, &k.gsi2, &k.gsi3].into_iter().flatten() {
                assert!(g.0.starts_with(&p), "{k:?}");
            }
        }
    }

    #[test]
    fn operator_subtree_sort_keys_nest() {
        let tid = Uuid::now_v7();
        let id = Uuid::now_v7();
        let k = customer(tid, id, Some("op1/sub1"));
        let (pk, sk) = k.gsi2.unwrap();
        assert_eq!(pk, customers_by_operator_gsi2(tid, "op1"));
        assert!(sk.starts_with("op1/sub1#"));
    }
}
