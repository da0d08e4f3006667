//! What provisioning last did for a subscription on its router, as staff see it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProvisioningRecord {
    pub subscription_id: Uuid,
    pub router_id: Uuid,
    /// What the router was last made to hold: `enabled`, `disabled`, `walled_garden`, `absent`.
    pub state: Option<String>,
    /// The router's `.id` of the PPP secret / hotspot user / queue.
    pub item_id: Option<String>,
    /// The subscription version that state was derived from.
    pub subscription_version: Option<u64>,
    /// The profile and rate limit the subscriber's session runs under after that apply.
    pub profile: Option<String>,
    pub rate_limit: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
    /// What the last successful apply changed (empty: the router already matched).
    pub actions: Vec<String>,
    pub last_attempt_at: DateTime<Utc>,
    pub last_error: Option<ProvisioningError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProvisioningError {
    /// `router_unreachable`, `router_timeout`, `router_login_failed`, `router_command_failed`, ...
    pub code: String,
    pub message: String,
    pub at: DateTime<Utc>,
}
