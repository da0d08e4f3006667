//! The reports as spreadsheets, for `?format=csv` or `?format=xlsx` on `/v1/reports/...`.

use domain::Result;
use domain::export::{Format, Sheet};
use kernel::projections::reports::{CollectionsReport, CommissionReport, DuesReport, RevenueReport};

fn sheet_of(format: Format, header: &[&str], rows: Vec<Vec<String>>) -> Result<Vec<u8>> {
    let mut sheet = Sheet::new(format, header)?;
    for r in rows {
        sheet.row(&r)?;
    }
    sheet.finish()
}

/// One row per day and per dimension: `date,dimension,key,amount,count`.
pub fn collections_sheet(r: &CollectionsReport, format: Format) -> Result<Vec<u8>> {
    let mut rows: Vec<Vec<String>> = r
        .by_day
        .iter()
        .map(|d| vec![d.key.clone(), "day".into(), String::new(), d.amount.to_string(), d.count.to_string()])
        .collect();
    for (dim, list) in [("method", &r.by_method), ("collector", &r.by_collector), ("operator", &r.by_operator)] {
        for a in list {
            rows.push(vec![String::new(), dim.into(), a.key.clone(), a.amount.to_string(), a.count.to_string()]);
        }
    }
    rows.push(vec![String::new(), "refunds".into(), String::new(), r.refunds.to_string(), String::new()]);
    sheet_of(format, &["date", "dimension", "key", "amount", "count"], rows)
}

pub fn revenue_sheet(r: &RevenueReport, format: Format) -> Result<Vec<u8>> {
    let mut rows = vec![];
    for m in &r.months {
        rows.push(vec![
            m.month.clone(),
            "total".into(),
            String::new(),
            m.net.to_string(),
            m.tax.to_string(),
            m.credited.to_string(),
        ]);
        for p in &m.by_package {
            rows.push(vec![
                m.month.clone(),
                p.package.clone(),
                p.name.clone().unwrap_or_default(),
                p.net.to_string(),
                String::new(),
                String::new(),
            ]);
        }
    }
    sheet_of(format, &["month", "package", "name", "net", "tax", "credited"], rows)
}

pub fn dues_sheet(r: &DuesReport, format: Format) -> Result<Vec<u8>> {
    let rows = [
        ("current", r.current),
        ("0-30", r.days_0_30),
        ("31-60", r.days_31_60),
        ("61-90", r.days_61_90),
        ("90+", r.days_over_90),
        ("total", r.total),
    ]
    .into_iter()
    .map(|(b, a)| vec![b.to_string(), a.to_string()])
    .collect();
    sheet_of(format, &["bucket", "amount"], rows)
}

/// One row per month and earner: `month,operator_id,name,level,path,amount,count`.
pub fn commissions_sheet(r: &CommissionReport, format: Format) -> Result<Vec<u8>> {
    let mut rows = vec![];
    for m in &r.months {
        for o in &m.by_operator {
            rows.push(vec![
                m.month.clone(),
                o.operator_id.to_string(),
                o.name.clone().unwrap_or_default(),
                match o.level {
                    domain::commission::Level::Operator => "operator".into(),
                    domain::commission::Level::SubOperator => "sub_operator".into(),
                },
                o.path.clone(),
                o.amount.to_string(),
                o.count.to_string(),
            ]);
        }
    }
    sheet_of(format, &["month", "operator_id", "name", "level", "path", "amount", "count"], rows)
}
