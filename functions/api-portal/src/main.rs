#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    isp_http::init_tracing();
    // A subscriber's live session comes from the provisioning function (the one in the routers' VPC).
    let live = kernel::live::LambdaInvoke::from_env().await.map(|l| std::sync::Arc::new(l) as _);
    let app = kernel::App::from_env().await?.with_live(live);
    isp_http::serve(app, api_portal::handle).await
}
