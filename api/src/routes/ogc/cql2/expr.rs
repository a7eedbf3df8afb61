//! CQL2 syntax trees to DataFusion expressions. Every property is looked up in the
//! collection's schema (an unknown one is an error, never an identifier passed on), and every
//! literal is converted to the type of the column it meets before planning, so a mistyped
//! value is a 400 rather than a failure inside the query.

use allmende_query::QueryEngine;
use allmende_query::datafusion::arrow::datatypes::DataType;
use allmende_query::datafusion::common::{Column, DFSchema, ScalarValue};
use allmende_query::datafusion::logical_expr::expr::Like;
use allmende_query::datafusion::prelude::{Expr, lit};

use super::{Comparison, FilterError, Node, Operand, Temporal};
use crate::routes::ogc::crs::Supported;
use crate::routes::ogc::params::Instant;

/// What the translation needs to know about the collection.
pub struct Context<'a> {
    pub schema: &'a DFSchema,
    pub engine: &'a QueryEngine,
    /// The CRS of geometry literals (`filter-crs`).
    pub crs: Supported,
}

fn invalid(message: impl Into<String>) -> FilterError {
    FilterError::Invalid(message.into())
}

/// Translates a filter into one boolean expression.
pub fn to_expr(node: &Node, cx: &Context) -> Result<Expr, FilterError> {
    Ok(match node {
        Node::Literal(b) => lit(*b),
        Node::And(parts) => fold(parts, cx, Expr::and)?,
        Node::Or(parts) => fold(parts, cx, Expr::or)?,
        Node::Not(inner) => Expr::Not(Box::new(to_expr(inner, cx)?)),
        Node::Compare(op, a, b) => {
            let (a, b) = pair(a, b, cx)?;
            match op {
                Comparison::Eq => a.eq(b),
                Comparison::NotEq => a.not_eq(b),
                Comparison::Lt => a.lt(b),
                Comparison::LtEq => a.lt_eq(b),
                Comparison::Gt => a.gt(b),
                Comparison::GtEq => a.gt_eq(b),
            }
        }
        Node::Like { value, pattern } => {
            let (value, pattern) = pair(value, pattern, cx)?;
            Expr::Like(Like::new(
                false,
                Box::new(value),
                Box::new(pattern),
                Some('\\'),
                false,
            ))
        }
        Node::Between { value, low, high } => {
            let (v, low) = pair(value, low, cx)?;
            let (_, high) = pair(value, high, cx)?;
            v.between(low, high)
        }
        Node::In { value, list } => {
            let v = operand(value, None, cx)?.0;
            let items = list
                .iter()
                .map(|item| pair(value, item, cx).map(|(_, e)| e))
                .collect::<Result<Vec<_>, _>>()?;
            v.in_list(items, false)
        }
        Node::IsNull(value) => operand(value, None, cx)?.0.is_null(),
        Node::Spatial(op, a, b) => {
            let udf = cx
                .engine
                .udf(op.udf())
                .ok_or_else(|| invalid(format!("{} is not available", op.udf())))?;
            udf.call(vec![geometry(a, cx)?, geometry(b, cx)?])
        }
        Node::Temporal(op, a, b) => temporal(*op, a, b, cx)?,
    })
}

fn fold(parts: &[Node], cx: &Context, join: fn(Expr, Expr) -> Expr) -> Result<Expr, FilterError> {
    let mut exprs = parts.iter().map(|p| to_expr(p, cx));
    let first = exprs.next().ok_or_else(|| invalid("an empty AND/OR"))??;
    exprs.try_fold(first, |acc, e| Ok(join(acc, e?)))
}

/// A property as a column expression with its type.
fn property(name: &str, cx: &Context) -> Result<(Expr, DataType), FilterError> {
    let field = cx
        .schema
        .field_with_unqualified_name(name)
        .map_err(|_| invalid(format!("unknown property '{name}' (see /queryables)")))?;
    Ok((
        Expr::Column(Column::new_unqualified(name)),
        field.data_type().clone(),
    ))
}

/// The type of an operand when it is (or wraps) a property.
fn property_type(o: &Operand, cx: &Context) -> Result<Option<DataType>, FilterError> {
    match o {
        Operand::Property(name) => property(name, cx).map(|(_, t)| Some(t)),
        Operand::CaseInsensitive(inner) => property_type(inner, cx),
        _ => Ok(None),
    }
}

/// Two operands of one comparison, the literal typed like the property it meets.
fn pair(a: &Operand, b: &Operand, cx: &Context) -> Result<(Expr, Expr), FilterError> {
    let ta = property_type(a, cx)?;
    let tb = property_type(b, cx)?;
    Ok((
        operand(a, tb.as_ref(), cx)?.0,
        operand(b, ta.as_ref(), cx)?.0,
    ))
}

fn instant_text(i: &Instant, target: Option<&DataType>) -> String {
    match (i, target) {
        (Instant::Date(d), _) => d.to_string(),
        (Instant::Timestamp(t), Some(DataType::Date32 | DataType::Date64)) => {
            t.date_naive().to_string()
        }
        (Instant::Timestamp(t), _) => t.to_rfc3339(),
    }
}

/// An operand as an expression; literals are converted to `target` when given.
fn operand(
    o: &Operand,
    target: Option<&DataType>,
    cx: &Context,
) -> Result<(Expr, Option<DataType>), FilterError> {
    let scalar = match o {
        Operand::Property(name) => {
            let (e, t) = property(name, cx)?;
            return Ok((e, Some(t)));
        }
        Operand::CaseInsensitive(inner) => {
            let (e, t) = operand(inner, target, cx)?;
            let lower = cx
                .engine
                .udf("lower")
                .ok_or_else(|| invalid("lower() is not available"))?;
            return Ok((lower.call(vec![e]), t));
        }
        Operand::Geometry(_) => {
            return Err(invalid(
                "a geometry can only be an argument of a spatial function",
            ));
        }
        Operand::Interval(..) => {
            return Err(invalid(
                "an interval can only be an argument of a temporal function",
            ));
        }
        Operand::Text(s) => ScalarValue::Utf8(Some(s.clone())),
        Operand::Bool(b) => ScalarValue::Boolean(Some(*b)),
        Operand::Number(n) => match n.parse::<i64>() {
            Ok(i) => ScalarValue::Int64(Some(i)),
            Err(_) => ScalarValue::Float64(Some(
                n.parse::<f64>()
                    .map_err(|_| invalid(format!("'{n}' is not a number")))?,
            )),
        },
        Operand::Instant(i) => ScalarValue::Utf8(Some(instant_text(i, target))),
    };
    let scalar = match target {
        Some(t) if *t != scalar.data_type() => {
            let converted = scalar.cast_to(t).ok().filter(|s| !s.is_null());
            converted.ok_or_else(|| {
                invalid(format!("{scalar} cannot be compared with a {t} property"))
            })?
        }
        _ => scalar,
    };
    let t = scalar.data_type();
    Ok((lit(scalar), Some(t)))
}

/// A geometry argument: a property (WKB column) or a literal in the filter's CRS.
fn geometry(o: &Operand, cx: &Context) -> Result<Expr, FilterError> {
    match o {
        Operand::Property(name) => {
            let (e, t) = property(name, cx)?;
            if !matches!(
                t,
                DataType::Binary | DataType::LargeBinary | DataType::BinaryView
            ) {
                return Err(invalid(format!("'{name}' is not a geometry")));
            }
            Ok(e)
        }
        Operand::Geometry(wkb) => {
            let wkb = to_wgs84(wkb, cx.crs)?;
            Ok(lit(ScalarValue::Binary(Some(wkb))))
        }
        _ => Err(invalid(
            "a spatial function takes a geometry property or a geometry literal",
        )),
    }
}

/// A literal geometry reprojected from `filter-crs` to WGS 84 lon/lat.
fn to_wgs84(wkb: &[u8], crs: Supported) -> Result<Vec<u8>, FilterError> {
    if crs == Supported::CRS84 {
        return Ok(wkb.to_vec());
    }
    use geozero::{ToGeo, ToWkb};
    let mut geometry = geozero::wkb::Wkb(wkb)
        .to_geo()
        .map_err(|e| invalid(format!("geometry: {e}")))?;
    use geo::MapCoordsInPlace;
    let failure = std::cell::RefCell::new(None);
    geometry.map_coords_in_place(|c| match crs.point_to_wgs84(c.x, c.y) {
        Ok((x, y)) => geo_types::Coord { x, y },
        Err(e) => {
            failure.borrow_mut().get_or_insert(e.description);
            c
        }
    });
    if let Some(e) = failure.into_inner() {
        return Err(invalid(e));
    }
    geometry
        .to_wkb(geozero::CoordDimensions::xy())
        .map_err(|e| invalid(format!("geometry: {e}")))
}

/// The temporal functions on instants: the property's value against an instant or interval.
fn temporal(op: Temporal, a: &Operand, b: &Operand, cx: &Context) -> Result<Expr, FilterError> {
    let (prop, target) = match a {
        Operand::Property(name) => property(name, cx)?,
        _ => {
            return Err(invalid(
                "the first argument of a temporal function must be a property",
            ));
        }
    };
    if !matches!(
        target,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)
    ) {
        return Err(invalid("a temporal function needs a date or time property"));
    }
    let at = |i: &Instant| operand(&Operand::Instant(i.clone()), Some(&target), cx).map(|e| e.0);
    let (start, end) = match b {
        Operand::Instant(i) => (Some(at(i)?), Some(at(i)?)),
        Operand::Interval(s, e) => (
            s.as_ref().map(at).transpose()?,
            e.as_ref().map(at).transpose()?,
        ),
        _ => {
            return Err(invalid(
                "the second argument of a temporal function must be a DATE, TIMESTAMP or INTERVAL",
            ));
        }
    };
    let both = |a: Option<Expr>, b: Option<Expr>| match (a, b) {
        (Some(a), Some(b)) => a.and(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => lit(true),
    };
    Ok(match op {
        Temporal::After => end.map_or(lit(false), |e| prop.gt(e)),
        Temporal::Before => start.map_or(lit(false), |s| prop.lt(s)),
        Temporal::During => both(
            start.map(|s| prop.clone().gt(s)),
            end.map(|e| prop.clone().lt(e)),
        ),
        Temporal::Equals => match (start, end) {
            (Some(s), Some(_)) if matches!(b, Operand::Instant(_)) => prop.eq(s),
            _ => return Err(invalid("T_EQUALS compares a property with an instant")),
        },
        Temporal::Intersects => both(
            start.map(|s| prop.clone().gt_eq(s)),
            end.map(|e| prop.clone().lt_eq(e)),
        ),
    })
}
