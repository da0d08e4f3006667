//! Platform resellers pay the platform owner online: ISP slots and renewals of their platform
//! subscription, through the owner's own gateway accounts, at the prices the owner set for them.
//! The checkout is the same as an ISP's (the gateway's page, its notification or the payer's
//! return confirmed with its status API, the janitor); what settles it is the reseller's change
//! (`isp_limit` raised, `subscription_expires_at` extended, which lifts an expired one at once)
//! in one transaction with the checkout's move to `paid` and a (gateway, transaction) sentinel.

use crate::checkouts::{GatewayAt, NewCheckout, load, open_at_gateway};
use crate::gateway_accounts::usable_account;
use domain::actor::Actor;
use domain::checkout::{Checkout, CheckoutFor, GatewayAccountStatus};
use domain::idempotency::Outcome;
use domain::platform::{PlatformPurchase, PlatformReseller};
use domain::role::{Permission, Role};
use domain::{Error, Result};
use gateways::GatewayHttp;
use kernel::App;
use kernel::idempotency::{IdempotentRequest, stored_answer};
use kernel::support::StoreResultExt;
use serde::Deserialize;
use store::{Owner, Page, Query, keys};
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
        && (actor.can(Permission::PlatformResellersWrite)
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
    let description = match input.purchase {
        PlatformPurchase::IspSlots { count } => format!("{count} ISP slot(s) for {}", reseller.name),
        PlatformPurchase::Renewal { months } => format!("{months} month(s) of the platform for {}", reseller.name),
    };
    let new = NewCheckout {
        then_turbo: None,
        tenant_id: None,
        paying_for: CheckoutFor::Platform { reseller_id, purchase: input.purchase },
        amount,
        currency: prices.currency,
        description,
        payer_name: Some(reseller.name.clone()),
        payer_email: Some(reseller.email.clone()),
        payer_phone: reseller.phone.clone(),
        operator_id: None,
        scope: None,
    };
    let at = GatewayAt { account: &account, credentials: &credentials, http, payer_ip };
    open_at_gateway(app, actor, &at, new, owner, idem).await
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
