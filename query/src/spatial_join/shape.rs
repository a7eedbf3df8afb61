//! One side of a spatial predicate, parsed once: the geometry, its bounding box, and for
//! polygons an index of their edges by horizontal strip, so that locating a point costs a few
//! edge tests instead of one per vertex.

use geo::{BoundingRect, Coord, Geometry, Rect};
use geozero::ToGeo;
use geozero::wkb::Wkb;

/// Where a point lies relative to a polygonal geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Position {
    Inside,
    Boundary,
    Outside,
}

/// A parsed geometry with what the join needs to test it quickly.
#[derive(Debug)]
pub(super) struct Shape {
    pub geometry: Geometry<f64>,
    pub rect: Rect<f64>,
    /// For (multi)polygons, built on demand with [`Shape::with_edges`].
    pub edges: Option<EdgeIndex>,
}

impl Shape {
    /// Parses WKB; `Ok(None)` for an empty geometry (it intersects nothing).
    pub fn from_wkb(bytes: &[u8]) -> Result<Option<Shape>, String> {
        let geometry = match fast_point(bytes) {
            Some(point) => Geometry::Point(point.into()),
            None => Wkb(bytes).to_geo().map_err(|e| e.to_string())?,
        };
        Ok(geometry.bounding_rect().map(|rect| Shape {
            geometry,
            rect,
            edges: None,
        }))
    }

    /// Adds the edge index when the geometry is polygonal.
    pub fn with_edges(mut self) -> Shape {
        self.edges = EdgeIndex::of(&self.geometry, self.rect);
        self
    }

    /// The point, when the geometry is one (also a one-point multipoint).
    pub fn point(&self) -> Option<Coord<f64>> {
        match &self.geometry {
            Geometry::Point(p) => Some(p.0),
            Geometry::MultiPoint(mp) if mp.0.len() == 1 => Some(mp.0[0].0),
            _ => None,
        }
    }
}

/// A 2D WKB point (21 bytes, either byte order), read without the general parser: point
/// tables are the common large side of a join.
fn fast_point(bytes: &[u8]) -> Option<Coord<f64>> {
    if bytes.len() != 21 {
        return None;
    }
    let little = match bytes[0] {
        0 => false,
        1 => true,
        _ => return None,
    };
    let word = |at: usize| -> [u8; 4] { [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]] };
    let kind = if little {
        u32::from_le_bytes(word(1))
    } else {
        u32::from_be_bytes(word(1))
    };
    if kind != 1 {
        return None;
    }
    let float = |at: usize| -> f64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[at..at + 8]);
        if little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        }
    };
    let (x, y) = (float(5), float(13));
    (!x.is_nan() && !y.is_nan()).then_some(Coord { x, y })
}

/// The edges of every ring of a (multi)polygon, bucketed into horizontal strips of its
/// bounding box. A point is inside when a ray from it crosses an odd number of edges (even-odd
/// rule, right for valid polygons with holes and for multipolygons).
#[derive(Debug)]
pub(super) struct EdgeIndex {
    edges: Vec<(Coord<f64>, Coord<f64>)>,
    ymin: f64,
    strip_height: f64,
    /// Edge numbers per strip; an edge sits in every strip its y-range touches.
    strips: Vec<Vec<u32>>,
}

impl EdgeIndex {
    fn of(geometry: &Geometry<f64>, rect: Rect<f64>) -> Option<EdgeIndex> {
        let polygons: Vec<&geo::Polygon<f64>> = match geometry {
            Geometry::Polygon(p) => vec![p],
            Geometry::MultiPolygon(mp) => mp.0.iter().collect(),
            Geometry::Rect(_) | Geometry::Triangle(_) => return None,
            _ => return None,
        };
        let edges: Vec<(Coord<f64>, Coord<f64>)> = polygons
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|ring| ring.lines().map(|l| (l.start, l.end)))
            .collect();
        let count = (edges.len() / 4).clamp(1, 4096);
        let (ymin, height) = (rect.min().y, rect.height());
        let strip_height = if height > 0.0 {
            height / count as f64
        } else {
            1.0
        };
        let strip_of = |y: f64| (((y - ymin) / strip_height) as usize).min(count - 1);
        let mut strips = vec![Vec::new(); count];
        for (n, (a, b)) in edges.iter().enumerate() {
            let (lo, hi) = (strip_of(a.y.min(b.y)), strip_of(a.y.max(b.y)));
            for strip in &mut strips[lo..=hi] {
                strip.push(n as u32);
            }
        }
        Some(EdgeIndex {
            edges,
            ymin,
            strip_height,
            strips,
        })
    }

    /// Where `p` lies; the caller has checked it is within the bounding box.
    pub fn locate(&self, p: Coord<f64>) -> Position {
        let strip =
            (((p.y - self.ymin) / self.strip_height).max(0.0) as usize).min(self.strips.len() - 1);
        let mut inside = false;
        for &n in &self.strips[strip] {
            let (a, b) = self.edges[n as usize];
            if on_segment(p, a, b) {
                return Position::Boundary;
            }
            if (a.y > p.y) != (b.y > p.y) {
                let x = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y);
                if p.x < x {
                    inside = !inside;
                }
            }
        }
        if inside {
            Position::Inside
        } else {
            Position::Outside
        }
    }
}

fn on_segment(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> bool {
    let cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
    cross == 0.0
        && p.x >= a.x.min(b.x)
        && p.x <= a.x.max(b.x)
        && p.y >= a.y.min(b.y)
        && p.y <= a.y.max(b.y)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use geo::{Contains, Intersects, coord};
    use geozero::{CoordDimensions, ToWkb};

    /// A shape (with its edge index) from WKT, through WKB as the join reads it.
    pub(in super::super) fn shape(wkt: &str) -> Shape {
        let geometry = geozero::wkt::Wkt(wkt).to_geo().expect("wkt");
        let wkb = geometry.to_wkb(CoordDimensions::xy()).expect("wkb");
        Shape::from_wkb(&wkb)
            .expect("parse")
            .expect("not empty")
            .with_edges()
    }

    #[test]
    fn points_are_read_by_the_fast_path_in_both_byte_orders() {
        let little = shape("POINT(7.25 51.5)");
        assert_eq!(little.point(), Some(coord! { x: 7.25, y: 51.5 }));
        let mut big = vec![0u8];
        big.extend(1u32.to_be_bytes());
        big.extend(7.25f64.to_be_bytes());
        big.extend(51.5f64.to_be_bytes());
        assert_eq!(fast_point(&big), Some(coord! { x: 7.25, y: 51.5 }));
    }

    /// Every point of a grid over a polygon with a hole is located as geo's own (slower,
    /// independent) algorithms locate it.
    #[test]
    fn locate_agrees_with_geo_on_a_polygon_with_a_hole() {
        let polygon = shape(
            "MULTIPOLYGON(((0 0,10 0,10 10,6 4,0 10,0 0),(2 2,4 2,4 4,2 4,2 2)),((20 0,30 0,25 8,20 0)))",
        );
        let edges = polygon.edges.as_ref().expect("polygonal");
        let mut checked = 0;
        for i in 0..=60 {
            for j in 0..=24 {
                let p = coord! { x: i as f64 * 0.5, y: j as f64 * 0.5 };
                let point = geo::Point::from(p);
                let expected = if polygon.geometry.contains(&point) {
                    Position::Inside
                } else if polygon.geometry.intersects(&point) {
                    Position::Boundary
                } else {
                    Position::Outside
                };
                assert_eq!(edges.locate(p), expected, "{p:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 61 * 25);
    }
}
