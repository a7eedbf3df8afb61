//! OGC API – Tiles for each collection in the WebMercatorQuad tile matrix set: Mapbox Vector
//! Tiles at `/tiles/WebMercatorQuad/{z}/{y}/{x}` (features picked by a DataFusion bbox plan,
//! projected to tile coordinates and simplified to the tile's resolution). Empty tiles are
//! 204; tiles carry an ETag, go gzipped to clients that accept it, and a bounded in-memory
//! cache serves hot tiles without a query. The metadata is in `tilesets`.

use std::collections::{HashMap, VecDeque};
use std::f64::consts::PI;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use allmende_query::QueryEngine;
use allmende_query::datafusion::arrow::array::{Array, ArrayRef, AsArray};
use allmende_query::datafusion::arrow::compute::cast;
use allmende_query::datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use allmende_query::datafusion::arrow::record_batch::RecordBatch;
use allmende_query::datafusion::common::Column;
use allmende_query::datafusion::prelude::Expr;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use geo::{MapCoordsInPlace, Simplify};
use geo_types::Geometry;
use geozero::ToGeo;
use sha2::Digest;

use super::collections::Collection;
use super::mvt::{EXTENT, Layer, TileValue};
use super::params::Params;
use super::plan;
use crate::error::ApiError;
use crate::state::AppState;

pub const MEDIA_TYPE: &str = "application/vnd.mapbox-vector-tile";
pub const TMS: &str = "WebMercatorQuad";
pub const MAX_ZOOM: u8 = 22;
/// Tile units around the tile whose features are still included, so that lines and symbols
/// crossing the edge draw without seams.
const BUFFER: f64 = 64.0;
/// Bytes of tiles the cache holds before it forgets the oldest.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// An encoded tile.
struct Tile {
    mvt: Vec<u8>,
    gzip: Vec<u8>,
    etag: String,
}

type Key = (String, u32, i64, u8, u32, u32);

#[derive(Default)]
struct Cache {
    tiles: HashMap<Key, Arc<Tile>>,
    order: VecDeque<Key>,
    bytes: usize,
}

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

impl Cache {
    fn insert(&mut self, key: Key, tile: Arc<Tile>) {
        self.bytes += tile.mvt.len() + tile.gzip.len();
        self.order.push_back(key.clone());
        self.tiles.insert(key, tile);
        while self.bytes > CACHE_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(t) = self.tiles.remove(&old) {
                self.bytes -= t.mvt.len() + t.gzip.len();
            }
        }
    }
}

/// Longitude and latitude of a point in world tile units (`n` tiles per side at this zoom).
fn lon_lat(px: f64, py: f64, n: f64) -> (f64, f64) {
    let lon = px / n * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * py / n)).sinh().atan().to_degrees();
    (lon, lat)
}

/// World tile units of a longitude and latitude.
fn tile_units(lon: f64, lat: f64, n: f64) -> (f64, f64) {
    let lat = lat.clamp(-85.051_128_78, 85.051_128_78).to_radians();
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0 * n;
    (x, y)
}

fn parse_tile(z: &str, y: &str, x: &str) -> Result<(u8, u32, u32), ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "no tile {z}/{y}/{x} in {TMS} (zoom 0 to {MAX_ZOOM})"
        ))
    };
    let z: u8 = z.parse().map_err(|_| bad())?;
    let y: u32 = y.parse().map_err(|_| bad())?;
    let x: u32 = x.parse().map_err(|_| bad())?;
    if z > MAX_ZOOM || u64::from(x) >= 1u64 << z || u64::from(y) >= 1u64 << z {
        return Err(ApiError::not_found(format!("no tile {z}/{y}/{x} in {TMS}")));
    }
    Ok((z, y, x))
}

pub async fn tile(
    State(state): State<AppState>,
    Path((id, tms, z, y, x)): Path<(String, String, String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["f"])?;
    if params.get("f").is_some_and(|f| f != "mvt") {
        return Err(ApiError::bad_request("tiles come as f=mvt only"));
    }
    if tms != TMS {
        return Err(ApiError::not_found(format!(
            "no tile matrix set '{tms}' (only {TMS})"
        )));
    }
    let (z, y, x) = parse_tile(&z, &y, &x)?;
    let snapshot = state.snapshot().await?;
    let collection = Collection::find(&snapshot, &id)?;
    let key: Key = (
        id.clone(),
        collection.version.number,
        collection.version.created.timestamp_micros(),
        z,
        y,
        x,
    );
    let cached = cache().lock().ok().and_then(|c| c.tiles.get(&key).cloned());
    let tile = match cached {
        Some(t) => t,
        None => {
            let t = Arc::new(render(&snapshot.engine, &collection, z, y, x).await?);
            if let Ok(mut c) = cache().lock() {
                c.insert(key, t.clone());
            }
            t
        }
    };
    if tile.mvt.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let etag = HeaderValue::from_str(&tile.etag).map_err(ApiError::internal)?;
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == tile.etag || t.trim() == "*")
        });
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let gzip = headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
        let mut r = if gzip {
            let mut r = tile.gzip.clone().into_response();
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        } else {
            tile.mvt.clone().into_response()
        };
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
        r
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, etag);
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(response)
}

/// Runs the tile's query and encodes its features.
async fn render(
    engine: &QueryEngine,
    c: &Collection<'_>,
    z: u8,
    y: u32,
    x: u32,
) -> Result<Tile, ApiError> {
    let n = f64::from(1u32 << z);
    let margin = BUFFER / f64::from(EXTENT);
    let (x0, y0) = (f64::from(x) - margin, f64::from(y) - margin);
    let (x1, y1) = (f64::from(x) + 1.0 + margin, f64::from(y) + 1.0 + margin);
    let (w, n_lat) = lon_lat(x0.max(0.0), y0.max(0.0), n);
    let (e, s_lat) = lon_lat(x1.min(n), y1.min(n), n);
    let ring = vec![(w, s_lat), (e, s_lat), (e, n_lat), (w, n_lat), (w, s_lat)];
    let df = plan::table(engine, c).await?;
    let filter = plan::bbox_filter(engine, c, &df, ring)?;
    let geometry = c.geometry_column().to_owned();
    let mut columns: Vec<Expr> = c
        .properties()
        .map(|p| Expr::Column(Column::new_unqualified(&p.name)))
        .collect();
    columns.push(Expr::Column(Column::new_unqualified(&geometry)));
    let df = df
        .filter(filter)
        .and_then(|df| df.select(columns))
        .map_err(ApiError::internal)?;
    let (_, mut stream) = engine.stream_frame(df).await?;
    let id_column = c.id_column(engine).await?;
    let mut layer = Layer::new(c.id());
    // Tile units per world unit at this zoom: one tile is EXTENT units wide.
    let scale = f64::from(EXTENT);
    let origin = (f64::from(x), f64::from(y));
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        add_batch(
            &mut layer,
            &batch,
            &geometry,
            id_column.as_deref(),
            |lon, lat| {
                let (wx, wy) = tile_units(lon, lat, n);
                ((wx - origin.0) * scale, (wy - origin.1) * scale)
            },
        )?;
    }
    let mvt = super::mvt::encode_tile(&[layer]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&mvt).map_err(ApiError::internal)?;
    let gzip = gz.finish().map_err(ApiError::internal)?;
    let etag = format!("\"{}\"", hex::encode(&sha2::Sha256::digest(&mvt)[..16]));
    Ok(Tile { mvt, gzip, etag })
}

/// A column's values as tile values, by the column's type.
enum Values {
    Int(ArrayRef),
    Double(ArrayRef),
    Bool(ArrayRef),
    Text(ArrayRef),
}

impl Values {
    fn new(column: &ArrayRef) -> Result<Values, ApiError> {
        let err = |e| ApiError::internal(e);
        Ok(match column.data_type() {
            t if t.is_integer() => Values::Int(cast(column, &DataType::Int64).map_err(err)?),
            t if t.is_floating()
                || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) =>
            {
                Values::Double(cast(column, &DataType::Float64).map_err(err)?)
            }
            DataType::Boolean => Values::Bool(column.clone()),
            _ => Values::Text(cast(column, &DataType::Utf8).map_err(err)?),
        })
    }

    fn get(&self, row: usize) -> Option<TileValue> {
        match self {
            Values::Int(a) => a
                .is_valid(row)
                .then(|| TileValue::Int(a.as_primitive::<Int64Type>().value(row))),
            Values::Double(a) => a
                .is_valid(row)
                .then(|| a.as_primitive::<Float64Type>().value(row))
                .filter(|v| v.is_finite())
                .map(TileValue::Double),
            Values::Bool(a) => a
                .is_valid(row)
                .then(|| TileValue::Bool(a.as_boolean().value(row))),
            Values::Text(a) => a
                .is_valid(row)
                .then(|| TileValue::String(a.as_string::<i32>().value(row).to_owned())),
        }
    }
}

fn add_batch(
    layer: &mut Layer,
    batch: &RecordBatch,
    geometry: &str,
    id_column: Option<&str>,
    project: impl Fn(f64, f64) -> (f64, f64),
) -> Result<(), ApiError> {
    let schema = batch.schema();
    let g = schema.index_of(geometry).map_err(ApiError::internal)?;
    let wkb = batch.column(g);
    let mut properties = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        if i != g {
            properties.push((field.name().clone(), Values::new(batch.column(i))?));
        }
    }
    let ids = id_column
        .and_then(|name| schema.index_of(name).ok())
        .map(|i| batch.column(i))
        .filter(|a| a.data_type().is_integer())
        .map(|a| cast(a, &DataType::Int64))
        .transpose()
        .map_err(ApiError::internal)?;
    for row in 0..batch.num_rows() {
        if wkb.is_null(row) {
            continue;
        }
        let bytes = match wkb.data_type() {
            DataType::Binary => wkb.as_binary::<i32>().value(row),
            DataType::LargeBinary => wkb.as_binary::<i64>().value(row),
            _ => wkb.as_binary_view().value(row),
        };
        let Ok(mut geom) = geozero::wkb::Wkb(bytes).to_geo() else {
            continue;
        };
        geom.map_coords_in_place(|c| {
            let (x, y) = project(c.x, c.y);
            geo_types::Coord { x, y }
        });
        // Simplified to half a tile unit: finer detail cannot show at this zoom.
        let geom = match geom {
            Geometry::LineString(l) => Geometry::LineString(l.simplify(0.5)),
            Geometry::MultiLineString(l) => Geometry::MultiLineString(l.simplify(0.5)),
            Geometry::Polygon(p) => Geometry::Polygon(p.simplify(0.5)),
            Geometry::MultiPolygon(p) => Geometry::MultiPolygon(p.simplify(0.5)),
            other => other,
        };
        let id = ids
            .as_ref()
            .filter(|a| a.is_valid(row))
            .map(|a| a.as_primitive::<Int64Type>().value(row))
            .and_then(|v| u64::try_from(v).ok());
        let props = properties
            .iter()
            .filter_map(|(name, values)| values.get(row).map(|v| (name.clone(), v)))
            .collect();
        layer.add(id, &geom, props);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_units_and_lon_lat_are_inverse() {
        let n = 4096.0;
        for (lon, lat) in [(8.4, 49.0), (-120.0, -33.3), (0.0, 0.0)] {
            let (x, y) = tile_units(lon, lat, n);
            let (lon2, lat2) = lon_lat(x, y, n);
            assert!((lon - lon2).abs() < 1e-9 && (lat - lat2).abs() < 1e-9);
        }
        // Karlsruhe (8.4037 E, 49.0093 N) lies in tile 12/1406/2143 (x 2143.6, y 1406.4).
        let (x, y) = tile_units(8.4037, 49.0093, 4096.0);
        assert_eq!((x.floor(), y.floor()), (2143.0, 1406.0));
    }

    #[test]
    fn tile_addresses_are_checked() {
        assert!(parse_tile("3", "7", "7").is_ok());
        assert_eq!(
            parse_tile("3", "8", "0").err().map(|e| e.status.as_u16()),
            Some(404)
        );
        assert_eq!(
            parse_tile("x", "0", "0").err().map(|e| e.status.as_u16()),
            Some(400)
        );
        assert_eq!(
            parse_tile("23", "0", "0").err().map(|e| e.status.as_u16()),
            Some(404)
        );
    }
}
