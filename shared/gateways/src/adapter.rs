//! One account at any gateway, built from its stored credentials: the one place that knows which
//! credential feeds which adapter and which handle each gateway's status API takes, so a caller
//! creates a checkout, asks a status or tests credentials without matching on the gateway.

use crate::http::GatewayHttp;
use crate::model::{Amount, CheckoutCreated, CheckoutRequest, PaymentState, TransactionStatus};
use crate::{GatewayError, aamarpay, bkash, midtrans, nagad, paypal, sslcommerz, stripe};
use chrono::{DateTime, Utc};
use domain::checkout::Gateway;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub enum Adapter {
    Stripe(stripe::StripeAccount),
    Midtrans(midtrans::MidtransAccount),
    Sslcommerz(sslcommerz::SslcommerzAccount),
    Aamarpay(aamarpay::AamarpayAccount),
    Bkash(bkash::BkashAccount),
    Nagad(nagad::NagadAccount),
    Paypal(paypal::PaypalAccount),
}

/// Where an account's calls go: a sandbox account's override, else the gateway's own hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
/// A refund of a paid checkout, as the gateways need it.
pub struct RefundRequest<'a> {
    pub order_id: &'a str,
    /// The gateway's handle of the checkout (bKash's paymentID).
    pub reference: &'a str,
    /// The gateway's id of the payment (Stripe's payment intent, PayPal's capture, bKash's trxID).
    pub transaction_id: &'a str,
    pub amount: Amount,
    /// Our id of the refund: the gateway's idempotency key.
    pub key: &'a str,
    pub reason: &'a str,
    /// The gateway's ids of this payment's refunds already recorded.
    pub known: &'a [String],
}

pub struct Endpoint {
    pub sandbox: bool,
    /// Sandbox only (checked when the account was saved).
    pub base_url: Option<String>,
}

impl Endpoint {
    fn pick(&self, live: &str, sandbox: &str) -> String {
        match (&self.base_url, self.sandbox) {
            (Some(b), true) => b.clone(),
            (_, true) => sandbox.to_string(),
            _ => live.to_string(),
        }
    }
}

impl Adapter {
    pub fn new(gateway: Gateway, credentials: &BTreeMap<String, String>, at: &Endpoint) -> Adapter {
        let get = |k: &str| credentials.get(k).cloned().unwrap_or_default();
        match gateway {
            Gateway::Stripe => Adapter::Stripe(stripe::StripeAccount {
                secret_key: get("secret_key"),
                webhook_secret: get("webhook_secret"),
                base_url: at.pick(stripe::LIVE_BASE, stripe::LIVE_BASE),
            }),
            Gateway::Midtrans => Adapter::Midtrans(midtrans::MidtransAccount {
                server_key: get("server_key"),
                snap_base: at.pick(midtrans::LIVE_SNAP, midtrans::SANDBOX_SNAP),
                api_base: at.pick(midtrans::LIVE_API, midtrans::SANDBOX_API),
            }),
            Gateway::Sslcommerz => Adapter::Sslcommerz(sslcommerz::SslcommerzAccount {
                store_id: get("store_id"),
                store_password: get("store_password"),
                base_url: at.pick(sslcommerz::LIVE_BASE, sslcommerz::SANDBOX_BASE),
            }),
            Gateway::Aamarpay => Adapter::Aamarpay(aamarpay::AamarpayAccount {
                store_id: get("store_id"),
                signature_key: get("signature_key"),
                base_url: at.pick(aamarpay::LIVE_BASE, aamarpay::SANDBOX_BASE),
            }),
            Gateway::Bkash => Adapter::Bkash(bkash::BkashAccount {
                app_key: get("app_key"),
                app_secret: get("app_secret"),
                username: get("username"),
                password: get("password"),
                base_url: at.pick(bkash::LIVE_BASE, bkash::SANDBOX_BASE),
            }),
            Gateway::Nagad => Adapter::Nagad(nagad::NagadAccount {
                merchant_id: get("merchant_id"),
                merchant_private_key: get("merchant_private_key"),
                pg_public_key: get("pg_public_key"),
                base_url: at.pick(nagad::LIVE_BASE, nagad::SANDBOX_BASE),
            }),
            Gateway::Paypal => Adapter::Paypal(paypal::PaypalAccount {
                client_id: get("client_id"),
                client_secret: get("client_secret"),
                webhook_id: get("webhook_id"),
                base_url: at.pick(paypal::LIVE_BASE, paypal::SANDBOX_BASE),
                sandbox_override: at.sandbox && at.base_url.is_some(),
            }),
        }
    }

    /// Whatever in the credentials can be checked without a call (Nagad's keys must read), by
    /// credential name.
    pub fn credential_problems(&self) -> Vec<(&'static str, String)> {
        match self {
            Adapter::Nagad(a) => a.keys().err().unwrap_or_default(),
            _ => vec![],
        }
    }

    /// Creates a checkout. `idempotency_key` is sent where the gateway takes one (Stripe, PayPal);
    /// `payer_ip` where it wants the payer's address (Nagad).
    pub async fn create_checkout(
        &self,
        client: &GatewayHttp,
        req: &CheckoutRequest,
        idempotency_key: &str,
        payer_ip: &str,
        now: DateTime<Utc>,
    ) -> Result<CheckoutCreated, GatewayError> {
        match self {
            Adapter::Stripe(a) => stripe::create_checkout(client, a, req, idempotency_key, now).await,
            Adapter::Midtrans(a) => midtrans::create_checkout(client, a, req, now).await,
            Adapter::Sslcommerz(a) => sslcommerz::create_checkout(client, a, req, now).await,
            Adapter::Aamarpay(a) => aamarpay::create_checkout(client, a, req, now).await,
            Adapter::Bkash(a) => bkash::create_checkout(client, a, req, now).await,
            Adapter::Nagad(a) => nagad::create_checkout(client, a, req, payer_ip, now).await,
            Adapter::Paypal(a) => paypal::create_checkout(client, a, req, idempotency_key, now).await,
        }
    }

    /// A checkout's state at the gateway, by our order id or the gateway's handle of it (the
    /// `reference` it answered at creation), whichever its status API takes.
    pub async fn checkout_status(
        &self,
        client: &GatewayHttp,
        order_id: &str,
        reference: &str,
    ) -> Result<TransactionStatus, GatewayError> {
        match self {
            Adapter::Stripe(a) => stripe::checkout_status(client, a, reference).await,
            Adapter::Midtrans(a) => midtrans::checkout_status(client, a, order_id).await,
            Adapter::Sslcommerz(a) => sslcommerz::checkout_status(client, a, order_id).await,
            Adapter::Aamarpay(a) => aamarpay::checkout_status(client, a, order_id).await,
            Adapter::Bkash(a) => bkash::checkout_status(client, a, reference).await,
            Adapter::Nagad(a) => nagad::checkout_status(client, a, reference, "127.0.0.1").await,
            // What the payer approved is captured: the money is PayPal's to take only then.
            Adapter::Paypal(a) => paypal::settle_approved(client, a, reference, &capture_request_id(order_id)).await,
        }
    }

    /// What the payer's browser return means, confirmed with the gateway (its `params`, the
    /// return's query or form, are never believed about money): a bKash payment the payer
    /// approved is executed (only then is it paid), a PayPal order captured, the others asked
    /// for their status. A payer who cancelled at bKash is reported failed without a call.
    pub async fn confirm_return(
        &self,
        client: &GatewayHttp,
        order_id: &str,
        reference: &str,
        params: &str,
    ) -> Result<TransactionStatus, GatewayError> {
        match self {
            Adapter::Bkash(a) => {
                let (payment_id, status) = bkash::callback_of(params)?;
                if payment_id != reference {
                    return Err(GatewayError::Malformed("the return names another payment".into()));
                }
                if status == "success" {
                    bkash::execute(client, a, reference).await
                } else {
                    Ok(TransactionStatus {
                        order_id: order_id.to_string(),
                        transaction_id: None,
                        state: PaymentState::Failed,
                        amount: None,
                        method: None,
                    })
                }
            }
            Adapter::Paypal(a) => match paypal::capture(client, a, reference, &capture_request_id(order_id)).await {
                // Not approved (the payer cancelled or has not finished): the order says where it is.
                Err(GatewayError::Refused { .. }) => paypal::checkout_status(client, a, reference).await,
                other => other,
            },
            _ => self.checkout_status(client, order_id, reference).await,
        }
    }

    /// Whether the gateway has a refund API (bKash, Midtrans, Stripe, PayPal); the others'
    /// refunds are paid by hand from the customer's credit.
    pub fn can_refund(&self) -> bool {
        matches!(self, Adapter::Stripe(_) | Adapter::Midtrans(_) | Adapter::Bkash(_) | Adapter::Paypal(_))
    }

    /// Refunds `refund.amount` of a paid checkout; the gateway's id of the refund. `refund.key`
    /// is the gateway's idempotency key where it takes one (Stripe, PayPal, Midtrans's
    /// `refund_key`): a repeat after a lost answer is the same refund. bKash takes none, so its
    /// refunds of the payment are listed first and one not among `refund.known` is this one.
    pub async fn refund(&self, client: &GatewayHttp, refund: &RefundRequest<'_>) -> Result<String, GatewayError> {
        let r = refund;
        match self {
            Adapter::Stripe(a) => stripe::refund(client, a, r.transaction_id, &r.amount, r.key).await,
            Adapter::Midtrans(a) => {
                midtrans::refund(client, a, r.order_id, &r.amount, r.key, r.reason).await.map(|()| r.key.to_string())
            }
            Adapter::Bkash(a) => {
                // Unsure whether a refund was made: do not make another.
                let made = match bkash::refund_status(client, a, r.reference, r.transaction_id).await {
                    Ok(ids) => ids,
                    Err(e) if e.is_transient() => return Err(e),
                    Err(_) => vec![],
                };
                if let Some(id) = made.into_iter().find(|id| !r.known.contains(id)) {
                    return Ok(id);
                }
                bkash::refund(client, a, r.reference, r.transaction_id, &r.amount, r.reason).await
            }
            Adapter::Paypal(a) => paypal::refund(client, a, r.transaction_id, &r.amount, r.key).await,
            Adapter::Sslcommerz(_) | Adapter::Aamarpay(_) | Adapter::Nagad(_) => {
                Err(GatewayError::Refused { status: 405, detail: "this gateway has no refund API".into() })
            }
        }
    }

    /// A harmless call that only works with good credentials: a fresh token grant where the
    /// gateway grants tokens, Nagad's initialize of a probe order, else the status of an order
    /// that does not exist (`UnknownOrder` then means the credentials were taken).
    pub async fn check_credentials(
        &self,
        client: &GatewayHttp,
        probe_order: &str,
        now: DateTime<Utc>,
    ) -> Result<(), GatewayError> {
        match self {
            Adapter::Stripe(a) => stripe::checkout_status(client, a, "cs_connection_check").await.map(|_| ()),
            Adapter::Midtrans(a) => midtrans::checkout_status(client, a, probe_order).await.map(|_| ()),
            Adapter::Sslcommerz(a) => sslcommerz::checkout_status(client, a, probe_order).await.map(|_| ()),
            Adapter::Aamarpay(a) => aamarpay::checkout_status(client, a, probe_order).await.map(|_| ()),
            Adapter::Bkash(a) => {
                bkash::forget_token(a);
                bkash::token(client, a).await.map(|_| ())
            }
            Adapter::Nagad(a) => nagad::check_account(client, a, probe_order, now).await,
            Adapter::Paypal(a) => {
                paypal::forget_token(a);
                paypal::token(client, a).await.map(|_| ())
            }
        }
    }
}

/// The one PayPal capture request id of an order: the return, the approval event and the janitor
/// capture under it, so PayPal captures once whoever asks first.
pub fn capture_request_id(order_id: &str) -> String {
    format!("{order_id}-capture")
}
