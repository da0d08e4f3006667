//! How an SMS text travels: GSM 03.38 7-bit when every character is in the GSM alphabet (160
//! characters in one part, 153 per part when split), else UCS-2 (70 in one part, 67 per part;
//! Bangla is always UCS-2). Characters of the GSM extension table (`{ } [ ] ~ \ | ^ €` and form
//! feed) take two septets; a UCS-2 character outside the Basic Multilingual Plane (an emoji)
//! takes two units, and a split never cuts one in half.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmsEncoding {
    Gsm7,
    Ucs2,
}

/// What a text costs to send: its encoding, its length in the encoding's units (septets or
/// UTF-16 units) and how many parts the phone receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SmsShape {
    pub encoding: SmsEncoding,
    pub units: u32,
    pub parts: u32,
}

/// The GSM 03.38 basic character set (the default alphabet), as Unicode.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table: each is sent as an escape and the character (two septets).
const GSM_EXTENDED: &str = "\u{0C}^{}\\[~]|€";

fn gsm_septets(c: char) -> Option<u32> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

pub fn shape(text: &str) -> SmsShape {
    let septets: Option<u32> = text.chars().map(gsm_septets).sum();
    match septets {
        Some(units) => SmsShape { encoding: SmsEncoding::Gsm7, units, parts: parts_gsm(text, units) },
        None => {
            let units = text.encode_utf16().count() as u32;
            SmsShape { encoding: SmsEncoding::Ucs2, units, parts: parts_ucs2(text, units) }
        }
    }
}

fn parts_gsm(text: &str, units: u32) -> u32 {
    if units <= 160 {
        return u32::from(units > 0).max(1);
    }
    // A two-septet character is not split across parts.
    let mut parts = 1;
    let mut used = 0;
    for c in text.chars() {
        let n = gsm_septets(c).unwrap_or(1);
        if used + n > 153 {
            parts += 1;
            used = 0;
        }
        used += n;
    }
    parts
}

fn parts_ucs2(text: &str, units: u32) -> u32 {
    if units <= 70 {
        return 1;
    }
    // A surrogate pair is not split across parts.
    let mut parts = 1;
    let mut used = 0;
    for c in text.chars() {
        let n = c.len_utf16() as u32;
        if used + n > 67 {
            parts += 1;
            used = 0;
        }
        used += n;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_text_is_gsm7_and_splits_at_153() {
        assert_eq!(shape("Hello"), SmsShape { encoding: SmsEncoding::Gsm7, units: 5, parts: 1 });
        assert_eq!(shape(&"a".repeat(160)).parts, 1);
        assert_eq!(shape(&"a".repeat(161)).parts, 2);
        assert_eq!(shape(&"a".repeat(306)).parts, 2);
        assert_eq!(shape(&"a".repeat(307)).parts, 3);
        assert_eq!(shape("").parts, 1);
    }

    #[test]
    fn extension_characters_take_two_septets_and_stay_whole() {
        assert_eq!(shape("€5 {x}").units, 9);
        assert_eq!(shape(&"€".repeat(80)).parts, 1, "160 septets");
        // 306 septets would be two full parts, but the euro does not fit whole at the end of the
        // first: it opens the second, and the last `a` needs a third.
        let s = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(shape(&s), SmsShape { encoding: SmsEncoding::Gsm7, units: 306, parts: 3 });
    }

    #[test]
    fn bangla_and_emoji_are_ucs2() {
        let bn = "প্রিয় গ্রাহক, আপনার বিল ৫০০ টাকা।";
        let s = shape(bn);
        assert_eq!((s.encoding, s.parts), (SmsEncoding::Ucs2, 1));
        assert_eq!(s.units, bn.encode_utf16().count() as u32);
        assert_eq!(shape(&"ক".repeat(70)).parts, 1);
        assert_eq!(shape(&"ক".repeat(71)).parts, 2);
        assert_eq!(shape(&"ক".repeat(134)).parts, 2);
        assert_eq!(shape(&"ক".repeat(135)).parts, 3);
        // 36 emoji are 72 units: 33 fill the first part (66), the 34th would cut a pair there.
        assert_eq!(shape(&"😀".repeat(36)).parts, 2);
        assert_eq!(shape("Paid ✓").encoding, SmsEncoding::Ucs2);
    }
}
