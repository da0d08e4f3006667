//! Request limits. Fixed-window limits on requests that anyone may send without logging in
//! (logins, password resets, portal codes): per account and per source address, counted whether
//! or not an account exists. The API's own limits per ISP and per API key are counted in each
//! container and shared through the table in batches ([`Batched`]), so a count costs a small
//! fraction of a write per request. Every limit is a setting: the platform's default, and for an
//! ISP's own limits an override per ISP ([`RateLimitSettings`]).

use crate::{Timestamp, Validation};
use chrono::{DateTime, Duration};
use serde::{Deserialize, Serialize};

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

/// The highest API rate any setting may give (requests a minute).
pub const MAX_REQUESTS_PER_MINUTE: u32 = 600_000;
/// The highest of the per-account and per-address limits (per window).
pub const MAX_PER_WINDOW: u32 = 100_000;
/// The window of the API's limits.
pub const API_WINDOW: Duration = Duration::minutes(1);
/// The window of wrong recharge card codes.
pub const CARD_WINDOW: Duration = Duration::minutes(15);

/// Limits as settings: each field None takes the level above (an ISP's override, then the
/// platform's default, then the built-in value of [`RateLimits::BUILT_IN`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// API requests a minute by an ISP's staff and API keys together.
    #[serde(default)]
    pub api_per_minute: Option<u32>,
    /// API requests a minute by one API key (a key may set a lower limit of its own).
    #[serde(default)]
    pub key_per_minute: Option<u32>,
    /// Portal requests a minute by an ISP's subscribers together.
    #[serde(default)]
    pub portal_per_minute: Option<u32>,
    /// Login attempts an hour from one source address (staff logins platform-wide; portal logins
    /// per ISP).
    #[serde(default)]
    pub logins_per_source_per_hour: Option<u32>,
    /// Password reset requests an hour for one e-mail address (platform only).
    #[serde(default)]
    pub resets_per_address_per_hour: Option<u32>,
    /// Password reset requests an hour from one source address (platform only).
    #[serde(default)]
    pub resets_per_source_per_hour: Option<u32>,
    /// Portal login codes (SMS) an hour for one login name.
    #[serde(default)]
    pub portal_codes_per_login_per_hour: Option<u32>,
    /// Portal login codes an hour from one source address.
    #[serde(default)]
    pub portal_codes_per_source_per_hour: Option<u32>,
    /// Wrong recharge card codes in 15 minutes by one subscriber.
    #[serde(default)]
    pub wrong_cards_per_customer: Option<u32>,
    /// Wrong recharge card codes in 15 minutes from one source address.
    #[serde(default)]
    pub wrong_cards_per_source: Option<u32>,
    /// Wrong recharge card codes in 15 minutes in the whole ISP.
    #[serde(default)]
    pub wrong_cards_per_isp: Option<u32>,
}

/// The limits in force for one caller: every setting resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RateLimits {
    pub api_per_minute: u32,
    pub key_per_minute: u32,
    pub portal_per_minute: u32,
    pub logins_per_source_per_hour: u32,
    pub resets_per_address_per_hour: u32,
    pub resets_per_source_per_hour: u32,
    pub portal_codes_per_login_per_hour: u32,
    pub portal_codes_per_source_per_hour: u32,
    pub wrong_cards_per_customer: u32,
    pub wrong_cards_per_source: u32,
    pub wrong_cards_per_isp: u32,
}

impl RateLimits {
    /// The limits when nobody has set any: generous for an ISP's integrations (20 requests a second),
    /// strict where each request is a guess at a secret or an SMS someone pays for.
    pub const BUILT_IN: RateLimits = RateLimits {
        api_per_minute: 1_200,
        key_per_minute: 300,
        portal_per_minute: 1_200,
        logins_per_source_per_hour: 100,
        resets_per_address_per_hour: 5,
        resets_per_source_per_hour: 30,
        portal_codes_per_login_per_hour: 5,
        portal_codes_per_source_per_hour: 30,
        wrong_cards_per_customer: 5,
        wrong_cards_per_source: 20,
        wrong_cards_per_isp: 200,
    };

    /// The platform's defaults under an ISP's override (`isp`, None for platform-wide callers).
    /// The platform-only limits ignore an ISP's value (it is refused when set, see
    /// [`RateLimitSettings::check_for_isp`]).
    pub fn resolve(platform: &RateLimitSettings, isp: Option<&RateLimitSettings>) -> RateLimits {
        let b = RateLimits::BUILT_IN;
        let pick = |f: fn(&RateLimitSettings) -> Option<u32>, built_in: u32| {
            isp.and_then(f).or_else(|| f(platform)).unwrap_or(built_in)
        };
        let platform_only = |f: fn(&RateLimitSettings) -> Option<u32>, built_in: u32| f(platform).unwrap_or(built_in);
        RateLimits {
            api_per_minute: pick(|s| s.api_per_minute, b.api_per_minute),
            key_per_minute: pick(|s| s.key_per_minute, b.key_per_minute),
            portal_per_minute: pick(|s| s.portal_per_minute, b.portal_per_minute),
            logins_per_source_per_hour: pick(|s| s.logins_per_source_per_hour, b.logins_per_source_per_hour),
            resets_per_address_per_hour: platform_only(
                |s| s.resets_per_address_per_hour,
                b.resets_per_address_per_hour,
            ),
            resets_per_source_per_hour: platform_only(|s| s.resets_per_source_per_hour, b.resets_per_source_per_hour),
            portal_codes_per_login_per_hour: pick(
                |s| s.portal_codes_per_login_per_hour,
                b.portal_codes_per_login_per_hour,
            ),
            portal_codes_per_source_per_hour: pick(
                |s| s.portal_codes_per_source_per_hour,
                b.portal_codes_per_source_per_hour,
            ),
            wrong_cards_per_customer: pick(|s| s.wrong_cards_per_customer, b.wrong_cards_per_customer),
            wrong_cards_per_source: pick(|s| s.wrong_cards_per_source, b.wrong_cards_per_source),
            wrong_cards_per_isp: pick(|s| s.wrong_cards_per_isp, b.wrong_cards_per_isp),
        }
    }

    pub fn logins_per_source(&self) -> RateLimit {
        RateLimit { name: "login-source", max: self.logins_per_source_per_hour, window: Duration::hours(1) }
    }
    pub fn portal_logins_per_source(&self) -> RateLimit {
        RateLimit { name: "portal-login-source", max: self.logins_per_source_per_hour, window: Duration::hours(1) }
    }
    pub fn resets_per_address(&self) -> RateLimit {
        RateLimit { max: self.resets_per_address_per_hour, ..RESET_PER_ADDRESS }
    }
    pub fn resets_per_source(&self) -> RateLimit {
        RateLimit { max: self.resets_per_source_per_hour, ..RESET_PER_SOURCE }
    }
    pub fn portal_codes_per_login(&self) -> RateLimit {
        RateLimit { max: self.portal_codes_per_login_per_hour, ..PORTAL_CODE_PER_LOGIN }
    }
    pub fn portal_codes_per_source(&self) -> RateLimit {
        RateLimit { max: self.portal_codes_per_source_per_hour, ..PORTAL_CODE_PER_SOURCE }
    }
}

impl RateLimitSettings {
    fn fields(&self) -> [(&'static str, Option<u32>, u32); 11] {
        [
            ("api_per_minute", self.api_per_minute, MAX_REQUESTS_PER_MINUTE),
            ("key_per_minute", self.key_per_minute, MAX_REQUESTS_PER_MINUTE),
            ("portal_per_minute", self.portal_per_minute, MAX_REQUESTS_PER_MINUTE),
            ("logins_per_source_per_hour", self.logins_per_source_per_hour, MAX_PER_WINDOW),
            ("resets_per_address_per_hour", self.resets_per_address_per_hour, MAX_PER_WINDOW),
            ("resets_per_source_per_hour", self.resets_per_source_per_hour, MAX_PER_WINDOW),
            ("portal_codes_per_login_per_hour", self.portal_codes_per_login_per_hour, MAX_PER_WINDOW),
            ("portal_codes_per_source_per_hour", self.portal_codes_per_source_per_hour, MAX_PER_WINDOW),
            ("wrong_cards_per_customer", self.wrong_cards_per_customer, MAX_PER_WINDOW),
            ("wrong_cards_per_source", self.wrong_cards_per_source, MAX_PER_WINDOW),
            ("wrong_cards_per_isp", self.wrong_cards_per_isp, MAX_PER_WINDOW),
        ]
    }

    /// Every value set is from 1 to its ceiling (a limit of 0 would shut the door; none is
    /// unlimited: the whole API's throttling is the ceiling above all).
    pub fn check(&self, v: &mut Validation, prefix: &str) {
        for (name, value, max) in self.fields() {
            if let Some(n) = value
                && !(1..=max).contains(&n)
            {
                v.add(&format!("{prefix}{name}"), format!("must be from 1 to {max}"));
            }
        }
    }

    /// As [`RateLimitSettings::check`], for an ISP's override: the limits on staff password
    /// resets are the platform's alone (a reset names an e-mail address, not an ISP).
    pub fn check_for_isp(&self, v: &mut Validation, prefix: &str) {
        self.check(v, prefix);
        for (name, value) in [
            ("resets_per_address_per_hour", self.resets_per_address_per_hour),
            ("resets_per_source_per_hour", self.resets_per_source_per_hour),
        ] {
            if value.is_some() {
                v.add(&format!("{prefix}{name}"), "is set for the whole platform only");
            }
        }
    }
}

/// A limit counted per container and shared through one counter in the table, in batches: each
/// container adds its requests to the shared count every `flush_every` requests (and learns the
/// total then). A container admits a request while the total it knows plus its own unshared
/// requests is under the limit, and refuses the request whose write finds the total over it. A
/// window then admits at most `max + 2 × C × flush_every` requests with C containers serving the
/// subject (each may hold one batch unshared and add one after the total passed the limit), and
/// costs `1 / flush_every` writes per request: exact, one write each, for limits up to 99 a
/// minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Batched {
    /// The window this count is of (its start, Unix seconds).
    pub window: i64,
    /// The shared total as last read back.
    pub known: u64,
    /// Requests admitted here that the shared total does not hold yet.
    pub unshared: u64,
}

/// What a container does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Admit it; nothing to write.
    Admit,
    /// Admit it once `add` more requests are added to the shared count (and the total it answers
    /// is within the limit).
    AdmitAfterSharing { add: u64 },
    /// Refuse it until the window ends (`retry_after_secs`).
    Refuse { retry_after_secs: u64 },
}

/// Requests admitted between two writes: 1 for small limits (exact counting), up to a 50th of the
/// limit for large ones.
pub fn flush_every(max: u32) -> u64 {
    (u64::from(max) / 50).max(1)
}

impl Batched {
    /// Decides one request at `now` against `max` a `window`; the count moves on accordingly.
    pub fn admit(&mut self, max: u32, window: Duration, now: Timestamp) -> Admission {
        let len = window.num_seconds().max(1);
        let start = now.timestamp().div_euclid(len) * len;
        if start != self.window {
            *self = Batched { window: start, known: 0, unshared: 0 };
        }
        if self.known + self.unshared >= u64::from(max) {
            return Admission::Refuse { retry_after_secs: (start + len - now.timestamp()).max(1) as u64 };
        }
        self.unshared += 1;
        if self.unshared >= flush_every(max) {
            let add = self.unshared;
            self.unshared = 0;
            Admission::AdmitAfterSharing { add }
        } else {
            Admission::Admit
        }
    }

    /// The shared total after this container's write for `window` (a later window's write, or one
    /// that raced a window change, is ignored).
    pub fn shared(&mut self, window: i64, total: u64) {
        if window == self.window {
            self.known = self.known.max(total);
        }
    }
}

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
    use proptest::prelude::*;

    #[test]
    fn settings_resolve_isp_over_platform_over_built_in() {
        let platform = RateLimitSettings { api_per_minute: Some(600), key_per_minute: Some(100), ..Default::default() };
        let isp = RateLimitSettings {
            api_per_minute: Some(60),
            resets_per_address_per_hour: Some(1_000),
            ..Default::default()
        };
        let l = RateLimits::resolve(&platform, Some(&isp));
        assert_eq!((l.api_per_minute, l.key_per_minute, l.portal_per_minute), (60, 100, 1_200));
        assert_eq!(l.resets_per_address_per_hour, 5, "an ISP cannot move a platform-only limit");
        assert_eq!(RateLimits::resolve(&platform, None).api_per_minute, 600);
        assert_eq!(RateLimits::resolve(&Default::default(), None), RateLimits::BUILT_IN);

        let mut v = Validation::new();
        isp.check_for_isp(&mut v, "");
        let errors = v.finish().unwrap_err();
        assert_eq!(errors[0].field, "resets_per_address_per_hour");
        let mut v = Validation::new();
        RateLimitSettings { api_per_minute: Some(0), wrong_cards_per_isp: Some(100_001), ..Default::default() }
            .check(&mut v, "");
        let fields: Vec<_> = v.finish().unwrap_err().into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["api_per_minute", "wrong_cards_per_isp"]);
    }

    #[test]
    fn a_small_limit_is_counted_exactly_and_refused_until_the_window_ends() {
        let at = |s: u32| Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, s).unwrap();
        let mut b = Batched::default();
        for i in 0..3u64 {
            assert_eq!(b.admit(3, API_WINDOW, at(10)), Admission::AdmitAfterSharing { add: 1 });
            b.shared(b.window, i + 1);
        }
        assert_eq!(b.admit(3, API_WINDOW, at(15)), Admission::Refuse { retry_after_secs: 45 });
        // Another container's requests, learned at the next write, count too.
        let mut c = Batched::default();
        assert_eq!(c.admit(3, API_WINDOW, at(20)), Admission::AdmitAfterSharing { add: 1 });
        c.shared(c.window, 4);
        assert!(matches!(c.admit(3, API_WINDOW, at(21)), Admission::Refuse { .. }));
        // A new window starts afresh.
        assert_eq!(b.admit(3, API_WINDOW, at(0) + Duration::minutes(1)), Admission::AdmitAfterSharing { add: 1 });
    }

    proptest! {
        /// However the requests of a window fall on the containers, at most
        /// `max + 2 × C × flush_every` are admitted, and a write carries `flush_every` requests.
        #[test]
        fn batched_counting_stays_within_its_bound(
            max in 1u32..2_000,
            picks in proptest::collection::vec(0usize..8, 1..3_000),
        ) {
            let now = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 30).unwrap();
            let mut containers = [Batched::default(); 8];
            let mut shared_total = 0u64;
            let (mut admitted, mut writes) = (0u64, 0u64);
            for p in &picks {
                match containers[*p].admit(max, API_WINDOW, now) {
                    Admission::Admit => admitted += 1,
                    Admission::AdmitAfterSharing { add } => {
                        shared_total += add;
                        writes += 1;
                        let w = containers[*p].window;
                        containers[*p].shared(w, shared_total);
                        if shared_total <= u64::from(max) {
                            admitted += 1;
                        }
                    }
                    Admission::Refuse { .. } => {}
                }
            }
            let used = containers.iter().filter(|c| c.window != 0).count() as u64;
            let f = flush_every(max);
            prop_assert!(admitted <= u64::from(max) + 2 * used * f, "{admitted} admitted");
            prop_assert!(writes * f <= picks.len() as u64, "a write carries {f} requests");
            if picks.len() as u64 <= u64::from(max) {
                prop_assert_eq!(admitted, picks.len() as u64, "nothing refused under the limit");
            }
        }
    }

    #[test]
    fn windows_are_whole_and_adjacent() {
        let at = |h, m, s| Utc.with_ymd_and_hms(2026, 12, 31, h, m, s).unwrap();
        let (start, end) = RESET_PER_ADDRESS.window(at(23, 59, 59));
        assert_eq!((start, end), (at(23, 0, 0), at(23, 0, 0) + Duration::hours(1)));
        assert_eq!(RESET_PER_ADDRESS.window(at(23, 0, 0)).0, at(23, 0, 0), "a start is in its own window");
        assert_eq!(RESET_PER_ADDRESS.window(end).0, end, "the next window starts where one ends");
    }
}
