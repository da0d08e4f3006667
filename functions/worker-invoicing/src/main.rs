// The invoicing handler's future nests deeply (billing, payments, wallets, provisioning); computing its layout
// from a cold build needs more than the default query depth.
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    isp_http::init_tracing();
    let app: &'static _ = Box::leak(Box::new(kernel::App::from_env().await?));
    lambda_runtime::run(service_fn(move |e: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| async move {
        Ok::<_, Error>(worker_invoicing::handle(app, e.payload).await)
    }))
    .await
}
