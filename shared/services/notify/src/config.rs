//! An ISP's whole messaging configuration (settings, channels, templates) in one Query of its
//! collection, and the platform's offered channels in another. The notifications worker keeps it
//! per ISP for a short while, so a message costs no configuration read; a change made through
//! this process is seen at once, one made elsewhere within [`CACHE_FOR`].

use crate::channels::ChannelRecord;
use crate::settings::{MessagingSettings, MessagingSettingsRecord};
use crate::templates::TemplateRecord;
use crate::webhooks::EndpointRecord;
use domain::language::Language;
use domain::tenant::Tenant;
use domain::{Error, Result};
use kernel::App;
use kernel::support::StoreResultExt;
use messaging::notices::Notice;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use store::{Owner, Query, Store, keys};
use uuid::Uuid;

pub const CACHE_FOR: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Loaded {
    pub tenant: Tenant,
    pub settings: MessagingSettings,
    pub channels: Vec<ChannelRecord>,
    /// The ISP's own texts (the product's defaults fill the rest).
    pub templates: BTreeMap<(Notice, Language), TemplateRecord>,
    /// Accounts the platform offers to ISPs.
    pub platform_channels: Vec<ChannelRecord>,
    /// The ISP's webhook endpoints.
    pub endpoints: Vec<EndpointRecord>,
}

impl Loaded {
    /// The SMS account `id`, if this ISP may send through it.
    pub fn usable_sms_channel(&self, id: Uuid, country: &str) -> Option<&ChannelRecord> {
        let own = self.channels.iter().find(|c| c.channel.id == id && c.channel.sends_sms());
        own.or_else(|| self.platform_channels.iter().find(|c| c.channel.id == id && c.channel.offered_in(country)))
    }

    /// The account this ISP's SMS go through now.
    pub fn sms_channel(&self) -> Option<&ChannelRecord> {
        let country = &self.tenant.country;
        match self.settings.sms_channel_id {
            Some(id) => self.usable_sms_channel(id, country),
            None => self
                .channels
                .iter()
                .find(|c| c.channel.sends_sms())
                .or_else(|| self.platform_channels.iter().find(|c| c.channel.offered_in(country))),
        }
    }

    pub fn channel(&self, id: Uuid) -> Option<&ChannelRecord> {
        self.channels.iter().find(|c| c.channel.id == id)
    }

    /// The text for a notice in a language: the ISP's own, else the product's.
    pub fn template_text(&self, notice: Notice, language: Language) -> &str {
        self.templates.get(&(notice, language)).map_or_else(|| notice.default_text(language), |t| t.text.as_str())
    }
}

/// Reads everything of `owner`'s collection.
async fn collection(app: &App, owner: Owner) -> Result<Vec<store::Item>> {
    app.store.query_all_items(Query::table(keys::messaging_config_pk(owner)), 2000).await.or_500()
}

/// A collection read: its settings (if saved), channels, templates and webhook endpoints.
#[derive(Default)]
struct Collection {
    settings: Option<MessagingSettings>,
    channels: Vec<ChannelRecord>,
    templates: BTreeMap<(Notice, Language), TemplateRecord>,
    endpoints: Vec<EndpointRecord>,
}

fn split(items: Vec<store::Item>) -> Result<Collection> {
    let mut settings = None;
    let mut channels = vec![];
    let mut templates = BTreeMap::new();
    let mut endpoints = vec![];
    for item in items {
        let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        if sk.starts_with(keys::WEBHOOK_ENDPOINT_PREFIX) {
            endpoints.push(Store::decode::<EndpointRecord>(item).or_500()?);
        } else if sk.starts_with(keys::MESSAGING_CHANNEL_PREFIX) {
            channels.push(Store::decode::<ChannelRecord>(item).or_500()?);
        } else if sk.starts_with(keys::MESSAGE_TEMPLATE_PREFIX) {
            let t = Store::decode::<TemplateRecord>(item).or_500()?;
            templates.insert((t.notice, t.language), t);
        } else if sk == "SETTINGS" {
            settings = Some(Store::decode::<MessagingSettingsRecord>(item).or_500()?.settings);
        }
    }
    channels.sort_by_key(|c: &ChannelRecord| c.channel.created_at);
    endpoints.sort_by_key(|e: &EndpointRecord| e.endpoint.created_at);
    Ok(Collection { settings, channels, templates, endpoints })
}

/// The platform's offered channels (only active ones).
pub async fn platform_channels(app: &App) -> Result<Vec<ChannelRecord>> {
    Ok(split(collection(app, Owner::Platform).await?)?.channels)
}

/// An ISP's configuration as it is now (two Queries).
pub async fn load_config(app: &App, tenant: &Tenant) -> Result<Loaded> {
    let (own, platform) = tokio::join!(collection(app, Owner::Tenant(tenant.id)), collection(app, Owner::Platform));
    let own = split(own?)?;
    Ok(Loaded {
        tenant: tenant.clone(),
        settings: own.settings.unwrap_or_else(|| MessagingSettings::defaults(tenant)),
        channels: own.channels,
        templates: own.templates,
        platform_channels: split(platform?)?.channels,
        endpoints: own.endpoints,
    })
}

type Cache = Mutex<HashMap<Uuid, (Instant, Arc<Loaded>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The configuration as the worker uses it: kept for [`CACHE_FOR`] (the tenant read included).
pub async fn cached_config(app: &App, tenant_id: Uuid) -> Result<Arc<Loaded>> {
    if let Some((at, loaded)) = cache().lock().map_err(|_| Error::Internal("config cache".into()))?.get(&tenant_id)
        && at.elapsed() < CACHE_FOR
    {
        return Ok(loaded.clone());
    }
    let tenant = kernel::support::load_tenant(app, tenant_id).await?;
    let loaded = Arc::new(load_config(app, &tenant).await?);
    if let Ok(mut c) = cache().lock() {
        c.insert(tenant_id, (Instant::now(), loaded.clone()));
    }
    Ok(loaded)
}

/// Drops what this process keeps of an ISP's configuration (it was just changed here).
pub fn forget(tenant_id: Uuid) {
    if let Ok(mut c) = cache().lock() {
        c.remove(&tenant_id);
    }
}

/// Drops every ISP's kept configuration (a platform channel changed).
pub fn forget_all() {
    if let Ok(mut c) = cache().lock() {
        c.clear();
    }
}
