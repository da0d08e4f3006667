//! `Idempotency-Key`: the first answer is stored in the same transaction as the change it reports,
//! so a repeat (also a concurrent one) returns that answer and never executes twice.

use crate::App;
use crate::support::StoreResultExt;
use domain::actor::Actor;
use domain::{Error, Result};
use store::tx::IdempotencyRecord;
use store::{Conflict, Owner, StoreError};
use uuid::Uuid;

pub use domain::idempotency::{IdempotentRequest, Outcome};

pub fn record(
    req: &IdempotentRequest,
    status: u16,
    body: &impl serde::Serialize,
    app: &App,
) -> Result<IdempotencyRecord> {
    Ok(IdempotencyRecord {
        fingerprint: req.fingerprint.clone(),
        status,
        body: serde_json::to_string(body).map_err(|e| Error::Internal(e.to_string()))?,
        created_at: app.now(),
    })
}

/// The stored answer for a key whose transaction lost to an earlier one.
pub async fn replay<T>(app: &App, owner: Owner, caller: Uuid, req: &IdempotentRequest) -> Result<Outcome<T>> {
    let k = store::keys::idempotency(owner, &req.key_hash(caller));
    let rec: IdempotencyRecord =
        app.store.get(&k).await.or_500()?.ok_or_else(|| Error::Internal("idempotency record vanished".into()))?;
    if rec.fingerprint != req.fingerprint {
        return Err(Error::Unprocessable {
            code: "idempotency_key_reused",
            detail: "this Idempotency-Key was used for a different request".into(),
        });
    }
    Ok(Outcome::Replay { status: rec.status, body: rec.body })
}

/// Commits a create that may carry an `Idempotency-Key` (its record is already in `tx`): a repeat
/// that lost the race answers with the first request's stored answer.
pub async fn commit_create<T>(
    app: &App,
    tx: store::Tx,
    owner: Owner,
    caller: Uuid,
    idem: Option<&IdempotentRequest>,
    created: T,
) -> Result<Outcome<T>> {
    match app.store.commit(tx).await {
        Ok(()) => Ok(Outcome::Fresh(created)),
        Err(store::StoreError::Conflict(store::Conflict::Idempotency)) if idem.is_some() => {
            replay(app, owner, caller, idem.expect("checked")).await
        }
        Err(e) => Err(crate::support::store_err(e)),
    }
}

/// The stored answer of an earlier request with this key, if there is one: for changes whose rules
/// would refuse a repeat (a second "activate") before the transaction could recognise it.
pub async fn stored_answer<T>(
    app: &App,
    owner: Owner,
    caller: Uuid,
    req: &IdempotentRequest,
) -> Result<Option<Outcome<T>>> {
    let k = store::keys::idempotency(owner, &req.key_hash(caller));
    let found: Option<IdempotencyRecord> = app.store.get(&k).await.or_500()?;
    match found {
        None => Ok(None),
        Some(rec) if rec.fingerprint != req.fingerprint => Err(Error::Unprocessable {
            code: "idempotency_key_reused",
            detail: "this Idempotency-Key was used for a different request".into(),
        }),
        Some(rec) => Ok(Some(Outcome::Replay { status: rec.status, body: rec.body })),
    }
}

/// One try of a money write: read, decide, commit.
pub enum Attempt {
    /// Something it read moved (the account, an invoice, a sequence): read again.
    Stale,
    /// The idempotency key was used by an earlier request.
    Idempotent,
    Failed(Error),
}

impl From<Error> for Attempt {
    fn from(e: Error) -> Self {
        Attempt::Failed(e)
    }
}

/// What a money write's commit failure means for the attempt.
pub fn attempt_failed(e: StoreError) -> Attempt {
    match e {
        StoreError::Conflict(Conflict::Idempotency) => Attempt::Idempotent,
        StoreError::Conflict(Conflict::Version) => Attempt::Stale,
        e => Attempt::Failed(crate::support::store_err(e)),
    }
}

/// The `Idempotency-Key` every money write requires.
pub fn require_key<'a>(idem: Option<&'a IdempotentRequest>, what: &str) -> Result<&'a IdempotentRequest> {
    idem.ok_or_else(|| Error::BadRequest {
        code: "idempotency_key_required",
        detail: format!("send an Idempotency-Key header with every {what}"),
    })
}

/// Runs a money write under its `Idempotency-Key`: a repeat gets the first answer, and a write
/// that read something that moved is tried again from scratch (up to 6 times).
pub async fn idempotent_money_write<T, F, Fut>(
    app: &App,
    actor: &Actor,
    idem: &IdempotentRequest,
    attempt: F,
) -> Result<Outcome<T>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, Attempt>>,
{
    idempotent_money_write_tries(app, actor, idem, 6, attempt).await
}

/// The same, with `tries` attempts (a hot account many writers share needs more).
pub async fn idempotent_money_write_tries<T, F, Fut>(
    app: &App,
    actor: &Actor,
    idem: &IdempotentRequest,
    tries: u32,
    attempt: F,
) -> Result<Outcome<T>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, Attempt>>,
{
    let owner = Owner::Tenant(actor.tenant()?);
    if let Some(first) = stored_answer(app, owner, actor.user_id, idem).await? {
        return Ok(first);
    }
    for _ in 0..tries {
        match attempt().await {
            Err(Attempt::Stale) => continue,
            Err(Attempt::Idempotent) => return replay(app, owner, actor.user_id, idem).await,
            Err(Attempt::Failed(e)) => return Err(e),
            Ok(v) => return Ok(Outcome::Fresh(v)),
        }
    }
    Err(Error::version_conflict())
}
