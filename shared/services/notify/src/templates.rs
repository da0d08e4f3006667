//! Message templates (`/v1/messaging/templates`): per notice and language, the ISP's own text or
//! the product's default; placeholders are checked when a text is saved (an unknown one is a
//! 422), and a preview renders a text for a real customer with its SMS encoding, parts and cost.

use crate::config::{Loaded, load_config};
use crate::values::{Facts, values};
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::language::Language;
use domain::role::Permission;
use domain::{Error, Result, Validation};
use kernel::App;
use kernel::support::{Audited, StoreResultExt, audit, load_tenant, snapshot};
use messaging::encoding::{SmsEncoding, shape};
use messaging::notices::{Audience, Notice};
use messaging::template::TemplateError;
use serde::{Deserialize, Serialize};
use store::{Store, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TemplateRecord {
    pub tenant_id: Uuid,
    pub notice: Notice,
    pub language: Language,
    pub text: String,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl store::Stored for TemplateRecord {
    const TYPE: &'static str = "MSGTEMPLATE";
    fn keys(&self) -> store::ItemKeys {
        keys::message_template(self.tenant_id, self.notice.as_str(), self.language.as_str())
    }
    fn version(&self) -> Option<u64> {
        Some(self.version)
    }
}

/// A notice's text in a language as the ISP sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageTemplate {
    pub notice: Notice,
    pub language: Language,
    pub audience: Audience,
    pub text: String,
    /// The ISP's own text (false: the product's default).
    pub custom: bool,
    /// The placeholders this notice's text may use.
    pub placeholders: Vec<String>,
    /// 0 for the product's default.
    pub version: u64,
}

fn template_of(loaded: &Loaded, notice: Notice, language: Language) -> MessageTemplate {
    let own = loaded.templates.get(&(notice, language));
    MessageTemplate {
        notice,
        language,
        audience: notice.audience(),
        text: loaded.template_text(notice, language).to_string(),
        custom: own.is_some(),
        placeholders: notice.placeholders().iter().map(|s| s.to_string()).collect(),
        version: own.map_or(0, |t| t.version),
    }
}

/// Every notice in every language.
pub async fn list_templates(app: &App, actor: &Actor) -> Result<Vec<MessageTemplate>> {
    actor.require(Permission::TenantSettingsRead)?;
    let tenant = load_tenant(app, actor.tenant()?).await?;
    let loaded = load_config(app, &tenant).await?;
    Ok(Notice::ALL
        .into_iter()
        .flat_map(|n| Language::ALL.into_iter().map(move |l| (n, l)))
        .map(|(n, l)| template_of(&loaded, n, l))
        .collect())
}

/// A notice and language from a path.
pub fn parse_path(notice: &str, language: &str) -> Result<(Notice, Language)> {
    let n = Notice::parse(notice).ok_or_else(|| Error::not_found("notice"))?;
    let l = Language::parse(language).ok_or_else(|| Error::not_found("language"))?;
    Ok((n, l))
}

fn check_text(v: &mut Validation, notice: Notice, text: &str) -> String {
    if let Err(e) = notice.template(text) {
        let words = match e {
            TemplateError::Unknown(names) => format!(
                "unknown placeholder {} (this notice may use {})",
                names.join(", "),
                notice.placeholders().iter().map(|n| format!("{{{n}}}")).collect::<Vec<_>>().join(", ")
            ),
            other => other.to_string(),
        };
        v.add("text", words);
    }
    v.text("text", text, messaging::template::MAX_TEMPLATE_CHARS)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutTemplate {
    pub text: String,
    /// The version you read (0 for the product's default).
    pub version: Option<u64>,
}

pub async fn put_template(
    app: &App,
    actor: &Actor,
    notice: Notice,
    language: Language,
    input: PutTemplate,
    if_match: Option<u64>,
) -> Result<MessageTemplate> {
    actor.require(Permission::TenantSettingsWrite)?;
    let tid = actor.tenant()?;
    let expected = kernel::support::expected_version(if_match, input.version)?;
    let mut v = Validation::new();
    let text = check_text(&mut v, notice, &input.text);
    v.finish()?;
    let tenant = load_tenant(app, tid).await?;
    let loaded = load_config(app, &tenant).await?;
    let before = template_of(&loaded, notice, language);
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    let now = app.now();
    let rec = TemplateRecord { tenant_id: tid, notice, language, text, updated_at: now, version: expected + 1 };
    let mut tx = Tx::new();
    let item = Store::encode_stored(&rec).or_500()?;
    if expected == 0 {
        tx.put_new(item, store::Conflict::Version);
    } else {
        tx.put_versioned(item, expected);
    }
    let mut after = loaded;
    after.templates.insert((notice, language), rec);
    let after = template_of(&after, notice, language);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "message_template.updated",
            entity: "message_template",
            id: format!("{}:{}", notice.as_str(), language.as_str()),
            before: Some(snapshot(&before)),
            after: Some(snapshot(&after)),
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    crate::config::forget(tid);
    Ok(after)
}

/// Back to the product's default text.
pub async fn reset_template(app: &App, actor: &Actor, notice: Notice, language: Language) -> Result<MessageTemplate> {
    actor.require(Permission::TenantSettingsWrite)?;
    let tid = actor.tenant()?;
    let tenant = load_tenant(app, tid).await?;
    let mut loaded = load_config(app, &tenant).await?;
    let before = template_of(&loaded, notice, language);
    if before.custom {
        let now = app.now();
        let mut tx = Tx::new();
        tx.delete(&keys::message_template(tid, notice.as_str(), language.as_str()));
        tx.put_audit(&audit(
            actor,
            Some(tid),
            Audited {
                action: "message_template.reset",
                entity: "message_template",
                id: format!("{}:{}", notice.as_str(), language.as_str()),
                before: Some(snapshot(&before)),
                after: None,
            },
            now,
        ));
        app.store.commit(tx).await.or_500()?;
        crate::config::forget(tid);
        loaded.templates.remove(&(notice, language));
    }
    Ok(template_of(&loaded, notice, language))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewTemplate {
    /// Whose details fill the text.
    pub customer_id: Uuid,
    /// A text to try before saving it (default: the current one).
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TemplatePreview {
    pub text: String,
    pub encoding: SmsEncoding,
    /// Characters as the encoding counts them (GSM-7 septets, UCS-2 code units).
    pub units: u32,
    pub parts: u32,
    /// Parts × the sending account's price per part, in minor units of the ISP's currency.
    pub estimated_cost: Option<i64>,
    pub currency: String,
    /// Placeholders filled with example values (nothing of the customer's says what they are).
    pub example_values: Vec<String>,
}

pub async fn preview_template(
    app: &App,
    actor: &Actor,
    notice: Notice,
    language: Language,
    input: PreviewTemplate,
) -> Result<TemplatePreview> {
    actor.require(Permission::TenantSettingsRead)?;
    let customer = crm::customers::get_customer(app, actor, input.customer_id).await?;
    let tenant = load_tenant(app, customer.tenant_id).await?;
    let loaded = load_config(app, &tenant).await?;
    let text = match &input.text {
        Some(t) => {
            let mut v = Validation::new();
            let t = check_text(&mut v, notice, t);
            v.finish()?;
            t
        }
        None => loaded.template_text(notice, language).to_string(),
    };
    let template = notice.template(&text).map_err(|e| Error::Internal(e.to_string()))?;
    let facts = Facts::example(notice, &tenant, app.now());
    let example_values = facts.example_names(notice);
    let rendered = template.render(&values(&loaded, notice, Some(&customer), &facts));
    let s = shape(&rendered);
    let price = loaded.sms_channel().and_then(|c| c.channel.price_per_part);
    Ok(TemplatePreview {
        text: rendered,
        encoding: s.encoding,
        units: s.units,
        parts: s.parts,
        estimated_cost: price.map(|p| p * i64::from(s.parts)),
        currency: tenant.currency.clone(),
        example_values,
    })
}
