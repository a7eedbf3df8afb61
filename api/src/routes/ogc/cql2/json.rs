//! A parser for cql2-json: `{"op": …, "args": […]}` objects, `{"property": …}`, literals,
//! `{"date"|"timestamp"|"interval": …}`, `{"bbox": […]}` and GeoJSON geometries.

use geozero::ToWkb;
use serde_json::Value;

use super::{Comparison, FilterError, Node, Operand, Spatial, Temporal, bbox_wkb};
use crate::routes::ogc::params::parse_instant;

fn err(message: impl Into<String>) -> FilterError {
    FilterError::Json(message.into())
}

/// Parses a cql2-json boolean expression.
pub fn parse(input: &str) -> Result<Node, FilterError> {
    let value: Value = serde_json::from_str(input).map_err(|e| err(format!("not JSON: {e}")))?;
    node(&value, 0)
}

/// Nesting deeper than this is refused, so a hostile filter cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

fn node(value: &Value, depth: usize) -> Result<Node, FilterError> {
    if depth > MAX_DEPTH {
        return Err(err("the filter is nested too deeply"));
    }
    if let Value::Bool(b) = value {
        return Ok(Node::Literal(*b));
    }
    let op = value["op"]
        .as_str()
        .ok_or_else(|| err(format!("expected an object with \"op\", found {value}")))?;
    let args = value["args"]
        .as_array()
        .ok_or_else(|| err(format!("\"{op}\" needs \"args\" as an array")))?;
    let arity = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(err(format!(
                "\"{op}\" takes {n} arguments, not {}",
                args.len()
            )))
        }
    };
    let operand = |i: usize| operand(&args[i], depth + 1);
    let lower = op.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "and" | "or" => {
            if args.len() < 2 {
                return Err(err(format!("\"{op}\" needs at least 2 arguments")));
            }
            let parts = args
                .iter()
                .map(|a| node(a, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            if lower == "and" {
                Node::And(parts)
            } else {
                Node::Or(parts)
            }
        }
        "not" => {
            arity(1)?;
            Node::Not(Box::new(node(&args[0], depth + 1)?))
        }
        "like" => {
            arity(2)?;
            Node::Like {
                value: operand(0)?,
                pattern: operand(1)?,
            }
        }
        "between" => {
            arity(3)?;
            Node::Between {
                value: operand(0)?,
                low: operand(1)?,
                high: operand(2)?,
            }
        }
        "in" => {
            arity(2)?;
            let list = args[1]
                .as_array()
                .ok_or_else(|| err("the second argument of \"in\" must be an array"))?
                .iter()
                .map(|v| self::operand(v, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            Node::In {
                value: operand(0)?,
                list,
            }
        }
        "isnull" => {
            arity(1)?;
            Node::IsNull(operand(0)?)
        }
        _ => {
            if let Some(c) = Comparison::parse(op) {
                arity(2)?;
                Node::Compare(c, operand(0)?, operand(1)?)
            } else if let Some(s) = Spatial::parse(op) {
                arity(2)?;
                Node::Spatial(s, operand(0)?, operand(1)?)
            } else if let Some(t) = Temporal::parse(op) {
                arity(2)?;
                Node::Temporal(t, operand(0)?, operand(1)?)
            } else {
                return Err(err(format!("unknown operator \"{op}\"")));
            }
        }
    })
}

fn instant(value: &Value) -> Result<Option<super::Instant>, FilterError> {
    let text = value
        .as_str()
        .ok_or_else(|| err(format!("expected a date or time string, found {value}")))?;
    if text == ".." {
        return Ok(None);
    }
    parse_instant(text)
        .map(Some)
        .ok_or_else(|| err(format!("'{text}' is not an RFC 3339 date or time")))
}

fn operand(value: &Value, depth: usize) -> Result<Operand, FilterError> {
    if depth > MAX_DEPTH {
        return Err(err("the filter is nested too deeply"));
    }
    Ok(match value {
        Value::String(s) => Operand::Text(s.clone()),
        Value::Number(n) => Operand::Number(n.to_string()),
        Value::Bool(b) => Operand::Bool(*b),
        Value::Object(o) => {
            if let Some(p) = o.get("property") {
                Operand::Property(
                    p.as_str()
                        .ok_or_else(|| err("\"property\" must be a string"))?
                        .to_owned(),
                )
            } else if let Some(d) = o.get("date").or_else(|| o.get("timestamp")) {
                Operand::Instant(instant(d)?.ok_or_else(|| err("an instant cannot be open"))?)
            } else if let Some(i) = o.get("interval") {
                match i.as_array().map(Vec::as_slice) {
                    Some([a, b]) => Operand::Interval(instant(a)?, instant(b)?),
                    _ => return Err(err("\"interval\" needs two ends")),
                }
            } else if let Some(b) = o.get("bbox") {
                let numbers = b
                    .as_array()
                    .and_then(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<_>>>())
                    .ok_or_else(|| err("\"bbox\" must be an array of numbers"))?;
                Operand::Geometry(bbox_wkb(&numbers)?)
            } else if o.get("type").is_some() && o.get("op").is_none() {
                let text = value.to_string();
                Operand::Geometry(
                    geozero::geojson::GeoJson(&text)
                        .to_wkb(geozero::CoordDimensions::xy())
                        .map_err(|e| err(format!("invalid GeoJSON geometry: {e}")))?,
                )
            } else if o
                .get("op")
                .and_then(Value::as_str)
                .is_some_and(|op| op.eq_ignore_ascii_case("casei"))
            {
                match o.get("args").and_then(Value::as_array).map(Vec::as_slice) {
                    Some([inner]) => Operand::CaseInsensitive(Box::new(operand(inner, depth + 1)?)),
                    _ => return Err(err("\"casei\" takes one argument")),
                }
            } else {
                return Err(err(format!("not a value: {value}")));
            }
        }
        other => return Err(err(format!("not a value: {other}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_operators_and_literals() {
        let node = parse(
            r#"{"op":"and","args":[
                {"op":"=","args":[{"property":"Name"},"Ahlen"]},
                {"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":[7.8,51.7]}]},
                {"op":"t_after","args":[{"property":"Datum"},{"date":"2013-01-01"}]},
                {"op":"in","args":[{"property":"MHW"},[1,2.5]]}
            ]}"#,
        )
        .expect("parse");
        let Node::And(parts) = node else {
            panic!("and")
        };
        assert_eq!(parts.len(), 4);
        assert!(matches!(
            &parts[1],
            Node::Spatial(Spatial::Intersects, _, Operand::Geometry(_))
        ));
        assert!(matches!(&parts[3], Node::In { list, .. } if list.len() == 2));
    }

    #[test]
    fn malformed_filters_are_errors() {
        for bad in [
            "[",
            r#"{"op":"=","args":[1]}"#,
            r#"{"op":"frobnicate","args":[1,2]}"#,
            r#"{"op":"s_intersects","args":[{"property":"g"},{"type":"Point","coordinates":"x"}]}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
