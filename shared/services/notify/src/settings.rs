//! An ISP's messaging settings (`/v1/messaging/settings`): the language it writes in, its quiet
//! hours, how fast it may send, which SMS account it sends through, and the rules saying which
//! notice reaches whom on which medium. An ISP that never saved them has the product's defaults:
//! every subscriber notice to the subscriber by SMS, staff notices to the alert log only.

use crate::config::{Loaded, load_config};
use chrono::{DateTime, NaiveTime, Utc};
use domain::actor::Actor;
use domain::language::Language;
use domain::role::Permission;
use domain::tenant::Tenant;
use domain::{Error, Result, Validation};
use kernel::App;
use kernel::support::{Audited, StoreResultExt, audit, expected_version, load_tenant, snapshot};
use messaging::life::Medium;
use messaging::notices::{Audience, Notice};
use messaging::schedule::QuietHours;
use serde::{Deserialize, Serialize};
use store::{Owner, Store, Tx, keys};
use uuid::Uuid;

/// Who hears of a notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "to", rename_all = "snake_case", deny_unknown_fields)]
pub enum Recipient {
    /// The customer the notice is about, by SMS to the customer's phone.
    Customer,
    /// The operator (or sub-operator) the customer belongs to, by SMS to the operator's phone.
    Operator,
    /// The ISP's active admins, by SMS to each admin's phone (staff notices only).
    Admins,
    /// The customer the notice is about, by e-mail (with the invoice's PDF for an invoice's
    /// notices), when the customer has an address.
    CustomerEmail,
    /// A chat (a group of the ISP's staff) through one of the ISP's Telegram bots.
    Telegram { channel_id: Uuid, chat_id: String },
}

impl Recipient {
    pub fn medium(&self) -> Medium {
        match self {
            Recipient::Customer | Recipient::Operator | Recipient::Admins => Medium::Sms,
            Recipient::CustomerEmail => Medium::Email,
            Recipient::Telegram { .. } => Medium::Telegram,
        }
    }
}

/// One notice to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "RuleInput")]
pub struct Rule {
    pub notice: Notice,
    #[serde(flatten)]
    pub recipient: Recipient,
}

/// A rule as written: one flat object whose stray fields are refused (serde cannot deny unknown
/// fields beside a flattened part, and a unit variant of a tagged enum ignores them).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleInput {
    notice: Notice,
    to: String,
    channel_id: Option<Uuid>,
    chat_id: Option<String>,
}

impl TryFrom<RuleInput> for Rule {
    type Error = String;
    fn try_from(r: RuleInput) -> Result<Rule, String> {
        let recipient = match (r.to.as_str(), r.channel_id, r.chat_id) {
            ("customer", None, None) => Recipient::Customer,
            ("operator", None, None) => Recipient::Operator,
            ("admins", None, None) => Recipient::Admins,
            ("customer_email", None, None) => Recipient::CustomerEmail,
            ("telegram", Some(channel_id), Some(chat_id)) => Recipient::Telegram { channel_id, chat_id },
            ("telegram", _, _) => return Err("a telegram rule names its channel_id and chat_id".into()),
            ("customer" | "operator" | "admins" | "customer_email", _, _) => {
                return Err(format!("a rule to {} takes no channel_id or chat_id", r.to));
            }
            (other, _, _) => {
                return Err(format!(
                    "unknown recipient `{other}`: customer, customer_email, operator, admins or telegram"
                ));
            }
        };
        Ok(Rule { notice: r.notice, recipient })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessagingSettings {
    /// What customers without a language of their own are written to in.
    pub default_language: Language,
    /// No subscriber notice goes out in this window of the ISP's local time (urgent ones do:
    /// codes someone waits for); `null`: any hour.
    pub quiet_hours: Option<QuietHours>,
    /// At most this many messages a minute leave for this ISP (the provider's rate, or less).
    pub sends_per_minute: u32,
    /// The SMS account to send through: one of the ISP's own, or one the platform offers;
    /// `null`: the ISP's first active account, else the platform's for the ISP's country.
    pub sms_channel_id: Option<Uuid>,
    /// Where subscribers pay (`{pay_link}` in templates); `null`: they are told to pay the ISP.
    pub pay_url: Option<String>,
    pub rules: Vec<Rule>,
    /// Never saved: the product's defaults (version 0).
    pub updated_at: Option<DateTime<Utc>>,
    pub version: u64,
}

impl MessagingSettings {
    /// The product's defaults for an ISP.
    pub fn defaults(tenant: &Tenant) -> Self {
        Self {
            default_language: Language::default_for_country(&tenant.country),
            quiet_hours: Some(QuietHours {
                start: NaiveTime::from_hms_opt(21, 0, 0).expect("a time"),
                end: NaiveTime::from_hms_opt(9, 0, 0).expect("a time"),
            }),
            sends_per_minute: 600,
            sms_channel_id: None,
            pay_url: None,
            rules: Notice::ALL
                .into_iter()
                .filter(|n| n.audience() == Audience::Customer)
                .map(|notice| Rule { notice, recipient: Recipient::Customer })
                // An operator hears of its own wallet.
                .chain(std::iter::once(Rule { notice: Notice::WalletLowBalance, recipient: Recipient::Operator }))
                .collect(),
            updated_at: None,
            version: 0,
        }
    }

    /// The rules for one notice.
    pub fn rules_for(&self, notice: Notice) -> impl Iterator<Item = &Recipient> {
        self.rules.iter().filter(move |r| r.notice == notice).map(|r| &r.recipient)
    }
}

impl store::Stored for MessagingSettingsRecord {
    const TYPE: &'static str = "MSGSETTINGS";
    fn keys(&self) -> store::ItemKeys {
        keys::messaging_settings(Owner::Tenant(self.tenant_id))
    }
    fn version(&self) -> Option<u64> {
        Some(self.settings.version)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MessagingSettingsRecord {
    pub tenant_id: Uuid,
    #[serde(flatten)]
    pub settings: MessagingSettings,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutMessagingSettings {
    pub default_language: Language,
    pub quiet_hours: Option<QuietHours>,
    pub sends_per_minute: u32,
    pub sms_channel_id: Option<Uuid>,
    pub pay_url: Option<String>,
    pub rules: Vec<Rule>,
    /// The version you read (0 for the defaults).
    pub version: Option<u64>,
}

pub async fn get_settings(app: &App, actor: &Actor) -> Result<MessagingSettings> {
    actor.require(Permission::TenantSettingsRead)?;
    let tid = actor.tenant()?;
    let tenant = load_tenant(app, tid).await?;
    let loaded = load_config(app, &tenant).await?;
    Ok(loaded.settings)
}

pub async fn put_settings(
    app: &App,
    actor: &Actor,
    input: PutMessagingSettings,
    if_match: Option<u64>,
) -> Result<MessagingSettings> {
    actor.require(Permission::TenantSettingsWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let tenant = load_tenant(app, tid).await?;
    let loaded = load_config(app, &tenant).await?;
    let mut v = Validation::new();
    v.range_i64("sends_per_minute", input.sends_per_minute.into(), 1, 6000);
    if let Some(id) = input.sms_channel_id
        && loaded.usable_sms_channel(id, &tenant.country).is_none()
    {
        v.add("sms_channel_id", "must be an active SMS account of this ISP or one the platform offers in its country");
    }
    let pay_url = input.pay_url.as_deref().map(|u| match outbound::checked_url(u, hosts(app)) {
        Ok(u) => u,
        Err(e) => {
            v.add("pay_url", e.to_string());
            u.to_string()
        }
    });
    check_rules(&mut v, &input.rules, &loaded);
    v.finish()?;
    let before = loaded.settings.clone();
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    let now = app.now();
    let after = MessagingSettings {
        default_language: input.default_language,
        quiet_hours: input.quiet_hours,
        sends_per_minute: input.sends_per_minute,
        sms_channel_id: input.sms_channel_id,
        pay_url,
        rules: input.rules,
        updated_at: Some(now),
        version: before.version + 1,
    };
    let item = Store::encode_stored(&MessagingSettingsRecord { tenant_id: tid, settings: after.clone() }).or_500()?;
    let mut tx = Tx::new();
    if before.version == 0 {
        tx.put_new(item, store::Conflict::Version);
    } else {
        tx.put_versioned(item, expected);
    }
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "messaging_settings.updated",
            entity: "messaging_settings",
            id: tid.to_string(),
            before: Some(snapshot(&before)),
            after: Some(snapshot(&after)),
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    crate::config::forget(tid);
    Ok(after)
}

pub(crate) fn hosts(app: &App) -> outbound::Hosts {
    outbound::Hosts { allow_loopback: app.router_hosts.allow_loopback }
}

fn check_rules(v: &mut Validation, rules: &[Rule], loaded: &Loaded) {
    if rules.len() > 100 {
        v.add("rules", "at most 100 rules");
    }
    for (i, rule) in rules.iter().enumerate() {
        let field = format!("rules[{i}]");
        if rules[..i].contains(rule) {
            v.add(&field, "is given twice");
        }
        let about_customer = rule.notice.audience() == Audience::Customer;
        match &rule.recipient {
            Recipient::Customer | Recipient::CustomerEmail if !about_customer => {
                v.add(&field, format!("{} is a staff notice: no customer to send it to", rule.notice.as_str()))
            }
            Recipient::Operator if !rule.notice.about_customer() && !rule.notice.about_operator() => {
                v.add(&field, format!("{} is not about a customer: there is no operator", rule.notice.as_str()))
            }
            Recipient::Admins if about_customer => v.add(
                &field,
                format!("{} is a subscriber notice: it goes to the customer or the operator", rule.notice.as_str()),
            ),
            Recipient::Telegram { channel_id, chat_id } => {
                if !loaded.channels.iter().any(|c| c.channel.id == *channel_id && c.channel.kind.is_telegram()) {
                    v.add(&format!("{field}.channel_id"), "must be a Telegram bot of this ISP");
                }
                let ok = !chat_id.is_empty()
                    && chat_id.len() <= 64
                    && chat_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '@'));
                if !ok {
                    v.add(&format!("{field}.chat_id"), "must be a chat id (-100123...) or @channel name");
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_with_their_recipient_and_refuse_stray_fields() {
        let id = Uuid::nil();
        let r: Rule = serde_json::from_value(serde_json::json!({"notice": "router_offline", "to": "telegram",
                "channel_id": id, "chat_id": "-100777"}))
        .unwrap();
        assert_eq!(r.recipient, Recipient::Telegram { channel_id: id, chat_id: "-100777".into() });
        let r: Rule =
            serde_json::from_value(serde_json::json!({"notice": "invoice_issued", "to": "customer"})).unwrap();
        assert_eq!(r.recipient, Recipient::Customer);
        for bad in [
            serde_json::json!({"notice": "invoice_issued", "to": "customer", "chat_id": "1"}),
            serde_json::json!({"notice": "invoice_issued", "to": "everyone"}),
            serde_json::json!({"notice": "router_offline", "to": "telegram", "chat_id": "1"}),
        ] {
            assert!(serde_json::from_value::<Rule>(bad.clone()).is_err(), "{bad}");
        }
    }
}
