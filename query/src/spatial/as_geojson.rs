//! `ST_AsGeoJSON(geom)`: the geometry as RFC 7946 GeoJSON geometry text.

use std::sync::Arc;

use arrow::array::StringBuilder;
use arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use geozero::ToJson;
use geozero::wkb::Wkb;

use super::{WkbColumn, arrays, check_arity, check_geometry_arg, finish};

const NAME: &str = "ST_AsGeoJSON";

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct AsGeoJson {
    signature: Signature,
}

impl AsGeoJson {
    pub(super) fn new() -> Self {
        AsGeoJson {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for AsGeoJson {
    fn name(&self) -> &str {
        "st_asgeojson"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[1])?;
        Ok(vec![check_geometry_arg(NAME, 1, &arg_types[0])?])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, all_scalar) = arrays(&args.args, args.number_rows)?;
        let column = WkbColumn::new(NAME, &arrays[0], &args.arg_fields[0])?;
        let mut out = StringBuilder::new();
        for row in 0..column.len() {
            match column.bytes(row) {
                None => out.append_null(),
                Some(bytes) => {
                    let json = Wkb(bytes).to_json().map_err(|e| {
                        DataFusionError::Execution(format!("{NAME}: invalid WKB geometry: {e}"))
                    })?;
                    out.append_value(json);
                }
            }
        }
        finish(Arc::new(out.finish()), all_scalar)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::test_support::{ctx, error, value};

    async fn geojson(sql: &str) -> Value {
        let text = value(&ctx(), sql).await.expect("not null");
        parse(&text)
    }

    /// Parsed JSON with every number as a float, so that `1` and `1.0` compare equal.
    fn parse(text: &str) -> Value {
        fn floats(v: Value) -> Value {
            match v {
                Value::Number(n) => json!(n.as_f64()),
                Value::Array(a) => Value::Array(a.into_iter().map(floats).collect()),
                Value::Object(o) => {
                    Value::Object(o.into_iter().map(|(k, v)| (k, floats(v))).collect())
                }
                other => other,
            }
        }
        floats(serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}")))
    }

    #[tokio::test]
    async fn geometries_become_rfc7946_geometry_objects() {
        assert_eq!(
            geojson("SELECT ST_AsGeoJSON(ST_GeomFromText('POINT(6.9583 50.9413)'))").await,
            json!({"type": "Point", "coordinates": [6.9583, 50.9413]})
        );
        assert_eq!(
            geojson("SELECT ST_AsGeoJSON(ST_MakeEnvelope(0, 0, 1, 2))").await,
            json!({"type": "Polygon",
                   "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 2.0], [0.0, 2.0], [0.0, 0.0]]]})
        );
        assert_eq!(
            geojson(
                "SELECT ST_AsGeoJSON(ST_GeomFromText(\
                 'MULTILINESTRING((7 51, 7.5 51.5), (8 52, 8.5 52.5, 9 53))'))"
            )
            .await,
            json!({"type": "MultiLineString",
                   "coordinates": [[[7.0, 51.0], [7.5, 51.5]],
                                   [[8.0, 52.0], [8.5, 52.5], [9.0, 53.0]]]})
        );
    }

    #[tokio::test]
    async fn wkb_of_any_binary_type_nulls_and_garbage() {
        let ctx = ctx();
        // The WKB of POINT(1 2), little endian, as Binary and as BinaryView (GeoParquet's type).
        let wkb = "X'0101000000000000000000F03F0000000000000040'";
        for sql in [
            format!("SELECT ST_AsGeoJSON({wkb})"),
            format!("SELECT ST_AsGeoJSON(arrow_cast({wkb}, 'BinaryView'))"),
            format!("SELECT ST_AsGeoJSON(arrow_cast({wkb}, 'LargeBinary'))"),
        ] {
            let text = value(&ctx, &sql).await.expect("not null");
            assert_eq!(
                parse(&text),
                json!({"type": "Point", "coordinates": [1.0, 2.0]}),
                "{sql}"
            );
        }
        assert_eq!(
            value(&ctx, "SELECT ST_AsGeoJSON(arrow_cast(NULL, 'Binary'))").await,
            None
        );
        let e = error(&ctx, "SELECT ST_AsGeoJSON(X'0102')").await;
        assert!(e.contains("ST_AsGeoJSON: invalid WKB geometry"), "{e}");
        let e = error(&ctx, "SELECT ST_AsGeoJSON('POINT(1 2)')").await;
        assert!(e.contains("must be a geometry"), "{e}");
    }
}
