//! Live connections over the WebSocket API: `$connect` registers a connection with its access
//! token (an ISP's staff only; the token in the `token` query parameter, as a browser cannot set a
//! header), `$disconnect` forgets it, a `renew` message extends it with a fresh token. The push
//! (`worker-live`) reads an ISP's connections here; what it may push to whom is `domain::push`.

use crate::App;
use crate::support::StoreResultExt;
use domain::push::Connection;
use domain::{Error, Result};
use store::{Query, Store, Tx, keys, ttl_at};
use uuid::Uuid;

fn items(c: &Connection) -> Result<(store::Item, store::Item)> {
    let ttl = ttl_at(c.expires_at + chrono::Duration::hours(1));
    let mut conn = Store::encode(&keys::ws_connection(c.tenant_id, &c.connection_id), "WSCONN", c, None).or_500()?;
    conn.insert("ttl".into(), ttl.clone());
    let owner = serde_json::json!({"tenant_id": c.tenant_id});
    let mut pointer =
        Store::encode(&keys::ws_connection_owner(&c.connection_id), "WSCONN_OWNER", &owner, None).or_500()?;
    pointer.insert("ttl".into(), ttl);
    Ok((conn, pointer))
}

/// The connection an access token opens: an ISP's staff member's (subscribers, platform users
/// and API keys are refused: 401 for a bad token, 403 otherwise).
pub fn open(app: &App, connection_id: &str, token: Option<&str>) -> Result<Connection> {
    let token = token.filter(|t| !t.is_empty()).ok_or(Error::Unauthorized {
        code: "unauthorized",
        detail: "give the access token as the `token` query parameter".into(),
    })?;
    let (actor, expires_at) = app.tokens.verify_until(token, app.now())?;
    let tenant_id = match (actor.role.is_tenant_staff(), actor.tenant_id) {
        (true, Some(t)) => t,
        _ => return Err(Error::forbidden("live updates are for an ISP's staff")),
    };
    if connection_id.is_empty() || connection_id.len() > 128 {
        return Err(Error::bad_request("bad_connection", "no connection id"));
    }
    Ok(Connection {
        connection_id: connection_id.to_string(),
        tenant_id,
        user_id: actor.user_id,
        role: actor.role,
        scope: actor.scope,
        connected_at: app.now(),
        expires_at,
    })
}

/// `$connect`: registers the connection (its item and the pointer from its id to its ISP).
pub async fn connect(app: &App, connection_id: &str, token: Option<&str>) -> Result<Connection> {
    let c = open(app, connection_id, token)?;
    let (conn, pointer) = items(&c)?;
    let mut tx = Tx::new();
    tx.put(conn);
    tx.put(pointer);
    app.store.commit(tx).await.or_500()?;
    Ok(c)
}

/// A `renew` message: the same person's fresh token extends the connection.
pub async fn renew(app: &App, connection_id: &str, token: Option<&str>) -> Result<Connection> {
    let fresh = open(app, connection_id, token)?;
    // The fresh token names the ISP: the connection is one GetItem in its partition (another
    // ISP's token finds nothing).
    let held: Connection = app
        .store
        .get(&keys::ws_connection(fresh.tenant_id, connection_id))
        .await
        .or_500()?
        .ok_or_else(|| Error::not_found("connection"))?;
    if held.user_id != fresh.user_id || held.tenant_id != fresh.tenant_id {
        return Err(Error::forbidden("a connection is renewed by the one who opened it"));
    }
    let renewed = Connection { connected_at: held.connected_at, ..fresh };
    let (conn, pointer) = items(&renewed)?;
    let mut tx = Tx::new();
    tx.put(conn);
    tx.put(pointer);
    app.store.commit(tx).await.or_500()?;
    Ok(renewed)
}

/// The ISP a connection is of (its owner pointer: one GetItem).
async fn owner_of(app: &App, connection_id: &str) -> Result<Option<Uuid>> {
    let owner: Option<serde_json::Value> = app.store.get(&keys::ws_connection_owner(connection_id)).await.or_500()?;
    Ok(owner.and_then(|o| o["tenant_id"].as_str().and_then(|t| t.parse::<Uuid>().ok())))
}

/// `$disconnect` (and a push that finds the connection gone): forgets it.
pub async fn forget(app: &App, tenant: Option<Uuid>, connection_id: &str) -> Result<()> {
    let tenant = match tenant {
        Some(t) => Some(t),
        None => owner_of(app, connection_id).await?,
    };
    let mut tx = Tx::new();
    tx.delete(&keys::ws_connection_owner(connection_id));
    if let Some(t) = tenant {
        tx.delete(&keys::ws_connection(t, connection_id));
    }
    app.store.commit(tx).await.or_500()
}

/// An ISP's connections (one Query; those whose token expired are still listed until their TTL).
pub async fn connections(app: &App, tenant: Uuid) -> Result<Vec<Connection>> {
    app.store.query_all(Query::table(keys::ws_connections_pk(tenant)), 10_000).await.or_500()
}
