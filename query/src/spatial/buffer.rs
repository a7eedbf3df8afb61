//! `ST_Buffer(geom, metres)`: the area within a distance of a WGS 84 geometry, in metres.
//! The geometry is projected to an azimuthal equidistant projection centred on its centroid
//! (distances from the centre are true there), buffered with geo's `Buffer` (rounded joins),
//! and projected back. For geometries larger than a region the distortion grows with the
//! distance from the centroid; buffer such shapes in a projected CRS with `ST_Transform`.

use allmende_ingest::crs::{Crs, Transformer};
use arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use geo::{Buffer, Centroid, Geometry};

use super::{WkbColumn, arrays, binary_array, check_arity, check_geometry_arg, f64_at, finish};
use super::{float_arg, to_wkb};

const NAME: &str = "ST_Buffer";

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct BufferMetres {
    signature: Signature,
}

impl BufferMetres {
    pub(super) fn new() -> Self {
        BufferMetres {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn execution(e: String) -> DataFusionError {
    DataFusionError::Execution(format!("{NAME}: {e}"))
}

/// The buffer of one geometry; `None` for an empty one.
fn buffer(mut geometry: Geometry<f64>, metres: f64) -> Result<Option<Geometry<f64>>> {
    if !metres.is_finite() {
        return Err(execution(format!(
            "the distance must be a number of metres, not {metres}"
        )));
    }
    let Some(centre) = geometry.centroid() else {
        return Ok(None);
    };
    let local = Crs::parse(&format!(
        "+proj=aeqd +lat_0={} +lon_0={} +datum=WGS84 +units=m +no_defs",
        centre.y(),
        centre.x()
    ))
    .map_err(execution)?;
    let wgs84 = Crs::wgs84();
    let there = Transformer::between(&wgs84, &local).map_err(execution)?;
    let back = Transformer::between(&local, &wgs84).map_err(execution)?;
    there.geometry(&mut geometry).map_err(execution)?;
    let mut area = geometry.buffer(metres);
    let mut out = if area.0.len() == 1 {
        Geometry::Polygon(area.0.remove(0))
    } else {
        Geometry::MultiPolygon(area)
    };
    back.geometry(&mut out).map_err(execution)?;
    Ok(Some(out))
}

impl ScalarUDFImpl for BufferMetres {
    fn name(&self) -> &str {
        "st_buffer"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[2])?;
        Ok(vec![
            check_geometry_arg(NAME, 1, &arg_types[0])?,
            float_arg(NAME, 2, &arg_types[1])?,
        ])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, all_scalar) = arrays(&args.args, args.number_rows)?;
        let geometries = WkbColumn::new(NAME, &arrays[0], &args.arg_fields[0])?;
        let mut out = Vec::with_capacity(geometries.len());
        for row in 0..geometries.len() {
            let (Some(g), Some(metres)) =
                (geometries.geometry(NAME, row)?, f64_at(&arrays[1], row))
            else {
                out.push(None);
                continue;
            };
            out.push(match buffer(g, metres)? {
                Some(b) => Some(to_wkb(NAME, &b)?),
                None => None,
            });
        }
        finish(binary_array(out), all_scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx, error, value};

    /// A 1 km buffer around Köln's cathedral: its area in UTM 32N is the circle's π km² less
    /// what the polygon's chords cut off (under 1 %), and it reaches 1 km north and east by
    /// the haversine (within 5 m: the sphere against the ellipsoid).
    #[tokio::test]
    async fn a_point_buffer_is_a_circle_of_that_many_metres() {
        let ctx = ctx();
        let area: f64 = value(
            &ctx,
            "SELECT ST_Area(ST_Transform(ST_Buffer(ST_Point(6.9583, 50.9413), 1000), 25832))",
        )
        .await
        .expect("area")
        .parse()
        .expect("number");
        let circle = std::f64::consts::PI * 1e6;
        assert!(area < circle && area > circle * 0.99, "{area}");
        // Its extent north and east of the centre is 1 km by the haversine.
        for (edge, axis) in [("ST_YMax", "north"), ("ST_XMax", "east")] {
            let sql = if axis == "north" {
                format!(
                    "SELECT ST_DistanceSphere(ST_Point(6.9583, 50.9413), ST_Point(6.9583, \
                     {edge}(ST_Buffer(ST_Point(6.9583, 50.9413), 1000))))"
                )
            } else {
                format!(
                    "SELECT ST_DistanceSphere(ST_Point(6.9583, 50.9413), ST_Point(\
                     {edge}(ST_Buffer(ST_Point(6.9583, 50.9413), 1000)), 50.9413))"
                )
            };
            let d: f64 = value(&ctx, &sql)
                .await
                .expect(axis)
                .parse()
                .expect("number");
            assert!((d - 1000.0).abs() < 5.0, "{axis}: {d}");
        }
    }

    #[tokio::test]
    async fn nulls_and_bad_distances() {
        let ctx = ctx();
        assert_eq!(
            value(&ctx, "SELECT ST_Buffer(ST_Point(7, 51), NULL)").await,
            None
        );
        let e = error(&ctx, "SELECT ST_Buffer(ST_Point(7, 51), 'far')").await;
        assert!(e.contains("ST_Buffer"), "{e}");
    }
}
