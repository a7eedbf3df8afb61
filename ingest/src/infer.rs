//! Whole-column type inference. Every value of a column is looked at (never the first N rows):
//! a column is numeric only if all its values are numbers in one convention, German
//! (`1.234,56`) or English (`1,234.56`); codes with leading zeros stay text; a column mixing
//! numbers and text stays text, and the report says which lines disagreed.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::config::TypeName;
use crate::read::Location;

/// Null tokens every source understands, besides the empty string.
pub const DEFAULT_NULLS: &[&str] = &["-", "k.A.", "k. A.", "N/A", "n/a", "NA", "NULL", "null"];

/// How a number writes its decimal and thousands separators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecimalStyle {
    /// `1.234,56`
    German,
    /// `1,234.56`
    English,
}

/// The logical type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Integer,
    Number,
    Boolean,
    Date,
    Datetime,
    String,
}

impl Kind {
    /// The name used in metadata.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::Boolean => "boolean",
            Kind::Date => "date",
            Kind::Datetime => "datetime",
            Kind::String => "string",
        }
    }
}

/// What was decided for a column, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnType {
    pub kind: Kind,
    pub decimal: DecimalStyle,
    pub reason: String,
}

const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%d.%m.%Y"];
const DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
];

/// Whether a raw value is null under the given extra tokens.
pub fn is_null(raw: &str, extra: &[String]) -> bool {
    let v = raw.trim();
    v.is_empty() || DEFAULT_NULLS.contains(&v) || extra.iter().any(|n| n == v)
}

/// Parses a number in one convention: optional sign, digits with optional thousands groups of
/// three, optional decimal part. Returns the value and whether it is a whole number.
pub fn parse_number(raw: &str, style: DecimalStyle) -> Option<(f64, bool)> {
    let s = raw.trim();
    let (sign, body) = match s.as_bytes().first()? {
        b'-' => (-1.0, &s[1..]),
        b'+' => (1.0, &s[1..]),
        _ => match s.strip_prefix('−') {
            Some(rest) => (-1.0, rest),
            None => (1.0, s),
        },
    };
    let (thousands, decimal) = match style {
        DecimalStyle::German => ('.', ','),
        DecimalStyle::English => (',', '.'),
    };
    let (int_part, frac_part) = match body.split_once(decimal) {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    // English numbers may carry an exponent (1.5e3), never together with grouping.
    if style == DecimalStyle::English && body.contains(['e', 'E']) {
        if body.contains(',') || !body.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let v: f64 = body.parse().ok()?;
        return v.is_finite().then_some((sign * v, false));
    }
    if int_part.is_empty() {
        return None;
    }
    let mut digits = String::with_capacity(int_part.len());
    let groups: Vec<&str> = int_part.split(thousands).collect();
    if groups.len() > 1 {
        let first_ok = (1..=3).contains(&groups[0].len());
        if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
            return None;
        }
    }
    for g in &groups {
        if !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.push_str(g);
    }
    match frac_part {
        Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => None,
        Some(f) => {
            let v: f64 = format!("{digits}.{f}").parse().ok()?;
            Some((sign * v, false))
        }
        None => {
            let v: f64 = digits.parse().ok()?;
            Some((sign * v, true))
        }
    }
}

/// Parses a whole number in one convention, exactly (no float rounding).
pub fn parse_integer(raw: &str, style: DecimalStyle) -> Option<i64> {
    let (_, whole) = parse_number(raw, style)?;
    if !whole {
        return None;
    }
    let thousands = if style == DecimalStyle::German {
        '.'
    } else {
        ','
    };
    let cleaned: String = raw
        .trim()
        .replace('−', "-")
        .chars()
        .filter(|&c| c != thousands)
        .collect();
    cleaned.parse().ok()
}

/// `0123` is a code, `0`, `0,5` and `-0.25` are numbers.
fn has_leading_zero(raw: &str) -> bool {
    let s = raw.trim().trim_start_matches(['-', '+']);
    let b = s.as_bytes();
    b.len() > 1 && b[0] == b'0' && b[1].is_ascii_digit()
}

/// Integers too long for exact float arithmetic are identifiers, not amounts.
fn too_long_for_a_number(raw: &str) -> bool {
    raw.bytes().filter(u8::is_ascii_digit).count() > 15 && !raw.contains([',', '.'])
}

pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_lowercase().as_str() {
        "true" | "ja" | "wahr" | "yes" => Some(true),
        "false" | "nein" | "falsch" | "no" => Some(false),
        _ => None,
    }
}

pub fn parse_date(raw: &str, format: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), format).ok()
}

pub fn parse_datetime(raw: &str) -> Option<NaiveDateTime> {
    let s = raw.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(dt.naive_utc());
    }
    DATETIME_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

/// Collects what a column's values could be, one value at a time.
#[derive(Debug, Clone)]
pub struct ColumnInference {
    pub name: String,
    pub nulls: u64,
    pub non_null: u64,
    german_ok: bool,
    english_ok: bool,
    german_whole: bool,
    english_whole: bool,
    has_separator: bool,
    leading_zero: Option<String>,
    too_long: bool,
    bool_ok: bool,
    date_ok: Vec<bool>,
    datetime_ok: bool,
    numeric_count: u64,
    /// Where values that are not numbers appeared, for the mixed-type report.
    text_at: Vec<Location>,
    text_count: u64,
    pub examples: Vec<String>,
}

impl ColumnInference {
    pub fn new(name: &str) -> Self {
        ColumnInference {
            name: name.to_owned(),
            nulls: 0,
            non_null: 0,
            german_ok: true,
            english_ok: true,
            german_whole: true,
            english_whole: true,
            has_separator: false,
            leading_zero: None,
            too_long: false,
            bool_ok: true,
            date_ok: vec![true; DATE_FORMATS.len()],
            datetime_ok: true,
            numeric_count: 0,
            text_at: Vec::new(),
            text_count: 0,
            examples: Vec::new(),
        }
    }

    /// Looks at one value.
    pub fn observe(&mut self, raw: Option<&str>, location: Location, nulls: &[String]) {
        let Some(raw) = raw.filter(|r| !is_null(r, nulls)) else {
            self.nulls += 1;
            return;
        };
        self.non_null += 1;
        if self.examples.len() < 3 && !self.examples.iter().any(|e| e == raw) {
            self.examples.push(raw.to_owned());
        }
        let de = parse_number(raw, DecimalStyle::German);
        let en = parse_number(raw, DecimalStyle::English);
        self.german_ok &= de.is_some();
        self.english_ok &= en.is_some();
        self.german_whole &= de.is_some_and(|(_, w)| w);
        self.english_whole &= en.is_some_and(|(_, w)| w);
        if de.is_some() || en.is_some() {
            self.numeric_count += 1;
            self.has_separator |= raw.contains([',', '.']);
            if self.leading_zero.is_none() && has_leading_zero(raw) {
                self.leading_zero = Some(raw.to_owned());
            }
            self.too_long |= too_long_for_a_number(raw);
        } else {
            self.text_count += 1;
            if self.text_at.len() < 20 {
                self.text_at.push(location);
            }
        }
        // Candidates already ruled out are not tried again: most columns lose them early.
        self.bool_ok = self.bool_ok && parse_bool(raw).is_some();
        for (ok, f) in self.date_ok.iter_mut().zip(DATE_FORMATS) {
            *ok = *ok && parse_date(raw, f).is_some();
        }
        self.datetime_ok = self.datetime_ok && parse_datetime(raw).is_some();
    }

    /// Decides the column's type. `forced` comes from `dataset.toml`; `decimal_hint` is the
    /// convention to prefer when both read every value (`,` for semicolon files).
    pub fn decide(
        &self,
        forced: Option<TypeName>,
        decimal: Option<DecimalStyle>,
        decimal_hint: DecimalStyle,
    ) -> ColumnType {
        let style = decimal.unwrap_or(match (self.german_ok, self.english_ok) {
            (true, false) => DecimalStyle::German,
            (false, true) => DecimalStyle::English,
            _ => decimal_hint,
        });
        let whole = match style {
            DecimalStyle::German => self.german_whole,
            DecimalStyle::English => self.english_whole,
        };
        let t = |kind, reason: String| ColumnType {
            kind,
            decimal: style,
            reason,
        };
        if let Some(forced) = forced {
            let kind = match forced {
                TypeName::String => Kind::String,
                TypeName::Integer => Kind::Integer,
                TypeName::Number => Kind::Number,
                TypeName::Boolean => Kind::Boolean,
                TypeName::Date => Kind::Date,
                TypeName::Datetime => Kind::Datetime,
            };
            return t(kind, "declared in dataset.toml".into());
        }
        if self.non_null == 0 {
            return t(Kind::String, "no values".into());
        }
        let all_numeric = match style {
            DecimalStyle::German => self.german_ok,
            DecimalStyle::English => self.english_ok,
        };
        if all_numeric {
            if let Some(example) = &self.leading_zero {
                return t(
                    Kind::String,
                    format!(
                        "numeric, but with leading zeros (e.g. '{example}'): a code, kept as text"
                    ),
                );
            }
            if self.too_long {
                return t(
                    Kind::String,
                    "digits too long for a number: an identifier, kept as text".into(),
                );
            }
            let convention = match (style, self.has_separator) {
                (_, false) => String::new(),
                (DecimalStyle::German, true) => " in German notation (1.234,56)".into(),
                (DecimalStyle::English, true) => " with a decimal point (1234.56)".into(),
            };
            return if whole {
                t(
                    Kind::Integer,
                    format!("all {} values are whole numbers{convention}", self.non_null),
                )
            } else {
                t(
                    Kind::Number,
                    format!("all {} values are numbers{convention}", self.non_null),
                )
            };
        }
        if self.bool_ok {
            return t(Kind::Boolean, "all values are ja/nein or true/false".into());
        }
        if let Some(i) = self.date_ok.iter().position(|&ok| ok) {
            return t(
                Kind::Date,
                format!("all values are dates ({})", DATE_FORMATS[i]),
            );
        }
        if self.datetime_ok {
            return t(Kind::Datetime, "all values are timestamps".into());
        }
        if self.numeric_count > 0 && self.text_count > 0 && self.numeric_count >= self.text_count {
            let places: Vec<String> = self
                .text_at
                .iter()
                .take(10)
                .map(ToString::to_string)
                .collect();
            return t(
                Kind::String,
                format!(
                    "mixed: {} numbers and {} text values (text at {}{}); kept as text",
                    self.numeric_count,
                    self.text_count,
                    places.join(", "),
                    if self.text_count > 10 { ", …" } else { "" }
                ),
            );
        }
        t(Kind::String, "text".into())
    }

    /// Where values disagreed with the column's numeric majority (empty unless mixed).
    pub fn disagreeing(&self) -> &[Location] {
        if self.numeric_count > 0 && self.text_count > 0 && self.numeric_count >= self.text_count {
            &self.text_at
        } else {
            &[]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DecimalStyle::{English, German};

    fn decide(values: &[&str], hint: DecimalStyle) -> ColumnType {
        let mut c = ColumnInference::new("c");
        for (i, v) in values.iter().enumerate() {
            c.observe(Some(v), Location::Line(i as u64 + 2), &[]);
        }
        c.decide(None, None, hint)
    }

    #[test]
    fn numbers_in_both_conventions() {
        assert_eq!(parse_number("-2.487,50", German), Some((-2487.5, false)));
        assert_eq!(
            parse_number("1.596.852.249", German),
            Some((1596852249.0, true))
        );
        assert_eq!(parse_number("1751.46", German), None);
        assert_eq!(parse_number("1751.46", English), Some((1751.46, false)));
        assert_eq!(parse_number("12,5", German), Some((12.5, false)));
        assert_eq!(parse_number("1,2345", English), None);
        assert_eq!(parse_number("1.100.01.01.01", German), None);
        assert_eq!(parse_number("", German), None);
        assert_eq!(parse_number("-", German), None);
        assert_eq!(parse_integer("-1.234", German), Some(-1234));
        assert_eq!(parse_number("1e3", English), Some((1000.0, false)));
    }

    #[test]
    fn whole_column_decides_the_convention() {
        assert_eq!(
            decide(&["-206,41", "-2.487,50", "0"], English).kind,
            Kind::Number
        );
        assert_eq!(
            decide(&["-206,41", "-2.487,50", "0"], English).decimal,
            German
        );
        // Gilching: semicolon file with decimal points.
        let t = decide(&["1751.46", "12", "-3.5"], German);
        assert_eq!((t.kind, t.decimal), (Kind::Number, English));
        // Köln: thousands dots only, ambiguous; the semicolon hint reads them as German.
        let t = decide(&["1.596.852", "12.345", "7"], German);
        assert_eq!((t.kind, t.decimal), (Kind::Integer, German));
    }

    #[test]
    fn codes_dates_booleans_and_mixed_columns() {
        assert_eq!(decide(&["05315000", "05111000"], German).kind, Kind::String);
        assert_eq!(decide(&["0", "10", "0,5"], German).kind, Kind::Number);
        assert_eq!(
            decide(&["2013-01-01", "2014-04-30"], English).kind,
            Kind::Date
        );
        assert_eq!(
            decide(&["01.02.2020", "31.12.2021"], German).kind,
            Kind::Date
        );
        assert_eq!(
            decide(&["2020-01-01 12:00", "2020-01-01T13:15:00Z"], German).kind,
            Kind::Datetime
        );
        assert_eq!(decide(&["ja", "Nein"], German).kind, Kind::Boolean);
        let t = decide(&["1", "2", "drei", "4"], German);
        assert_eq!(t.kind, Kind::String);
        assert!(t.reason.contains("line 4"), "{}", t.reason);
        assert_eq!(decide(&["12345678901234567890"], German).kind, Kind::String);
    }

    #[test]
    fn null_tokens_do_not_vote() {
        let mut c = ColumnInference::new("c");
        for v in ["1", "", "k.A.", "-", "-999"] {
            c.observe(Some(v), Location::Line(1), &["-999".to_owned()]);
        }
        assert_eq!(c.nulls, 4);
        assert_eq!(c.decide(None, None, German).kind, Kind::Integer);
    }
}
