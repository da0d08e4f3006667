//! `GET /v1/invoices/{id}/pdf`: the invoice as a PDF (printpdf; text through `typeset`: Helvetica
//! for Latin-1, shaped Noto fonts embedded for a Bengali name or address): the ISP, the customer,
//! the lines with discount and tax, the totals and whether it is paid. Dates are the ISP's local
//! dates.

use crate::books::get_invoice;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::actor::Actor;
use domain::customer::Customer;
use domain::cycle::{local_date, parse_tz};
use domain::invoice::{Invoice, InvoiceStatus};
use domain::money::format_minor;
use domain::tenant::Tenant;
use domain::{Error, Result};
use kernel::App;
use kernel::support::{StoreResultExt, tenant_of};
use printpdf::{BuiltinFont, IndirectFontRef, Mm, PdfDocument, PdfLayerReference};
use std::cell::RefCell;
use store::keys;
use typeset::{Typeset, latin1};
use uuid::Uuid;

/// The invoice's PDF and its file name.
pub async fn invoice_pdf(app: &App, actor: &Actor, id: Uuid) -> Result<(String, Vec<u8>)> {
    let inv = get_invoice(app, actor, id).await?;
    let tid = actor.tenant()?;
    let tk = keys::tenant(tid, None);
    let ck = keys::customer(tid, inv.customer_id, None);
    let mut got = app.store.batch_get(&[&tk, &ck]).await.or_500()?.into_iter();
    let tenant = tenant_of(got.next().flatten())?;
    let customer: Option<crm::customers::CustomerRecord> = kernel::support::decoded(got.next().flatten())?;
    let customer = customer.map(|c| c.customer).ok_or_else(|| Error::not_found("customer"))?;
    let name = format!("{}.pdf", inv.number.clone().unwrap_or_else(|| format!("draft-{}", inv.id)));
    Ok((name, render(&tenant, &customer, &inv)?))
}

struct Page<'a, 'd> {
    layer: PdfLayerReference,
    fonts: &'a RefCell<Typeset<'d>>,
    /// Only if typesetting fails (a bundled font that does not parse): Latin-1 in Helvetica.
    fallback: &'a IndirectFontRef,
    y: f32,
}

impl Page<'_, '_> {
    fn text(&self, s: &str, size: f32, x: f32, bold: bool) {
        if self.fonts.borrow_mut().text(&self.layer, s, size, x, self.y, bold).is_err() {
            self.layer.use_text(latin1(s), size, Mm(x), Mm(self.y), self.fallback);
        }
    }

    /// Right-aligned at `x`.
    fn amount(&self, s: &str, size: f32, x: f32, bold: bool) {
        let width = self.fonts.borrow_mut().width_mm(s, size, bold).unwrap_or(0.0);
        self.text(s, size, x - width, bold);
    }

    fn down(&mut self, mm: f32) {
        self.y -= mm;
    }
}

fn date(tz: Tz, t: Option<DateTime<Utc>>) -> String {
    t.map(|t| local_date(tz, t).format("%d %b %Y").to_string()).unwrap_or_else(|| "-".into())
}

fn status_label(s: InvoiceStatus) -> &'static str {
    match s {
        InvoiceStatus::Draft => "DRAFT",
        InvoiceStatus::Issued => "UNPAID",
        InvoiceStatus::PartiallyPaid => "PARTIALLY PAID",
        InvoiceStatus::Paid => "PAID",
        InvoiceStatus::Overdue => "OVERDUE",
        InvoiceStatus::Void => "VOID",
    }
}

pub fn render(tenant: &Tenant, customer: &Customer, inv: &Invoice) -> Result<Vec<u8>> {
    let pdf_err = |e: printpdf::Error| Error::Internal(format!("pdf: {e}"));
    let title = inv.number.clone().unwrap_or_else(|| "Draft invoice".into());
    let (doc, page, layer) = PdfDocument::new(latin1(&title), Mm(210.0), Mm(297.0), "invoice");
    let fallback = doc.add_builtin_font(BuiltinFont::Helvetica).map_err(pdf_err)?;
    let fonts = RefCell::new(Typeset::new(&doc).map_err(|e| Error::Internal(e.to_string()))?);
    let tz = parse_tz(&tenant.time_zone);
    let cur = &inv.currency;
    let money = |a: i64| format_minor(a, cur);
    let mut p = Page { layer: doc.get_page(page).get_layer(layer), fonts: &fonts, fallback: &fallback, y: 275.0 };

    p.text(&tenant.name, 18.0, 20.0, true);
    p.amount("INVOICE", 18.0, 190.0, true);
    p.down(8.0);
    p.text(&tenant.country, 9.0, 20.0, false);
    p.amount(&title, 11.0, 190.0, false);
    p.down(6.0);
    p.amount(status_label(inv.status), 11.0, 190.0, true);
    p.down(12.0);

    p.text("Bill to", 9.0, 20.0, true);
    p.text("Issued", 9.0, 120.0, true);
    p.amount(&date(tz, inv.issued_at), 9.0, 190.0, false);
    p.down(5.0);
    p.text(&customer.name, 11.0, 20.0, false);
    p.text("Due", 9.0, 120.0, true);
    p.amount(&date(tz, inv.due_date), 9.0, 190.0, false);
    p.down(5.0);
    p.text(&customer.phone, 9.0, 20.0, false);
    if let Some(period) = inv.period {
        p.text("Period", 9.0, 120.0, true);
        let end = period.end - chrono::Duration::seconds(1);
        p.amount(&format!("{} - {}", date(tz, Some(period.start)), date(tz, Some(end))), 9.0, 190.0, false);
    }
    p.down(5.0);
    if let Some(a) = &customer.address {
        p.text(a, 9.0, 20.0, false);
    }
    p.text("Customer", 9.0, 120.0, true);
    p.amount(&customer.username, 9.0, 190.0, false);
    p.down(12.0);

    let header = |p: &Page| {
        p.text("Description", 9.0, 20.0, true);
        p.amount("Amount", 9.0, 125.0, true);
        p.amount("Discount", 9.0, 145.0, true);
        p.amount(&format!("Tax{}", if inv.tax_inclusive { " (incl.)" } else { "" }), 9.0, 167.0, true);
        p.amount(&format!("Total ({cur})"), 9.0, 190.0, true);
    };
    header(&p);
    p.down(6.0);
    for line in &inv.lines {
        if p.y < 40.0 {
            let (next, next_layer) = doc.add_page(Mm(210.0), Mm(297.0), "invoice");
            p.layer = doc.get_page(next).get_layer(next_layer);
            p.y = 275.0;
            header(&p);
            p.down(6.0);
        }
        let mut d = line.description.clone();
        if d.chars().count() > 60 {
            d = d.chars().take(57).collect::<String>() + "...";
        }
        p.text(&d, 9.0, 20.0, false);
        p.amount(&money(line.amount), 9.0, 125.0, false);
        p.amount(&money(-line.discount), 9.0, 145.0, false);
        p.amount(&format!("{} ({}%)", money(line.tax), format_minor(line.tax_rate_bps, "USD")), 9.0, 167.0, false);
        p.amount(&money(line.total), 9.0, 190.0, false);
        p.down(5.5);
    }
    p.down(6.0);
    let rows: Vec<(&str, i64, bool)> = vec![
        ("Subtotal", inv.subtotal, false),
        ("Discount", -inv.discount, false),
        (if inv.tax_inclusive { "Tax included" } else { "Tax" }, inv.tax, false),
        ("Total", inv.total, true),
        ("Paid", -inv.amount_paid, false),
        ("Credited", -inv.amount_credited, false),
        ("Amount due", inv.amount_due, true),
    ];
    for (label, value, strong) in rows {
        if value == 0 && !strong {
            continue;
        }
        p.text(label, 10.0, 120.0, strong);
        p.amount(&format!("{cur} {}", money(value)), 10.0, 190.0, strong);
        p.down(6.0);
    }
    if let Some(reason) = &inv.void_reason {
        p.down(4.0);
        p.text(&format!("Void: {reason}"), 9.0, 20.0, false);
    }
    drop(p);
    drop(fonts);
    let bytes = doc.save_to_bytes().map_err(pdf_err)?;
    Ok(bytes)
}
