//! What fills a template's placeholders: the facts an event (and what it points at) tells, shown
//! as the ISP's subscribers read them: amounts with their currency, dates in the ISP's time zone.

use crate::config::Loaded;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use domain::customer::Customer;
use domain::money::format_minor;
use domain::tenant::Tenant;
use messaging::notices::Notice;
use std::collections::BTreeMap;

/// What a notice may show beyond the ISP and the customer (each notice uses its own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub currency: String,
    pub invoice_number: Option<String>,
    pub amount: Option<i64>,
    pub due_date: Option<DateTime<Utc>>,
    /// Days left before the due date, or days past it.
    pub days: Option<i64>,
    pub receipt_number: Option<String>,
    /// What the customer still owes after a payment (negative: in credit).
    pub balance: Option<i64>,
    pub package: Option<String>,
    pub expiry: Option<DateTime<Utc>>,
    pub username: Option<String>,
    pub router_name: Option<String>,
    pub pop_name: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub detail: Option<String>,
    pub gateway: Option<String>,
    pub account_name: Option<String>,
    /// A wallet's warning threshold, and whose wallet.
    pub threshold: Option<i64>,
    pub operator_name: Option<String>,
    /// A voucher's login.
    pub code: Option<String>,
    pub password: Option<String>,
    pub plan: Option<String>,
    pub validity: Option<String>,
    pub login_url: Option<String>,
    /// How long a code works.
    pub minutes: Option<i64>,
}

impl Facts {
    /// Example facts for a preview, as of `now`.
    pub fn example(notice: Notice, tenant: &Tenant, now: DateTime<Utc>) -> Facts {
        let year = now.format("%Y");
        Facts {
            currency: tenant.currency.clone(),
            invoice_number: Some(format!("{}-{year}-000123", tenant.billing.invoice_prefix)),
            amount: Some(100_000),
            due_date: Some(now + Duration::days(7)),
            days: Some(if notice == Notice::PaymentOverdue { 5 } else { 3 }),
            receipt_number: Some(format!("{}-{year}-000045", tenant.billing.receipt_prefix)),
            balance: Some(0),
            package: Some("Home 10 Mbps".into()),
            expiry: Some(now + Duration::days(30)),
            username: Some("example-user".into()),
            router_name: Some("Core router".into()),
            pop_name: Some("Main POP".into()),
            since: Some(now),
            detail: Some("no answer from the router".into()),
            gateway: Some("bkash".into()),
            account_name: Some("Main account".into()),
            threshold: Some(50_000),
            operator_name: Some("Lane Cable".into()),
            code: Some("HSK7M2QX".into()),
            password: Some("P4X9TR".into()),
            plan: Some("1GB-DAILY".into()),
            validity: Some("1 day".into()),
            login_url: Some("http://10.5.50.1/login?username=HSK7M2QX&password=P4X9TR".into()),
            minutes: Some(10),
        }
    }

    /// The placeholders an example fills (all but the ISP's and the customer's own).
    pub fn example_names(&self, notice: Notice) -> Vec<String> {
        notice
            .placeholders()
            .iter()
            .filter(|n| !matches!(**n, "isp_name" | "customer_name"))
            .map(|n| n.to_string())
            .collect()
    }
}

fn money(amount: i64, currency: &str) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    format!("{currency} {sign}{}", format_minor(amount.abs(), currency))
}

/// The values of `notice`'s placeholders (an unknown fact renders empty).
pub fn values(
    loaded: &Loaded,
    notice: Notice,
    customer: Option<&Customer>,
    facts: &Facts,
) -> BTreeMap<&'static str, String> {
    let tz: Tz = loaded.tenant.time_zone.parse().unwrap_or(Tz::UTC);
    let date = |t: DateTime<Utc>| t.with_timezone(&tz).format("%d/%m/%Y").to_string();
    let time = |t: DateTime<Utc>| t.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    notice
        .placeholders()
        .iter()
        .map(|name| {
            let value = match *name {
                "isp_name" => loaded.tenant.name.clone(),
                "customer_name" => customer.map(|c| c.name.clone()).unwrap_or_default(),
                "invoice_number" => text(&facts.invoice_number),
                "amount" => facts.amount.map(|a| money(a, &facts.currency)).unwrap_or_default(),
                "balance" => facts.balance.map(|a| money(a, &facts.currency)).unwrap_or_default(),
                "due_date" => facts.due_date.map(date).unwrap_or_default(),
                "days_left" | "days_overdue" => facts.days.map(|d| d.abs().to_string()).unwrap_or_default(),
                "pay_link" => loaded.settings.pay_url.clone().unwrap_or_default(),
                "receipt_number" => text(&facts.receipt_number),
                "package" => text(&facts.package),
                "expiry" => facts.expiry.map(time).unwrap_or_default(),
                "username" => {
                    facts.username.clone().or_else(|| customer.map(|c| c.username.clone())).unwrap_or_default()
                }
                "router_name" => text(&facts.router_name),
                "pop_name" => text(&facts.pop_name),
                "since" => facts.since.map(time).unwrap_or_default(),
                "detail" => text(&facts.detail),
                "gateway" => text(&facts.gateway),
                "account_name" => text(&facts.account_name),
                "threshold" => facts.threshold.map(|a| money(a, &facts.currency)).unwrap_or_default(),
                "operator_name" => text(&facts.operator_name),
                "code" => text(&facts.code),
                "password" => text(&facts.password),
                "plan" => text(&facts.plan),
                "validity" => text(&facts.validity),
                "login_url" => text(&facts.login_url),
                "minutes" => facts.minutes.map(|m| m.to_string()).unwrap_or_default(),
                _ => String::new(),
            };
            (*name, value)
        })
        .collect()
}
