//! Records bound to their keys and their item type in one place: `Store::encode_stored(&rec)`
//! cannot pair a record with another entity's keys or type string. Entities of `domain` are bound
//! here (their keys follow from their own fields); records of the service crates bind themselves.
//! Items whose keys need more than the record (pointers, sentinels, tombstones, markers) keep
//! naming their keys where they are written.

use crate::keys::{self, ItemKeys};
use crate::{Item, Result, Store};
use domain::customer::{Customer, search_fold};
use domain::invoice::Invoice;
use domain::lead::Lead;
use domain::network::Pop;
use domain::package::Package;
use domain::platform::PlatformReseller;
use domain::tenant::Tenant;
use serde::Serialize;

/// A record as one item of the table.
pub trait Stored: Serialize {
    /// The item's `type` attribute.
    const TYPE: &'static str;
    /// Its keys, in the table and in every index it is listed in.
    fn keys(&self) -> ItemKeys;
    /// Its version `v`, for mutable entities (optimistic concurrency).
    fn version(&self) -> Option<u64> {
        None
    }
}

impl Store {
    /// Encodes a record with its own keys, type and version.
    pub fn encode_stored<T: Stored>(record: &T) -> Result<Item> {
        Self::encode(&record.keys(), T::TYPE, record, record.version())
    }
}

/// Times in keys sort as text: fixed width, UTC, milliseconds.
pub fn sort_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Stored for domain::alert::Alert {
    const TYPE: &'static str = "ALERT";
    fn keys(&self) -> ItemKeys {
        keys::alert(self.tenant_id, self.id, &sort_time(self.raised_at), self.unread())
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for domain::wallet::Wallet {
    const TYPE: &'static str = "WALLET";
    fn keys(&self) -> ItemKeys {
        keys::wallet(self.tenant_id, self.owner.operator())
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for domain::voucher::VoucherPlan {
    const TYPE: &'static str = "VPLAN";
    fn keys(&self) -> ItemKeys {
        keys::voucher_plan(self.tenant_id, self.id, Some(&self.name))
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for domain::voucher::VoucherBatch {
    const TYPE: &'static str = "VBATCH";
    fn keys(&self) -> ItemKeys {
        keys::voucher_batch(self.tenant_id, self.id)
    }
}

impl Stored for domain::voucher::Voucher {
    const TYPE: &'static str = "VOUCHER";
    fn keys(&self) -> ItemKeys {
        keys::voucher(
            self.tenant_id,
            self.batch_id,
            self.seq,
            Some(keys::VoucherIndex {
                status: self.status.as_str(),
                operator: self.operator_id,
                expires: self.ends_at().map(sort_time),
            }),
        )
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for Tenant {
    const TYPE: &'static str = "TENANT";
    fn keys(&self) -> ItemKeys {
        keys::tenant(self.id, self.reseller_id)
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for PlatformReseller {
    const TYPE: &'static str = "RESELLER";
    fn keys(&self) -> ItemKeys {
        keys::platform_reseller(self.id)
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for Customer {
    const TYPE: &'static str = "CUSTOMER";
    fn keys(&self) -> ItemKeys {
        keys::customer(self.tenant_id, self.id, self.scope.as_deref())
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for Lead {
    const TYPE: &'static str = "LEAD";
    fn keys(&self) -> ItemKeys {
        keys::lead(self.tenant_id, self.id, self.scope.as_deref())
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for domain::branch::Branch {
    const TYPE: &'static str = "BRANCH";
    fn keys(&self) -> ItemKeys {
        keys::branch(self.tenant_id, self.id, &self.code)
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for Pop {
    const TYPE: &'static str = "POP";
    fn keys(&self) -> ItemKeys {
        keys::pop(self.tenant_id, self.id, &self.code)
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for Package {
    const TYPE: &'static str = "PACKAGE";
    fn keys(&self) -> ItemKeys {
        keys::package(self.tenant_id, self.id, &search_fold(&self.name))
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for domain::invoice::Discount {
    const TYPE: &'static str = "DISCOUNT";
    fn keys(&self) -> ItemKeys {
        keys::discount(self.tenant_id, self.id)
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for Invoice {
    const TYPE: &'static str = "INVOICE";
    /// Listed by when it was issued (drafts: created); open ones also by their due date.
    fn keys(&self) -> ItemKeys {
        let listed = self.issued_at.or(Some(self.created_at));
        let open_due = if self.status.is_open() { self.due_date } else { None };
        keys::invoice(self.tenant_id, self.customer_id, self.id, self.scope.as_deref(), listed, open_due)
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for domain::ticket::Ticket {
    const TYPE: &'static str = "TICKET";
    fn keys(&self) -> ItemKeys {
        use domain::ticket::TicketStatus;
        let open = matches!(self.state.status, TicketStatus::Open | TicketStatus::PendingCustomer);
        keys::ticket(
            self.tenant_id,
            self.id,
            open.then_some(self.state.opened_at),
            self.scope.as_deref(),
            self.customer_id,
        )
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

impl Stored for domain::ticket::TicketMessage {
    const TYPE: &'static str = "TICKET_MESSAGE";
    fn keys(&self) -> ItemKeys {
        keys::ticket_message(self.tenant_id, self.ticket_id, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use domain::network::PopStatus;
    use uuid::Uuid;

    #[test]
    fn a_record_carries_its_own_keys_type_and_version() {
        let at = "2026-06-15T06:00:00Z".parse().unwrap();
        let pop = Pop {
            id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            name: "Mirpur".into(),
            code: "DHK-01".into(),
            address: None,
            latitude: None,
            longitude: None,
            status: PopStatus::Active,
            branch_id: None,
            created_at: at,
            updated_at: at,
            version: 3,
        };
        let item = Store::encode_stored(&pop).unwrap();
        let k = keys::pop(pop.tenant_id, pop.id, &pop.code);
        assert_eq!(item.get("pk"), Some(&AttributeValue::S(k.pk.clone())));
        assert_eq!(item.get("sk"), Some(&AttributeValue::S(k.sk.clone())));
        assert_eq!(item.get("type"), Some(&AttributeValue::S("POP".into())));
        assert_eq!(item.get("v"), Some(&AttributeValue::N("3".into())));
        assert!(k.pk.starts_with(&format!("T#{}#", pop.tenant_id)), "tenant-prefixed");
    }
}
