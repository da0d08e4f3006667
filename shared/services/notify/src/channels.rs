//! Messaging channels (`/v1/messaging/channels`): an ISP's accounts at SMS providers and its
//! Telegram bots, or (without a tenant) the accounts the platform offers to ISPs of some
//! countries. Credentials are sealed like gateway secrets: never returned, never logged, opened
//! only for a send. A live account talks to the provider's own host; a sandbox account may name
//! another base (a staging host, or a fake on 127.0.0.1 where the platform allows loopback).

use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record};
use kernel::support::{
    Audited, StoreResultExt, audit, decoded, expected_version, open_credentials, seal_credentials, snapshot,
};
use messaging::SendError;
use messaging::sms::{SmsAccount, SmsBalance, SmsHttp, SmsProvider, SmsRequest};
use messaging::telegram::{self, TelegramBot};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::{Conflict, Owner, Store, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Sms,
    Telegram,
}

impl ChannelKind {
    pub fn is_telegram(self) -> bool {
        self == ChannelKind::Telegram
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelMode {
    Live,
    Sandbox,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelStatus {
    Active,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessagingChannel {
    pub id: Uuid,
    /// None: the platform's, offered to ISPs in `countries`.
    pub tenant_id: Option<Uuid>,
    pub kind: ChannelKind,
    /// SMS accounts: the provider.
    pub provider: Option<SmsProvider>,
    pub mode: ChannelMode,
    pub name: String,
    /// SMS: the approved sender id (mask) or number.
    pub sender_id: Option<String>,
    /// Sandbox only: another API base URL.
    pub base_url: Option<String>,
    /// What one SMS part costs through this account, in minor units of the ISP's currency (for
    /// cost estimates and the message log).
    pub price_per_part: Option<i64>,
    /// Platform accounts: the ISPs' countries (ISO 3166) that may use it.
    pub countries: Vec<String>,
    pub status: ChannelStatus,
    /// Which credentials are set (their values are never shown).
    pub credentials_set: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
    /// Africa's Talking: the URL to set as the delivery report callback in its dashboard (it
    /// carries a secret; shown on the channel, never stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_report_url: Option<String>,
}

impl MessagingChannel {
    pub fn sends_sms(&self) -> bool {
        self.kind == ChannelKind::Sms && self.status == ChannelStatus::Active
    }

    /// A platform SMS account an ISP in `country` may use.
    pub fn offered_in(&self, country: &str) -> bool {
        self.tenant_id.is_none() && self.sends_sms() && self.countries.iter().any(|c| c == country)
    }

    fn base_url(&self) -> String {
        match (&self.base_url, self.provider) {
            (Some(b), _) => b.trim_end_matches('/').to_string(),
            (None, Some(p)) => p.live_base_url().to_string(),
            (None, None) => telegram::LIVE_BASE_URL.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelRecord {
    #[serde(flatten)]
    pub channel: MessagingChannel,
    pub credentials_sealed: String,
}

impl store::Stored for ChannelRecord {
    const TYPE: &'static str = "MSGCHANNEL";
    fn keys(&self) -> store::ItemKeys {
        keys::messaging_channel(Owner::from_tenant(self.channel.tenant_id), self.channel.id)
    }
    fn version(&self) -> Option<u64> {
        Some(self.channel.version)
    }
}

const CREDENTIALS: &str = "messaging-credentials";

impl ChannelRecord {
    fn credentials(&self, app: &App) -> Result<BTreeMap<String, String>> {
        open_credentials(&app.secrets, CREDENTIALS, self.channel.id, &self.credentials_sealed)
    }

    /// The provider account to send SMS through (credentials opened).
    pub fn sms_account(&self, app: &App) -> Result<SmsAccount> {
        let provider =
            self.channel.provider.ok_or_else(|| Error::Internal("an SMS channel without provider".into()))?;
        Ok(SmsAccount {
            provider,
            base_url: self.channel.base_url(),
            sender_id: self.channel.sender_id.clone(),
            credentials: self.credentials(app)?,
        })
    }

    /// The bot to send Telegram messages through (token opened).
    pub fn telegram_bot(&self, app: &App) -> Result<TelegramBot> {
        let token = self.credentials(app)?.remove("bot_token").unwrap_or_default();
        Ok(TelegramBot { base_url: self.channel.base_url(), token })
    }
}

fn needed_credentials(kind: ChannelKind, provider: Option<SmsProvider>) -> &'static [&'static str] {
    match (kind, provider) {
        (ChannelKind::Telegram, _) => &["bot_token"],
        (ChannelKind::Sms, Some(p)) => p.required_credentials(),
        (ChannelKind::Sms, None) => &[],
    }
}

fn service_name(kind: ChannelKind, provider: Option<SmsProvider>) -> &'static str {
    match (kind, provider) {
        (ChannelKind::Telegram, _) => "telegram",
        (ChannelKind::Sms, Some(p)) => p.as_str(),
        (ChannelKind::Sms, None) => "sms",
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    pub kind: ChannelKind,
    /// Required for SMS accounts.
    pub provider: Option<SmsProvider>,
    pub mode: ChannelMode,
    pub name: String,
    pub sender_id: Option<String>,
    /// Sandbox only.
    pub base_url: Option<String>,
    pub price_per_part: Option<i64>,
    /// Platform accounts only: which ISPs' countries may use it.
    #[serde(default)]
    pub countries: Vec<String>,
    /// By name, as the provider's dashboard shows them (SSL Wireless: `api_token`; BulkSMSBD and
    /// Alpha SMS: `api_key`; Zenziva: `userkey`, `passkey`; Africa's Talking: `username`,
    /// `api_key`; Twilio: `account_sid`, `auth_token`; Telegram: `bot_token`).
    pub credentials: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChannel {
    pub name: Option<String>,
    pub sender_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub base_url: domain::patch::Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub price_per_part: domain::patch::Patch<i64>,
    pub countries: Option<Vec<String>>,
    /// Replaces the named credentials (the others stay).
    pub credentials: Option<BTreeMap<String, String>>,
    pub status: Option<ChannelStatus>,
    pub version: Option<u64>,
}

/// A test send's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChannelTest {
    pub ok: bool,
    /// `sent`, or the failure's code (`credentials`, `invalid_number`, `no_balance`, `retryable`...).
    pub code: String,
    pub detail: String,
    /// The provider's id of the test message.
    pub provider_message_id: Option<String>,
    /// The account's balance, where the provider tells it.
    pub balance: Option<SmsBalance>,
    pub took_ms: u64,
    pub checked_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestChannel {
    /// SMS: a phone number (local or international form); Telegram: a chat id.
    pub to: String,
    /// Defaults to a short test text naming the ISP.
    pub text: Option<String>,
}

/// Whose channels the actor manages: its ISP's, or (the owner) the platform's.
fn owner_of(actor: &Actor) -> Result<Option<Uuid>> {
    match actor.tenant_id {
        Some(t) => {
            actor.require(Permission::TenantSettingsWrite)?;
            Ok(Some(t))
        }
        None => {
            actor.require(Permission::PlatformResellersWrite)?;
            Ok(None)
        }
    }
}

fn check_sender(v: &mut Validation, kind: ChannelKind, provider: Option<SmsProvider>, sender: Option<&str>) {
    match sender {
        Some(s)
            if s.is_empty() || s.len() > 20 || !s.chars().all(|c| c.is_ascii_alphanumeric() || " +-_.".contains(c)) =>
        {
            v.add("sender_id", "must be 1-20 letters, digits, spaces or + - _ .")
        }
        Some(_) if kind == ChannelKind::Telegram => v.add("sender_id", "a Telegram bot has no sender id"),
        None if provider.is_some_and(SmsProvider::needs_sender_id) => {
            v.add("sender_id", "this provider needs the approved sender id")
        }
        _ => {}
    }
}

fn check_countries(v: &mut Validation, tenant: Option<Uuid>, countries: &[String]) -> Vec<String> {
    if tenant.is_some() && !countries.is_empty() {
        v.add("countries", "only the platform's accounts are offered to countries");
    }
    if countries.len() > 50 || !countries.iter().all(|c| domain::phone::is_known_country(c)) {
        v.add("countries", "at most 50 ISO 3166 alpha-2 codes such as BD");
    }
    countries.to_vec()
}

fn check_price(v: &mut Validation, price: Option<i64>) {
    if let Some(p) = price {
        v.range_i64("price_per_part", p, 0, 1_000_000);
    }
}

fn check_base_url(v: &mut Validation, app: &App, mode: ChannelMode, url: &str) -> String {
    if mode == ChannelMode::Live {
        v.add("base_url", "live accounts always use the provider's own host");
        return url.to_string();
    }
    outbound::checked_base_url(url, crate::settings::hosts(app)).unwrap_or_else(|e| {
        v.add("base_url", e);
        url.to_string()
    })
}

pub async fn create_channel(
    app: &App,
    actor: &Actor,
    input: CreateChannel,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<MessagingChannel>> {
    let tenant = owner_of(actor)?;
    let owner = Owner::from_tenant(tenant);
    let now = app.now();
    let mut v = Validation::new();
    let name = v.text("name", &input.name, 80);
    match (input.kind, input.provider) {
        (ChannelKind::Sms, None) => v.add("provider", "an SMS account needs its provider"),
        (ChannelKind::Telegram, Some(_)) => v.add("provider", "a Telegram bot has no SMS provider"),
        _ => {}
    }
    check_sender(&mut v, input.kind, input.provider, input.sender_id.as_deref());
    check_price(&mut v, input.price_per_part);
    let countries = check_countries(&mut v, tenant, &input.countries);
    let base_url = input.base_url.as_deref().map(|u| check_base_url(&mut v, app, input.mode, u));
    let service = service_name(input.kind, input.provider);
    v.credentials(&input.credentials, needed_credentials(input.kind, input.provider), &[], false, service);
    v.finish()?;
    let id = ids::new_id();
    let channel = MessagingChannel {
        id,
        tenant_id: tenant,
        kind: input.kind,
        provider: input.provider,
        mode: input.mode,
        name,
        sender_id: input.sender_id,
        base_url,
        price_per_part: input.price_per_part,
        countries,
        status: ChannelStatus::Active,
        credentials_set: input.credentials.keys().cloned().collect(),
        created_at: now,
        updated_at: now,
        version: 1,
        delivery_report_url: None,
    };
    let sealed = seal_credentials(&app.secrets, CREDENTIALS, id, &input.credentials)?;
    let rec = ChannelRecord { channel: channel.clone(), credentials_sealed: sealed };
    let mut tx = Tx::new();
    tx.put_new(Store::encode_stored(&rec).or_500()?, Conflict::Exists);
    tx.put_audit(&audit(
        actor,
        tenant,
        Audited {
            action: "messaging_channel.created",
            entity: "messaging_channel",
            id: id.to_string(),
            before: None,
            after: Some(snapshot(&channel)),
        },
        now,
    ));
    let mut channel = channel;
    channel.delivery_report_url = crate::reports::dashboard_report_url(app, &rec);
    if let Some(req) = idem {
        tx.put_idempotency(owner, &req.key_hash(actor.user_id), &record(req, 201, &channel, app)?);
    }
    let out = commit_create(app, tx, owner, actor.user_id, idem, channel).await;
    forget(tenant);
    out
}

fn forget(tenant: Option<Uuid>) {
    match tenant {
        Some(t) => crate::config::forget(t),
        None => crate::config::forget_all(),
    }
}

/// The channel with its sealed credentials, if it is the actor's to manage.
async fn visible(app: &App, actor: &Actor, id: Uuid) -> Result<ChannelRecord> {
    let tenant = owner_of(actor)?;
    let item = app.store.get_item(&keys::messaging_channel(Owner::from_tenant(tenant), id)).await.or_500()?;
    decoded::<ChannelRecord>(item)?
        .filter(|r| r.channel.tenant_id == tenant)
        .ok_or_else(|| Error::not_found("messaging channel"))
}

pub async fn get_channel(app: &App, actor: &Actor, id: Uuid) -> Result<MessagingChannel> {
    let rec = visible(app, actor, id).await?;
    let mut channel = rec.channel.clone();
    channel.delivery_report_url = crate::reports::dashboard_report_url(app, &rec);
    Ok(channel)
}

/// The actor's channels (an ISP's own, or the platform's), and for an ISP also the platform's
/// accounts offered in its country (which it may choose but not change).
pub async fn list_channels(app: &App, actor: &Actor) -> Result<Vec<MessagingChannel>> {
    match actor.tenant_id {
        Some(tid) => {
            actor.require(Permission::TenantSettingsRead)?;
            let tenant = kernel::support::load_tenant(app, tid).await?;
            let loaded = crate::config::load_config(app, &tenant).await?;
            let offered = loaded.platform_channels.iter().filter(|c| c.channel.offered_in(&tenant.country));
            Ok(loaded.channels.iter().chain(offered).map(|c| c.channel.clone()).collect())
        }
        None => {
            actor.require(Permission::PlatformResellersWrite)?;
            Ok(crate::config::platform_channels(app).await?.into_iter().map(|c| c.channel).collect())
        }
    }
}

pub async fn update_channel(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdateChannel,
    if_match: Option<u64>,
) -> Result<MessagingChannel> {
    let expected = expected_version(if_match, input.version)?;
    let rec = visible(app, actor, id).await?;
    let before = rec.channel.clone();
    let now = app.now();
    let mut v = Validation::new();
    let mut after = before.clone();
    if let Some(n) = &input.name {
        after.name = v.text("name", n, 80);
    }
    if let Some(s) = &input.sender_id {
        check_sender(&mut v, after.kind, after.provider, Some(s));
        after.sender_id = Some(s.clone());
    }
    match input.base_url.as_update() {
        None => {}
        Some(None) => after.base_url = None,
        Some(Some(u)) => after.base_url = Some(check_base_url(&mut v, app, after.mode, u)),
    }
    input.price_per_part.clone().apply_to(&mut after.price_per_part);
    check_price(&mut v, after.price_per_part);
    if let Some(c) = &input.countries {
        after.countries = check_countries(&mut v, after.tenant_id, c);
    }
    if let Some(s) = input.status {
        after.status = s;
    }
    let mut credentials = None;
    if let Some(given) = &input.credentials {
        let service = service_name(after.kind, after.provider);
        v.credentials(given, needed_credentials(after.kind, after.provider), &[], true, service);
        let mut all = rec.credentials(app)?;
        all.extend(given.clone());
        after.credentials_set = all.keys().cloned().collect();
        credentials = Some(all);
    }
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    after.version += 1;
    after.updated_at = now;
    let sealed = match &credentials {
        Some(all) => seal_credentials(&app.secrets, CREDENTIALS, id, all)?,
        None => rec.credentials_sealed.clone(),
    };
    let mut tx = Tx::new();
    tx.put_versioned(
        Store::encode_stored(&ChannelRecord { channel: after.clone(), credentials_sealed: sealed }).or_500()?,
        expected,
    );
    let after_snap = kernel::support::snapshot_with_credentials(&after, input.credentials.as_ref());
    tx.put_audit(&audit(
        actor,
        before.tenant_id,
        Audited {
            action: "messaging_channel.updated",
            entity: "messaging_channel",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: Some(after_snap),
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    forget(after.tenant_id);
    Ok(after)
}

/// Sends a real test message through the channel (to the number or chat given) and, where the
/// provider tells it, reads the account's balance.
pub async fn test_channel(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: TestChannel,
    http: &SmsHttp,
) -> Result<ChannelTest> {
    let rec = visible(app, actor, id).await?;
    let c = &rec.channel;
    let country = match c.tenant_id {
        Some(t) => kernel::support::load_tenant(app, t).await?.country,
        None => c.countries.first().cloned().unwrap_or_else(|| "US".into()),
    };
    let mut v = Validation::new();
    let to = match c.kind {
        ChannelKind::Sms => domain::phone::to_e164(&input.to, &country).unwrap_or_else(|| {
            v.add("to", "must be a phone number");
            String::new()
        }),
        ChannelKind::Telegram => v.text("to", &input.to, 64),
    };
    let text = match &input.text {
        Some(t) => v.text("text", t, 1000),
        None => format!("Test message from {} through {}.", c.name, service_name(c.kind, c.provider)),
    };
    v.finish()?;
    let started = std::time::Instant::now();
    let (sent, balance) = match c.kind {
        ChannelKind::Sms => {
            let account = rec.sms_account(app)?;
            let req = SmsRequest { to, text, reference: ids::new_id().simple().to_string(), status_callback: None };
            let sent = messaging::sms::send(http, &account, &req).await.map(|a| a.provider_message_id);
            let balance = if account.provider.has_balance_api() {
                messaging::sms::balance(http, &account).await.ok().flatten()
            } else {
                None
            };
            (sent, balance)
        }
        ChannelKind::Telegram => {
            let bot = rec.telegram_bot(app)?;
            (telegram::send_message(http, &bot, &to, &text).await.map(Some), None)
        }
    };
    let took_ms = started.elapsed().as_millis() as u64;
    let (ok, code, detail, provider_message_id) = match sent {
        Ok(pid) => (true, "sent".to_string(), "the provider accepted the message".to_string(), pid),
        Err(e) => (false, e.code().to_string(), describe(&e), None),
    };
    Ok(ChannelTest { ok, code, detail, provider_message_id, balance, took_ms, checked_at: app.now() })
}

/// A send error in words for staff (never with credentials: the adapters do not put them in).
pub fn describe(e: &SendError) -> String {
    e.to_string()
}
