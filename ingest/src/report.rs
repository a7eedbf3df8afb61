//! The ingest report (`report.json`): what was read, detected, converted and rejected.

use serde::Serialize;

use crate::read::{Location, Rejection};

#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    pub dataset: String,
    /// The version this report belongs to; `None` for a dry run.
    pub version: Option<u32>,
    /// Whether the version was published (`false` when rejected rows held it back).
    pub published: bool,
    pub files: Vec<FileReport>,
    pub rows_read: u64,
    pub rows_published: u64,
    pub rejected: Vec<Rejection>,
    pub columns: Vec<ColumnReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geometry: Option<GeometryReport>,
    pub warnings: Vec<String>,
    /// For `--append`: how the rows merged into the previous version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub append: Option<AppendReport>,
}

/// How an `--append` batch merged into the previous version (see `dataset.toml`'s `key`).
#[derive(Debug, Clone, Serialize)]
pub struct AppendReport {
    pub previous_version: u32,
    pub rows_before: u64,
    /// Rows with a key the previous version did not have.
    pub rows_added: u64,
    /// Rows that replaced a previous row with the same key (corrections).
    pub rows_changed: u64,
    /// Rows already there with the same values, or repeated in the batch (the last one counts).
    pub rows_duplicate: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crs: Option<String>,
    pub rows: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnReport {
    pub name: String,
    /// The name in the source, when it had to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(rename = "type")]
    pub data_type: String,
    pub reason: String,
    pub nulls: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    pub examples: Vec<String>,
    /// Values that disagreed with the column's majority type.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disagreeing: Vec<Location>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GeometryReport {
    pub types: Vec<String>,
    pub bbox: Option<[f64; 4]>,
    pub nulls: u64,
    pub source_crs: String,
    /// Rows whose geometry is empty (kept).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub empty: Vec<Location>,
    /// Rows whose geometry breaks the OGC validity rules (kept, as GIS tools do).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invalid: Vec<GeometryIssue>,
    /// Rows outside the source CRS's area of use: swapped axes or a wrong CRS (kept).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outside_area_of_use: Vec<Location>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GeometryIssue {
    #[serde(flatten)]
    pub location: Location,
    pub reason: String,
}

impl IngestReport {
    /// A summary for a terminal: one line per file and column, then every rejection.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        for f in &self.files {
            let _ = write!(
                s,
                "{}: {} rows, {} rejected ({}",
                f.path, f.rows, f.rejected, f.format
            );
            if let Some(e) = &f.encoding {
                let _ = write!(s, ", {e}");
            }
            if let Some(d) = &f.delimiter {
                let _ = write!(s, ", delimiter {d:?}");
            }
            let _ = writeln!(s, ")");
        }
        if let Some(a) = &self.append {
            let _ = writeln!(
                s,
                "appended to version {}: {} rows added, {} changed, {} duplicates skipped ({} rows before)",
                a.previous_version, a.rows_added, a.rows_changed, a.rows_duplicate, a.rows_before
            );
        }
        for c in &self.columns {
            let _ = writeln!(
                s,
                "  {:<32} {:<9} nulls {:<6} {}",
                c.name, c.data_type, c.nulls, c.reason
            );
            if let (Some(min), Some(max)) = (&c.min, &c.max) {
                let _ = write!(s, "  {:<32} min {min}, max {max}", "");
                if !c.examples.is_empty() {
                    let _ = write!(s, "; e.g. {}", c.examples.join(" | "));
                }
                let _ = writeln!(s);
            }
        }
        if let Some(g) = &self.geometry {
            let _ = writeln!(
                s,
                "  {:<32} {:<9} {} from {}, bbox {:?}",
                "geometry",
                "geometry",
                g.types.join("/"),
                g.source_crs,
                g.bbox
            );
        }
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
        for r in &self.rejected {
            let _ = writeln!(s, "rejected: {r}");
        }
        s
    }
}
