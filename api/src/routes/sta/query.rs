//! The query options: `$top` (default 100, at most 10000), `$skip`, `$count`, `$orderby`,
//! `$select`, `$expand` (with nested options after `;`, and paths like `A/B`) and `$filter`.

use std::cmp::Ordering;

use serde_json::Value;

use super::filter::{self, Expr};

pub const DEFAULT_TOP: usize = 100;
pub const MAX_TOP: usize = 10_000;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub top: Option<usize>,
    pub skip: usize,
    pub count: bool,
    pub orderby: Vec<(String, bool)>,
    pub select: Vec<String>,
    pub expand: Vec<(String, Options)>,
    pub filter: Option<Expr>,
}

impl Options {
    /// From `(name, value)` pairs; unknown `$` options are refused, others ignored.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Options, String> {
        let mut o = Options::default();
        for (name, value) in pairs {
            match name {
                "$top" => {
                    let n: usize = value
                        .trim()
                        .parse()
                        .map_err(|_| format!("$top={value}: a whole number, 0 or more"))?;
                    o.top = Some(n.min(MAX_TOP));
                }
                "$skip" => {
                    o.skip = value
                        .trim()
                        .parse()
                        .map_err(|_| format!("$skip={value}: a whole number, 0 or more"))?;
                }
                "$count" => {
                    o.count = match value.trim() {
                        "true" => true,
                        "false" => false,
                        other => return Err(format!("$count={other}: use true or false")),
                    }
                }
                "$orderby" => {
                    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        let mut words = part.split_whitespace();
                        let property = words.next().unwrap_or_default().to_owned();
                        let desc = match words.next().map(str::to_lowercase).as_deref() {
                            None | Some("asc") => false,
                            Some("desc") => true,
                            Some(_) => {
                                let other = part.split_whitespace().nth(1).unwrap_or_default();
                                return Err(format!("$orderby: '{other}': use asc or desc"));
                            }
                        };
                        if words.next().is_some() || property.contains(['/', '(']) {
                            return Err(format!(
                                "$orderby: '{part}': a property, then asc or desc"
                            ));
                        }
                        o.orderby.push((property, desc));
                    }
                }
                "$select" => {
                    o.select = value
                        .split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect();
                }
                "$expand" => {
                    for item in split_top(value, ',') {
                        o.expand.push(expand_item(item.trim())?);
                    }
                }
                "$filter" => {
                    o.filter = Some(filter::parse(value).map_err(|e| format!("$filter: {e}"))?)
                }
                "$resultFormat" | "$format" => {
                    return Err(format!("{name} is not supported here; answers are JSON"));
                }
                other if other.starts_with('$') => {
                    return Err(format!("the query option {other} is not supported"));
                }
                _ => {}
            }
        }
        Ok(o)
    }

    pub fn top(&self) -> usize {
        self.top.unwrap_or(DEFAULT_TOP)
    }

    /// Filters and orders `entities` (before paging).
    pub fn filter_and_order(&self, entities: &mut Vec<Value>) {
        if let Some(f) = &self.filter {
            entities.retain(|e| filter::matches(f, e));
        }
        if !self.orderby.is_empty() {
            entities.sort_by(|a, b| {
                for (property, desc) in &self.orderby {
                    let x = filter::property(a, property);
                    let y = filter::property(b, property);
                    let order = filter::compare(&x, &y).unwrap_or(Ordering::Equal);
                    let order = if *desc { order.reverse() } else { order };
                    if order != Ordering::Equal {
                        return order;
                    }
                }
                Ordering::Equal
            });
        }
    }

    /// Keeps only the selected properties (`id` is `@iot.id`, a navigation property keeps
    /// its link and expansion).
    pub fn select(&self, entity: &mut Value) {
        if self.select.is_empty() {
            return;
        }
        if let Some(object) = entity.as_object_mut() {
            object.retain(|key, _| {
                let base = key.split('@').next().unwrap_or(key);
                self.select
                    .iter()
                    .any(|s| (s == "id" && key == "@iot.id") || (!base.is_empty() && s == base))
                    || self.expand.iter().any(|(nav, _)| nav == base)
            });
        }
    }
}

/// `Name`, `Name($top=1;$filter=…)` or `A/B`.
fn expand_item(item: &str) -> Result<(String, Options), String> {
    let (head, rest) = match item.split_once('/') {
        Some((h, r)) if !h.contains('(') => (h, Some(r)),
        _ => (item, None),
    };
    let (name, mut options) = match head.split_once('(') {
        Some((name, inner)) => {
            let inner = inner
                .strip_suffix(')')
                .ok_or_else(|| format!("$expand: '{item}': a '(' is not closed"))?;
            let mut pairs = Vec::new();
            for part in split_top(inner, ';') {
                let (k, v) = part
                    .split_once('=')
                    .ok_or_else(|| format!("$expand: '{part}': use $option=value"))?;
                pairs.push((k.trim(), v));
            }
            (name.trim(), Options::parse(pairs)?)
        }
        None => (head.trim(), Options::default()),
    };
    if let Some(rest) = rest {
        options.expand.push(expand_item(rest)?);
    }
    if name.is_empty() {
        return Err("$expand: an empty name".into());
    }
    Ok((name.to_owned(), options))
}

/// Splits at `sep` outside parentheses and quotes.
fn split_top(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            c if c == sep && depth == 0 && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse() {
        let o = Options::parse([
            ("$top", "20000"),
            ("$expand", "Datastreams($top=1;$orderby=name desc;$expand=Observations),Locations,Datastream/Thing"),
            ("$orderby", "phenomenonTime desc, name"),
        ])
        .expect("options");
        assert_eq!(o.top(), MAX_TOP);
        assert_eq!(o.expand.len(), 3);
        assert_eq!(o.expand[0].0, "Datastreams");
        assert_eq!(o.expand[0].1.top, Some(1));
        assert_eq!(o.expand[0].1.expand[0].0, "Observations");
        assert_eq!(o.expand[2].1.expand[0].0, "Thing");
        assert_eq!(
            o.orderby,
            vec![("phenomenonTime".into(), true), ("name".into(), false)]
        );
        assert!(Options::parse([("$top", "-1")]).is_err());
        assert!(Options::parse([("$orderby", "name up")]).is_err());
        assert!(Options::parse([("$apply", "x")]).is_err());
    }
}
