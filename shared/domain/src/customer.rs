//! Customers (subscribers) of an ISP.

use crate::subscription::StatusCounts;
use crate::validate::Validation;
use chrono::{DateTime, NaiveDate, Utc};
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

/// What kind of client a customer is, as regulators count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    Home,
    Corporate,
    Sme,
    Government,
    Education,
}

impl ClientType {
    pub const ALL: [ClientType; 5] = [Self::Home, Self::Corporate, Self::Sme, Self::Government, Self::Education];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Home => "home",
            Self::Corporate => "corporate",
            Self::Sme => "sme",
            Self::Government => "government",
            Self::Education => "education",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What the last stretch of the customer's line is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessMedium {
    /// Optical fibre (FTTH, GPON/EPON).
    Fiber,
    /// Copper Ethernet cable.
    Utp,
    Wireless,
}

impl AccessMedium {
    pub const ALL: [AccessMedium; 3] = [Self::Fiber, Self::Utp, Self::Wireless];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fiber => "fiber",
            Self::Utp => "utp",
            Self::Wireless => "wireless",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
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
    /// Area or zone within the ISP's coverage (free text the ISP chooses, e.g. "Mirpur-10").
    #[serde(default)]
    pub area: Option<String>,
    /// The POP the customer is connected through.
    #[serde(default)]
    pub pop_id: Option<Uuid>,
    /// Postal address in parts, as regulators' reports ask for it (BTRC: house, road, area, thana,
    /// district); `address` stays the free-text form.
    #[serde(default)]
    pub house_no: Option<String>,
    #[serde(default)]
    pub road_no: Option<String>,
    /// Police station / upazila.
    #[serde(default)]
    pub thana: Option<String>,
    #[serde(default)]
    pub district: Option<String>,
    #[serde(default)]
    pub client_type: Option<ClientType>,
    #[serde(default)]
    pub access_medium: Option<AccessMedium>,
    pub national_id: Option<String>,
    /// When the line was first connected.
    #[serde(default)]
    pub connection_date: Option<NaiveDate>,
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// What the ISP writes to the customer in (None: the ISP's default language).
    #[serde(default)]
    pub language: Option<crate::language::Language>,
    /// The customer's subscriptions by status; `status` follows from them.
    #[serde(default)]
    pub subscriptions: StatusCounts,
    /// The operator or sub-operator the customer belongs to (None: the ISP itself).
    pub operator_id: Option<Uuid>,
    /// Subtree path of that operator, used to confine operators to their own customers.
    pub scope: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// Tags: trimmed, lower case, unique, at most 20 of at most 40 characters.
pub fn validate_tags(v: &mut Validation, field: &str, tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = search_fold(t);
        if t.is_empty() || t.chars().count() > 40 || t.chars().any(|c| c.is_control()) {
            v.add(field, "each tag must be 1-40 printable characters");
            return out;
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > 20 {
        v.add(field, "at most 20 tags");
    }
    out
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
    fn tags_are_folded_and_unique() {
        let mut v = Validation::new();
        let t = validate_tags(&mut v, "tags", &["VIP".into(), " vip ".into(), "Fiber  Line".into()]);
        assert_eq!(t, ["vip", "fiber line"]);
        assert!(v.is_empty());
        validate_tags(&mut v, "tags", &["".into()]);
        assert!(!v.is_empty());
    }

    #[test]
    fn folding() {
        assert_eq!(search_fold("  Rahim   UDDIN "), "rahim uddin");
    }
}
