//! The spatial predicates a join can index: every one implies that the two bounding boxes
//! intersect, so the R-tree finds all candidates and the exact test decides.

use geo::Relate;

use super::shape::{Position, Shape};

/// A topological predicate `f(a, b)` as geodatafusion defines it (DE-9IM, like PostGIS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Predicate {
    Intersects,
    Contains,
    Within,
    Covers,
    CoveredBy,
    Touches,
    Equals,
}

impl Predicate {
    /// The predicate of a function name (lower case, as registered).
    pub fn of_function(name: &str) -> Option<Predicate> {
        Some(match name {
            "st_intersects" => Predicate::Intersects,
            "st_contains" => Predicate::Contains,
            "st_within" => Predicate::Within,
            "st_covers" => Predicate::Covers,
            "st_coveredby" => Predicate::CoveredBy,
            "st_touches" => Predicate::Touches,
            "st_equals" => Predicate::Equals,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Predicate::Intersects => "ST_Intersects",
            Predicate::Contains => "ST_Contains",
            Predicate::Within => "ST_Within",
            Predicate::Covers => "ST_Covers",
            Predicate::CoveredBy => "ST_CoveredBy",
            Predicate::Touches => "ST_Touches",
            Predicate::Equals => "ST_Equals",
        }
    }

    /// `f(a, b)`. A point against a polygon is decided by the polygon's edge index; any other
    /// pair by geo's DE-9IM relate.
    pub fn eval(self, a: &Shape, b: &Shape) -> bool {
        if !a.rect.intersects_rect(&b.rect) {
            return false;
        }
        match (a.point(), b.point()) {
            (Some(p), Some(q)) => p == q && self != Predicate::Touches,
            (None, Some(q)) if a.edges.is_some() => {
                let at = a.edges.as_ref().map_or(Position::Outside, |e| e.locate(q));
                self.polygon_point(at)
            }
            (Some(p), None) if b.edges.is_some() => {
                let at = b.edges.as_ref().map_or(Position::Outside, |e| e.locate(p));
                self.flip().polygon_point(at)
            }
            _ => self.holds_in(&a.geometry.relate(&b.geometry)),
        }
    }

    /// The predicate read from a DE-9IM matrix of `(a, b)`.
    fn holds_in(self, m: &geo::relate::IntersectionMatrix) -> bool {
        match self {
            Predicate::Intersects => m.is_intersects(),
            Predicate::Contains => m.is_contains(),
            Predicate::Within => m.is_within(),
            Predicate::Covers => m.is_covers(),
            Predicate::CoveredBy => m.is_coveredby(),
            Predicate::Touches => m.is_touches(),
            Predicate::Equals => m.is_equal_topo(),
        }
    }

    /// `f(polygon, point)` from where the point lies.
    fn polygon_point(self, at: Position) -> bool {
        match self {
            Predicate::Intersects | Predicate::Covers => at != Position::Outside,
            Predicate::Contains => at == Position::Inside,
            Predicate::Touches => at == Position::Boundary,
            Predicate::Within | Predicate::CoveredBy | Predicate::Equals => false,
        }
    }

    /// The predicate with its arguments swapped: `f(a, b) == f.flip()(b, a)`.
    pub fn flip(self) -> Predicate {
        match self {
            Predicate::Contains => Predicate::Within,
            Predicate::Within => Predicate::Contains,
            Predicate::Covers => Predicate::CoveredBy,
            Predicate::CoveredBy => Predicate::Covers,
            symmetric => symmetric,
        }
    }
}

trait RectExt {
    fn intersects_rect(&self, other: &Self) -> bool;
}

impl RectExt for geo::Rect<f64> {
    fn intersects_rect(&self, other: &Self) -> bool {
        self.min().x <= other.max().x
            && other.min().x <= self.max().x
            && self.min().y <= other.max().y
            && other.min().y <= self.max().y
    }
}

#[cfg(test)]
mod tests {
    use super::super::shape::tests::shape;
    use super::*;

    /// The fast point-in-polygon path gives what geo's relate gives, for every predicate, both
    /// argument orders, and points inside, on the boundary, in the hole and outside.
    #[test]
    fn point_polygon_fast_path_agrees_with_relate() {
        let polygon = shape("POLYGON((0 0,10 0,10 10,0 10,0 0),(4 4,6 4,6 6,4 6,4 4))");
        let all = [
            Predicate::Intersects,
            Predicate::Contains,
            Predicate::Within,
            Predicate::Covers,
            Predicate::CoveredBy,
            Predicate::Touches,
            Predicate::Equals,
        ];
        for wkt in [
            "POINT(1 1)",
            "POINT(0 5)",
            "POINT(10 10)",
            "POINT(5 5)",
            "POINT(4 5)",
            "POINT(11 5)",
        ] {
            let point = shape(wkt);
            for p in all {
                let relate = |a: &Shape, b: &Shape| p.holds_in(&a.geometry.relate(&b.geometry));
                assert_eq!(
                    p.eval(&polygon, &point),
                    relate(&polygon, &point),
                    "{p:?}(polygon, {wkt})"
                );
                assert_eq!(
                    p.eval(&point, &polygon),
                    relate(&point, &polygon),
                    "{p:?}({wkt}, polygon)"
                );
            }
        }
    }
}
