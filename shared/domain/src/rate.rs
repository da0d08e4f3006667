//! Fixed-window limits on requests that anyone may send without logging in (password resets):
//! per e-mail address and per source address, counted whether or not an account exists.

use crate::Timestamp;
use chrono::{DateTime, Duration};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Names the counter (part of its key) and the limit in a 429's detail.
    pub name: &'static str,
    pub max: u32,
    pub window: Duration,
}

/// Reset requests for one e-mail address: a person who lost a code asks again, not 25 times.
pub const RESET_PER_ADDRESS: RateLimit = RateLimit { name: "reset-address", max: 5, window: Duration::hours(1) };
/// Reset requests from one source address: an office or a carrier-grade NAT shares one address.
pub const RESET_PER_SOURCE: RateLimit = RateLimit { name: "reset-source", max: 30, window: Duration::hours(1) };

/// Portal login codes for one login name in an ISP: each is an SMS the ISP pays for.
pub const PORTAL_CODE_PER_LOGIN: RateLimit =
    RateLimit { name: "portal-code-login", max: 5, window: Duration::hours(1) };
/// Portal login codes asked from one source address.
pub const PORTAL_CODE_PER_SOURCE: RateLimit =
    RateLimit { name: "portal-code-source", max: 30, window: Duration::hours(1) };

/// Vouchers bought at a hotspot's login page (no account) for one phone: each opens a session at
/// the ISP's gateway.
pub const VOUCHER_PURCHASE_PER_PHONE: RateLimit =
    RateLimit { name: "voucher-buy-phone", max: 5, window: Duration::hours(1) };
/// ... and from one source address (a hotspot's clients share its public address).
pub const VOUCHER_PURCHASE_PER_SOURCE: RateLimit =
    RateLimit { name: "voucher-buy-source", max: 60, window: Duration::hours(1) };

impl RateLimit {
    /// The window `now` falls in: its start (which counter) and its end (when to try again).
    pub fn window(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        let len = self.window.num_seconds().max(1);
        let start = now.timestamp().div_euclid(len) * len;
        let start = DateTime::from_timestamp(start, 0).expect("a window start in range");
        (start, start + self.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn windows_are_whole_and_adjacent() {
        let at = |h, m, s| Utc.with_ymd_and_hms(2026, 12, 31, h, m, s).unwrap();
        let (start, end) = RESET_PER_ADDRESS.window(at(23, 59, 59));
        assert_eq!((start, end), (at(23, 0, 0), at(23, 0, 0) + Duration::hours(1)));
        assert_eq!(RESET_PER_ADDRESS.window(at(23, 0, 0)).0, at(23, 0, 0), "a start is in its own window");
        assert_eq!(RESET_PER_ADDRESS.window(end).0, end, "the next window starts where one ends");
    }
}
