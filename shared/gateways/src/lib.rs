//! Payment gateways (Stripe, Midtrans Snap, SSLCommerz, aamarPay, bKash, Nagad and PayPal), shaped
//! like `routeros`: each module knows one gateway's wire format and signature scheme, none knows
//! the table. Per gateway: create a checkout, verify a notification (pure: headers, raw body, this
//! account's secret, the time), ask a transaction's status, refund where the gateway has an API,
//! and the answer the gateway expects back.
//!
//! Money crosses this boundary as our integer minor units ([`Amount`]); each module converts to
//! the gateway's own unit and back, refusing what does not convert exactly. Nothing here trusts a
//! browser redirect: a redirect only names an order, whose state comes from the status API.

pub mod aamarpay;
pub mod adapter;
pub mod bkash;
pub mod certs;
pub mod error;
pub mod http;
pub mod midtrans;
pub mod model;
pub mod nagad;
pub mod paypal;
pub mod sslcommerz;
pub mod stripe;

#[cfg(feature = "testing")]
pub mod testing;

pub use error::GatewayError;
pub use http::{GatewayHttp, Hosts};
pub use model::{Amount, CheckoutCreated, CheckoutRequest, PaymentState, TransactionStatus};
