//! The Frictionless Data Package view of a dataset version: one tabular data resource, the
//! version's CSV download, described by a Table Schema that says exactly how our CSV is
//! written (see `allmende-ingest`'s CSV writer).
//!
//! The CSV is UTF-8 with a byte order mark, comma-separated, RFC 4180 quoting with CRLF line
//! ends, a header row, empty cells for nulls, numbers with a decimal point and no digit
//! grouping, booleans as `true`/`false`, dates as `YYYY-MM-DD`, times as ISO 8601 and
//! geometries as WKT in WGS 84. The encoding is given as `utf-8` (the IANA name; Frictionless
//! and Python's CSV readers skip the BOM of a UTF-8 file).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::licence::licence_by_id;
use crate::model::{Column, Format, Manifest, Version};

/// The data package of version `v` of `m`; `base` is the server's absolute URL and `patterns`
/// maps string columns holding codes (digits with leading zeros) to a regular expression all
/// of their values match. `None` when the version has no CSV download.
pub fn datapackage(
    m: &Manifest,
    v: &Version,
    base: &str,
    patterns: &BTreeMap<String, String>,
) -> Option<Value> {
    let csv = v.distribution(Format::Csv)?;
    let meta = &m.meta;
    let homepage = format!("{base}/api/datasets/{}", m.id);
    let fields: Vec<Value> = v
        .columns
        .iter()
        .map(|c| field(c, patterns.get(&c.name)))
        .collect();
    let resource = json!({
        "profile": "tabular-data-resource",
        "name": m.id,
        "title": meta.title,
        "description": format!(
            "Version {} von „{}“ als CSV: UTF-8 mit BOM, Komma als Trennzeichen, Dezimalpunkt, \
             leere Zellen für fehlende Werte.",
            v.number, meta.title
        ),
        "path": format!("{homepage}/versions/{}/download.csv", v.number),
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "bytes": csv.byte_size,
        "hash": format!("sha256:{}", csv.sha256),
        "dialect": {
            "delimiter": ",",
            "lineTerminator": "\r\n",
            "quoteChar": "\"",
            "doubleQuote": true,
            "skipInitialSpace": false,
            "header": true,
        },
        "schema": {
            "fields": fields,
            "missingValues": [""],
        },
    });

    let mut package = Map::new();
    package.insert("profile".into(), "tabular-data-package".into());
    package.insert("id".into(), homepage.clone().into());
    package.insert("name".into(), m.id.clone().into());
    package.insert("title".into(), meta.title.clone().into());
    if !meta.description.is_empty() {
        package.insert("description".into(), meta.description.clone().into());
    }
    package.insert("version".into(), v.number.to_string().into());
    package.insert(
        "created".into(),
        v.created
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .into(),
    );
    package.insert("homepage".into(), homepage.into());
    if !meta.keywords.is_empty() {
        package.insert("keywords".into(), json!(meta.keywords));
    }
    if let Some(l) = licence_by_id(&meta.licence) {
        let mut licence = Map::new();
        if let Some(spdx) = l.spdx() {
            licence.insert("name".into(), spdx.into());
        }
        licence.insert("path".into(), l.text_url().into());
        licence.insert("title".into(), l.name.into());
        package.insert("licenses".into(), json!([licence]));
    }
    if !meta.publisher.is_empty() {
        let mut source = Map::new();
        source.insert(
            "title".into(),
            meta.attribution
                .as_ref()
                .unwrap_or(&meta.publisher)
                .clone()
                .into(),
        );
        if let Some(url) = &meta.publisher_url {
            source.insert("path".into(), url.clone().into());
        }
        package.insert("sources".into(), json!([source]));
    }
    let mut contributors = Vec::new();
    if !meta.publisher.is_empty() {
        let mut publisher = json!({ "title": meta.publisher, "role": "publisher" });
        if let Some(url) = &meta.publisher_url {
            publisher["path"] = url.clone().into();
        }
        contributors.push(publisher);
    }
    if let Some(c) = &meta.contact {
        let mut maintainer = json!({ "title": c.name, "role": "maintainer" });
        if let Some(email) = &c.email {
            maintainer["email"] = email.clone().into();
        }
        if let Some(url) = &c.url {
            maintainer["path"] = url.clone().into();
        }
        contributors.push(maintainer);
    }
    if !contributors.is_empty() {
        package.insert("contributors".into(), contributors.into());
    }
    package.insert("resources".into(), json!([resource]));
    Some(Value::Object(package))
}

/// A Table Schema field for a column as our CSV writes it.
fn field(c: &Column, pattern: Option<&String>) -> Value {
    let mut f = json!({ "name": c.name });
    let description = c.description.clone();
    match c.data_type.as_str() {
        "integer" => {
            f["type"] = "integer".into();
            f["bareNumber"] = true.into();
        }
        "number" => {
            f["type"] = "number".into();
            f["decimalChar"] = ".".into();
            f["groupChar"] = "".into();
            f["bareNumber"] = true.into();
        }
        "boolean" => {
            f["type"] = "boolean".into();
            f["trueValues"] = json!(["true"]);
            f["falseValues"] = json!(["false"]);
        }
        "date" => {
            f["type"] = "date".into();
            f["format"] = "default".into();
        }
        "datetime" => {
            f["type"] = "datetime".into();
            f["format"] = "default".into();
        }
        "geometry" => {
            // Table Schema has no geometry type for WKT; Frictionless's string format `wkt`
            // says what the text is (and checks it, with frictionless[wkt]).
            f["type"] = "string".into();
            f["format"] = "wkt".into();
            let wkt = "Geometrie als WKT (OGC Simple Features), WGS 84 Länge/Breite (OGC:CRS84)";
            f["description"] = match description {
                Some(d) => format!("{d}. {wkt}"),
                None => wkt.to_owned(),
            }
            .into();
            return f;
        }
        _ => {
            f["type"] = "string".into();
            f["format"] = "default".into();
            if let Some(p) = pattern {
                f["constraints"] = json!({ "pattern": p });
            }
        }
    }
    if let Some(d) = description {
        f["description"] = d.into();
    }
    f
}

/// What a scan found about the values of a string column (nulls left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeShapes {
    /// Every value is digit groups joined by `.`, `-`, `/` or a space.
    pub all_codes: bool,
    /// Some value starts with `0`: the leading zero a number type would lose.
    pub leading_zero: bool,
    /// Every value is digits only.
    pub digits_only: bool,
    /// How many shapes the values have (a value with every digit replaced by `9`); any
    /// number above 1 means "several".
    pub shapes: u64,
    /// The smallest shape (the only one when `shapes` is 1).
    pub shape: String,
    pub min_len: u64,
    pub max_len: u64,
}

/// The pattern constraint of a column of codes with leading zeros: exact for one shape
/// (`015-06` → `[0-9]{3}-[0-9]{2}`), `[0-9]{min,max}` for digits of several lengths, digit
/// groups with separators otherwise. `None` for columns that are not such codes.
pub fn code_pattern(s: &CodeShapes) -> Option<String> {
    if !s.all_codes || !s.leading_zero || s.shapes == 0 {
        return None;
    }
    if s.shapes == 1 {
        let mut pattern = String::new();
        let mut run = 0;
        for c in s.shape.chars().chain(std::iter::once('\0')) {
            if c == '9' {
                run += 1;
                continue;
            }
            match run {
                0 => {}
                1 => pattern.push_str("[0-9]"),
                n => pattern.push_str(&format!("[0-9]{{{n}}}")),
            }
            run = 0;
            match c {
                '.' => pattern.push_str("\\."),
                '-' | '/' | ' ' => pattern.push(c),
                '\0' => {}
                _ => return None, // not a code after all
            }
        }
        return Some(pattern);
    }
    if s.digits_only {
        return Some(format!("[0-9]{{{},{}}}", s.min_len, s.max_len));
    }
    Some("[0-9]+([./ -][0-9]+)*".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_patterns_follow_the_shapes_of_the_values() {
        let codes = |shapes, shape: &str, digits_only, min_len, max_len| CodeShapes {
            all_codes: true,
            leading_zero: true,
            digits_only,
            shapes,
            shape: shape.to_owned(),
            min_len,
            max_len,
        };
        let p = |s: CodeShapes| code_pattern(&s);
        assert_eq!(
            p(codes(1, "999-99", false, 6, 6)).as_deref(),
            Some("[0-9]{3}-[0-9]{2}")
        );
        assert_eq!(
            p(codes(1, "9.999.99", false, 8, 8)).as_deref(),
            Some("[0-9]\\.[0-9]{3}\\.[0-9]{2}")
        );
        assert_eq!(
            p(codes(2, "99999", true, 5, 8)).as_deref(),
            Some("[0-9]{5,8}")
        );
        assert_eq!(
            p(codes(2, "99/9", false, 4, 6)).as_deref(),
            Some("[0-9]+([./ -][0-9]+)*")
        );
        assert_eq!(p(codes(1, "A99", false, 3, 3)), None);
        assert_eq!(
            p(CodeShapes {
                leading_zero: false,
                ..codes(1, "99999", true, 5, 5)
            }),
            None
        );
        assert_eq!(p(CodeShapes::default()), None);
    }
}
