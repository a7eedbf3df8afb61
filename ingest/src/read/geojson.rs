//! GeoJSON (RFC 7946): a FeatureCollection streamed feature by feature, a single Feature, or a
//! bare geometry. The legacy `crs` member (GeoJSON 2008) is honoured: its CRS is reported to
//! the pipeline, which reprojects to WGS 84.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use geozero::{CoordDimensions, ToWkb};
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{Columns, Event, FileFacts, Location, Record, Rejection, SourceReader, nfc};
use crate::crs::Crs;
use crate::error::{IngestError, Result};

/// Reads one GeoJSON file.
#[derive(Debug)]
pub struct GeoJsonReader {
    path: PathBuf,
    display: String,
}

impl GeoJsonReader {
    pub fn open(path: &Path) -> Result<GeoJsonReader> {
        Ok(GeoJsonReader {
            path: path.to_owned(),
            display: path.display().to_string(),
        })
    }
}

impl SourceReader for GeoJsonReader {
    fn read(
        &mut self,
        columns: &mut Columns,
        emit: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<FileFacts> {
        let file = File::open(&self.path).map_err(|e| IngestError::io(&self.path, e))?;
        let mut handler = FeatureHandler {
            file: &self.display,
            columns,
            emit,
            count: 0,
            failed: None,
        };
        let mut de =
            serde_json::Deserializer::from_reader(BufReader::with_capacity(256 * 1024, file));
        let top = TopLevel {
            handler: &mut handler,
        }
        .deserialize(&mut de);
        if let Some(err) = handler.failed.take() {
            return Err(err);
        }
        let top = top
            .and_then(|t| de.end().map(|()| t))
            .map_err(|e| IngestError::Parse {
                path: self.path.clone(),
                line: e.line() as u64,
                column: Some(e.column() as u64),
                message: format!("not GeoJSON: {e}"),
            })?;

        let crs = top.crs.as_ref().and_then(crs_name);
        if let Some(name) = &crs
            && let Err(e) = Crs::parse(name)
        {
            return Err(IngestError::Parse {
                path: self.path.clone(),
                line: 1,
                column: None,
                message: format!("the legacy `crs` member: {e}"),
            });
        }
        let not_geojson = |message: String| IngestError::Parse {
            path: self.path.clone(),
            line: 1,
            column: None,
            message,
        };
        match top.kind.as_deref() {
            Some("FeatureCollection") => {}
            Some("Feature") => {
                let mut rest = top.rest;
                rest.insert("type".into(), Value::from("Feature"));
                handler.feature(Value::Object(rest));
            }
            Some(
                "Point" | "LineString" | "Polygon" | "MultiPoint" | "MultiLineString"
                | "MultiPolygon" | "GeometryCollection",
            ) => {
                let mut rest = top.rest;
                rest.insert(
                    "type".into(),
                    Value::from(top.kind.clone().unwrap_or_default()),
                );
                let mut feature = Map::new();
                feature.insert("type".into(), Value::from("Feature"));
                feature.insert("geometry".into(), Value::Object(rest));
                handler.feature(Value::Object(feature));
            }
            Some(other) => {
                return Err(not_geojson(format!(
                    "not GeoJSON: unknown type \"{other}\""
                )));
            }
            None => {
                return Err(not_geojson(
                    "not GeoJSON: the top-level object has no \"type\"".into(),
                ));
            }
        }
        if let Some(err) = handler.failed.take() {
            return Err(err);
        }
        Ok(FileFacts {
            encoding: Some("utf-8".into()),
            encoding_reason: Some("GeoJSON is UTF-8 (RFC 7946)".into()),
            delimiter: None,
            crs: Some(crs.unwrap_or_else(|| "OGC:CRS84".into())),
            warnings: Vec::new(),
        })
    }
}

fn crs_name(crs: &Value) -> Option<String> {
    crs.get("properties")?
        .get("name")?
        .as_str()
        .map(str::to_owned)
}

/// Receives features one at a time while the file streams.
struct FeatureHandler<'a> {
    file: &'a str,
    columns: &'a mut Columns,
    emit: &'a mut dyn FnMut(Event) -> Result<()>,
    count: u64,
    /// An error of the sink, kept to be returned after the parser unwinds.
    failed: Option<IngestError>,
}

impl FeatureHandler<'_> {
    fn feature(&mut self, value: Value) {
        if self.failed.is_some() {
            return;
        }
        self.count += 1;
        let location = Location::Feature(self.count);
        let event = match self.record_of(value, location) {
            Ok(record) => Event::Record(record),
            Err(reason) => Event::Rejected(Rejection {
                file: self.file.to_owned(),
                location,
                column: None,
                reason,
            }),
        };
        if let Err(e) = (self.emit)(event) {
            self.failed = Some(e);
        }
    }

    fn record_of(
        &mut self,
        value: Value,
        location: Location,
    ) -> std::result::Result<Record, String> {
        let Value::Object(mut feature) = value else {
            return Err("not a GeoJSON Feature object".into());
        };
        if feature.get("type").and_then(Value::as_str) != Some("Feature") {
            return Err("member of \"features\" whose type is not \"Feature\"".into());
        }
        let geometry = match feature.remove("geometry") {
            None | Some(Value::Null) => None,
            Some(g) => Some(geometry_to_wkb(g)?),
        };
        let mut values = vec![None; self.columns.len()];
        match feature.remove("properties") {
            None | Some(Value::Null) => {}
            Some(Value::Object(props)) => {
                for (key, v) in props {
                    let i = self.columns.index_or_insert(&nfc(key));
                    if i >= values.len() {
                        values.resize(i + 1, None);
                    }
                    values[i] = match v {
                        Value::Null => None,
                        Value::String(s) => Some(nfc(s)),
                        Value::Bool(b) => Some(b.to_string()),
                        Value::Number(n) => Some(n.to_string()),
                        nested => Some(nested.to_string()),
                    };
                }
            }
            Some(_) => return Err("\"properties\" is not an object".into()),
        }
        Ok(Record {
            location,
            values,
            geometry,
        })
    }
}

fn geometry_to_wkb(value: Value) -> std::result::Result<Vec<u8>, String> {
    let geometry =
        geojson::Geometry::from_json_value(value).map_err(|e| format!("invalid geometry: {e}"))?;
    let geo: geo_types::Geometry<f64> = geo_types::Geometry::try_from(&geometry.value)
        .map_err(|e| format!("invalid geometry: {e}"))?;
    geo.to_wkb(CoordDimensions::xy())
        .map_err(|e| format!("invalid geometry: {e}"))
}

/// What the top-level object held besides the streamed features.
struct Top {
    kind: Option<String>,
    crs: Option<Value>,
    rest: Map<String, Value>,
}

struct TopLevel<'h, 'a> {
    handler: &'h mut FeatureHandler<'a>,
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_, '_> {
    type Value = Top;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<Top, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_, '_> {
    type Value = Top;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a GeoJSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Top, A::Error> {
        let mut top = Top {
            kind: None,
            crs: None,
            rest: Map::new(),
        };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "features" => map.next_value_seed(Features {
                    handler: &mut *self.handler,
                })?,
                "type" => top.kind = Some(map.next_value()?),
                "crs" => top.crs = Some(map.next_value()?),
                "geometry" | "properties" | "id" | "coordinates" | "geometries" => {
                    let v: Value = map.next_value()?;
                    top.rest.insert(key, v);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if self.handler.failed.is_some() {
                return Err(A::Error::custom("stopped"));
            }
        }
        Ok(top)
    }
}

struct Features<'h, 'a> {
    handler: &'h mut FeatureHandler<'a>,
}

impl<'de> DeserializeSeed<'de> for Features<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Features<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of GeoJSON features")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(feature) = seq.next_element::<Value>()? {
            self.handler.feature(feature);
            if self.handler.failed.is_some() {
                return Err(A::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}
