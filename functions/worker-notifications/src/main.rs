// The notification handler's future nests deeply (every channel, webhooks, alerts); computing its layout from a
// cold build needs more than the default query depth.
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    isp_http::init_tracing();
    let app = kernel::App::from_env().await?;
    let from = std::env::var("SES_FROM_ADDRESS").unwrap_or_default();
    let mut senders = notify::send::Senders::new(&app)?;
    let channel = if from.is_empty() {
        worker_notifications::StaffMail::Log(messaging::LogChannel)
    } else {
        senders = senders.with_email(&from).await;
        worker_notifications::StaffMail::Ses(senders.email.clone().expect("just configured"))
    };
    let w: &'static _ = Box::leak(Box::new(worker_notifications::Worker { app, channel, senders }));
    lambda_runtime::run(service_fn(move |e: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| async move {
        Ok::<_, Error>(worker_notifications::handle(w, e.payload).await)
    }))
    .await
}
