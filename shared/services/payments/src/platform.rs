//! Platform resellers pay the platform owner online: ISP slots and renewals of their platform
//! subscription, through the owner's own gateway accounts, at the prices the owner set for them.
//! The checkout is the same as an ISP's (the gateway's page, its notification or the payer's
//! return confirmed with its status API, the janitor); what settles it is the reseller's change
//! (`isp_limit` raised, `subscription_expires_at` extended, which lifts an expired one at once)
//! in one transaction with the checkout's move to `paid` and a (gateway, transaction) sentinel.

use crate::checkouts::{encoded, gateway_failure, load, return_url, webhook_url};
use crate::gateway_accounts::{self, usable_account};
use domain::actor::Actor;
use domain::checkout::{Checkout, CheckoutFor, CheckoutState, GatewayAccountStatus, order_id};
use domain::idempotency::Outcome;
use domain::platform::{PlatformPurchase, PlatformReseller};
use domain::role::{Permission, Role};
use domain::{Error, Result, ids};
use gateways::GatewayHttp;
use gateways::model::CheckoutRequest;
use kernel::App;
use kernel::idempotency::{IdempotentRequest, commit_create, record, stored_answer};
use kernel::support::StoreResultExt;
use serde::Deserialize;
use store::{Conflict, Owner, Page, Query, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlatformCheckout {
    pub purchase: PlatformPurchase,
    /// One of the platform owner's gateway accounts.
    pub gateway_account_id: Uuid,
}

/// The reseller, if the actor is it or the platform owner.
async fn reseller_for(app: &App, actor: &Actor, reseller_id: Uuid) -> Result<PlatformReseller> {
    let allowed = actor.tenant_id.is_none()
        && (actor.role.has(Permission::PlatformResellersWrite)
            || (actor.role == Role::SuperAdmin && actor.reseller_id == Some(reseller_id)));
    if !allowed {
        return Err(Error::not_found("platform reseller"));
    }
    app.store
        .get(&keys::platform_reseller(reseller_id))
        .await
        .or_500()?
        .ok_or_else(|| Error::not_found("platform reseller"))
}

/// A reseller buys ISP slots or a renewal (`POST /v1/platform-resellers/{id}/checkouts`).
/// `Idempotency-Key` is required: a repeat returns the first checkout.
pub async fn create_platform_checkout(
    app: &App,
    actor: &Actor,
    reseller_id: Uuid,
    input: CreatePlatformCheckout,
    idem: Option<&IdempotentRequest>,
    http: &GatewayHttp,
    payer_ip: &str,
) -> Result<Outcome<Checkout>> {
    let reseller = reseller_for(app, actor, reseller_id).await?;
    let idem = billing::books::require_key(idem, "checkout")?;
    let owner = Owner::Platform;
    if let Some(first) = stored_answer(app, owner, actor.user_id, idem).await? {
        return Ok(first);
    }
    let prices = reseller.prices.clone().ok_or_else(|| Error::Conflict {
        code: "no_platform_prices",
        detail: "the platform owner has not set this reseller's prices yet".into(),
        field: None,
    })?;
    let amount = input.purchase.price(&prices)?;
    let (account, credentials) = usable_account(app, None, input.gateway_account_id)
        .await?
        .filter(|(a, _)| a.tenant_id.is_none() && a.status == GatewayAccountStatus::Active)
        .ok_or_else(|| {
            Error::field("gateway_account_id", "is not an active payment gateway account of the platform")
        })?;
    let supported = account.gateway.currencies();
    if !supported.is_empty() && !supported.contains(&prices.currency.as_str()) {
        return Err(Error::field(
            "gateway_account_id",
            format!("{} does not take {}", account.gateway.as_str(), prices.currency),
        ));
    }
    let now = app.now();
    let id = ids::new_id();
    let order = order_id(id);
    let description = match input.purchase {
        PlatformPurchase::IspSlots { count } => format!("{count} ISP slot(s) for {}", reseller.name),
        PlatformPurchase::Renewal { months } => format!("{months} month(s) of the platform for {}", reseller.name),
    };
    let request = CheckoutRequest {
        order_id: order.clone(),
        amount: gateways::Amount::new(amount, &prices.currency),
        description,
        customer_name: Some(reseller.name.clone()),
        customer_email: Some(reseller.email.clone()),
        customer_phone: reseller.phone.clone(),
        return_url: return_url(app, account.id, &order),
        cancel_url: format!("{}?cancelled=1", return_url(app, account.id, &order)),
        notify_url: Some(webhook_url(app, &account)),
        methods: account.methods.clone(),
    };
    let adapter = gateway_accounts::adapter(&account, &credentials);
    let created =
        adapter.create_checkout(http, &request, &id.to_string(), payer_ip, now).await.map_err(gateway_failure)?;
    let mut checkout = Checkout {
        id,
        tenant_id: None,
        account_id: account.id,
        gateway: account.gateway,
        paying_for: CheckoutFor::Platform { reseller_id, purchase: input.purchase },
        amount,
        currency: prices.currency,
        order_id: order,
        reference: created.reference,
        redirect_url: created.redirect_url,
        state: CheckoutState::Pending,
        expires_at: created.expires_at,
        payment_id: None,
        transaction_id: None,
        method: None,
        attention: None,
        history: vec![],
        refunds: vec![],
        operator_id: None,
        scope: None,
        created_by: actor.real_actor(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    checkout.log(now, "created", format!("{} checkout {} created", account.gateway.as_str(), checkout.reference));
    let mut tx = Tx::new();
    tx.put_new(encoded(&checkout)?, Conflict::Exists);
    tx.put_idempotency(owner, &idem.key_hash(actor.user_id), &record(idem, 201, &checkout, app)?);
    commit_create(app, tx, owner, actor.user_id, Some(idem), checkout).await
}

/// A reseller's purchases, oldest first.
pub async fn list_platform_checkouts(
    app: &App,
    actor: &Actor,
    reseller_id: Uuid,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Checkout>> {
    reseller_for(app, actor, reseller_id).await?;
    let q = Query::index("gsi1", keys::reseller_checkouts_gsi1(reseller_id)).limit(limit);
    let listing = format!("reseller-checkouts:{reseller_id}");
    let page: Page<crate::checkouts::CheckoutRecord> =
        app.store.query_page(Owner::Platform, &listing, q, cursor).await.or_500()?;
    Ok(Page { items: page.items.into_iter().map(|r| r.checkout).collect(), next_cursor: page.next_cursor })
}

/// One of a reseller's purchases.
pub async fn get_platform_checkout(app: &App, actor: &Actor, reseller_id: Uuid, id: Uuid) -> Result<Checkout> {
    reseller_for(app, actor, reseller_id).await?;
    match load(app, Owner::Platform, id).await? {
        Some(c) if matches!(c.paying_for, CheckoutFor::Platform { reseller_id: r, .. } if r == reseller_id) => Ok(c),
        _ => Err(Error::not_found("checkout")),
    }
}
