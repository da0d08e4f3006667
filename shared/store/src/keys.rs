//! Every key format of the table, and nothing else anywhere builds one.
//!
//! Tenant-owned data begins with `T#<tenant_id>#` in the table and in every index; platform data with
//! `P#`. See `docs/data-model.md` for which access pattern each key serves.

use domain::user::scope_root;
use uuid::Uuid;

/// Primary and index keys of one item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemKeys {
    pub pk: String,
    pub sk: String,
    pub gsi1: Option<(String, String)>,
    pub gsi2: Option<(String, String)>,
    pub gsi3: Option<(String, String)>,
    pub gsi4: Option<(String, String)>,
    pub gsi5: Option<(String, String)>,
}

impl ItemKeys {
    pub fn new(pk: String, sk: &str) -> Self {
        Self { pk, sk: sk.to_string(), ..Default::default() }
    }
    pub fn gsi1(mut self, pk: String, sk: String) -> Self {
        self.gsi1 = Some((pk, sk));
        self
    }
    pub fn gsi2(mut self, pk: String, sk: String) -> Self {
        self.gsi2 = Some((pk, sk));
        self
    }
    pub fn gsi3(mut self, pk: String, sk: String) -> Self {
        self.gsi3 = Some((pk, sk));
        self
    }
    pub fn gsi4(mut self, pk: String, sk: String) -> Self {
        self.gsi4 = Some((pk, sk));
        self
    }
    pub fn gsi5(mut self, pk: String, sk: String) -> Self {
        self.gsi5 = Some((pk, sk));
        self
    }
}

/// Whose data a key belongs to: the partition prefix every key of theirs starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Platform,
    Tenant(Uuid),
}

impl Owner {
    pub fn prefix(self) -> String {
        match self {
            Owner::Platform => "P#".to_string(),
            Owner::Tenant(t) => format!("T#{t}#"),
        }
    }
    pub fn from_tenant(tenant: Option<Uuid>) -> Self {
        tenant.map_or(Owner::Platform, Owner::Tenant)
    }
}

fn t(tenant: Uuid) -> String {
    format!("T#{tenant}#")
}

// ---- platform ----------------------------------------------------------------------------------

pub fn platform_reseller(id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("P#RESELLER#{id}"), "RESELLER").gsi1("P#RESELLERS".into(), id.to_string())
}

/// A month of platform analytics: each ISP's snapshot (`T#<tid>`) and the platform's revenue
/// (`REVENUE`), read together by one Query.
pub fn platform_stats_pk(month: &str) -> String {
    format!("P#STATS#{month}")
}

/// An ISP's snapshot in a month; its reseller's ISPs listed by month on gsi1.
pub fn isp_month_stats(month: &str, tenant: Uuid, reseller: Option<Uuid>) -> ItemKeys {
    ItemKeys::new(platform_stats_pk(month), &format!("T#{tenant}"))
        .gsi1(reseller_stats_gsi1(reseller), format!("{month}#{tenant}"))
}

/// A reseller's ISPs' snapshots, by month (`none`: ISPs of the platform owner's own).
pub fn reseller_stats_gsi1(reseller: Option<Uuid>) -> String {
    match reseller {
        Some(r) => format!("P#STATS#RS#{r}"),
        None => "P#STATS#RS#none".into(),
    }
}

/// The platform's revenue in a month (counters `ADD`-ed by each settled purchase).
pub fn platform_revenue(month: &str) -> ItemKeys {
    ItemKeys::new(platform_stats_pk(month), PLATFORM_REVENUE_SK)
}

pub const PLATFORM_REVENUE_SK: &str = "REVENUE";

/// A month's figures summed by the snapshot job (the platform's and each reseller's).
pub fn platform_month_summary(month: &str) -> ItemKeys {
    ItemKeys::new(platform_stats_pk(month), PLATFORM_SUMMARY_SK)
}

pub const PLATFORM_SUMMARY_SK: &str = "SUMMARY";

/// The platform's list of ISPs with work coming due (`work`: `MSG`, `VOUCHER`), by the start of
/// the job interval it falls in (`bucket`, a sort time): what a frequent job fans out to, so an ISP
/// with nothing due costs it nothing. Platform data: it names the ISP, none of its records.
pub fn due_marker(work: &str, bucket: &str, tenant: Uuid) -> ItemKeys {
    ItemKeys::new(due_markers_pk(work), &format!("{bucket}#{tenant}"))
}

pub fn due_markers_pk(work: &str) -> String {
    format!("P#DUE#{work}")
}

/// The ISP a due marker's sort key names.
pub fn due_marker_tenant(sk: &str) -> Option<Uuid> {
    sk.rsplit_once('#').and_then(|(_, t)| t.parse().ok())
}

/// The platform's record of an ISP. Listed by the owner (gsi1) and by its reseller (gsi2).
pub fn tenant(id: Uuid, reseller: Option<Uuid>) -> ItemKeys {
    let k = ItemKeys::new(tenant_pk(id), "TENANT").gsi1("P#TENANTS".into(), id.to_string());
    match reseller {
        Some(r) => k.gsi2(format!("P#RESELLER#{r}#TENANTS"), id.to_string()),
        None => k,
    }
}

pub fn tenant_pk(id: Uuid) -> String {
    format!("P#TENANT#{id}")
}

/// A host name serving one ISP's portal (`P#HOST#portal.isp.com`), held by that ISP.
pub fn portal_host(host: &str) -> ItemKeys {
    ItemKeys::new(format!("P#HOST#{host}"), "UNIQUE")
}

/// A browser origin allowed to call the API for one ISP (`P#ORIGIN#https://portal.isp.com`).
pub fn portal_origin(origin: &str) -> ItemKeys {
    ItemKeys::new(format!("P#ORIGIN#{origin}"), "UNIQUE")
}

pub fn tenant_slug(slug: &str) -> ItemKeys {
    ItemKeys::new(format!("P#SLUG#{slug}"), "UNIQUE")
}

/// Login credential of a staff user, keyed by e-mail; also what keeps staff e-mails unique.
pub fn login(email: &str) -> ItemKeys {
    ItemKeys::new(format!("P#LOGIN#{email}"), "LOGIN")
}

/// Failed-login counter per e-mail, whether or not an account exists for it.
pub fn login_guard(email: &str) -> ItemKeys {
    ItemKeys::new(format!("P#LOGINGUARD#{email}"), "GUARD")
}

/// One window's count of a request limit for one subject (a hashed e-mail or source address);
/// `window` is the window's start in Unix seconds.
pub fn rate_window(limit: &str, subject: &str, window: i64) -> ItemKeys {
    ItemKeys::new(format!("P#RATE#{limit}#{subject}"), &format!("W#{window}"))
}

/// The platform's own settings (the request limits' defaults).
pub fn platform_settings() -> ItemKeys {
    ItemKeys::new("P#SETTINGS".into(), "SETTINGS")
}

/// An API key, in its owner's partition of keys (`<owner>APIKEYS` / `KEY#<id>`): a presented key
/// names its item (one GetItem), and the owner's keys are one Query.
pub fn api_key(owner: Owner, id: Uuid) -> ItemKeys {
    ItemKeys::new(api_keys_pk(owner), &format!("KEY#{id}"))
}

pub fn api_keys_pk(owner: Owner) -> String {
    format!("{}APIKEYS", owner.prefix())
}

/// One minute's shared count of an API limit for `subject` (`isp`, `portal`, `key#<id>`) of
/// `owner`; `window` is the window's start in Unix seconds.
pub fn api_rate_window(owner: Owner, subject: &str, window: i64) -> ItemKeys {
    ItemKeys::new(format!("{}APIRATE#{subject}", owner.prefix()), &format!("W#{window}"))
}

/// A live WebSocket connection, in its ISP's partition of connections (`T#<tid>#WSCONNS` /
/// `C#<connection id>`): the push Queries the ISP's connections.
pub fn ws_connection(tenant: Uuid, connection: &str) -> ItemKeys {
    ItemKeys::new(ws_connections_pk(tenant), &format!("C#{connection}"))
}

pub fn ws_connections_pk(tenant: Uuid) -> String {
    format!("{}WSCONNS", t(tenant))
}

/// Which ISP a connection is of (`$disconnect` names only the connection).
pub fn ws_connection_owner(connection: &str) -> ItemKeys {
    ItemKeys::new(format!("P#WSCONN#{connection}"), "WSCONN")
}

pub fn refresh_family(family: Uuid) -> ItemKeys {
    ItemKeys::new(format!("P#SESSION#{family}"), "SESSION")
}

pub fn password_reset(id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("P#PWRESET#{id}"), "PWRESET")
}

// ---- users -------------------------------------------------------------------------------------

/// A staff user: tenant users live under their tenant; platform users (owner, reseller staff) under P#.
pub fn user(tenant: Option<Uuid>, id: Uuid) -> ItemKeys {
    match tenant {
        Some(tid) => {
            ItemKeys::new(format!("{}USER#{id}", t(tid)), "USER").gsi1(format!("{}USERS", t(tid)), id.to_string())
        }
        None => ItemKeys::new(format!("P#USER#{id}"), "USER").gsi1("P#USERS".into(), id.to_string()),
    }
}

pub fn users_gsi1(tenant: Uuid) -> String {
    format!("{}USERS", t(tenant))
}

// ---- customers ---------------------------------------------------------------------------------

/// A subscriber's portal login: password hash and session epoch, in the customer's partition.
pub fn portal_login(tenant: Uuid, customer: Uuid) -> ItemKeys {
    ItemKeys::new(customer_pk(tenant, customer), "PORTAL#LOGIN")
}

/// Failed portal logins for one login name within an ISP (lockout like staff).
pub fn portal_login_guard(tenant: Uuid, login: &str) -> ItemKeys {
    ItemKeys::new(format!("{}PGUARD#{login}", t(tenant)), "GUARD")
}

/// A subscriber's one-time login code (the latest one; TTL).
pub fn portal_otp(tenant: Uuid, customer: Uuid) -> ItemKeys {
    ItemKeys::new(customer_pk(tenant, customer), "PORTAL#OTP")
}

pub fn customer_pk(tenant: Uuid, id: Uuid) -> String {
    format!("{}C#{id}", t(tenant))
}

/// The customer profile. Every customer: gsi1 (tenant list); operator-owned: gsi2 (operator's subtree).
pub fn customer(tenant: Uuid, id: Uuid, scope: Option<&str>) -> ItemKeys {
    let k = ItemKeys::new(customer_pk(tenant, id), "PROFILE").gsi1(customers_gsi1(tenant), id.to_string());
    match scope {
        Some(s) => k.gsi2(customers_by_operator_gsi2(tenant, s), format!("{s}#{id}")),
        None => k,
    }
}

pub fn customers_gsi1(tenant: Uuid) -> String {
    format!("{}CUSTOMERS", t(tenant))
}

/// Customers of an operator's whole tree (any scope under the same root operator).
pub fn customers_by_operator_gsi2(tenant: Uuid, scope: &str) -> String {
    format!("{}OPCUSTOMERS#{}", t(tenant), scope_root(scope))
}

/// A search entry of a customer (one per searchable field), in the customer's item collection.
pub fn customer_search(tenant: Uuid, id: Uuid, field: &str, folded_value: &str) -> ItemKeys {
    ItemKeys::new(customer_pk(tenant, id), &format!("SEARCH#{field}"))
        .gsi3(customer_search_gsi3(tenant, field), format!("{folded_value}#{id}"))
}

pub fn customer_search_gsi3(tenant: Uuid, field: &str) -> String {
    format!("{}CSEARCH#{field}", t(tenant))
}

// ---- packages ----------------------------------------------------------------------------------

pub fn package_pk(tenant: Uuid, id: Uuid) -> String {
    format!("{}PKG#{id}", t(tenant))
}

/// A package; listed by name across the ISP (gsi1). Deleted packages keep the item without gsi1.
pub fn package(tenant: Uuid, id: Uuid, folded_name: &str) -> ItemKeys {
    ItemKeys::new(package_pk(tenant, id), "PACKAGE").gsi1(packages_gsi1(tenant), format!("{folded_name}#{id}"))
}

pub fn packages_gsi1(tenant: Uuid) -> String {
    format!("{}PACKAGES", t(tenant))
}

/// A package offered to an operator, in the package's collection; listed per operator (gsi1).
pub fn package_offer(tenant: Uuid, package: Uuid, operator: Uuid) -> ItemKeys {
    ItemKeys::new(package_pk(tenant, package), &format!("OFFER#{operator}"))
        .gsi1(offers_by_operator_gsi1(tenant, operator), package.to_string())
}

pub fn offers_by_operator_gsi1(tenant: Uuid, operator: Uuid) -> String {
    format!("{}OFFERS#{operator}", t(tenant))
}

/// How many live things use an entity (subscriptions on a package or router, routers in a POP):
/// an item in the entity's own collection, so a delete can check it in the same transaction.
pub fn usage(tenant: Uuid, kind: UsageOf, id: Uuid) -> ItemKeys {
    let pk = match kind {
        UsageOf::Package => package_pk(tenant, id),
        UsageOf::Router => router_pk(tenant, id),
        UsageOf::Pop => pop_pk(tenant, id),
    };
    ItemKeys::new(pk, "USAGE")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageOf {
    Package,
    Router,
    Pop,
}

// ---- network -----------------------------------------------------------------------------------

pub fn pop_pk(tenant: Uuid, id: Uuid) -> String {
    format!("{}POP#{id}", t(tenant))
}

/// A POP; listed by code across the ISP (gsi1).
pub fn pop(tenant: Uuid, id: Uuid, code: &str) -> ItemKeys {
    ItemKeys::new(pop_pk(tenant, id), "POP").gsi1(pops_gsi1(tenant), format!("{code}#{id}"))
}

/// A payment gateway account: addressed by its id alone (a webhook names only the account), its
/// owner's listing on gsi1 (`<owner>GWACCOUNTS` / `<name>#<id>`).
pub fn gateway_account(owner: Owner, id: Uuid, folded_name: &str) -> ItemKeys {
    ItemKeys::new(format!("P#GWACCOUNT#{id}"), "GWACCOUNT")
        .gsi1(gateway_accounts_gsi1(owner), format!("{folded_name}#{id}"))
}

pub fn gateway_accounts_gsi1(owner: Owner) -> String {
    format!("{}GWACCOUNTS", owner.prefix())
}

/// An ISP's (or the platform's) messaging configuration in one collection, read whole by the
/// notifications worker: its settings, channels (provider accounts) and templates.
pub fn messaging_config_pk(owner: Owner) -> String {
    format!("{}MSGCONF", owner.prefix())
}

pub fn messaging_settings(owner: Owner) -> ItemKeys {
    ItemKeys::new(messaging_config_pk(owner), "SETTINGS")
}

pub const MESSAGING_CHANNEL_PREFIX: &str = "CHANNEL#";
pub const MESSAGE_TEMPLATE_PREFIX: &str = "TEMPLATE#";
pub const WEBHOOK_ENDPOINT_PREFIX: &str = "WEBHOOK#";

/// An ISP's webhook endpoint (one of its own systems our events are posted to).
pub fn webhook_endpoint(tenant: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(messaging_config_pk(Owner::Tenant(tenant)), &format!("{WEBHOOK_ENDPOINT_PREFIX}{id}"))
}

pub fn messaging_channel(owner: Owner, id: Uuid) -> ItemKeys {
    ItemKeys::new(messaging_config_pk(owner), &format!("{MESSAGING_CHANNEL_PREFIX}{id}"))
}

/// A provider's id of an SMS -> the message, for delivery reports (providers that push them only;
/// under the account's owner: a platform account's reports are about many ISPs' messages).
pub fn sms_report_ref(owner: Owner, channel: Uuid, provider_message_id: &str) -> ItemKeys {
    ItemKeys::new(format!("{}SMSREF#{channel}#{provider_message_id}", owner.prefix()), "REF")
}

/// An ISP's own text for a notice in a language.
pub fn message_template(tenant: Uuid, notice: &str, language: &str) -> ItemKeys {
    ItemKeys::new(messaging_config_pk(Owner::Tenant(tenant)), &format!("{MESSAGE_TEMPLATE_PREFIX}{notice}#{language}"))
}

/// Where a message's record is filed: all of an ISP's by time (gsi1), one customer's (gsi2), by
/// status (gsi3), and while it waits for its time (gsi4, by when it is due).
pub struct MessagePlace<'a> {
    pub at: &'a str,
    pub customer: Option<Uuid>,
    /// A webhook delivery is listed per endpoint (gsi2) instead of per customer.
    pub endpoint: Option<Uuid>,
    pub status: &'a str,
    pub due: Option<&'a str>,
}

/// One message (SMS, e-mail, Telegram, webhook delivery) by its id.
pub fn message(tenant: Uuid, id: Uuid, place: &MessagePlace<'_>) -> ItemKeys {
    let sort = format!("{}#{id}", place.at);
    let mut k = ItemKeys::new(format!("{}MSG#{id}", t(tenant)), "MSG")
        .gsi1(messages_gsi1(tenant), sort.clone())
        .gsi3(messages_by_status_gsi3(tenant, place.status), sort.clone());
    match (place.endpoint, place.customer) {
        (Some(e), _) => k = k.gsi2(endpoint_deliveries_gsi2(tenant, e), sort),
        (None, Some(c)) => k = k.gsi2(customer_messages_gsi2(tenant, c), sort),
        (None, None) => {}
    }
    if let Some(due) = place.due {
        k = k.gsi4(messages_due_gsi4(tenant), format!("{due}#{id}"));
    }
    k
}

pub fn message_key(tenant: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}MSG#{id}", t(tenant)), "MSG")
}

pub fn messages_gsi1(tenant: Uuid) -> String {
    format!("{}MSGS", t(tenant))
}

pub fn customer_messages_gsi2(tenant: Uuid, customer: Uuid) -> String {
    format!("{}C#{customer}#MSGS", t(tenant))
}

pub fn endpoint_deliveries_gsi2(tenant: Uuid, endpoint: Uuid) -> String {
    format!("{}WH#{endpoint}#MSGS", t(tenant))
}

pub fn messages_by_status_gsi3(tenant: Uuid, status: &str) -> String {
    format!("{}MSGS#{status}", t(tenant))
}

pub fn messages_due_gsi4(tenant: Uuid) -> String {
    format!("{}MSGDUE", t(tenant))
}

/// A staff alert by its id; in the ISP's log by time (gsi1), and while unread (gsi2).
pub fn alert(tenant: Uuid, id: Uuid, at: &str, unread: bool) -> ItemKeys {
    let sort = format!("{at}#{id}");
    let k = ItemKeys::new(format!("{}ALERT#{id}", t(tenant)), "ALERT").gsi1(alerts_gsi1(tenant), sort.clone());
    if unread { k.gsi2(unread_alerts_gsi2(tenant), sort) } else { k }
}

pub fn alert_key(tenant: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}ALERT#{id}", t(tenant)), "ALERT")
}

pub fn alerts_gsi1(tenant: Uuid) -> String {
    format!("{}ALERTS", t(tenant))
}

pub fn unread_alerts_gsi2(tenant: Uuid) -> String {
    format!("{}ALERTS#UNREAD", t(tenant))
}

/// A wallet's partition: the operator's id, or `ISP` for the ISP's funding account.
pub fn wallet_pk(tenant: Uuid, owner: Option<Uuid>) -> String {
    match owner {
        Some(o) => format!("{}WALLET#{o}", t(tenant)),
        None => format!("{}WALLET#ISP", t(tenant)),
    }
}

/// A wallet's balance (versioned: every movement goes through it).
pub fn wallet(tenant: Uuid, owner: Option<Uuid>) -> ItemKeys {
    ItemKeys::new(wallet_pk(tenant, owner), "WALLET")
}

pub const WALLET_ENTRY_PREFIX: &str = "ENTRY#";

/// One side of a movement in a wallet; the wallet's ledger in time order (UUIDv7 ids).
pub fn wallet_entry(tenant: Uuid, owner: Option<Uuid>, id: Uuid) -> ItemKeys {
    ItemKeys::new(wallet_pk(tenant, owner), &format!("{WALLET_ENTRY_PREFIX}{id}"))
}

/// A voucher plan; the ISP's plans by name (gsi1).
pub fn voucher_plan(tenant: Uuid, id: Uuid, name: Option<&str>) -> ItemKeys {
    let k = ItemKeys::new(format!("{}VPLAN#{id}", t(tenant)), "VPLAN");
    match name {
        Some(n) => k.gsi1(voucher_plans_gsi1(tenant), format!("{n}#{id}")),
        None => k,
    }
}

pub fn voucher_plans_gsi1(tenant: Uuid) -> String {
    format!("{}VPLANS", t(tenant))
}

pub fn voucher_batch_pk(tenant: Uuid, batch: Uuid) -> String {
    format!("{}VBATCH#{batch}", t(tenant))
}

/// A voucher batch; the ISP's batches newest first (gsi1, UUIDv7 ids). Its vouchers, per-chunk
/// progress and per-router provisioning outcome share its partition.
pub fn voucher_batch(tenant: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(voucher_batch_pk(tenant, id), "BATCH").gsi1(voucher_batches_gsi1(tenant), id.to_string())
}

pub fn voucher_batches_gsi1(tenant: Uuid) -> String {
    format!("{}VBATCHES", t(tenant))
}

pub const VOUCHER_PREFIX: &str = "V#";

pub fn voucher_sk(seq: u32) -> String {
    format!("{VOUCHER_PREFIX}{seq:05}")
}

/// Where a voucher is listed besides its batch.
pub struct VoucherIndex<'a> {
    pub status: &'a str,
    /// The seller: an operator, or None for the ISP's own counter.
    pub operator: Option<Uuid>,
    /// Active vouchers only: when their validity ends (sort time).
    pub expires: Option<String>,
}

/// A voucher, in its batch's partition by sequence; by status (gsi1), by seller and status
/// (gsi2), active ones by the end of their validity (gsi3, for the expiry sweep).
pub fn voucher(tenant: Uuid, batch: Uuid, seq: u32, index: Option<VoucherIndex<'_>>) -> ItemKeys {
    let k = ItemKeys::new(voucher_batch_pk(tenant, batch), &voucher_sk(seq));
    let Some(ix) = index else { return k };
    let place = format!("{batch}#{seq:05}");
    let k = k
        .gsi1(vouchers_by_status_gsi1(tenant, ix.status), place.clone())
        .gsi2(vouchers_by_seller_gsi2(tenant, ix.operator), format!("{}#{place}", ix.status));
    match ix.expires {
        Some(e) => k.gsi3(vouchers_by_expiry_gsi3(tenant), format!("{e}#{place}")),
        None => k,
    }
}

pub fn vouchers_by_status_gsi1(tenant: Uuid, status: &str) -> String {
    format!("{}VSTATUS#{status}", t(tenant))
}

pub fn vouchers_by_seller_gsi2(tenant: Uuid, operator: Option<Uuid>) -> String {
    match operator {
        Some(o) => format!("{}VSELLER#{o}", t(tenant)),
        None => format!("{}VSELLER#ISP", t(tenant)),
    }
}

pub fn vouchers_by_expiry_gsi3(tenant: Uuid) -> String {
    format!("{}VEXPIRY", t(tenant))
}

pub const VOUCHER_PROGRESS_PREFIX: &str = "PROGRESS#";

/// How many vouchers of one chunk exist (ADD-ed in the transactions that write them).
pub fn voucher_batch_progress(tenant: Uuid, batch: Uuid, chunk: u32) -> ItemKeys {
    ItemKeys::new(voucher_batch_pk(tenant, batch), &format!("{VOUCHER_PROGRESS_PREFIX}{chunk:05}"))
}

pub const VOUCHER_ROUTER_PREFIX: &str = "ROUTER#";

/// The last provisioning outcome of a batch's vouchers on one of its routers.
pub fn voucher_batch_router(tenant: Uuid, batch: Uuid, router: Uuid) -> ItemKeys {
    ItemKeys::new(voucher_batch_pk(tenant, batch), &format!("{VOUCHER_ROUTER_PREFIX}{router}"))
}

pub fn router_voucher_batches_pk(tenant: Uuid, router: Uuid) -> String {
    format!("{}RVB#{router}", t(tenant))
}

/// A batch whose vouchers are hotspot users on a router (what its full reconcile keeps there).
pub fn router_voucher_batch(tenant: Uuid, router: Uuid, batch: Uuid) -> ItemKeys {
    ItemKeys::new(router_voucher_batches_pk(tenant, router), &batch.to_string())
}

/// A voucher code's sentinel: unique in the ISP; it names the batch and sequence (`<batch>:<seq>`).
pub fn voucher_code(tenant: Uuid, code: &str) -> ItemKeys {
    unique(Owner::Tenant(tenant), "voucher_code", code)
}

/// A package's commission rule, in the package's collection.
pub fn commission_rule(tenant: Uuid, package: Uuid) -> ItemKeys {
    ItemKeys::new(package_pk(tenant, package), "COMMISSION")
}

/// Commissions earned in one local month (`2026-12`), in its year's partition.
pub fn commissions_month(tenant: Uuid, month: &str, shard: u8) -> ItemKeys {
    ItemKeys::new(commissions_year_pk(tenant, &month[..4.min(month.len())]), &format!("{month}#{shard}"))
}

pub fn commissions_year_pk(tenant: Uuid, year: &str) -> String {
    format!("{}RPT#COMM#{year}", t(tenant))
}

/// What each operator earned on an invoice, and what was taken back (`earned#<op>`,
/// `clawed#<op>`, `path#<op>`): a credit note on it takes back its share.
pub fn invoice_commissions(tenant: Uuid, invoice: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}INVCOMM#{invoice}", t(tenant)), "COMMISSIONS")
}

/// A sale an operator's wallet paid for, by the invoice it made (or its movement, without one).
pub fn operator_sale(tenant: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}OPSALE#{id}", t(tenant)), "SALE")
}

/// A batch of recharge cards; the ISP's batches newest first (gsi1).
pub fn recharge_batch(tenant: Uuid, id: Uuid, created_at: Option<chrono::DateTime<chrono::Utc>>) -> ItemKeys {
    let k = ItemKeys::new(format!("{}RCBATCH#{id}", t(tenant)), "BATCH");
    match created_at {
        Some(at) => k.gsi1(recharge_batches_gsi1(tenant), format!("{}#{id}", at.to_rfc3339())),
        None => k,
    }
}

pub fn recharge_batches_gsi1(tenant: Uuid) -> String {
    format!("{}RCBATCHES", t(tenant))
}

/// A recharge card, found by the hash of its code; its batch's cards in serial order (gsi1).
pub fn recharge_card(tenant: Uuid, code_hash: &str, serial: Option<(Uuid, u32)>) -> ItemKeys {
    let k = ItemKeys::new(format!("{}RCARD#{code_hash}", t(tenant)), "CARD");
    match serial {
        Some((batch, seq)) => k.gsi1(recharge_cards_gsi1(tenant, batch), format!("{seq:05}")),
        None => k,
    }
}

pub fn recharge_cards_gsi1(tenant: Uuid, batch: Uuid) -> String {
    format!("{}RCBATCH#{batch}#CARDS", t(tenant))
}

/// A card's serial within its batch (names its code's hash): made once, whatever retries.
pub fn recharge_card_serial(tenant: Uuid, batch: Uuid, seq: u32) -> ItemKeys {
    ItemKeys::new(format!("{}RCBATCH#{batch}", t(tenant)), &format!("SERIAL#{seq:05}"))
}

/// Wrong recharge card codes in one throttle window (its start, Unix seconds) by `who`: a customer's id, `SRC#<hashed address>`, or
/// `ISP` for the whole ISP.
pub fn recharge_attempts(tenant: Uuid, who: &str, window: i64) -> ItemKeys {
    ItemKeys::new(format!("{}RCTRY#{who}", t(tenant)), &format!("W#{window}"))
}

/// A branch; listed by code across the ISP (gsi1).
pub fn branch(tenant: Uuid, id: Uuid, code: &str) -> ItemKeys {
    ItemKeys::new(format!("{}BRANCH#{id}", t(tenant)), "BRANCH").gsi1(branches_gsi1(tenant), format!("{code}#{id}"))
}

pub fn branches_gsi1(tenant: Uuid) -> String {
    format!("{}BRANCHES", t(tenant))
}

pub fn pops_gsi1(tenant: Uuid) -> String {
    format!("{}POPS", t(tenant))
}

pub fn router_pk(tenant: Uuid, id: Uuid) -> String {
    format!("{}ROUTER#{id}", t(tenant))
}

/// A router; listed by name across the ISP (gsi1) and per POP (gsi2).
pub fn router(tenant: Uuid, id: Uuid, folded_name: &str, pop: Option<Uuid>) -> ItemKeys {
    let k = ItemKeys::new(router_pk(tenant, id), "ROUTER").gsi1(routers_gsi1(tenant), format!("{folded_name}#{id}"));
    match pop {
        Some(p) => k.gsi2(routers_by_pop_gsi2(tenant, p), format!("{folded_name}#{id}")),
        None => k,
    }
}

pub fn routers_gsi1(tenant: Uuid) -> String {
    format!("{}ROUTERS", t(tenant))
}

pub fn routers_by_pop_gsi2(tenant: Uuid, pop: Uuid) -> String {
    format!("{}POP#{pop}#ROUTERS", t(tenant))
}

// ---- subscriptions -----------------------------------------------------------------------------

/// The expiry index is written by billing runs and bulk extensions at once, so it is spread over
/// this many partitions (see `docs/data-model.md`).
pub const EXPIRY_SHARDS: u8 = 4;

pub fn expiry_shard(subscription: Uuid) -> u8 {
    subscription.as_bytes()[15] % EXPIRY_SHARDS
}

/// Sortable form of an instant in keys (whole seconds, UTC).
/// An ISP's scheduled package changes, by when they are due.
pub fn scheduled_package_changes_pk(tenant: Uuid) -> String {
    format!("{}PKGCHANGES", t(tenant))
}

pub fn scheduled_package_change(tenant: Uuid, at: chrono::DateTime<chrono::Utc>, subscription: Uuid) -> ItemKeys {
    ItemKeys::new(scheduled_package_changes_pk(tenant), &format!("{}#{subscription}", key_time(at)))
}

/// Turbo ends across the platform, write-sharded (the subscription id's last byte): the sweep
/// reads each shard up to now, so its cost follows the turbos sold, not the ISPs.
pub const TURBO_END_SHARDS: u8 = 4;

pub fn turbo_ends_pk(shard: u8) -> String {
    format!("P#TURBOENDS#{shard}")
}

/// A turbo's end, due at `ends_at` (`<ends_at>#<tid>#<sid>`).
pub fn turbo_end(tenant: Uuid, subscription: Uuid, ends_at: chrono::DateTime<chrono::Utc>) -> ItemKeys {
    let shard = subscription.as_bytes()[15] % TURBO_END_SHARDS;
    ItemKeys::new(turbo_ends_pk(shard), &format!("{}#{tenant}#{subscription}", key_time(ends_at)))
}

pub fn key_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A subscription, in its customer's collection. Listed across the ISP newest first (gsi1), by
/// expiry (gsi2, sharded; only while it can still expire), per operator subtree (gsi3) and per
/// router (gsi4; only while it is live: what provisioning must keep on that router).
pub fn subscription(
    tenant: Uuid,
    customer: Uuid,
    id: Uuid,
    scope: Option<&str>,
    expiry: Option<chrono::DateTime<chrono::Utc>>,
    router: Option<Uuid>,
) -> ItemKeys {
    let mut k = ItemKeys::new(customer_pk(tenant, customer), &format!("SUB#{id}"))
        .gsi1(subscriptions_gsi1(tenant), id.to_string());
    if let Some(e) = expiry {
        k = k.gsi2(subscriptions_by_expiry_gsi2(tenant, expiry_shard(id)), format!("{}#{id}", key_time(e)));
    }
    if let Some(s) = scope {
        k = k.gsi3(subscriptions_by_operator_gsi3(tenant, s), format!("{s}#{id}"));
    }
    if let Some(r) = router {
        k = k.gsi4(subscriptions_by_router_gsi4(tenant, r), id.to_string());
    }
    k
}

/// The billing index (gsi5, sparse, sharded like the expiry index): prepaid auto-renew
/// subscriptions by expiry until their renewal is invoiced (`P`), active postpaid ones by the start
/// of their next period (`M`). The billing run reads what is due; it never scans.
pub fn with_billing_due(
    k: ItemKeys,
    tenant: Uuid,
    id: Uuid,
    due: Option<(BillingIndex, chrono::DateTime<chrono::Utc>)>,
) -> ItemKeys {
    match due {
        Some((kind, at)) => k.gsi5(billing_due_gsi5(tenant, kind, expiry_shard(id)), format!("{}#{id}", key_time(at))),
        None => k,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingIndex {
    Prepaid,
    Postpaid,
}

pub fn billing_due_gsi5(tenant: Uuid, kind: BillingIndex, shard: u8) -> String {
    let k = match kind {
        BillingIndex::Prepaid => "P",
        BillingIndex::Postpaid => "M",
    };
    format!("{}BILLDUE#{k}#{shard}", t(tenant))
}

/// What provisioning last did for a subscription on its router, beside it in the customer's
/// collection (written by the provisioning worker only, so it never races the subscription's
/// version).
pub fn subscription_provisioning(tenant: Uuid, customer: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(customer_pk(tenant, customer), &format!("PROV#{id}"))
}

/// The router's latest health check (uptime, load, memory, last seen), in the router's partition.
pub fn router_health(tenant: Uuid, router: Uuid) -> ItemKeys {
    ItemKeys::new(router_pk(tenant, router), "HEALTH")
}

/// A device watched by SNMP, listed by id (gsi1).
pub fn device(tenant: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}DEVICE#{id}", t(tenant)), "DEVICE").gsi1(devices_gsi1(tenant), id.to_string())
}

pub fn devices_gsi1(tenant: Uuid) -> String {
    format!("{}DEVICES", t(tenant))
}

/// A router's (or a device's, by its id) monitoring history: 5-minute points (`5M#<time>`) and hourly summaries
/// (`1H#<hour>`) in one partition, read by time range.
pub fn monitor_history_pk(tenant: Uuid, router: Uuid) -> String {
    format!("{}MON#{router}", t(tenant))
}

/// Sort-key prefix of the 5-minute points (the newest is the current state).
pub const MONITOR_POINT_SK_PREFIX: &str = "5M#";

pub fn monitor_point(tenant: Uuid, router: Uuid, at: chrono::DateTime<chrono::Utc>) -> ItemKeys {
    ItemKeys::new(
        monitor_history_pk(tenant, router),
        &format!("{MONITOR_POINT_SK_PREFIX}{}", at.format("%Y-%m-%dT%H:%M:%SZ")),
    )
}

pub fn monitor_hour(tenant: Uuid, router: Uuid, hour: chrono::DateTime<chrono::Utc>) -> ItemKeys {
    ItemKeys::new(monitor_history_pk(tenant, router), &format!("1H#{}", hour.format("%Y-%m-%dT%H:%M:%SZ")))
}

/// Sort-key prefix of a router's last reconcile report: the summary (`RECONCILE`) and its chunks
/// of unknown accounts (`RECONCILE#U#00000`...), read together with one Query.
pub const RECONCILE_SK_PREFIX: &str = "RECONCILE";

/// The network edge: an ISP's blocks of the edge pool, a router's tunnel (its key sealed), and the
/// concentrator's list of peers (platform: the concentrator serves every ISP).
pub fn tenant_edge(tenant: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}EDGE", t(tenant)), "EDGE")
}

pub fn router_edge(tenant: Uuid, router: Uuid) -> ItemKeys {
    ItemKeys::new(router_pk(tenant, router), "EDGE")
}

pub const EDGE_PEERS_PK: &str = "P#EDGEPEERS";

pub fn edge_peer(address: &str) -> ItemKeys {
    ItemKeys::new(EDGE_PEERS_PK.to_string(), address)
}

/// The platform's NAS list for FreeRADIUS: one entry per router in RADIUS mode.
pub const RADIUS_NAS_PK: &str = "P#RADIUSNAS";

pub fn radius_nas(tenant: Uuid, router: Uuid) -> ItemKeys {
    ItemKeys::new(RADIUS_NAS_PK.to_string(), &format!("{tenant}#{router}"))
}

/// A RADIUS subscriber's partition (by ISP and user name, what a login names): the answer its
/// login gets, its sessions, its last login. Authorize reads the partition with one Query.
pub fn radius_user_pk(tenant: Uuid, username: &str) -> String {
    format!("{}RADIUSUSER#{username}", t(tenant))
}

pub const RADIUS_ANSWER_SK: &str = "ANSWER";
pub const RADIUS_SESSIONS_SK: &str = "SESSIONS";
pub const RADIUS_LOGIN_SK: &str = "LOGIN";

pub fn radius_answer(tenant: Uuid, username: &str) -> ItemKeys {
    ItemKeys::new(radius_user_pk(tenant, username), RADIUS_ANSWER_SK)
}

pub fn radius_sessions(tenant: Uuid, username: &str) -> ItemKeys {
    ItemKeys::new(radius_user_pk(tenant, username), RADIUS_SESSIONS_SK)
}

pub fn radius_login(tenant: Uuid, username: &str) -> ItemKeys {
    ItemKeys::new(radius_user_pk(tenant, username), RADIUS_LOGIN_SK)
}

/// The platform's sequence of edge blocks handed to ISPs.
pub fn edge_blocks_sequence() -> ItemKeys {
    ItemKeys::new("P#SEQ#edge-block".to_string(), "SEQ")
}

/// A router's configuration backups and restores, in the router's partition (newest first by
/// their UUIDv7 ids).
pub const BACKUP_SK_PREFIX: &str = "BACKUP#";
pub const RESTORE_SK_PREFIX: &str = "RESTORE#";

pub fn router_backup(tenant: Uuid, router: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(router_pk(tenant, router), &format!("{BACKUP_SK_PREFIX}{id}"))
}

pub fn router_restore(tenant: Uuid, router: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(router_pk(tenant, router), &format!("{RESTORE_SK_PREFIX}{id}"))
}

/// Where a backup's snapshot is kept in the backups bucket.
pub fn router_backup_object(tenant: Uuid, router: Uuid, id: Uuid) -> String {
    format!("routers/{tenant}/{router}/{id}.json")
}

pub fn router_reconcile(tenant: Uuid, router: Uuid) -> ItemKeys {
    ItemKeys::new(router_pk(tenant, router), RECONCILE_SK_PREFIX)
}

pub fn router_reconcile_chunk(tenant: Uuid, router: Uuid, chunk: usize) -> ItemKeys {
    ItemKeys::new(router_pk(tenant, router), &format!("{RECONCILE_SK_PREFIX}#U#{chunk:05}"))
}

/// A part of a router's traffic cursor (each online session's last counters, today's totals), in
/// the router's partition: all parts read with one Query.
pub const TRAFFIC_CURSOR_SK_PREFIX: &str = "TRAFFIC#";

pub fn traffic_cursor_part(tenant: Uuid, router: Uuid, part: usize) -> ItemKeys {
    ItemKeys::new(router_pk(tenant, router), &format!("{TRAFFIC_CURSOR_SK_PREFIX}{part:03}"))
}

/// A part of a router's traffic directory (names and owners), in the slot of its generation's
/// parity: read with the cursor's Query (same prefix).
pub fn traffic_directory_part(tenant: Uuid, router: Uuid, slot: u32, part: usize) -> ItemKeys {
    ItemKeys::new(router_pk(tenant, router), &format!("{TRAFFIC_CURSOR_SK_PREFIX}{TRAFFIC_DIRECTORY}{slot}#{part:03}"))
}

/// What follows the cursor prefix in a directory part's sort key.
pub const TRAFFIC_DIRECTORY: &str = "DIR#";

/// A subscription's traffic on one local day (`2026-12-07`), its days in one partition; listed per
/// day by total, biggest first (gsi1: the day's top users).
pub fn traffic_day(tenant: Uuid, subscription: Uuid, day: &str, total: u64) -> ItemKeys {
    ItemKeys::new(traffic_days_pk(tenant, subscription), day)
        .gsi1(traffic_by_day_gsi1(tenant, day), format!("{total:020}#{subscription}"))
}

pub fn traffic_days_pk(tenant: Uuid, subscription: Uuid) -> String {
    format!("{}TRAFFIC#{subscription}", t(tenant))
}

pub fn traffic_by_day_gsi1(tenant: Uuid, day: &str) -> String {
    format!("{}TRAFFICDAY#{day}", t(tenant))
}

/// A router's traffic on one local day; every router's days in one partition (the ISP's usage
/// report reads a date range with one Query).
pub fn router_traffic_day(tenant: Uuid, day: &str, router: Uuid) -> ItemKeys {
    ItemKeys::new(router_traffic_pk(tenant), &format!("{day}#{router}"))
}

pub fn router_traffic_pk(tenant: Uuid) -> String {
    format!("{}TRAFFIC#ROUTERS", t(tenant))
}

/// What a live subscription holds alone in its ISP (`username`, `ip_address`): a sentinel whose
/// owner is the subscription.
pub fn subscription_unique(tenant: Uuid, field: &str, value: &str) -> ItemKeys {
    unique(Owner::Tenant(tenant), &format!("subscription_{field}"), value)
}

pub fn subscriptions_by_router_gsi4(tenant: Uuid, router: Uuid) -> String {
    format!("{}ROUTER#{router}#SUBS", t(tenant))
}

/// Sort-key prefix of a customer's subscriptions in its collection.
pub const SUBSCRIPTION_SK_PREFIX: &str = "SUB#";

pub fn subscriptions_gsi1(tenant: Uuid) -> String {
    format!("{}SUBS", t(tenant))
}

pub fn subscriptions_by_expiry_gsi2(tenant: Uuid, shard: u8) -> String {
    format!("{}SUBEXP#{shard}", t(tenant))
}

pub fn subscriptions_by_operator_gsi3(tenant: Uuid, scope: &str) -> String {
    format!("{}OPSUBS#{}", t(tenant), scope_root(scope))
}

/// Where a subscription lives (its customer), so `/v1/subscriptions/{id}` reads it strongly.
pub fn subscription_ref(tenant: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}SUB#{id}", t(tenant)), "REF")
}

/// One entry of a customer's timeline (newest first by its UUIDv7 id).
pub fn timeline_entry(tenant: Uuid, customer: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(customer_pk(tenant, customer), &format!("{TIMELINE_SK_PREFIX}{id}"))
}

pub const TIMELINE_SK_PREFIX: &str = "TL#";

// ---- billing -----------------------------------------------------------------------------------

/// Invoices are listed across the ISP (gsi1, by issue time, sharded: a billing run writes many at
/// once), open ones by due date for dunning (gsi2, sparse, sharded), and per operator subtree
/// (gsi3). The invoice lives in its customer's collection.
/// A checkout (an online payment asked of a gateway). Listed per customer, newest last (gsi1),
/// and while it is pending in the platform's queue of pending checkouts by when they were made
/// (gsi2, sharded): what the reconciliation janitor asks the gateways about.
/// A checkout of an ISP (or of the platform: a reseller's purchase); listed by its payer (the
/// customer, or the reseller); on the janitor's index while `pending`, or while a refund
/// requested at `refunding_since` waits for the gateway.
pub fn checkout(
    owner: Owner,
    id: Uuid,
    payer: Uuid,
    at: chrono::DateTime<chrono::Utc>,
    pending: bool,
    refunding_since: Option<chrono::DateTime<chrono::Utc>>,
) -> ItemKeys {
    let by_payer = match owner {
        Owner::Tenant(tenant) => customer_checkouts_gsi1(tenant, payer),
        Owner::Platform => reseller_checkouts_gsi1(payer),
    };
    let whose = match owner {
        Owner::Tenant(tenant) => tenant.to_string(),
        Owner::Platform => "platform".to_string(),
    };
    let k = ItemKeys::new(checkout_pk(owner, id), "CHECKOUT").gsi1(by_payer, format!("{}#{id}", key_time(at)));
    match (pending, refunding_since) {
        (true, _) => k.gsi2(pending_checkouts_gsi2(checkout_shard(id)), format!("{}#{whose}#{id}", key_time(at))),
        (false, Some(since)) => {
            k.gsi2(refunding_checkouts_gsi2(checkout_shard(id)), format!("{}#{whose}#{id}", key_time(since)))
        }
        (false, None) => k,
    }
}

pub fn refunding_checkouts_gsi2(shard: u8) -> String {
    format!("P#CHECKOUTS#REFUNDING#{shard}")
}

/// The upper bound of refunds requested before `at`.
pub fn refunding_checkouts_before(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{}~", key_time(at))
}

pub fn checkout_pk(owner: Owner, id: Uuid) -> String {
    format!("{}CHECKOUT#{id}", owner.prefix())
}

/// A platform reseller's purchases.
pub fn reseller_checkouts_gsi1(reseller: Uuid) -> String {
    format!("P#RESELLERCHECKOUTS#{reseller}")
}

pub fn customer_checkouts_gsi1(tenant: Uuid, customer: Uuid) -> String {
    format!("{}CUSTCHECKOUTS#{customer}", t(tenant))
}

pub const CHECKOUT_SHARDS: u8 = 4;

pub fn checkout_shard(id: Uuid) -> u8 {
    id.as_bytes()[15] % CHECKOUT_SHARDS
}

pub fn pending_checkouts_gsi2(shard: u8) -> String {
    format!("P#CHECKOUTS#PENDING#{shard}")
}

/// The sort key of the pending-checkouts index up to `at` (exclusive bound for "made before").
pub fn pending_checkouts_before(at: chrono::DateTime<chrono::Utc>) -> String {
    key_time(at)
}

pub const INVOICE_SHARDS: u8 = 4;

pub fn invoice_shard(id: Uuid) -> u8 {
    id.as_bytes()[15] % INVOICE_SHARDS
}

pub const INVOICE_SK_PREFIX: &str = "INV#";

pub fn invoice(
    tenant: Uuid,
    customer: Uuid,
    id: Uuid,
    scope: Option<&str>,
    listed_at: Option<chrono::DateTime<chrono::Utc>>,
    open_due: Option<chrono::DateTime<chrono::Utc>>,
) -> ItemKeys {
    let mut k = ItemKeys::new(customer_pk(tenant, customer), &format!("{INVOICE_SK_PREFIX}{id}"));
    if let Some(at) = listed_at {
        k = k.gsi1(invoices_gsi1(tenant, invoice_shard(id)), format!("{}#{id}", key_time(at)));
        if let Some(s) = scope {
            k = k.gsi3(invoices_by_operator_gsi3(tenant, s), format!("{}#{id}", key_time(at)));
        }
    }
    if let Some(d) = open_due {
        k = k.gsi2(open_invoices_gsi2(tenant, invoice_shard(id)), format!("{}#{id}", key_time(d)));
    }
    k
}

pub fn invoices_gsi1(tenant: Uuid, shard: u8) -> String {
    format!("{}INVOICES#{shard}", t(tenant))
}

pub fn open_invoices_gsi2(tenant: Uuid, shard: u8) -> String {
    format!("{}OPENINV#{shard}", t(tenant))
}

pub fn invoices_by_operator_gsi3(tenant: Uuid, scope: &str) -> String {
    format!("{}OPINV#{}", t(tenant), scope_root(scope))
}

/// Where a billing document (invoice `INV`, payment `PAY`, credit note `CN`) lives: its customer.
pub fn document_ref(tenant: Uuid, kind: &str, id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}{kind}#{id}", t(tenant)), "REF")
}

/// A customer's account (balance, credit, open invoices), in its collection.
pub fn account(tenant: Uuid, customer: Uuid) -> ItemKeys {
    ItemKeys::new(customer_pk(tenant, customer), "ACCOUNT")
}

pub const LEDGER_SK_PREFIX: &str = "LEDGER#";

/// One ledger entry (oldest first by its UUIDv7 id).
pub fn ledger_entry(tenant: Uuid, customer: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(customer_pk(tenant, customer), &format!("{LEDGER_SK_PREFIX}{id}"))
}

pub const PAYMENT_SK_PREFIX: &str = "PAY#";

/// A payment, in its customer's collection; listed across the ISP by time (gsi1, sharded) and per
/// operator subtree (gsi3).
pub fn payment(
    tenant: Uuid,
    customer: Uuid,
    id: Uuid,
    scope: Option<&str>,
    at: chrono::DateTime<chrono::Utc>,
) -> ItemKeys {
    let k = ItemKeys::new(customer_pk(tenant, customer), &format!("{PAYMENT_SK_PREFIX}{id}"))
        .gsi1(payments_gsi1(tenant, invoice_shard(id)), format!("{}#{id}", key_time(at)));
    match scope {
        Some(s) => k.gsi3(payments_by_operator_gsi3(tenant, s), format!("{}#{id}", key_time(at))),
        None => k,
    }
}

pub fn payments_gsi1(tenant: Uuid, shard: u8) -> String {
    format!("{}PAYMENTS#{shard}", t(tenant))
}

pub fn payments_by_operator_gsi3(tenant: Uuid, scope: &str) -> String {
    format!("{}OPPAY#{}", t(tenant), scope_root(scope))
}

pub const CREDIT_NOTE_SK_PREFIX: &str = "CN#";

pub fn credit_note(tenant: Uuid, customer: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(customer_pk(tenant, customer), &format!("{CREDIT_NOTE_SK_PREFIX}{id}"))
}

// ---- report aggregates, maintained in the money transactions -------------------------------------

/// Aggregates are write-sharded: a transaction adds to one random shard, a report sums them.
pub const REPORT_SHARDS: u8 = 4;

/// Money collected on one local day (`2026-12-10`), in its month's partition: the whole ISP's
/// (`scope` None) or an operator subtree's (its customers' payments only).
pub fn collections_day(tenant: Uuid, scope: Option<&str>, day: &str, shard: u8) -> ItemKeys {
    ItemKeys::new(collections_month_pk(tenant, scope, &day[..7.min(day.len())]), &format!("{day}#{shard}"))
}

pub fn collections_month_pk(tenant: Uuid, scope: Option<&str>, month: &str) -> String {
    match scope {
        None => format!("{}RPT#COLL#{month}", t(tenant)),
        Some(s) => format!("{}RPT#COLL#{month}#S#{s}", t(tenant)),
    }
}

/// Revenue invoiced in one local month (`2026-12`), in its year's partition.
pub fn revenue_month(tenant: Uuid, month: &str, shard: u8) -> ItemKeys {
    ItemKeys::new(revenue_year_pk(tenant, &month[..4.min(month.len())]), &format!("{month}#{shard}"))
}

pub fn revenue_year_pk(tenant: Uuid, year: &str) -> String {
    format!("{}RPT#REV#{year}", t(tenant))
}

/// What open invoices due on one local day (`2026-12-17`) still owe.
pub fn dues_day(tenant: Uuid, day: &str, shard: u8) -> ItemKeys {
    ItemKeys::new(dues_pk(tenant), &format!("{day}#{shard}"))
}

pub fn dues_pk(tenant: Uuid) -> String {
    format!("{}RPT#DUES", t(tenant))
}

pub const REFUND_SK_PREFIX: &str = "REFUND#";

/// Money paid back to a customer out of its credit, in its collection.
pub fn refund(tenant: Uuid, customer: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(customer_pk(tenant, customer), &format!("{REFUND_SK_PREFIX}{id}"))
}

/// A discount; all of an ISP's discounts are listed together (gsi1) and applied when invoices are made.
pub fn discount(tenant: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}DISCOUNT#{id}", t(tenant)), "DISCOUNT").gsi1(discounts_gsi1(tenant), id.to_string())
}

pub fn discounts_gsi1(tenant: Uuid) -> String {
    format!("{}DISCOUNTS", t(tenant))
}

/// A per-tenant document sequence (`invoice:2026`), advanced in the transaction that uses the
/// number, so numbers have no gaps.
pub fn sequence(tenant: Uuid, name: &str) -> ItemKeys {
    ItemKeys::new(format!("{}SEQ#{name}", t(tenant)), "SEQ")
}

// ---- helpdesk ---------------------------------------------------------------------------------

/// A ticket's partition: the ticket (`TICKET`) and its messages (`MSG#<id>`, UUIDv7 in order), read
/// together with one Query.
pub fn ticket_pk(tenant: Uuid, id: Uuid) -> String {
    format!("{}TICKET#{id}", t(tenant))
}

pub const TICKET_SK: &str = "TICKET";
pub const TICKET_MESSAGE_SK_PREFIX: &str = "MSG#";

/// A ticket. Listed across the ISP newest first (gsi1), open ones (open or waiting on the
/// subscriber) by opening (gsi2, sparse), per operator subtree (gsi3) and per customer (gsi4).
pub fn ticket(
    tenant: Uuid,
    id: Uuid,
    open_since: Option<chrono::DateTime<chrono::Utc>>,
    scope: Option<&str>,
    customer: Option<Uuid>,
) -> ItemKeys {
    let mut k = ItemKeys::new(ticket_pk(tenant, id), TICKET_SK).gsi1(tickets_gsi1(tenant), id.to_string());
    if let Some(at) = open_since {
        k = k.gsi2(open_tickets_gsi2(tenant), format!("{}#{id}", key_time(at)));
    }
    if let Some(s) = scope {
        k = k.gsi3(tickets_by_operator_gsi3(tenant, s), format!("{s}#{id}"));
    }
    if let Some(c) = customer {
        k = k.gsi4(customer_tickets_gsi4(tenant, c), id.to_string());
    }
    k
}

pub fn tickets_gsi1(tenant: Uuid) -> String {
    format!("{}TICKETS", t(tenant))
}

pub fn open_tickets_gsi2(tenant: Uuid) -> String {
    format!("{}TICKETS#OPEN", t(tenant))
}

pub fn tickets_by_operator_gsi3(tenant: Uuid, scope: &str) -> String {
    format!("{}OPTICKETS#{}", t(tenant), scope_root(scope))
}

pub fn customer_tickets_gsi4(tenant: Uuid, customer: Uuid) -> String {
    format!("{}C#{customer}#TICKETS", t(tenant))
}

pub fn ticket_message(tenant: Uuid, ticket: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(ticket_pk(tenant, ticket), &format!("{TICKET_MESSAGE_SK_PREFIX}{id}"))
}

/// An upload on a ticket (in the ticket's partition): asked for, then cited by one message.
pub fn ticket_attachment(tenant: Uuid, ticket: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(ticket_pk(tenant, ticket), &format!("{TICKET_ATTACHMENT_SK_PREFIX}{id}"))
}

pub const TICKET_ATTACHMENT_SK_PREFIX: &str = "ATT#";

/// A ticket's number (what its token reads), pointing at the ticket: `GET /v1/tickets?token=`.
pub fn ticket_number(tenant: Uuid, number: u64) -> ItemKeys {
    ItemKeys::new(format!("{}TICKETNO#{number}", t(tenant)), "TICKETNO")
}

/// Tickets whose service level falls due next, across the platform, write-sharded over 4
/// partitions: `job-ticket-sla` Queries each up to now.
pub const TICKET_SLA_SHARDS: u8 = 4;

pub fn ticket_sla_pk(shard: u8) -> String {
    format!("P#TICKETSLA#{shard}")
}

pub fn ticket_sla_check(tenant: Uuid, ticket: Uuid, due: chrono::DateTime<chrono::Utc>) -> ItemKeys {
    let shard = ticket.as_bytes()[15] % TICKET_SLA_SHARDS;
    ItemKeys::new(ticket_sla_pk(shard), &format!("{}#{tenant}#{ticket}", key_time(due)))
}

// ---- inventory --------------------------------------------------------------------------------

/// An inventory item; its stock levels (`ITEM#STOCK#<location>`) and ledger (`MOVE#<id>`, in time
/// order) share its partition, so the item with its stock is one Query (sort keys beginning with
/// `ITEM`). Listed across the ISP (gsi1, by SKU).
pub fn inventory_item(tenant: Uuid, id: Uuid, sku: &str) -> ItemKeys {
    ItemKeys::new(inventory_item_pk(tenant, id), ITEM_SK).gsi1(format!("{}INVITEMS", t(tenant)), format!("{sku}#{id}"))
}

pub fn inventory_items_gsi1(tenant: Uuid) -> String {
    format!("{}INVITEMS", t(tenant))
}

pub fn inventory_item_pk(tenant: Uuid, id: Uuid) -> String {
    format!("{}INVITEM#{id}", t(tenant))
}

pub const ITEM_SK: &str = "ITEM";

/// While an item is below its low-stock threshold and its alert was raised (the episode's mark).
pub fn low_stock_marker(tenant: Uuid, item: Uuid) -> ItemKeys {
    ItemKeys::new(inventory_item_pk(tenant, item), "ITEM#LOWSTOCK")
}
pub const STOCK_SK_PREFIX: &str = "ITEM#STOCK#";
pub const MOVEMENT_SK_PREFIX: &str = "MOVE#";

/// An item's quantity at one location (kept by `ADD`, never below zero), listed per location
/// (gsi1) and across the ISP (gsi2); the index attributes are set by the update that creates it.
pub fn stock_level(tenant: Uuid, item: Uuid, location: Uuid) -> ItemKeys {
    ItemKeys::new(inventory_item_pk(tenant, item), &format!("{STOCK_SK_PREFIX}{location}"))
        .gsi1(stock_by_location_gsi1(tenant, location), item.to_string())
        .gsi2(stock_levels_gsi2(tenant), format!("{item}#{location}"))
}

/// Every stock level of the ISP (the valuation reads them with one Query walk).
pub fn stock_levels_gsi2(tenant: Uuid) -> String {
    format!("{}INVSTOCK", t(tenant))
}

pub fn stock_by_location_gsi1(tenant: Uuid, location: Uuid) -> String {
    format!("{}INVLOC#{location}#STOCK", t(tenant))
}

/// One line of an item's stock ledger; the ISP's ledger across items is gsi1 (by id, in time order).
pub fn stock_movement(tenant: Uuid, item: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(inventory_item_pk(tenant, item), &format!("{MOVEMENT_SK_PREFIX}{id}"))
        .gsi1(format!("{}INVMOVES", t(tenant)), id.to_string())
}

pub fn stock_movements_gsi1(tenant: Uuid) -> String {
    format!("{}INVMOVES", t(tenant))
}

/// A place stock is kept; listed across the ISP (gsi1).
pub fn inventory_location(tenant: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}INVLOC#{id}", t(tenant)), "LOC").gsi1(inventory_locations_gsi1(tenant), id.to_string())
}

pub fn inventory_locations_gsi1(tenant: Uuid) -> String {
    format!("{}INVLOCS", t(tenant))
}

/// A serial-numbered unit: listed per item (gsi1), and per holder (gsi2: a customer's or POP's
/// equipment) while assigned.
pub fn asset(tenant: Uuid, id: Uuid, item: Uuid, holder: Option<Uuid>) -> ItemKeys {
    let k = ItemKeys::new(format!("{}ASSET#{id}", t(tenant)), "ASSET")
        .gsi1(assets_by_item_gsi1(tenant, item), id.to_string());
    match holder {
        Some(h) => k.gsi2(assets_by_holder_gsi2(tenant, h), id.to_string()),
        None => k,
    }
}

pub fn assets_by_item_gsi1(tenant: Uuid, item: Uuid) -> String {
    format!("{}ASSETS#{item}", t(tenant))
}

pub fn assets_by_holder_gsi2(tenant: Uuid, holder: Uuid) -> String {
    format!("{}ASSETHOLDER#{holder}", t(tenant))
}

/// An item's serial, held by its asset (one unit per serial and item in an ISP).
pub fn asset_serial(tenant: Uuid, item: Uuid, serial: &str) -> ItemKeys {
    unique(Owner::Tenant(tenant), "asset_serial", &format!("{item}#{serial}"))
}

/// A supplier; listed across the ISP (gsi1).
pub fn supplier(tenant: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}SUPPLIER#{id}", t(tenant)), "SUPPLIER").gsi1(suppliers_gsi1(tenant), id.to_string())
}

pub fn suppliers_gsi1(tenant: Uuid) -> String {
    format!("{}SUPPLIERS", t(tenant))
}

/// A purchase order; listed across the ISP newest first (gsi1, by UUIDv7) and per supplier (gsi2).
pub fn purchase_order(tenant: Uuid, id: Uuid, supplier: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}PO#{id}", t(tenant)), "PO")
        .gsi1(purchase_orders_gsi1(tenant), id.to_string())
        .gsi2(format!("{}SUPPLIER#{supplier}#POS", t(tenant)), id.to_string())
}

pub fn purchase_orders_gsi1(tenant: Uuid) -> String {
    format!("{}POS", t(tenant))
}

// ---- leads ------------------------------------------------------------------------------------

/// A lead; listed newest first across the ISP (gsi1) and per operator subtree (gsi2).
pub fn lead(tenant: Uuid, id: Uuid, scope: Option<&str>) -> ItemKeys {
    let k = ItemKeys::new(format!("{}LEAD#{id}", t(tenant)), "LEAD").gsi1(leads_gsi1(tenant), id.to_string());
    match scope {
        Some(s) => k.gsi2(leads_by_operator_gsi2(tenant, s), format!("{s}#{id}")),
        None => k,
    }
}

pub fn leads_gsi1(tenant: Uuid) -> String {
    format!("{}LEADS", t(tenant))
}

pub fn leads_by_operator_gsi2(tenant: Uuid, scope: &str) -> String {
    format!("{}OPLEADS#{}", t(tenant), scope_root(scope))
}

// ---- dashboard counters ------------------------------------------------------------------------

/// Dashboard counters of one level (`ALL`, an operator's id, or `POP#<pop>` for router counts),
/// spread over a few items so concurrent writes rarely meet on one.
pub fn dashboard_counters(tenant: Uuid, level: &str, shard: u8) -> ItemKeys {
    ItemKeys::new(dashboard_pk(tenant, level), &format!("{DASHBOARD_COUNTERS_PREFIX}{shard}"))
}

/// Active subscriptions of one level expiring in one UTC hour (`YYYY-MM-DDTHH`).
pub fn dashboard_expiry(tenant: Uuid, level: &str, hour: &str) -> ItemKeys {
    ItemKeys::new(dashboard_pk(tenant, level), &format!("{DASHBOARD_EXPIRY_PREFIX}{hour}"))
}

pub fn dashboard_pk(tenant: Uuid, level: &str) -> String {
    format!("{}DASH#{level}", t(tenant))
}

pub const DASHBOARD_COUNTERS_PREFIX: &str = "C#";
pub const DASHBOARD_EXPIRY_PREFIX: &str = "E#";
pub const DASHBOARD_SHARDS: u8 = 4;

// ---- imports and bulk jobs ---------------------------------------------------------------------

pub fn job_pk(tenant: Uuid, id: Uuid) -> String {
    format!("{}JOB#{id}", t(tenant))
}

/// An import (or bulk action) job; listed newest first (gsi1). Its chunks, per-chunk progress,
/// per-row markers and errors share its partition.
pub fn job(tenant: Uuid, id: Uuid) -> ItemKeys {
    ItemKeys::new(job_pk(tenant, id), "JOB").gsi1(jobs_gsi1(tenant), id.to_string())
}

pub fn jobs_gsi1(tenant: Uuid) -> String {
    format!("{}JOBS", t(tenant))
}

pub fn job_chunk(tenant: Uuid, id: Uuid, chunk: u32) -> ItemKeys {
    ItemKeys::new(job_pk(tenant, id), &format!("CHUNK#{chunk:05}"))
}

pub fn job_progress(tenant: Uuid, id: Uuid, chunk: u32) -> ItemKeys {
    ItemKeys::new(job_pk(tenant, id), &format!("{JOB_PROGRESS_PREFIX}{chunk:05}"))
}

/// Marks a row as applied (or refused), written in the row's own transaction: a redelivered chunk
/// skips it.
pub fn job_row(tenant: Uuid, id: Uuid, row: usize) -> ItemKeys {
    ItemKeys::new(job_pk(tenant, id), &format!("ROW#{row:06}"))
}

pub fn job_error(tenant: Uuid, id: Uuid, row: usize) -> ItemKeys {
    ItemKeys::new(job_pk(tenant, id), &format!("{JOB_ERROR_PREFIX}{row:06}"))
}

pub const JOB_PROGRESS_PREFIX: &str = "PROGRESS#";
pub const JOB_ERROR_PREFIX: &str = "ERR#";

// ---- operators ---------------------------------------------------------------------------------

/// An operator's or sub-operator's business profile (commission, credit limit, POPs), beside its user.
pub fn operator_profile(tenant: Uuid, user: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}USER#{user}", t(tenant)), "OPERATOR")
}

// ---- cross-cutting -----------------------------------------------------------------------------

/// Uniqueness sentinel: one per (owner, field, value).
pub fn unique(owner: Owner, field: &str, value: &str) -> ItemKeys {
    ItemKeys::new(format!("{}UNIQUE#{field}#{value}", owner.prefix()), "UNIQUE")
}

pub fn counter(owner: Owner, name: &str) -> ItemKeys {
    ItemKeys::new(format!("{}COUNTER#{name}", owner.prefix()), "COUNTER")
}

pub fn idempotency(owner: Owner, key_hash: &str) -> ItemKeys {
    ItemKeys::new(format!("{}IDEM#{key_hash}", owner.prefix()), "IDEM")
}

pub fn outbox_event(owner: Owner, id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}EVENT#{id}", owner.prefix()), "EVENT")
}

/// Newest-first log per owner (pk), and by entity (gsi1) and by acting user (gsi2).
pub fn audit(owner: Owner, id: Uuid, entity_type: &str, entity_id: &str, acting_as: Uuid) -> ItemKeys {
    let p = owner.prefix();
    ItemKeys::new(audit_pk(owner), &id.to_string())
        .gsi1(format!("{p}AUDIT#E#{entity_type}#{entity_id}"), id.to_string())
        .gsi2(format!("{p}AUDIT#U#{acting_as}"), id.to_string())
}

pub fn audit_pk(owner: Owner) -> String {
    format!("{}AUDIT", owner.prefix())
}

pub fn audit_by_entity_gsi1(owner: Owner, entity_type: &str, entity_id: &str) -> String {
    format!("{}AUDIT#E#{entity_type}#{entity_id}", owner.prefix())
}

pub fn audit_by_user_gsi2(owner: Owner, user: Uuid) -> String {
    format!("{}AUDIT#U#{user}", owner.prefix())
}

pub fn resellers_gsi1() -> String {
    "P#RESELLERS".into()
}

pub fn tenants_gsi1() -> String {
    "P#TENANTS".into()
}

pub fn reseller_tenants_gsi2(reseller: Uuid) -> String {
    format!("P#RESELLER#{reseller}#TENANTS")
}

/// A notice sent once to a platform reseller (`kind` and the expiry it is about make it unique).
pub fn reseller_notice(reseller: Uuid, kind: &str, about: &str) -> ItemKeys {
    ItemKeys::new(format!("P#NOTICE#{reseller}#{kind}#{about}"), "NOTICE")
}

/// Marks an event as handled by one consumer (idempotent workers).
pub fn inbox(owner: Owner, consumer: &str, event_id: Uuid) -> ItemKeys {
    ItemKeys::new(format!("{}INBOX#{consumer}#{event_id}", owner.prefix()), "INBOX")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests' own clock: a fixed instant, never the real date.
    fn test_now() -> chrono::DateTime<chrono::Utc> {
        "2026-06-15T06:00:00Z".parse().expect("a UTC time")
    }

    #[test]
    fn tenant_keys_start_with_the_tenant_prefix_everywhere() {
        let tid = Uuid::now_v7();
        let id = Uuid::now_v7();
        let p = format!("T#{tid}#");
        let all = [
            user(Some(tid), id),
            customer(tid, id, Some("op/sub")),
            customer_search(tid, id, "name", "rahim"),
            unique(Owner::Tenant(tid), "phone", "+880"),
            counter(Owner::Tenant(tid), "invoice"),
            idempotency(Owner::Tenant(tid), "h"),
            outbox_event(Owner::Tenant(tid), id),
            audit(Owner::Tenant(tid), id, "customer", "x", id),
            package(tid, id, "gold"),
            package_offer(tid, id, id),
            usage(tid, UsageOf::Package, id),
            usage(tid, UsageOf::Router, id),
            usage(tid, UsageOf::Pop, id),
            pop(tid, id, "DHK"),
            router(tid, id, "core", Some(id)),
            subscription(tid, id, id, Some("op/sub"), Some(test_now()), Some(id)),
            subscription_provisioning(tid, id, id),
            router_health(tid, id),
            router_reconcile(tid, id),
            router_reconcile_chunk(tid, id, 3),
            subscription_ref(tid, id),
            timeline_entry(tid, id, id),
            operator_profile(tid, id),
            lead(tid, id, Some("op")),
            dashboard_counters(tid, "ALL", 0),
            job(tid, id),
            job_chunk(tid, id, 1),
            job_row(tid, id, 2),
            dashboard_expiry(tid, "ALL", "2026-11-21T10"),
            with_billing_due(
                subscription(tid, id, id, None, None, None),
                tid,
                id,
                Some((BillingIndex::Prepaid, test_now())),
            ),
            invoice(tid, id, id, Some("op"), Some(test_now()), Some(test_now())),
            document_ref(tid, "INV", id),
            account(tid, id),
            ledger_entry(tid, id, id),
            payment(tid, id, id, Some("op"), test_now()),
            credit_note(tid, id, id),
            refund(tid, id, id),
            collections_day(tid, None, "2026-12-10", 0),
            collections_day(tid, Some("op/sub"), "2026-12-10", 0),
            revenue_month(tid, "2026-12", 0),
            commissions_month(tid, "2026-12", 0),
            commission_rule(tid, id),
            operator_sale(tid, id),
            invoice_commissions(tid, id),
            recharge_batch(tid, id, Some(chrono::DateTime::UNIX_EPOCH)),
            recharge_card(tid, "hash", Some((id, 1))),
            recharge_card_serial(tid, id, 1),
            recharge_attempts(tid, &id.to_string(), 0),
            recharge_attempts(tid, "ISP", 0),
            dues_day(tid, "2026-12-17", 0),
            sequence(tid, "invoice:2026"),
        ];
        for k in all {
            assert!(k.pk.starts_with(&p), "{k:?}");
            for g in [&k.gsi1, &k.gsi2, &k.gsi3, &k.gsi4, &k.gsi5].into_iter().flatten() {
                assert!(g.0.starts_with(&p), "{k:?}");
            }
        }
    }

    #[test]
    fn operator_subtree_sort_keys_nest() {
        let tid = Uuid::now_v7();
        let id = Uuid::now_v7();
        let k = customer(tid, id, Some("op1/sub1"));
        let (pk, sk) = k.gsi2.unwrap();
        assert_eq!(pk, customers_by_operator_gsi2(tid, "op1/sub9"));
        assert!(sk.starts_with("op1/sub1#"));
    }
}
