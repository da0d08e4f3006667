//! Message templates: text with `{placeholder}` names, checked against the names the event
//! offers when the template is saved (an unknown name is refused, not sent as `{typo}`), and
//! rendered with the event's values. A brace that does not enclose a name is literal text.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown placeholders: {}", .0.join(", "))]
    Unknown(Vec<String>),
    #[error("the text is empty")]
    Empty,
    #[error("longer than {0} characters")]
    TooLong(usize),
}

/// The longest template text (a long SMS is about 10 parts; an e-mail body has more room).
pub const MAX_TEMPLATE_CHARS: usize = 4000;

impl Template {
    /// Reads `text`; every `{name}` in it must be one of `allowed`.
    pub fn parse(text: &str, allowed: &[&str]) -> Result<Template, TemplateError> {
        if text.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        if text.chars().count() > MAX_TEMPLATE_CHARS {
            return Err(TemplateError::TooLong(MAX_TEMPLATE_CHARS));
        }
        let pieces = pieces(text);
        let mut unknown: Vec<String> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Name(n) if !allowed.contains(&n.as_str()) => Some(format!("{{{n}}}")),
                _ => None,
            })
            .collect();
        unknown.dedup();
        if !unknown.is_empty() {
            return Err(TemplateError::Unknown(unknown));
        }
        Ok(Template { pieces })
    }

    /// The names it uses, in order of first use.
    pub fn names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = vec![];
        for p in &self.pieces {
            if let Piece::Name(n) = p
                && !out.contains(&n.as_str())
            {
                out.push(n);
            }
        }
        out
    }

    /// The text with each name replaced by its value (a name without a value becomes empty:
    /// an optional detail such as `{pay_link}` where the ISP has no gateway).
    pub fn render(&self, values: &BTreeMap<&str, String>) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Name(n) => out.push_str(values.get(n.as_str()).map(String::as_str).unwrap_or("")),
            }
        }
        out
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}

fn pieces(text: &str) -> Vec<Piece> {
    let mut out = vec![];
    let mut literal = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        literal.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len = after.find(|c: char| !is_name_char(c)).unwrap_or(after.len());
        if name_len > 0 && after[name_len..].starts_with('}') {
            if !literal.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut literal)));
            }
            out.push(Piece::Name(after[..name_len].to_string()));
            rest = &after[name_len + 1..];
        } else {
            literal.push('{');
            rest = after;
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        out.push(Piece::Text(literal));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["customer_name", "amount", "due_date"];

    #[test]
    fn known_names_render_and_unknown_ones_are_refused() {
        let t = Template::parse("Dear {customer_name}, {amount} is due on {due_date}. {amount}!", NAMES).unwrap();
        assert_eq!(t.names(), vec!["customer_name", "amount", "due_date"]);
        let values = BTreeMap::from([
            ("customer_name", "Rahim".to_string()),
            ("amount", "BDT 500.00".to_string()),
            ("due_date", "10 Dec".to_string()),
        ]);
        assert_eq!(t.render(&values), "Dear Rahim, BDT 500.00 is due on 10 Dec. BDT 500.00!");
        assert_eq!(
            Template::parse("Hi {customer_nmae} {amount} {pakage}", NAMES),
            Err(TemplateError::Unknown(vec!["{customer_nmae}".into(), "{pakage}".into()]))
        );
        assert_eq!(Template::parse("  ", NAMES), Err(TemplateError::Empty));
    }

    #[test]
    fn braces_that_enclose_no_name_are_text() {
        let t = Template::parse("{ok} {} {Amount} {amount", NAMES);
        // `{ok}` is a name (lowercase): unknown.
        assert_eq!(t, Err(TemplateError::Unknown(vec!["{ok}".into()])));
        let t = Template::parse("{} {Amount} {amount {{amount}}", NAMES).unwrap();
        let values = BTreeMap::from([("amount", "5".to_string())]);
        assert_eq!(t.render(&values), "{} {Amount} {amount {5}");
    }

    #[test]
    fn bangla_text_renders_around_names() {
        let t = Template::parse("প্রিয় {customer_name}, আপনার বিল {amount}।", NAMES).unwrap();
        let values = BTreeMap::from([("customer_name", "রহিম".to_string()), ("amount", "৳৫০০".to_string())]);
        assert_eq!(t.render(&values), "প্রিয় রহিম, আপনার বিল ৳৫০০।");
    }
}
