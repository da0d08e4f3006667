//! Routers from a CSV file (`POST /v1/routers/import`), each valid row created in a transaction
//! of its own.
use crate::routers::*;

use domain::actor::Actor;
use domain::import::RowError;
use domain::network::{Pop, Router};
use domain::role::Permission;
use domain::{Error, Result, Validation};
use kernel::App;
use kernel::support::StoreResultExt;
use serde::Serialize;
use std::collections::HashMap;
use store::{Query, Tx, keys};
use uuid::Uuid;

// ---- CSV import --------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RouterImport {
    pub imported: Vec<Router>,
    pub errors: Vec<RowError>,
}

pub const ROUTER_CSV_COLUMNS: &[&str] =
    &["name", "host", "port", "username", "password", "tls", "tls_insecure", "pop_code", "routeros_version"];
/// Routers are imported synchronously (a transaction each), so a file stays small enough to finish
/// well inside the API function's timeout.
const MAX_ROUTER_ROWS: usize = 200;

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "" | "0" | "false" | "no" | "n" => Some(false),
        "1" | "true" | "yes" | "y" => Some(true),
        _ => None,
    }
}

/// Imports routers from CSV (header: `name,host,port,username,password,tls,tls_insecure,pop_code,
/// routeros_version`; only name, host, username and password are required). Every valid row is
/// created (each in its own transaction, so one duplicate does not sink the rest); every other row
/// is reported with its line number.
pub async fn import_routers(app: &App, actor: &Actor, csv_text: &[u8]) -> Result<RouterImport> {
    actor.require(Permission::NetworkWrite)?;
    let tid = actor.tenant()?;
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(csv_text);
    let headers = reader.headers().map_err(|e| Error::bad_request("invalid_csv", e.to_string()))?.clone();
    let col: HashMap<String, usize> = headers.iter().enumerate().map(|(i, h)| (h.to_lowercase(), i)).collect();
    for required in ["name", "host", "username", "password"] {
        if !col.contains_key(required) {
            return Err(Error::field("file", format!("the header must name a `{required}` column")));
        }
    }
    if let Some(unknown) = headers.iter().find(|h| !ROUTER_CSV_COLUMNS.contains(&h.to_lowercase().as_str())) {
        return Err(Error::field("file", format!("unknown column `{unknown}`")));
    }
    let rows: Vec<(usize, csv::StringRecord)> = reader
        .records()
        .enumerate()
        .map(|(i, r)| r.map(|r| (i + 2, r)).map_err(|e| Error::field("file", format!("line {}: {e}", i + 2))))
        .collect::<Result<_>>()?;
    if rows.is_empty() {
        return Err(Error::field("file", "has no rows"));
    }
    if rows.len() > MAX_ROUTER_ROWS {
        return Err(Error::field("file", format!("at most {MAX_ROUTER_ROWS} routers per file")));
    }
    // POP codes -> ids, from the POP listing (one Query per 200 POPs).
    let mut pops: HashMap<String, Uuid> = HashMap::new();
    if col.contains_key("pop_code") {
        let all: Vec<Pop> =
            app.store.query_all(Query::index("gsi1", keys::pops_gsi1(tid)).limit(200), 10_000).await.or_500()?;
        pops.extend(all.into_iter().map(|p| (p.code, p.id)));
    }
    let get = |r: &csv::StringRecord, name: &str| {
        col.get(name).and_then(|i| r.get(*i)).map(domain::export::restore).unwrap_or("").to_string()
    };
    let mut out = RouterImport { imported: vec![], errors: vec![] };
    let now = app.now();
    for (line, r) in rows {
        let mut v = Validation::new();
        let port = match get(&r, "port").as_str() {
            "" => None,
            p => match p.parse::<u16>() {
                Ok(n) => Some(n),
                Err(_) => {
                    v.add("port", "must be between 1 and 65535");
                    None
                }
            },
        };
        let mut flag = |name: &str| {
            parse_bool(&get(&r, name)).unwrap_or_else(|| {
                v.add(name, "must be true or false");
                false
            })
        };
        let tls = flag("tls");
        let tls_insecure = flag("tls_insecure");
        let pop_id = match get(&r, "pop_code").trim().to_uppercase().as_str() {
            "" => None,
            code => match pops.get(code) {
                Some(id) => Some(*id),
                None => {
                    v.add("pop_code", "is not a POP of this ISP");
                    None
                }
            },
        };
        let version = get(&r, "routeros_version");
        let input = CreateRouter {
            name: get(&r, "name"),
            pop_id,
            host: get(&r, "host"),
            port,
            tls,
            tls_insecure,
            username: get(&r, "username"),
            password: get(&r, "password"),
            routeros_version: (!version.is_empty()).then_some(version),
            suspension: None,
            access_mode: None,
            radius: None,
        };
        let new = new_router(&mut v, tid, &input, app.router_hosts, now);
        if let Err(errors) = v.finish() {
            out.errors.extend(errors.into_iter().map(|e| RowError {
                row: line,
                field: Some(e.field),
                message: e.message,
            }));
            continue;
        }
        let mut tx = Tx::new();
        stage_new_router(app, &mut tx, actor, &new, now)?;
        match app.store.commit(tx).await.map_err(router_conflict) {
            Ok(()) => out.imported.push(new.router),
            Err(Error::Conflict { field, detail, .. }) => {
                out.errors.push(RowError { row: line, field, message: detail })
            }
            Err(Error::Validation(errors)) => out.errors.extend(errors.into_iter().map(|e| RowError {
                row: line,
                field: Some(e.field),
                message: e.message,
            })),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
