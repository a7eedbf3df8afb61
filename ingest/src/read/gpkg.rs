//! GeoPackage (OGC 12-128): one feature layer, named by `layer` in `dataset.toml` or the only
//! one, streamed row by row. Geometry blobs are unwrapped by hand (the `GP` header and its
//! optional envelope) to the standard WKB inside; the CRS comes from `gpkg_spatial_ref_sys`.

use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{Columns, Event, FileFacts, Location, Record, Rejection, SourceReader, nfc};
use crate::error::{IngestError, Result};

/// Reads one layer of a GeoPackage.
#[derive(Debug)]
pub struct GeoPackageReader {
    path: PathBuf,
    display: String,
    layer: String,
    geometry_column: String,
    crs: Option<String>,
}

impl GeoPackageReader {
    /// Opens the file and finds the layer, its geometry column and its CRS.
    pub fn open(path: &Path, layer: Option<&str>) -> Result<GeoPackageReader> {
        let fail = |e: rusqlite::Error| error(path, format!("not a readable GeoPackage: {e}"));
        let conn = connect(path)?;
        let layers: Vec<String> = conn
            .prepare(
                "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' \
                 ORDER BY table_name",
            )
            .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
            .map_err(fail)?;
        let layer = match layer {
            Some(name) if layers.iter().any(|l| l == name) => name.to_owned(),
            None if layers.len() == 1 => layers[0].clone(),
            _ => {
                let wanted = match (layer, layers.len()) {
                    (Some(name), _) => format!("no feature layer named {name:?}"),
                    (None, 0) => "the GeoPackage has no feature layer".into(),
                    (None, _) => "several feature layers; name one as [source] layer".into(),
                };
                let list = layers.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>();
                return Err(IngestError::config(
                    path,
                    format!("{wanted} (layers: {})", list.join(", ")),
                ));
            }
        };
        let (geometry_column, organization, code, definition): (String, String, i64, String) = conn
            .query_row(
                "SELECT g.column_name, s.organization, s.organization_coordsys_id, s.definition \
                 FROM gpkg_geometry_columns g JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id \
                 WHERE g.table_name = ?1",
                [&layer],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .map_err(|e| {
                error(
                    path,
                    format!("layer {layer:?}: no geometry column or CRS: {e}"),
                )
            })?;
        // srs_id -1 and 0 are "undefined" Cartesian and geographic systems (organization NONE).
        let crs = if organization.eq_ignore_ascii_case("EPSG") {
            Some(format!("EPSG:{code}"))
        } else {
            Some(definition).filter(|d| !d.trim().eq_ignore_ascii_case("undefined"))
        };
        Ok(GeoPackageReader {
            path: path.to_owned(),
            display: path.display().to_string(),
            layer,
            geometry_column,
            crs,
        })
    }
}

fn error(path: &Path, message: String) -> IngestError {
    IngestError::Parse {
        path: path.to_owned(),
        line: 1,
        column: None,
        message,
    }
}

/// Opens read-only. Without a `-wal` file beside it the database is opened as immutable:
/// otherwise SQLite creates `-wal`/`-shm` files next to a WAL-mode source (even read-only),
/// littering, or failing in, the source folder. With one, its committed changes must be read.
fn connect(path: &Path) -> Result<Connection> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let mode = if Path::new(&wal).exists() {
        "mode=ro"
    } else {
        "immutable=1"
    };
    let text = path
        .to_str()
        .ok_or_else(|| error(path, "the path is not valid Unicode".into()))?;
    let mut uri = String::from("file:");
    for c in text.chars() {
        match c {
            '%' | '?' | '#' => uri.push_str(&format!("%{:02x}", c as u32)),
            c => uri.push(c),
        }
    }
    uri.push('?');
    uri.push_str(mode);
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(&uri, flags)
        .map_err(|e| error(path, format!("not a readable GeoPackage: {e}")))
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

impl SourceReader for GeoPackageReader {
    fn read(
        &mut self,
        columns: &mut Columns,
        emit: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<FileFacts> {
        let fail = |e: rusqlite::Error| error(&self.path, format!("layer {:?}: {e}", self.layer));
        let conn = connect(&self.path)?;
        // (name, declared type, primary key) of every column, in table order.
        let fields: Vec<(String, String, bool)> = conn
            .prepare("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid")
            .and_then(|mut s| {
                s.query_map([&self.layer], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? > 0))
                })?
                .collect()
            })
            .map_err(fail)?;
        let fid = fields.iter().position(|f| f.2);
        let mut slots = Vec::with_capacity(fields.len());
        for (name, _, _) in &fields {
            slots.push(
                (*name != self.geometry_column)
                    .then(|| columns.index_or_insert(&nfc(name.clone()))),
            );
        }
        let width = columns.len();
        let select: Vec<String> = fields.iter().map(|f| quote(&f.0)).collect();
        let sql = format!("SELECT {} FROM {}", select.join(", "), quote(&self.layer));
        let mut statement = conn.prepare(&sql).map_err(fail)?;
        let mut rows = statement.query([]).map_err(fail)?;
        let mut count = 0u64;
        while let Some(row) = rows.next().map_err(fail)? {
            count += 1;
            let location = Location::Feature(count);
            let mut values = vec![None; width];
            let mut geometry = None;
            let mut failed = None;
            for (i, ((name, declared, _), slot)) in fields.iter().zip(&slots).enumerate() {
                let value = row.get_ref(i).map_err(fail)?;
                let result = match slot {
                    Some(slot) => text(value, declared).map(|v| values[*slot] = v),
                    None => match value {
                        ValueRef::Null => Ok(()),
                        ValueRef::Blob(blob) => {
                            gpkg_wkb(blob).map(|w| geometry = w.map(<[u8]>::to_vec))
                        }
                        _ => Err("the geometry is not a blob".into()),
                    },
                };
                if let Err(reason) = result {
                    failed = Some((name.clone(), reason));
                    break;
                }
            }
            let event = match failed {
                None => Event::Record(Record {
                    location,
                    values,
                    geometry,
                }),
                Some((column, reason)) => {
                    let fid = fid
                        .and_then(|i| row.get_ref(i).ok()?.as_i64().ok())
                        .map_or(String::new(), |id| format!(", fid {id}"));
                    Event::Rejected(Rejection {
                        file: self.display.clone(),
                        location,
                        column: Some(column),
                        reason: format!("{reason} (layer {:?}{fid})", self.layer),
                    })
                }
            };
            emit(event)?;
        }
        Ok(FileFacts {
            crs: self.crs.clone(),
            ..FileFacts::default()
        })
    }
}

/// An attribute as raw text; GeoPackage booleans are integers of declared type BOOLEAN.
fn text(value: ValueRef<'_>, declared: &str) -> std::result::Result<Option<String>, String> {
    Ok(Some(match value {
        ValueRef::Null => return Ok(None),
        ValueRef::Integer(i) if declared.eq_ignore_ascii_case("BOOLEAN") => (i != 0).to_string(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f}"),
        ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(s) => nfc(s.to_owned()),
            Err(e) => return Err(format!("the text is not valid UTF-8: {e}")),
        },
        ValueRef::Blob(bytes) => hex::encode(bytes),
    }))
}

/// The standard WKB inside a GeoPackage geometry blob (OGC 12-128 §2.1.3): `"GP"`, version 0,
/// a flags byte (bit 0 byte order of the header, bits 1–3 envelope kind, bit 4 empty, bit 5
/// extended), the `srs_id`, the envelope, then the WKB. `Ok(None)` for an empty geometry.
fn gpkg_wkb(blob: &[u8]) -> std::result::Result<Option<&[u8]>, String> {
    let [b'G', b'P', version, flags, ..] = *blob else {
        return Err("not a GeoPackage geometry: no \"GP\" header".into());
    };
    if version != 0 {
        return Err(format!(
            "GeoPackage geometry version {version} is not known"
        ));
    }
    if flags & 0b0010_0000 != 0 {
        return Err("an extended (non-standard) GeoPackage geometry".into());
    }
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        n => {
            return Err(format!(
                "invalid envelope indicator {n} in the geometry header"
            ));
        }
    };
    if flags & 0b0001_0000 != 0 {
        return Ok(None);
    }
    match blob.get(8 + envelope..) {
        Some(wkb) if wkb.len() >= 5 => Ok(Some(wkb)),
        _ => Err("the geometry blob is cut short".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{bounds, type_name};

    use crate::read::testing::shared;

    fn read_all(path: &Path, layer: Option<&str>) -> (Columns, Vec<Record>, FileFacts) {
        let mut reader = GeoPackageReader::open(path, layer).expect("open");
        crate::read::testing::read_all(&mut reader)
    }

    #[test]
    fn the_federal_states_without_leaving_sidecar_files() {
        let path = shared("maps/de_federal_states_vg250_bkg.gpkg");
        let (columns, rows, facts) = read_all(&path, None);
        assert_eq!(facts.crs.as_deref(), Some("EPSG:4326"));
        assert_eq!(rows.len(), 16);
        assert_eq!(&columns.names()[..3], ["fid", "ade", "gf"]);
        assert!(columns.get("geom").is_none());
        let name = columns.get("gen").expect("gen");
        assert!(
            rows.iter()
                .any(|r| r.values[name].as_deref() == Some("Baden-Württemberg"))
        );
        for row in &rows {
            let wkb = row.geometry.as_deref().expect("geometry");
            assert_eq!(type_name(wkb), Some("MultiPolygon"));
            let b = bounds(wkb).expect("valid WKB").expect("non-empty");
            assert!(b.min_x > 5.8 && b.max_x < 15.1 && b.min_y > 47.2 && b.max_y < 55.1);
        }
        // The file is in WAL mode; reading must not create -wal/-shm files beside it.
        for sidecar in ["-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(sidecar);
            assert!(!Path::new(&p).exists(), "{sidecar} left behind");
        }
    }

    #[test]
    fn numbers_booleans_nulls_curves_and_measures() {
        let path = shared("fixtures/gpkg_pyogrio/test_gpkg_nulls.gpkg");
        let (columns, rows, _) = read_all(&path, Some("test_gpkg_nulls"));
        let value =
            |row: usize, name: &str| rows[row].values[columns.get(name).expect(name)].clone();
        assert_eq!(value(0, "col_bool").as_deref(), Some("true"));
        assert_eq!(value(1, "col_bool").as_deref(), Some("false"));
        assert_eq!(value(2, "col_uint64").as_deref(), Some("3"));
        assert_eq!(value(0, "col_float32").as_deref(), Some("1.5"));
        assert_eq!((rows.len(), value(3, "col_float64")), (4, None));
        // Curves and ZM pass on as ISO WKB: CompoundCurve 9, CurvePolygon 10, MultiSurface 12.
        let codes = [
            ("curve", 9u32),
            ("curvepolygon", 10),
            ("multisurface", 12),
            ("line_zm", 3002),
        ];
        for (file, code) in codes {
            let path = shared(&format!("fixtures/gpkg_pyogrio/{file}.gpkg"));
            let wkb = read_all(&path, None).1[0]
                .geometry
                .clone()
                .expect("geometry");
            assert_eq!(wkb.get(1..5), Some(&code.to_le_bytes()[..]), "{file}");
        }
    }

    #[test]
    fn a_malformed_blob_rejects_its_feature() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.gpkg");
        std::fs::copy(shared("fixtures/gpkg_pyogrio/test_gpkg_nulls.gpkg"), &path).expect("copy");
        let conn = Connection::open(&path).expect("open");
        // GDAL's R-tree triggers call ST_IsEmpty, which plain SQLite lacks.
        let triggers: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("triggers");
        for name in triggers {
            conn.execute_batch(&format!("DROP TRIGGER {}", quote(&name)))
                .expect("drop");
        }
        let mut blob: Vec<u8> = conn
            .query_row("SELECT geom FROM test_gpkg_nulls WHERE fid = 2", [], |r| {
                r.get(0)
            })
            .expect("blob");
        blob[3] = 0b0101; // declares a 48-byte envelope that the 29-byte point blob lacks
        let update = "UPDATE test_gpkg_nulls SET geom = ?1 WHERE fid = ?2";
        conn.execute(update, rusqlite::params![blob, 2])
            .expect("corrupt");
        conn.execute(update, rusqlite::params![vec![0u8], 3])
            .expect("corrupt");
        drop(conn);
        let mut rejected = Vec::new();
        GeoPackageReader::open(&path, None)
            .expect("open")
            .read(&mut Columns::default(), &mut |e| {
                if let Event::Rejected(r) = e {
                    rejected.push(r.to_string());
                }
                Ok(())
            })
            .expect("read");
        assert_eq!(rejected.len(), 2, "{rejected:?}");
        let cut = "feature 2, column 'geom': the geometry blob is cut short";
        assert!(rejected[0].contains(cut), "{rejected:?}");
        assert!(rejected[0].ends_with("fid 2)"), "{}", rejected[0]);
        assert!(rejected[1].contains("no \"GP\" header"), "{}", rejected[1]);
    }

    #[test]
    fn missing_layers_other_files_and_odd_headers_are_reported() {
        let path = shared("fixtures/gpkg_pyogrio/curve.gpkg");
        let err = GeoPackageReader::open(&path, Some("kurve")).expect_err("no such layer");
        assert!(err.to_string().contains("(layers: \"curve\")"), "{err}");
        let err = GeoPackageReader::open(&shared("maps/koeln_stadtbezirke.kml"), None);
        let err = err.expect_err("not SQLite").to_string();
        assert!(err.contains("not a readable GeoPackage"), "{err}");
        let empty = [b'G', b'P', 0, 0b0001_0001, 0, 0, 0, 0];
        assert_eq!(gpkg_wkb(&empty), Ok(None));
        for bad in [&b"GP"[..], b"GP\x01\x01", b"GP\0\x0b", b"GP\0\x21"] {
            assert!(gpkg_wkb(bad).is_err(), "{bad:?}");
        }
    }
}
