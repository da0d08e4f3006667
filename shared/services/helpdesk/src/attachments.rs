//! Ticket attachments: files kept in S3 (moto locally), uploaded and downloaded by the client
//! straight to and from S3 with presigned URLs, so no file passes through a function. An upload
//! is asked for first (name, type, size: the types and size allowed are checked, the URL signs
//! the type and length), then cited by a message: the object must be there, of the size and type
//! declared, before the message is written. A download is signed for 5 minutes, for whoever may
//! read the message it belongs to (a subscriber never gets an internal note's file).

use aws_sdk_s3::presigning::PresigningConfig;
use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::portal::Subscriber;
use domain::role::Permission;
use domain::ticket::{Ticket, TicketMessage};
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::support::{StoreResultExt, decoded};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use store::{Conflict, Store, Tx, keys};
use uuid::Uuid;

/// The largest file a ticket takes.
pub const MAX_BYTES: u64 = 10 * 1024 * 1024;
/// What a ticket takes: photos of a router's lights, screenshots, PDFs, text.
pub const TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp", "application/pdf", "text/plain"];
/// Each message cites at most this many files.
pub const MAX_PER_MESSAGE: usize = 5;
const UPLOAD_FOR: Duration = Duration::from_secs(15 * 60);
const DOWNLOAD_FOR: Duration = Duration::from_secs(5 * 60);

use kernel::objects::{s3, s3_err};

fn bucket(app: &App) -> Result<&str> {
    if app.attachments_bucket.is_empty() {
        return Err(Error::Unavailable { detail: "attachments are not configured (ATTACHMENTS_BUCKET)".into() });
    }
    Ok(&app.attachments_bucket)
}

/// An attachment of a ticket: asked for, then cited by one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    /// Who asked for it: a user, or the subscriber (its customer id).
    pub uploaded_by: Uuid,
    /// The message that cites it (None: not cited yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<Uuid>,
    /// The message is an internal note: never to the subscriber.
    #[serde(default)]
    pub internal: bool,
    pub created_at: DateTime<Utc>,
}

fn object_key(a: &Attachment) -> String {
    format!("tickets/{}/{}/{}", a.tenant_id, a.ticket_id, a.id)
}

/// `POST .../attachments`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAttachment {
    pub file_name: String,
    pub content_type: String,
    /// Bytes (at most 10 MB).
    pub size: u64,
}

/// Where to PUT the file, with the headers the URL was signed with.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Upload {
    pub attachment_id: Uuid,
    pub method: String,
    pub url: String,
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// A signed download.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Download {
    pub attachment_id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

fn clean_name(v: &mut Validation, name: &str) -> String {
    let n = v.text("file_name", name, 120);
    if n.chars().any(|c| c.is_control() || c == '/' || c == '\\' || c == '"') {
        v.add("file_name", "must be a plain file name");
    }
    n
}

async fn ask_upload(app: &App, ticket: &Ticket, uploaded_by: Uuid, input: NewAttachment) -> Result<Upload> {
    let mut v = Validation::new();
    let file_name = clean_name(&mut v, &input.file_name);
    let content_type = input.content_type.trim().to_ascii_lowercase();
    if !TYPES.contains(&content_type.as_str()) {
        v.add("content_type", format!("must be one of {}", TYPES.join(", ")));
    }
    if !(1..=MAX_BYTES).contains(&input.size) {
        v.add("size", format!("must be 1 to {MAX_BYTES} bytes"));
    }
    v.finish()?;
    let bucket = bucket(app)?;
    let now = app.now();
    let a = Attachment {
        id: ids::new_id(),
        tenant_id: ticket.tenant_id,
        ticket_id: ticket.id,
        file_name,
        content_type: content_type.clone(),
        size: input.size,
        uploaded_by,
        message_id: None,
        internal: false,
        created_at: now,
    };
    let signed = s3()
        .await
        .put_object()
        .bucket(bucket)
        .key(object_key(&a))
        .content_type(&content_type)
        .content_length(input.size as i64)
        .presigned(PresigningConfig::builder().start_time(now.into()).expires_in(UPLOAD_FOR).build().map_err(s3_err)?)
        .await
        .map_err(s3_err)?;
    let mut item =
        Store::encode(&keys::ticket_attachment(a.tenant_id, a.ticket_id, a.id), "TICKET_ATTACHMENT", &a, None)
            .or_500()?;
    // An upload never cited is forgotten after a day (its object by the bucket's lifecycle).
    item.insert("ttl".into(), store::ttl_at(now + chrono::Duration::days(1)));
    app.store.put(item).await.or_500()?;
    Ok(Upload {
        attachment_id: a.id,
        method: "PUT".into(),
        url: signed.uri().to_string(),
        headers: signed.headers().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        expires_at: now + chrono::Duration::from_std(UPLOAD_FOR).expect("short"),
    })
}

/// `POST /v1/tickets/{id}/attachments`: staff's upload on a ticket in their view.
pub async fn upload_for_staff(app: &App, actor: &Actor, ticket_id: Uuid, input: NewAttachment) -> Result<Upload> {
    let t = crate::tickets::load_visible(app, actor, ticket_id, Permission::TicketsWrite).await?;
    open_for_files(&t)?;
    ask_upload(app, &t, actor.user_id, input).await
}

/// `POST /v1/portal/tickets/{id}/attachments`: the subscriber's upload on its own ticket.
pub async fn upload_for_subscriber(app: &App, s: Subscriber, ticket_id: Uuid, input: NewAttachment) -> Result<Upload> {
    let t = crate::tickets::own_ticket(app, s, ticket_id).await?;
    open_for_files(&t)?;
    ask_upload(app, &t, s.customer_id, input).await
}

fn open_for_files(t: &Ticket) -> Result<()> {
    if t.state.status == domain::ticket::TicketStatus::Closed {
        return Err(Error::Conflict {
            code: "ticket_state",
            detail: "the ticket is closed: open a new one".into(),
            field: None,
        });
    }
    Ok(())
}

/// The uploads a message cites: each of this ticket, asked for by its author, not cited yet, and
/// in S3 as declared (a HeadObject each, at once).
pub async fn check_cited(app: &App, ticket: &Ticket, author: Uuid, wanted: &[Uuid]) -> Result<Vec<Attachment>> {
    if wanted.is_empty() {
        return Ok(vec![]);
    }
    let mut unique = wanted.to_vec();
    unique.sort();
    unique.dedup();
    if unique.len() != wanted.len() || wanted.len() > MAX_PER_MESSAGE {
        return Err(Error::field("attachment_ids", format!("at most {MAX_PER_MESSAGE} different uploads")));
    }
    let ks: Vec<store::ItemKeys> =
        wanted.iter().map(|a| keys::ticket_attachment(ticket.tenant_id, ticket.id, *a)).collect();
    let found = app.store.batch_get(&ks.iter().collect::<Vec<_>>()).await.or_500()?;
    let mut out = Vec::new();
    for (id, item) in wanted.iter().zip(found) {
        match decoded::<Attachment>(item)? {
            Some(a) if a.message_id.is_none() && a.uploaded_by == author => out.push(a),
            _ => return Err(Error::field("attachment_ids", format!("{id} is not an upload of yours on this ticket"))),
        }
    }
    let bucket = bucket(app)?;
    let heads = futures::future::join_all(out.iter().map(|a| head(bucket, object_key(a)))).await;
    for (a, head) in out.iter().zip(heads) {
        match head? {
            None => return Err(Error::field("attachment_ids", format!("{} was not uploaded", a.id))),
            Some((len, ty))
                if len != a.size
                    || ty.as_deref().map(str::to_ascii_lowercase).as_deref() != Some(a.content_type.as_str()) =>
            {
                return Err(Error::field(
                    "attachment_ids",
                    format!("{} is not the file declared (size or type)", a.id),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(out)
}

/// The object's size and type, None when it is not there.
async fn head(bucket: &str, key: String) -> Result<Option<(u64, Option<String>)>> {
    match s3().await.head_object().bucket(bucket).key(key).send().await {
        Ok(h) => Ok(Some((h.content_length().unwrap_or(0).max(0) as u64, h.content_type().map(str::to_string)))),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
        Err(e) => Err(s3_err(aws_sdk_s3::error::DisplayErrorContext(e))),
    }
}

/// Marks the cited uploads as the message's, in its transaction (each only if still uncited).
pub fn stage_cited(tx: &mut Tx, cited: &[Attachment], message: &TicketMessage) {
    for a in cited {
        tx.update(
            &keys::ticket_attachment(a.tenant_id, a.ticket_id, a.id),
            "SET message_id = :m, internal = :i REMOVE #ttl",
            Some("attribute_exists(pk) AND attribute_not_exists(message_id)"),
            &[("#ttl", "ttl")],
            std::collections::HashMap::from([
                (":m".to_string(), kernel::support::attr(&message.id)),
                (":i".to_string(), kernel::support::attr(&message.internal)),
            ]),
            Conflict::Condition,
        );
    }
}

async fn sign_download(app: &App, a: Attachment) -> Result<Download> {
    let now = app.now();
    let disposition = format!("attachment; filename=\"{}\"", a.file_name);
    let signed = s3()
        .await
        .get_object()
        .bucket(bucket(app)?)
        .key(object_key(&a))
        .response_content_disposition(disposition)
        .response_content_type(&a.content_type)
        .presigned(PresigningConfig::builder().start_time(now.into()).expires_in(DOWNLOAD_FOR).build().map_err(s3_err)?)
        .await
        .map_err(s3_err)?;
    Ok(Download {
        attachment_id: a.id,
        file_name: a.file_name,
        content_type: a.content_type,
        size: a.size,
        url: signed.uri().to_string(),
        expires_at: now + chrono::Duration::from_std(DOWNLOAD_FOR).expect("short"),
    })
}

async fn cited(app: &App, t: &Ticket, id: Uuid) -> Result<Attachment> {
    decoded::<Attachment>(app.store.get_item(&keys::ticket_attachment(t.tenant_id, t.id, id)).await.or_500()?)?
        .filter(|a| a.message_id.is_some())
        .ok_or_else(|| Error::not_found("attachment"))
}

/// `GET /v1/tickets/{id}/attachments/{attachment_id}`: a file of a message on a ticket in the
/// caller's view, signed for 5 minutes.
pub async fn download_for_staff(app: &App, actor: &Actor, ticket_id: Uuid, id: Uuid) -> Result<Download> {
    let t = crate::tickets::load_visible(app, actor, ticket_id, Permission::TicketsRead).await?;
    sign_download(app, cited(app, &t, id).await?).await
}

/// `GET /v1/portal/tickets/{id}/attachments/{attachment_id}`: a file of a public message on the
/// subscriber's own ticket (an internal note's is not there).
pub async fn download_for_subscriber(app: &App, s: Subscriber, ticket_id: Uuid, id: Uuid) -> Result<Download> {
    let t = crate::tickets::own_ticket(app, s, ticket_id).await?;
    let a = cited(app, &t, id).await?;
    if a.internal {
        return Err(Error::not_found("attachment"));
    }
    sign_download(app, a).await
}
