//! `ST_DistanceSphere(a, b)`: metres between two points on a sphere (haversine).

use std::sync::Arc;

use arrow::array::Float64Array;
use arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use geo::Centroid;
use geo_types::{Geometry, Point};

use super::{WkbColumn, arrays, check_arity, check_geometry_arg, finish};

const NAME: &str = "ST_DistanceSphere";

/// The mean Earth radius (IUGG), as PostGIS's `ST_DistanceSphere` uses.
pub(super) const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres between two longitude/latitude points.
pub(super) fn haversine(a: Point<f64>, b: Point<f64>) -> f64 {
    let (lat1, lat2) = (a.y().to_radians(), b.y().to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.x() - a.x()).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// A geometry's representative point: itself for a point, else its centroid (`None` if empty).
fn centroid(geometry: &Geometry<f64>) -> Option<Point<f64>> {
    match geometry {
        Geometry::Point(p) => Some(*p),
        other => other.centroid(),
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct DistanceSphere {
    signature: Signature,
}

impl DistanceSphere {
    pub(super) fn new() -> Self {
        DistanceSphere {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DistanceSphere {
    fn name(&self) -> &str {
        "st_distancesphere"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[2])?;
        Ok(vec![
            check_geometry_arg(NAME, 1, &arg_types[0])?,
            check_geometry_arg(NAME, 2, &arg_types[1])?,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, all_scalar) = arrays(&args.args, args.number_rows)?;
        let a = WkbColumn::new(NAME, &arrays[0], &args.arg_fields[0])?;
        let b = WkbColumn::new(NAME, &arrays[1], &args.arg_fields[1])?;
        let mut out = Vec::with_capacity(a.len());
        for row in 0..a.len() {
            let (Some(ga), Some(gb)) = (a.geometry(NAME, row)?, b.geometry(NAME, row)?) else {
                out.push(None);
                continue;
            };
            out.push(
                centroid(&ga)
                    .zip(centroid(&gb))
                    .map(|(pa, pb)| haversine(pa, pb)),
            );
        }
        finish(Arc::new(Float64Array::from(out)), all_scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx, error, value};

    async fn metres(sql: &str) -> f64 {
        value(&ctx(), sql)
            .await
            .expect("not null")
            .parse()
            .expect("number")
    }

    #[tokio::test]
    async fn koeln_dom_to_duesseldorf_rheinturm() {
        // Expected: python3 -c 'import math; R=6371008.8; l1,p1,l2,p2=map(math.radians,
        //   (6.9583,50.9413,6.7541,51.2180)); a=math.sin((p2-p1)/2)**2+math.cos(p1)*math.cos(p2)
        //   *math.sin((l2-l1)/2)**2; print(2*R*math.asin(math.sqrt(a)))'  → 33913.610672016934
        let d = metres(
            "SELECT ST_DistanceSphere(ST_Point(6.9583, 50.9413), \
             ST_GeomFromText('POINT(6.7541 51.2180)'))",
        )
        .await;
        assert!((d - 33_913.610_672_016_934).abs() < 1e-6, "{d}");
    }

    #[tokio::test]
    async fn polygons_are_measured_from_their_centroids() {
        // The centroid of the envelope is (7, 51); one degree of latitude on the sphere is
        // R·π/180 = 111195.08023353292 m (python3 math).
        let d = metres("SELECT ST_DistanceSphere(ST_MakeEnvelope(6, 50, 8, 52), ST_Point(7, 52))")
            .await;
        assert!((d - 111_195.080_233_532_92).abs() < 1e-6, "{d}");
    }

    #[tokio::test]
    async fn nulls_propagate_and_garbage_is_an_error() {
        let ctx = ctx();
        assert_eq!(
            value(&ctx, "SELECT ST_DistanceSphere(ST_Point(7, 51), NULL)").await,
            None
        );
        let e = error(&ctx, "SELECT ST_DistanceSphere(ST_Point(7, 51), X'00')").await;
        assert!(e.contains("ST_DistanceSphere: invalid WKB geometry"), "{e}");
    }
}
