//! Demo data for `make run`: the platform owner, one platform reseller, one ISP ("Demo ISP") with its
//! admin, a POP, a router, three packages and three customers with subscriptions. Running it again changes nothing.

use crm::customers::{CreateCustomer, create_customer};
use domain::actor::Actor;
use domain::package::ConnectionType;
use domain::role::Role;
use domain::subscription::BillingModel;
use domain::user::{User, UserStatus};
use domain::{Result, ids};
use identity::platform::{CreateReseller, create_reseller};
use identity::tenants::{CreateTenant, create_tenant};
use identity::users::{LoginPointer, NewStaff, UserRecord, stage_new_user};
use kernel::App;
use kernel::support::StoreResultExt;
use network::packages::{CreatePackage, create_package};
use network::pops::{CreatePop, create_pop};
use network::routers::{CreateRouter, create_router};
use store::{Tx, keys};
use subscriptions::subscriptions::{Change, CreateSubscription, create_subscription};
use uuid::Uuid;

/// Ids of the demo network: a POP, its router and the packages.
pub struct DemoNetwork {
    pub pop: Uuid,
    pub router: Uuid,
    pub packages: Vec<Uuid>,
}

/// The demo router's API user, as the local runner's RouterOS API test server expects it.
pub const DEMO_ROUTER_USER: &str = "admin";
pub const DEMO_ROUTER_PASSWORD: &str = "demo-router-pass";

fn fresh<T>(o: kernel::Outcome<T>) -> T {
    match o {
        kernel::Outcome::Fresh(v) => v,
        kernel::Outcome::Replay { .. } => unreachable!("no idempotency key was given"),
    }
}

async fn seed_network(app: &App, admin: &Actor, creds: &DemoCredentials) -> Result<DemoNetwork> {
    let pop: domain::network::Pop = fresh(
        create_pop(
            app,
            admin,
            CreatePop {
                name: "Mirpur POP".into(),
                code: "DHK-MIR".into(),
                address: Some("Mirpur-10, Dhaka".into()),
                latitude: Some(23.8069),
                longitude: Some(90.3687),
                status: None,
                branch_id: None,
            },
            None,
        )
        .await?,
    );
    let (host, port) = (creds.router_host.clone(), creds.router_port);
    let router: domain::network::Router = fresh(
        create_router(
            app,
            admin,
            CreateRouter {
                name: "Demo Router".into(),
                pop_id: Some(pop.id),
                host,
                port: Some(port),
                tls: false,
                tls_insecure: false,
                username: DEMO_ROUTER_USER.into(),
                password: DEMO_ROUTER_PASSWORD.into(),
                routeros_version: Some("7.16".into()),
                suspension: None,
                access_mode: None,
                radius: None,
            },
            None,
        )
        .await?,
    );
    let mut packages = Vec::new();
    for (name, kind, rate, price, days, hours) in [
        ("Home 10M", ConnectionType::Pppoe, "10M", 100_000, Some(30), None),
        ("Home 20M", ConnectionType::Pppoe, "20M", 150_000, Some(30), None),
        ("Hotspot Day", ConnectionType::Hotspot, "5M", 2_000, None, Some(24)),
    ] {
        let p: domain::package::Package = fresh(
            create_package(
                app,
                admin,
                CreatePackage {
                    name: name.into(),
                    connection_type: kind,
                    download: rate.into(),
                    upload: rate.into(),
                    burst: None,
                    priority: None,
                    price,
                    validity_days: days,
                    validity_hours: hours,
                    fair_usage: None,
                    connectivity: None,
                    router_profile: None,
                    // The PPPoE packages offer an evening's boost.
                    turbo_offers: match kind {
                        ConnectionType::Pppoe => vec![domain::turbo::TurboOffer {
                            code: "evening".into(),
                            name: "Evening boost 50M".into(),
                            download: domain::package::Rate(50_000_000),
                            upload: domain::package::Rate(25_000_000),
                            hours: 3,
                            price: 5_000,
                        }],
                        _ => vec![],
                    },
                    active: None,
                },
                None,
            )
            .await?,
        );
        packages.push(p.id);
    }
    Ok(DemoNetwork { pop: pop.id, router: router.id, packages })
}

#[derive(Debug, Clone)]
pub struct DemoCredentials {
    pub owner_email: String,
    pub owner_password: String,
    pub reseller_email: String,
    pub reseller_password: String,
    pub admin_email: String,
    pub admin_password: String,
    /// Where the demo router (the RouterOS API test server the local runner starts) listens.
    pub router_host: String,
    pub router_port: u16,
}

impl DemoCredentials {
    /// From `DEMO_*` variables, with the documented defaults.
    pub fn from_env() -> Self {
        let get = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
        Self {
            owner_email: get("DEMO_OWNER_EMAIL", "owner@demo.isp.local"),
            owner_password: get("DEMO_OWNER_PASSWORD", "owner-demo-pass-1"),
            reseller_email: get("DEMO_RESELLER_EMAIL", "reseller@demo.isp.local"),
            reseller_password: get("DEMO_RESELLER_PASSWORD", "reseller-demo-pass-1"),
            admin_email: get("DEMO_ADMIN_EMAIL", "admin@demo.isp.local"),
            admin_password: get("DEMO_ADMIN_PASSWORD", "admin-demo-pass-1"),
            router_host: get("DEMO_ROUTER_HOST", "127.0.0.1"),
            router_port: get("DEMO_ROUTER_PORT", "8728").parse().unwrap_or(8728),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SeedReport {
    pub owner_id: Uuid,
    pub reseller_id: Option<Uuid>,
    pub tenant_id: Option<Uuid>,
    pub created_anything: bool,
}

async fn pointer(app: &App, email: &str) -> Result<Option<LoginPointer>> {
    app.store.get(&keys::login(&email.trim().to_lowercase())).await.or_500()
}

pub async fn seed_demo(app: &App, creds: &DemoCredentials) -> Result<SeedReport> {
    let now = app.now();
    let mut created = false;

    let owner_id = match pointer(app, &creds.owner_email).await? {
        Some(p) => p.user_id,
        None => {
            let user = User {
                id: ids::new_id(),
                tenant_id: None,
                reseller_id: None,
                name: "Platform Owner".into(),
                email: creds.owner_email.trim().to_lowercase(),
                phone: None,
                role: Role::Developer,
                parent_id: None,
                scope: None,
                status: UserStatus::Active,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            let mut tx = Tx::new();
            stage_new_user(&mut tx, &UserRecord::new(user.clone(), &creds.owner_password), "email")?;
            app.store.commit(tx).await.or_500()?;
            created = true;
            user.id
        }
    };
    let owner = Actor {
        user_id: owner_id,
        tenant_id: None,
        reseller_id: None,
        role: Role::Developer,
        scope: None,
        impersonator_id: None,
        key: None,
    };

    let (reseller_user, reseller_id) = match pointer(app, &creds.reseller_email).await? {
        Some(p) => (p.user_id, p.reseller_id),
        None => {
            let r = create_reseller(
                app,
                &owner,
                CreateReseller {
                    name: "Demo Reseller".into(),
                    phone: None,
                    subscription_expires_at: now + chrono::Duration::days(365),
                    isp_limit: 10,
                    admin: NewStaff {
                        name: "Demo Reseller".into(),
                        email: creds.reseller_email.clone(),
                        password: creds.reseller_password.clone(),
                        phone: None,
                    },
                },
            )
            .await?;
            created = true;
            let p = pointer(app, &creds.reseller_email).await?.expect("just created");
            (p.user_id, Some(r.id))
        }
    };

    let tenant_id = match pointer(app, &creds.admin_email).await? {
        Some(p) => p.tenant_id,
        None => {
            let reseller = Actor {
                user_id: reseller_user,
                tenant_id: None,
                reseller_id,
                role: Role::SuperAdmin,
                scope: None,
                impersonator_id: None,
                key: None,
            };
            let out = create_tenant(
                app,
                &reseller,
                CreateTenant {
                    name: "Demo ISP".into(),
                    slug: "demo-isp".into(),
                    time_zone: "Asia/Dhaka".into(),
                    currency: "BDT".into(),
                    country: Some("BD".into()),
                    billing: None,
                    reseller_id: None,
                    admin: NewStaff {
                        name: "Demo Admin".into(),
                        email: creds.admin_email.clone(),
                        password: creds.admin_password.clone(),
                        phone: None,
                    },
                },
                None,
            )
            .await?;
            let kernel::Outcome::Fresh(t) = out else { unreachable!("no idempotency key was given") };
            let admin = Actor {
                user_id: t.admin_user_id,
                tenant_id: Some(t.tenant.id),
                reseller_id,
                role: Role::Admin,
                scope: None,
                impersonator_id: None,
                key: None,
            };
            let network = seed_network(app, &admin, creds).await?;
            for (i, (name, phone, username)) in [
                ("Rahim Uddin", "01712-345678", "rahim"),
                ("Karim Hossain", "01812-345679", "karim"),
                ("Nasrin Akter", "01912-345670", "nasrin"),
            ]
            .into_iter()
            .enumerate()
            {
                let c = create_customer(
                    app,
                    &admin,
                    CreateCustomer {
                        name: name.into(),
                        phone: phone.into(),
                        email: None,
                        username: username.into(),
                        address: Some("Mirpur, Dhaka".into()),
                        area: Some("Mirpur".into()),
                        pop_id: Some(network.pop),
                        house_no: Some(format!("{}", 10 + i)),
                        road_no: Some("7".into()),
                        thana: Some("Mirpur".into()),
                        district: Some("Dhaka".into()),
                        client_type: Some(domain::customer::ClientType::Home),
                        access_medium: Some(domain::customer::AccessMedium::Fiber),
                        national_id: None,
                        connection_date: None,
                        notes: None,
                        tags: vec![],
                        language: None,
                        operator_id: None,
                        branch_id: None,
                    },
                    None,
                )
                .await?;
                let kernel::Outcome::Fresh(c) = c else { unreachable!("no idempotency key was given") };
                // Each can log in to the subscriber portal: `<username>-portal-1`.
                let password = format!("{username}-portal-1");
                portal::auth::set_password(app, &admin, c.id, portal::auth::SetPortalPassword { password }).await?;
                // Rahim and Karim are online; Nasrin's line waits to be switched on.
                let sub = create_subscription(
                    app,
                    &admin,
                    c.id,
                    CreateSubscription {
                        package_id: network.packages[i % 2],
                        router_id: network.router,
                        username: None,
                        password: Some(format!("{username}-ppp-1")),
                        billing_model: BillingModel::Prepaid,
                        billing_day: None,
                        auto_renew: Some(true),
                        ip_address: None,
                        mac_address: None,
                        start_date: None,
                        expires_at: None,
                    },
                    None,
                )
                .await?;
                let kernel::Outcome::Fresh(sub) = sub else { unreachable!("no idempotency key was given") };
                if i < 2 {
                    subscriptions::subscriptions::change(app, &admin, sub.id, Change::Activate, None).await?;
                }
            }
            created = true;
            Some(t.tenant.id)
        }
    };
    Ok(SeedReport { owner_id, reseller_id, tenant_id, created_anything: created })
}

/// A sandbox gateway account of the demo ISP, pointed at a gateway fake `make run` started.
pub struct DemoGateway {
    pub gateway: domain::checkout::Gateway,
    pub base_url: String,
    pub credentials: std::collections::BTreeMap<String, String>,
}

/// The demo ISP's sandbox gateway accounts (once: an account of that gateway that exists is
/// kept), created as its admin would: (gateway, account id).
pub async fn seed_demo_gateways(
    app: &App,
    creds: &DemoCredentials,
    gateways: Vec<DemoGateway>,
) -> Result<Vec<(domain::checkout::Gateway, Uuid)>> {
    let Some(p) = pointer(app, &creds.admin_email).await? else { return Ok(vec![]) };
    let admin = Actor {
        user_id: p.user_id,
        tenant_id: p.tenant_id,
        reseller_id: p.reseller_id,
        role: Role::Admin,
        scope: None,
        impersonator_id: None,
        key: None,
    };
    let existing = payments::gateway_accounts::list_accounts(app, &admin, 50, None).await?.items;
    let mut out = vec![];
    for g in gateways {
        if let Some(a) = existing.iter().find(|a| a.gateway == g.gateway) {
            out.push((g.gateway, a.id));
            continue;
        }
        let input = payments::gateway_accounts::CreateGatewayAccount {
            gateway: g.gateway,
            mode: domain::checkout::GatewayMode::Sandbox,
            name: format!("Demo {} (local fake)", g.gateway.as_str()),
            methods: vec![],
            success_url: "https://demo-isp.example/payment/done".into(),
            cancel_url: "https://demo-isp.example/payment/cancelled".into(),
            base_url: Some(g.base_url),
            credentials: g.credentials,
        };
        match payments::gateway_accounts::create_account(app, &admin, input, None).await? {
            domain::idempotency::Outcome::Fresh(a) => out.push((g.gateway, a.id)),
            domain::idempotency::Outcome::Replay { .. } => {}
        }
    }
    Ok(out)
}

/// The demo ISP's messaging (once: kept when it has channels): an SSL Wireless sandbox account and
/// a Telegram bot at the local fakes, a pay link, and rules that send the customer's notices by
/// SMS and router alerts to the NOC chat. Returns the SMS channel's id.
pub async fn seed_demo_messaging(
    app: &App,
    creds: &DemoCredentials,
    sms_base_url: String,
    telegram_base_url: String,
) -> Result<Option<Uuid>> {
    use notify::channels::{ChannelKind, ChannelMode, CreateChannel, create_channel, list_channels};
    let Some(p) = pointer(app, &creds.admin_email).await? else { return Ok(None) };
    let admin = Actor {
        user_id: p.user_id,
        tenant_id: p.tenant_id,
        reseller_id: p.reseller_id,
        role: Role::Admin,
        scope: None,
        impersonator_id: None,
        key: None,
    };
    if let Some(sms) = list_channels(app, &admin).await?.into_iter().find(|c| c.kind == ChannelKind::Sms) {
        return Ok(Some(sms.id));
    }
    let made = |o: domain::idempotency::Outcome<notify::channels::MessagingChannel>| match o {
        domain::idempotency::Outcome::Fresh(c) => Ok(c.id),
        domain::idempotency::Outcome::Replay { .. } => Err(domain::Error::Internal("a replayed channel".into())),
    };
    let sms = made(
        create_channel(
            app,
            &admin,
            CreateChannel {
                kind: ChannelKind::Sms,
                provider: Some(messaging::sms::SmsProvider::SslWireless),
                mode: ChannelMode::Sandbox,
                name: "SSL Wireless (local fake)".into(),
                sender_id: Some("DEMOISP".into()),
                base_url: Some(sms_base_url),
                price_per_part: Some(25),
                countries: vec![],
                credentials: [("api_token".to_string(), DEMO_SMS_TOKEN.to_string())].into(),
            },
            None,
        )
        .await?,
    )?;
    let bot = made(
        create_channel(
            app,
            &admin,
            CreateChannel {
                kind: ChannelKind::Telegram,
                provider: None,
                mode: ChannelMode::Sandbox,
                name: "NOC bot (local fake)".into(),
                sender_id: None,
                base_url: Some(telegram_base_url),
                price_per_part: None,
                countries: vec![],
                credentials: [("bot_token".to_string(), DEMO_TELEGRAM_TOKEN.to_string())].into(),
            },
            None,
        )
        .await?,
    )?;
    let defaults = notify::settings::get_settings(app, &admin).await?;
    let mut rules = defaults.rules.clone();
    for notice in [messaging::notices::Notice::RouterOffline, messaging::notices::Notice::RouterOnline] {
        rules.push(notify::settings::Rule {
            notice,
            recipient: notify::settings::Recipient::Telegram { channel_id: bot, chat_id: "-100200300".into() },
        });
    }
    let input = notify::settings::PutMessagingSettings {
        default_language: defaults.default_language,
        quiet_hours: defaults.quiet_hours,
        sends_per_minute: defaults.sends_per_minute,
        sms_channel_id: Some(sms),
        pay_url: Some("https://pay.demo-isp.example".into()),
        rules,
        version: Some(0),
    };
    notify::settings::put_settings(app, &admin, input, None).await?;
    Ok(Some(sms))
}

/// The demo ISP's SMS account's token at the local SSL Wireless fake.
pub const DEMO_SMS_TOKEN: &str = "ssl-token-demo";
/// The demo NOC bot's token at the local Telegram fake.
pub const DEMO_TELEGRAM_TOKEN: &str = "777000:demo-noc-bot";
