//! What the product tells people, and in which words by default: each notice with the
//! placeholders its template may use, and default texts in Bangla, English and Bahasa Indonesia
//! that ship with the product (an ISP overrides any of them per language). Subscriber notices are
//! short enough for one or two SMS parts; staff alerts go to Telegram, e-mail or the alert log.

use crate::template::Template;
use serde::{Deserialize, Serialize};

pub use domain::language::Language;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    InvoiceIssued,
    /// Before the due date, at the ISP's offsets.
    PaymentReminder,
    /// After the due date, at the ISP's offsets.
    PaymentOverdue,
    PaymentReceived,
    SubscriptionSuspended,
    SubscriptionRestored,
    SubscriptionExpiring,
    VoucherLogin,
    PasswordResetCode,
    RouterOffline,
    RouterOnline,
    ProvisioningFailed,
    GatewayAccountFailing,
    /// A piece of the ISP's work gave up after its retries (a message in a dead-letter queue).
    WorkFailed,
    /// An operator's wallet fell below the threshold the ISP set for it.
    WalletLowBalance,
    /// A support ticket broke its service level and went up a level.
    TicketEscalated,
    /// An inventory item fell below its low-stock threshold.
    LowStock,
    /// A router's monitoring crossed a threshold (latency, loss, CPU, an interface down).
    MonitoringProblem,
    /// ... and is back within it.
    MonitoringRecovered,
}

/// Who a notice is about and for: a subscriber, or the ISP's staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Customer,
    Staff,
}

impl Notice {
    pub const ALL: [Notice; 19] = [
        Notice::InvoiceIssued,
        Notice::PaymentReminder,
        Notice::PaymentOverdue,
        Notice::PaymentReceived,
        Notice::SubscriptionSuspended,
        Notice::SubscriptionRestored,
        Notice::SubscriptionExpiring,
        Notice::VoucherLogin,
        Notice::PasswordResetCode,
        Notice::RouterOffline,
        Notice::RouterOnline,
        Notice::ProvisioningFailed,
        Notice::GatewayAccountFailing,
        Notice::WorkFailed,
        Notice::WalletLowBalance,
        Notice::TicketEscalated,
        Notice::LowStock,
        Notice::MonitoringProblem,
        Notice::MonitoringRecovered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Notice::InvoiceIssued => "invoice_issued",
            Notice::PaymentReminder => "payment_reminder",
            Notice::PaymentOverdue => "payment_overdue",
            Notice::PaymentReceived => "payment_received",
            Notice::SubscriptionSuspended => "subscription_suspended",
            Notice::SubscriptionRestored => "subscription_restored",
            Notice::SubscriptionExpiring => "subscription_expiring",
            Notice::VoucherLogin => "voucher_login",
            Notice::PasswordResetCode => "password_reset_code",
            Notice::RouterOffline => "router_offline",
            Notice::RouterOnline => "router_online",
            Notice::ProvisioningFailed => "provisioning_failed",
            Notice::GatewayAccountFailing => "gateway_account_failing",
            Notice::WorkFailed => "work_failed",
            Notice::WalletLowBalance => "wallet_low_balance",
            Notice::TicketEscalated => "ticket_escalated",
            Notice::LowStock => "low_stock",
            Notice::MonitoringProblem => "monitoring_problem",
            Notice::MonitoringRecovered => "monitoring_recovered",
        }
    }

    pub fn parse(s: &str) -> Option<Notice> {
        Notice::ALL.into_iter().find(|n| n.as_str() == s)
    }

    pub fn audience(self) -> Audience {
        match self {
            Notice::RouterOffline
            | Notice::RouterOnline
            | Notice::ProvisioningFailed
            | Notice::GatewayAccountFailing
            | Notice::WorkFailed
            | Notice::WalletLowBalance
            | Notice::TicketEscalated
            | Notice::LowStock
            | Notice::MonitoringProblem
            | Notice::MonitoringRecovered => Audience::Staff,
            _ => Audience::Customer,
        }
    }

    /// Whether it is about one customer (who has an operator): every subscriber notice, and a
    /// subscriber the router refused.
    pub fn about_customer(self) -> bool {
        self.audience() == Audience::Customer || self == Notice::ProvisioningFailed
    }

    /// Whether it is about an operator's own business (its wallet): it may go to the operator.
    pub fn about_operator(self) -> bool {
        self == Notice::WalletLowBalance
    }

    /// Whether it goes at once whatever the hour (a code someone is waiting for); the others wait
    /// out the ISP's quiet hours.
    pub fn urgent(self) -> bool {
        matches!(self, Notice::PasswordResetCode | Notice::VoucherLogin | Notice::RouterOffline)
    }

    /// The placeholders its template may use.
    pub fn placeholders(self) -> &'static [&'static str] {
        match self {
            Notice::InvoiceIssued => &["isp_name", "customer_name", "invoice_number", "amount", "due_date", "pay_link"],
            Notice::PaymentReminder => {
                &["isp_name", "customer_name", "invoice_number", "amount", "due_date", "days_left", "pay_link"]
            }
            Notice::PaymentOverdue => {
                &["isp_name", "customer_name", "invoice_number", "amount", "due_date", "days_overdue", "pay_link"]
            }
            Notice::PaymentReceived => &["isp_name", "customer_name", "amount", "receipt_number", "balance"],
            Notice::SubscriptionSuspended => &["isp_name", "customer_name", "package", "amount", "pay_link"],
            Notice::SubscriptionRestored => &["isp_name", "customer_name", "package", "expiry"],
            Notice::SubscriptionExpiring => {
                &["isp_name", "customer_name", "package", "expiry", "days_left", "pay_link"]
            }
            Notice::VoucherLogin => &["isp_name", "code", "password", "plan", "validity", "login_url"],
            Notice::PasswordResetCode => &["isp_name", "code", "minutes"],
            Notice::RouterOffline | Notice::RouterOnline => &["isp_name", "router_name", "pop_name", "since"],
            Notice::ProvisioningFailed => &["isp_name", "customer_name", "username", "router_name", "detail"],
            Notice::GatewayAccountFailing => &["isp_name", "gateway", "account_name", "detail"],
            Notice::WorkFailed => &["isp_name", "detail", "since"],
            Notice::WalletLowBalance => &["isp_name", "operator_name", "balance", "threshold"],
            Notice::TicketEscalated => &["isp_name", "customer_name", "detail", "since"],
            Notice::LowStock => &["isp_name", "detail", "since"],
            Notice::MonitoringProblem | Notice::MonitoringRecovered => {
                &["isp_name", "router_name", "pop_name", "detail", "since"]
            }
        }
    }

    /// Reads an ISP's text for this notice (its placeholders checked).
    pub fn template(self, text: &str) -> Result<Template, crate::template::TemplateError> {
        Template::parse(text, self.placeholders())
    }

    /// The text the product ships for this notice in `language`.
    pub fn default_text(self, language: Language) -> &'static str {
        use Language::*;
        use Notice::*;
        match (self, language) {
            (InvoiceIssued, En) => {
                "{isp_name}: Dear {customer_name}, bill {invoice_number} of {amount} is due on {due_date}. Pay: {pay_link}"
            }
            (InvoiceIssued, Bn) => {
                "{isp_name}: প্রিয় {customer_name}, আপনার বিল {invoice_number} ({amount}) পরিশোধের শেষ তারিখ {due_date}। পরিশোধ: {pay_link}"
            }
            (InvoiceIssued, Id) => {
                "{isp_name}: Yth. {customer_name}, tagihan {invoice_number} sebesar {amount} jatuh tempo {due_date}. Bayar: {pay_link}"
            }
            (PaymentReminder, En) => {
                "{isp_name}: Dear {customer_name}, {amount} for bill {invoice_number} is due in {days_left} days ({due_date}). Pay: {pay_link}"
            }
            (PaymentReminder, Bn) => {
                "{isp_name}: প্রিয় {customer_name}, বিল {invoice_number} এর {amount} পরিশোধের আর {days_left} দিন বাকি ({due_date})। পরিশোধ: {pay_link}"
            }
            (PaymentReminder, Id) => {
                "{isp_name}: Yth. {customer_name}, tagihan {invoice_number} sebesar {amount} jatuh tempo dalam {days_left} hari ({due_date}). Bayar: {pay_link}"
            }
            (PaymentOverdue, En) => {
                "{isp_name}: Dear {customer_name}, bill {invoice_number} of {amount} is {days_overdue} days overdue. Please pay to avoid disconnection: {pay_link}"
            }
            (PaymentOverdue, Bn) => {
                "{isp_name}: প্রিয় {customer_name}, বিল {invoice_number} এর {amount} পরিশোধের সময় {days_overdue} দিন পেরিয়ে গেছে। সংযোগ চালু রাখতে পরিশোধ করুন: {pay_link}"
            }
            (PaymentOverdue, Id) => {
                "{isp_name}: Yth. {customer_name}, tagihan {invoice_number} sebesar {amount} terlambat {days_overdue} hari. Mohon bayar agar layanan tidak diputus: {pay_link}"
            }
            (PaymentReceived, En) => {
                "{isp_name}: Thank you {customer_name}, we received {amount}. Receipt {receipt_number}. Balance: {balance}"
            }
            (PaymentReceived, Bn) => {
                "{isp_name}: ধন্যবাদ {customer_name}, আমরা {amount} পেয়েছি। রসিদ {receipt_number}। বকেয়া: {balance}"
            }
            (PaymentReceived, Id) => {
                "{isp_name}: Terima kasih {customer_name}, pembayaran {amount} telah diterima. Kuitansi {receipt_number}. Saldo: {balance}"
            }
            (SubscriptionSuspended, En) => {
                "{isp_name}: Dear {customer_name}, your {package} connection is suspended. Pay {amount} to restore it: {pay_link}"
            }
            (SubscriptionSuspended, Bn) => {
                "{isp_name}: প্রিয় {customer_name}, আপনার {package} সংযোগ সাময়িক বন্ধ। চালু করতে {amount} পরিশোধ করুন: {pay_link}"
            }
            (SubscriptionSuspended, Id) => {
                "{isp_name}: Yth. {customer_name}, layanan {package} Anda diisolir. Bayar {amount} untuk mengaktifkan kembali: {pay_link}"
            }
            (SubscriptionRestored, En) => {
                "{isp_name}: Dear {customer_name}, your {package} connection is active again until {expiry}."
            }
            (SubscriptionRestored, Bn) => {
                "{isp_name}: প্রিয় {customer_name}, আপনার {package} সংযোগ আবার চালু হয়েছে, মেয়াদ {expiry} পর্যন্ত।"
            }
            (SubscriptionRestored, Id) => {
                "{isp_name}: Yth. {customer_name}, layanan {package} Anda aktif kembali hingga {expiry}."
            }
            (SubscriptionExpiring, En) => {
                "{isp_name}: Dear {customer_name}, your {package} package expires in {days_left} days ({expiry}). Renew: {pay_link}"
            }
            (SubscriptionExpiring, Bn) => {
                "{isp_name}: প্রিয় {customer_name}, আপনার {package} প্যাকেজের মেয়াদ {days_left} দিন পর ({expiry}) শেষ হবে। নবায়ন: {pay_link}"
            }
            (SubscriptionExpiring, Id) => {
                "{isp_name}: Yth. {customer_name}, paket {package} Anda berakhir dalam {days_left} hari ({expiry}). Perpanjang: {pay_link}"
            }
            (VoucherLogin, En) => {
                "{isp_name} WiFi {plan}: user {code}, password {password}, valid {validity}. Log in: {login_url}"
            }
            (VoucherLogin, Bn) => {
                "{isp_name} ওয়াইফাই {plan}: ইউজার {code}, পাসওয়ার্ড {password}, মেয়াদ {validity}। লগইন: {login_url}"
            }
            (VoucherLogin, Id) => {
                "{isp_name} WiFi {plan}: user {code}, sandi {password}, berlaku {validity}. Masuk: {login_url}"
            }
            (PasswordResetCode, En) => {
                "{isp_name}: your code is {code}. It works for {minutes} minutes. Do not share it."
            }
            (PasswordResetCode, Bn) => "{isp_name}: আপনার কোড {code}। এটি {minutes} মিনিট কাজ করবে। কাউকে জানাবেন না।",
            (PasswordResetCode, Id) => {
                "{isp_name}: kode Anda {code}, berlaku {minutes} menit. Jangan berikan kepada siapa pun."
            }
            (RouterOffline, En) => "{isp_name}: router {router_name} ({pop_name}) is OFFLINE since {since}.",
            (RouterOffline, Bn) => "{isp_name}: রাউটার {router_name} ({pop_name}) {since} থেকে অফলাইন।",
            (RouterOffline, Id) => "{isp_name}: router {router_name} ({pop_name}) OFFLINE sejak {since}.",
            (RouterOnline, En) => "{isp_name}: router {router_name} ({pop_name}) is back online since {since}.",
            (RouterOnline, Bn) => "{isp_name}: রাউটার {router_name} ({pop_name}) {since} থেকে আবার অনলাইন।",
            (RouterOnline, Id) => "{isp_name}: router {router_name} ({pop_name}) kembali online sejak {since}.",
            (ProvisioningFailed, En) => {
                "{isp_name}: could not apply {customer_name} ({username}) on {router_name}: {detail}"
            }
            (ProvisioningFailed, Bn) => {
                "{isp_name}: {router_name} এ {customer_name} ({username}) প্রয়োগ করা যায়নি: {detail}"
            }
            (ProvisioningFailed, Id) => {
                "{isp_name}: gagal menerapkan {customer_name} ({username}) di {router_name}: {detail}"
            }
            (GatewayAccountFailing, En) => {
                "{isp_name}: payment gateway {gateway} ({account_name}) is failing: {detail}"
            }
            (GatewayAccountFailing, Bn) => "{isp_name}: পেমেন্ট গেটওয়ে {gateway} ({account_name}) কাজ করছে না: {detail}",
            (GatewayAccountFailing, Id) => {
                "{isp_name}: payment gateway {gateway} ({account_name}) bermasalah: {detail}"
            }
            (WorkFailed, En) => "{isp_name}: work that failed after its retries ({since}): {detail}",
            (WorkFailed, Bn) => "{isp_name}: বারবার চেষ্টার পরও একটি কাজ ব্যর্থ হয়েছে ({since}): {detail}",
            (WorkFailed, Id) => "{isp_name}: pekerjaan gagal setelah dicoba ulang ({since}): {detail}",
            (WalletLowBalance, En) => {
                "{isp_name}: {operator_name}, your wallet balance is {balance}, below {threshold}. Top up to keep selling."
            }
            (WalletLowBalance, Bn) => {
                "{isp_name}: {operator_name}, আপনার ওয়ালেটে ব্যালেন্স {balance}, যা {threshold}-এর কম। বিক্রি চালু রাখতে টপ-আপ করুন।"
            }
            (WalletLowBalance, Id) => {
                "{isp_name}: {operator_name}, saldo dompet Anda {balance}, di bawah {threshold}. Isi ulang agar tetap bisa berjualan."
            }
            (TicketEscalated, En) => "{isp_name}: ticket escalated ({since}), {customer_name}: {detail}",
            (TicketEscalated, Bn) => "{isp_name}: টিকিট এসকেলেট করা হয়েছে ({since}), {customer_name}: {detail}",
            (TicketEscalated, Id) => "{isp_name}: tiket dieskalasi ({since}), {customer_name}: {detail}",
            (LowStock, En) => "{isp_name}: low stock: {detail}",
            (LowStock, Bn) => "{isp_name}: স্টক কম: {detail}",
            (LowStock, Id) => "{isp_name}: stok menipis: {detail}",
            (MonitoringProblem, En) => "{isp_name}: router {router_name} ({pop_name}): {detail}, since {since}.",
            (MonitoringProblem, Bn) => "{isp_name}: রাউটার {router_name} ({pop_name}): {detail}, {since} থেকে।",
            (MonitoringProblem, Id) => "{isp_name}: router {router_name} ({pop_name}): {detail}, sejak {since}.",
            (MonitoringRecovered, En) => "{isp_name}: router {router_name} ({pop_name}) is fine again: {detail}.",
            (MonitoringRecovered, Bn) => "{isp_name}: রাউটার {router_name} ({pop_name}) আবার ঠিক আছে: {detail}।",
            (MonitoringRecovered, Id) => "{isp_name}: router {router_name} ({pop_name}) normal kembali: {detail}.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{SmsEncoding, shape};
    use std::collections::BTreeMap;

    /// Values as long as real ones get (a long name, a Bangla amount, a pay link).
    fn long_values(notice: Notice) -> BTreeMap<&'static str, String> {
        notice
            .placeholders()
            .iter()
            .map(|p| {
                let v = match *p {
                    "isp_name" => "Dhaka Net",
                    "customer_name" => "Mohammad Abdur Rahman",
                    "pay_link" | "login_url" => "https://pay.isp.example/p/AB12CD34",
                    "detail" => "the router did not answer in 10 s",
                    _ => "BDT 1,250.00",
                };
                (*p, v.to_string())
            })
            .collect()
    }

    #[test]
    fn every_default_text_uses_only_its_notices_placeholders_and_fits_in_three_parts() {
        for notice in Notice::ALL {
            for language in Language::ALL {
                let text = notice.default_text(language);
                let t = notice.template(text).unwrap_or_else(|e| panic!("{notice:?} {language:?}: {e}"));
                assert!(t.names().contains(&"isp_name"), "{notice:?} {language:?}: says who it is from");
                let rendered = t.render(&long_values(notice));
                assert!(!rendered.contains('{'), "{notice:?} {language:?}: {rendered}");
                let s = shape(&rendered);
                if language == Language::Bn {
                    assert_eq!(s.encoding, SmsEncoding::Ucs2);
                }
                assert!(s.parts <= 3, "{notice:?} {language:?}: {} parts: {rendered}", s.parts);
            }
        }
    }

    #[test]
    fn codes_go_at_once_and_reminders_wait_for_the_morning() {
        assert!(Notice::PasswordResetCode.urgent());
        assert!(!Notice::PaymentReminder.urgent());
        assert_eq!(Notice::RouterOffline.audience(), Audience::Staff);
        assert_eq!(Notice::InvoiceIssued.audience(), Audience::Customer);
    }
}
