//! Reading import files into rows: the project's customer CSV, and a RouterOS PPP secret export.
//! Rows are only read here; each is checked against the ISP (packages, routers, duplicates) when it
//! is imported.

#[cfg(feature = "csv")]
use crate::export::restore;
#[cfg(feature = "csv")]
use crate::validate::FieldError;
use serde::{Deserialize, Serialize};

/// Why a row of an import or bulk job was not taken.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowError {
    /// Line in the file (the header is line 1).
    pub row: usize,
    pub field: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    /// `name,phone,username,package,...` (see [`CUSTOMER_COLUMNS`]).
    Customers,
    /// A `/ppp secret` export (Winbox "Export" as CSV, `,` or `;` separated).
    RouterosSecrets,
}

/// Columns of the customer CSV; the first four are required.
pub const CUSTOMER_COLUMNS: &[&str] = &[
    "name",
    "phone",
    "username",
    "package",
    "email",
    "address",
    "area",
    "house_no",
    "road_no",
    "thana",
    "district",
    "client_type",
    "access_medium",
    "national_id",
    "router",
    "pppoe_username",
    "pppoe_password",
    "ip_address",
    "billing_model",
    "expires_at",
    "status",
];

/// One row to import: a customer and its subscription, as written in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRow {
    /// 1-based line in the file (the header is line 1).
    pub line: usize,
    pub name: String,
    pub phone: String,
    pub username: String,
    /// Package name (customer CSV) or RouterOS profile name (secret export).
    pub package: String,
    pub email: Option<String>,
    pub address: Option<String>,
    pub area: Option<String>,
    pub house_no: Option<String>,
    pub road_no: Option<String>,
    pub thana: Option<String>,
    pub district: Option<String>,
    /// `home`, `corporate`, `sme`, `government` or `education`.
    pub client_type: Option<String>,
    /// `fiber`, `utp` or `wireless`.
    pub access_medium: Option<String>,
    pub national_id: Option<String>,
    /// Router name; defaults to the router the import was started for.
    pub router: Option<String>,
    pub pppoe_username: Option<String>,
    pub pppoe_password: Option<String>,
    pub ip_address: Option<String>,
    pub billing_model: Option<String>,
    pub expires_at: Option<String>,
    /// `pending` (default), `active` or `suspended` (a disabled secret).
    pub status: Option<String>,
}

/// A row the reader could not even split into fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadableRow {
    pub line: usize,
    pub message: String,
}

pub const MAX_IMPORT_ROWS: usize = 20_000;

#[cfg(feature = "csv")]
fn header_error(message: impl Into<String>) -> Vec<FieldError> {
    vec![FieldError { field: "file".into(), message: message.into() }]
}

#[cfg(feature = "csv")]
fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Reads a whole file (CSV, with the `csv` feature). Header problems refuse the file; a row that cannot be read is reported
/// with its line and the others still come back.
/// An uploaded XLSX file's first sheet as the CSV text the importers read (each cell as a
/// spreadsheet shows it: a whole number without `.0`). Anything but an XLSX workbook is 400.
#[cfg(feature = "csv")]
pub fn xlsx_as_csv(bytes: &[u8]) -> crate::Result<String> {
    use calamine::Reader;
    let unreadable = || crate::Error::bad_request("invalid_xlsx", "the file is not an XLSX workbook");
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|_| unreadable())?;
    let sheet = book.worksheet_range_at(0).ok_or_else(unreadable)?.map_err(|_| unreadable())?;
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in sheet.rows() {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c {
                calamine::Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                other => other.to_string(),
            })
            .collect();
        w.write_record(&cells).map_err(|e| crate::Error::Internal(e.to_string()))?;
    }
    let bytes = w.into_inner().map_err(|e| crate::Error::Internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| crate::Error::Internal(e.to_string()))
}

#[cfg(feature = "csv")]
pub fn read(format: ImportFormat, text: &str) -> Result<(Vec<ImportRow>, Vec<UnreadableRow>), Vec<FieldError>> {
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if format == ImportFormat::RouterosSecrets
        && first_line.matches(';').count() > first_line.matches(',').count()
    {
        b';'
    } else {
        b','
    };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).trim(csv::Trim::All).flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| header_error(format!("the header cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase().replace([' ', '-'], "_"))
        .collect();
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let (mut rows, mut unreadable) = (Vec::new(), Vec::new());
    match format {
        ImportFormat::Customers => {
            if let Some(unknown) = headers.iter().find(|h| !CUSTOMER_COLUMNS.contains(&h.as_str())) {
                return Err(header_error(format!("unknown column `{unknown}`")));
            }
            for required in ["name", "phone", "username", "package"] {
                if col(&[required]).is_none() {
                    return Err(header_error(format!("the header must name a `{required}` column")));
                }
            }
            for (i, rec) in reader.records().enumerate() {
                let line = i + 2;
                let rec = match rec {
                    Ok(r) if r.len() == headers.len() => r,
                    Ok(r) => {
                        unreadable.push(UnreadableRow {
                            line,
                            message: format!("has {} fields, the header {}", r.len(), headers.len()),
                        });
                        continue;
                    }
                    Err(e) => {
                        unreadable.push(UnreadableRow { line, message: e.to_string() });
                        continue;
                    }
                };
                let get = |n: &str| col(&[n]).and_then(|i| rec.get(i)).map(restore).unwrap_or("").to_string();
                rows.push(ImportRow {
                    line,
                    name: get("name"),
                    phone: get("phone"),
                    username: get("username"),
                    package: get("package"),
                    email: opt(&get("email")),
                    address: opt(&get("address")),
                    area: opt(&get("area")),
                    house_no: opt(&get("house_no")),
                    road_no: opt(&get("road_no")),
                    thana: opt(&get("thana")),
                    district: opt(&get("district")),
                    client_type: opt(&get("client_type")),
                    access_medium: opt(&get("access_medium")),
                    national_id: opt(&get("national_id")),
                    router: opt(&get("router")),
                    pppoe_username: opt(&get("pppoe_username")),
                    pppoe_password: opt(&get("pppoe_password")),
                    ip_address: opt(&get("ip_address")),
                    billing_model: opt(&get("billing_model")),
                    expires_at: opt(&get("expires_at")),
                    status: opt(&get("status")),
                });
            }
        }
        ImportFormat::RouterosSecrets => {
            let (Some(name), Some(profile)) = (col(&["name"]), col(&["profile"])) else {
                return Err(header_error("a RouterOS secret export names `name` and `profile` columns"));
            };
            let password = col(&["password"]);
            let remote = col(&["remote_address"]);
            let disabled = col(&["disabled"]);
            let comment = col(&["comment"]);
            let service = col(&["service"]);
            for (i, rec) in reader.records().enumerate() {
                let line = i + 2;
                let rec = match rec {
                    Ok(r) => r,
                    Err(e) => {
                        unreadable.push(UnreadableRow { line, message: e.to_string() });
                        continue;
                    }
                };
                let get = |c: Option<usize>| c.and_then(|i| rec.get(i)).map(restore).unwrap_or("").to_string();
                let svc = get(service).to_lowercase();
                if !(svc.is_empty() || svc == "any" || svc == "pppoe") {
                    unreadable.push(UnreadableRow { line, message: format!("service `{svc}` is not PPPoE") });
                    continue;
                }
                let username = get(Some(name));
                let (who, phone) = split_comment(&get(comment));
                let off = matches!(get(disabled).to_lowercase().as_str(), "true" | "yes" | "x" | "1");
                rows.push(ImportRow {
                    line,
                    name: who.unwrap_or_else(|| username.clone()),
                    phone: phone.unwrap_or_default(),
                    username: username.clone(),
                    package: get(Some(profile)),
                    pppoe_username: Some(username),
                    pppoe_password: opt(&get(password)),
                    ip_address: opt(&get(remote)),
                    status: Some(if off { "suspended" } else { "active" }.into()),
                    ..Default::default()
                });
            }
        }
    }
    if rows.len() + unreadable.len() > MAX_IMPORT_ROWS {
        return Err(header_error(format!("at most {MAX_IMPORT_ROWS} rows per file")));
    }
    if rows.is_empty() && unreadable.is_empty() {
        return Err(header_error("has no rows"));
    }
    Ok((rows, unreadable))
}

/// ISPs keep the subscriber's name and phone in a secret's comment ("Rahim Uddin 01712-345678"):
/// the phone is the run of at least 8 digits (with `+`, spaces, `-`), the name what is left.
pub fn split_comment(comment: &str) -> (Option<String>, Option<String>) {
    let mut phone = None;
    let mut rest = Vec::new();
    for token in comment.split([',', ';', '|', '/']) {
        let digits = token.chars().filter(char::is_ascii_digit).count();
        let phone_like = token.trim().chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'));
        if phone.is_none() && digits >= 8 && phone_like {
            phone = Some(token.trim().to_string());
        } else {
            // "Name 01712345678" in one token: split off a trailing number.
            let words: Vec<&str> = token.split_whitespace().collect();
            let tail = words.iter().rposition(|w| w.chars().filter(char::is_ascii_digit).count() < 8);
            match tail {
                Some(t)
                    if phone.is_none()
                        && t + 1 < words.len()
                        && words[t + 1..].concat().chars().filter(char::is_ascii_digit).count() >= 8 =>
                {
                    phone = Some(words[t + 1..].join(" "));
                    rest.push(words[..=t].join(" "));
                }
                _ => rest.push(token.trim().to_string()),
            }
        }
    }
    let name = rest.into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", ");
    ((!name.is_empty()).then_some(name), phone)
}

#[cfg(all(test, feature = "csv"))]
mod tests {
    use super::*;

    #[test]
    fn customer_csv_rows_and_unreadable_lines() {
        let text = "name,phone,username,package,status\nRahim,01712345678,rahim,Home 10M,active\nbroken,row\nKarim,01812345678,karim,Home 20M,\n";
        let (rows, bad) = read(ImportFormat::Customers, text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[0].status.as_deref()), (2, Some("active")));
        assert_eq!((rows[1].line, rows[1].status.as_deref()), (4, None));
        assert_eq!(bad, [UnreadableRow { line: 3, message: "has 2 fields, the header 5".into() }]);
        assert!(read(ImportFormat::Customers, "name,phone,username\nx,y,z\n").is_err(), "package is required");
        assert!(read(ImportFormat::Customers, "name,phone,username,package,bogus\n").is_err());
        assert!(read(ImportFormat::Customers, "name,phone,username,package\n").is_err(), "no rows");
    }

    #[test]
    fn routeros_secret_export() {
        let text = "Name;Password;Service;Profile;Remote Address;Disabled;Comment\n\
                    rahim;pw1;pppoe;Home 10M;10.10.0.2;false;Rahim Uddin 01712-345678\n\
                    karim;pw2;any;Home 20M;;true;01812345678, Karim Hossain\n\
                    hs;pw3;hotspot;x;;;\n";
        let (rows, bad) = read(ImportFormat::RouterosSecrets, text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].name.as_str(), rows[0].phone.as_str(), rows[0].ip_address.as_deref(), rows[0].status.as_deref()),
            ("Rahim Uddin", "01712-345678", Some("10.10.0.2"), Some("active"))
        );
        assert_eq!(
            (rows[1].name.as_str(), rows[1].phone.as_str(), rows[1].status.as_deref()),
            ("Karim Hossain", "01812345678", Some("suspended"))
        );
        assert_eq!(rows[1].pppoe_password.as_deref(), Some("pw2"));
        assert_eq!(bad.len(), 1, "a hotspot entry is not a PPPoE secret");
    }

    #[test]
    fn comments() {
        assert_eq!(split_comment("Rahim 01712345678"), (Some("Rahim".into()), Some("01712345678".into())));
        assert_eq!(split_comment("+880 1712 345678"), (None, Some("+880 1712 345678".into())));
        assert_eq!(split_comment("just a name"), (Some("just a name".into()), None));
        assert_eq!(split_comment(""), (None, None));
    }
}
