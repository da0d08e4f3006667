//! What can go wrong when talking to a router, in the terms the callers act on.

/// Where a timeout struck; a router that accepts TCP but never answers the login is a different
/// fault from one that stalls on a single command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Connect,
    Tls,
    Login,
    Command,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connect",
            Stage::Tls => "TLS handshake",
            Stage::Login => "login",
            Stage::Command => "command",
        })
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RouterError {
    /// TCP connect failed (refused, no route, DNS): the router or its API service is down.
    #[error("router unreachable: {0}")]
    Unreachable(String),
    /// No answer within the deadline of that stage.
    #[error("router did not answer the {0} in time")]
    Timeout(Stage),
    /// The API-SSL handshake failed, e.g. a certificate that does not verify.
    #[error("TLS handshake with the router failed: {0}")]
    Tls(String),
    /// The router refused the API user's credentials.
    #[error("router refused the login: {0}")]
    LoginRejected(String),
    /// The connection closed (or the router sent `!fatal`) before the command's `!done`.
    #[error("connection to the router was lost: {0}")]
    ConnectionLost(String),
    /// The host names or resolves to an address no router may have (cloud metadata, link-local,
    /// this host): never connected to.
    #[error("router address refused: {0}")]
    Refused(String),
    /// The router answered the command with `!trap`.
    #[error("router refused the command {command}: {message}")]
    Trap { command: String, category: Option<u8>, message: String },
}

impl RouterError {
    /// Faults of the link or the router's availability: the same work may succeed on a new
    /// connection later. A trap or a refused login will not fix itself by retrying at once.
    pub fn is_transient(&self) -> bool {
        matches!(self, RouterError::Unreachable(_) | RouterError::Timeout(_) | RouterError::ConnectionLost(_))
    }

    /// The connection this error came from can no longer be used.
    pub fn kills_connection(&self) -> bool {
        !matches!(self, RouterError::Trap { .. })
    }

    /// RouterOS's "no such item" family: the item was removed meanwhile (an active session that
    /// ended, a secret someone deleted by hand).
    pub fn is_no_such_item(&self) -> bool {
        match self {
            RouterError::Trap { message, .. } => {
                let m = message.to_ascii_lowercase();
                m.contains("no such item") || m.contains("no such id")
            }
            _ => false,
        }
    }

    /// A stable code for records and API answers.
    pub fn code(&self) -> &'static str {
        match self {
            RouterError::Unreachable(_) => "router_unreachable",
            RouterError::Timeout(_) => "router_timeout",
            RouterError::Tls(_) => "router_tls_failed",
            RouterError::LoginRejected(_) => "router_login_failed",
            RouterError::ConnectionLost(_) => "router_connection_lost",
            RouterError::Trap { .. } => "router_command_failed",
            RouterError::Refused(_) => "router_address_refused",
        }
    }
}
