//! The CKAN view of the catalogue: datasets as CKAN packages, their distributions as resources,
//! publishers as organizations, keywords as tags: the dictionaries CKAN's action API returns
//! (CKAN 2.10), so that CKAN clients and harvesters read Allmende like a CKAN site.
//!
//! A package's name and id are the dataset id; its resources are the distributions of the
//! latest version, with stable ids `{dataset}-{format}`; an organization's name is its
//! publisher's name as a slug.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::licence::{licence_by_id, licences};
use crate::model::{Distribution, Format, Manifest, Version};
use crate::store::{Catalog, table_name};
use crate::vocab;

/// A point in time, as the catalogue keeps it.
pub type Time = DateTime<Utc>;

/// A time in a search filter: RFC 3339, CKAN's zone-less form, a date, or `NOW`.
pub fn parse_time(s: &str) -> Option<Time> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("NOW") {
        return Some(Utc::now());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    let day = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc())
}

/// CKAN's timestamps: ISO 8601 in UTC without a zone designator, with microseconds.
pub fn ckan_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// The CKAN format label of a download format.
pub fn format_label(format: Format) -> &'static str {
    match format {
        Format::Parquet => "Parquet",
        Format::Csv => "CSV",
        Format::Geojson => "GeoJSON",
        Format::Fgb => "FlatGeobuf",
    }
}

/// A format from its CKAN label or its file extension, in any case.
pub fn format_from_label(label: &str) -> Option<Format> {
    Format::ALL.into_iter().find(|f| {
        format_label(*f).eq_ignore_ascii_case(label) || f.extension().eq_ignore_ascii_case(label)
    })
}

/// The stable id of a dataset's resource in one format: `{dataset}-{extension}`.
pub fn resource_id(dataset: &str, format: Format) -> String {
    format!("{dataset}-{}", format.extension())
}

/// The type a CKAN DataStore reports for a column of a logical type.
pub fn datastore_type(logical: &str) -> &'static str {
    match logical {
        "integer" => "int",
        "number" => "numeric",
        "boolean" => "bool",
        "date" => "date",
        "datetime" => "timestamp",
        _ => "text", // strings, and geometries as WKT
    }
}

/// A publisher's name as a CKAN organization name: lowercase ASCII letters, digits and `-`,
/// German umlauts transliterated (`ü` → `ue`, `ß` → `ss`), at most 100 characters.
pub fn organization_name(publisher: &str) -> String {
    let mut slug = String::new();
    let mut gap = false;
    for c in publisher.chars().flat_map(char::to_lowercase) {
        let mut buf = [0; 4];
        let ascii: &str = match c {
            'a'..='z' | '0'..='9' => c.encode_utf8(&mut buf),
            'ä' | 'æ' => "ae",
            'ö' | 'ø' | 'œ' => "oe",
            'ü' => "ue",
            'ß' => "ss",
            'à' | 'á' | 'â' | 'ã' | 'å' => "a",
            'ç' | 'č' | 'ć' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' | 'ń' => "n",
            'ò' | 'ó' | 'ô' | 'õ' => "o",
            'ù' | 'ú' | 'û' => "u",
            'ý' | 'ÿ' => "y",
            'š' | 'ś' => "s",
            'ž' | 'ź' | 'ż' => "z",
            'ł' => "l",
            _ => {
                gap = true;
                continue;
            }
        };
        if gap && !slug.is_empty() {
            slug.push('-');
        }
        gap = false;
        slug.push_str(ascii);
    }
    if slug.len() > 100 {
        slug.truncate(100); // ASCII only: any index is a char boundary
        while slug.ends_with('-') {
            slug.pop();
        }
    }
    slug
}

/// When a dataset was first published.
pub fn metadata_created(m: &Manifest) -> Option<DateTime<Utc>> {
    m.versions.first().map(|v| v.created)
}

/// The last change of a dataset: its newest version or its newest metadata edit.
pub fn metadata_modified(m: &Manifest) -> Option<DateTime<Utc>> {
    let version = m.latest().map(|v| v.created);
    let edit = m.meta_history.last().map(|e| e.replaced);
    version.max(edit)
}

/// An organization: the datasets of one publisher.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    /// The slug of the publisher's name.
    pub name: String,
    /// The publisher's name.
    pub title: String,
    pub url: Option<String>,
    pub package_count: usize,
    /// The first publication of any of its datasets.
    pub created: Option<DateTime<Utc>>,
}

impl Organization {
    /// CKAN's organization dictionary (without datasets or users).
    pub fn to_ckan(&self) -> Value {
        let extras: Vec<Value> = self
            .url
            .iter()
            .map(|u| json!({ "key": "url", "value": u, "state": "active" }))
            .collect();
        json!({
            "id": self.name,
            "name": self.name,
            "title": self.title,
            "display_name": self.title,
            "description": "",
            "type": "organization",
            "is_organization": true,
            "approval_status": "approved",
            "state": "active",
            "image_url": "",
            "image_display_url": "",
            "created": self.created.map(ckan_time),
            "package_count": self.package_count,
            "num_followers": 0,
            "extras": extras,
        })
    }
}

/// The catalogue as a CKAN site at `base` (the absolute URL without a trailing slash).
#[derive(Debug)]
pub struct CkanView<'a> {
    catalog: &'a Catalog,
    base: &'a str,
    organizations: BTreeMap<String, Organization>,
}

impl<'a> CkanView<'a> {
    pub fn new(catalog: &'a Catalog, base: &'a str) -> Self {
        let mut organizations: BTreeMap<String, Organization> = BTreeMap::new();
        for m in catalog.datasets() {
            let name = organization_name(&m.meta.publisher);
            if name.is_empty() {
                continue;
            }
            let created = metadata_created(m);
            let org = organizations
                .entry(name.clone())
                .or_insert_with(|| Organization {
                    name,
                    title: m.meta.publisher.clone(),
                    url: None,
                    package_count: 0,
                    created,
                });
            org.package_count += 1;
            org.created = match (org.created, created) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if org.url.is_none() {
                org.url.clone_from(&m.meta.publisher_url);
            }
        }
        CkanView {
            catalog,
            base,
            organizations,
        }
    }

    pub fn catalog(&self) -> &'a Catalog {
        self.catalog
    }

    /// Every organization, ordered by name.
    pub fn organizations(&self) -> impl Iterator<Item = &Organization> {
        self.organizations.values()
    }

    pub fn organization(&self, name: &str) -> Option<&Organization> {
        self.organizations.get(name)
    }

    /// The organization of a dataset, if it names a publisher.
    pub fn organization_of(&self, m: &Manifest) -> Option<&Organization> {
        self.organizations
            .get(&organization_name(&m.meta.publisher))
    }

    /// The resource with a given id: the dataset, its latest version and the distribution.
    pub fn resource_by_id(
        &self,
        id: &str,
    ) -> Option<(&'a Manifest, &'a Version, &'a Distribution)> {
        let (dataset, ext) = id.rsplit_once('-')?;
        let format = Format::from_extension(ext)?;
        let m = self.catalog.get(dataset)?;
        let v = m.latest()?;
        Some((m, v, v.distribution(format)?))
    }

    /// CKAN's package dictionary of a dataset.
    pub fn package(&self, m: &Manifest) -> Value {
        let meta = &m.meta;
        let latest = m.latest();
        let licence = licence_by_id(&meta.licence);
        let resources: Vec<Value> = latest
            .map(|v| {
                v.distributions
                    .iter()
                    .enumerate()
                    .map(|(i, d)| self.resource(m, v, d, i))
                    .collect()
            })
            .unwrap_or_default();
        let tags: Vec<Value> = meta
            .keywords
            .iter()
            .map(|k| {
                json!({
                    "id": k, "name": k, "display_name": k, "state": "active", "vocabulary_id": null,
                })
            })
            .collect();
        let organization = self.organization_of(m).map(Organization::to_ckan);
        let contact = meta.contact.as_ref();
        json!({
            "id": m.id,
            "name": m.id,
            "title": meta.title,
            "notes": meta.description,
            "type": "dataset",
            "state": "active",
            "private": false,
            "url": format!("{}/api/datasets/{}", self.base, m.id),
            "version": latest.map(|v| v.number.to_string()),
            "author": (!meta.publisher.is_empty()).then_some(&meta.publisher),
            "author_email": null,
            "maintainer": contact.map(|c| &c.name),
            "maintainer_email": contact.and_then(|c| c.email.as_ref()),
            "license_id": meta.licence,
            "license_title": licence.map_or(meta.licence.as_str(), |l| l.name),
            "license_url": licence.map(|l| l.text_url()),
            "isopen": licence.is_some(),
            "metadata_created": metadata_created(m).map(ckan_time),
            "metadata_modified": metadata_modified(m).map(ckan_time),
            "owner_org": organization.as_ref().map(|o| o["id"].clone()),
            "organization": organization,
            "creator_user_id": null,
            "num_tags": tags.len(),
            "tags": tags,
            "groups": [],
            "num_resources": resources.len(),
            "resources": resources,
            "extras": extras(m, self.base),
            "relationships_as_object": [],
            "relationships_as_subject": [],
        })
    }

    /// CKAN's resource dictionary of a distribution of the latest version `v`.
    pub fn resource(&self, m: &Manifest, v: &Version, d: &Distribution, position: usize) -> Value {
        let ext = d.format.extension();
        let spatial = v.geometry.is_some();
        let description = match d.format {
            Format::Csv if spatial => {
                "CSV (RFC 4180), UTF-8 mit BOM, Komma als Trennzeichen, Dezimalpunkt; \
                 Geometrie als WKT in WGS 84"
            }
            Format::Csv => "CSV (RFC 4180), UTF-8 mit BOM, Komma als Trennzeichen, Dezimalpunkt",
            Format::Parquet if spatial => "GeoParquet 1.1, Geometrie als WKB in WGS 84",
            Format::Parquet => "Apache Parquet",
            Format::Geojson => "GeoJSON (RFC 7946), WGS 84",
            Format::Fgb => "FlatGeobuf mit räumlichem Index, WGS 84",
        };
        let media_type = d.media_type.split(';').next().unwrap_or_default().trim();
        json!({
            "id": resource_id(&m.id, d.format),
            "package_id": m.id,
            "name": format!("{} ({})", m.meta.title, format_label(d.format)),
            "description": description,
            "format": format_label(d.format),
            "mimetype": media_type,
            "mimetype_inner": null,
            "url": format!("{}/api/datasets/{}/download.{ext}", self.base, m.id),
            "url_type": null,
            "size": d.byte_size,
            "hash": format!("sha256:{}", d.sha256),
            "created": ckan_time(v.created),
            "last_modified": ckan_time(v.created),
            "metadata_modified": ckan_time(v.created),
            "position": position,
            "state": "active",
            "resource_type": null,
            "cache_url": null,
            "cache_last_updated": null,
            // The rows of every format are the dataset's table; the DataStore answers for it
            // under each resource id, but only the CSV says so, as CKAN's DataPusher would.
            "datastore_active": d.format == Format::Csv,
            "datastore_table": table_name(&m.id),
            "version": v.number,
            "version_url": format!(
                "{}/api/datasets/{}/versions/{}/download.{ext}",
                self.base, m.id, v.number
            ),
        })
    }
}

/// The extras of a package: spatial and temporal coverage in ckanext-spatial's and
/// ckanext-dcat's keys, the DCAT-AP.de extras, and what version is published.
fn extras(m: &Manifest, base: &str) -> Vec<Value> {
    let meta = &m.meta;
    let latest = m.latest();
    let mut extras: BTreeMap<&str, String> = BTreeMap::new();
    if let Some([x0, y0, x1, y1]) = latest.and_then(|v| v.geometry.as_ref()?.bbox) {
        let geometry = if x0 == x1 && y0 == y1 {
            json!({ "type": "Point", "coordinates": [x0, y0] })
        } else {
            json!({
                "type": "Polygon",
                "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
            })
        };
        extras.insert("spatial", geometry.to_string());
    }
    if let Some(t) = latest.and_then(|v| v.temporal.as_ref()) {
        extras.insert("temporal_start", t.start.clone());
        extras.insert("temporal_end", t.end.clone());
    }
    if let Some(t) = metadata_created(m) {
        extras.insert("issued", t.to_rfc3339());
    }
    if let Some(t) = metadata_modified(m) {
        extras.insert("modified", t.to_rfc3339());
    }
    if let Some(theme) = &meta.theme {
        extras.insert("theme", json!([vocab::theme_uri(theme)]).to_string());
    }
    if let Some(f) = &meta.frequency {
        extras.insert("frequency", vocab::frequency_uri(f));
    }
    let languages: Vec<String> = if meta.languages.is_empty() {
        vec!["de".to_owned()]
    } else {
        meta.languages.clone()
    };
    extras.insert(
        "language",
        json!(
            languages
                .iter()
                .filter_map(|l| vocab::language_uri(l))
                .collect::<Vec<_>>()
        )
        .to_string(),
    );
    if let Some(a) = &meta.attribution {
        extras.insert("licenseAttributionByText", a.clone());
    }
    if let Some(c) = &meta.contributor_id {
        extras.insert("contributorID", json!([c]).to_string());
    }
    if let Some((uri, level)) = meta.ags.as_deref().and_then(vocab::political_geocoding) {
        extras.insert("politicalGeocodingURI", json!([uri]).to_string());
        extras.insert("politicalGeocodingLevelURI", level);
    }
    if let Some(c) = meta.contact.as_ref() {
        extras.insert("contact_name", c.name.clone());
        if let Some(e) = &c.email {
            extras.insert("contact_email", e.clone());
        }
        if let Some(u) = &c.url {
            extras.insert("contact_uri", u.clone());
        }
    }
    if let Some(v) = latest {
        extras.insert("allmende_version", v.number.to_string());
        extras.insert("allmende_versions", m.versions.len().to_string());
        extras.insert("allmende_row_count", v.row_count.to_string());
        extras.insert("allmende_table", table_name(&m.id));
        if let Some(changes) = v
            .changes
            .as_ref()
            .and_then(|c| serde_json::to_string(c).ok())
        {
            extras.insert("allmende_changes", changes);
        }
    }
    extras.insert("allmende_url", format!("{base}/api/datasets/{}", m.id));
    extras
        .into_iter()
        .map(|(key, value)| json!({ "key": key, "value": value, "state": "active" }))
        .collect()
}

/// CKAN's licence list: every licence of the DCAT-AP.de list Allmende accepts.
pub fn licence_list() -> Vec<Value> {
    licences()
        .iter()
        .map(|l| {
            json!({
                "id": l.id,
                "title": l.name,
                "url": l.text_url(),
                "uri": l.uri(),
                "status": "active",
                "maintainer": "",
                "family": "",
                "is_generic": l.id == "other-open",
                "is_okd_compliant": true,
                "is_osi_compliant": false,
                "od_conformance": "approved",
                "osd_conformance": "not reviewed",
                "domain_content": true,
                "domain_data": true,
                "domain_software": false,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_names_are_ckan_slugs() {
        assert_eq!(
            organization_name(
                "Landesamt für Natur, Umwelt und Verbraucherschutz Nordrhein-Westfalen (LANUV)"
            ),
            "landesamt-fuer-natur-umwelt-und-verbraucherschutz-nordrhein-westfalen-lanuv"
        );
        assert_eq!(organization_name("Stadt Weißenfels"), "stadt-weissenfels");
        assert_eq!(organization_name("  —  "), "");
        let long = organization_name(&"Amt ".repeat(40));
        assert!(long.len() <= 100 && !long.ends_with('-'), "{long}");
    }

    #[test]
    fn resource_ids_and_labels_round_trip() {
        for f in Format::ALL {
            assert_eq!(format_from_label(format_label(f)), Some(f));
            assert_eq!(format_from_label(&format_label(f).to_lowercase()), Some(f));
            assert_eq!(format_from_label(f.extension()), Some(f));
        }
        assert_eq!(resource_id("pegel-nrw", Format::Csv), "pegel-nrw-csv");
    }

    #[test]
    fn times_look_like_ckans() {
        let t = DateTime::parse_from_rfc3339("2024-05-06T07:08:09.5Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(ckan_time(t), "2024-05-06T07:08:09.500000");
        assert_eq!(parse_time("2024-05-06T07:08:09.500000"), Some(t));
        assert_eq!(parse_time("2024-05-06T09:08:09.5+02:00"), Some(t));
        assert!(parse_time("2024-05-06").is_some_and(|d| d < t));
        assert_eq!(parse_time("gestern"), None);
    }
}
