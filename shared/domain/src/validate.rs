//! Field validation that collects every problem of a request, so a client fixes them in one go.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<FieldError>,
}

impl Validation {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError { field: field.to_string(), message: message.into() });
    }

    /// Checks a required text field: trimmed, not empty, at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let v = value.trim();
        if v.is_empty() {
            self.add(field, "must not be empty");
        } else if v.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if v.chars().any(|c| c.is_control()) {
            self.add(field, "must not contain control characters");
        }
        v.to_string()
    }

    pub fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        match value.map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(self.text(field, v, max)),
        }
    }

    pub fn email(&mut self, field: &str, value: &str) -> String {
        let v = value.trim().to_lowercase();
        if v.len() > 254 || !email_address::EmailAddress::is_valid(&v) || !v.contains('.') {
            self.add(field, "must be a valid e-mail address");
        }
        v
    }

    /// Portal usernames double as PPPoE usernames on routers, so they keep to a safe alphabet.
    pub fn username(&mut self, field: &str, value: &str) -> String {
        let v = value.trim().to_lowercase();
        let ok_len = (3..=64).contains(&v.len());
        let ok_chars = v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        let ok_start = v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if !(ok_len && ok_chars && ok_start) {
            self.add(field, "must be 3-64 characters of a-z, 0-9, '.', '_', '-', '@', starting with a letter or digit");
        }
        v
    }

    pub fn slug(&mut self, field: &str, value: &str) -> String {
        let v = value.trim().to_string();
        let ok = (2..=40).contains(&v.len())
            && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !v.starts_with('-')
            && !v.ends_with('-');
        if !ok {
            self.add(field, "must be 2-40 characters of a-z, 0-9 and '-', not starting or ending with '-'");
        }
        v
    }

    pub fn password(&mut self, field: &str, value: &str) {
        if let Err(msg) = crate::auth::check_password_policy(value) {
            self.add(field, msg);
        }
    }

    pub fn range_i64(&mut self, field: &str, value: i64, min: i64, max: i64) {
        if value < min || value > max {
            self.add(field, format!("must be between {min} and {max}"));
        }
    }

    /// Credentials for an outside service, by name: each `needed` one given once (unless
    /// `partial`, an update naming only some), none but `needed` and `optional`, none empty, none
    /// longer than 4096 characters. `service` names the service in the message.
    pub fn credentials(
        &mut self,
        given: &std::collections::BTreeMap<String, String>,
        needed: &[&str],
        optional: &[&str],
        partial: bool,
        service: &str,
    ) {
        for name in needed {
            match given.get(*name) {
                Some(value) if value.is_empty() || value.len() > 4096 => {
                    self.add(&format!("credentials.{name}"), "must be 1-4096 characters")
                }
                None if !partial => self.add(&format!("credentials.{name}"), "is required"),
                _ => {}
            }
        }
        for (name, value) in given {
            if optional.contains(&name.as_str()) && value.len() > 4096 {
                self.add(&format!("credentials.{name}"), "must be at most 4096 characters");
            }
            if !needed.contains(&name.as_str()) && !optional.contains(&name.as_str()) {
                self.add(&format!("credentials.{name}"), format!("is not a {service} credential"));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Ok when nothing was added, otherwise every collected error.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() { Ok(()) } else { Err(self.errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_error() {
        let mut v = Validation::new();
        v.text("name", "  ", 10);
        v.email("email", "not-an-email");
        v.username("username", "-bad");
        v.slug("slug", "Bad Slug");
        let errs = v.finish().unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "email", "username", "slug"]);
    }

    #[test]
    fn normalises_valid_values() {
        let mut v = Validation::new();
        assert_eq!(v.email("email", " Rahim@Example.COM "), "rahim@example.com");
        assert_eq!(v.username("username", "Rahim.01"), "rahim.01");
        assert_eq!(v.text("name", "  Rahim Uddin ", 50), "Rahim Uddin");
        assert!(v.finish().is_ok());
    }

    #[test]
    fn rejects_over_long_and_control_text() {
        let mut v = Validation::new();
        v.text("name", &"x".repeat(11), 10);
        v.text("note", "a\u{0}b", 10);
        assert_eq!(v.finish().unwrap_err().len(), 2);
    }
}
