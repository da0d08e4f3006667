use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    isp_http::init_tracing();
    let p: &'static _ = Box::leak(Box::new(stream_publisher::Publisher::from_env().await?));
    lambda_runtime::run(service_fn(move |e: LambdaEvent<aws_lambda_events::event::dynamodb::Event>| async move {
        Ok::<_, Error>(stream_publisher::handle(p, e.payload).await)
    }))
    .await
}
