use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    isp_http::init_tracing();
    let app = kernel::App::from_env().await?;
    let senders = notify::send::Senders::new(&app)?;
    let w: &'static _ =
        Box::leak(Box::new(worker_notifications::Worker { app, channel: messaging::LogChannel, senders }));
    lambda_runtime::run(service_fn(move |e: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| async move {
        Ok::<_, Error>(worker_notifications::handle(w, e.payload).await)
    }))
    .await
}
