//! The languages the product speaks to subscribers in (SMS, e-mail, the portal).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Bangla.
    Bn,
    En,
    /// Bahasa Indonesia.
    Id,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::Bn, Language::En, Language::Id];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::Bn => "bn",
            Language::En => "en",
            Language::Id => "id",
        }
    }

    pub fn parse(s: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// What an ISP in `country` writes to its subscribers in unless it says otherwise.
    pub fn default_for_country(country: &str) -> Language {
        match country {
            "BD" => Language::Bn,
            "ID" => Language::Id,
            _ => Language::En,
        }
    }
}
