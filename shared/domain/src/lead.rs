//! Leads: prospects moving through the sales stages until they become customers (or are lost).

use crate::error::Error;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStage {
    New,
    Contacted,
    /// A technician checks the line can be built.
    Survey,
    Negotiation,
    /// Converted into a customer (only through conversion).
    Won,
    Lost,
}

impl LeadStage {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStage::New => "new",
            LeadStage::Contacted => "contacted",
            LeadStage::Survey => "survey",
            LeadStage::Negotiation => "negotiation",
            LeadStage::Won => "won",
            LeadStage::Lost => "lost",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::New, Self::Contacted, Self::Survey, Self::Negotiation, Self::Won, Self::Lost]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
    pub fn is_open(self) -> bool {
        !matches!(self, LeadStage::Won | LeadStage::Lost)
    }
}

/// Whether staff may move a lead from `from` to `to` by hand: between open stages in any order
/// (sales is not linear), to `lost` from any open stage, back to `new` from `lost`; `won` is reached
/// only by converting, and a won lead is final.
pub fn check_stage_move(from: LeadStage, to: LeadStage) -> Result<(), Error> {
    let ok = match (from, to) {
        (f, t) if f == t => true,
        (LeadStage::Won, _) | (_, LeadStage::Won) => false,
        (LeadStage::Lost, t) => t == LeadStage::New,
        (_, _) => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::Conflict {
            code: "invalid_transition",
            detail: format!("a {} lead cannot move to {}", from.as_str(), to.as_str()),
            field: None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Lead {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// E.164.
    pub phone: String,
    pub email: Option<String>,
    pub address: Option<String>,
    pub area: Option<String>,
    pub pop_id: Option<Uuid>,
    /// Where the lead came from (walk-in, facebook, referral...).
    pub source: Option<String>,
    pub notes: Option<String>,
    pub stage: LeadStage,
    pub lost_reason: Option<String>,
    /// The staff member working the lead.
    pub assigned_to: Option<Uuid>,
    pub operator_id: Option<Uuid>,
    pub scope: Option<String>,
    /// Set once converted.
    pub customer_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use LeadStage::*;

    #[test]
    fn stage_moves() {
        assert!(check_stage_move(New, Survey).is_ok());
        assert!(check_stage_move(Negotiation, Contacted).is_ok(), "sales is not linear");
        assert!(check_stage_move(Survey, Lost).is_ok());
        assert!(check_stage_move(Lost, New).is_ok());
        assert!(check_stage_move(Lost, Survey).is_err());
        assert!(check_stage_move(New, Won).is_err(), "only conversion wins a lead");
        assert!(check_stage_move(Won, Lost).is_err());
        for s in [New, Contacted, Survey, Negotiation, Won, Lost] {
            assert_eq!(LeadStage::parse(s.as_str()), Some(s));
        }
    }
}
