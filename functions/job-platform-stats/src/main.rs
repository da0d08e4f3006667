use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    isp_http::init_tracing();
    let app: &'static _ = Box::leak(Box::new(kernel::App::from_env().await?));
    lambda_runtime::run(service_fn(move |e: LambdaEvent<CloudWatchEvent<serde_json::Value>>| async move {
        job_platform_stats::handle(app, e.payload).await.map_err(Error::from)
    }))
    .await
}
