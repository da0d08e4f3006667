//! What can go wrong with a gateway, in the terms the callers act on.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// A notification's signature does not verify with this account's secret.
    #[error("the notification's signature does not verify")]
    BadSignature,
    /// A signed notification older than the gateway's tolerance (a replay).
    #[error("the notification is older than {0} seconds")]
    Stale(i64),
    /// A notification or answer that does not read as the gateway writes it.
    #[error("malformed: {0}")]
    Malformed(String),
    /// An amount or currency the gateway cannot take exactly (e.g. IDR with sen for Midtrans).
    #[error("amount not representable: {0}")]
    Amount(String),
    /// The gateway could not be reached or answered 5xx / too slowly: try again later.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
    /// The gateway refused the request (4xx): retrying the same request will not help.
    #[error("gateway refused the request ({status}): {detail}")]
    Refused { status: u16, detail: String },
    /// The gateway does not know the order (not created, or not chosen a method yet).
    #[error("the gateway does not know this order")]
    UnknownOrder,
    /// A configured base URL that may not be used (live accounts use the gateway's own hosts).
    #[error("gateway address refused: {0}")]
    AddressRefused(String),
}

impl GatewayError {
    /// Worth trying again later with the same request.
    pub fn is_transient(&self) -> bool {
        matches!(self, GatewayError::Unavailable(_))
    }

    /// A stable code for records and API answers.
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::BadSignature => "gateway_bad_signature",
            GatewayError::Stale(_) => "gateway_stale_notification",
            GatewayError::Malformed(_) => "gateway_malformed",
            GatewayError::Amount(_) => "gateway_amount",
            GatewayError::Unavailable(_) => "gateway_unavailable",
            GatewayError::Refused { .. } => "gateway_refused",
            GatewayError::UnknownOrder => "gateway_unknown_order",
            GatewayError::AddressRefused(_) => "gateway_address_refused",
        }
    }
}
