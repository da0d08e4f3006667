//! Objects in S3 (moto locally): ticket attachments, router configuration backups. One client per
//! container, from the environment (`AWS_ENDPOINT_URL` points it at moto, which wants path-style
//! addresses).

use domain::{Error, Result};
use tokio::sync::OnceCell;

static CLIENT: OnceCell<aws_sdk_s3::Client> = OnceCell::const_new();

pub async fn s3() -> &'static aws_sdk_s3::Client {
    CLIENT
        .get_or_init(|| async {
            let shared = store::aws_config_from_env().await;
            let conf = aws_sdk_s3::config::Builder::from(&shared).force_path_style(true).build();
            aws_sdk_s3::Client::from_conf(conf)
        })
        .await
}

/// File storage failed: the caller may try again.
pub fn s3_err(e: impl std::fmt::Display) -> Error {
    Error::Unavailable { detail: format!("file storage: {e}") }
}

/// The bucket, created when it is not there (the local runner's; a deployment's comes from the
/// template), with versioning when asked (a backup overwritten or deleted by mistake comes back).
pub async fn ensure_bucket(name: &str, versioned: bool) -> std::result::Result<(), String> {
    let client = s3().await;
    match client.create_bucket().bucket(name).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()) => {}
        Err(e) => return Err(format!("bucket {name}: {}", aws_sdk_s3::error::DisplayErrorContext(e))),
    }
    if versioned {
        use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
        client
            .put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
            )
            .send()
            .await
            .map_err(|e| format!("bucket {name} versioning: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    }
    Ok(())
}

/// Puts an object; its version id when the bucket keeps versions.
pub async fn put(bucket: &str, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<Option<String>> {
    let out = s3()
        .await
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(bytes.into())
        .send()
        .await
        .map_err(|e| s3_err(aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(out.version_id().map(str::to_string))
}

/// An object's bytes (a given version of it, when named); `None` when it is not there.
pub async fn get(bucket: &str, key: &str, version: Option<&str>) -> Result<Option<Vec<u8>>> {
    let out = s3().await.get_object().bucket(bucket).key(key).set_version_id(version.map(str::to_string)).send().await;
    match out {
        Ok(o) => {
            let body = o.body.collect().await.map_err(s3_err)?;
            Ok(Some(body.into_bytes().to_vec()))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) => Err(s3_err(aws_sdk_s3::error::DisplayErrorContext(e))),
    }
}

/// Deletes an object: the given version for good, or (no version) behind a delete marker in a
/// versioned bucket.
pub async fn delete(bucket: &str, key: &str, version: Option<&str>) -> Result<()> {
    let client = s3().await;
    client
        .delete_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_string))
        .send()
        .await
        .map_err(|e| s3_err(aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(())
}
