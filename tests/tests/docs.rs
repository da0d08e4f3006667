//! `/docs`: the API reference page, Redoc (vendored) rendering the served OpenAPI document; nothing
//! is loaded from another host.

use e2e_tests::Env;

#[tokio::test]
async fn the_reference_page_renders_the_served_document_with_the_vendored_renderer() {
    let env = Env::start().await;
    let page = env.http.get(format!("{}/docs", env.local.base_url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<redoc spec-url="/v1/openapi.json">"#), "{html}");
    let script = html.split(r#"<script src=""#).nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
    assert!(script.starts_with("/docs/redoc.standalone.js"), "{script}");
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"),
        "nothing from elsewhere"
    );
    let js = env.http.get(format!("{}{script}", env.local.base_url)).send().await.unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.headers()["content-type"].to_str().unwrap().starts_with("application/javascript"));
    let body = js.text().await.unwrap();
    assert!(body.len() > 1_000_000 && body.contains("Redoc"), "the standalone bundle ({} bytes)", body.len());
    // The document the page renders has every portal route in it.
    let doc = env.send("GET", "/v1/openapi.json", None, None).await.expect(200);
    assert!(doc["paths"]["/v1/portal/me"].is_object());
}
