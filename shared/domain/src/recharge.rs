//! Recharge cards: a scratch card with a value in the ISP's currency that a PPPoE subscriber (or
//! staff for them) redeems once: the value is paid into the customer's account by the one settle
//! path (open invoices first, so a prepaid renewal extends the subscription; the rest credit). A
//! card is a bearer secret: its code is long (16 symbols, about 79 bits), stored only as a hash
//! (the key it is found by) and sealed (for printing), and guessing is throttled per customer and
//! per ISP. Pure: the vouchers context stores, throttles and redeems.

use crate::{Error, Validation};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Random symbols on a card (after its prefix): the voucher alphabet, no look-alikes.
pub const CARD_CODE_LENGTH: u8 = 16;
/// Cards made in one request (generated at once, in transactions of [`CARD_CHUNK`]).
pub const MAX_CARDS: u32 = 1_000;
pub const CARD_CHUNK: usize = 25;
/// The largest card value (a typo guard: 100,000 in major units).
pub const MAX_CARD_VALUE: i64 = 10_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    Unused,
    Redeemed,
    Disabled,
}

impl CardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Unused => "unused",
            CardStatus::Redeemed => "redeemed",
            CardStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [CardStatus::Unused, CardStatus::Redeemed, CardStatus::Disabled].into_iter().find(|c| c.as_str() == s)
    }
}

/// A batch of cards, as made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CardBatch {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub quantity: u32,
    /// Minor units of `currency`, each card.
    pub value: i64,
    pub currency: String,
    pub prefix: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// One card. `code_hash` is its identity; the code itself is only sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RechargeCard {
    pub tenant_id: Uuid,
    pub batch_id: Uuid,
    /// 1-based within the batch (the printed serial).
    pub seq: u32,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    #[schema(ignore)]
    pub code_hash: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    #[schema(ignore)]
    pub code_sealed: String,
    /// The code's last four symbols, for staff to tell cards apart.
    pub code_hint: String,
    pub value: i64,
    pub currency: String,
    pub status: CardStatus,
    pub expires_at: Option<DateTime<Utc>>,
    pub redeemed_by_customer: Option<Uuid>,
    pub redeemed_at: Option<DateTime<Utc>>,
    /// The payment its value became.
    pub payment_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub version: u64,
}

/// Why a code does not redeem (all the same to the person typing it: a guess learns nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Used,
    Disabled,
    Expired,
}

impl RechargeCard {
    /// Whether the card may be redeemed now.
    pub fn redeemable(&self, now: DateTime<Utc>) -> Result<(), Refusal> {
        match self.status {
            CardStatus::Redeemed => Err(Refusal::Used),
            CardStatus::Disabled => Err(Refusal::Disabled),
            CardStatus::Unused if self.expires_at.is_some_and(|e| e <= now) => Err(Refusal::Expired),
            CardStatus::Unused => Ok(()),
        }
    }

    /// The card as redeemed for `customer` by `payment`.
    pub fn redeem(&mut self, customer: Uuid, payment: Uuid, now: DateTime<Utc>) -> Result<(), Refusal> {
        self.redeemable(now)?;
        self.status = CardStatus::Redeemed;
        self.redeemed_by_customer = Some(customer);
        self.redeemed_at = Some(now);
        self.payment_id = Some(payment);
        self.version += 1;
        Ok(())
    }
}

/// What a refused code answers: one message for every reason (no oracle for guessing), 422.
pub fn refused(r: Refusal) -> Error {
    let detail = match r {
        Refusal::Used => "this card was redeemed already",
        Refusal::Unknown | Refusal::Disabled | Refusal::Expired => "no usable recharge card has this code",
    };
    Error::field("code", detail)
}

/// The hash a card is stored and found by: SHA-256 of the ISP and the normalized code (a 79-bit
/// random code needs no salt against guessing the hash back).
pub fn code_hash(tenant: Uuid, normalized_code: &str) -> String {
    crate::crypto::sha256_hex(format!("recharge-card:{tenant}:{normalized_code}").as_bytes())
}

/// A card's code grouped by four for printing (`ABCD-EFGH-...`).
pub fn grouped(code: &str) -> String {
    code.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

/// Checks a request for cards; answers the prefix as stored.
pub fn check_cards(
    v: &mut Validation,
    quantity: u32,
    value: i64,
    prefix: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> String {
    if quantity == 0 || quantity > MAX_CARDS {
        v.add("quantity", format!("must be 1 to {MAX_CARDS}"));
    }
    v.range_i64("value", value, 1, MAX_CARD_VALUE);
    let prefix = prefix.trim().to_uppercase();
    if prefix.len() > 4 || !prefix.bytes().all(|c| crate::voucher::CODE_ALPHABET.contains(&c)) {
        v.add("prefix", "must be up to 4 symbols of the card alphabet (no 0, O, 1, I or L)");
    }
    if expires_at.is_some_and(|e| e <= now) {
        v.add("expires_at", "must be in the future");
    }
    prefix
}

/// How many wrong codes a customer, a source address and the whole ISP may try in a window before
/// redemption is refused for the rest of it (the limits are settings: see `crate::rate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    pub window: Duration,
    pub per_customer: i64,
    pub per_source: i64,
    pub per_isp: i64,
}

/// The built-in limits.
pub const THROTTLE: Throttle =
    Throttle { window: crate::rate::CARD_WINDOW, per_customer: 5, per_source: 20, per_isp: 200 };

/// The wrong codes counted so far in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    pub customer: i64,
    /// From the request's source address (0 when it has none).
    pub source: i64,
    pub isp: i64,
}

impl Throttle {
    /// The limits in force.
    pub fn of(limits: &crate::rate::RateLimits) -> Throttle {
        Throttle {
            window: crate::rate::CARD_WINDOW,
            per_customer: i64::from(limits.wrong_cards_per_customer),
            per_source: i64::from(limits.wrong_cards_per_source),
            per_isp: i64::from(limits.wrong_cards_per_isp),
        }
    }

    /// The window `now` falls in (its start, as the counter's name) and the seconds left in it.
    pub fn window_of(&self, now: DateTime<Utc>) -> (i64, u64) {
        let w = self.window.num_seconds();
        let start = now.timestamp().div_euclid(w) * w;
        (start, (start + w - now.timestamp()).max(1) as u64)
    }

    /// Refused while any count of wrong codes in this window has reached its limit.
    pub fn check(&self, failures: Failures, now: DateTime<Utc>) -> crate::Result<()> {
        let (_, left) = self.window_of(now);
        let who = if failures.customer >= self.per_customer {
            "this customer"
        } else if failures.source >= self.per_source {
            "this address"
        } else if failures.isp >= self.per_isp {
            "this ISP"
        } else {
            return Ok(());
        };
        Err(Error::TooManyRequests {
            code: "too_many_card_attempts",
            detail: format!("too many wrong recharge card codes for {who}; try again in {} minutes", left.div_ceil(60)),
            retry_after_secs: left,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn card() -> RechargeCard {
        RechargeCard {
            tenant_id: Uuid::nil(),
            batch_id: Uuid::nil(),
            seq: 1,
            code_hash: "h".into(),
            code_sealed: "s".into(),
            code_hint: "WXYZ".into(),
            value: 50_000,
            currency: "BDT".into(),
            status: CardStatus::Unused,
            expires_at: Some(at("2027-01-01T00:00:00Z")),
            redeemed_by_customer: None,
            redeemed_at: None,
            payment_id: None,
            created_at: at("2026-12-01T00:00:00Z"),
            version: 1,
        }
    }

    #[test]
    fn a_card_redeems_once_and_not_after_it_expires_or_is_disabled() {
        let now = at("2026-12-06T10:00:00Z");
        let mut c = card();
        c.redeem(Uuid::from_u128(1), Uuid::from_u128(2), now).unwrap();
        assert_eq!((c.status, c.version, c.payment_id), (CardStatus::Redeemed, 2, Some(Uuid::from_u128(2))));
        assert_eq!(c.redeem(Uuid::from_u128(3), Uuid::from_u128(4), now), Err(Refusal::Used));
        assert_eq!(c.redeemed_by_customer, Some(Uuid::from_u128(1)), "a refused redemption changes nothing");
        let late = at("2027-01-01T00:00:00Z");
        assert_eq!(card().redeemable(late), Err(Refusal::Expired));
        let mut d = card();
        d.status = CardStatus::Disabled;
        assert_eq!(d.redeemable(now), Err(Refusal::Disabled));
        // Unknown, disabled and expired read alike to the one typing.
        assert_eq!(format!("{:?}", refused(Refusal::Expired)), format!("{:?}", refused(Refusal::Unknown)));
    }

    #[test]
    fn codes_hash_per_isp_and_print_in_groups() {
        assert_ne!(code_hash(Uuid::nil(), "ABCD"), code_hash(Uuid::from_u128(1), "ABCD"));
        assert_eq!(code_hash(Uuid::nil(), "ABCD").len(), 64);
        assert_eq!(grouped("RCABCDEFGH23"), "RCAB-CDEF-GH23");
    }

    #[test]
    fn a_request_for_cards_is_checked() {
        let now = at("2026-12-06T10:00:00Z");
        let mut v = Validation::new();
        assert_eq!(check_cards(&mut v, 10, 50_000, " rc ", None, now), "RC");
        assert!(v.finish().is_ok());
        let mut v = Validation::new();
        check_cards(&mut v, 1_001, 0, "R0", Some(now), now);
        let Err(f) = v.finish() else { panic!("accepted") };
        let fields: Vec<_> = f.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["quantity", "value", "prefix", "expires_at"]);
    }

    #[test]
    fn wrong_codes_are_throttled_per_customer_and_per_isp_until_the_window_ends() {
        let now = at("2026-12-06T10:05:00Z");
        assert_eq!(THROTTLE.window_of(now), (at("2026-12-06T10:00:00Z").timestamp(), 600));
        let f = |customer, source, isp| Failures { customer, source, isp };
        assert!(THROTTLE.check(f(4, 19, 199), now).is_ok());
        match THROTTLE.check(f(5, 0, 0), now) {
            Err(Error::TooManyRequests { retry_after_secs, detail, .. }) => {
                assert_eq!(retry_after_secs, 600);
                assert!(detail.contains("this customer"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(THROTTLE.check(f(0, 0, 200), now), Err(Error::TooManyRequests { .. })));
        match THROTTLE.check(f(0, 20, 0), now) {
            Err(Error::TooManyRequests { detail, .. }) => assert!(detail.contains("this address"), "{detail}"),
            other => panic!("{other:?}"),
        }
        let settings = crate::rate::RateLimits { wrong_cards_per_customer: 2, ..crate::rate::RateLimits::BUILT_IN };
        assert!(Throttle::of(&settings).check(f(2, 0, 0), now).is_err());
        assert_eq!(Throttle::of(&crate::rate::RateLimits::BUILT_IN), THROTTLE);
    }
}
