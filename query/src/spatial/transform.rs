//! `ST_Transform(geom, to)` and `ST_Transform(geom, from, to)`: reprojection with Allmende's
//! pure-Rust CRS support (`allmende_ingest::crs`). Stored geometries are WGS 84 lon/lat, so the
//! two-argument form reprojects from there. A CRS is an EPSG code (`25832`, `'EPSG:25832'`),
//! an OGC URN/URI, a PROJ string or WKT.

use std::collections::HashMap;

use allmende_ingest::crs::{Crs, Transformer};
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::{WkbColumn, arrays, binary_array, check_arity, check_geometry_arg, finish, to_wkb};

const NAME: &str = "ST_Transform";

/// A CRS argument: text, or an integer EPSG code (cast to text).
fn crs_arg(position: usize, data_type: &DataType) -> Result<DataType> {
    if data_type.is_integer()
        || matches!(
            data_type,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
        )
    {
        Ok(DataType::Utf8)
    } else {
        Err(DataFusionError::Plan(format!(
            "{NAME}: argument {position} must be a CRS (an EPSG code such as 25832 or \
             'EPSG:25832'), not {data_type}"
        )))
    }
}

fn parse_crs(text: &str) -> Result<Crs> {
    let text = text.trim();
    let parsed = match text.parse::<u16>() {
        Ok(code) => Crs::from_epsg(code),
        Err(_) => Crs::parse(text),
    };
    parsed.map_err(|e| DataFusionError::Execution(format!("{NAME}: {e}")))
}

fn text_at(array: &ArrayRef, row: usize) -> Option<&str> {
    let strings = array.as_string_opt::<i32>()?;
    strings.is_valid(row).then(|| strings.value(row))
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Transform {
    signature: Signature,
}

impl Transform {
    pub(super) fn new() -> Self {
        Transform {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Transform {
    fn name(&self) -> &str {
        "st_transform"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types, &[2, 3])?;
        let mut types = vec![check_geometry_arg(NAME, 1, &arg_types[0])?];
        for (i, t) in arg_types.iter().enumerate().skip(1) {
            types.push(crs_arg(i + 1, t)?);
        }
        Ok(types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, all_scalar) = arrays(&args.args, args.number_rows)?;
        let geometries = WkbColumn::new(NAME, &arrays[0], &args.arg_fields[0])?;
        // Usually one pair of CRSs for the whole column: build each transformer once.
        let mut transformers: HashMap<(Option<String>, String), Transformer> = HashMap::new();
        let mut out = Vec::with_capacity(geometries.len());
        for row in 0..geometries.len() {
            let (from, to) = if arrays.len() == 3 {
                (text_at(&arrays[1], row).map(Some), text_at(&arrays[2], row))
            } else {
                (Some(None), text_at(&arrays[1], row))
            };
            let (Some(from), Some(to), Some(mut geometry)) =
                (from, to, geometries.geometry(NAME, row)?)
            else {
                out.push(None);
                continue;
            };
            let key = (from.map(str::to_owned), to.to_owned());
            if !transformers.contains_key(&key) {
                let src = from.map_or_else(|| Ok(Crs::wgs84()), parse_crs)?;
                let dst = parse_crs(to)?;
                let transformer = Transformer::between(&src, &dst)
                    .map_err(|e| DataFusionError::Execution(format!("{NAME}: {e}")))?;
                transformers.insert(key.clone(), transformer);
            }
            if let Some(transformer) = transformers.get(&key) {
                transformer
                    .geometry(&mut geometry)
                    .map_err(|e| DataFusionError::Execution(format!("{NAME}: {e}")))?;
            }
            out.push(Some(to_wkb(NAME, &geometry)?));
        }
        finish(binary_array(out), all_scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ctx, error, value};

    /// The coordinates of a point expression, read back through `ST_AsText` (geodatafusion's
    /// `ST_X` takes no WKB).
    async fn xy(sql_geometry: &str) -> (f64, f64) {
        let wkt = value(&ctx(), &format!("SELECT ST_AsText({sql_geometry})"))
            .await
            .expect("not null");
        let inner = wkt
            .strip_prefix("POINT(")
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or_else(|| panic!("not a point: {wkt}"));
        let (x, y) = inner.split_once(' ').expect("two coordinates");
        (x.parse().expect("x"), y.parse().expect("y"))
    }

    // Expected: `echo "6.9583 50.9413" | gdaltransform -s_srs EPSG:4326 -t_srs EPSG:25832
    // -output_xy` (GDAL takes lon lat there) → 356560.260003803 5645282.13591792; the same as
    // `echo "50.9413 6.9583" | cs2cs -f %.4f EPSG:4326 EPSG:25832` (EPSG axis order).
    const DOM_25832: (f64, f64) = (356_560.260_003_803, 5_645_282.135_917_92);

    #[tokio::test]
    async fn koeln_dom_to_utm_32n_matches_gdal() {
        for sql in [
            "ST_Transform(ST_Point(6.9583, 50.9413), 25832)",
            "ST_Transform(ST_GeomFromText('POINT(6.9583 50.9413)'), 'EPSG:25832')",
            "ST_Transform(ST_Point(6.9583, 50.9413), 'EPSG:4326', 'EPSG:25832')",
        ] {
            let (x, y) = xy(sql).await;
            assert!((x - DOM_25832.0).abs() < 0.01, "{sql}: x {x}");
            assert!((y - DOM_25832.1).abs() < 0.01, "{sql}: y {y}");
        }
        // And back, with the three-argument form.
        let (lon, lat) = xy(&format!(
            "ST_Transform(ST_Point({}, {}), 25832, 4326)",
            DOM_25832.0, DOM_25832.1
        ))
        .await;
        assert!(
            (lon - 6.9583).abs() < 1e-8 && (lat - 50.9413).abs() < 1e-8,
            "{lon} {lat}"
        );
    }

    #[tokio::test]
    async fn unknown_crs_nulls_and_garbage() {
        let ctx = ctx();
        let e = error(&ctx, "SELECT ST_Transform(ST_Point(7, 51), 'EPSG:99999x')").await;
        assert!(e.contains("ST_Transform"), "{e}");
        let e = error(&ctx, "SELECT ST_Transform(X'01', 25832)").await;
        assert!(e.contains("ST_Transform: invalid WKB geometry"), "{e}");
        assert_eq!(
            value(&ctx, "SELECT ST_Transform(ST_Point(7, 51), NULL)").await,
            None
        );
        // Polygons keep their shape: a 25832 envelope's area in m².
        let area = value(
            &ctx,
            "SELECT ST_Area(ST_Transform(ST_Transform(\
             ST_MakeEnvelope(356000, 5645000, 357000, 5646000), 25832, 4326), 25832))",
        )
        .await
        .expect("area");
        let area: f64 = area.parse().expect("number");
        assert!((area - 1.0e6).abs() < 1.0, "{area}");
    }
}
