//! CQL2 (OGC 21-065) for the `filter` parameter: a parser for cql2-text (`text`) and one for
//! cql2-json (`json`) into one small syntax tree, and its translation into DataFusion
//! expressions (`expr`) checked against the collection's schema, so a filter runs inside the
//! query plan and never becomes SQL text.
//!
//! Supported: comparisons, `LIKE`, `BETWEEN`, `IN`, `IS NULL`, `AND`/`OR`/`NOT`, `CASEI`,
//! the spatial functions `S_INTERSECTS`, `S_DISJOINT`, `S_WITHIN`, `S_CONTAINS`, `S_TOUCHES`,
//! `S_OVERLAPS`, `S_CROSSES`, `S_EQUALS` with WKT/GeoJSON/`BBOX` literals, and the temporal
//! functions `T_AFTER`, `T_BEFORE`, `T_DURING`, `T_EQUALS`, `T_INTERSECTS` with `DATE`,
//! `TIMESTAMP` and `INTERVAL` literals. Crate `cql2` (developmentseed) was not used: it brings
//! a JSON Schema validator with an HTTP client and a PEG parser generator for a grammar this
//! small.

mod expr;
mod json;
mod text;

pub use expr::{Context, to_expr};

use super::params::Instant;

/// Why a filter was refused; becomes a 400.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    #[error("cql2-text: {message} at character {position}")]
    Syntax { message: String, position: usize },
    #[error("cql2-json: {0}")]
    Json(String),
    #[error("{0}")]
    Invalid(String),
}

/// A boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Literal(bool),
    Compare(Comparison, Operand, Operand),
    Like {
        value: Operand,
        pattern: Operand,
    },
    Between {
        value: Operand,
        low: Operand,
        high: Operand,
    },
    In {
        value: Operand,
        list: Vec<Operand>,
    },
    IsNull(Operand),
    Spatial(Spatial, Operand, Operand),
    Temporal(Temporal, Operand, Operand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl Comparison {
    fn parse(op: &str) -> Option<Comparison> {
        Some(match op {
            "=" => Comparison::Eq,
            "<>" => Comparison::NotEq,
            "<" => Comparison::Lt,
            "<=" => Comparison::LtEq,
            ">" => Comparison::Gt,
            ">=" => Comparison::GtEq,
            _ => return None,
        })
    }
}

/// The spatial functions, each the geodatafusion function of the same meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spatial {
    Intersects,
    Disjoint,
    Within,
    Contains,
    Touches,
    Overlaps,
    Crosses,
    Equals,
}

impl Spatial {
    fn parse(name: &str) -> Option<Spatial> {
        Some(match name.to_ascii_lowercase().as_str() {
            "s_intersects" => Spatial::Intersects,
            "s_disjoint" => Spatial::Disjoint,
            "s_within" => Spatial::Within,
            "s_contains" => Spatial::Contains,
            "s_touches" => Spatial::Touches,
            "s_overlaps" => Spatial::Overlaps,
            "s_crosses" => Spatial::Crosses,
            "s_equals" => Spatial::Equals,
            _ => return None,
        })
    }

    fn udf(self) -> &'static str {
        match self {
            Spatial::Intersects => "st_intersects",
            Spatial::Disjoint => "st_disjoint",
            Spatial::Within => "st_within",
            Spatial::Contains => "st_contains",
            Spatial::Touches => "st_touches",
            Spatial::Overlaps => "st_overlaps",
            Spatial::Crosses => "st_crosses",
            Spatial::Equals => "st_equals",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporal {
    After,
    Before,
    During,
    Equals,
    Intersects,
}

impl Temporal {
    fn parse(name: &str) -> Option<Temporal> {
        Some(match name.to_ascii_lowercase().as_str() {
            "t_after" => Temporal::After,
            "t_before" => Temporal::Before,
            "t_during" => Temporal::During,
            "t_equals" => Temporal::Equals,
            "t_intersects" => Temporal::Intersects,
            _ => return None,
        })
    }
}

/// A value in an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Property(String),
    Text(String),
    /// A number as written, typed once the column it meets is known.
    Number(String),
    Bool(bool),
    /// WKB, in the filter's CRS.
    Geometry(Vec<u8>),
    Instant(Instant),
    Interval(Option<Instant>, Option<Instant>),
    /// `CASEI(…)`: compared in lower case.
    CaseInsensitive(Box<Operand>),
}

/// Parses a `filter` in the given `filter-lang`.
pub fn parse(filter: &str, lang: &str) -> Result<Node, FilterError> {
    match lang {
        "cql2-text" => text::parse(filter),
        "cql2-json" => json::parse(filter),
        other => Err(FilterError::Invalid(format!(
            "filter-lang={other}: cql2-text or cql2-json"
        ))),
    }
}

/// WKB of the polygon of a box.
fn bbox_wkb(b: &[f64]) -> Result<Vec<u8>, FilterError> {
    let [x0, y0, x1, y1] = match *b {
        [a, b, c, d] => [a, b, c, d],
        [a, b, _, d, e, _] => [a, b, d, e],
        _ => return Err(FilterError::Invalid("a BBOX needs 4 or 6 numbers".into())),
    };
    let mut wkb = vec![1u8, 3, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0];
    for (x, y) in [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)] {
        wkb.extend_from_slice(&x.to_le_bytes());
        wkb.extend_from_slice(&y.to_le_bytes());
    }
    Ok(wkb)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random token soup never panics either parser (a cheap stand-in for a fuzz target).
    #[test]
    fn random_filters_are_errors_or_trees_never_panics() {
        const PIECES: &[&str] = &[
            "a",
            "\"b c\"",
            "'x'",
            "'",
            "1",
            "-2.5e3",
            "(",
            ")",
            ",",
            "=",
            "<>",
            "<=",
            " AND ",
            " OR ",
            "NOT ",
            " LIKE ",
            " BETWEEN ",
            " IN ",
            " IS ",
            "NULL",
            "TRUE",
            "S_INTERSECTS",
            "T_DURING",
            "POINT",
            "POLYGON",
            "BBOX",
            "DATE",
            "INTERVAL",
            "CASEI",
            "'..'",
            "[",
            "]",
            "{",
            "}",
            ":",
            "\"op\"",
            "\"args\"",
            "\"property\"",
            "\"and\"",
            "é",
            "\u{0}",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let n = (next() % 24) as usize;
            let text: String = (0..n)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            let _ = parse(&text, "cql2-text");
            let _ = parse(&text, "cql2-json");
        }
    }
}
