//! One parsed API request with the project's limits applied before anything else runs.

use domain::actor::Actor;
use domain::api_key::PresentedKey;
use domain::portal::Subscriber;
use domain::role::Role;
use domain::{Error, FieldError, Result};
use http::{HeaderMap, Method};
use kernel::App;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// Bodies over 256 KiB are refused (413) before they are parsed.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// File uploads (CSV imports) may be larger: up to 5 MiB (Lambda takes 6 MB).
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

#[derive(Debug)]
pub struct Incoming {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    /// The caller's address as API Gateway saw the connection (`requestContext.http.sourceIp`),
    /// never a header the caller could write.
    pub source_ip: Option<String>,
    query: HashMap<String, String>,
    /// The query string as sent (gateways' returns are read as they wrote them).
    pub raw_query: String,
    body: Vec<u8>,
}

/// Path parameters of the matched route template.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// An id parameter; anything that is not a UUID cannot name an existing thing, so it is a 404.
    pub fn id(&self, name: &str, what: &str) -> Result<uuid::Uuid> {
        self.get(name).and_then(domain::ids::parse_id).ok_or_else(|| Error::not_found(what))
    }
}

#[derive(Debug, Clone)]
pub struct Pagination {
    pub limit: u32,
    pub cursor: Option<String>,
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Matches a path against a route template (`/v1/customers/{id}`); a trailing slash is ignored.
pub fn match_path(template: &str, path: &str) -> Option<Params> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let tsegs: Vec<&str> = template.split('/').collect();
    if tsegs.len() != segs.len() {
        return None;
    }
    let mut params = vec![];
    for (t, s) in tsegs.iter().zip(&segs) {
        if t.starts_with('{') && t.ends_with('}') {
            if s.is_empty() {
                return None;
            }
            params.push((t[1..t.len() - 1].to_string(), percent_decode(s)));
        } else if t != s {
            return None;
        }
    }
    Some(Params(params))
}

impl Incoming {
    pub fn from_request(req: Request) -> Result<Self> {
        Self::from_request_with_limit(req, MAX_BODY_BYTES)
    }

    /// As [`Incoming::from_request`], for routes that take files, with their own size limit.
    pub fn from_request_with_limit(req: Request, limit: usize) -> Result<Self> {
        let source_ip = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
            _ => None,
        };
        let (parts, body) = req.into_parts();
        let body: Vec<u8> = match body {
            Body::Empty => vec![],
            Body::Text(t) => t.into_bytes(),
            Body::Binary(b) => b,
            _ => vec![],
        };
        if body.len() > limit {
            return Err(Error::PayloadTooLarge { limit });
        }
        let mut query = HashMap::new();
        let raw_query = parts.uri.query().unwrap_or_default().to_string();
        if let Some(q) = parts.uri.query() {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                query.insert(percent_decode(k), percent_decode(v));
            }
        }
        Ok(Self {
            method: parts.method,
            path: parts.uri.path().to_string(),
            headers: parts.headers,
            source_ip,
            query,
            raw_query,
            body,
        })
    }

    /// Matches the request against route templates such as `GET /v1/customers/{id}`. No template for
    /// the path is a 404; a template for the path but not the method is a 405.
    pub fn route<'a>(&self, routes: &[&'a str]) -> Result<(&'a str, Params)> {
        let mut path_matched = false;
        for r in routes {
            let (method, tpl) = r.split_once(' ').expect("route is `METHOD /path`");
            if let Some(params) = match_path(tpl, &self.path) {
                path_matched = true;
                if method == self.method.as_str() {
                    return Ok((r, params));
                }
            }
        }
        if path_matched { Err(Error::MethodNotAllowed) } else { Err(Error::not_found("route")) }
    }

    /// Every header with a text value, names in lower case (a gateway's signature headers are
    /// read by name whatever case it sent them in).
    pub fn header_map(&self) -> std::collections::BTreeMap<String, String> {
        self.headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string())))
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Refuses query parameters the route does not know, so a typo is not silently ignored.
    pub fn allow_query(&self, known: &[&str]) -> Result<()> {
        let mut unknown: Vec<FieldError> = self
            .query
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(|k| FieldError { field: k.clone(), message: "unknown query parameter".into() })
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            unknown.sort_by(|a, b| a.field.cmp(&b.field));
            Err(Error::Validation(unknown))
        }
    }

    pub fn pagination(&self) -> Result<Pagination> {
        let limit = match self.query("limit") {
            None => DEFAULT_LIMIT,
            Some(l) => match l.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(Error::field("limit", format!("must be a whole number from 1 to {MAX_LIMIT}"))),
            },
        };
        Ok(Pagination { limit, cursor: self.query("cursor").map(str::to_string) })
    }

    /// The JSON body as `T`: 415 for another media type, 400 for malformed JSON, 422 naming the field
    /// for a wrong type, a missing or an unknown field.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let ct = self.header("content-type").unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if mime != "application/json" && !(mime.starts_with("application/") && mime.ends_with("+json")) {
            return Err(Error::UnsupportedMediaType { expected: "application/json" });
        }
        // Reject non-JSON first, so a syntax error is a 400 and only shape errors are 422s.
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&self.body) {
            return Err(Error::bad_request("malformed_json", format!("the body is not valid JSON: {e}")));
        }
        let de = &mut serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            let msg = inner.split(" at line ").next().unwrap_or(&inner).to_string();
            let field = if let Some(rest) = msg.strip_prefix("missing field `") {
                let name = rest.split('`').next().unwrap_or("");
                if path == "." { name.to_string() } else { format!("{path}.{name}") }
            } else if path == "." {
                "body".to_string()
            } else {
                path
            };
            Error::Validation(vec![FieldError { field, message: msg }])
        })
    }

    /// A query parameter holding an RFC 3339 time.
    pub fn query_time(&self, name: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        match self.query(name) {
            None => Ok(None),
            Some(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| Some(t.with_timezone(&chrono::Utc)))
                .map_err(|_| Error::field(name, "must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z")),
        }
    }

    /// `format` of a report: `json` (None, the default), `csv` or `xlsx`.
    pub fn report_format(&self) -> Result<Option<domain::export::Format>> {
        match self.query("format") {
            None | Some("json") => Ok(None),
            Some(f) => domain::export::Format::parse(f)
                .map(Some)
                .ok_or_else(|| Error::field("format", "must be json, csv or xlsx")),
        }
    }

    /// `format` of a download: `csv` (the default) or `xlsx`.
    pub fn download_format(&self) -> Result<domain::export::Format> {
        match self.query("format") {
            None => Ok(domain::export::Format::Csv),
            Some(f) => domain::export::Format::parse(f).ok_or_else(|| Error::field("format", "must be csv or xlsx")),
        }
    }

    /// A query parameter holding a calendar date (`2026-12-31`).
    pub fn query_date(&self, name: &str) -> Result<Option<chrono::NaiveDate>> {
        self.query(name)
            .map(|s| s.parse().map_err(|_| Error::field(name, "must be a date like 2026-12-31")))
            .transpose()
    }

    /// A query parameter holding an id.
    pub fn query_id(&self, name: &str) -> Result<Option<uuid::Uuid>> {
        self.query(name).map(|s| s.parse().map_err(|_| Error::field(name, "must be an id"))).transpose()
    }

    /// The JSON body as `T`, or `T::default()` when there is no body (actions whose fields are all
    /// optional).
    pub fn json_or_default<T: DeserializeOwned + Default>(&self) -> Result<T> {
        if self.body.iter().all(u8::is_ascii_whitespace) { Ok(T::default()) } else { self.json() }
    }

    /// A CSV upload: `text/csv` only (415 otherwise), not empty, UTF-8.
    pub fn csv(&self) -> Result<&str> {
        let ct = self.header("content-type").unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if mime != "text/csv" {
            return Err(Error::UnsupportedMediaType { expected: "text/csv" });
        }
        if self.body.is_empty() {
            return Err(Error::field("file", "is empty"));
        }
        std::str::from_utf8(&self.body).map_err(|_| Error::bad_request("invalid_csv", "the file is not UTF-8 text"))
    }

    /// The `Idempotency-Key` header (1-255 visible ASCII characters), if sent.
    pub fn idempotency_key(&self) -> Result<Option<String>> {
        match self.header("idempotency-key") {
            None => Ok(None),
            Some(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x21..0x7f).contains(&b)) => {
                Ok(Some(k.to_string()))
            }
            Some(_) => Err(Error::field("Idempotency-Key", "must be 1-255 visible ASCII characters")),
        }
    }

    /// The expected version from `If-Match` (`"3"` or `3`), if sent.
    pub fn if_match(&self) -> Result<Option<u64>> {
        match self.header("if-match") {
            None => Ok(None),
            Some(v) => v
                .trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse()
                .map(Some)
                .map_err(|_| Error::field("If-Match", "must be the version number of the resource")),
        }
    }

    pub fn body_bytes(&self) -> &[u8] {
        &self.body
    }

    /// The bearer credential of `Authorization: Bearer <credential>`.
    fn bearer(&self) -> Result<&str> {
        let raw = self
            .header("authorization")
            .ok_or(Error::Unauthorized { code: "unauthorized", detail: "an access token is required".into() })?;
        raw.strip_prefix("Bearer ")
            .or_else(|| raw.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or(Error::Unauthorized { code: "unauthorized", detail: "use the Bearer scheme".into() })
    }

    /// The caller, from `Authorization: Bearer <access token or API key>`, counted against its
    /// request limits (its ISP's, its key's, or its ISP's portal's): 429 once one is used up.
    pub async fn caller(&self, app: &App) -> Result<Actor> {
        let credential = self.bearer()?;
        let portal_route = self.path.starts_with(PORTAL_PREFIX);
        let actor = if PresentedKey::looks_like_key(credential) {
            let key = PresentedKey::parse(credential).ok_or_else(domain::api_key::refused)?;
            if portal_route {
                return Err(Error::Forbidden {
                    code: "api_key_refused",
                    detail: "API keys are not for the portal's routes".into(),
                });
            }
            kernel::gate::key_caller(app, &key).await?
        } else {
            app.tokens.verify(credential, app.now())?
        };
        match (actor.role, actor.tenant_id) {
            // A subscriber's token opens the portal and nothing else, whatever a route checks next.
            (Role::Customer, _) if !portal_route => Err(Error::Forbidden {
                code: "customer_token",
                detail: "a subscriber's token is only for the portal's routes".into(),
            }),
            (Role::Customer, Some(tenant)) => kernel::gate::admit_subscriber(app, tenant).await.map(|()| actor),
            _ => kernel::gate::admit_staff(app, &actor).await.map(|()| actor),
        }
    }

    /// The subscriber calling a portal route: a customer token (staff tokens are refused here).
    pub async fn subscriber(&self, app: &App) -> Result<Subscriber> {
        let actor = self.caller(app).await?;
        match (actor.role, actor.tenant_id) {
            (Role::Customer, Some(tenant_id)) => Ok(Subscriber { tenant_id, customer_id: actor.user_id }),
            _ => Err(Error::Forbidden {
                code: "portal_only",
                detail: "the portal's routes are for subscribers; staff use the ISP's routes".into(),
            }),
        }
    }
}

/// Where every subscriber route lives.
pub const PORTAL_PREFIX: &str = "/v1/portal/";

impl Incoming {
    /// The request as an idempotent one, when it carries an `Idempotency-Key`.
    pub fn idempotent(&self) -> Result<Option<domain::idempotency::IdempotentRequest>> {
        Ok(self
            .idempotency_key()?
            .map(|k| domain::idempotency::IdempotentRequest::new(k, self.method.as_str(), &self.path, &self.body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http;

    fn req(method: &str, uri: &str, ct: Option<&str>, body: &str) -> Incoming {
        let mut b = http::Request::builder().method(method).uri(uri);
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        Incoming::from_request(b.body(Body::Text(body.into())).unwrap()).unwrap()
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct In {
        name: String,
        age: u8,
    }

    #[test]
    fn routes_match_with_params_404_and_405() {
        let r = req("GET", "/v1/customers/abc", None, "");
        let routes = ["GET /v1/customers", "GET /v1/customers/{id}", "PATCH /v1/customers/{id}"];
        let (m, p) = r.route(&routes).unwrap();
        assert_eq!(m, "GET /v1/customers/{id}");
        assert_eq!(p.get("id"), Some("abc"));
        assert!(matches!(req("DELETE", "/v1/customers/abc", None, "").route(&routes), Err(Error::MethodNotAllowed)));
        assert!(matches!(req("GET", "/v1/nothing", None, "").route(&routes), Err(Error::NotFound { .. })));
        assert_eq!(req("GET", "/v1/customers/", None, "").route(&routes).unwrap().0, "GET /v1/customers");
    }

    #[test]
    fn body_errors_are_classified() {
        let e = req("POST", "/", Some("text/plain"), "{}").json::<In>().unwrap_err();
        assert_eq!(e, Error::UnsupportedMediaType { expected: "application/json" });
        let e = req("POST", "/", Some("application/json"), "{bad").json::<In>().unwrap_err();
        assert!(matches!(e, Error::BadRequest { code: "malformed_json", .. }));
        let e = req("POST", "/", Some("application/json"), r#"{"name":"a","age":"x"}"#).json::<In>().unwrap_err();
        assert!(matches!(&e, Error::Validation(v) if v[0].field == "age"), "{e:?}");
        let e = req("POST", "/", Some("application/json"), r#"{"name":"a"}"#).json::<In>().unwrap_err();
        assert!(matches!(&e, Error::Validation(v) if v[0].field == "age"), "{e:?}");
        let e = req("POST", "/", Some("application/json"), r#"{"name":"a","age":1,"x":1}"#).json::<In>().unwrap_err();
        assert!(matches!(&e, Error::Validation(v) if v[0].field == "x"), "{e:?}");
        assert!(
            req("POST", "/", Some("application/json; charset=utf-8"), r#"{"name":"a","age":1}"#).json::<In>().is_ok()
        );
    }

    #[test]
    fn oversized_bodies_are_refused_before_parsing() {
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        let r = http::Request::builder().method("POST").uri("/").body(Body::Text(big)).unwrap();
        assert_eq!(Incoming::from_request(r).unwrap_err(), Error::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }

    #[test]
    fn pagination_and_query() {
        let r = req("GET", "/v1/x?limit=10&cursor=abc&q=rahim%20u", None, "");
        let p = r.pagination().unwrap();
        assert_eq!((p.limit, p.cursor.as_deref()), (10, Some("abc")));
        assert_eq!(r.query("q"), Some("rahim u"));
        assert!(r.allow_query(&["limit", "cursor"]).is_err());
        assert!(req("GET", "/v1/x?limit=0", None, "").pagination().is_err());
        assert!(req("GET", "/v1/x?limit=201", None, "").pagination().is_err());
        assert_eq!(req("GET", "/v1/x", None, "").pagination().unwrap().limit, 50);
    }
}
