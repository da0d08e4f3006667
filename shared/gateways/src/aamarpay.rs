//! aamarPay: a payment per checkout (`POST /jsonpost.php`), a browser callback that carries **no
//! signature** (so it only names an order), and the Search Transaction API (`trxcheck`) as the
//! only source of truth, for the callback and for the janitor alike. No refund API is used here.
//!
//! Unverified in public sources (see the research notes): the full `pay_status` list and whether
//! `amount` includes a service charge passed to the payer. Chosen: `Successful` is paid, `Failed`
//! and cancellations are failed, anything else pending; the amount compared is `amount_original`
//! (what we asked for) when present, else `amount`.

use crate::GatewayError;
use crate::http::{self, GatewayHttp};
use crate::model::{Amount, CheckoutCreated, CheckoutRequest, PaymentState, TransactionStatus};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

pub const LIVE_BASE: &str = "https://secure.aamarpay.com";
pub const SANDBOX_BASE: &str = "https://sandbox.aamarpay.com";
pub const CHECKOUT_LIFE: Duration = Duration::minutes(60);

#[derive(Clone)]
pub struct AamarpayAccount {
    pub store_id: String,
    pub signature_key: String,
    pub base_url: String,
}

impl std::fmt::Debug for AamarpayAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AamarpayAccount")
            .field("store_id", &self.store_id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

pub async fn create_checkout(
    client: &GatewayHttp,
    account: &AamarpayAccount,
    req: &CheckoutRequest,
    now: DateTime<Utc>,
) -> Result<CheckoutCreated, GatewayError> {
    let body = serde_json::json!({
        "store_id": account.store_id, "signature_key": account.signature_key, "tran_id": req.order_id,
        "success_url": req.return_url, "fail_url": req.cancel_url, "cancel_url": req.cancel_url,
        "amount": req.amount.decimal(), "currency": req.amount.currency, "desc": req.description,
        "cus_name": req.customer_name.clone().unwrap_or_else(|| "Subscriber".into()),
        "cus_email": req.customer_email.clone().unwrap_or_else(|| "noreply@example.com".into()),
        "cus_phone": req.customer_phone.clone().unwrap_or_else(|| "01700000000".into()),
        "cus_add1": "N/A", "cus_city": "N/A", "cus_country": "Bangladesh", "opt_a": req.order_id, "type": "json",
    });
    let call = client.client().post(format!("{}/jsonpost.php", account.base_url)).json(&body);
    let (status, text) = http::send(call).await?;
    http::expect_success(status, &text)?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| GatewayError::Malformed(format!("{e}: {}", http::cut(&text))))?;
    let ok = v["result"] == "true" || v["result"] == true;
    match (ok, v["payment_url"].as_str()) {
        (true, Some(url)) => Ok(CheckoutCreated {
            reference: req.order_id.clone(),
            redirect_url: url.to_string(),
            expires_at: Some(now + CHECKOUT_LIFE),
        }),
        _ => Err(GatewayError::Refused { status, detail: http::cut(&text) }),
    }
}

/// The order a browser callback names (`mer_txnid`). Nothing else in it is trusted: aamarPay does
/// not sign it; ask [`checkout_status`].
pub fn order_of_callback(raw_body: &[u8]) -> Result<String, GatewayError> {
    let fields = http::form_fields(raw_body)?;
    fields
        .into_iter()
        .find(|(k, _)| k == "mer_txnid")
        .map(|(_, v)| v)
        .filter(|v| crate::model::valid_order_id(v))
        .ok_or_else(|| GatewayError::Malformed("no mer_txnid".into()))
}

#[derive(Debug, Deserialize)]
struct Search {
    pay_status: Option<String>,
    mer_txnid: Option<String>,
    pg_txnid: Option<String>,
    store_id: Option<String>,
    amount: Option<String>,
    amount_original: Option<String>,
    currency: Option<String>,
    payment_type: Option<String>,
    card_type: Option<String>,
}

fn state_of(pay_status: &str) -> PaymentState {
    match pay_status {
        "Successful" => PaymentState::Paid,
        "Failed" | "Cancelled" | "Canceled" => PaymentState::Failed,
        "Expired" => PaymentState::Expired,
        _ => PaymentState::Pending,
    }
}

/// Search Transaction by our `tran_id`: the answer must be this store's and this order's.
pub async fn checkout_status(
    client: &GatewayHttp,
    account: &AamarpayAccount,
    tran_id: &str,
) -> Result<TransactionStatus, GatewayError> {
    let call = client.client().get(format!("{}/api/v1/trxcheck/request.php", account.base_url)).query(&[
        ("request_id", tran_id),
        ("store_id", &account.store_id),
        ("signature_key", &account.signature_key),
        ("type", "json"),
    ]);
    let (status, text) = http::send(call).await?;
    http::expect_success(status, &text)?;
    // A refused store or key comes back as a message (aamarPay's wording is not documented; any
    // message naming the store or the key is taken as a refusal, any other as an unknown order).
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
        && let Some(msg) = v["msg"].as_str().or(v.as_str())
        && (msg.contains("Store") || msg.contains("Signature"))
    {
        return Err(GatewayError::Refused { status: 401, detail: msg.to_string() });
    }
    let s: Search = serde_json::from_str(&text).map_err(|_| GatewayError::UnknownOrder)?;
    let (Some(pay_status), Some(mer_txnid)) = (s.pay_status.as_deref(), s.mer_txnid.as_deref()) else {
        return Err(GatewayError::UnknownOrder);
    };
    if mer_txnid != tran_id || s.store_id.as_deref().is_some_and(|id| id != account.store_id) {
        return Err(GatewayError::Malformed("the answer is about another order or store".into()));
    }
    let currency = s.currency.as_deref().unwrap_or("BDT");
    let amount = match s.amount_original.as_deref().or(s.amount.as_deref()) {
        Some(a) => Some(Amount::parse_decimal(a, currency)?),
        None => None,
    };
    Ok(TransactionStatus {
        order_id: mer_txnid.to_string(),
        transaction_id: s.pg_txnid.clone(),
        state: state_of(pay_status),
        amount,
        method: s.payment_type.or(s.card_type),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_only_names_its_order() {
        assert_eq!(order_of_callback(b"pay_status=Successful&mer_txnid=c-aam-1&amount=999999").unwrap(), "c-aam-1");
        assert!(order_of_callback(b"pay_status=Successful").is_err());
        assert!(order_of_callback(b"mer_txnid=a%20b").is_err());
    }

    #[test]
    fn statuses_read_leniently() {
        assert_eq!(state_of("Successful"), PaymentState::Paid);
        assert_eq!(state_of("Failed"), PaymentState::Failed);
        assert_eq!(state_of("Incomplete"), PaymentState::Pending);
    }
}
