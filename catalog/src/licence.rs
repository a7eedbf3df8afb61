//! The licences of the DCAT-AP.de licence vocabulary (`dcat-ap.de/def/licenses`) that open
//! municipal data uses, with whether the licence requires an attribution text.

/// A licence from the DCAT-AP.de licence list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Licence {
    /// The id as written in `dataset.toml`, e.g. `dl-by-de/2.0`.
    pub id: &'static str,
    /// Human-readable name.
    pub name: &'static str,
    /// Whether re-users must name the source (the `attribution` text).
    pub requires_attribution: bool,
}

impl Licence {
    /// The licence IRI in the DCAT-AP.de vocabulary.
    pub fn uri(&self) -> String {
        format!("http://dcat-ap.de/def/licenses/{}", self.id)
    }

    /// The SPDX identifier, where SPDX lists the licence (Data Packages name licences so).
    pub fn spdx(&self) -> Option<&'static str> {
        Some(match self.id {
            "dl-by-de/2.0" => "DL-DE-BY-2.0",
            "dl-zero-de/2.0" => "DL-DE-ZERO-2.0",
            "cc-by/4.0" => "CC-BY-4.0",
            "cc-by-sa/4.0" => "CC-BY-SA-4.0",
            "cc-zero" => "CC0-1.0",
            "odbl" => "ODbL-1.0",
            "odby" => "ODC-By-1.0",
            "cc-by-de/3.0" => "CC-BY-3.0-DE",
            _ => return None,
        })
    }

    /// The web page with the licence text; the vocabulary IRI where there is no single text.
    pub fn text_url(&self) -> String {
        match self.id {
            "dl-by-de/2.0" => "https://www.govdata.de/dl-de/by-2-0",
            "dl-zero-de/2.0" => "https://www.govdata.de/dl-de/zero-2-0",
            "cc-by/4.0" => "https://creativecommons.org/licenses/by/4.0/",
            "cc-by-sa/4.0" => "https://creativecommons.org/licenses/by-sa/4.0/",
            "cc-zero" => "https://creativecommons.org/publicdomain/zero/1.0/",
            "odbl" => "https://opendatacommons.org/licenses/odbl/1-0/",
            "odby" => "https://opendatacommons.org/licenses/by/1-0/",
            "cc-by-de/3.0" => "https://creativecommons.org/licenses/by/3.0/de/",
            _ => return self.uri(),
        }
        .to_owned()
    }
}

const LICENCES: &[Licence] = &[
    Licence {
        id: "dl-by-de/2.0",
        name: "Datenlizenz Deutschland Namensnennung 2.0",
        requires_attribution: true,
    },
    Licence {
        id: "dl-zero-de/2.0",
        name: "Datenlizenz Deutschland Zero 2.0",
        requires_attribution: false,
    },
    Licence {
        id: "cc-by/4.0",
        name: "Creative Commons Namensnennung 4.0 International",
        requires_attribution: true,
    },
    Licence {
        id: "cc-by-sa/4.0",
        name: "Creative Commons Namensnennung - Weitergabe unter gleichen Bedingungen 4.0 International",
        requires_attribution: true,
    },
    Licence {
        id: "cc-zero",
        name: "Creative Commons CC Zero License (cc-zero)",
        requires_attribution: false,
    },
    Licence {
        id: "odbl",
        name: "Open Data Commons Open Database License (ODbL)",
        requires_attribution: true,
    },
    Licence {
        id: "odby",
        name: "Open Data Commons Attribution License",
        requires_attribution: true,
    },
    Licence {
        id: "cc-by-de/3.0",
        name: "Creative Commons Namensnennung 3.0 Deutschland",
        requires_attribution: true,
    },
    Licence {
        id: "other-open",
        name: "Andere offene Lizenz",
        requires_attribution: true,
    },
];

/// Every licence of the list.
pub fn licences() -> &'static [Licence] {
    LICENCES
}

/// Looks up a licence id of the DCAT-AP.de list (case-insensitive).
pub fn licence_by_id(id: &str) -> Option<&'static Licence> {
    LICENCES.iter().find(|l| l.id.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_resolve_to_vocabulary_iris() {
        let l = licence_by_id("DL-BY-DE/2.0").expect("known");
        assert_eq!(l.uri(), "http://dcat-ap.de/def/licenses/dl-by-de/2.0");
        assert!(l.requires_attribution);
        assert!(licence_by_id("dl-by-de/9.9").is_none());
    }
}
