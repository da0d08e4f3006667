//! Hotspot vouchers' plans: what a printed voucher buys on an ISP's hotspot (hours or days counted
//! from first login or from activation, a data limit or none, a speed, how many devices at once)
//! and its price. A plan becomes a hotspot user profile on the ISP's routers.

use crate::Validation;
use crate::package::RatePair;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValidityFrom {
    /// The clock starts at the voucher's first login on the router.
    FirstLogin,
    /// The clock starts when the voucher is activated (sold, or by staff).
    Activation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Active,
    /// No new batches; vouchers already made keep working.
    Retired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VoucherPlan {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// e.g. `1GB-DAILY`; unique within the ISP.
    pub name: String,
    pub validity_hours: u32,
    pub validity_from: ValidityFrom,
    /// None: no data limit.
    pub data_limit_mb: Option<u64>,
    /// RouterOS `rx/tx`, e.g. `5M/5M`.
    pub rate_limit: String,
    /// Devices that may be logged in with one voucher at once.
    pub shared_users: u32,
    /// Minor units of `currency` (the ISP's).
    pub price: i64,
    pub currency: String,
    /// The hotspot user profile on the routers (`vp-` and the folded name).
    pub router_profile: String,
    pub status: PlanStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub version: u64,
}

/// Limits of a plan's fields.
pub const MAX_VALIDITY_HOURS: u32 = 24 * 366;
pub const MAX_DATA_MB: u64 = 10_000_000;
pub const MAX_SHARED_USERS: u32 = 20;
pub const MAX_PRICE: i64 = 100_000_000;

/// A plan's name, checked: 1-40 of A-Z, 0-9, `-`, `_`, `.` and spaces (printed on cards, typed
/// by staff), kept in upper case.
pub fn plan_name(v: &mut Validation, name: &str) -> String {
    let n = name.trim().to_uppercase();
    if n.is_empty() || n.chars().count() > 40 || !n.chars().all(|c| c.is_ascii_alphanumeric() || " -_.".contains(c)) {
        v.add("name", "must be 1-40 letters, digits, spaces, - _ or .");
    }
    n
}

/// The router profile a plan's vouchers use.
pub fn router_profile(name: &str) -> String {
    let slug: String = name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    format!("vp-{}", slug.trim_matches('-'))
}

/// Checks the rest of a plan's fields; the rate limit comes back as RouterOS writes it.
pub fn check_plan(
    v: &mut Validation,
    validity_hours: u32,
    data_limit_mb: Option<u64>,
    rate_limit: &str,
    shared_users: u32,
    price: i64,
) -> String {
    if validity_hours == 0 || validity_hours > MAX_VALIDITY_HOURS {
        v.add("validity_hours", format!("must be 1 to {MAX_VALIDITY_HOURS} hours"));
    }
    if data_limit_mb.is_some_and(|d| d == 0 || d > MAX_DATA_MB) {
        v.add("data_limit_mb", format!("must be 1 to {MAX_DATA_MB} MB, or null for none"));
    }
    if shared_users == 0 || shared_users > MAX_SHARED_USERS {
        v.add("shared_users", format!("must be 1 to {MAX_SHARED_USERS}"));
    }
    if !(0..=MAX_PRICE).contains(&price) {
        v.add("price", format!("must be 0 to {MAX_PRICE} minor units"));
    }
    match RatePair::parse(rate_limit) {
        Some(r) => r.to_string(),
        None => {
            v.add("rate_limit", "must be a RouterOS rate such as 5M/5M or 512k/2M");
            rate_limit.to_string()
        }
    }
}

/// The plans the product ships as examples: (name, hours, MB, rate, price in major units).
pub const EXAMPLES: [(&str, u32, Option<u64>, &str, i64); 4] = [
    ("1GB-DAILY", 24, Some(1024), "5M/5M", 20),
    ("5GB-WEEKLY", 24 * 7, Some(5 * 1024), "10M/10M", 100),
    ("20GB-MONTHLY", 24 * 30, Some(20 * 1024), "10M/10M", 300),
    ("UNLIMITED-DAILY", 24, None, "3M/3M", 30),
];

// ---- batches and vouchers -----------------------------------------------------------------------

/// The symbols of codes and separate passwords: upper-case letters and digits without the ones
/// read for each other on a printed card or a phone's screen (0/O, 1/I/L).
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const MAX_BATCH: u32 = 10_000;
/// The most vouchers a batch sends by SMS to its one buyer (each its own message).
pub const MAX_SMS_BATCH: u32 = 20;
/// Vouchers generated per job chunk (one queue message).
pub const BATCH_CHUNK: u32 = 500;
pub const MIN_CODE_LENGTH: u8 = 6;
pub const MAX_CODE_LENGTH: u8 = 16;
pub const MAX_PREFIX: usize = 6;
/// RouterOS's hotspot setup puts the hotspot on 10.5.50.1; an ISP with a DNS name sets its own.
pub const DEFAULT_LOGIN_URL: &str = "http://10.5.50.1/login";

/// A login page URL for the cards' QR codes: http(s), no query of its own beyond what we add.
pub fn check_login_url(v: &mut Validation, url: &str) -> String {
    let u = url.trim();
    let ok = (u.starts_with("http://") || u.starts_with("https://"))
        && u.len() <= 200
        && u.chars().all(|c| c.is_ascii_graphic())
        && !u.contains('#');
    if !ok {
        v.add("login_url", "must be an http:// or https:// URL of up to 200 characters");
    }
    u.to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PasswordMode {
    /// The code is the login and the password (one thing to type).
    SameAsCode,
    /// A separate random password of the code's length.
    Separate,
}

/// Where a batch's vouchers can log in: one router, every router of a POP, or all the ISP's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Placement {
    Router { router_id: Uuid },
    Pop { pop_id: Uuid },
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoucherStatus {
    /// Printed, not used yet: a hotspot user waiting on the routers.
    Unused,
    /// In use: logged in once (or activated by a sale or by staff); its validity runs.
    Active,
    /// Its validity ended; removed from the routers.
    Expired,
    /// Its data limit was reached (the routers' counters); removed from the routers.
    UsedUp,
    /// Stopped by staff; removed from the routers.
    Disabled,
    /// Taken back unused and its price returned; removed from the routers.
    Refunded,
}

impl VoucherStatus {
    pub const ALL: [VoucherStatus; 6] = [
        VoucherStatus::Unused,
        VoucherStatus::Active,
        VoucherStatus::Expired,
        VoucherStatus::UsedUp,
        VoucherStatus::Disabled,
        VoucherStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VoucherStatus::Unused => "unused",
            VoucherStatus::Active => "active",
            VoucherStatus::Expired => "expired",
            VoucherStatus::UsedUp => "used_up",
            VoucherStatus::Disabled => "disabled",
            VoucherStatus::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<VoucherStatus> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the voucher is a hotspot user on its routers in this state.
    pub fn on_routers(self) -> bool {
        matches!(self, VoucherStatus::Unused | VoucherStatus::Active)
    }
}

/// A batch of vouchers: what they buy (the plan as it was when the batch was made: cards are
/// printed with it), where they log in, who sells them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VoucherBatch {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub plan_id: Uuid,
    pub plan_name: String,
    pub validity_hours: u32,
    pub validity_from: ValidityFrom,
    pub data_limit_mb: Option<u64>,
    /// Minor units of `currency`, per voucher.
    pub price: i64,
    pub currency: String,
    pub quantity: u32,
    pub prefix: String,
    pub code_length: u8,
    pub password_mode: PasswordMode,
    pub placement: Placement,
    /// The routers the vouchers are hotspot users on (resolved from the placement when made).
    pub router_ids: Vec<Uuid>,
    /// The operator who sells them; None: the ISP's own counter.
    pub operator_id: Option<Uuid>,
    /// Printed on the cards and kept for the ISP (e.g. "Campus café, December").
    pub note: Option<String>,
    /// The hotspot's login page; the cards' QR codes open it with the code filled in.
    pub login_url: String,
    /// Made for one buyer (a customer buying a few at the counter): kept with each voucher.
    #[serde(default)]
    pub buyer_name: Option<String>,
    #[serde(default)]
    pub buyer_phone: Option<String>,
    /// Each voucher's login is sent to `buyer_phone` by SMS once it is made.
    #[serde(default)]
    pub send_sms: bool,
    pub chunks: u32,
    pub created_by: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl VoucherBatch {
    /// The sequence numbers of chunk `n`.
    pub fn chunk_range(&self, n: u32) -> std::ops::Range<u32> {
        let start = n * BATCH_CHUNK;
        start.min(self.quantity)..(start + BATCH_CHUNK).min(self.quantity)
    }

    pub fn data_limit_bytes(&self) -> Option<u64> {
        self.data_limit_mb.map(|mb| mb * 1024 * 1024)
    }
}

/// One voucher: a hotspot login sold on a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voucher {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub batch_id: Uuid,
    /// Its place in the batch (0-based), the order of the printed sheets.
    pub seq: u32,
    pub code: String,
    /// The separate password, sealed; None when the code is the password.
    pub password_sealed: Option<String>,
    pub plan_id: Uuid,
    pub status: VoucherStatus,
    pub operator_id: Option<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub activated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub first_login_at: Option<chrono::DateTime<chrono::Utc>>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Bytes moved (in + out) as the routers last counted them.
    pub bytes_used: u64,
    pub status_changed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Sold (for cash at a counter, or online): when, by whom, at what price, to whom.
    #[serde(default)]
    pub sold_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub sold_by: Option<Uuid>,
    #[serde(default)]
    pub sold_price: Option<i64>,
    #[serde(default)]
    pub buyer_name: Option<String>,
    #[serde(default)]
    pub buyer_phone: Option<String>,
    pub version: u64,
}

/// Why a voucher cannot make a move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotNow(pub String);

impl Voucher {
    /// When an active voucher's validity ends (what the expiry job waits for).
    pub fn ends_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.expires_at.filter(|_| self.status == VoucherStatus::Active)
    }

    /// The clock starts (first login seen, a sale or staff): unused -> active, with its end.
    pub fn activate(
        &mut self,
        batch: &VoucherBatch,
        now: chrono::DateTime<chrono::Utc>,
        by_login: bool,
    ) -> Result<(), NotNow> {
        if self.status != VoucherStatus::Unused {
            return Err(NotNow(format!("the voucher is {}, not unused", self.status.as_str())));
        }
        self.status = VoucherStatus::Active;
        self.activated_at = Some(now);
        if by_login {
            self.first_login_at = Some(now);
        }
        self.expires_at = Some(now + chrono::Duration::hours(i64::from(batch.validity_hours)));
        self.status_changed_at = Some(now);
        Ok(())
    }

    /// Counters from a router: kept as the largest seen (routers add up, a restart can lower
    /// them); the limit reached makes it used up.
    pub fn record_usage(&mut self, bytes: u64, batch: &VoucherBatch, now: chrono::DateTime<chrono::Utc>) -> bool {
        let before = (self.status, self.bytes_used);
        self.bytes_used = self.bytes_used.max(bytes);
        if self.status == VoucherStatus::Active && batch.data_limit_bytes().is_some_and(|l| self.bytes_used >= l) {
            self.status = VoucherStatus::UsedUp;
            self.status_changed_at = Some(now);
        }
        before != (self.status, self.bytes_used)
    }

    /// Validity over: active -> expired.
    pub fn expire_if_due(&mut self, now: chrono::DateTime<chrono::Utc>) -> bool {
        if self.status == VoucherStatus::Active && self.expires_at.is_some_and(|e| e <= now) {
            self.status = VoucherStatus::Expired;
            self.status_changed_at = Some(now);
            return true;
        }
        false
    }

    /// Staff stop it: unused or active -> disabled.
    pub fn disable(&mut self, now: chrono::DateTime<chrono::Utc>) -> Result<(), NotNow> {
        if !self.status.on_routers() {
            return Err(NotNow(format!("the voucher is {} already off the routers", self.status.as_str())));
        }
        self.status = VoucherStatus::Disabled;
        self.status_changed_at = Some(now);
        Ok(())
    }

    /// Sold to a buyer at the batch's price; a plan counted from activation starts its clock.
    pub fn sell(
        &mut self,
        batch: &VoucherBatch,
        now: chrono::DateTime<chrono::Utc>,
        by: Uuid,
        buyer_name: Option<String>,
        buyer_phone: Option<String>,
    ) -> Result<(), NotNow> {
        if self.sold_at.is_some() {
            return Err(NotNow("the voucher is sold already".into()));
        }
        if self.status != VoucherStatus::Unused {
            return Err(NotNow(format!("only an unused voucher is sold; this one is {}", self.status.as_str())));
        }
        if batch.validity_from == ValidityFrom::Activation {
            self.activate(batch, now, false)?;
        }
        self.sold_at = Some(now);
        self.sold_by = Some(by);
        self.sold_price = Some(batch.price);
        self.buyer_name = buyer_name;
        self.buyer_phone = buyer_phone;
        Ok(())
    }

    /// Taken back before anyone used it: sold, and never logged in.
    pub fn refund(&mut self, now: chrono::DateTime<chrono::Utc>) -> Result<(), NotNow> {
        if self.sold_at.is_none() {
            return Err(NotNow("an unsold voucher has nothing to refund; disable it instead".into()));
        }
        let unused = self.status == VoucherStatus::Unused
            || (self.status == VoucherStatus::Active && self.first_login_at.is_none());
        if !unused {
            return Err(NotNow(format!("only an unused voucher is refunded; this one is {}", self.status.as_str())));
        }
        self.status = VoucherStatus::Refunded;
        self.status_changed_at = Some(now);
        Ok(())
    }

    /// Only an unused, unsold voucher changes hands between sellers.
    pub fn transfer(&mut self, operator: Option<Uuid>) -> Result<(), NotNow> {
        if self.status != VoucherStatus::Unused || self.sold_at.is_some() {
            return Err(NotNow(format!(
                "only an unused, unsold voucher can be transferred; this one is {}{}",
                self.status.as_str(),
                if self.sold_at.is_some() { " and sold" } else { "" }
            )));
        }
        self.operator_id = operator;
        Ok(())
    }

    /// Time left of an active voucher.
    pub fn seconds_left(&self, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
        match (self.status, self.expires_at) {
            (VoucherStatus::Active, Some(e)) => Some((e - now).num_seconds().max(0)),
            _ => None,
        }
    }
}

/// Checks a batch's code settings; the prefix comes back in upper case.
pub fn check_batch(v: &mut Validation, quantity: u32, prefix: &str, code_length: u8) -> String {
    if quantity == 0 || quantity > MAX_BATCH {
        v.add("quantity", format!("must be 1 to {MAX_BATCH}"));
    }
    let prefix = prefix.trim().to_uppercase();
    if prefix.len() > MAX_PREFIX || !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
        v.add("prefix", format!("must be up to {MAX_PREFIX} letters or digits"));
    }
    if !(MIN_CODE_LENGTH..=MAX_CODE_LENGTH).contains(&code_length) {
        v.add(
            "code_length",
            format!("must be {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH} random symbols (after the prefix)"),
        );
    }
    prefix
}

/// `length` symbols of [`CODE_ALPHABET`] drawn uniformly from `rng` (the caller's CSPRNG).
pub fn random_symbols(rng: &mut impl rand::RngCore, length: u8) -> String {
    use rand::Rng;
    (0..length).map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char).collect()
}

/// A new voucher code: the batch's prefix and random symbols.
pub fn new_code(rng: &mut impl rand::RngCore, prefix: &str, length: u8) -> String {
    format!("{prefix}{}", random_symbols(rng, length))
}

/// What the QR code of a voucher (and its SMS) opens: the hotspot's login page with the code and
/// password filled in.
pub fn login_link(login_url: &str, code: &str, password: &str) -> String {
    let sep = if login_url.contains('?') { '&' } else { '?' };
    format!("{login_url}{sep}username={code}&password={password}")
}

/// A validity as people read it: `3 hours`, `1 day`, `7 days`.
pub fn validity_text(hours: u32) -> String {
    match hours {
        h if h % 24 == 0 && h >= 24 => {
            let d = h / 24;
            format!("{d} day{}", if d == 1 { "" } else { "s" })
        }
        h => format!("{h} hour{}", if h == 1 { "" } else { "s" }),
    }
}

/// What a separate voucher password is sealed with: it opens only as this ISP's, for this code.
pub fn password_aad(tid: Uuid, code: &str) -> Vec<u8> {
    format!("voucher-password:{tid}:{code}").into_bytes()
}

/// A code as typed by someone (any case, spaces and dashes from the card's grouping ignored).
pub fn normalize_code(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_profiles_are_what_cards_and_routers_take() {
        let mut v = Validation::new();
        assert_eq!(plan_name(&mut v, " 1gb-daily "), "1GB-DAILY");
        assert_eq!(router_profile("1GB-DAILY"), "vp-1gb-daily");
        assert_eq!(router_profile("Café Night 3H"), "vp-caf--night-3h");
        assert!(v.finish().is_ok());
        let mut v = Validation::new();
        plan_name(&mut v, "bad/name");
        assert!(v.finish().is_err());
    }

    #[test]
    fn the_examples_are_valid_plans() {
        for (name, hours, mb, rate, price) in EXAMPLES {
            let mut v = Validation::new();
            plan_name(&mut v, name);
            assert_eq!(check_plan(&mut v, hours, mb, rate, 1, price * 100), rate);
            assert!(v.finish().is_ok(), "{name}");
        }
        let mut v = Validation::new();
        check_plan(&mut v, 0, Some(0), "fast", 0, -1);
        assert!(v.finish().is_err());
    }

    fn batch(hours: u32, mb: Option<u64>) -> VoucherBatch {
        let now = chrono::DateTime::UNIX_EPOCH;
        VoucherBatch {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            plan_id: Uuid::nil(),
            plan_name: "1GB-DAILY".into(),
            validity_hours: hours,
            validity_from: ValidityFrom::FirstLogin,
            data_limit_mb: mb,
            price: 2000,
            currency: "BDT".into(),
            quantity: 1201,
            prefix: "HS".into(),
            code_length: 8,
            password_mode: PasswordMode::SameAsCode,
            placement: Placement::All,
            router_ids: vec![],
            operator_id: None,
            note: None,
            login_url: DEFAULT_LOGIN_URL.into(),
            buyer_name: None,
            buyer_phone: None,
            send_sms: false,
            chunks: 3,
            created_by: Uuid::nil(),
            created_at: now,
        }
    }

    fn voucher() -> Voucher {
        Voucher {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            batch_id: Uuid::nil(),
            seq: 0,
            code: "HSABCDEFGH".into(),
            password_sealed: None,
            plan_id: Uuid::nil(),
            status: VoucherStatus::Unused,
            operator_id: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            activated_at: None,
            first_login_at: None,
            expires_at: None,
            bytes_used: 0,
            status_changed_at: None,
            sold_at: None,
            sold_by: None,
            sold_price: None,
            buyer_name: None,
            buyer_phone: None,
            version: 1,
        }
    }

    #[test]
    fn codes_use_no_look_alikes_and_chunks_cover_the_batch() {
        let mut rng = rand::rngs::OsRng;
        for _ in 0..200 {
            let c = new_code(&mut rng, "HS", 10);
            assert_eq!(c.len(), 12);
            assert!(c[2..].chars().all(|ch| !"0O1IL".contains(ch)), "{c}");
        }
        let b = batch(24, None);
        assert_eq!(b.chunk_range(0), 0..500);
        assert_eq!(b.chunk_range(2), 1000..1201);
        assert_eq!(normalize_code(" hs-abcd efgh "), "HSABCDEFGH");
        let mut v = Validation::new();
        check_batch(&mut v, 10_001, "bad-", 5);
        assert!(v.finish().is_err());
    }

    #[test]
    fn a_voucher_lives_from_unused_to_expired_or_used_up() {
        let t0 = chrono::DateTime::UNIX_EPOCH;
        let b = batch(24, Some(1));
        let mut v = voucher();
        assert!(!v.expire_if_due(t0 + chrono::Duration::days(9)), "an unused voucher never expires");
        v.activate(&b, t0, true).unwrap();
        assert_eq!(v.expires_at, Some(t0 + chrono::Duration::hours(24)));
        assert!(v.activate(&b, t0, true).is_err());
        assert!(!v.expire_if_due(t0 + chrono::Duration::hours(23)));
        assert!(v.record_usage(500_000, &b, t0));
        assert_eq!(v.status, VoucherStatus::Active);
        assert!(!v.record_usage(100, &b, t0), "counters never go back");
        assert!(v.record_usage(1024 * 1024, &b, t0));
        assert_eq!(v.status, VoucherStatus::UsedUp);
        assert!(v.disable(t0).is_err());

        let mut w = voucher();
        w.activate(&b, t0, false).unwrap();
        assert!(w.expire_if_due(t0 + chrono::Duration::hours(24)));
        assert_eq!(w.status, VoucherStatus::Expired);
        assert!(w.transfer(None).is_err());
    }

    #[test]
    fn a_sale_is_once_and_a_refund_only_before_use() {
        let t0 = chrono::DateTime::UNIX_EPOCH;
        let mut b = batch(24, None);
        let mut v = voucher();
        assert!(v.refund(t0).is_err(), "nothing sold, nothing to refund");
        v.sell(&b, t0, Uuid::nil(), None, Some("01711000000".into())).unwrap();
        assert_eq!(
            (v.status, v.sold_price),
            (VoucherStatus::Unused, Some(2000)),
            "first-login plans wait for the login"
        );
        assert!(v.sell(&b, t0, Uuid::nil(), None, None).is_err(), "sold once");
        assert!(v.transfer(None).is_err(), "a sold voucher stays with its seller");
        v.refund(t0).unwrap();
        assert_eq!(v.status, VoucherStatus::Refunded);

        b.validity_from = ValidityFrom::Activation;
        let mut w = voucher();
        w.sell(&b, t0, Uuid::nil(), None, None).unwrap();
        assert_eq!(w.status, VoucherStatus::Active, "activation plans start at the sale");
        w.first_login_at = Some(t0);
        assert!(w.refund(t0).is_err(), "used: no refund");
    }
}
