use aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    isp_http::init_tracing();
    let app: &'static _ = Box::leak(Box::new(kernel::App::from_env().await?));
    lambda_runtime::run(service_fn(move |e: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
        Ok::<_, Error>(ws_connections::handle(app, e.payload).await)
    }))
    .await
}
