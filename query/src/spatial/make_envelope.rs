//! `ST_MakeEnvelope(xmin, ymin, xmax, ymax [, srid])`: the rectangle as a WKB polygon.

use arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use geo_types::{Geometry, LineString, Polygon};

use super::{arrays, binary_array, check_arity, f64_at, finish, float_arg, to_wkb};

const NAME: &str = "ST_MakeEnvelope";

/// Only our storage CRS is accepted as `srid`: WKB carries no CRS, so an envelope "in" another
/// CRS would be silently compared with WGS 84 coordinates.
const STORAGE_SRID: f64 = 4326.0;

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct MakeEnvelope {
    signature: Signature,
}

impl MakeEnvelope {
    pub(super) fn new() -> Self {
        MakeEnvelope {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for MakeEnvelope {
    fn name(&self) -> &str {
        "st_makeenvelope"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[4, 5])?;
        arg_types
            .iter()
            .enumerate()
            .map(|(i, t)| float_arg(NAME, i + 1, t))
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, all_scalar) = arrays(&args.args, args.number_rows)?;
        let rows = arrays.first().map_or(0, |a| a.len());
        let mut out = Vec::with_capacity(rows);
        for row in 0..rows {
            let values: Option<Vec<f64>> = arrays.iter().map(|a| f64_at(a, row)).collect();
            let Some(values) = values else {
                out.push(None);
                continue;
            };
            if let Some(&srid) = values.get(4)
                && srid != STORAGE_SRID
            {
                return Err(DataFusionError::Execution(format!(
                    "{NAME}: SRID {srid} is not supported; coordinates are WGS 84 (4326). For an \
                     envelope in another CRS use ST_Transform(ST_MakeEnvelope(…), {srid}, 4326)"
                )));
            }
            let [xmin, ymin, xmax, ymax] = [values[0], values[1], values[2], values[3]];
            if !values.iter().all(|v| v.is_finite()) || xmin > xmax || ymin > ymax {
                return Err(DataFusionError::Execution(format!(
                    "{NAME}: need finite xmin <= xmax and ymin <= ymax, got \
                     ({xmin}, {ymin}, {xmax}, {ymax})"
                )));
            }
            // Counter-clockwise from the lower left, as RFC 7946 wants exterior rings.
            let ring = LineString::from(vec![
                (xmin, ymin),
                (xmax, ymin),
                (xmax, ymax),
                (xmin, ymax),
                (xmin, ymin),
            ]);
            let polygon = Geometry::Polygon(Polygon::new(ring, vec![]));
            out.push(Some(to_wkb(NAME, &polygon)?));
        }
        finish(binary_array(out), all_scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx, error, value};

    #[tokio::test]
    async fn envelope_is_a_closed_counter_clockwise_polygon() {
        let ctx = ctx();
        assert_eq!(
            value(
                &ctx,
                "SELECT ST_AsText(ST_MakeEnvelope(6.75, 50.9, 7, 51.25))"
            )
            .await,
            Some("POLYGON((6.75 50.9,7 50.9,7 51.25,6.75 51.25,6.75 50.9))".into())
        );
        assert_eq!(
            value(&ctx, "SELECT ST_AsText(ST_MakeEnvelope(1, 2, 3, 4, 4326))").await,
            Some("POLYGON((1 2,3 2,3 4,1 4,1 2))".into())
        );
        assert_eq!(
            value(&ctx, "SELECT ST_MakeEnvelope(1, NULL, 3, 4)").await,
            None
        );
        // Usable with geodatafusion's predicates.
        assert_eq!(
            value(
                &ctx,
                "SELECT ST_Contains(ST_MakeEnvelope(6, 50, 8, 52), ST_Point(6.9583, 50.9413))"
            )
            .await,
            Some("true".into())
        );
    }

    #[tokio::test]
    async fn other_srids_and_inverted_boxes_are_refused() {
        let ctx = ctx();
        let e = error(&ctx, "SELECT ST_MakeEnvelope(1, 2, 3, 4, 25832)").await;
        assert!(e.contains("SRID 25832 is not supported"), "{e}");
        let e = error(&ctx, "SELECT ST_MakeEnvelope(3, 2, 1, 4)").await;
        assert!(e.contains("xmin <= xmax"), "{e}");
        let e = error(&ctx, "SELECT ST_MakeEnvelope(1, 2, 3)").await;
        assert!(e.contains("takes 4 or 5 arguments"), "{e}");
    }
}
