//! Typed conversion: raw values plus the decided column types become Arrow record batches,
//! with per-column statistics for the metadata and the report.

use cardinality_estimator::CardinalityEstimator;
use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;

use crate::crs::Transformer;
use crate::geometry::{Bounds, normalise, point_wkb, type_name};
use crate::infer::{
    ColumnType, Kind, is_null, parse_bool, parse_date, parse_datetime, parse_integer, parse_number,
};
use crate::read::{Location, Record, Rejection};

/// Name of the geometry column in every published spatial table.
pub const GEOMETRY: &str = "geometry";
const BATCH_ROWS: usize = 8192;

/// The Arrow type of a logical kind.
pub fn arrow_type(kind: Kind) -> DataType {
    match kind {
        Kind::Integer => DataType::Int64,
        Kind::Number => DataType::Float64,
        Kind::Boolean => DataType::Boolean,
        Kind::Date => DataType::Date32,
        Kind::Datetime => DataType::Timestamp(TimeUnit::Microsecond, None),
        Kind::String => DataType::Utf8,
    }
}

/// A converted value, also used for min/max.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Cell {
    Null,
    Int(i64),
    Num(f64),
    Bool(bool),
    Date(i32),
    Ts(i64),
    Str(String),
}

impl Cell {
    fn display(&self) -> Option<String> {
        Some(match self {
            Cell::Null => return None,
            Cell::Int(v) => v.to_string(),
            Cell::Num(v) => v.to_string(),
            Cell::Bool(v) => v.to_string(),
            // chrono's default date is the Unix epoch, Arrow's Date32 origin.
            Cell::Date(d) => NaiveDate::default()
                .checked_add_signed(chrono::Duration::days(i64::from(*d)))?
                .to_string(),
            Cell::Ts(us) => chrono::DateTime::from_timestamp_micros(*us)?
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            Cell::Str(s) => s.clone(),
        })
    }
}

/// Statistics of one published column.
#[derive(Debug, Clone, Default)]
pub struct ColumnStats {
    pub nulls: u64,
    min: Option<Cell>,
    max: Option<Cell>,
    distinct: CardinalityEstimator<[u8]>,
}

impl ColumnStats {
    pub fn min(&self) -> Option<String> {
        self.min.as_ref().and_then(Cell::display)
    }
    pub fn max(&self) -> Option<String> {
        self.max.as_ref().and_then(Cell::display)
    }
    /// Estimated number of distinct non-null values.
    pub fn distinct(&self) -> u64 {
        self.distinct.estimate() as u64
    }
    fn observe(&mut self, cell: &Cell) {
        match cell {
            Cell::Null => {
                self.nulls += 1;
                return;
            }
            Cell::Int(v) | Cell::Ts(v) => self.distinct.insert(&v.to_le_bytes()),
            Cell::Num(v) => self.distinct.insert(&v.to_bits().to_le_bytes()),
            Cell::Bool(v) => self.distinct.insert(&[u8::from(*v)]),
            Cell::Date(v) => self.distinct.insert(&v.to_le_bytes()),
            Cell::Str(v) => self.distinct.insert(v.as_bytes()),
        }
        if self.min.as_ref().is_none_or(|m| cell < m) {
            self.min = Some(cell.clone());
        }
        if self.max.as_ref().is_none_or(|m| cell > m) {
            self.max = Some(cell.clone());
        }
    }
}

/// Facts about the geometry column.
#[derive(Debug, Clone, Default)]
pub struct GeometryStats {
    pub types: BTreeSet<&'static str>,
    pub bounds: Option<Bounds>,
    pub nulls: u64,
    /// Empty geometries (kept).
    pub empty: Vec<Location>,
    /// Invalid geometries and why (kept).
    pub invalid: Vec<(Location, String)>,
    /// Geometries outside the source CRS's area of use (kept; often swapped axes).
    pub outside_area: Vec<Location>,
    /// Whether reprojection dropped Z values.
    pub dropped_z: bool,
}

/// How source geometries become WGS 84.
#[derive(Default)]
pub struct Reprojection {
    /// `None` when the source is WGS 84 already.
    pub to_wgs84: Option<Transformer>,
    /// The source CRS's area of use, lon/lat, and its name.
    pub area_of_use: Option<([f64; 4], String)>,
}

/// Where geometries come from.
#[derive(Debug, Clone, Copy)]
pub enum GeometrySource {
    None,
    /// The reader supplies WKB (GeoJSON).
    Native,
    /// Points from the columns at these indexes.
    Columns {
        x: usize,
        y: usize,
    },
}

/// Builds record batches from records, one row at a time.
pub struct BatchBuilder {
    schema: SchemaRef,
    names: Vec<String>,
    types: Vec<ColumnType>,
    nulls: Vec<String>,
    builders: Vec<ColumnBuilder>,
    geometry_source: GeometrySource,
    reprojection: Reprojection,
    geometry: BinaryBuilder,
    rows: usize,
    pub stats: Vec<ColumnStats>,
    pub geometry_stats: GeometryStats,
    pub written: u64,
}

enum ColumnBuilder {
    Int(Int64Builder),
    Num(Float64Builder),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
    Str(StringBuilder),
}

impl BatchBuilder {
    /// `names` are the published column names, `types` their decided types.
    pub fn new(
        names: Vec<String>,
        types: Vec<ColumnType>,
        nulls: Vec<String>,
        geometry_source: GeometrySource,
        reprojection: Reprojection,
    ) -> Self {
        let mut fields: Vec<Field> = names
            .iter()
            .zip(&types)
            .map(|(n, t)| Field::new(n, arrow_type(t.kind), true))
            .collect();
        if !matches!(geometry_source, GeometrySource::None) {
            fields.push(Field::new(GEOMETRY, DataType::Binary, true));
        }
        let builders = types.iter().map(|t| new_builder(t.kind)).collect();
        BatchBuilder {
            schema: Arc::new(Schema::new(fields)),
            stats: vec![ColumnStats::default(); names.len()],
            names,
            types,
            nulls,
            builders,
            geometry_source,
            reprojection,
            geometry: BinaryBuilder::new(),
            rows: 0,
            geometry_stats: GeometryStats::default(),
            written: 0,
        }
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Converts and appends one record; a full batch comes back when one is ready.
    /// A value that does not fit its column rejects the whole row.
    pub fn push(&mut self, record: &Record, file: &str) -> Result<Option<RecordBatch>, Rejection> {
        let reject = |column: Option<&str>, reason: String| Rejection {
            file: file.to_owned(),
            location: record.location,
            column: column.map(str::to_owned),
            reason,
        };
        let mut cells = Vec::with_capacity(self.types.len());
        for (i, t) in self.types.iter().enumerate() {
            let raw = record.values.get(i).and_then(Option::as_deref);
            let cell = match raw {
                None => Cell::Null,
                Some(r) if is_null(r, &self.nulls) => Cell::Null,
                Some(r) => convert(r, t).ok_or_else(|| {
                    reject(
                        Some(&self.names[i]),
                        format!("'{r}' is not a valid {}", t.kind.name()),
                    )
                })?,
            };
            cells.push(cell);
        }
        let geometry = match self.geometry_source {
            GeometrySource::None => None,
            GeometrySource::Native => record.geometry.clone(),
            GeometrySource::Columns { x, y } => match (&cells[x], &cells[y]) {
                (Cell::Null, _) | (_, Cell::Null) => None,
                (a, b) => {
                    let (Some(x), Some(y)) = (as_f64(a), as_f64(b)) else {
                        return Err(reject(None, "coordinate columns are not numeric".into()));
                    };
                    Some(point_wkb(x, y).map_err(|e| reject(None, e))?)
                }
            },
        };
        let normalised = match &geometry {
            Some(wkb) => Some(
                normalise(wkb, self.reprojection.to_wgs84.as_ref())
                    .map_err(|e| reject(None, format!("invalid geometry: {e}")))?,
            ),
            None => None,
        };
        let geometry_bounds = normalised.as_ref().and_then(|n| n.bounds);
        if let Some(b) = geometry_bounds
            && !b.is_lon_lat()
        {
            return Err(reject(
                None,
                format!(
                    "coordinates ({:.1}, {:.1}) are outside WGS 84 longitude/latitude; declare the source CRS",
                    b.min_x, b.min_y
                ),
            ));
        }
        if let Some(n) = &normalised {
            let stats = &mut self.geometry_stats;
            match (n.bounds, &self.reprojection.area_of_use) {
                (None, _) => stats.empty.push(record.location),
                (Some(b), Some((area, _)))
                    if b.min_x < area[0]
                        || b.min_y < area[1]
                        || b.max_x > area[2]
                        || b.max_y > area[3] =>
                {
                    stats.outside_area.push(record.location);
                }
                _ => {}
            }
            if let Some(reason) = &n.invalid {
                stats.invalid.push((record.location, reason.clone()));
            }
            stats.dropped_z |= n.dropped_z;
        }
        let geometry = normalised.map(|n| n.wkb);

        for ((builder, stats), cell) in self.builders.iter_mut().zip(&mut self.stats).zip(cells) {
            stats.observe(&cell);
            append(builder, cell);
        }
        if !matches!(self.geometry_source, GeometrySource::None) {
            match &geometry {
                Some(wkb) => {
                    self.geometry.append_value(wkb);
                    if let Some(t) = type_name(wkb) {
                        self.geometry_stats.types.insert(t);
                    }
                    if let Some(b) = geometry_bounds {
                        self.geometry_stats.bounds =
                            Some(self.geometry_stats.bounds.map_or(b, |a| a.union(b)));
                    }
                }
                None => {
                    self.geometry.append_null();
                    self.geometry_stats.nulls += 1;
                }
            }
        }
        self.rows += 1;
        self.written += 1;
        if self.rows >= BATCH_ROWS {
            return self.finish_batch().map_err(|e| reject(None, e.to_string()));
        }
        Ok(None)
    }

    /// The rows appended since the last batch, if any.
    pub fn finish_batch(&mut self) -> Result<Option<RecordBatch>, arrow::error::ArrowError> {
        if self.rows == 0 {
            return Ok(None);
        }
        self.rows = 0;
        let mut arrays: Vec<ArrayRef> = self.builders.iter_mut().map(finish).collect();
        if !matches!(self.geometry_source, GeometrySource::None) {
            arrays.push(Arc::new(self.geometry.finish()));
        }
        RecordBatch::try_new(self.schema.clone(), arrays).map(Some)
    }
}

fn as_f64(cell: &Cell) -> Option<f64> {
    match cell {
        Cell::Int(v) => Some(*v as f64),
        Cell::Num(v) => Some(*v),
        _ => None,
    }
}

fn convert(raw: &str, t: &ColumnType) -> Option<Cell> {
    Some(match t.kind {
        Kind::Integer => Cell::Int(parse_integer(raw, t.decimal)?),
        Kind::Number => Cell::Num(parse_number(raw, t.decimal)?.0),
        Kind::Boolean => Cell::Bool(parse_bool(raw)?),
        Kind::Date => {
            let d = ["%Y-%m-%d", "%d.%m.%Y"]
                .iter()
                .find_map(|f| parse_date(raw, f))?;
            Cell::Date(i32::try_from((d - NaiveDate::default()).num_days()).ok()?)
        }
        Kind::Datetime => Cell::Ts(parse_datetime(raw)?.and_utc().timestamp_micros()),
        Kind::String => Cell::Str(raw.to_owned()),
    })
}

fn new_builder(kind: Kind) -> ColumnBuilder {
    match kind {
        Kind::Integer => ColumnBuilder::Int(Int64Builder::new()),
        Kind::Number => ColumnBuilder::Num(Float64Builder::new()),
        Kind::Boolean => ColumnBuilder::Bool(BooleanBuilder::new()),
        Kind::Date => ColumnBuilder::Date(Date32Builder::new()),
        Kind::Datetime => ColumnBuilder::Ts(TimestampMicrosecondBuilder::new()),
        Kind::String => ColumnBuilder::Str(StringBuilder::new()),
    }
}

fn append(builder: &mut ColumnBuilder, cell: Cell) {
    match (builder, cell) {
        (ColumnBuilder::Int(b), Cell::Int(v)) => b.append_value(v),
        (ColumnBuilder::Num(b), Cell::Num(v)) => b.append_value(v),
        (ColumnBuilder::Bool(b), Cell::Bool(v)) => b.append_value(v),
        (ColumnBuilder::Date(b), Cell::Date(v)) => b.append_value(v),
        (ColumnBuilder::Ts(b), Cell::Ts(v)) => b.append_value(v),
        (ColumnBuilder::Str(b), Cell::Str(v)) => b.append_value(v),
        (ColumnBuilder::Int(b), _) => b.append_null(),
        (ColumnBuilder::Num(b), _) => b.append_null(),
        (ColumnBuilder::Bool(b), _) => b.append_null(),
        (ColumnBuilder::Date(b), _) => b.append_null(),
        (ColumnBuilder::Ts(b), _) => b.append_null(),
        (ColumnBuilder::Str(b), _) => b.append_null(),
    }
}

fn finish(builder: &mut ColumnBuilder) -> ArrayRef {
    match builder {
        ColumnBuilder::Int(b) => Arc::new(b.finish()),
        ColumnBuilder::Num(b) => Arc::new(b.finish()),
        ColumnBuilder::Bool(b) => Arc::new(b.finish()),
        ColumnBuilder::Date(b) => Arc::new(b.finish()),
        ColumnBuilder::Ts(b) => Arc::new(b.finish()),
        ColumnBuilder::Str(b) => Arc::new(b.finish()),
    }
}
