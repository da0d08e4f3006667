//! Branches: an ISP's offices or areas, each grouping POPs, staff, operators and customers.
//!
//! A branch is the top of the ownership tree that operators already use: a customer, operator or
//! staff member of branch `B` has a scope path starting with `br-<B>` (`br-<B>`, `br-<B>/<op>`,
//! `br-<B>/<op>/<sub>`), so everything that follows an operator's subtree (listings, the
//! dashboard's counters, reports, visibility) follows a branch the same way. Records without a
//! branch keep the paths they had: an ISP that never makes a branch sees no change.

use crate::validate::Validation;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BranchStatus {
    Active,
    /// Keeps what it holds; takes no new staff, operators, customers or POPs.
    Closed,
}

impl BranchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BranchStatus::Active => "active",
            BranchStatus::Closed => "closed",
        }
    }

    /// A status from its name (`active`, `closed`).
    pub fn parse(name: &str) -> Option<BranchStatus> {
        [BranchStatus::Active, BranchStatus::Closed].into_iter().find(|s| s.as_str() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Branch {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// Short code, unique in the ISP (e.g. `CTG`).
    pub code: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub status: BranchStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// What starts a branch's scope path segment; an operator's segment is a bare id.
pub const SEGMENT_PREFIX: &str = "br-";

/// The scope path of a branch itself (what its bound staff and its direct customers carry).
pub fn scope_of(branch: Uuid) -> String {
    format!("{SEGMENT_PREFIX}{branch}")
}

/// The branch a scope path lies in (its first segment, when that is a branch's).
pub fn branch_of(scope: Option<&str>) -> Option<Uuid> {
    let first = scope?.split('/').next()?;
    first.strip_prefix(SEGMENT_PREFIX)?.parse().ok()
}

/// Whether a path segment is a branch's (not an operator's).
pub fn is_branch_segment(segment: &str) -> bool {
    segment.starts_with(SEGMENT_PREFIX)
}

/// A branch's code follows the rules of a POP's (what fits on a label and in a report column).
pub fn validate_code(v: &mut Validation, field: &str, code: &str) -> String {
    crate::network::validate_pop_code(v, field, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_branch_is_read_back_from_any_path_below_it() {
        let b = Uuid::now_v7();
        let op = Uuid::now_v7();
        assert_eq!(branch_of(Some(&scope_of(b))), Some(b));
        assert_eq!(branch_of(Some(&format!("{}/{op}", scope_of(b)))), Some(b));
        assert_eq!(branch_of(Some(&op.to_string())), None, "an operator outside branches");
        assert_eq!(branch_of(None), None);
        assert_eq!(branch_of(Some("br-not-an-id")), None);
    }
}
