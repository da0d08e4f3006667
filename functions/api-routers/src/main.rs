#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    isp_http::init_tracing();
    // Live router operations go to the provisioning function (the only one in the routers' VPC).
    let live = kernel::live::LambdaInvoke::from_env().await.map(|l| std::sync::Arc::new(l) as _);
    let app = kernel::App::from_env().await?.with_live(live);
    isp_http::serve(app, api_routers::handle).await
}
