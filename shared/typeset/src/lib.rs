//! Text on the product's PDFs (invoices, receipts, credit notes, voucher cards). Text that the
//! standard fonts can show (Latin-1) stays in Helvetica, which nothing has to embed. Anything else
//! (a Bengali customer name, an ISP's Bangla name) is shaped with rustybuzz, the Rust port of
//! HarfBuzz, so conjuncts, reordered vowel signs and marks come out as a reader expects, and drawn
//! by glyph id in Noto Sans Bengali (Bengali runs) and Noto Sans (the rest of such a line), both
//! under the SIL Open Font License (`fonts/OFL.txt`) and embedded only in a document that needs
//! them.

use printpdf::{BuiltinFont, IndirectFontRef, Mm, PdfDocumentReference, PdfLayerReference};

static BENGALI_REGULAR: &[u8] = include_bytes!("../fonts/NotoSansBengali-Regular.ttf");
static BENGALI_BOLD: &[u8] = include_bytes!("../fonts/NotoSansBengali-Bold.ttf");
static LATIN_REGULAR: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");
static LATIN_BOLD: &[u8] = include_bytes!("../fonts/NotoSans-Bold.ttf");

/// Points to millimetres.
const PT_MM: f32 = 25.4 / 72.0;

/// Whether the standard (WinAnsi) fonts show `s` as written.
pub fn standard_fonts_show(s: &str) -> bool {
    s.chars().all(|c| (c as u32) < 256 && !c.is_control())
}

/// What the standard fonts show of `s`: other characters as `?` (the fallback when typesetting
/// cannot run).
pub fn latin1(s: &str) -> String {
    s.chars().map(|c| if (c as u32) < 256 && !c.is_control() { c } else { '?' }).collect()
}

/// Characters drawn with the Bengali font: the Bengali block, the dandas, the joiners.
fn bengali(c: char) -> bool {
    matches!(c as u32, 0x0980..=0x09FF | 0x0964 | 0x0965 | 0x200C | 0x200D | 0x25CC)
}

/// One embedded font: its bytes for shaping and its reference in the document.
struct Embedded {
    data: &'static [u8],
    font: IndirectFontRef,
}

/// A document's fonts; the embedded ones are added on first use.
pub struct Typeset<'d> {
    doc: &'d PdfDocumentReference,
    regular: IndirectFontRef,
    bold: IndirectFontRef,
    /// (Bengali, Latin) x (regular, bold), by index `script * 2 + bold`.
    embedded: [Option<Embedded>; 4],
}

/// One shaped run: glyph ids with the TJ adjustments that place them, and its width in mm.
struct Run {
    font: usize,
    glyphs: Vec<(i64, u16)>,
    width_mm: f32,
}

#[derive(Debug)]
pub struct TypesetError(pub String);

impl std::fmt::Display for TypesetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "typesetting: {}", self.0)
    }
}

impl std::error::Error for TypesetError {}

impl<'d> Typeset<'d> {
    pub fn new(doc: &'d PdfDocumentReference) -> Result<Typeset<'d>, TypesetError> {
        let err = |e: printpdf::Error| TypesetError(e.to_string());
        Ok(Typeset {
            doc,
            regular: doc.add_builtin_font(BuiltinFont::Helvetica).map_err(err)?,
            bold: doc.add_builtin_font(BuiltinFont::HelveticaBold).map_err(err)?,
            embedded: [None, None, None, None],
        })
    }

    fn embedded(&mut self, index: usize) -> Result<&Embedded, TypesetError> {
        if self.embedded[index].is_none() {
            let data = [BENGALI_REGULAR, BENGALI_BOLD, LATIN_REGULAR, LATIN_BOLD][index];
            let font = self.doc.add_external_font(data).map_err(|e| TypesetError(e.to_string()))?;
            self.embedded[index] = Some(Embedded { data, font });
        }
        Ok(self.embedded[index].as_ref().expect("just added"))
    }

    /// Shapes `s` into runs by script, each in its font.
    fn shape(&mut self, s: &str, size: f32, bold: bool) -> Result<Vec<Run>, TypesetError> {
        let mut runs = Vec::new();
        let mut parts: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            // Spaces join the run they are in, so a Bengali name stays one shaped run.
            let b = if c == ' ' { parts.last().map(|(b, _)| *b).unwrap_or(false) } else { bengali(c) };
            match parts.last_mut() {
                Some((pb, text)) if *pb == b => text.push(c),
                _ => parts.push((b, c.to_string())),
            }
        }
        for (is_bengali, text) in parts {
            let index = if is_bengali { 0 } else { 2 } + usize::from(bold);
            let data = self.embedded(index)?.data;
            let face =
                rustybuzz::Face::from_slice(data, 0).ok_or_else(|| TypesetError("font does not parse".into()))?;
            let upem = f32::from(face.units_per_em() as u16);
            let mut buffer = rustybuzz::UnicodeBuffer::new();
            buffer.push_str(&text);
            let shaped = rustybuzz::shape(&face, &[], buffer);
            // PDF advances the pen by each glyph's own width (the font's W array, in 1/1000 em);
            // the shaper's positions (GPOS: marks, kerning) are reached with TJ adjustments.
            let scale = 1000.0 / upem;
            let (mut pen, mut drawn) = (0.0f32, 0.0f32);
            let mut glyphs = Vec::new();
            for (info, pos) in shaped.glyph_infos().iter().zip(shaped.glyph_positions()) {
                let gid = info.glyph_id as u16;
                let wanted = pen + pos.x_offset as f32 * scale;
                let adjust = ((drawn - wanted).round()) as i64;
                drawn -= adjust as f32;
                let own = face.glyph_hor_advance(rustybuzz::ttf_parser::GlyphId(gid)).unwrap_or(0) as f32;
                drawn += (own * scale).trunc();
                pen += pos.x_advance as f32 * scale;
                glyphs.push((adjust, gid));
            }
            runs.push(Run { font: index, glyphs, width_mm: pen / 1000.0 * size * PT_MM });
        }
        Ok(runs)
    }

    /// The width of `s` in mm at `size` points (exact for shaped text; Helvetica's average
    /// figure for the standard fonts).
    pub fn width_mm(&mut self, s: &str, size: f32, bold: bool) -> Result<f32, TypesetError> {
        if standard_fonts_show(s) {
            return Ok(s.chars().count() as f32 * size * 0.556 * PT_MM);
        }
        Ok(self.shape(s, size, bold)?.iter().map(|r| r.width_mm).sum())
    }

    /// Draws `s` with its baseline starting at (x, y).
    pub fn text(
        &mut self,
        layer: &PdfLayerReference,
        s: &str,
        size: f32,
        x: f32,
        y: f32,
        bold: bool,
    ) -> Result<(), TypesetError> {
        if standard_fonts_show(s) {
            let font = if bold { &self.bold } else { &self.regular };
            layer.use_text(s, size, Mm(x), Mm(y), font);
            return Ok(());
        }
        let mut x = x;
        for run in self.shape(s, size, bold)? {
            let font = &self.embedded[run.font].as_ref().expect("shaped runs have their font").font;
            layer.begin_text_section();
            layer.set_font(font, size);
            layer.set_text_cursor(Mm(x), Mm(y));
            layer.write_positioned_codepoints(run.glyphs.iter().copied());
            layer.end_text_section();
            x += run.width_mm;
        }
        Ok(())
    }

    /// The same text drawn letter by letter through the fonts' character map, without shaping:
    /// what a PDF library without a shaper prints. Only for tests that show what shaping does.
    #[doc(hidden)]
    pub fn unshaped_for_tests(
        &mut self,
        layer: &PdfLayerReference,
        s: &str,
        size: f32,
        x: f32,
        y: f32,
    ) -> Result<(), TypesetError> {
        let mut x = x;
        for c in s.chars() {
            let index = if bengali(c) { 0 } else { 2 };
            let e = self.embedded(index)?;
            let face = rustybuzz::Face::from_slice(e.data, 0).ok_or_else(|| TypesetError("font".into()))?;
            let gid = face.glyph_index(c).map(|g| g.0).unwrap_or(0);
            let adv = face.glyph_hor_advance(rustybuzz::ttf_parser::GlyphId(gid)).unwrap_or(0) as f32
                / f32::from(face.units_per_em() as u16);
            layer.begin_text_section();
            layer.set_font(&e.font, size);
            layer.set_text_cursor(Mm(x), Mm(y));
            layer.write_codepoints([gid]);
            layer.end_text_section();
            x += adv * size * PT_MM;
        }
        Ok(())
    }

    /// Right-aligned at `x`.
    pub fn text_right(
        &mut self,
        layer: &PdfLayerReference,
        s: &str,
        size: f32,
        x: f32,
        y: f32,
        bold: bool,
    ) -> Result<(), TypesetError> {
        let w = self.width_mm(s, size, bold)?;
        self.text(layer, s, size, x - w, y, bold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bangla_conjuncts_shape_into_fewer_glyphs_than_letters() {
        let face = rustybuzz::Face::from_slice(BENGALI_REGULAR, 0).unwrap();
        // ক্ষ (ka + virama + ssa) is one conjunct glyph; কি puts the i-sign before the ka.
        let mut b = rustybuzz::UnicodeBuffer::new();
        b.push_str("ক্ষ");
        let shaped = rustybuzz::shape(&face, &[], b);
        assert_eq!(shaped.len(), 1, "ka-virama-ssa is one glyph");
        let mut b = rustybuzz::UnicodeBuffer::new();
        b.push_str("কি");
        let shaped = rustybuzz::shape(&face, &[], b);
        let ka = face.glyph_index('ক').unwrap().0 as u32;
        assert_eq!(shaped.glyph_infos()[1].glyph_id, ka, "the i-sign is drawn before the ka");
    }

    #[test]
    fn latin1_stays_in_the_standard_fonts() {
        assert!(standard_fonts_show("Rahim Uddin, Mirpur-10 (Dhaka) 1,200.00 Tk"));
        assert!(!standard_fonts_show("রহিম উদ্দিন"));
        assert_eq!(latin1("Rahim Café"), "Rahim Café");
        assert_eq!(latin1("রহিম"), "????");
    }
}
