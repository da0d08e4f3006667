//! Bangla on a page, checked as a reader sees it: the page is rendered to an image by poppler's
//! `pdftoppm` and compared with the reference image in `tests/reference/`; the same words drawn
//! letter by letter (no shaping) must look different, so the check sees what shaping does.

use printpdf::{Mm, PdfDocument};
use std::path::{Path, PathBuf};
use std::process::Command;

const LINE: &str = "গ্রাহক: রহিম উদ্দিন (Rahim) — ক্ষমা, কি, স্ত্রী, ৳১,২০০";

fn page(shaped: bool) -> Vec<u8> {
    let (doc, page, layer) = PdfDocument::new("bangla", Mm(120.0), Mm(20.0), "text");
    let layer = doc.get_page(page).get_layer(layer);
    let mut t = typeset::Typeset::new(&doc).unwrap();
    if shaped {
        t.text(&layer, LINE, 12.0, 4.0, 8.0, false).unwrap();
    } else {
        t.unshaped_for_tests(&layer, LINE, 12.0, 4.0, 8.0).unwrap();
    }
    doc.save_to_bytes().unwrap()
}

/// The page at 100 dpi as 8-bit grey pixels (PGM), through pdftoppm.
fn render(pdf: &[u8], dir: &Path, name: &str) -> (usize, usize, Vec<u8>) {
    let file = dir.join(format!("{name}.pdf"));
    std::fs::write(&file, pdf).unwrap();
    let out = dir.join(name);
    let status = Command::new("pdftoppm")
        .args(["-r", "100", "-gray", "-singlefile"])
        .arg(&file)
        .arg(&out)
        .status()
        .expect("pdftoppm runs (make test installs poppler-utils)");
    assert!(status.success());
    read_pgm(&std::fs::read(out.with_extension("pgm")).unwrap())
}

fn read_pgm(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    // "P5\n<w> <h>\n255\n" then the pixels.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).to_string());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, bytes[i + 1..].to_vec())
}

/// Share of pixels whose ink differs by more than a third of the grey range.
fn difference(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).filter(|(x, y)| (**x as i16 - **y as i16).abs() > 85).count() as f64 / a.len() as f64
}

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/bangla-line.pgm")
}

#[test]
fn a_bangla_line_prints_as_its_reference_and_unshaped_text_does_not() {
    let dir = std::env::temp_dir().join(format!("typeset-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (w, h, shaped) = render(&page(true), &dir, "shaped");
    if std::env::var("TYPESET_WRITE_REFERENCE").is_ok() {
        std::fs::create_dir_all(reference().parent().unwrap()).unwrap();
        std::fs::copy(dir.join("shaped.pgm"), reference()).unwrap();
    }
    let (rw, rh, expected) = read_pgm(&std::fs::read(reference()).expect("the reference image"));
    assert_eq!((w, h), (rw, rh));
    let off = difference(&shaped, &expected);
    assert!(off < 0.002, "{:.4} of the pixels differ from the reference", off);
    let ink = shaped.iter().filter(|p| **p < 128).count();
    assert!(ink > 800, "the line is drawn ({ink} dark pixels)");
    let (_, _, unshaped) = render(&page(false), &dir, "unshaped");
    assert!(difference(&unshaped, &expected) > 0.005, "letter-by-letter text would not pass for shaped text");
    std::fs::remove_dir_all(&dir).ok();
}
