//! Spatial SQL functions geodatafusion lacks: `ST_MakeEnvelope`, `ST_AsGeoJSON`,
//! `ST_DistanceSphere`, `ST_DWithin` and `ST_Transform`.
//!
//! Geometry arguments are WKB (`Binary`, `LargeBinary`, `BinaryView` — what GeoParquet columns
//! read as) or any geoarrow geometry geodatafusion's functions return (`ST_Point`,
//! `ST_GeomFromText`, …). Geometry results are WKB in a `Binary` column, which every `ST_`
//! function reads. A null argument gives a null result; invalid WKB is an execution error.

mod as_geojson;
mod distance_sphere;
mod dwithin;
mod make_envelope;
mod transform;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder};
use arrow::datatypes::{DataType, Field};
use datafusion::common::{ScalarValue, plan_err};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF};
use datafusion::prelude::SessionContext;
use geo_types::Geometry;
use geozero::ToGeo;
use geozero::wkb::Wkb;

/// Registers every function of this module.
pub(crate) fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(make_envelope::MakeEnvelope::new()));
    ctx.register_udf(ScalarUDF::from(as_geojson::AsGeoJson::new()));
    ctx.register_udf(ScalarUDF::from(distance_sphere::DistanceSphere::new()));
    ctx.register_udf(ScalarUDF::from(dwithin::DWithin::new()));
    ctx.register_udf(ScalarUDF::from(transform::Transform::new()));
}

/// Whether `data_type` can be a geometry argument: WKB or a geoarrow native array (struct,
/// fixed-size list, list or union — geoarrow tells at run time whether it really is one).
fn is_geometry_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::Struct(_)
            | DataType::FixedSizeList(_, _)
            | DataType::List(_)
            | DataType::Union(_, _)
            | DataType::Null
    )
}

/// Checks a geometry argument's type at planning time.
fn check_geometry_arg(function: &str, position: usize, data_type: &DataType) -> Result<DataType> {
    if is_geometry_type(data_type) {
        Ok(data_type.clone())
    } else {
        Err(DataFusionError::Plan(format!(
            "{function}: argument {position} must be a geometry (WKB), not {data_type}"
        )))
    }
}

/// A geometry column as WKB bytes, whatever its arrow type.
pub(crate) enum WkbColumn {
    Binary(BinaryArray),
    Large(arrow::array::LargeBinaryArray),
    View(arrow::array::BinaryViewArray),
    Null(usize),
}

impl WkbColumn {
    pub(crate) fn new(function: &str, array: &ArrayRef, field: &Field) -> Result<WkbColumn> {
        Ok(match array.data_type() {
            DataType::Binary => WkbColumn::Binary(array.as_binary::<i32>().clone()),
            DataType::LargeBinary => WkbColumn::Large(array.as_binary::<i64>().clone()),
            DataType::BinaryView => WkbColumn::View(array.as_binary_view().clone()),
            DataType::Null => WkbColumn::Null(array.len()),
            _ => {
                use geoarrow_array::IntoArrow;
                let native = geoarrow_array::array::from_arrow_array(array.as_ref(), field)
                    .map_err(|e| {
                        DataFusionError::Execution(format!("{function}: not a geometry: {e}"))
                    })?;
                let wkb = geoarrow_array::cast::to_wkb::<i32>(native.as_ref()).map_err(|e| {
                    DataFusionError::Execution(format!("{function}: cannot write WKB: {e}"))
                })?;
                WkbColumn::Binary(wkb.into_arrow())
            }
        })
    }

    fn len(&self) -> usize {
        match self {
            WkbColumn::Binary(a) => a.len(),
            WkbColumn::Large(a) => a.len(),
            WkbColumn::View(a) => a.len(),
            WkbColumn::Null(n) => *n,
        }
    }

    pub(crate) fn bytes(&self, row: usize) -> Option<&[u8]> {
        match self {
            WkbColumn::Binary(a) => a.is_valid(row).then(|| a.value(row)),
            WkbColumn::Large(a) => a.is_valid(row).then(|| a.value(row)),
            WkbColumn::View(a) => a.is_valid(row).then(|| a.value(row)),
            WkbColumn::Null(_) => None,
        }
    }

    /// The geometry of `row`, `None` when null; invalid WKB is an execution error.
    fn geometry(&self, function: &str, row: usize) -> Result<Option<Geometry<f64>>> {
        let Some(bytes) = self.bytes(row) else {
            return Ok(None);
        };
        parse_wkb(function, bytes).map(Some)
    }
}

fn parse_wkb(function: &str, bytes: &[u8]) -> Result<Geometry<f64>> {
    Wkb(bytes)
        .to_geo()
        .map_err(|e| DataFusionError::Execution(format!("{function}: invalid WKB geometry: {e}")))
}

/// WKB (2D) of a geometry.
fn to_wkb(function: &str, geometry: &Geometry<f64>) -> Result<Vec<u8>> {
    use geozero::{CoordDimensions, ToWkb};
    geometry
        .to_wkb(CoordDimensions::xy())
        .map_err(|e| DataFusionError::Execution(format!("{function}: cannot write WKB: {e}")))
}

/// The arguments as arrays of equal length (scalars broadcast), and whether all were scalars.
fn arrays(args: &[ColumnarValue], rows: usize) -> Result<(Vec<ArrayRef>, bool)> {
    let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let rows = if all_scalar { 1 } else { rows };
    let arrays = args
        .iter()
        .map(|a| a.to_array(rows))
        .collect::<Result<Vec<_>>>()?;
    Ok((arrays, all_scalar))
}

/// The result: a scalar when every argument was one, else the array.
fn finish(array: ArrayRef, all_scalar: bool) -> Result<ColumnarValue> {
    if all_scalar {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            &array, 0,
        )?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}

/// Collects optional WKB into a `Binary` array.
fn binary_array(values: impl IntoIterator<Item = Option<Vec<u8>>>) -> ArrayRef {
    let mut builder = BinaryBuilder::new();
    for value in values {
        builder.append_option(value);
    }
    Arc::new(builder.finish())
}

/// A float argument of `row` (already coerced to `Float64`).
fn f64_at(array: &ArrayRef, row: usize) -> Option<f64> {
    let a = array.as_primitive_opt::<arrow::datatypes::Float64Type>()?;
    a.is_valid(row).then(|| a.value(row))
}

/// Refuses a call with the wrong number of arguments.
fn check_arity(function: &str, arg_types: &[DataType], allowed: &[usize]) -> Result<()> {
    if allowed.contains(&arg_types.len()) {
        Ok(())
    } else {
        plan_err!(
            "{function} takes {} arguments, not {}",
            allowed
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(" or "),
            arg_types.len()
        )
    }
}

/// A numeric argument type coerced to `Float64`.
fn float_arg(function: &str, position: usize, data_type: &DataType) -> Result<DataType> {
    if data_type.is_numeric() || *data_type == DataType::Null {
        Ok(DataType::Float64)
    } else {
        Err(DataFusionError::Plan(format!(
            "{function}: argument {position} must be a number, not {data_type}"
        )))
    }
}

#[cfg(test)]
mod test_support {
    use arrow::array::Array;
    use datafusion::prelude::SessionContext;

    /// A session with geodatafusion's and our functions.
    pub(crate) fn ctx() -> SessionContext {
        let ctx = SessionContext::new();
        geodatafusion::register(&ctx);
        super::register(&ctx);
        ctx
    }

    /// The single value of a one-row, one-column query, displayed as text (`None` for null).
    pub(crate) async fn value(ctx: &SessionContext, sql: &str) -> Option<String> {
        let batches = ctx
            .sql(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let column = batches[0].column(0);
        assert_eq!(column.len(), 1, "{sql}");
        if column.is_null(0) {
            return None;
        }
        Some(
            arrow::util::display::array_value_to_string(column, 0)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        )
    }

    /// The error message of a query that must fail (planning or execution).
    pub(crate) async fn error(ctx: &SessionContext, sql: &str) -> String {
        match ctx.sql(sql).await {
            Err(e) => e.to_string(),
            Ok(df) => match df.collect().await {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{sql}: should fail"),
            },
        }
    }
}
