//! Small facts about WKB geometries: bounds, type names, points from two columns.

use geo_types::Geometry;
use geozero::error::Result as GeozeroResult;
use geozero::wkb::Wkb;
use geozero::{CoordDimensions, GeomProcessor, GeozeroGeometry, ToWkb};

use crate::crs::Transformer;

/// An axis-aligned bounding box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub min_x: f64,
    pub min_y: f64,
    pub max_x: f64,
    pub max_y: f64,
}

impl Bounds {
    pub fn union(self, other: Bounds) -> Bounds {
        Bounds {
            min_x: self.min_x.min(other.min_x),
            min_y: self.min_y.min(other.min_y),
            max_x: self.max_x.max(other.max_x),
            max_y: self.max_y.max(other.max_y),
        }
    }

    /// Whether the box lies within longitude/latitude limits.
    pub fn is_lon_lat(&self) -> bool {
        self.min_x >= -180.0 && self.max_x <= 180.0 && self.min_y >= -90.0 && self.max_y <= 90.0
    }

    pub fn to_array(self) -> [f64; 4] {
        [self.min_x, self.min_y, self.max_x, self.max_y]
    }
}

/// The bounds of all coordinates, and whether one was NaN or infinite (`f64::min` and `max`
/// would pass over a NaN unnoticed).
#[derive(Default)]
struct BoundsCollector {
    bounds: Option<Bounds>,
    not_finite: bool,
}

impl GeomProcessor for BoundsCollector {
    fn xy(&mut self, x: f64, y: f64, _idx: usize) -> GeozeroResult<()> {
        self.not_finite |= !(x.is_finite() && y.is_finite());
        let b = Bounds {
            min_x: x,
            min_y: y,
            max_x: x,
            max_y: y,
        };
        self.bounds = Some(self.bounds.map_or(b, |a| a.union(b)));
        Ok(())
    }
    fn coordinate(
        &mut self,
        x: f64,
        y: f64,
        _z: Option<f64>,
        _m: Option<f64>,
        _t: Option<f64>,
        _tm: Option<u64>,
        idx: usize,
    ) -> GeozeroResult<()> {
        self.xy(x, y, idx)
    }
}

/// The bounds of a WKB geometry; `Ok(None)` for an empty one, `Err` for malformed WKB.
pub fn bounds(wkb: &[u8]) -> Result<Option<Bounds>, String> {
    let mut collector = BoundsCollector::default();
    Wkb(wkb)
        .process_geom(&mut collector)
        .map_err(|e| e.to_string())?;
    if collector.not_finite {
        return Err("coordinates are not finite numbers".into());
    }
    Ok(collector.bounds)
}

/// The GeoParquet name of a WKB geometry's type (`Point`, `MultiPolygon Z`, …).
pub fn type_name(wkb: &[u8]) -> Option<&'static str> {
    let raw = match wkb.first()? {
        0 => u32::from_be_bytes(wkb.get(1..5)?.try_into().ok()?),
        1 => u32::from_le_bytes(wkb.get(1..5)?.try_into().ok()?),
        _ => return None,
    };
    let z = (raw / 1000) % 10 == 1 || (raw / 1000) % 10 == 3 || raw & 0x8000_0000 != 0;
    let names = [
        "Point",
        "LineString",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "GeometryCollection",
    ];
    let names_z = [
        "Point Z",
        "LineString Z",
        "Polygon Z",
        "MultiPoint Z",
        "MultiLineString Z",
        "MultiPolygon Z",
        "GeometryCollection Z",
    ];
    let base = (raw & 0xFFFF) % 1000;
    let i = usize::try_from(base).ok()?.checked_sub(1)?;
    if z {
        names_z.get(i).copied()
    } else {
        names.get(i).copied()
    }
}

/// A geometry ready for publication: WGS 84 longitude/latitude, RFC 7946 ring orientation.
#[derive(Debug)]
pub struct Normalised {
    pub wkb: Vec<u8>,
    /// `None` for an empty geometry.
    pub bounds: Option<Bounds>,
    /// Why the geometry is invalid (OGC simple features rules), when it is; it is kept.
    pub invalid: Option<String>,
    /// Z or M values were dropped by reprojection.
    pub dropped_z: bool,
}

/// Reprojects a WKB geometry to WGS 84 when `to_wgs84` is given, orients polygon rings
/// counter-clockwise (exterior) and clockwise (holes) and checks validity. Points and lines
/// that need no reprojection pass through unchanged (Z kept). `Err` for malformed WKB or
/// coordinates that cannot be reprojected.
pub fn normalise(wkb: &[u8], to_wgs84: Option<&Transformer>) -> Result<Normalised, String> {
    use geo::{Orient, orient::Direction};
    use geozero::ToGeo;

    let source_bounds = bounds(wkb)?;
    let name = type_name(wkb).ok_or_else(|| {
        "not one of the seven simple geometry types GeoParquet allows (a curve or surface?); \
         linearise it first, e.g. `ogr2ogr -nlt CONVERT_TO_LINEAR`"
            .to_owned()
    })?;
    let polygonal = name.contains("Polygon") || name.starts_with("GeometryCollection");
    if to_wgs84.is_none() && !polygonal {
        return Ok(Normalised {
            wkb: wkb.to_vec(),
            bounds: source_bounds,
            invalid: None,
            dropped_z: false,
        });
    }
    if source_bounds.is_none() {
        return Ok(Normalised {
            wkb: wkb.to_vec(),
            bounds: None,
            invalid: None,
            dropped_z: false,
        });
    }
    let mut geometry = Wkb(wkb).to_geo().map_err(|e| e.to_string())?;
    if let Some(t) = to_wgs84 {
        t.geometry(&mut geometry)?;
    }
    geometry = match geometry {
        Geometry::Polygon(p) => Geometry::Polygon(p.orient(Direction::Default)),
        Geometry::MultiPolygon(p) => Geometry::MultiPolygon(p.orient(Direction::Default)),
        other => other,
    };
    let invalid = invalidity(&geometry);
    let wkb_out = geometry
        .to_wkb(CoordDimensions::xy())
        .map_err(|e| e.to_string())?;
    Ok(Normalised {
        bounds: bounds(&wkb_out)?,
        wkb: wkb_out,
        invalid,
        dropped_z: name.ends_with(" Z"),
    })
}

/// Why a geometry is invalid, if it is. geo's `relate`, which the check uses, panics where GEOS
/// throws a TopologyException ("topology position conflict … can happen with invalid
/// geometries"); fuzzing found rings of tiny (subnormal) coordinates that pass geo's ring checks
/// and still make it panic. That panic is caught here and the geometry reported invalid (and
/// kept, like any invalid geometry): a panic must not end an ingest.
fn invalidity(geometry: &Geometry) -> Option<String> {
    let check = std::panic::AssertUnwindSafe(|| check_validity(geometry));
    std::panic::catch_unwind(check).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        Some(format!("its topology cannot be computed ({message})"))
    })
}

/// geo's validity check, but a multipolygon's polygons are each checked on their own first:
/// geo relates them to each other as it goes, before it has found the later ones invalid.
fn check_validity(geometry: &Geometry) -> Option<String> {
    use geo::Validation;
    match geometry {
        Geometry::MultiPolygon(m) => {
            for (i, polygon) in m.0.iter().enumerate() {
                if let Err(e) = polygon.check_validation() {
                    return Some(format!("polygon at index {i} is invalid: {e}"));
                }
            }
        }
        Geometry::GeometryCollection(c) => {
            for (i, member) in c.0.iter().enumerate() {
                if let Some(e) = check_validity(member) {
                    return Some(format!("geometry at index {i} is invalid: {e}"));
                }
            }
            return None;
        }
        _ => {}
    }
    geometry.check_validation().err().map(|e| e.to_string())
}

/// WKB of a 2D point.
pub fn point_wkb(x: f64, y: f64) -> Result<Vec<u8>, String> {
    geo_types::Geometry::Point(geo_types::Point::new(x, y))
        .to_wkb(CoordDimensions::xy())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clockwise square (as shapefiles store exteriors) comes out counter-clockwise.
    #[test]
    fn exterior_rings_become_counter_clockwise() {
        use geo::Winding;
        let cw = geo_types::Polygon::new(
            vec![(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (0.0, 0.0)].into(),
            vec![],
        );
        assert!(cw.exterior().is_cw());
        let wkb = Geometry::Polygon(cw)
            .to_wkb(CoordDimensions::xy())
            .expect("wkb");
        let out = normalise(&wkb, None).expect("normalise");
        let geo_types::Geometry::Polygon(p) = geozero::ToGeo::to_geo(&Wkb(&out.wkb)).expect("geo")
        else {
            panic!("not a polygon")
        };
        assert!(p.exterior().is_ccw());
        assert_eq!(out.invalid, None);
    }

    #[test]
    fn self_intersecting_polygon_is_reported_and_kept() {
        let bowtie = geo_types::Polygon::new(
            vec![(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0), (0.0, 0.0)].into(),
            vec![],
        );
        let wkb = Geometry::Polygon(bowtie)
            .to_wkb(CoordDimensions::xy())
            .expect("wkb");
        let out = normalise(&wkb, None).expect("normalise");
        assert!(out.invalid.is_some());
        assert!(out.bounds.is_some());
    }

    #[test]
    fn a_nan_anywhere_is_not_finite() {
        let line = Geometry::LineString(geo_types::LineString::from(vec![
            (1.0, 2.0),
            (f64::NAN, 3.0),
            (4.0, 5.0),
        ]));
        let wkb = line.to_wkb(CoordDimensions::xy()).expect("wkb");
        assert!(bounds(&wkb).is_err());
        assert!(normalise(&wkb, None).is_err());
    }

    #[test]
    fn point_round_trip() {
        let wkb = point_wkb(7.5, 51.25).expect("wkb");
        assert_eq!(type_name(&wkb), Some("Point"));
        let b = bounds(&wkb).expect("valid").expect("non-empty");
        assert_eq!(b.to_array(), [7.5, 51.25, 7.5, 51.25]);
        assert!(b.is_lon_lat());
        assert!(bounds(&wkb[..7]).is_err());
    }
}
