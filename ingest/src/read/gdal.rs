//! Every other vector format, through the system's GDAL (cargo feature `gdal`): FlatGeobuf, GML,
//! MapInfo, DXF, GPX, CSV with WKT, … One layer, named by `layer` in `dataset.toml` or the only
//! one, streamed feature by feature. Attributes arrive as text the way our own readers write
//! them (numbers as Rust prints them, dates in ISO 8601), geometries as ISO WKB.
//!
//! GDAL reports problems through a process-wide handler rather than return values: what it
//! says while this thread opens or reads a file is collected, so warnings land in the ingest
//! report and failures in the error instead of on stderr.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Once;

use gdal::errors::CplErrType;
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{FieldValue, LayerAccess, OGRFieldType};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};

use super::{Columns, Event, FileFacts, Location, Record, Rejection, SourceReader, header_name};
use crate::error::{IngestError, Result};

/// Reads one layer of anything GDAL opens as vector data.
#[derive(Debug)]
pub struct GdalReader {
    path: PathBuf,
    display: String,
    layer: String,
    crs: Option<String>,
    /// Whether reading found any geometry: a layer without is published as a table (a
    /// FlatGeobuf without geometries still declares a geometry field).
    found_geometry: bool,
}

impl GdalReader {
    /// Opens the data source read-only and finds the layer and its CRS.
    pub fn open(path: &Path, layer: Option<&str>) -> Result<GdalReader> {
        let (opened, said) = collect(|| -> Result<(String, Option<String>)> {
            let dataset = open(path)?;
            let names: Vec<String> = dataset.layers().map(|l| l.name()).collect();
            let name = match layer {
                Some(name) if names.iter().any(|l| l == name) => name.to_owned(),
                None if names.len() == 1 => names[0].clone(),
                _ => {
                    let wanted = match (layer, names.len()) {
                        (Some(name), _) => format!("no layer named {name:?}"),
                        (None, 0) => "GDAL finds no vector layer in it".into(),
                        (None, _) => "several layers; name one as [source] layer".into(),
                    };
                    let list = names.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>();
                    let list = if list.is_empty() {
                        String::new()
                    } else {
                        format!(" (layers: {})", list.join(", "))
                    };
                    return Err(IngestError::config(path, format!("{wanted}{list}")));
                }
            };
            let layer = dataset
                .layer_by_name(&name)
                .map_err(|e| error(path, 1, format!("layer {name:?}: {}", gdal_message(e))))?;
            Ok((name, layer.spatial_ref().and_then(|srs| crs_text(&srs))))
        });
        let (layer, crs) = opened.map_err(|e| with_failures(e, &said))?;
        Ok(GdalReader {
            path: path.to_owned(),
            display: path.display().to_string(),
            layer,
            crs,
            found_geometry: false,
        })
    }
}

fn open(path: &Path) -> Result<Dataset> {
    let options = DatasetOptions {
        open_flags: GdalOpenFlags::GDAL_OF_READONLY
            | GdalOpenFlags::GDAL_OF_VECTOR
            | GdalOpenFlags::GDAL_OF_VERBOSE_ERROR,
        ..DatasetOptions::default()
    };
    Dataset::open_ex(path, options).map_err(|e| {
        let reason = tidy(path, &gdal_message(e));
        error(
            path,
            1,
            format!("GDAL cannot open it as vector data: {reason}"),
        )
    })
}

/// A GDAL message without the file name (our errors start with it) and trailing blanks.
fn tidy(path: &Path, message: &str) -> String {
    message
        .replace(&format!("`{}' ", path.display()), "")
        .trim()
        .to_owned()
}

/// What GDAL said, without the binding's wording around it.
fn gdal_message(e: gdal::errors::GdalError) -> String {
    match e {
        gdal::errors::GdalError::NullPointer { msg, .. } if !msg.trim().is_empty() => {
            msg.trim().to_owned()
        }
        other => other.to_string(),
    }
}

fn error(path: &Path, line: u64, message: String) -> IngestError {
    IngestError::Parse {
        path: path.to_owned(),
        line,
        column: None,
        message,
    }
}

/// Appends what GDAL said went wrong to a configuration or parse error.
fn with_failures(mut e: IngestError, said: &[(CplErrType, String)]) -> IngestError {
    if let IngestError::Config { path, message } | IngestError::Parse { path, message, .. } = &mut e
    {
        let failures = said
            .iter()
            .filter(|(class, _)| matches!(class, CplErrType::Failure | CplErrType::Fatal))
            .map(|(_, m)| tidy(path, m));
        for failure in failures {
            if !message.contains(failure.trim_end_matches('.')) {
                message.push_str(&format!(" (GDAL: {failure})"));
            }
        }
    }
    e
}

/// `EPSG:n` when the CRS carries that authority, else its WKT.
fn crs_text(srs: &SpatialRef) -> Option<String> {
    if srs
        .auth_name()
        .is_some_and(|a| a.eq_ignore_ascii_case("EPSG"))
        && let Ok(code) = srs.auth_code()
    {
        return Some(format!("EPSG:{code}"));
    }
    srs.to_wkt().ok().filter(|w| !w.trim().is_empty())
}

impl SourceReader for GdalReader {
    fn read(
        &mut self,
        columns: &mut Columns,
        emit: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<FileFacts> {
        let (result, said) = collect(|| self.stream(columns, emit));
        let mut warnings = result.map_err(|e| with_failures(e, &said))?;
        let mut seen = HashSet::new();
        for (class, message) in said {
            if class != CplErrType::Debug && seen.insert(message.clone()) {
                warnings.push(format!("GDAL: {message}"));
            }
        }
        Ok(FileFacts {
            crs: self.crs.clone(),
            warnings,
            ..FileFacts::default()
        })
    }

    fn is_table(&self) -> bool {
        !self.found_geometry
    }
}

impl GdalReader {
    /// Emits every feature; returns the reader's own warnings.
    fn stream(
        &mut self,
        columns: &mut Columns,
        emit: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<Vec<String>> {
        let dataset = open(&self.path)?;
        let mut layer = dataset.layer_by_name(&self.layer).map_err(|e| {
            let reason = gdal_message(e);
            error(&self.path, 1, format!("layer {:?}: {reason}", self.layer))
        })?;
        let mut warnings = Vec::new();
        let geometry_fields: Vec<String> = layer.defn().geom_fields().map(|g| g.name()).collect();
        if geometry_fields.len() > 1 {
            warnings.push(format!(
                "layer {:?} has {} geometry fields; only the first ({:?}) is read",
                self.layer,
                geometry_fields.len(),
                geometry_fields[0]
            ));
        }
        let mut seen = HashSet::new();
        let fields: Vec<(String, OGRFieldType::Type, usize)> = layer
            .defn()
            .fields()
            .enumerate()
            .map(|(i, f)| {
                let name = header_name(&f.name(), i + 1, &mut seen);
                let slot = columns.index_or_insert(&name);
                (name, f.field_type(), slot)
            })
            .collect();
        let width = columns.len();
        let mut count = 0u64;
        let mut features = layer.features();
        loop {
            // GDAL ends the iteration the same way after the last feature and after a failure
            // to read the next one; only the failure it reports tells them apart.
            let failures = failure_count();
            let Some(feature) = features.next() else {
                if failure_count() > failures {
                    return Err(error(
                        &self.path,
                        count + 1,
                        format!(
                            "layer {:?}: GDAL failed to read feature {} (after {count})",
                            self.layer,
                            count + 1
                        ),
                    ));
                }
                break;
            };
            count += 1;
            let location = Location::Feature(count);
            let mut values = vec![None; width];
            let mut failed = None;
            for (i, (name, kind, slot)) in fields.iter().enumerate() {
                match text(&feature, i, *kind) {
                    Ok(v) => values[*slot] = v,
                    Err(reason) => {
                        failed = Some((name.clone(), reason));
                        break;
                    }
                }
            }
            let geometry = match (&failed, geometry_fields.is_empty()) {
                (None, false) => match feature.geometry_by_index(0) {
                    // An error here means the feature has no geometry.
                    Err(_) => None,
                    Ok(g) => match g.iso_wkb() {
                        Ok(wkb) => {
                            self.found_geometry = true;
                            Some(wkb)
                        }
                        Err(e) => {
                            let reason = format!("the geometry cannot be exported as WKB: {e}");
                            failed = Some((geometry_fields[0].clone(), reason));
                            None
                        }
                    },
                },
                _ => None,
            };
            let event = match failed {
                None => Event::Record(Record {
                    location,
                    values,
                    geometry,
                }),
                Some((column, reason)) => {
                    let fid = feature
                        .fid()
                        .map_or(String::new(), |id| format!(", fid {id}"));
                    Event::Rejected(Rejection {
                        file: self.display.clone(),
                        location,
                        column: (!column.is_empty()).then_some(column),
                        reason: format!("{reason} (layer {:?}{fid})", self.layer),
                    })
                }
            };
            emit(event)?;
        }
        Ok(warnings)
    }
}

/// A field as raw text: `None` for null or unset (GDAL gives both as empty text), numbers as
/// Rust prints them, dates and times in ISO 8601, lists as JSON arrays, binary as hex.
fn text(
    feature: &gdal::vector::Feature<'_>,
    i: usize,
    kind: OGRFieldType::Type,
) -> std::result::Result<Option<String>, String> {
    let raw = match feature.field_as_string(i) {
        Ok(Some(s)) if !s.is_empty() => s,
        Ok(_) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    Ok(Some(match kind {
        OGRFieldType::OFTString | OGRFieldType::OFTWideString => super::nfc(raw),
        OGRFieldType::OFTDate | OGRFieldType::OFTDateTime => iso_datetime(&raw),
        OGRFieldType::OFTBinary => raw.to_ascii_lowercase(),
        OGRFieldType::OFTInteger | OGRFieldType::OFTInteger64 | OGRFieldType::OFTTime => raw,
        _ => match feature.field(i).map_err(|e| e.to_string())? {
            None => return Ok(None),
            Some(FieldValue::RealValue(f)) => format!("{f}"),
            Some(FieldValue::IntegerListValue(v)) => json(&v),
            Some(FieldValue::Integer64ListValue(v)) => json(&v),
            Some(FieldValue::RealListValue(v)) => json(&v),
            Some(FieldValue::StringListValue(v)) => json(&v),
            Some(_) => raw,
        },
    }))
}

fn json<T: serde::Serialize>(values: &[T]) -> String {
    serde_json::to_string(values).unwrap_or_default()
}

/// GDAL's `YYYY/MM/DD HH:MM:SS[.sss][+HH[MM]]` as ISO 8601 (`YYYY-MM-DDTHH:MM:SS…+HH:MM`).
/// Without a zone GDAL means local or unknown time, so none is added.
fn iso_datetime(raw: &str) -> String {
    let (date, time) = raw.trim().split_once(' ').unwrap_or((raw.trim(), ""));
    let date = date.replace('/', "-");
    if time.is_empty() {
        return date;
    }
    let (clock, zone) = match time.find(['+', '-']) {
        Some(at) => time.split_at(at),
        None => (time, ""),
    };
    let zone = match zone.len() {
        3 => format!("{zone}:00"),
        5 => format!("{}:{}", &zone[..3], &zone[3..]),
        _ => zone.to_owned(),
    };
    format!("{date}T{clock}{zone}")
}

type Said = Vec<(CplErrType, String)>;

thread_local! {
    /// What GDAL says on this thread while [`collect`] runs.
    static SAID: RefCell<Option<Said>> = const { RefCell::new(None) };
    /// Failures reported on this thread, ever: iteration hides them behind "no more features".
    static FAILURES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn failure_count() -> u64 {
    FAILURES.with(std::cell::Cell::get)
}

/// Runs `f` and returns what GDAL reported on this thread meanwhile. Messages outside such a
/// run go to the log.
fn collect<T>(f: impl FnOnce() -> T) -> (T, Said) {
    static HANDLER: Once = Once::new();
    HANDLER.call_once(|| {
        // Called from C: must not panic, hence `try_with` and `try_borrow_mut`.
        gdal::config::set_error_handler(|class, _number, message| {
            if matches!(class, CplErrType::Failure | CplErrType::Fatal) {
                let _ = FAILURES.try_with(|n| n.set(n.get() + 1));
            }
            let kept = SAID
                .try_with(|said| match said.try_borrow_mut() {
                    Ok(mut said) => said
                        .as_mut()
                        .map(|s| s.push((class, message.to_owned())))
                        .is_some(),
                    Err(_) => false,
                })
                .unwrap_or(false);
            if !kept {
                match class {
                    CplErrType::Failure | CplErrType::Fatal => tracing::warn!("GDAL: {message}"),
                    CplErrType::Warning => tracing::info!("GDAL: {message}"),
                    _ => tracing::debug!("GDAL: {message}"),
                }
            }
        });
    });
    let outer = SAID.with(|s| s.borrow_mut().replace(Vec::new()));
    let value = f();
    let said = SAID.with(|s| std::mem::replace(&mut *s.borrow_mut(), outer));
    (value, said.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::type_name;

    use crate::read::testing::shared;

    fn read_all(path: &Path, layer: Option<&str>) -> (Columns, Vec<Record>, FileFacts) {
        let mut reader = GdalReader::open(path, layer).expect("open");
        crate::read::testing::read_all(&mut reader)
    }

    #[test]
    fn gdal_dates_become_iso_8601() {
        assert_eq!(iso_datetime("2020/02/29"), "2020-02-29");
        assert_eq!(
            iso_datetime("2020/02/29 12:34:56+00"),
            "2020-02-29T12:34:56+00:00"
        );
        assert_eq!(
            iso_datetime("2020/02/29 12:34:56.250+0530"),
            "2020-02-29T12:34:56.250+05:30"
        );
        assert_eq!(
            iso_datetime("2020/02/29 12:34:56-03"),
            "2020-02-29T12:34:56-03:00"
        );
        assert_eq!(iso_datetime("2020/02/29 12:34:56"), "2020-02-29T12:34:56");
    }

    #[test]
    fn every_flatgeobuf_column_type() {
        // Values as `ogrinfo -al alldatatypes.fgb` prints them (GDAL 3.6).
        let (columns, rows, facts) =
            read_all(&shared("fixtures/flatgeobuf/alldatatypes.fgb"), None);
        assert_eq!(rows.len(), 1);
        assert_eq!(facts.crs, None);
        let value = |name: &str| rows[0].values[columns.get(name).expect(name)].clone();
        assert_eq!(value("byte").as_deref(), Some("-1"));
        assert_eq!(value("ubyte").as_deref(), Some("255"));
        assert_eq!(value("uint").as_deref(), Some("4294967295"));
        assert_eq!(value("string").as_deref(), Some("X"));
        assert_eq!(value("double").as_deref(), Some("0"));
        assert_eq!(
            value("datetime").as_deref(),
            Some("2020-02-29T12:34:56+00:00")
        );
        assert_eq!(value("binary").as_deref(), Some("58"));
        let ulong: f64 = value("ulong").expect("ulong").parse().expect("a number");
        assert!((ulong - 1.844_674_407_370_96e19).abs() < 1e6);
    }

    #[test]
    fn crs_as_epsg_code_and_geometry_as_iso_wkb() {
        let (_, rows, facts) = read_all(&shared("fixtures/flatgeobuf/poly00.fgb"), None);
        assert_eq!(facts.crs.as_deref(), Some("EPSG:27700"));
        assert_eq!(rows.len(), 10);
        assert!(rows.iter().all(|r| {
            let wkb = r.geometry.as_deref().expect("geometry");
            type_name(wkb) == Some("Polygon")
        }));
        // Attributes only: no geometry, no geometry column.
        let (columns, rows, _) = read_all(&shared("fixtures/flatgeobuf/countries_nogeo.fgb"), None);
        assert_eq!(rows.len(), 179);
        assert!(rows.iter().all(|r| r.geometry.is_none()));
        assert!(columns.len() >= 1);
    }

    #[test]
    fn layers_are_named_or_listed() {
        let dir = shared("maps/bkg_vg2500_utm32_shp");
        let err = GdalReader::open(&dir, None).expect_err("two layers");
        let msg = err.to_string();
        assert!(msg.contains("several layers"), "{msg}");
        assert!(msg.contains("\"VG2500_KRS\", \"VG2500_LAN\""), "{msg}");
        let err = GdalReader::open(&dir, Some("VG2500")).expect_err("no such layer");
        assert!(
            err.to_string().contains("no layer named \"VG2500\""),
            "{err}"
        );
        let (_, rows, facts) = read_all(&dir, Some("VG2500_LAN"));
        assert_eq!(facts.crs.as_deref(), Some("EPSG:25832"));
        assert!(!rows.is_empty());
    }

    #[test]
    fn broken_files_are_errors_that_say_why() {
        let fuzzed =
            shared("fixtures/flatgeobuf/clusterfuzz-minimized-fgb_fuzzer-4642513358553088.fgb");
        let msg = GdalReader::open(&fuzzed, None)
            .expect_err("broken header")
            .to_string();
        assert!(
            msg.contains("Header failed consistency verification"),
            "{msg}"
        );
        let v2 = shared("fixtures/flatgeobuf/topp_states.fgb");
        let msg = GdalReader::open(&v2, None).expect_err("v2").to_string();
        assert!(msg.contains("topp_states.fgb"), "{msg}");
        assert!(msg.contains("cannot open"), "{msg}");
    }
}
