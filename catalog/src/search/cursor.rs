//! Sort orders and the opaque cursor that continues a sorted result after a given dataset.
//!
//! A cursor holds the sort key and id of the last dataset of a page (keyset paging), not a
//! position: the next page starts after that dataset even when datasets were added or removed
//! in between, so nothing is listed twice or skipped for that reason. (Relevance scores shift
//! a little when the catalogue changes; a page boundary then moves with them.)

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use crate::error::CatalogError;

/// How results are ordered; ties are broken by dataset id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Best match first (BM25); without a query, by id.
    #[default]
    Relevance,
    /// By title, A–Z (case and accents ignored).
    Title,
    /// By title, Z–A.
    TitleDesc,
    /// Oldest latest version first; datasets without a version last.
    Modified,
    /// Newest latest version first; datasets without a version last.
    ModifiedDesc,
}

impl Sort {
    const ALL: [Sort; 5] = [
        Sort::Relevance,
        Sort::Title,
        Sort::TitleDesc,
        Sort::Modified,
        Sort::ModifiedDesc,
    ];

    /// The name in the `sort` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::Title => "title",
            Sort::TitleDesc => "-title",
            Sort::Modified => "modified",
            Sort::ModifiedDesc => "-modified",
        }
    }
}

impl FromStr for Sort {
    type Err = CatalogError;

    fn from_str(s: &str) -> Result<Sort, CatalogError> {
        Sort::ALL
            .into_iter()
            .find(|sort| sort.as_str() == s)
            .ok_or_else(|| CatalogError::InvalidSort(s.to_owned()))
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a dataset is sorted by, under one [`Sort`].
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Key {
    Score(f32),
    /// A title folded by [`super::analysis::Analysis::sort_key`].
    Text(String),
    /// The latest version's creation, microseconds since 1970.
    Time(Option<i64>),
}

/// Orders two (key, id) pairs under `sort`.
pub(super) fn compare(sort: Sort, a: (&Key, &str), b: (&Key, &str)) -> Ordering {
    let primary = match (a.0, b.0) {
        (Key::Score(x), Key::Score(y)) => y.total_cmp(x),
        (Key::Text(x), Key::Text(y)) if sort == Sort::TitleDesc => y.cmp(x),
        (Key::Text(x), Key::Text(y)) => x.cmp(y),
        (Key::Time(Some(x)), Key::Time(Some(y))) if sort == Sort::ModifiedDesc => y.cmp(x),
        (Key::Time(Some(x)), Key::Time(Some(y))) => x.cmp(y),
        (Key::Time(Some(_)), Key::Time(None)) => Ordering::Less,
        (Key::Time(None), Key::Time(Some(_))) => Ordering::Greater,
        // Equal times; kinds never differ ([`Cursor`] checks its key against its sort).
        _ => Ordering::Equal,
    };
    primary.then_with(|| a.1.cmp(b.1))
}

/// Where the next page of a sorted result starts: after the dataset `id` with sort key `key`.
///
/// Its text form (`Display`/`FromStr`, also `Serialize`) is opaque to clients.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub(super) sort: Sort,
    pub(super) key: Key,
    pub(super) id: String,
}

impl Cursor {
    /// The sort order this cursor continues.
    pub fn sort(&self) -> Sort {
        self.sort
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = match &self.key {
            Key::Score(score) => json!(score.to_bits()),
            Key::Text(text) => json!(text),
            Key::Time(time) => json!(time),
        };
        // Hex keeps it URL-safe without escaping.
        for byte in json!([self.sort.as_str(), key, self.id])
            .to_string()
            .bytes()
        {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for Cursor {
    type Err = CatalogError;

    fn from_str(s: &str) -> Result<Cursor, CatalogError> {
        let invalid = || CatalogError::InvalidCursor;
        if !s.len().is_multiple_of(2) || !s.is_ascii() {
            return Err(invalid());
        }
        let bytes = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| invalid())?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let [sort, key, id] = value.as_array().map(Vec::as_slice).ok_or_else(invalid)? else {
            return Err(invalid());
        };
        let sort: Sort = sort
            .as_str()
            .ok_or_else(invalid)?
            .parse()
            .map_err(|_| invalid())?;
        let key = match (sort, key) {
            (Sort::Relevance, Value::Number(n)) => {
                let bits = n.as_u64().and_then(|b| u32::try_from(b).ok());
                Key::Score(f32::from_bits(bits.ok_or_else(invalid)?))
            }
            (Sort::Title | Sort::TitleDesc, Value::String(text)) => Key::Text(text.clone()),
            (Sort::Modified | Sort::ModifiedDesc, Value::Null) => Key::Time(None),
            (Sort::Modified | Sort::ModifiedDesc, Value::Number(n)) => {
                Key::Time(Some(n.as_i64().ok_or_else(invalid)?))
            }
            _ => return Err(invalid()),
        };
        let id = id.as_str().ok_or_else(invalid)?.to_owned();
        Ok(Cursor { sort, key, id })
    }
}

impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        for cursor in [
            Cursor {
                sort: Sort::Relevance,
                key: Key::Score(1.25),
                id: "a".into(),
            },
            Cursor {
                sort: Sort::TitleDesc,
                key: Key::Text("straße \"x\"".into()),
                id: "b-2".into(),
            },
            Cursor {
                sort: Sort::Modified,
                key: Key::Time(None),
                id: "c".into(),
            },
            Cursor {
                sort: Sort::ModifiedDesc,
                key: Key::Time(Some(-5)),
                id: "d".into(),
            },
        ] {
            let text = cursor.to_string();
            assert!(text.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
            assert_eq!(text.parse::<Cursor>().expect("parses"), cursor);
        }
        for bad in ["", "zz", "abc", "5b5d", "5b2274697465", "ü1"] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad}");
        }
        // A title key under a relevance sort is not a cursor we made.
        let forged = Cursor {
            sort: Sort::Title,
            key: Key::Text("x".into()),
            id: "a".into(),
        }
        .to_string()
        .replace(&hex("title"), &hex("relevance"));
        assert!(forged.parse::<Cursor>().is_err());
    }

    fn hex(s: &str) -> String {
        s.bytes().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sorts_parse_by_their_parameter_names() {
        for sort in Sort::ALL {
            assert_eq!(sort.as_str().parse::<Sort>().expect("parses"), sort);
        }
        assert!("newest".parse::<Sort>().is_err());
    }
}
