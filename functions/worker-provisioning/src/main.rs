// The provisioning future nests deeply (SDK calls inside pipelined router work).
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    isp_http::init_tracing();
    let app = kernel::App::from_env().await?;
    let sqs = aws_sdk_sqs::Client::new(&store::aws_config_from_env().await);
    let retry = worker_provisioning::Retry::from_env(sqs);
    let worker: &'static _ = Box::leak(Box::new(worker_provisioning::Worker::new(app, retry)));
    // SQS batches and live operations (synchronous invokes from the API functions) alike.
    lambda_runtime::run(service_fn(move |e: LambdaEvent<serde_json::Value>| async move {
        worker.invoke(e.payload).await.map_err(Error::from)
    }))
    .await
}
