//! A notice to a customer by e-mail: the notice's text in the customer's language, a subject
//! naming the ISP and the document, and for an invoice's notices the invoice's PDF (as
//! `GET /v1/invoices/{id}/pdf` renders it). Sent through SES where the process has it (the
//! notifications worker); elsewhere such a message is refused for good, never half-sent.

use crate::messages::Message;
use crate::send::{Senders, Sent};
use kernel::App;
use messaging::SendError;

/// The e-mail's subject: the ISP, what it is about, the invoice's number when there is one.
#[cfg_attr(not(feature = "email"), allow(dead_code))]
fn subject(isp: &str, msg: &Message, number: Option<&str>) -> String {
    let what = msg.notice.map_or("Message", |n| match n {
        messaging::notices::Notice::InvoiceIssued => "Invoice",
        messaging::notices::Notice::PaymentReminder => "Payment reminder",
        messaging::notices::Notice::PaymentOverdue => "Payment overdue",
        messaging::notices::Notice::PaymentReceived => "Payment received",
        messaging::notices::Notice::SubscriptionSuspended => "Service suspended",
        messaging::notices::Notice::SubscriptionRestored => "Service restored",
        messaging::notices::Notice::SubscriptionExpiring => "Service expiring",
        _ => "Message",
    });
    match number {
        Some(n) => format!("{isp}: {what} {n}"),
        None => format!("{isp}: {what}"),
    }
}

#[cfg(feature = "email")]
pub(crate) async fn send(app: &App, senders: &Senders, msg: &Message) -> Result<Sent, SendError> {
    use kernel::support::StoreResultExt;
    use messaging::email::{Attachment, Email};
    let Some(mailer) = &senders.email else {
        return Err(refused("this process sends no e-mail"));
    };
    let retry = |e: domain::Error| SendError::Retryable { detail: e.to_string(), retry_after: None };
    let tenant = kernel::support::load_tenant(app, msg.tenant_id).await.map_err(retry)?;
    let mut attachments = vec![];
    let mut number = None;
    if let (Some(iid), Some(cid)) = (msg.invoice_id, msg.customer_id) {
        let ik = store::keys::invoice(msg.tenant_id, cid, iid, None, None, None);
        let ck = store::keys::customer(msg.tenant_id, cid, None);
        let got = app.store.batch_get(&[&ik, &ck]).await.or_500().map_err(retry)?;
        let invoice: Option<domain::invoice::Invoice> = kernel::support::decoded(got[0].clone()).map_err(retry)?;
        let customer: Option<crm::customers::CustomerRecord> =
            kernel::support::decoded(got[1].clone()).map_err(retry)?;
        if let (Some(inv), Some(c)) = (invoice, customer) {
            let pdf = billing::invoice_pdf::render(&tenant, &c.customer, &inv).map_err(retry)?;
            let name = format!("{}.pdf", inv.number.clone().unwrap_or_else(|| inv.id.to_string()));
            number = inv.number.clone();
            attachments.push(Attachment { filename: name, content_type: "application/pdf".into(), data: pdf });
        }
    }
    let email = Email {
        to: msg.recipient.clone(),
        subject: subject(&tenant.name, msg, number.as_deref()),
        text: msg.text.clone(),
        attachments,
    };
    let id = mailer.send_email(&email).await?;
    Ok(Sent { provider_message_id: Some(id), parts: None, cost: None })
}

#[cfg(not(feature = "email"))]
pub(crate) async fn send(_app: &App, _senders: &Senders, _msg: &Message) -> Result<Sent, SendError> {
    Err(refused("this process sends no e-mail"))
}

fn refused(detail: &str) -> SendError {
    SendError::Permanent { reason: messaging::PermanentReason::Rejected, detail: detail.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_the_isp_and_the_document() {
        let mut m: Message = serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::nil(), "tenant_id": uuid::Uuid::nil(), "notice": "invoice_issued", "event_id": null,
            "medium": "email", "channel_id": null, "provider": null, "customer_id": null, "scope": null,
            "recipient": "a@b.example", "language": "en", "text": "x", "encoding": null, "parts": 1, "cost": null,
            "currency": "BDT", "provider_cost": null, "status": "sending", "send_at": "2026-06-15T06:00:00Z",
            "attempts": 0, "unknown_attempts": 0, "provider_message_id": null, "error_code": null,
            "error_detail": null, "sent_at": null, "delivered_at": null, "created_at": "2026-06-15T06:00:00Z",
            "updated_at": "2026-06-15T06:00:00Z", "version": 1
        }))
        .unwrap();
        assert_eq!(subject("Demo ISP", &m, Some("INV-2026-000001")), "Demo ISP: Invoice INV-2026-000001");
        m.notice = None;
        assert_eq!(subject("Demo ISP", &m, None), "Demo ISP: Message");
    }
}
