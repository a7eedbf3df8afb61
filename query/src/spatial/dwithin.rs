//! `ST_DWithin(a, b, metres)`: whether two points are at most `metres` apart on the sphere.
//!
//! Only points: the closest distance between lines or polygons on a sphere is not what a
//! centroid distance gives, and a wrong "within" is worse than none. Other geometries are an
//! error that names the alternatives (centroids, or a projected CRS with `ST_Distance`).

use std::sync::Arc;

use arrow::array::BooleanArray;
use arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use geo_types::{Geometry, Point};

use super::distance_sphere::haversine;
use super::{WkbColumn, arrays, check_arity, check_geometry_arg, f64_at, finish, float_arg};

const NAME: &str = "ST_DWithin";

fn point(geometry: Geometry<f64>) -> Result<Point<f64>> {
    match geometry {
        Geometry::Point(p) => Ok(p),
        other => Err(DataFusionError::Execution(format!(
            "{NAME} takes points, not {}; use ST_DWithin(ST_Centroid(a), ST_Centroid(b), m) for \
             centroids, or ST_Distance(ST_Transform(a, 25832), ST_Transform(b, 25832)) <= m for \
             the closest distance in a metric CRS",
            geometry_type(&other)
        ))),
    }
}

fn geometry_type(geometry: &Geometry<f64>) -> &'static str {
    match geometry {
        Geometry::Point(_) => "a point",
        Geometry::Line(_) | Geometry::LineString(_) => "a line string",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "a polygon",
        Geometry::MultiPoint(_) => "a multi-point",
        Geometry::MultiLineString(_) => "a multi-line string",
        Geometry::MultiPolygon(_) => "a multi-polygon",
        Geometry::GeometryCollection(_) => "a geometry collection",
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct DWithin {
    signature: Signature,
}

impl DWithin {
    pub(super) fn new() -> Self {
        DWithin {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DWithin {
    fn name(&self) -> &str {
        "st_dwithin"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[3])?;
        Ok(vec![
            check_geometry_arg(NAME, 1, &arg_types[0])?,
            check_geometry_arg(NAME, 2, &arg_types[1])?,
            float_arg(NAME, 3, &arg_types[2])?,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, all_scalar) = arrays(&args.args, args.number_rows)?;
        let a = WkbColumn::new(NAME, &arrays[0], &args.arg_fields[0])?;
        let b = WkbColumn::new(NAME, &arrays[1], &args.arg_fields[1])?;
        let mut out = Vec::with_capacity(a.len());
        for row in 0..a.len() {
            let (Some(ga), Some(gb), Some(metres)) = (
                a.geometry(NAME, row)?,
                b.geometry(NAME, row)?,
                f64_at(&arrays[2], row),
            ) else {
                out.push(None);
                continue;
            };
            out.push(Some(haversine(point(ga)?, point(gb)?) <= metres));
        }
        finish(Arc::new(BooleanArray::from(out)), all_scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx, error, value};

    #[tokio::test]
    async fn within_means_at_most_the_haversine_distance() {
        let ctx = ctx();
        // Köln Dom – Düsseldorf Rheinturm: 33913.61 m (see ST_DistanceSphere's test).
        let sql = |m: &str| {
            format!("SELECT ST_DWithin(ST_Point(6.9583, 50.9413), ST_Point(6.7541, 51.2180), {m})")
        };
        assert_eq!(value(&ctx, &sql("33914")).await, Some("true".into()));
        assert_eq!(value(&ctx, &sql("33913")).await, Some("false".into()));
        assert_eq!(value(&ctx, &sql("NULL")).await, None);
    }

    #[tokio::test]
    async fn other_geometries_are_refused_with_alternatives() {
        let e = error(
            &ctx(),
            "SELECT ST_DWithin(ST_MakeEnvelope(6, 50, 8, 52), ST_Point(7, 51), 10)",
        )
        .await;
        assert!(e.contains("ST_DWithin takes points, not a polygon"), "{e}");
        assert!(e.contains("ST_Centroid"), "{e}");
    }
}
