//! KML 2.2/2.3, also zipped as `.kmz`: every Placemark, in document order through Documents
//! and Folders, is a feature whose columns are its `name`, its `description` and its
//! ExtendedData (`SchemaData/SimpleData` and `Data/value`). KML coordinates are WGS 84
//! longitude/latitude by definition; altitudes are dropped. The kml crate parses a whole
//! document at once, so a file is held in memory while it is read.

use std::io::Read;
use std::path::{Path, PathBuf};

use ::kml::Kml;
use ::kml::types::{Element, Placemark};
use geo_types::{Geometry, GeometryCollection, LineString, MultiPoint, Point, Polygon};
use geozero::{CoordDimensions, ToWkb};

use super::{Columns, Event, FileFacts, Location, Record, Rejection, SourceReader, nfc};
use crate::error::{IngestError, Result};

/// Reads one KML or KMZ file.
#[derive(Debug)]
pub struct KmlReader {
    path: PathBuf,
    display: String,
}

impl KmlReader {
    pub fn open(path: &Path) -> Result<KmlReader> {
        Ok(KmlReader {
            path: path.to_owned(),
            display: path.display().to_string(),
        })
    }

    fn error(&self, message: String) -> IngestError {
        IngestError::Parse {
            path: self.path.clone(),
            line: 1,
            column: None,
            message,
        }
    }

    /// The document's text (unzipped from a KMZ) and its encoding: a byte-order mark, else the
    /// XML declaration's, else UTF-8.
    fn text(&self) -> Result<(String, &'static encoding_rs::Encoding)> {
        let mut bytes = std::fs::read(&self.path).map_err(|e| IngestError::io(&self.path, e))?;
        if bytes.starts_with(b"PK\x03\x04") {
            bytes = self.unzip(bytes)?;
        }
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
        let label = (head.trim_start_matches('\u{feff}').starts_with("<?xml"))
            .then(|| head.split("?>").next()?.split_once("encoding=")?.1.get(1..))
            .flatten()
            .and_then(|rest| rest.split(['"', '\'']).next())
            .unwrap_or("utf-8");
        let encoding = encoding_rs::Encoding::for_label(label.as_bytes()).ok_or_else(|| {
            self.error(format!("unknown encoding {label:?} in the XML declaration"))
        })?;
        let (text, used, malformed) = encoding.decode(&bytes);
        if malformed {
            return Err(self.error(format!("the text is not valid {}", used.name())));
        }
        Ok((text.into_owned(), used))
    }

    /// A KMZ's main document: `doc.kml`, else its first `.kml` file.
    fn unzip(&self, bytes: Vec<u8>) -> Result<Vec<u8>> {
        let fail = |e: zip::result::ZipError| self.error(format!("not a readable KMZ: {e}"));
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(fail)?;
        let name = archive
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .filter(|n| n.to_ascii_lowercase().ends_with(".kml"))
            .min_by_key(|n| (n != "doc.kml", n.clone()))
            .ok_or_else(|| self.error("the KMZ holds no .kml document".into()))?;
        let mut doc = Vec::new();
        archive
            .by_name(&name)
            .map_err(fail)?
            .read_to_end(&mut doc)
            .map_err(|e| IngestError::io(&self.path, e))?;
        Ok(doc)
    }
}

impl SourceReader for KmlReader {
    fn read(
        &mut self,
        columns: &mut Columns,
        emit: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<FileFacts> {
        let (text, encoding) = self.text()?;
        let kml: Kml<f64> = ::kml::KmlReader::from_string(&text)
            .read()
            .map_err(|e| self.error(format!("not KML: {e}")))?;
        let mut placemarks = Vec::new();
        collect(kml, &mut placemarks);
        for (n, placemark) in placemarks.into_iter().enumerate() {
            let location = Location::Feature(n as u64 + 1);
            let event = match record_of(placemark, location, columns) {
                Ok(record) => Event::Record(record),
                Err(reason) => Event::Rejected(Rejection {
                    file: self.display.clone(),
                    location,
                    column: None,
                    reason,
                }),
            };
            emit(event)?;
        }
        Ok(FileFacts {
            encoding: Some(encoding.name().to_ascii_lowercase()),
            encoding_reason: Some("byte-order mark or XML declaration; UTF-8 by default".into()),
            crs: Some("EPSG:4326".into()),
            ..FileFacts::default()
        })
    }
}

/// The placemarks of a document, in document order.
fn collect(kml: Kml<f64>, out: &mut Vec<Placemark<f64>>) {
    let elements = match kml {
        Kml::Placemark(p) => return out.push(p),
        Kml::KmlDocument(d) => d.elements,
        Kml::Document { elements, .. } => elements,
        Kml::Folder(f) => f.elements,
        _ => return,
    };
    for element in elements {
        collect(element, out);
    }
}

fn record_of(
    placemark: Placemark<f64>,
    location: Location,
    columns: &mut Columns,
) -> std::result::Result<Record, String> {
    let geometry = match placemark.geometry {
        None => None,
        Some(g) => {
            let geometry = Geometry::try_from(g).map_err(|e| format!("invalid geometry: {e}"))?;
            Some(
                homogeneous(geometry)
                    .to_wkb(CoordDimensions::xy())
                    .map_err(|e| format!("invalid geometry: {e}"))?,
            )
        }
    };
    let mut fields = vec![("name".to_owned(), placemark.name)];
    fields.push(("description".to_owned(), placemark.description));
    for extended in placemark
        .children
        .iter()
        .filter(|c| c.name == "ExtendedData")
    {
        extended_data(extended, &mut fields);
    }
    let mut values = vec![None; columns.len()];
    for (name, value) in fields {
        let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
            continue;
        };
        let i = columns.index_or_insert(&nfc(name));
        if i >= values.len() {
            values.resize(i + 1, None);
        }
        values[i] = Some(nfc(value));
    }
    Ok(Record {
        location,
        values,
        geometry,
    })
}

/// `<SchemaData><SimpleData name="…">v</SimpleData></SchemaData>` and
/// `<Data name="…"><value>v</value></Data>`, as name and value.
fn extended_data(element: &Element, out: &mut Vec<(String, Option<String>)>) {
    for child in &element.children {
        let name = child.attrs.get("name").cloned();
        match (child.name.as_str(), name) {
            ("SchemaData", _) => extended_data(child, out),
            ("SimpleData", Some(name)) => out.push((name, child.content.clone())),
            ("Data", Some(name)) => {
                let value = child.children.iter().find(|c| c.name == "value");
                out.push((name, value.and_then(|v| v.content.clone())));
            }
            _ => {}
        }
    }
}

/// A MultiGeometry of one kind of part as the matching Multi type, as GDAL reads it.
fn homogeneous(geometry: Geometry) -> Geometry {
    let Geometry::GeometryCollection(GeometryCollection(parts)) = geometry else {
        return geometry;
    };
    let all = |f: fn(&Geometry) -> bool| !parts.is_empty() && parts.iter().all(f);
    if all(|g| matches!(g, Geometry::Polygon(_))) {
        let polygons = parts.into_iter().filter_map(|g| Polygon::try_from(g).ok());
        Geometry::MultiPolygon(polygons.collect())
    } else if all(|g| matches!(g, Geometry::LineString(_))) {
        let lines = parts
            .into_iter()
            .filter_map(|g| LineString::try_from(g).ok());
        Geometry::MultiLineString(lines.collect())
    } else if all(|g| matches!(g, Geometry::Point(_))) {
        let points = parts.into_iter().filter_map(|g| Point::try_from(g).ok());
        Geometry::MultiPoint(MultiPoint(points.collect()))
    } else {
        Geometry::GeometryCollection(GeometryCollection(parts))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::geometry::{bounds, type_name};

    fn read_all(path: &Path) -> (Columns, Vec<Record>) {
        let mut columns = Columns::default();
        let mut records = Vec::new();
        let facts = KmlReader::open(path)
            .expect("open")
            .read(&mut columns, &mut |e| match e {
                Event::Record(r) => {
                    records.push(r);
                    Ok(())
                }
                Event::Rejected(r) => panic!("rejected: {r}"),
            })
            .expect("read");
        assert_eq!(facts.crs.as_deref(), Some("EPSG:4326"));
        (columns, records)
    }

    fn stadtbezirke() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/datasets/maps/koeln_stadtbezirke.kml")
    }

    #[test]
    fn the_koeln_districts_are_nine_features_with_their_data() {
        let (columns, records) = read_all(&stadtbezirke());
        assert_eq!(records.len(), 9);
        // The placemarks have no name or description, so only the SchemaData columns appear.
        assert_eq!(
            columns.names(),
            ["STB_NR", "STB_NAME", "SHAPE_AREA", "SHAPE_LEN"]
        );
        let first = &records[0];
        assert_eq!(first.location, Location::Feature(1));
        let values: Vec<_> = first.values.iter().map(Option::as_deref).collect();
        assert_eq!(
            values,
            [
                Some("7"),
                Some("Porz"),
                Some("78916509.66940000653"),
                Some("56211.50018020000")
            ]
        );
        let mut names: Vec<_> = records.iter().filter_map(|r| r.values[1].clone()).collect();
        names.sort();
        assert_eq!(names.len(), 9);
        assert_eq!(names[0], "Chorweiler");
        for record in &records {
            let wkb = record.geometry.as_deref().expect("geometry");
            assert!(matches!(type_name(wkb), Some("Polygon" | "MultiPolygon")));
            let b = bounds(wkb).expect("valid").expect("non-empty");
            // Köln lies around 6.8–7.2 °E, 50.8–51.1 °N.
            assert!(
                b.min_x > 6.7 && b.max_x < 7.2 && b.min_y > 50.8 && b.max_y < 51.1,
                "{b:?}"
            );
        }
    }

    #[test]
    fn a_kmz_reads_like_its_kml() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kmz = dir.path().join("stadtbezirke.kmz");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&kmz).expect("create"));
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("doc.kml", options).expect("entry");
        zip.write_all(&std::fs::read(stadtbezirke()).expect("kml"))
            .expect("write");
        zip.finish().expect("finish");
        let (_, from_kml) = read_all(&stadtbezirke());
        let (_, from_kmz) = read_all(&kmz);
        assert_eq!(from_kmz.len(), 9);
        for (a, b) in from_kml.iter().zip(&from_kmz) {
            assert_eq!((&a.values, &a.geometry), (&b.values, &b.geometry));
        }
    }

    #[test]
    fn names_data_and_multigeometries_of_a_latin1_document() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.kml");
        let doc = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\
            <kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document><Folder><Placemark>\
            <name> Stra\u{df}e </name><ExtendedData><Data name=\"Breite\"><value>7,5</value>\
            </Data></ExtendedData><MultiGeometry><Point><coordinates>7,51</coordinates></Point>\
            <Point><coordinates>7.1,51.1,30</coordinates></Point></MultiGeometry></Placemark>\
            </Folder><Placemark><description>ohne Ort</description></Placemark></Document></kml>";
        let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(doc);
        std::fs::write(&path, &latin1).expect("write");
        let (columns, records) = read_all(&path);
        assert_eq!(columns.names(), ["name", "Breite", "description"]);
        assert_eq!(
            records[0].values,
            [Some("Straße".into()), Some("7,5".into())]
        );
        let wkb = records[0].geometry.as_deref().expect("geometry");
        assert_eq!(type_name(wkb), Some("MultiPoint"));
        assert_eq!(records[1].location, Location::Feature(2));
        assert_eq!(records[1].values, [None, None, Some("ohne Ort".into())]);
        assert!(records[1].geometry.is_none());
    }
}
