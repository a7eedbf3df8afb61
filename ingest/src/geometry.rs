//! Small facts about WKB geometries: bounds, type names, points from two columns.

use geozero::error::Result as GeozeroResult;
use geozero::wkb::Wkb;
use geozero::{CoordDimensions, GeomProcessor, GeozeroGeometry, ToWkb};

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

#[derive(Default)]
struct BoundsCollector(Option<Bounds>);

impl GeomProcessor for BoundsCollector {
    fn xy(&mut self, x: f64, y: f64, _idx: usize) -> GeozeroResult<()> {
        let b = Bounds {
            min_x: x,
            min_y: y,
            max_x: x,
            max_y: y,
        };
        self.0 = Some(self.0.map_or(b, |a| a.union(b)));
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
    match collector.0 {
        Some(b)
            if [b.min_x, b.min_y, b.max_x, b.max_y]
                .iter()
                .all(|v| v.is_finite()) =>
        {
            Ok(Some(b))
        }
        Some(_) => Err("coordinates are not finite numbers".into()),
        None => Ok(None),
    }
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

/// WKB of a 2D point.
pub fn point_wkb(x: f64, y: f64) -> Result<Vec<u8>, String> {
    geo_types::Geometry::Point(geo_types::Point::new(x, y))
        .to_wkb(CoordDimensions::xy())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
