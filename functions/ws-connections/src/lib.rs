//! `ws-connections`: the WebSocket API's routes. `$connect` (the access token in the `token` query
//! parameter: a browser cannot set a header on a WebSocket) registers the connection, refused with
//! 401/403 before the socket opens; `$disconnect` forgets it; `$default` takes
//! `{"action": "renew", "token": "<fresh access token>"}` to go on past the first token's expiry.
//! What is pushed, and to whom, is `worker-live`'s.

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use domain::Error;
use kernel::App;

/// A message a client sends on the socket.
#[derive(Debug, serde::Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// A fresh access token of the same person: the connection goes on until it expires.
    Renew { token: String },
}

fn answer(status: u16, body: serde_json::Value) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = i64::from(status);
    r.body = Some(Body::Text(body.to_string()));
    r
}

fn refused(e: &Error) -> ApiGatewayProxyResponse {
    let p = isp_http::problem(e);
    answer(p.status, serde_json::to_value(&p).unwrap_or(serde_json::Value::Null))
}

pub async fn handle(app: &App, req: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
    let ctx = &req.request_context;
    let id = ctx.connection_id.clone().unwrap_or_default();
    let outcome = match ctx.route_key.as_deref() {
        Some("$connect") => {
            let token = req.query_string_parameters.first("token");
            kernel::sockets::connect(app, &id, token).await.map(|c| serde_json::json!({"expires_at": c.expires_at}))
        }
        Some("$disconnect") => kernel::sockets::forget(app, None, &id).await.map(|()| serde_json::json!({})),
        _ => {
            let text = req.body.as_deref().unwrap_or("");
            match serde_json::from_str::<ClientMessage>(text) {
                Ok(ClientMessage::Renew { token }) => kernel::sockets::renew(app, &id, Some(&token))
                    .await
                    .map(|c| serde_json::json!({"type": "renewed", "expires_at": c.expires_at})),
                Err(e) => Err(Error::bad_request("bad_message", format!("the message is not one this API takes: {e}"))),
            }
        }
    };
    match outcome {
        Ok(body) => answer(200, body),
        Err(e) => refused(&e),
    }
}
