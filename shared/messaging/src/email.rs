//! E-mail through Amazon SES (the v2 API, `SendEmail`): plain text, or a MIME message with
//! attachments (an invoice's PDF) sent raw. The SDK client comes from the caller (its endpoint is
//! moto's locally); the sender address is an identity verified in SES. Bangla subjects and names
//! travel as RFC 2047 encoded words, bodies as UTF-8 in base64.

use crate::channel::{Channel, Message};
use crate::error::{PermanentReason, SendError};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, RawMessage};
use base64::Engine;
use domain::work::WorkError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub attachments: Vec<Attachment>,
}

/// Sends e-mail from one verified address.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    pub from: String,
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A header value: as is when it is plain ASCII, else an RFC 2047 encoded word.
fn header_text(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        s.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", b64(s.as_bytes()))
    }
}

/// Base64 cut into lines of 76 characters, as MIME wants.
fn wrapped(data: &[u8]) -> String {
    let encoded = b64(data);
    encoded.as_bytes().chunks(76).map(|l| String::from_utf8_lossy(l).into_owned()).collect::<Vec<_>>().join("\r\n")
}

/// The whole message as MIME (multipart/mixed: the text, then each attachment).
pub fn mime(from: &str, email: &Email, boundary: &str) -> String {
    let mut out = format!(
        "From: {from}\r\nTo: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n",
        email.to,
        header_text(&email.subject)
    );
    out.push_str(&format!(
        "--{boundary}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        wrapped(email.text.as_bytes())
    ));
    for a in &email.attachments {
        let name: String =
            a.filename.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: {}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            a.content_type,
            wrapped(&a.data)
        ));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

impl SesMailer {
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> SesMailer {
        SesMailer { client, from: from.into() }
    }

    /// Sends one e-mail; SES's message id.
    pub async fn send_email(&self, email: &Email) -> Result<String, SendError> {
        let destination = Destination::builder().to_addresses(&email.to).build();
        let content = if email.attachments.is_empty() {
            let text = Content::builder().data(&email.text).charset("UTF-8").build().map_err(build_error)?;
            let subject = Content::builder().data(&email.subject).charset("UTF-8").build().map_err(build_error)?;
            EmailContent::builder()
                .simple(
                    aws_sdk_sesv2::types::Message::builder()
                        .subject(subject)
                        .body(Body::builder().text(text).build())
                        .build(),
                )
                .build()
        } else {
            let boundary = format!("isp-{}", uuid::Uuid::now_v7().simple());
            let raw = RawMessage::builder()
                .data(Blob::new(mime(&self.from, email, &boundary).into_bytes()))
                .build()
                .map_err(build_error)?;
            EmailContent::builder().raw(raw).build()
        };
        let sent = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(destination)
            .content(content)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(out.message_id.unwrap_or_default()),
            Err(e) => Err(ses_error(e)),
        }
    }
}

fn build_error(e: aws_sdk_sesv2::error::BuildError) -> SendError {
    SendError::permanent(PermanentReason::Rejected, e.to_string())
}

/// SES's answers by what may be done next: a refused message or sender is final, throttling
/// waits, a request with no answer may have been sent.
fn ses_error(e: aws_sdk_sesv2::error::SdkError<aws_sdk_sesv2::operation::send_email::SendEmailError>) -> SendError {
    use aws_sdk_sesv2::error::SdkError;
    use aws_sdk_sesv2::operation::send_email::SendEmailError as E;
    let detail = aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string();
    match &e {
        SdkError::ServiceError(s) => match s.err() {
            E::TooManyRequestsException(_) | E::LimitExceededException(_) => SendError::retry(detail),
            E::MessageRejected(_) | E::BadRequestException(_) | E::NotFoundException(_) => {
                SendError::permanent(PermanentReason::Rejected, detail)
            }
            E::MailFromDomainNotVerifiedException(_)
            | E::AccountSuspendedException(_)
            | E::SendingPausedException(_) => SendError::permanent(PermanentReason::SenderRejected, detail),
            _ if s.raw().status().as_u16() >= 500 => SendError::retry(detail),
            _ => SendError::permanent(PermanentReason::Rejected, detail),
        },
        SdkError::ConstructionFailure(_) => SendError::permanent(PermanentReason::Rejected, detail),
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => SendError::Unknown { detail },
        SdkError::DispatchFailure(_) => SendError::retry(detail),
        _ => SendError::Unknown { detail },
    }
}

/// Staff e-mails (password reset codes, notices to resellers) through SES.
impl Channel for SesMailer {
    async fn send(&self, m: &Message) -> Result<(), WorkError> {
        let email = Email { to: m.to.clone(), subject: m.subject.clone(), text: m.body.clone(), attachments: vec![] };
        match self.send_email(&email).await {
            Ok(id) => {
                tracing::info!(to = %m.to, ses_message_id = %id, "e-mail sent");
                Ok(())
            }
            Err(e @ SendError::Permanent { .. }) => Err(WorkError::Drop(e.to_string())),
            Err(e) => Err(WorkError::Retry(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_carries_bangla_and_the_attachment() {
        let email = Email {
            to: "rahim@example.com".into(),
            subject: "বিল INV-2026-000123".into(),
            text: "প্রিয় রহিম, আপনার বিল সংযুক্ত।".into(),
            attachments: vec![Attachment {
                filename: "INV-2026-000123.pdf".into(),
                content_type: "application/pdf".into(),
                data: b"%PDF-1.7 test".to_vec(),
            }],
        };
        let m = mime("billing@isp.example", &email, "b1");
        assert!(m.contains("Subject: =?UTF-8?B?"));
        let subject = m.lines().find(|l| l.starts_with("Subject: ")).unwrap();
        let encoded = subject.trim_start_matches("Subject: =?UTF-8?B?").trim_end_matches("?=");
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), email.subject);
        assert!(m.contains("Content-Disposition: attachment; filename=\"INV-2026-000123.pdf\""));
        assert!(m.contains(&b64(b"%PDF-1.7 test")));
        assert!(m.ends_with("--b1--\r\n"));
        assert!(m.lines().all(|l| l.len() <= 998), "no line longer than SMTP allows");
        assert_eq!(header_text("Invoice"), "Invoice");
    }
}
