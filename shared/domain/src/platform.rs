//! Platform resellers ("Super Admins") buy ISP slots from the platform owner.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlatformReseller {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// The reseller's ISPs' staff are locked out (403 `subscription_expired`) after this instant.
    pub subscription_expires_at: DateTime<Utc>,
    /// How many ISPs it may have.
    pub isp_limit: u32,
    /// How many ISPs it has; raised in the same transaction that creates one, never above the limit.
    pub isp_count: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl PlatformReseller {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.subscription_expires_at <= now
    }
}
