//! `GET /v1/voucher-batches/{id}/pdf`: a batch as A4 sheets of cards to cut, 24 to a page (3 x 8):
//! the ISP's name, the plan, price, validity and data, the code (and password), and a QR code of
//! the hotspot's login URL with the code filled in, so a phone's camera logs in. The QR codes are
//! 1-bit-per-module greyscale images (a few hundred bytes each once compressed), not thousands of
//! rectangles: a 10,000-voucher batch stays a file a print shop takes.

use crate::batches::{batch_vouchers, load_batch, voucher_password};
use domain::actor::Actor;
use domain::money::format_minor;
use domain::role::Permission;
use domain::voucher::{PasswordMode, Voucher, VoucherBatch};
use domain::{Error, Result};
use kernel::App;
use kernel::support::load_tenant;
use printpdf::{
    BuiltinFont, ColorBits, ColorSpace, Image, ImageTransform, ImageXObject, IndirectFontRef, Line, Mm, PdfDocument,
    PdfLayerReference, Point, Px,
};
use uuid::Uuid;

const COLUMNS: usize = 3;
const ROWS: usize = 8;
pub const CARDS_PER_PAGE: usize = COLUMNS * ROWS;
const CARD_W: f32 = 66.0;
const CARD_H: f32 = 35.0;
const LEFT: f32 = 6.0;
const TOP: f32 = 297.0 - 8.5;
const QR_MM: f32 = 25.0;

/// The standard fonts speak Latin-1 (WinAnsi): other characters are shown as `?`.
fn latin1(s: &str) -> String {
    s.chars().map(|c| if (c as u32) < 256 && !c.is_control() { c } else { '?' }).collect()
}

/// What the QR code of a voucher opens: the hotspot's login page with the code (and password).
pub fn login_link(login_url: &str, code: &str, password: &str) -> String {
    let sep = if login_url.contains('?') { '&' } else { '?' };
    format!("{login_url}{sep}username={code}&password={password}")
}

/// The printed sheets of a batch and the file's name.
pub async fn batch_pdf(app: &App, actor: &Actor, id: Uuid) -> Result<(String, Vec<u8>)> {
    actor.require(Permission::SubscriptionSecretsRead)?;
    let batch = load_batch(app, actor, id).await?;
    let tenant = load_tenant(app, batch.tenant_id).await?;
    let vouchers = batch_vouchers(app, batch.tenant_id, id).await?;
    let mut cards = Vec::with_capacity(vouchers.len());
    for v in &vouchers {
        cards.push((v.clone(), voucher_password(app, v)?));
    }
    let name = format!("vouchers-{}-{}.pdf", batch.plan_name.to_lowercase(), &batch.id.to_string()[..8]);
    Ok((name, render(&tenant.name, &batch, &cards)?))
}

fn validity(hours: u32) -> String {
    match hours {
        h if h % 24 == 0 && h >= 24 => {
            let d = h / 24;
            format!("{d} day{}", if d == 1 { "" } else { "s" })
        }
        h => format!("{h} hour{}", if h == 1 { "" } else { "s" }),
    }
}

fn data(mb: Option<u64>) -> String {
    match mb {
        None => "Unlimited data".into(),
        Some(mb) if mb % 1024 == 0 => format!("{} GB", mb / 1024),
        Some(mb) => format!("{mb} MB"),
    }
}

/// The QR code as a greyscale image, one pixel per module with a 2-module quiet zone.
fn qr_image(text: &str) -> Result<(ImageXObject, usize)> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::Internal(format!("qr: {e}")))?;
    let n = code.width();
    let side = n + 4;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = (i % n, i / n);
            pixels[(y + 2) * side + x + 2] = 0;
        }
    }
    let image = ImageXObject {
        width: Px(side),
        height: Px(side),
        color_space: ColorSpace::Greyscale,
        bits_per_component: ColorBits::Bit8,
        interpolate: false,
        image_data: pixels,
        image_filter: None,
        smask: None,
        clipping_bbox: None,
    };
    Ok((image, side))
}

struct Card<'a> {
    layer: &'a PdfLayerReference,
    regular: &'a IndirectFontRef,
    bold: &'a IndirectFontRef,
    x: f32,
    y: f32,
}

impl Card<'_> {
    fn text(&self, s: &str, size: f32, dx: f32, dy: f32, bold: bool) {
        let font = if bold { self.bold } else { self.regular };
        self.layer.use_text(latin1(s), size, Mm(self.x + dx), Mm(self.y - dy), font);
    }
}

/// Renders the cards (voucher and its password, in print order).
pub fn render(isp_name: &str, batch: &VoucherBatch, cards: &[(Voucher, String)]) -> Result<Vec<u8>> {
    let pdf_err = |e: printpdf::Error| Error::Internal(format!("pdf: {e}"));
    let title = format!("{} vouchers - {}", batch.plan_name, isp_name);
    let (doc, first_page, first_layer) = PdfDocument::new(latin1(&title), Mm(210.0), Mm(297.0), "cards");
    let regular = doc.add_builtin_font(BuiltinFont::Helvetica).map_err(pdf_err)?;
    let bold = doc.add_builtin_font(BuiltinFont::HelveticaBold).map_err(pdf_err)?;
    let price = format_minor(batch.price, &batch.currency);
    let terms = format!("{} - {}", validity(batch.validity_hours), data(batch.data_limit_mb));
    let mut layer = doc.get_page(first_page).get_layer(first_layer);
    for (i, (v, password)) in cards.iter().enumerate() {
        let slot = i % CARDS_PER_PAGE;
        if i > 0 && slot == 0 {
            let (page, l) = doc.add_page(Mm(210.0), Mm(297.0), "cards");
            layer = doc.get_page(page).get_layer(l);
        }
        let (col, row) = (slot % COLUMNS, slot / COLUMNS);
        let x = LEFT + col as f32 * CARD_W;
        let y = TOP - row as f32 * CARD_H;
        // The cutting frame.
        layer.set_outline_thickness(0.2);
        layer.add_line(Line {
            points: vec![
                (Point::new(Mm(x), Mm(y)), false),
                (Point::new(Mm(x + CARD_W), Mm(y)), false),
                (Point::new(Mm(x + CARD_W), Mm(y - CARD_H)), false),
                (Point::new(Mm(x), Mm(y - CARD_H)), false),
            ],
            is_closed: true,
        });
        let card = Card { layer: &layer, regular: &regular, bold: &bold, x, y };
        let mut name = isp_name.to_string();
        if name.chars().count() > 24 {
            name = name.chars().take(23).collect::<String>() + ".";
        }
        card.text(&name, 8.0, 2.5, 5.0, true);
        card.text(&batch.plan_name, 7.5, 2.5, 9.5, false);
        card.text(&price, 9.0, 2.5, 14.0, true);
        card.text(&terms, 6.5, 2.5, 18.0, false);
        card.text(&format!("Code: {}", v.code), 9.5, 2.5, 24.5, true);
        if batch.password_mode == PasswordMode::Separate {
            card.text(&format!("Password: {password}"), 8.0, 2.5, 29.0, false);
        }
        card.text(&format!("#{}", v.seq + 1), 5.5, 2.5, 33.0, false);
        let (image, side) = qr_image(&login_link(&batch.login_url, &v.code, password))?;
        let dpi = side as f32 / (QR_MM / 25.4);
        Image::from(image).add_to_layer(
            layer.clone(),
            ImageTransform {
                translate_x: Some(Mm(x + CARD_W - QR_MM - 2.0)),
                translate_y: Some(Mm(y - CARD_H + 5.0)),
                dpi: Some(dpi),
                ..Default::default()
            },
        );
    }
    doc.save_to_bytes().map_err(pdf_err)
}
