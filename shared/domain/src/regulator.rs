//! Reports to regulators: BTRC's monthly subscriber report. A report's layout is data, one JSON
//! file per version under `shared/domain/regulator/` (headers, order, which columns are required,
//! the regulator's words for our values, date format), so a changed template is a new file with
//! the next version. This module knows only the facts a column can draw from ([`Source`]).

use crate::Error;
use crate::customer::Customer;
use crate::package::Connectivity;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::OnceLock;

/// The BTRC subscriber report's templates, oldest first. A new version: add its file here.
const BTRC_SUBSCRIBERS: &[&str] = &[include_str!("../regulator/btrc-subscribers-v1.json")];

/// The ISP's BTRC settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BtrcSettings {
    /// A new customer must have every customer field the template in force requires (and an
    /// update may not clear one).
    #[serde(default)]
    pub fields_required: bool,
}

/// What a column shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The customer's operator (reseller), or the ISP itself for its own customers.
    OperatorName,
    ClientType,
    /// The package's: shared or dedicated bandwidth.
    Connectivity,
    ClientName,
    /// The POP the customer is connected through.
    DistributionPoint,
    AccessMedium,
    /// The customer's connection date, else the subscription's first activation.
    ActivationDate,
    /// The package's download rate in Mbps.
    BandwidthMbps,
    /// The subscription's static address (empty when addresses come from a pool).
    AllocatedIp,
    HouseNo,
    RoadNo,
    Area,
    District,
    Thana,
    /// As dialled in the country (`01712345678`).
    ClientPhone,
    ClientEmail,
    /// The subscription's price without VAT, in major units (`1000.00`).
    PriceExcludingVat,
    /// The subscription's login.
    Username,
}

impl Source {
    /// The customer's field (as the API names it) that fills the column, when filling it is up to
    /// the ISP's staff: what "missing fields" lists and what the ISP may require at creation.
    pub fn customer_field(self) -> Option<&'static str> {
        Some(match self {
            Source::ClientType => "client_type",
            Source::AccessMedium => "access_medium",
            Source::DistributionPoint => "pop_id",
            Source::HouseNo => "house_no",
            Source::RoadNo => "road_no",
            Source::Area => "area",
            Source::District => "district",
            Source::Thana => "thana",
            Source::ClientEmail => "email",
            _ => return None,
        })
    }

    fn is_enum(self) -> bool {
        matches!(self, Source::ClientType | Source::AccessMedium | Source::Connectivity)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub header: String,
    pub source: Source,
    /// A row with this column empty is incomplete; a customer without its field is listed as
    /// missing it.
    #[serde(default)]
    pub required: bool,
    /// The regulator's words for our values (`fiber` -> `Wired`); a value without one is shown as is.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// What an empty value is shown as (`Dynamic` for an address from a pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty: Option<String>,
    /// strftime format of a date column (default `%Y-%m-%d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub report: String,
    pub version: u32,
    pub title: String,
    /// The first month the template applies to (a report for an earlier month uses the version
    /// in force then).
    pub effective_from: NaiveDate,
    pub columns: Vec<Column>,
}

/// What one row draws from: a subscriber's connection in the month.
pub struct RowFacts<'a> {
    pub customer: &'a Customer,
    pub operator_name: &'a str,
    pub pop_name: Option<&'a str>,
    pub connectivity: Option<Connectivity>,
    pub activation_date: Option<NaiveDate>,
    /// The package's download rate in bits per second.
    pub bandwidth_bps: Option<u64>,
    pub allocated_ip: Option<Ipv4Addr>,
    /// Minor units, and their currency.
    pub price_excluding_vat: Option<(i64, &'a str)>,
    pub username: &'a str,
}

/// The BTRC subscriber report's versions, oldest first.
pub fn btrc_templates() -> &'static [Template] {
    static PARSED: OnceLock<Vec<Template>> = OnceLock::new();
    PARSED.get_or_init(|| {
        let mut all: Vec<Template> = BTRC_SUBSCRIBERS
            .iter()
            .map(|text| serde_json::from_str(text).expect("the BTRC templates are checked by the unit tests"))
            .collect();
        all.sort_by_key(|t| t.version);
        all
    })
}

/// The version asked for, or the one in force in the month that starts on `month_start`.
pub fn btrc_template(version: Option<u32>, month_start: NaiveDate) -> Result<&'static Template, Error> {
    let all = btrc_templates();
    match version {
        Some(v) => all.iter().find(|t| t.version == v).ok_or_else(|| {
            let known: Vec<String> = all.iter().map(|t| t.version.to_string()).collect();
            Error::field("template_version", format!("no such version (known: {})", known.join(", ")))
        }),
        None => Ok(all.iter().rev().find(|t| t.effective_from <= month_start).unwrap_or(&all[0])),
    }
}

/// The version in force at an instant (by its UTC month: templates change on a month's first day).
pub fn btrc_template_at(now: chrono::DateTime<chrono::Utc>) -> &'static Template {
    use chrono::Datelike;
    let month_start = now.date_naive().with_day(1).expect("every month has a first day");
    btrc_template(None, month_start).expect("without a version asked for, a template is always found")
}

impl Template {
    pub fn header(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.header.as_str()).collect()
    }

    /// One row, in the template's column order.
    pub fn row(&self, f: &RowFacts) -> Vec<String> {
        self.columns
            .iter()
            .map(|c| {
                let value = value_of(c, f).unwrap_or_default();
                match (&c.empty, value.is_empty()) {
                    (Some(e), true) => e.clone(),
                    _ => value,
                }
            })
            .collect()
    }

    /// The required columns a row leaves empty, by source.
    pub fn gaps(&self, f: &RowFacts) -> Vec<Source> {
        self.columns
            .iter()
            .filter(|c| c.required && value_of(c, f).is_none_or(|v| v.trim().is_empty()))
            .map(|c| c.source)
            .collect()
    }

    /// The customer's fields the template requires and the customer lacks (API field names).
    pub fn missing_customer_fields(&self, c: &Customer) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for col in self.columns.iter().filter(|col| col.required) {
            if let Some(field) = col.source.customer_field()
                && !customer_has(c, col.source)
                && !out.contains(&field)
            {
                out.push(field);
            }
        }
        out
    }

    /// Checks a template file: every label belongs to a value its source can take, date formats
    /// parse. Run on every version by the unit tests.
    pub fn check(&self) -> Result<(), String> {
        if self.columns.is_empty() {
            return Err("no columns".into());
        }
        for c in &self.columns {
            if !c.labels.is_empty() && !c.source.is_enum() {
                return Err(format!("{}: labels on a column that is not a choice", c.header));
            }
            for value in c.labels.keys() {
                if !enum_values(c.source).contains(&value.as_str()) {
                    return Err(format!("{}: `{value}` is not a value of {:?}", c.header, c.source));
                }
            }
            if let Some(fmt) = &c.date_format {
                if c.source != Source::ActivationDate {
                    return Err(format!("{}: a date format on a column that is not a date", c.header));
                }
                if chrono::format::StrftimeItems::new(fmt).any(|i| matches!(i, chrono::format::Item::Error)) {
                    return Err(format!("{}: `{fmt}` is not a date format", c.header));
                }
            }
        }
        Ok(())
    }
}

fn enum_values(source: Source) -> Vec<&'static str> {
    use crate::customer::{AccessMedium, ClientType};
    match source {
        Source::ClientType => ClientType::ALL.iter().map(|t| t.as_str()).collect(),
        Source::AccessMedium => AccessMedium::ALL.iter().map(|t| t.as_str()).collect(),
        Source::Connectivity => [Connectivity::Shared, Connectivity::Dedicated].iter().map(|t| t.as_str()).collect(),
        _ => vec![],
    }
}

fn filled(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.trim().is_empty())
}

fn customer_has(c: &Customer, source: Source) -> bool {
    match source {
        Source::ClientType => c.client_type.is_some(),
        Source::AccessMedium => c.access_medium.is_some(),
        Source::DistributionPoint => c.pop_id.is_some(),
        Source::HouseNo => filled(&c.house_no),
        Source::RoadNo => filled(&c.road_no),
        Source::Area => filled(&c.area),
        Source::District => filled(&c.district),
        Source::Thana => filled(&c.thana),
        Source::ClientEmail => filled(&c.email),
        _ => true,
    }
}

fn labelled(c: &Column, value: &str) -> String {
    c.labels.get(value).cloned().unwrap_or_else(|| value.to_string())
}

fn value_of(c: &Column, f: &RowFacts) -> Option<String> {
    let cu = f.customer;
    Some(match c.source {
        Source::OperatorName => f.operator_name.to_string(),
        Source::ClientType => labelled(c, cu.client_type?.as_str()),
        Source::Connectivity => labelled(c, f.connectivity?.as_str()),
        Source::ClientName => cu.name.clone(),
        Source::DistributionPoint => f.pop_name?.to_string(),
        Source::AccessMedium => labelled(c, cu.access_medium?.as_str()),
        Source::ActivationDate => f.activation_date?.format(c.date_format.as_deref().unwrap_or("%Y-%m-%d")).to_string(),
        Source::BandwidthMbps => mbps(f.bandwidth_bps?),
        Source::AllocatedIp => f.allocated_ip?.to_string(),
        Source::HouseNo => cu.house_no.clone()?,
        Source::RoadNo => cu.road_no.clone()?,
        Source::Area => cu.area.clone()?,
        Source::District => cu.district.clone()?,
        Source::Thana => cu.thana.clone()?,
        Source::ClientPhone => crate::phone::national_dialling(&cu.phone),
        Source::ClientEmail => cu.email.clone()?,
        Source::PriceExcludingVat => {
            let (amount, currency) = f.price_excluding_vat?;
            crate::money::plain_decimal(amount, currency)
        }
        Source::Username => f.username.to_string(),
    })
}

/// Bits per second as Mbps, without trailing zeros: `10000000` -> `10`, `512000` -> `0.512`.
pub fn mbps(bps: u64) -> String {
    let whole = bps / 1_000_000;
    let frac = bps % 1_000_000;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:06}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::{AccessMedium, ClientType, CustomerStatus};
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    fn customer() -> Customer {
        let at = Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap();
        Customer {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            name: "Rahim Uddin".into(),
            phone: "+8801712345678".into(),
            email: None,
            username: "rahim".into(),
            status: CustomerStatus::Active,
            address: None,
            area: Some("Mirpur-10".into()),
            pop_id: Some(Uuid::nil()),
            house_no: Some("12".into()),
            road_no: Some("7".into()),
            thana: Some("Mirpur".into()),
            district: Some("Dhaka".into()),
            client_type: Some(ClientType::Home),
            access_medium: Some(AccessMedium::Fiber),
            national_id: None,
            connection_date: None,
            notes: None,
            tags: vec![],
            language: None,
            subscriptions: Default::default(),
            operator_id: None,
            scope: None,
            created_by: Uuid::nil(),
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    fn facts(c: &Customer) -> RowFacts<'_> {
        RowFacts {
            customer: c,
            operator_name: "Demo ISP",
            pop_name: Some("Mirpur POP"),
            connectivity: Some(Connectivity::Shared),
            activation_date: NaiveDate::from_ymd_opt(2026, 1, 5),
            bandwidth_bps: Some(10_000_000),
            allocated_ip: None,
            price_excluding_vat: Some((100_000, "BDT")),
            username: "rahim",
        }
    }

    #[test]
    fn every_template_file_is_well_formed() {
        assert!(!btrc_templates().is_empty());
        let mut versions = vec![];
        for t in btrc_templates() {
            t.check().unwrap_or_else(|e| panic!("version {}: {e}", t.version));
            assert_eq!(t.report, "btrc_subscribers");
            versions.push(t.version);
        }
        versions.dedup();
        assert_eq!(versions.len(), btrc_templates().len(), "each version once");
    }

    #[test]
    fn version_one_has_the_regulators_columns_in_order() {
        let t = btrc_template(Some(1), NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()).unwrap();
        let sources: Vec<Source> = t.columns.iter().map(|c| c.source).collect();
        use Source::*;
        assert_eq!(
            sources,
            [
                OperatorName,
                ClientType,
                Connectivity,
                ClientName,
                DistributionPoint,
                AccessMedium,
                ActivationDate,
                BandwidthMbps,
                AllocatedIp,
                HouseNo,
                RoadNo,
                Area,
                District,
                Thana,
                ClientPhone,
                ClientEmail,
                PriceExcludingVat
            ]
        );
    }

    #[test]
    fn a_row_uses_the_regulators_words_and_formats() {
        let c = customer();
        let t = btrc_template(None, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()).unwrap();
        let row = t.row(&facts(&c));
        assert_eq!(
            row,
            [
                "Demo ISP",
                "Home",
                "Shared",
                "Rahim Uddin",
                "Mirpur POP",
                "Wired",
                "05/01/2026",
                "10",
                "Dynamic",
                "12",
                "7",
                "Mirpur-10",
                "Dhaka",
                "Mirpur",
                "01712345678",
                "",
                "1000.00"
            ]
        );
        assert!(t.gaps(&facts(&c)).is_empty(), "e-mail is not required");
        assert!(t.missing_customer_fields(&c).is_empty());
    }

    #[test]
    fn missing_fields_are_named_as_the_api_names_them() {
        let mut c = customer();
        c.house_no = Some("  ".into());
        c.client_type = None;
        c.pop_id = None;
        let t = btrc_template(None, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()).unwrap();
        assert_eq!(t.missing_customer_fields(&c), ["client_type", "pop_id", "house_no"]);
        let mut f = facts(&c);
        f.pop_name = None;
        f.bandwidth_bps = None;
        assert_eq!(t.gaps(&f), [Source::ClientType, Source::DistributionPoint, Source::BandwidthMbps, Source::HouseNo]);
    }

    #[test]
    fn versions_are_chosen_by_month_or_by_number() {
        let first = btrc_templates()[0].effective_from;
        assert_eq!(btrc_template(None, first).unwrap().version, btrc_templates()[0].version);
        // A month before any template: the oldest one.
        assert_eq!(btrc_template(None, NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()).unwrap().version, 1);
        assert!(btrc_template(Some(99), first).is_err());
    }

    #[test]
    fn a_bad_template_is_refused() {
        let mut t = btrc_templates()[0].clone();
        t.columns[1].labels.insert("villa".into(), "Villa".into());
        assert!(t.check().is_err());
        let mut t = btrc_templates()[0].clone();
        t.columns[3].labels.insert("home".into(), "Home".into());
        assert!(t.check().is_err(), "labels on a free-text column");
        let mut t = btrc_templates()[0].clone();
        t.columns[6].date_format = Some("%Q".into());
        assert!(t.check().is_err());
        assert!(serde_json::from_str::<Template>(r#"{"report":"x","version":2,"title":"x","effective_from":"2027-01-01","columns":[{"header":"A","source":"shoe_size"}]}"#).is_err());
    }

    #[test]
    fn amounts_and_rates() {
        assert_eq!(mbps(10_000_000), "10");
        assert_eq!(mbps(2_500_000), "2.5");
        assert_eq!(mbps(512_000), "0.512");
        assert_eq!(crate::money::plain_decimal(100_050, "BDT"), "1000.50");
        assert_eq!(crate::money::plain_decimal(5_000, "UGX"), "5000");
        assert_eq!(crate::money::plain_decimal(-5, "BDT"), "-0.05");
    }
}
