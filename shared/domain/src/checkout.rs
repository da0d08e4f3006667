//! An online payment in progress: which gateway, for how much, and where it stands. The rules
//! here decide what a gateway's report (a verified notification, a status answer, a browser return
//! confirmed with the status API) may do to a checkout: states only move forward, a success is
//! settled once, a later failure never un-pays, and an amount or currency other than the one asked
//! for is never applied silently. Pure: the payments context applies the verdict in one
//! transaction.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The gateways an ISP (or the platform) can take money through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gateway {
    Bkash,
    Nagad,
    Sslcommerz,
    Aamarpay,
    Midtrans,
    Stripe,
    Paypal,
}

impl Gateway {
    pub const ALL: [Gateway; 7] = [
        Gateway::Bkash,
        Gateway::Nagad,
        Gateway::Sslcommerz,
        Gateway::Aamarpay,
        Gateway::Midtrans,
        Gateway::Stripe,
        Gateway::Paypal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Gateway::Bkash => "bkash",
            Gateway::Nagad => "nagad",
            Gateway::Sslcommerz => "sslcommerz",
            Gateway::Aamarpay => "aamarpay",
            Gateway::Midtrans => "midtrans",
            Gateway::Stripe => "stripe",
            Gateway::Paypal => "paypal",
        }
    }

    pub fn parse(s: &str) -> Option<Gateway> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// Gateways with a refund API we use (the others are refunded by hand, then recorded).
    pub fn refunds_by_api(self) -> bool {
        matches!(self, Gateway::Bkash | Gateway::Midtrans | Gateway::Stripe | Gateway::Paypal)
    }

    /// The currencies an account of this gateway can take.
    pub fn currencies(self) -> &'static [&'static str] {
        match self {
            Gateway::Bkash | Gateway::Nagad | Gateway::Aamarpay => &["BDT"],
            Gateway::Sslcommerz => &["BDT", "USD", "EUR", "GBP", "INR"],
            Gateway::Midtrans => &["IDR"],
            // Stripe and PayPal take most; the platform's billing currencies are checked elsewhere.
            Gateway::Stripe | Gateway::Paypal => &[],
        }
    }
}

/// Where a checkout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutState {
    Pending,
    Paid,
    Failed,
    Expired,
    Refunded,
}

/// What a gateway says about a checkout's payment (already verified or asked by us).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub state: CheckoutState,
    /// Minor units and currency, as the gateway reported what was paid (when it says).
    pub amount: Option<(i64, String)>,
    /// The gateway's id of the payment: unique per gateway, the settlement's sentinel.
    pub transaction_id: Option<String>,
}

/// What to do with a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Apply the payment once: the settle path records it (its sentinel on the gateway's
    /// transaction id refuses a second one), then marks the checkout paid. `amount` is what the
    /// gateway says was paid: less than asked is a partial payment.
    Settle { transaction_id: String, amount: i64 },
    /// The payer did not pay (declined, cancelled): the checkout is failed.
    Fail,
    /// The time to pay ran out.
    Expire,
    /// The gateway refunded it (through our refund, or in its own dashboard).
    MarkRefunded,
    /// Paid, but not what was asked: never applied silently; kept for staff to decide.
    Mismatch { detail: String },
    /// Nothing changes (a duplicate, a step back, a late failure after success).
    Ignore { why: &'static str },
}

/// Decides what a report does to a checkout in `current` state that asked for `amount` minor
/// units of `currency`.
pub fn verdict(current: CheckoutState, amount: i64, currency: &str, report: &Report) -> Verdict {
    use CheckoutState as S;
    match (current, report.state) {
        // A success is applied to a checkout that has not been paid, even one we had given up on
        // (the payer's money was taken: it must land somewhere).
        (S::Pending | S::Failed | S::Expired, S::Paid) => {
            let Some(transaction_id) = report.transaction_id.clone().filter(|t| !t.is_empty()) else {
                return Verdict::Mismatch { detail: "paid without a transaction id".into() };
            };
            match &report.amount {
                Some((paid, cur)) if cur == currency && *paid > 0 && *paid <= amount => {
                    Verdict::Settle { transaction_id, amount: *paid }
                }
                Some((paid, cur)) => {
                    Verdict::Mismatch { detail: format!("paid {paid} {cur}, asked for {amount} {currency}") }
                }
                None => Verdict::Mismatch { detail: "paid without an amount".into() },
            }
        }
        (S::Paid | S::Refunded, S::Paid) => Verdict::Ignore { why: "already paid" },
        (S::Pending, S::Failed) => Verdict::Fail,
        (S::Pending, S::Expired) => Verdict::Expire,
        (S::Paid, S::Refunded) => Verdict::MarkRefunded,
        (S::Paid | S::Refunded, S::Failed | S::Expired | S::Pending) => {
            Verdict::Ignore { why: "a later report never un-pays" }
        }
        (_, S::Pending) => Verdict::Ignore { why: "still pending" },
        (S::Failed | S::Expired, S::Failed | S::Expired) => Verdict::Ignore { why: "already closed" },
        (S::Pending | S::Failed | S::Expired, S::Refunded) => Verdict::Ignore { why: "refund of nothing paid" },
        (S::Refunded, S::Refunded) => Verdict::Ignore { why: "already refunded" },
    }
}

/// The state a verdict leads to from `current`.
pub fn next_state(current: CheckoutState, verdict: &Verdict) -> CheckoutState {
    match verdict {
        Verdict::Settle { .. } => CheckoutState::Paid,
        Verdict::Fail => CheckoutState::Failed,
        Verdict::Expire => CheckoutState::Expired,
        Verdict::MarkRefunded => CheckoutState::Refunded,
        Verdict::Mismatch { .. } | Verdict::Ignore { .. } => current,
    }
}

/// What a checkout pays for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckoutFor {
    /// An invoice of a customer (what it owed when the checkout was made).
    Invoice { customer_id: Uuid, invoice_id: Uuid },
    /// Money on a customer's account: open invoices first, the rest credit.
    Advance { customer_id: Uuid },
    /// A platform reseller's purchase from the platform owner (ISP slots, a renewal).
    Platform { reseller_id: Uuid, purchase: crate::platform::PlatformPurchase },
    /// Money into an operator's (or sub-operator's) wallet with the ISP.
    WalletTopUp { operator_id: Uuid },
    /// A hotspot voucher of a plan, bought by whoever holds the phone (its login goes there).
    Voucher { plan_id: Uuid, phone: String },
}

impl CheckoutFor {
    /// The ISP's customer who pays (None: a platform reseller pays the platform).
    pub fn customer_id(&self) -> Option<Uuid> {
        match self {
            CheckoutFor::Invoice { customer_id, .. } | CheckoutFor::Advance { customer_id } => Some(*customer_id),
            CheckoutFor::Platform { .. } | CheckoutFor::WalletTopUp { .. } | CheckoutFor::Voucher { .. } => None,
        }
    }

    /// Who pays: the customer, the platform reseller, or the operator.
    pub fn payer_id(&self) -> Uuid {
        match self {
            CheckoutFor::Invoice { customer_id, .. } | CheckoutFor::Advance { customer_id } => *customer_id,
            CheckoutFor::Platform { reseller_id, .. } => *reseller_id,
            CheckoutFor::WalletTopUp { operator_id } => *operator_id,
            // Listed with the plan's checkouts.
            CheckoutFor::Voucher { plan_id, .. } => *plan_id,
        }
    }

    pub fn invoice_id(&self) -> Option<Uuid> {
        match self {
            CheckoutFor::Invoice { invoice_id, .. } => Some(*invoice_id),
            CheckoutFor::Advance { .. }
            | CheckoutFor::Platform { .. }
            | CheckoutFor::WalletTopUp { .. }
            | CheckoutFor::Voucher { .. } => None,
        }
    }
}

/// One thing that happened between us and the gateway about a checkout (redacted: no secrets,
/// no card or wallet numbers; the gateway's words cut short).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckoutEvent {
    pub at: chrono::DateTime<chrono::Utc>,
    /// `created`, `notification`, `status`, `return`, `settled`, `failed`, `expired`, `refunded`,
    /// `mismatch`, `ignored`, `gateway_error`.
    pub kind: String,
    pub detail: String,
}

/// The most history a checkout keeps (the first entries and the latest ones).
pub const CHECKOUT_HISTORY_LIMIT: usize = 40;

/// An online payment asked of a gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Checkout {
    pub id: Uuid,
    /// The ISP it is money of (None: the platform owner's, a reseller's purchase).
    pub tenant_id: Option<Uuid>,
    pub account_id: Uuid,
    pub gateway: Gateway,
    #[serde(rename = "for")]
    pub paying_for: CheckoutFor,
    /// Minor units of `currency`: from the invoice or the request, never from the gateway.
    pub amount: i64,
    pub currency: String,
    /// What the gateway knows the checkout by ([`order_id`] of the id).
    pub order_id: String,
    /// The gateway's handle of it (Stripe session, bKash paymentID, PayPal order, Nagad payment
    /// reference; for the others the order id).
    pub reference: String,
    pub redirect_url: String,
    pub state: CheckoutState,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Once paid: the payment recorded, the gateway's transaction id, how it was paid.
    pub payment_id: Option<Uuid>,
    pub transaction_id: Option<String>,
    pub method: Option<String>,
    /// A report that could not be applied (e.g. paid more than asked): for staff to look at.
    pub attention: Option<String>,
    pub history: Vec<CheckoutEvent>,
    /// Refunds through the gateway's refund API, oldest first.
    #[serde(default)]
    pub refunds: Vec<CheckoutRefund>,
    pub operator_id: Option<Uuid>,
    pub scope: Option<String>,
    /// A turbo the subscriber buys from the money once it is in the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then_turbo: Option<crate::turbo::TurboIntent>,
    pub created_by: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub version: u64,
}

impl Checkout {
    /// Adds to the history, keeping the first entries and the latest within the limit.
    pub fn log(&mut self, at: chrono::DateTime<chrono::Utc>, kind: &str, detail: impl Into<String>) {
        let detail: String = detail.into().chars().take(300).collect();
        if self.history.len() >= CHECKOUT_HISTORY_LIMIT {
            self.history.remove(CHECKOUT_HISTORY_LIMIT / 4);
        }
        self.history.push(CheckoutEvent { at, kind: kind.to_string(), detail });
    }
}

/// Where a refund through the gateway stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    /// The invoices are credited and the credit held; the gateway was asked (or is about to be).
    Requested,
    /// The gateway paid it out: the refund left the customer's credit.
    Done,
    /// The gateway said no: the credit is the customer's to use again.
    Refused,
}

/// A credit note a refund issued on an invoice the payment had paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RefundCredit {
    pub invoice_id: Uuid,
    pub credit_note_id: Uuid,
    pub amount: i64,
}

/// A refund of (part of) a checkout's payment through the gateway's refund API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckoutRefund {
    /// Also the gateway's idempotency key for it and the id of the refund in the books.
    pub id: Uuid,
    pub amount: i64,
    pub reason: String,
    pub state: RefundState,
    /// The hash of the `Idempotency-Key` that asked for it: a repeat resumes this refund.
    pub key: String,
    pub credit_notes: Vec<RefundCredit>,
    /// The gateway's id of the refund once it paid it out.
    pub gateway_refund_id: Option<String>,
    pub detail: Option<String>,
    pub requested_by: Uuid,
    pub requested_at: chrono::DateTime<chrono::Utc>,
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// While a request is asking the gateway: no other asks until then (bKash takes no
    /// idempotency key, so two at once could refund twice).
    #[serde(default)]
    pub asking_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl Checkout {
    /// What of `paid` (the payment's amount) is not refunded or being refunded.
    pub fn refundable(&self, paid: i64) -> i64 {
        paid - self.refunds.iter().filter(|r| r.state != RefundState::Refused).map(|r| r.amount).sum::<i64>()
    }

    /// The refund a request with this key hash asked for, if any.
    pub fn refund_by_key(&self, key: &str) -> Option<&CheckoutRefund> {
        self.refunds.iter().find(|r| r.key == key)
    }
}

/// Which invoices a refund of `amount` credits: those the payment paid (`applied`, in its order),
/// each up to what it took less what earlier refunds (not refused) credited on it; the rest of
/// the refund comes from the customer's credit (what the payment left there).
pub fn refund_credits(applied: &[(Uuid, i64)], earlier: &[CheckoutRefund], amount: i64) -> Vec<(Uuid, i64)> {
    let mut left = amount;
    let mut out = vec![];
    for (invoice, took) in applied {
        let credited: i64 = earlier
            .iter()
            .filter(|r| r.state != RefundState::Refused)
            .flat_map(|r| r.credit_notes.iter())
            .filter(|c| c.invoice_id == *invoice)
            .map(|c| c.amount)
            .sum();
        let part = left.min(took - credited);
        if part > 0 {
            out.push((*invoice, part));
            left -= part;
        }
    }
    out
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The order id a gateway gets for a checkout: `C` and the checkout id's 128 bits in Crockford
/// base32 (27 characters, letters and digits only: every gateway takes it, SSLCommerz's 30
/// included), so a notification's order id leads back to its checkout without a lookup table.
pub fn order_id(checkout: Uuid) -> String {
    let v = checkout.as_u128();
    let mut out = String::with_capacity(27);
    out.push('C');
    // 26 digits of 5 bits = 130 bits: the first digit carries the top 3.
    for i in (0..26).rev() {
        out.push(CROCKFORD[((v >> (i * 5)) & 31) as usize] as char);
    }
    out
}

/// The checkout an order id names, if it is one of ours.
pub fn checkout_of_order(order_id: &str) -> Option<Uuid> {
    let digits = order_id.strip_prefix('C')?;
    if digits.len() != 26 {
        return None;
    }
    let mut v: u128 = 0;
    for (i, c) in digits.bytes().enumerate() {
        let d = CROCKFORD.iter().position(|x| *x == c)? as u128;
        if i == 0 && d > 7 {
            return None;
        }
        v = (v << 5) | d;
    }
    Some(Uuid::from_u128(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckoutState as S;

    fn refund(state: RefundState, credits: &[(Uuid, i64)], amount: i64) -> CheckoutRefund {
        CheckoutRefund {
            id: Uuid::now_v7(),
            amount,
            reason: "r".into(),
            state,
            key: "k".into(),
            credit_notes: credits
                .iter()
                .map(|(i, a)| RefundCredit { invoice_id: *i, credit_note_id: Uuid::now_v7(), amount: *a })
                .collect(),
            gateway_refund_id: None,
            detail: None,
            requested_by: Uuid::nil(),
            requested_at: chrono::DateTime::UNIX_EPOCH,
            completed_at: None,
            asking_until: None,
        }
    }

    #[test]
    fn a_refund_credits_the_paid_invoices_first_and_never_twice() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let applied = [(a, 700), (b, 200)];
        assert_eq!(refund_credits(&applied, &[], 500), vec![(a, 500)]);
        assert_eq!(refund_credits(&applied, &[], 1000), vec![(a, 700), (b, 200)], "100 comes from credit");
        let earlier = [refund(RefundState::Done, &[(a, 500)], 500), refund(RefundState::Refused, &[(a, 200)], 200)];
        assert_eq!(refund_credits(&applied, &earlier, 400), vec![(a, 200), (b, 200)]);
        assert_eq!(refund_credits(&[], &earlier, 400), vec![], "an advance: all from credit");
    }

    fn sample_checkout() -> Checkout {
        let id = Uuid::from_u128(9);
        Checkout {
            id,
            tenant_id: Some(Uuid::nil()),
            account_id: Uuid::nil(),
            gateway: Gateway::Stripe,
            paying_for: CheckoutFor::Advance { customer_id: Uuid::nil() },
            amount: 1000,
            currency: "BDT".into(),
            order_id: order_id(id),
            reference: "cs_1".into(),
            redirect_url: "https://pay.example/1".into(),
            state: S::Paid,
            expires_at: None,
            payment_id: None,
            transaction_id: Some("pi_1".into()),
            method: None,
            attention: None,
            history: vec![],
            refunds: vec![],
            operator_id: None,
            scope: None,
            then_turbo: None,
            created_by: Uuid::nil(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            version: 1,
        }
    }

    #[test]
    fn what_is_refundable_leaves_out_refused_refunds() {
        let mut c = sample_checkout();
        c.refunds = vec![refund(RefundState::Done, &[], 300), refund(RefundState::Refused, &[], 500)];
        c.refunds.push(refund(RefundState::Requested, &[], 100));
        assert_eq!(c.refundable(1000), 600);
    }
    use proptest::prelude::*;

    fn paid(amount: i64, currency: &str, txn: &str) -> Report {
        Report { state: S::Paid, amount: Some((amount, currency.into())), transaction_id: Some(txn.into()) }
    }

    fn plain(state: CheckoutState) -> Report {
        Report { state, amount: None, transaction_id: None }
    }

    #[test]
    fn a_success_settles_once_and_nothing_unpays() {
        assert_eq!(
            verdict(S::Pending, 5000, "BDT", &paid(5000, "BDT", "t1")),
            Verdict::Settle { transaction_id: "t1".into(), amount: 5000 }
        );
        assert_eq!(
            verdict(S::Expired, 5000, "BDT", &paid(5000, "BDT", "t1")),
            Verdict::Settle { transaction_id: "t1".into(), amount: 5000 }
        );
        assert!(matches!(verdict(S::Paid, 5000, "BDT", &paid(5000, "BDT", "t1")), Verdict::Ignore { .. }));
        for late in [S::Failed, S::Expired, S::Pending] {
            assert!(matches!(verdict(S::Paid, 5000, "BDT", &plain(late)), Verdict::Ignore { .. }), "{late:?}");
        }
        assert_eq!(verdict(S::Pending, 5000, "BDT", &plain(S::Failed)), Verdict::Fail);
        assert_eq!(verdict(S::Paid, 5000, "BDT", &plain(S::Refunded)), Verdict::MarkRefunded);
    }

    #[test]
    fn more_than_asked_or_another_currency_is_never_applied_silently() {
        for r in [paid(0, "BDT", "t"), paid(5001, "BDT", "t"), paid(5000, "USD", "t")] {
            assert!(matches!(verdict(S::Pending, 5000, "BDT", &r), Verdict::Mismatch { .. }), "{r:?}");
        }
        let no_txn = Report { transaction_id: None, ..paid(5000, "BDT", "") };
        assert!(matches!(verdict(S::Pending, 5000, "BDT", &no_txn), Verdict::Mismatch { .. }));
        // Less than asked, in the asked currency: a partial payment of what was paid.
        assert_eq!(
            verdict(S::Pending, 5000, "BDT", &paid(4999, "BDT", "t")),
            Verdict::Settle { transaction_id: "t".into(), amount: 4999 }
        );
    }

    #[test]
    fn order_ids_fit_every_gateway_and_lead_back() {
        let id = Uuid::from_u128(u128::MAX);
        let o = order_id(id);
        assert_eq!((o.len(), checkout_of_order(&o)), (27, Some(id)));
        assert_eq!(checkout_of_order(&order_id(Uuid::nil())), Some(Uuid::nil()));
        for bad in ["", "C", "X0000000000000000000000000", "C8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "C000000000000000000000000U"]
        {
            assert_eq!(checkout_of_order(bad), None, "{bad}");
        }
    }

    fn any_state() -> impl Strategy<Value = CheckoutState> {
        prop_oneof![Just(S::Pending), Just(S::Paid), Just(S::Failed), Just(S::Expired), Just(S::Refunded)]
    }

    proptest! {
        #[test]
        fn any_order_of_reports_settles_at_most_once_and_never_unpays(
            reports in proptest::collection::vec((any_state(), 4998i64..5002, prop_oneof![Just("BDT"), Just("USD")]), 0..12)
        ) {
            let mut state = S::Pending;
            let mut settled = 0;
            let mut was_paid = false;
            for (s, amount, cur) in reports {
                let r = Report { state: s, amount: Some((amount, cur.to_string())), transaction_id: Some("t".into()) };
                let v = verdict(state, 5000, "BDT", &r);
                if let Verdict::Settle { amount: applied, .. } = v {
                    settled += 1;
                    prop_assert!(cur == "BDT" && applied == amount && amount <= 5000);
                }
                state = next_state(state, &v);
                was_paid |= state == S::Paid;
                if was_paid {
                    prop_assert!(matches!(state, S::Paid | S::Refunded));
                }
            }
            prop_assert!(settled <= 1);
        }

        #[test]
        fn every_checkout_id_round_trips(v in any::<u128>()) {
            let id = Uuid::from_u128(v);
            let o = order_id(id);
            prop_assert!(o.len() == 27 && o.bytes().all(|b| b.is_ascii_alphanumeric()));
            prop_assert_eq!(checkout_of_order(&o), Some(id));
        }
    }
}

/// Test credentials and test money, or real ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GatewayMode {
    Sandbox,
    Live,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GatewayAccountStatus {
    Active,
    /// Offered to nobody; kept for the checkouts and refunds that name it.
    Disabled,
}

/// An ISP's (or, without a tenant, the platform's own) account at a gateway. Its credentials are
/// sealed beside it and never leave the payments context; this is what may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GatewayAccount {
    pub id: Uuid,
    /// None: the platform owner's account, for platform resellers' payments.
    pub tenant_id: Option<Uuid>,
    pub gateway: Gateway,
    pub mode: GatewayMode,
    pub name: String,
    pub status: GatewayAccountStatus,
    /// Methods to offer, in the gateway's names (e.g. Midtrans `qris`, `gopay`); empty: all.
    pub methods: Vec<String>,
    /// The ISP's pages the payer's browser comes back to.
    pub success_url: String,
    pub cancel_url: String,
    /// Sandbox only: another API base (the gateway's staging host or a fake).
    pub base_url: Option<String>,
    /// Which credentials are set (never their values).
    pub credentials_set: Vec<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub version: u64,
}

/// The credentials a gateway's account needs, by name.
pub fn required_credentials(gateway: Gateway) -> &'static [&'static str] {
    match gateway {
        Gateway::Stripe => &["secret_key", "webhook_secret"],
        Gateway::Midtrans => &["server_key"],
        Gateway::Sslcommerz => &["store_id", "store_password"],
        Gateway::Aamarpay => &["store_id", "signature_key"],
        Gateway::Bkash => &["app_key", "app_secret", "username", "password"],
        Gateway::Paypal => &["client_id", "client_secret", "webhook_id"],
        // The keys as Nagad's merchant panel gives them (base64 DER, PEM accepted).
        Gateway::Nagad => &["merchant_id", "merchant_private_key", "pg_public_key"],
    }
}

/// The credentials a gateway's account may have besides the required ones.
pub fn optional_credentials(gateway: Gateway) -> &'static [&'static str] {
    match gateway {
        // bKash's webhook is an SNS topic that bKash's merchant team names per merchant; without it
        // the account still pays (returns and the janitor confirm), it only takes no notifications.
        Gateway::Bkash => &["webhook_topic_arn"],
        _ => &[],
    }
}
