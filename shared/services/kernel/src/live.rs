//! The port through which API functions reach routers: only `worker-provisioning` sits in the
//! routers' VPC, so an API function sends a [`LiveRequest`] to it through a synchronous invoke
//! ([`LiveTransport`]) and maps the [`LiveAnswer`]. The API gives the whole trip 5 seconds (504
//! `router_timeout` after that); the worker gives the router 4.5 so that its own, more precise
//! answer (502 `router_unreachable`, `router_login_failed`...) normally arrives first. The
//! transports: [`LambdaInvoke`] on AWS, `provisioning::answer::InProcess` locally.

use domain::live::{API_DEADLINE, LiveAnswer, LiveFailure, LiveReply, LiveRequest};
use domain::work::WorkError;
use domain::{Error, Result};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub type LiveFuture<'a> = Pin<Box<dyn Future<Output = std::result::Result<LiveAnswer, WorkError>> + Send + 'a>>;

/// How an API function reaches the provisioning function. `Err` means the call itself failed (not
/// the router): `Retry` when trying again may help (the function could not be reached, crashed or
/// timed out), `Drop` when it cannot (an answer that is not one: a bug).
pub trait LiveTransport: Send + Sync {
    fn call<'a>(&'a self, request: &'a LiveRequest) -> LiveFuture<'a>;
}

/// The transport an [`App`](crate::App) uses for live operations (none: they answer 503).
#[derive(Clone)]
pub struct LiveRouters(pub Arc<dyn LiveTransport>);

impl std::fmt::Debug for LiveRouters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveRouters")
    }
}

/// A synchronous `Invoke` of the provisioning function (on AWS).
#[cfg(feature = "lambda-invoke")]
pub struct LambdaInvoke {
    pub client: aws_sdk_lambda::Client,
    pub function: String,
}

#[cfg(feature = "lambda-invoke")]
impl LambdaInvoke {
    /// From `PROVISIONING_FUNCTION` (the template sets it); `None` when it is not set.
    pub async fn from_env() -> Option<LambdaInvoke> {
        let function = std::env::var("PROVISIONING_FUNCTION").ok().filter(|f| !f.is_empty())?;
        let config = store::aws_config_from_env().await;
        Some(LambdaInvoke { client: aws_sdk_lambda::Client::new(&config), function })
    }
}

#[cfg(feature = "lambda-invoke")]
impl LiveTransport for LambdaInvoke {
    fn call<'a>(&'a self, request: &'a LiveRequest) -> LiveFuture<'a> {
        Box::pin(async move {
            let payload = serde_json::to_vec(request).map_err(WorkError::drop)?;
            let out = self
                .client
                .invoke()
                .function_name(&self.function)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload))
                .send()
                .await
                .map_err(|e| WorkError::Retry(format!("invoke {}: {e}", self.function)))?;
            let body = out.payload.map(|b| b.into_inner()).unwrap_or_default();
            parse_invoke_answer(out.function_error.as_deref(), &body)
        })
    }
}

/// The invoke's result: the function's JSON answer, or its error (a crash, a timeout of the
/// function itself), which the API reports as unavailable rather than blaming the router.
pub fn parse_invoke_answer(function_error: Option<&str>, body: &[u8]) -> std::result::Result<LiveAnswer, WorkError> {
    if let Some(kind) = function_error {
        let body = String::from_utf8_lossy(body);
        return Err(WorkError::Retry(format!("provisioning function failed ({kind}): {body}")));
    }
    serde_json::from_slice(body)
        .map_err(|e| WorkError::Drop(format!("provisioning function answered something else: {e}")))
}

impl LiveRouters {
    /// Sends a live operation to the provisioning function and waits up to [`API_DEADLINE`].
    pub async fn call(&self, request: LiveRequest) -> Result<LiveReply> {
        match tokio::time::timeout(API_DEADLINE, self.0.call(&request)).await {
            Err(_) => Err(Error::GatewayTimeout {
                code: "router_timeout",
                detail: format!("the router did not answer within {} s", API_DEADLINE.as_secs()),
            }),
            Ok(Err(WorkError::Retry(e))) => {
                tracing::error!(error = %e, "live router operation could not reach the provisioning function");
                Err(Error::Unavailable { detail: "the provisioning function cannot be reached; try again".into() })
            }
            Ok(Err(WorkError::Drop(e))) => Err(Error::Internal(format!("live router operation: {e}"))),
            Ok(Ok(answer)) => answer.map_err(LiveFailure::into_error),
        }
    }
}

/// A reply of the wrong kind for its request (a bug, not the router).
pub fn unexpected(reply: LiveReply) -> Error {
    Error::Internal(format!("live operation answered with the wrong kind: {reply:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_answers() {
        let ok = serde_json::to_vec(&LiveAnswer::Err(LiveFailure::timeout())).unwrap();
        assert_eq!(parse_invoke_answer(None, &ok).unwrap(), Err(LiveFailure::timeout()));
        let crashed = parse_invoke_answer(Some("Unhandled"), b"{\"errorMessage\":\"boom\"}").unwrap_err();
        assert!(crashed.is_retry() && crashed.to_string().contains("boom"), "{crashed:?}");
        assert!(!parse_invoke_answer(None, b"not json").unwrap_err().is_retry(), "a garbled answer is a bug");
    }
}
