//! `worker-imports`: one queue message is one chunk of a job, an import's or a bulk action's.

use crate::chunks::{ChunkReport, JobRecord};
use domain::{Error, Result};
use kernel::App;
use kernel::support::{StoreResultExt, decoded};
use store::keys;
use uuid::Uuid;

/// Applies one chunk of a job (job and chunk read in one BatchGetItem). Safe to run again: rows
/// with a marker are skipped, and a row's marker is written in the row's own transaction.
pub async fn process_chunk(app: &App, tid: Uuid, job_id: Uuid, chunk_no: u32) -> Result<ChunkReport> {
    let jk = keys::job(tid, job_id);
    let ck = keys::job_chunk(tid, job_id, chunk_no);
    let mut got = app.store.batch_get(&[&jk, &ck]).await.or_500()?.into_iter();
    let job: JobRecord = decoded(got.next().flatten())?.ok_or_else(|| Error::not_found("import"))?;
    let chunk = got.next().flatten();
    let report = if job.action.is_some() {
        crate::bulk::apply_chunk(app, &job, chunk_no).await?
    } else {
        crate::imports::apply_chunk(app, &job, chunk_no, chunk).await?
    };
    // The chunk's progress, for whoever started the job (pushed live); a redelivered chunk that
    // applied nothing new tells nothing.
    if report.imported + report.failed == 0 {
        return Ok(report);
    }
    let mut tx = store::Tx::new();
    tx.put_event(&domain::event::DomainEvent::new(
        domain::event::CrmEvent::ImportProgressed,
        Some(tid),
        serde_json::json!({
            "job_id": job.id,
            "kind": if job.action.is_some() { "bulk" } else { "import" },
            "chunk": chunk_no,
            "chunks": job.chunks,
            "total_rows": job.total_rows,
            "imported": report.imported,
            "failed": report.failed,
            "skipped": report.skipped,
            "started_by": job.started_by.user_id(),
        }),
        app.now(),
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(report)
}
