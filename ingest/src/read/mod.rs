//! Source readers. Each format turns a file into [`Event`]s: records of raw text values (plus
//! a WKB geometry for spatial formats) or rejections of what could not be read. Typing happens
//! later, over whole columns (see `infer`), so readers only decode and split.

pub mod csv;
pub mod dbf;
#[cfg(feature = "gdal")]
pub mod gdal;
pub mod geojson;
pub mod gpkg;
pub mod kml;
pub mod shapefile;
pub mod spreadsheet;

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::error::Result;

/// The columns seen so far, in order of first appearance across all files of a dataset.
#[derive(Debug, Default, Clone)]
pub struct Columns {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Columns {
    /// The index of a column, adding it at the end when new.
    pub fn index_or_insert(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), self.names.len() - 1);
        self.names.len() - 1
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// One source row: raw values by column index (missing trailing values are null) and, for
/// spatial sources, its geometry as WKB in the source CRS.
#[derive(Debug, Clone)]
pub struct Record {
    pub location: Location,
    pub values: Vec<Option<String>>,
    pub geometry: Option<Vec<u8>>,
}

/// Where in a source file something is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// 1-based line where a CSV record starts.
    Line(u64),
    /// 1-based feature number of a GeoJSON FeatureCollection.
    Feature(u64),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Feature(n) => write!(f, "feature {n}"),
        }
    }
}

/// A source row that was not published, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejection {
    pub file: String,
    #[serde(flatten)]
    pub location: Location,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.location)?;
        if let Some(c) = &self.column {
            write!(f, ", column '{c}'")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// What a reader hands to the pipeline.
#[derive(Debug)]
pub enum Event {
    Record(Record),
    Rejected(Rejection),
}

/// What a reader found out about its file.
#[derive(Debug, Clone, Default)]
pub struct FileFacts {
    pub encoding: Option<String>,
    pub encoding_reason: Option<String>,
    pub delimiter: Option<char>,
    /// The CRS the file declares, when it does.
    pub crs: Option<String>,
    /// What the reader noticed but could work around (a missing `.prj`, …).
    pub warnings: Vec<String>,
}

/// A source file reader. Reading is deterministic, so the pipeline reads a file twice (once to
/// infer column types, once to convert) without holding it in memory.
pub trait SourceReader {
    /// Streams the file's rows into `emit`, registering column names in `columns`.
    fn read(
        &mut self,
        columns: &mut Columns,
        emit: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<FileFacts>;

    /// Whether the source, as far as read, holds no geometry at all, for formats where that
    /// varies (a GDAL layer can be a plain table).
    fn is_table(&self) -> bool {
        false
    }
}

/// A reader for anything GDAL opens as vector data.
#[cfg(feature = "gdal")]
pub fn open_gdal(path: &Path, layer: Option<&str>) -> Result<Box<dyn SourceReader>> {
    Ok(Box::new(gdal::GdalReader::open(path, layer)?))
}

/// Without the cargo feature `gdal`: an error that says how to get it.
#[cfg(not(feature = "gdal"))]
pub fn open_gdal(path: &Path, _layer: Option<&str>) -> Result<Box<dyn SourceReader>> {
    Err(crate::error::IngestError::config(
        path,
        format!(
            "format \"gdal\" needs a build with GDAL: {}",
            crate::config::GDAL_HINT
        ),
    ))
}

/// Normalises text to Unicode NFC (so `u` + combining diaeresis becomes `ü`).
pub fn nfc(s: String) -> String {
    use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
    match is_nfc_quick(s.chars()) {
        IsNormalized::Yes => s,
        _ => s.nfc().collect(),
    }
}

/// A header's column name: trimmed NFC text, `column_<number>` when blank, and `_2`, `_3`, …
/// appended when `seen` already has it.
pub fn header_name(
    raw: &str,
    number: usize,
    seen: &mut std::collections::HashSet<String>,
) -> String {
    let base = nfc(raw.trim().to_owned());
    let base = if base.is_empty() {
        format!("column_{number}")
    } else {
        base
    };
    let mut name = base.clone();
    let mut n = 2;
    while !seen.insert(name.clone()) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

/// Helpers for the readers' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};

    use super::{Columns, Event, FileFacts, Record, SourceReader};

    /// A file of `../shared/datasets`.
    pub fn shared(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/datasets")
            .join(rel)
    }

    /// Columns, records and facts of a whole source; any rejection fails the test.
    pub fn read_all(reader: &mut dyn SourceReader) -> (Columns, Vec<Record>, FileFacts) {
        let (mut columns, mut records) = (Columns::default(), Vec::new());
        let facts = reader
            .read(&mut columns, &mut |e| match e {
                Event::Record(r) => {
                    records.push(r);
                    Ok(())
                }
                Event::Rejected(r) => panic!("rejected: {r}"),
            })
            .expect("read");
        (columns, records, facts)
    }
}
