//! Gateway notifications (`POST /v1/webhooks/<gateway>/{account_id}`, public): verified with the
//! named account's secret exactly as the gateway signs (Stripe's `Stripe-Signature`, Midtrans's
//! SHA-512 signature key, SSLCommerz's `verify_sign` then its validation API, bKash's SNS
//! signature with the topic pinned, PayPal's transmission signature). aamarPay and Nagad do not sign
//! what they send (their callbacks carry only the order and what the payer's page saw): a delivery
//! to theirs is a hint naming an order, whose state their status API (trxcheck, verify/payment) then
//! gives; the callback's own amount and status are never read. What verifies is applied through [`crate::checkouts::apply_report`]: once, however
//! often and concurrently it arrives. Forged, tampered, stale and wrong-account deliveries get a
//! 4xx and write nothing; a verified delivery about an order that is not ours is acknowledged (the
//! gateway would retry it for days) and writes nothing.

use crate::checkouts::{Source, apply_report, checkout_of};
use crate::gateway_accounts::{self, usable_account};
use domain::checkout::{Gateway, GatewayMode};
use domain::{Error, Result};
use gateways::adapter::Adapter;
use gateways::http::Hosts;
use gateways::{GatewayError, GatewayHttp, TransactionStatus, bkash, paypal};
use kernel::App;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A delivery as the function received it: headers (names in lower case), the raw body (signatures
/// are computed over it), the raw query.
pub struct Delivery<'a> {
    pub headers: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    pub query: &'a str,
}

/// What the gateway is answered (every gateway takes a 2xx as "delivered").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Acknowledged {
    /// `settled`, `unchanged`, `not_ours`, `subscribed`, `ignored`, or the checkout's new state.
    pub outcome: String,
}

fn refused(e: GatewayError) -> Error {
    match e {
        GatewayError::Unavailable(d) => Error::Unavailable { detail: format!("the gateway could not be asked: {d}") },
        GatewayError::Stale(_) => Error::BadRequest { code: "webhook_stale", detail: e.to_string() },
        GatewayError::BadSignature => {
            Error::Unauthorized { code: "webhook_bad_signature", detail: "the signature does not verify".into() }
        }
        GatewayError::UnknownOrder => Error::not_found("order"),
        e => Error::BadRequest { code: "webhook_malformed", detail: e.to_string() },
    }
}

/// Receives one delivery for `gateway` at the account `account_id`.
pub async fn receive(
    app: &App,
    gateway: Gateway,
    account_id: Uuid,
    delivery: Delivery<'_>,
    http: &GatewayHttp,
) -> Result<Acknowledged> {
    let (account, credentials) = usable_account(app, None, account_id)
        .await?
        .filter(|(a, _)| a.gateway == gateway)
        .ok_or_else(|| Error::not_found("payment gateway account"))?;
    let adapter = gateway_accounts::adapter(&account, &credentials);
    let hosts = Hosts { allow_loopback: app.router_hosts.allow_loopback };
    // A sandbox account pointed elsewhere may fetch signing certificates from its own origin.
    let sandbox_origin = match account.mode {
        GatewayMode::Sandbox => account.base_url.as_deref().and_then(origin_of),
        GatewayMode::Live => None,
    };
    let header = |k: &str| delivery.headers.get(k).map(String::as_str);
    // The checkout an unsigned callback named, read once.
    let mut named = None;
    let status: Option<TransactionStatus> = match &adapter {
        Adapter::Stripe(a) => {
            gateways::stripe::verify_notification(
                header("stripe-signature"),
                delivery.body,
                &a.webhook_secret,
                app.now(),
            )
            .map_err(refused)?
            .status
        }
        Adapter::Midtrans(a) => {
            gateways::midtrans::verify_notification(delivery.body, &a.server_key).map_err(refused)?.status
        }
        Adapter::Sslcommerz(a) => {
            let ipn = gateways::sslcommerz::verify_ipn(delivery.body, &a.store_password).map_err(refused)?;
            // The IPN verified; its money is what the validation API says (by the transaction
            // when the IPN carries no validation id: a failure or a cancellation).
            let asked = match &ipn.val_id {
                Some(val_id) => gateways::sslcommerz::validate(http, a, val_id).await,
                None => gateways::sslcommerz::checkout_status(http, a, &ipn.tran_id).await,
            };
            Some(asked.map_err(refused)?)
        }
        Adapter::Aamarpay(a) => {
            // Unsigned: it only names an order, whose state aamarPay's search API (trxcheck) gives.
            let order = gateways::aamarpay::order_of_callback(delivery.body).map_err(refused)?;
            let Some(c) = checkout_of(app, &account, &order).await? else {
                return Ok(Acknowledged { outcome: "not_ours".into() });
            };
            named = Some(c);
            Some(gateways::aamarpay::checkout_status(http, a, &order).await.map_err(refused)?)
        }
        Adapter::Nagad(a) => {
            // Unsigned: it only names Nagad's payment reference, whose state verify/payment gives.
            let params = if delivery.body.is_empty() {
                delivery.query.to_string()
            } else {
                String::from_utf8_lossy(delivery.body).into_owned()
            };
            let callback = gateways::nagad::callback_of(&params).map_err(refused)?;
            match checkout_of(app, &account, &callback.order_id).await? {
                Some(c) if c.reference == callback.payment_ref_id => named = Some(c),
                _ => return Ok(Acknowledged { outcome: "not_ours".into() }),
            }
            Some(
                gateways::nagad::checkout_status(http, a, &callback.payment_ref_id, "127.0.0.1")
                    .await
                    .map_err(refused)?,
            )
        }
        Adapter::Bkash(_) => {
            let Some(topic) = credentials.get("webhook_topic_arn").filter(|t| !t.is_empty()) else {
                return Err(Error::BadRequest {
                    code: "webhook_not_configured",
                    detail: "this bKash account has no webhook topic (credential webhook_topic_arn)".into(),
                });
            };
            match bkash::verify_sns(http, delivery.body, topic, sandbox_origin, hosts).await.map_err(refused)? {
                bkash::SnsDelivery::Subscribe { subscribe_url } => {
                    let answer = http.client().get(&subscribe_url).send().await;
                    let confirmed = answer.as_ref().is_ok_and(|r| r.status().is_success());
                    tracing::info!(account = %account.id, confirmed, "bKash webhook subscription");
                    if !confirmed {
                        return Err(Error::Unavailable { detail: "the subscription could not be confirmed".into() });
                    }
                    return Ok(Acknowledged { outcome: "subscribed".into() });
                }
                bkash::SnsDelivery::Payment(v) => v.status,
                bkash::SnsDelivery::Other => None,
            }
        }
        Adapter::Paypal(a) => {
            let h = |k: &str| header(k).unwrap_or_default().to_string();
            let transmission = paypal::Transmission {
                id: h("paypal-transmission-id"),
                time: h("paypal-transmission-time"),
                signature: h("paypal-transmission-sig"),
                cert_url: h("paypal-cert-url"),
                auth_algo: h("paypal-auth-algo"),
            };
            let verified =
                paypal::verify_notification(http, a, &transmission, delivery.body, hosts).await.map_err(refused)?;
            match paypal::approved_order(delivery.body) {
                // The payer approved (perhaps without coming back): ours is captured here.
                Some((paypal_order, order)) => {
                    match checkout_of(app, &account, &order).await? {
                        Some(c) if c.reference == paypal_order => named = Some(c),
                        _ => return Ok(Acknowledged { outcome: "not_ours".into() }),
                    }
                    let request_id = gateways::adapter::capture_request_id(&order);
                    Some(paypal::settle_approved(http, a, &paypal_order, &request_id).await.map_err(refused)?)
                }
                None => verified.status,
            }
        }
    };
    let Some(status) = status else { return Ok(Acknowledged { outcome: "ignored".into() }) };
    let known = named.filter(|c| c.order_id == status.order_id);
    let checkout = match known {
        Some(c) => Some(c),
        None => checkout_of(app, &account, &status.order_id).await?,
    };
    let Some(checkout) = checkout else {
        tracing::info!(account = %account.id, "a verified notification about an order that is not ours");
        return Ok(Acknowledged { outcome: "not_ours".into() });
    };
    let before = (checkout.state, checkout.version);
    let after = apply_report(app, checkout, &status, Source::Notification).await?;
    let outcome =
        if (after.state, after.version) == before { "unchanged".to_string() } else { state_name(after.state) };
    Ok(Acknowledged { outcome })
}

fn state_name(s: domain::checkout::CheckoutState) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}"))
}
