//! Platform resellers pay the platform owner online: ISP slots and renewals of their platform
//! subscription, through the owner's own gateway accounts, at the prices the owner set for them.
//! The checkout is the same as an ISP's (the gateway's page, its notification or the payer's
//! return confirmed with its status API, the janitor); what settles it is the reseller's change
//! (`isp_limit` raised, `subscription_expires_at` extended, which lifts an expired one at once)
//! in one transaction with the checkout's move to `paid` and a (gateway, transaction) sentinel.

use crate::checkouts::{encoded, gateway_failure, load, return_url, webhook_url, write_state};
use crate::gateway_accounts::{self, usable_account};
use domain::actor::Actor;
use domain::checkout::{Checkout, CheckoutFor, CheckoutState, GatewayAccountStatus, order_id};
use domain::event::{DomainEvent, PlatformEvent};
use domain::idempotency::Outcome;
use domain::platform::{PlatformPurchase, PlatformReseller};
use domain::role::{Permission, Role};
use domain::{Error, Result, ids};
use gateways::GatewayHttp;
use gateways::model::CheckoutRequest;
use kernel::App;
use kernel::idempotency::{IdempotentRequest, commit_create, record, stored_answer};
use kernel::support::{Audited, StoreResultExt, attr, audit, snapshot};
use serde::Deserialize;
use store::{Conflict, Owner, Page, Query, StoreError, Tx, keys};
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

/// Settles a paid purchase: the reseller changed, the checkout paid and the transaction's
/// sentinel, in one transaction. `None`: something moved meanwhile (read again). Only the whole
/// price buys: a partial payment is kept for the owner to look at.
pub(crate) async fn settle_purchase(
    app: &App,
    before: &Checkout,
    after: &Checkout,
    transaction_id: &str,
    amount: i64,
) -> Result<Option<Checkout>> {
    let CheckoutFor::Platform { reseller_id, purchase } = before.paying_for else {
        return Err(Error::Internal("an ISP's checkout settled as a platform purchase".into()));
    };
    let now = app.now();
    if amount != before.amount {
        let mut flagged = before.clone();
        let detail =
            format!("paid {amount} of {} {}: a purchase needs the whole price", before.amount, before.currency);
        flagged.attention = Some(detail.clone());
        flagged.version += 1;
        flagged.updated_at = now;
        flagged.log(now, "mismatch", detail);
        return write_state(app, before, &flagged).await;
    }
    let reseller: PlatformReseller = app
        .store
        .get(&keys::platform_reseller(reseller_id))
        .await
        .or_500()?
        .ok_or_else(|| Error::Internal("a purchase of a reseller that is gone".into()))?;
    let mut changed = reseller.clone();
    purchase.apply(&mut changed, now);
    changed.version += 1;
    changed.updated_at = now;
    let mut tx = Tx::new();
    tx.update(
        &keys::platform_reseller(reseller_id),
        "SET isp_limit = :limit, subscription_expires_at = :sxp, updated_at = :now, version = :next, v = :next",
        Some("v = :expected"),
        &[],
        std::collections::HashMap::from([
            (":limit".to_string(), attr(&changed.isp_limit)),
            (":sxp".to_string(), attr(&changed.subscription_expires_at)),
            (":now".to_string(), attr(&now)),
            (":next".to_string(), attr(&changed.version)),
            (":expected".to_string(), attr(&reseller.version)),
        ]),
        Conflict::Version,
    );
    tx.put_versioned(encoded(after)?, before.version);
    let value = format!("{}:{transaction_id}", before.gateway.as_str());
    tx.put_unique(
        keys::unique(Owner::Platform, "gateway_transaction", &value),
        "transaction_id",
        &before.id.to_string(),
    );
    let system = Actor::system_platform();
    tx.put_audit(&audit(
        &system,
        None,
        Audited {
            action: "platform_purchase.paid",
            entity: "platform_reseller",
            id: reseller_id.to_string(),
            before: Some(snapshot(&reseller)),
            after: Some(snapshot(&changed)),
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        PlatformEvent::PlatformPurchasePaid,
        None,
        serde_json::json!({"reseller_id": reseller_id, "checkout_id": before.id, "purchase": purchase,
            "amount": amount, "currency": before.currency, "gateway": before.gateway,
            "isp_limit": changed.isp_limit, "subscription_expires_at": changed.subscription_expires_at}),
        now,
    ));
    match app.store.commit(tx).await {
        Ok(()) => Ok(Some(after.clone())),
        Err(StoreError::Conflict(Conflict::Version)) => Ok(None),
        Err(StoreError::Conflict(Conflict::Unique(_))) => {
            // Applied to this checkout by a concurrent report (the next read shows it), or to
            // another one (kept for the owner to look at).
            let now_there = load(app, Owner::Platform, before.id).await?;
            if now_there.is_none_or(|c| c.version != before.version) {
                return Ok(None);
            }
            let mut flagged = before.clone();
            flagged.attention = Some(format!("transaction {transaction_id} was applied to another checkout"));
            flagged.version += 1;
            flagged.updated_at = now;
            flagged.log(now, "mismatch", flagged.attention.clone().unwrap_or_default());
            write_state(app, before, &flagged).await
        }
        Err(e) => Err(kernel::support::store_err(e)),
    }
}
