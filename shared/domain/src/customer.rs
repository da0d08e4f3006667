//! Customers (subscribers) of an ISP.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    /// Signed up, no service running yet.
    New,
    Active,
    Suspended,
    /// Left the ISP; kept for history.
    Inactive,
}

impl CustomerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::New => "new",
            CustomerStatus::Active => "active",
            CustomerStatus::Suspended => "suspended",
            CustomerStatus::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "new" => Some(Self::New),
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Customer {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// E.164.
    pub phone: String,
    pub email: Option<String>,
    /// Portal login, and the PPPoE username unless a subscription says otherwise.
    pub username: String,
    pub status: CustomerStatus,
    pub address: Option<String>,
    pub national_id: Option<String>,
    pub notes: Option<String>,
    /// The operator or sub-operator the customer belongs to (None: the ISP itself).
    pub operator_id: Option<Uuid>,
    /// Subtree path of that operator, used to confine operators to their own customers.
    pub scope: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// Text folded for prefix search: lower case, single spaces.
pub fn search_fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trip() {
        for s in [CustomerStatus::New, CustomerStatus::Active, CustomerStatus::Suspended, CustomerStatus::Inactive] {
            assert_eq!(CustomerStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(CustomerStatus::parse("deleted"), None);
    }

    #[test]
    fn folding() {
        assert_eq!(search_fold("  Rahim   UDDIN "), "rahim uddin");
    }
}
