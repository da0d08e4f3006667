//! `GET /v1/voucher-batches/{id}/pdf`: a batch as A4 sheets of cards to cut, 24 to a page (3 x 8):
//! the ISP's name, the plan, price, validity and data, the code (and password), and a QR code of
//! the hotspot's login URL with the code filled in, so a phone's camera logs in. The QR codes are
//! 1-bit images (about 200 bytes each), not thousands of
//! rectangles: a 10,000-voucher batch stays a file a print shop takes. A Bangla ISP name prints
//! shaped (`typeset`).

use crate::batches::{load_batch, voucher_password};
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
use typeset::{Typeset, latin1};
use uuid::Uuid;

const COLUMNS: usize = 3;
const ROWS: usize = 8;
pub const CARDS_PER_PAGE: usize = COLUMNS * ROWS;
const CARD_W: f32 = 66.0;
const CARD_H: f32 = 35.0;
const LEFT: f32 = 6.0;
const TOP: f32 = 297.0 - 8.5;
const QR_MM: f32 = 25.0;

pub use domain::voucher::login_link;

/// The printed sheets of a batch and the file's name.
pub async fn batch_pdf(app: &App, actor: &Actor, id: Uuid, part: Option<(u32, u32)>) -> Result<(String, Vec<u8>)> {
    actor.require(Permission::SubscriptionSecretsRead)?;
    let batch = load_batch(app, actor, id).await?;
    let (from, to) = printed_part(batch.quantity, part)?;
    let tenant = load_tenant(app, batch.tenant_id).await?;
    let vouchers = crate::batches::batch_vouchers_between(app, batch.tenant_id, id, from - 1, to - 1).await?;
    let mut cards = Vec::with_capacity(vouchers.len());
    for v in &vouchers {
        cards.push((v.clone(), voucher_password(app, v)?));
    }
    let whole = from == 1 && to == batch.quantity;
    let part = if whole { String::new() } else { format!("-{from}-{to}") };
    let name = format!("vouchers-{}-{}{part}.pdf", batch.plan_name.to_lowercase(), &batch.id.to_string()[..8]);
    Ok((name, render(&tenant.name, &batch, &cards)?))
}

/// The most cards one PDF holds: it renders within the API's 29 s and its file stays under
/// Lambda's 6 MB answer (1,000 cards: about 1 MB). A larger batch prints in parts.
pub const CARDS_PER_PDF: u32 = 1_000;

/// The cards a PDF holds (1-based, as printed): the part asked for, or the whole batch when it
/// fits in one file.
pub fn printed_part(quantity: u32, part: Option<(u32, u32)>) -> Result<(u32, u32)> {
    match part {
        None if quantity <= CARDS_PER_PDF => Ok((1, quantity.max(1))),
        None => {
            let parts: Vec<String> = (0..quantity.div_ceil(CARDS_PER_PDF))
                .map(|i| format!("from={}&to={}", i * CARDS_PER_PDF + 1, ((i + 1) * CARDS_PER_PDF).min(quantity)))
                .collect();
            Err(domain::Error::field(
                "from",
                format!("{quantity} cards print in parts of at most {CARDS_PER_PDF}: {}", parts.join(", ")),
            ))
        }
        Some((from, to)) if from < 1 || to < from || to > quantity => {
            Err(domain::Error::field("from", format!("must be 1 to {quantity}, and `to` at least `from`")))
        }
        Some((from, to)) if to - from >= CARDS_PER_PDF => {
            Err(domain::Error::field("to", format!("at most {CARDS_PER_PDF} cards in one file")))
        }
        Some(p) => Ok(p),
    }
}

use domain::voucher::validity_text as validity;

fn data(mb: Option<u64>) -> String {
    match mb {
        None => "Unlimited data".into(),
        Some(mb) if mb % 1024 == 0 => format!("{} GB", mb / 1024),
        Some(mb) => format!("{mb} MB"),
    }
}

/// The QR code as a 1-bit image (0 black, 1 white, rows padded to whole bytes), one pixel per
/// module with a 2-module quiet zone: about 200 bytes a code.
fn qr_image(text: &str) -> Result<(ImageXObject, usize)> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::Internal(format!("qr: {e}")))?;
    let n = code.width();
    let side = n + 4;
    let stride = side.div_ceil(8);
    let mut bits = vec![0xFFu8; stride * side];
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = (i % n + 2, i / n + 2);
            bits[y * stride + x / 8] &= !(0x80 >> (x % 8));
        }
    }
    let image = ImageXObject {
        width: Px(side),
        height: Px(side),
        color_space: ColorSpace::Greyscale,
        bits_per_component: ColorBits::Bit1,
        interpolate: false,
        image_data: bits,
        image_filter: None,
        smask: None,
        clipping_bbox: None,
    };
    Ok((image, side))
}

struct Card<'a, 'd> {
    layer: &'a PdfLayerReference,
    fonts: &'a mut Typeset<'d>,
    /// Only if typesetting fails (a bundled font that does not parse): Latin-1 in Helvetica.
    fallback: &'a IndirectFontRef,
    x: f32,
    y: f32,
}

impl Card<'_, '_> {
    fn text(&mut self, s: &str, size: f32, dx: f32, dy: f32, bold: bool) {
        let (x, y) = (self.x + dx, self.y - dy);
        if self.fonts.text(self.layer, s, size, x, y, bold).is_err() {
            self.layer.use_text(latin1(s), size, Mm(x), Mm(y), self.fallback);
        }
    }
}

/// Renders the cards (voucher and its password, in print order).
pub fn render(isp_name: &str, batch: &VoucherBatch, cards: &[(Voucher, String)]) -> Result<Vec<u8>> {
    let pdf_err = |e: printpdf::Error| Error::Internal(format!("pdf: {e}"));
    let title = format!("{} vouchers - {}", batch.plan_name, isp_name);
    let (doc, first_page, first_layer) = PdfDocument::new(latin1(&title), Mm(210.0), Mm(297.0), "cards");
    let fallback = doc.add_builtin_font(BuiltinFont::Helvetica).map_err(pdf_err)?;
    let mut fonts = Typeset::new(&doc).map_err(|e| Error::Internal(e.to_string()))?;
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
        let mut card = Card { layer: &layer, fonts: &mut fonts, fallback: &fallback, x, y };
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
    drop(fonts);
    doc.save_to_bytes().map_err(pdf_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_batch_prints_in_parts_of_a_thousand() {
        assert_eq!(printed_part(200, None).unwrap(), (1, 200));
        assert_eq!(printed_part(1_000, None).unwrap(), (1, 1_000));
        let Err(domain::Error::Validation(f)) = printed_part(2_500, None) else { panic!("printed whole") };
        assert!(f[0].message.contains("from=1&to=1000, from=1001&to=2000, from=2001&to=2500"), "{}", f[0].message);
        assert_eq!(printed_part(2_500, Some((1_001, 2_000))).unwrap(), (1_001, 2_000));
        assert!(printed_part(2_500, Some((1, 1_001))).is_err());
        assert!(printed_part(2_500, Some((0, 5))).is_err());
        assert!(printed_part(2_500, Some((10, 9))).is_err());
        assert!(printed_part(2_500, Some((2_400, 2_501))).is_err());
    }
    use domain::voucher::{Placement, ValidityFrom, VoucherStatus};

    #[test]
    fn sheets_hold_24_cards_a_page_with_a_qr_code_each() {
        let at = chrono::DateTime::UNIX_EPOCH;
        let batch = VoucherBatch {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            plan_id: Uuid::nil(),
            plan_name: "1GB-DAILY".into(),
            validity_hours: 24,
            validity_from: ValidityFrom::FirstLogin,
            data_limit_mb: Some(1024),
            price: 2000,
            currency: "BDT".into(),
            quantity: 30,
            prefix: "HS".into(),
            code_length: 8,
            password_mode: PasswordMode::Separate,
            placement: Placement::All,
            router_ids: vec![],
            operator_id: None,
            note: None,
            login_url: domain::voucher::DEFAULT_LOGIN_URL.into(),
            buyer_name: None,
            buyer_phone: None,
            send_sms: false,
            chunks: 1,
            created_by: Uuid::nil(),
            created_at: at,
        };
        let cards: Vec<(Voucher, String)> = (0..30)
            .map(|i| {
                let v = Voucher {
                    id: Uuid::nil(),
                    tenant_id: Uuid::nil(),
                    batch_id: Uuid::nil(),
                    seq: i,
                    code: format!("HSABCD{i:04}"),
                    password_sealed: Some("sealed".into()),
                    plan_id: Uuid::nil(),
                    status: VoucherStatus::Unused,
                    operator_id: None,
                    created_at: at,
                    activated_at: None,
                    first_login_at: None,
                    expires_at: None,
                    bytes_used: 0,
                    status_changed_at: None,
                    sold_at: None,
                    sold_by: None,
                    sold_price: None,
                    buyer_name: None,
                    buyer_phone: None,
                    version: 1,
                };
                (v, format!("PW{i:06}"))
            })
            .collect();
        let pdf = render("ডেমো আইএসপি Demo ISP", &batch, &cards).unwrap();
        if let Ok(path) = std::env::var("VOUCHER_CARDS_PDF") {
            std::fs::write(path, &pdf).unwrap();
        }
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(
            text.matches("/Subtype /Image").count() + text.matches("/Subtype/Image").count(),
            30,
            "a QR code per card"
        );
        assert_eq!(
            login_link("http://10.5.50.1/login", "HSAB", "PW"),
            "http://10.5.50.1/login?username=HSAB&password=PW"
        );
    }
}
