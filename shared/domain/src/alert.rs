//! Staff alerts: something an ISP's staff must know and act on (a router down, a subscriber the
//! router refused, a payment gateway account that stopped working). Raised once per episode in the
//! transaction that finds it, kept in the ISP's alert log (read / unread), and delivered by the
//! ISP's messaging rules (a Telegram chat, an operator's phone).

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    RouterOffline,
    RouterBack,
    /// A subscriber's change the router refused (not a connection failure: that is the router's
    /// own alert).
    ProvisioningFailed,
    /// A payment gateway account's credentials or the gateway refused a request.
    GatewayFailing,
    /// An event of the ISP's that a worker gave up on after its retries (in a dead-letter queue).
    DeadLetter,
    /// A support ticket broke its service level: escalated to the manager, then the admin.
    TicketEscalated,
    /// An inventory item fell below its low-stock threshold (once until it is back above).
    LowStock,
    /// A router's monitoring crossed a threshold (high latency or loss to a target, high CPU, an
    /// interface down): once when the episode starts.
    MonitoringProblem,
    /// ... and once when it ends.
    MonitoringRecovered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl AlertKind {
    pub const ALL: [AlertKind; 9] = [
        AlertKind::RouterOffline,
        AlertKind::RouterBack,
        AlertKind::ProvisioningFailed,
        AlertKind::GatewayFailing,
        AlertKind::DeadLetter,
        AlertKind::TicketEscalated,
        AlertKind::LowStock,
        AlertKind::MonitoringProblem,
        AlertKind::MonitoringRecovered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::RouterOffline => "router_offline",
            AlertKind::RouterBack => "router_back",
            AlertKind::ProvisioningFailed => "provisioning_failed",
            AlertKind::GatewayFailing => "gateway_failing",
            AlertKind::DeadLetter => "dead_letter",
            AlertKind::TicketEscalated => "ticket_escalated",
            AlertKind::LowStock => "low_stock",
            AlertKind::MonitoringProblem => "monitoring_problem",
            AlertKind::MonitoringRecovered => "monitoring_recovered",
        }
    }

    pub fn parse(s: &str) -> Option<AlertKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How bad it is: subscribers are cut off (critical), one subscriber is (warning), or it is
    /// good news (info).
    pub fn severity(self) -> Severity {
        match self {
            AlertKind::RouterOffline | AlertKind::GatewayFailing => Severity::Critical,
            AlertKind::ProvisioningFailed
            | AlertKind::DeadLetter
            | AlertKind::TicketEscalated
            | AlertKind::LowStock
            | AlertKind::MonitoringProblem => Severity::Warning,
            AlertKind::RouterBack | AlertKind::MonitoringRecovered => Severity::Info,
        }
    }
}

/// What an alert is about: the names are kept as they were when it was raised, so the log reads
/// right after a rename or a deletion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlertSubject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pop_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alert {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: AlertKind,
    pub severity: Severity,
    /// One line for a list, in English (the delivered messages use the ISP's templates).
    pub title: String,
    /// What went wrong, as the router or gateway said it.
    pub detail: Option<String>,
    #[serde(flatten)]
    pub subject: AlertSubject,
    pub raised_at: chrono::DateTime<chrono::Utc>,
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
    pub read_by: Option<Uuid>,
    pub version: u64,
}

impl Alert {
    /// A new unread alert; `id` is derived by the raiser from what makes the episode unique, so a
    /// repeated raise is the same alert.
    pub fn new(
        id: Uuid,
        tenant_id: Uuid,
        kind: AlertKind,
        subject: AlertSubject,
        detail: Option<String>,
        at: Timestamp,
    ) -> Alert {
        let title = title(kind, &subject);
        Alert {
            id,
            tenant_id,
            kind,
            severity: kind.severity(),
            title,
            detail,
            subject,
            raised_at: at,
            read_at: None,
            read_by: None,
            version: 1,
        }
    }

    pub fn unread(&self) -> bool {
        self.read_at.is_none()
    }
}

fn title(kind: AlertKind, s: &AlertSubject) -> String {
    let router = s.router_name.as_deref().unwrap_or("a router");
    let watched = s.device_name.as_deref().map(|d| format!("Device {d}")).unwrap_or_else(|| format!("Router {router}"));
    match kind {
        AlertKind::RouterOffline => format!("Router {router} is offline"),
        AlertKind::RouterBack => format!("Router {router} is back online"),
        AlertKind::ProvisioningFailed => format!(
            "{router} refused the change of {}",
            s.username.as_deref().or(s.customer_name.as_deref()).unwrap_or("a subscriber")
        ),
        AlertKind::GatewayFailing => format!(
            "Payment gateway {} ({}) is failing",
            s.gateway.as_deref().unwrap_or("account"),
            s.account_name.as_deref().unwrap_or("-")
        ),
        AlertKind::DeadLetter => "Work failed after its retries".to_string(),
        AlertKind::TicketEscalated => {
            format!("A ticket of {} broke its service level", s.customer_name.as_deref().unwrap_or("a caller"))
        }
        AlertKind::LowStock => "An item is low on stock".to_string(),
        AlertKind::MonitoringProblem => format!("{watched} crossed a monitoring threshold"),
        AlertKind::MonitoringRecovered => format!("{watched} is within its thresholds again"),
    }
}

/// `AlertRaised`: which alert (the worker reads it from the table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRaised {
    pub alert_id: Uuid,
    pub kind: AlertKind,
}
impl crate::event::EventPayload for AlertRaised {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_and_rank() {
        for k in AlertKind::ALL {
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(AlertKind::parse("router_down"), None);
        assert!(AlertKind::RouterOffline.severity() > AlertKind::ProvisioningFailed.severity());
        assert!(AlertKind::ProvisioningFailed.severity() > AlertKind::RouterBack.severity());
    }

    #[test]
    fn titles_name_what_it_is_about() {
        let at = chrono::DateTime::UNIX_EPOCH;
        let s = AlertSubject {
            router_name: Some("Mirpur-CCR".into()),
            username: Some("rahim".into()),
            ..Default::default()
        };
        let a = Alert::new(Uuid::nil(), Uuid::nil(), AlertKind::ProvisioningFailed, s, None, at);
        assert_eq!(a.title, "Mirpur-CCR refused the change of rahim");
        assert!(a.unread());
        assert_eq!(a.severity, Severity::Warning);
        let g = AlertSubject { gateway: Some("bkash".into()), account_name: Some("Main".into()), ..Default::default() };
        assert_eq!(
            Alert::new(Uuid::nil(), Uuid::nil(), AlertKind::GatewayFailing, g, None, at).title,
            "Payment gateway bkash (Main) is failing"
        );
    }
}
