//! Delivery reports: what a provider says became of an SMS after it took it. Twilio posts to the
//! status callback URL given with each message, signed (`X-Twilio-Signature`, the account's auth
//! token); Africa's Talking posts to one URL set in its dashboard, unsigned, so that URL carries
//! a secret derived from the account. Either way the report names the provider's message id,
//! which leads (through a pointer written when the message was accepted) to the message; a report
//! only moves a message forward (`messaging::life::after_report`): a late or repeated one changes
//! nothing.

use crate::channels::ChannelRecord;
use crate::messages::Message;
use domain::{Error, Result};
use kernel::App;
use kernel::support::{StoreResultExt, decoded};
use messaging::life::{MessageStatus, after_report};
use messaging::sms::{DeliveryReport, DeliveryState, SmsProvider};
use serde::{Deserialize, Serialize};
use store::{Owner, Store, Tx, keys};
use uuid::Uuid;

/// How long a provider may take to report (after that, the pointer is gone and a report is 404).
const REPORT_WINDOW_DAYS: i64 = 7;

/// Where a provider's message id leads.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReportRef {
    tenant_id: Uuid,
    message_id: Uuid,
}

/// The owner segment of a report URL: the ISP's id, or `platform` for the platform's accounts
/// (whose reports are about many ISPs' messages).
fn owner_segment(channel: &ChannelRecord) -> String {
    channel.channel.tenant_id.map_or_else(|| "platform".to_string(), |t| t.to_string())
}

fn parse_owner(segment: &str) -> Result<Owner> {
    match segment {
        "platform" => Ok(Owner::Platform),
        s => s.parse().map(Owner::Tenant).map_err(|_| Error::not_found("messaging channel")),
    }
}

fn report_path(provider: SmsProvider, owner: &str, channel: Uuid) -> String {
    format!("/v1/webhooks/sms/{}/{owner}/{channel}", provider.as_str())
}

/// The secret in an Africa's Talking report URL: derived from the account, so it needs no
/// storing and changes with nothing the ISP can see.
fn url_secret(app: &App, channel: Uuid) -> String {
    domain::crypto::b64url_encode(&app.fingerprint.sign(format!("sms-report:{channel}").as_bytes())[..18])
}

/// The status callback to give Twilio with a message (None: no public URL configured).
pub(crate) fn status_callback(app: &App, channel: &ChannelRecord) -> Option<String> {
    let provider = channel.channel.provider?;
    (provider == SmsProvider::Twilio && !app.public_url.is_empty())
        .then(|| format!("{}{}", app.public_url, report_path(provider, &owner_segment(channel), channel.channel.id)))
}

/// The URL to paste into the Africa's Talking dashboard as the delivery report callback.
pub fn dashboard_report_url(app: &App, channel: &ChannelRecord) -> Option<String> {
    let provider = channel.channel.provider?;
    (provider == SmsProvider::AfricasTalking && !app.public_url.is_empty()).then(|| {
        format!(
            "{}{}/{}",
            app.public_url,
            report_path(provider, &owner_segment(channel), channel.channel.id),
            url_secret(app, channel.channel.id)
        )
    })
}

/// Adds the pointer from the provider's id to an accepted message, for providers that report.
pub(crate) fn stage_ref(tx: &mut Tx, channel: &ChannelRecord, msg: &Message) -> Result<()> {
    let (Some(provider), Some(pmid)) = (channel.channel.provider, msg.provider_message_id.as_deref()) else {
        return Ok(());
    };
    if !provider.pushes_delivery_reports() {
        return Ok(());
    }
    let keys = keys::sms_report_ref(Owner::from_tenant(channel.channel.tenant_id), channel.channel.id, pmid);
    let mut item =
        Store::encode(&keys, "SMSREF", &ReportRef { tenant_id: msg.tenant_id, message_id: msg.id }, None).or_500()?;
    item.insert("ttl".into(), store::ttl_at(msg.updated_at + chrono::Duration::days(REPORT_WINDOW_DAYS)));
    tx.put(item);
    Ok(())
}

/// A report as it arrived at `/v1/webhooks/sms/{provider}/{owner}/{channel_id}[/{secret}]`.
pub struct IncomingReport<'a> {
    pub provider: &'a str,
    pub owner: &'a str,
    pub channel_id: Uuid,
    /// The last path segment (Africa's Talking).
    pub secret: Option<&'a str>,
    /// `X-Twilio-Signature`.
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// What the report did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportAnswer {
    pub message_id: Uuid,
    pub status: MessageStatus,
    /// False when the message was already past what the report says (late, repeated).
    pub changed: bool,
}

/// Verifies a report and applies it to its message.
pub async fn receive_report(app: &App, r: IncomingReport<'_>) -> Result<ReportAnswer> {
    let owner = parse_owner(r.owner)?;
    let provider = SmsProvider::parse(r.provider)
        .filter(|p| p.pushes_delivery_reports())
        .ok_or_else(|| Error::not_found("delivery report endpoint"))?;
    let item = app.store.get_item(&keys::messaging_channel(owner, r.channel_id)).await.or_500()?;
    let channel = decoded::<ChannelRecord>(item)?
        .filter(|c| Owner::from_tenant(c.channel.tenant_id) == owner && c.channel.provider == Some(provider))
        .ok_or_else(|| Error::not_found("messaging channel"))?;
    // (The pointer is read only once the report verifies: an unsigned caller learns nothing.)
    let unauthorized = |detail: String| Error::Unauthorized { code: "invalid_signature", detail };
    let report: DeliveryReport = match provider {
        SmsProvider::Twilio => {
            if r.secret.is_some() {
                return Err(Error::not_found("delivery report endpoint"));
            }
            if r.signature.is_none() {
                return Err(unauthorized("no X-Twilio-Signature".into()));
            }
            let token = channel.sms_account(app)?.credentials.get("auth_token").cloned().unwrap_or_default();
            let url = format!("{}{}", app.public_url, report_path(provider, r.owner, r.channel_id));
            messaging::sms::twilio::verify_status_callback(&token, &url, r.signature, r.body)
                .map_err(|e| if e.contains("signature") { unauthorized(e) } else { bad_report(e) })?
        }
        _ => {
            let expected = url_secret(app, r.channel_id);
            let given = r.secret.unwrap_or_default();
            if !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), given.as_bytes())) {
                return Err(unauthorized("the report URL's secret does not match".into()));
            }
            messaging::sms::africastalking::delivery_report(r.body).map_err(bad_report)?
        }
    };
    let pointer =
        app.store.get_item(&keys::sms_report_ref(owner, r.channel_id, &report.provider_message_id)).await.or_500()?;
    let target: ReportRef = decoded(pointer)?.ok_or_else(|| Error::not_found("message"))?;
    // Two reports about one message may race: the loser reads again and applies its own.
    for _ in 0..3 {
        let item = app.store.get_item(&keys::message_key(target.tenant_id, target.message_id)).await.or_500()?;
        let before: Message = decoded(item)?.ok_or_else(|| Error::not_found("message"))?;
        let Some(status) = after_report(before.status, report.state) else {
            return Ok(ReportAnswer { message_id: before.id, status: before.status, changed: false });
        };
        let now = app.now();
        let mut after = before.clone();
        after.status = status;
        after.delivery_report = Some(report.detail.clone());
        after.updated_at = now;
        after.version += 1;
        match report.state {
            DeliveryState::Delivered => after.delivered_at = Some(now),
            DeliveryState::Failed => {
                after.error_code = Some("undelivered".into());
                after.error_detail = Some(report.detail.clone());
            }
            DeliveryState::Sent => {}
        }
        let mut tx = Tx::new();
        tx.put_versioned(Store::encode_stored(&after).or_500()?, before.version);
        match app.store.commit(tx).await {
            Ok(()) => return Ok(ReportAnswer { message_id: after.id, status, changed: true }),
            Err(store::StoreError::Conflict(_)) => continue,
            Err(e) => return Err(kernel::support::store_err(e)),
        }
    }
    Err(Error::Unavailable { detail: "the message kept changing; the provider will report again".into() })
}

fn bad_report(detail: String) -> Error {
    Error::BadRequest { code: "invalid_report", detail }
}
