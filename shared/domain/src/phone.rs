//! Phone numbers are stored in E.164 (`+8801712345678`), parsed with the tenant's default country so
//! staff can type numbers the local way (`01712-345678`).

use phonenumber::{Mode, country};

/// Returns the E.164 form, or None when the number is not a valid number.
pub fn to_e164(raw: &str, default_country: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.len() > 32 {
        return None;
    }
    // A number in international form needs no region (and some regions' rules reject it).
    let region: Option<country::Id> = if trimmed.starts_with('+') { None } else { default_country.parse().ok() };
    let number = phonenumber::parse(region, trimmed).ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    Some(number.format().mode(Mode::E164).to_string())
}

pub fn is_known_country(code: &str) -> bool {
    code.len() == 2 && code.parse::<country::Id>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_forms_become_e164() {
        assert_eq!(to_e164("01712-345678", "BD").as_deref(), Some("+8801712345678"));
        assert_eq!(to_e164("+880 1712 345678", "ID").as_deref(), Some("+8801712345678"));
        assert_eq!(to_e164("0812-3456-7890", "ID").as_deref(), Some("+6281234567890"));
        assert_eq!(to_e164("0712 345678", "KE").as_deref(), Some("+254712345678"));
        assert_eq!(to_e164("+8801711999887", "US").as_deref(), Some("+8801711999887"));
    }

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(to_e164("12", "BD"), None);
        assert_eq!(to_e164("not a phone", "BD"), None);
        assert_eq!(to_e164("", "BD"), None);
        assert!(is_known_country("BD"));
        assert!(!is_known_country("XX"));
    }
}

/// The national significant number of an E.164 number (`+8801712345678` -> `1712345678`): what
/// phone search matches, since staff type numbers with or without the country code and trunk 0.
pub fn national_digits(e164: &str) -> String {
    match phonenumber::parse(None, e164) {
        Ok(n) => n.national().value().to_string(),
        Err(_) => e164.chars().filter(char::is_ascii_digit).collect(),
    }
}

/// The number as dialled within its country, digits only (`+8801712345678` -> `01712345678`): what
/// local forms and regulators' reports expect.
pub fn national_dialling(e164: &str) -> String {
    match phonenumber::parse(None, e164) {
        Ok(n) => n.format().mode(Mode::National).to_string().chars().filter(char::is_ascii_digit).collect(),
        Err(_) => e164.chars().filter(char::is_ascii_digit).collect(),
    }
}

/// Normalises what someone typed into a phone search to a prefix of national digits.
pub fn search_prefix(input: &str) -> String {
    let t = input.trim();
    if t.starts_with('+')
        && let Ok(n) = phonenumber::parse(None, t)
    {
        return n.national().value().to_string();
    }
    t.chars().filter(char::is_ascii_digit).collect::<String>().trim_start_matches('0').to_string()
}

#[cfg(test)]
mod search_tests {
    use super::*;

    #[test]
    fn search_prefixes_match_national_digits() {
        let stored = national_digits("+8801712345678");
        assert_eq!(stored, "1712345678");
        assert_eq!(national_dialling("+8801712345678"), "01712345678");
        for typed in ["01712", "1712", "+8801712345678", "017-12"] {
            assert!(stored.starts_with(&search_prefix(typed)), "{typed}");
        }
    }
}
