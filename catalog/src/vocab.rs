//! The controlled vocabularies DCAT-AP.de metadata draws on: EU data themes, update
//! frequencies, languages, and the political geocoding of German municipality keys. Metadata is
//! checked against them when written, so every IRI we publish resolves.

use crate::licence_by_id;
use crate::model::DatasetMeta;

/// EU data themes (`http://publications.europa.eu/resource/authority/data-theme/`).
pub const THEMES: &[&str] = &[
    "AGRI", "ECON", "EDUC", "ENER", "ENVI", "GOVE", "HEAL", "INTR", "JUST", "REGI", "SOCI", "TECH",
    "TRAN",
];

/// Codes of the EU frequency vocabulary (`…/authority/frequency/`) that open data uses.
pub const FREQUENCIES: &[&str] = &[
    "UPDATE_CONT",
    "CONT",
    "1MIN",
    "5MIN",
    "10MIN",
    "15MIN",
    "30MIN",
    "HOURLY",
    "BIHOURLY",
    "TRIHOURLY",
    "12HRS",
    "DAILY",
    "DAILY_2",
    "WEEKLY",
    "WEEKLY_2",
    "WEEKLY_3",
    "BIWEEKLY",
    "MONTHLY",
    "MONTHLY_2",
    "MONTHLY_3",
    "BIMONTHLY",
    "QUARTERLY",
    "ANNUAL",
    "ANNUAL_2",
    "ANNUAL_3",
    "BIENNIAL",
    "TRIENNIAL",
    "QUADRENNIAL",
    "QUINQUENNIAL",
    "DECENNIAL",
    "IRREG",
    "NEVER",
    "OTHER",
    "UNKNOWN",
];

/// ISO 639-1 codes and their EU language authority codes (`…/authority/language/`).
const LANGUAGES: &[(&str, &str)] = &[
    ("de", "DEU"),
    ("en", "ENG"),
    ("fr", "FRA"),
    ("nl", "NLD"),
    ("da", "DAN"),
    ("pl", "POL"),
    ("cs", "CES"),
    ("it", "ITA"),
    ("es", "SPA"),
    ("tr", "TUR"),
    ("ar", "ARA"),
    ("ru", "RUS"),
    ("uk", "UKR"),
    ("dsb", "DSB"),
    ("hsb", "HSB"),
    ("fy", "FRY"),
];

const EU: &str = "http://publications.europa.eu/resource/authority";

pub fn theme_uri(code: &str) -> String {
    format!("{EU}/data-theme/{code}")
}

pub fn frequency_uri(code: &str) -> String {
    format!("{EU}/frequency/{code}")
}

/// The EU language IRI of an ISO 639-1 code, if we know it.
pub fn language_uri(code: &str) -> Option<String> {
    LANGUAGES
        .iter()
        .find(|(iso, _)| *iso == code)
        .map(|(_, eu)| format!("{EU}/language/{eu}"))
}

/// The DCAT-AP.de political geocoding of a German regional key: its IRI and level IRI.
/// 2 digits are a state, 3 a government region, 5 a district, 8 (AGS) or 12 (ARS) a
/// municipality. The level vocabulary (`…/politicalGeocoding/Level/`) knows international,
/// european, federal, state, administrativeDistrict and municipality; districts and government
/// regions are both `administrativeDistrict`.
pub fn political_geocoding(key: &str) -> Option<(String, String)> {
    const BASE: &str = "http://dcat-ap.de/def/politicalGeocoding";
    let (kind, level) = match key.len() {
        2 => ("stateKey", "state"),
        3 => ("governmentDistrictKey", "administrativeDistrict"),
        5 => ("districtKey", "administrativeDistrict"),
        8 => ("municipalityKey", "municipality"),
        12 => ("regionalKey", "municipality"),
        _ => return None,
    };
    key.bytes().all(|b| b.is_ascii_digit()).then(|| {
        (
            format!("{BASE}/{kind}/{key}"),
            format!("http://dcat-ap.de/def/politicalGeocoding/Level/{level}"),
        )
    })
}

impl DatasetMeta {
    /// Checks the metadata against the vocabularies; the message names the key at fault.
    pub fn check(&self) -> Result<(), String> {
        if self.title.trim().is_empty() {
            return Err("title: must not be empty".into());
        }
        if !self.licence.is_empty() && licence_by_id(&self.licence).is_none() {
            return Err(format!(
                "licence: '{}' is not in the DCAT-AP.de licence list (e.g. dl-by-de/2.0, dl-zero-de/2.0, cc-by/4.0)",
                self.licence
            ));
        }
        if let Some(t) = &self.theme
            && !THEMES.contains(&t.as_str())
        {
            return Err(format!(
                "theme: '{t}' is not an EU data theme ({})",
                THEMES.join(", ")
            ));
        }
        if let Some(f) = &self.frequency
            && !FREQUENCIES.contains(&f.as_str())
        {
            return Err(format!(
                "frequency: '{f}' is not in the EU frequency vocabulary (e.g. DAILY, MONTHLY, ANNUAL, IRREG)"
            ));
        }
        if let Some(l) = self.languages.iter().find(|l| language_uri(l).is_none()) {
            return Err(format!(
                "languages: '{l}' is not a known ISO 639-1 code (e.g. de, en)"
            ));
        }
        if let Some(a) = &self.ags
            && political_geocoding(a).is_none()
        {
            return Err(format!(
                "ags: '{a}' is not a German regional key (2, 3, 5, 8 or 12 digits, e.g. 05315000 for Köln)"
            ));
        }
        if let Some(c) = &self.contact
            && let Some(e) = &c.email
            && !e.contains('@')
        {
            return Err(format!("contact.email: '{e}' is not an e-mail address"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regional_keys_map_to_their_level() {
        let (uri, level) = political_geocoding("05315000").expect("Köln");
        assert_eq!(
            uri,
            "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/05315000"
        );
        assert!(level.ends_with("/Level/municipality"));
        let (_, level) = political_geocoding("05170").expect("Kreis Wesel");
        assert!(level.ends_with("/Level/administrativeDistrict"));
        assert!(political_geocoding("0531500").is_none());
        assert!(political_geocoding("05a15000").is_none());
    }

    #[test]
    fn unknown_codes_are_refused_with_the_key() {
        let meta = DatasetMeta {
            title: "t".into(),
            frequency: Some("SOMETIMES".into()),
            ..DatasetMeta::default()
        };
        assert!(meta.check().expect_err("bad").starts_with("frequency:"));
    }
}
