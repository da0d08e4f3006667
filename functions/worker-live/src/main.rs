// The runtime's future around the push (the SDK's client, the Lambda runtime) nests deeply; computing its
// layout from a cold build needs more than the default query depth.
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    isp_http::init_tracing();
    let app = kernel::App::from_env().await?;
    let endpoint = std::env::var("WEBSOCKET_ENDPOINT").map_err(|_| "WEBSOCKET_ENDPOINT is not set")?;
    let worker: &'static _ =
        Box::leak(Box::new(worker_live::Worker::new(app, &store::aws_config_from_env().await, &endpoint)));
    lambda_runtime::run(service_fn(move |e: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| async move {
        Ok::<_, Error>(worker_live::handle(worker, e.payload).await)
    }))
    .await
}
