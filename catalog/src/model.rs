//! The metadata model: a dataset's descriptive metadata and its immutable versions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The manifest of one dataset: metadata plus every published version, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub id: String,
    pub meta: DatasetMeta,
    pub versions: Vec<Version>,
    /// Earlier states of `meta`, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_history: Vec<MetaEdit>,
}

impl Manifest {
    /// The newest version, if any was published.
    pub fn latest(&self) -> Option<&Version> {
        self.versions.last()
    }

    /// Replaces the metadata, keeping the replaced state in the history when it differs.
    pub fn set_meta(&mut self, meta: DatasetMeta) {
        if meta != self.meta {
            let old = std::mem::replace(&mut self.meta, meta);
            self.meta_history.push(MetaEdit {
                replaced: Utc::now(),
                meta: old,
            });
        }
    }

    /// The version with the given number.
    pub fn version(&self, number: u32) -> Option<&Version> {
        self.versions.iter().find(|v| v.number == number)
    }
}

/// Descriptive metadata a data steward writes in `dataset.toml`, aligned with DCAT-AP.de 2.0.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DatasetMeta {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub publisher: String,
    /// The publisher's web page (`foaf:homepage`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_url: Option<String>,
    /// Who answers questions about the data (`dcat:contactPoint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// Licence id from the DCAT-AP.de list, e.g. `dl-by-de/2.0`.
    #[serde(default)]
    pub licence: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// EU data theme code, e.g. `ENVI`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    /// Update frequency, a code of the EU frequency vocabulary (`DAILY`, `ANNUAL`, `IRREG`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<String>,
    /// Languages as ISO 639-1 codes; German when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// The municipality key (Amtlicher Gemeindeschlüssel, 8 digits) or a shorter regional key
    /// of the area the data covers: its DCAT-AP.de political geocoding URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ags: Option<String>,
    /// The GovData contributor id of the publishing portal (`dcatde:contributorID`), e.g.
    /// `http://dcat-ap.de/def/contributors/…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contributor_id: Option<String>,
}

/// A contact point (vCard).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A replaced state of a dataset's metadata, kept in the manifest's history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MetaEdit {
    /// When this state stopped being current.
    pub replaced: DateTime<Utc>,
    pub meta: DatasetMeta,
}

/// One immutable version of a dataset.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Version {
    pub number: u32,
    pub created: DateTime<Utc>,
    pub row_count: u64,
    /// Source rows that could not be read (listed with their lines in `report.json`).
    pub rejected_rows: u64,
    pub columns: Vec<Column>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geometry: Option<GeometryInfo>,
    pub source: SourceInfo,
    pub distributions: Vec<Distribution>,
    /// First and last instant of the date and time columns (`dct:temporal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporal: Option<TimeRange>,
    /// What changed against the previous version, when it is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
}

/// A closed time interval, ISO 8601 text (dates or timestamps).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TimeRange {
    pub start: String,
    pub end: String,
}

impl TimeRange {
    /// The span of the `date` and `datetime` columns' minima and maxima.
    pub fn of_columns(columns: &[Column]) -> Option<TimeRange> {
        let temporal = || {
            columns
                .iter()
                .filter(|c| matches!(c.data_type.as_str(), "date" | "datetime"))
        };
        Some(TimeRange {
            start: temporal().filter_map(|c| c.min.clone()).min()?,
            end: temporal().filter_map(|c| c.max.clone()).max()?,
        })
    }
}

/// The difference of a version to the one before it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Changes {
    /// The version compared against.
    pub previous: u32,
    pub rows_added: u64,
    pub rows_removed: u64,
    /// Rows whose key was there before but whose values differ (corrections).
    pub rows_changed: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns_added: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns_removed: Vec<String>,
}

impl Version {
    /// The distribution in the given format.
    pub fn distribution(&self, format: Format) -> Option<&Distribution> {
        self.distributions.iter().find(|d| d.format == format)
    }
}

/// A column of the published table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Column {
    pub name: String,
    /// Logical type: `integer`, `number`, `boolean`, `date`, `datetime`, `string` or `geometry`.
    #[serde(rename = "type")]
    pub data_type: String,
    pub null_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Smallest value, as text (ISO 8601 for dates and times).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    /// Estimated number of distinct non-null values (HyperLogLog, about 1 % error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct: Option<u64>,
}

/// Facts about the geometry column of a spatial dataset.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GeometryInfo {
    /// Column name in the published table.
    pub column: String,
    /// Geometry types present, GeoParquet spelling (`Point`, `MultiPolygon`, …).
    pub types: Vec<String>,
    /// `[min_lon, min_lat, max_lon, max_lat]` in WGS 84; `None` when every geometry is empty.
    pub bbox: Option<[f64; 4]>,
    /// The CRS of the published files (always WGS 84 longitude/latitude).
    pub crs: String,
    /// The CRS the source was in.
    pub source_crs: String,
}

/// Where a version came from and what was detected about it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SourceInfo {
    pub files: Vec<String>,
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    pub sha256: String,
}

/// A downloadable file of a version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Distribution {
    pub format: Format,
    /// File name inside the version directory.
    pub file: String,
    pub media_type: String,
    pub byte_size: u64,
    pub sha256: String,
}

/// The download formats of a version.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Parquet,
    Csv,
    Geojson,
    Fgb,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Parquet, Format::Csv, Format::Geojson, Format::Fgb];

    /// The file extension, also used in download URLs (`download.<ext>`).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Geojson => "geojson",
            Format::Fgb => "fgb",
        }
    }

    /// The file name inside a version directory.
    pub fn file_name(self) -> String {
        format!("data.{}", self.extension())
    }

    /// The IANA media type served with the file.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Geojson => "application/geo+json",
            Format::Fgb => "application/flatgeobuf",
        }
    }

    /// Parses a download extension.
    pub fn from_extension(ext: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.extension() == ext)
    }
}
