#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    isp_http::init_tracing();
    let app = kernel::App::from_env().await?;
    isp_http::serve(app, api_platform_analytics::handle).await
}
