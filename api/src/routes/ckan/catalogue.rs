//! The catalogue actions: packages, resources, organizations, tags, licences, status.
//!
//! `package_search` runs its words through [`Catalog::search`] (ranked German full text) and
//! applies CKAN's `field:value` filters, sorting, paging and facets on the hits itself.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use allmende_catalog::ckan::{
    CkanView, Time, format_from_label, format_label, metadata_created, metadata_modified,
    organization_name, parse_time,
};
use allmende_catalog::{Catalog, Manifest, SearchQuery, licence_by_id};
use serde_json::{Value, json};

use super::{CkanError, Params};
use crate::base_url::BaseUrl;

/// CKAN's cap on `rows` (`ckan.search.rows_max`); `start` pages on without a limit.
const MAX_ROWS: u64 = 1000;

fn page<T>(items: Vec<T>, offset: u64, limit: Option<u64>) -> Vec<T> {
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    items.into_iter().skip(offset).take(limit).collect()
}

pub fn package_list(view: &CkanView, params: &Params) -> Result<Value, CkanError> {
    let names: Vec<&str> = view.catalog().datasets().map(|m| m.id.as_str()).collect();
    let limit = params.natural("limit", None)?;
    let offset = params.natural("offset", Some(0))?.unwrap_or(0);
    Ok(json!(page(names, offset, limit)))
}

fn dataset<'a>(view: &CkanView<'a>, params: &Params) -> Result<&'a Manifest, CkanError> {
    let id = params.required_string("id")?;
    view.catalog()
        .get(id.trim())
        .ok_or_else(|| CkanError::not_found(format!("Dataset \"{id}\" was not found")))
}

pub fn package_show(view: &CkanView, params: &Params) -> Result<Value, CkanError> {
    Ok(view.package(dataset(view, params)?))
}

pub fn current_package_list_with_resources(
    view: &CkanView,
    params: &Params,
) -> Result<Value, CkanError> {
    let limit = params.natural("limit", None)?;
    let mut offset = params.natural("offset", Some(0))?.unwrap_or(0);
    // `page` (1-based, with `limit`) is CKAN's older spelling of offset.
    if let (Some(page), Some(limit)) = (params.natural("page", None)?, limit) {
        offset = page.saturating_sub(1) * limit;
    }
    let mut datasets: Vec<&Manifest> = view.catalog().datasets().collect();
    datasets.sort_by_key(|m| std::cmp::Reverse(metadata_modified(m)));
    Ok(json!(
        page(datasets, offset, limit)
            .into_iter()
            .map(|m| view.package(m))
            .collect::<Vec<_>>()
    ))
}

pub fn resource_show(view: &CkanView, params: &Params) -> Result<Value, CkanError> {
    let id = params.required_string("id")?;
    let (m, v, d) = view
        .resource_by_id(id.trim())
        .ok_or_else(|| CkanError::not_found(format!("Resource \"{id}\" was not found")))?;
    let position = v
        .distributions
        .iter()
        .position(|x| x.format == d.format)
        .unwrap_or(0);
    Ok(view.resource(m, v, d, position))
}

pub fn organization_list(view: &CkanView, params: &Params) -> Result<Value, CkanError> {
    let all_fields = params.boolean("all_fields", false)?;
    let wanted = params.string_list("organizations")?;
    let mut orgs: Vec<_> = view
        .organizations()
        .filter(|o| wanted.as_ref().is_none_or(|w| w.contains(&o.name)))
        .collect();
    let sort = params
        .string("sort")?
        .unwrap_or_else(|| "title asc".to_owned());
    let mut keys = Vec::new();
    for part in sort.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (field, desc) = split_direction(part);
        if !matches!(field, "name" | "title" | "package_count") {
            return Err(CkanError::validation(
                "sort",
                format!("Cannot sort by field `{field}` (name, title, package_count)"),
            ));
        }
        keys.push((field.to_owned(), desc));
    }
    orgs.sort_by(|a, b| {
        keys.iter()
            .map(|(field, desc)| {
                let o = match field.as_str() {
                    "name" => a.name.cmp(&b.name),
                    "title" => a.title.to_lowercase().cmp(&b.title.to_lowercase()),
                    _ => a.package_count.cmp(&b.package_count),
                };
                if *desc { o.reverse() } else { o }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    let limit = params.natural("limit", None)?;
    let offset = params.natural("offset", Some(0))?.unwrap_or(0);
    let orgs = page(orgs, offset, limit);
    Ok(if all_fields {
        json!(orgs.iter().map(|o| o.to_ckan()).collect::<Vec<_>>())
    } else {
        json!(orgs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>())
    })
}

pub fn organization_show(view: &CkanView, params: &Params) -> Result<Value, CkanError> {
    let id = params.required_string("id")?;
    let org = view
        .organization(id.trim())
        .ok_or_else(|| CkanError::not_found(format!("Organization \"{id}\" was not found")))?;
    let mut dict = org.to_ckan();
    dict["users"] = json!([]);
    dict["groups"] = json!([]);
    dict["tags"] = json!([]);
    if params.boolean("include_datasets", false)? {
        dict["packages"] = view
            .catalog()
            .datasets()
            .filter(|m| organization_name(&m.meta.publisher) == org.name)
            .map(|m| view.package(m))
            .collect();
    }
    Ok(dict)
}

pub fn tag_list(view: &CkanView, params: &Params) -> Result<Value, CkanError> {
    if params.get("vocabulary_id").is_some() {
        return Ok(json!([])); // no tag vocabularies here
    }
    let query = params.string("query")?.map(|q| q.to_lowercase());
    let mut tags: Vec<&str> = view
        .catalog()
        .datasets()
        .flat_map(|m| m.meta.keywords.iter().map(String::as_str))
        .filter(|t| query.as_ref().is_none_or(|q| t.to_lowercase().contains(q)))
        .collect();
    tags.sort_unstable();
    tags.dedup();
    Ok(if params.boolean("all_fields", false)? {
        json!(
            tags.iter()
                .map(|t| json!({ "id": t, "name": t, "vocabulary_id": null }))
                .collect::<Vec<_>>()
        )
    } else {
        json!(tags)
    })
}

pub fn status_show(base: &BaseUrl) -> Value {
    json!({
        "site_title": "Allmende",
        "site_description": "Offene Daten und Geodaten",
        "site_url": base.0,
        // The CKAN release whose action API and dictionaries these answers follow.
        "ckan_version": "2.10.0",
        "locale_default": "de",
        "extensions": ["datastore", "allmende"],
        "allmende_version": env!("CARGO_PKG_VERSION"),
    })
}

/// `field asc|desc` → (field, descending); no direction is ascending.
fn split_direction(part: &str) -> (&str, bool) {
    let part = part.trim();
    if let Some((field, dir)) = part.rsplit_once(char::is_whitespace) {
        match dir.to_ascii_lowercase().as_str() {
            "desc" => return (field.trim(), true),
            "asc" => return (field.trim(), false),
            _ => {}
        }
    }
    (part, false)
}

// ---- package_search ---------------------------------------------------------------------

/// A value in a `field:value` term.
#[derive(Debug, Clone, PartialEq)]
enum Term {
    /// A value, possibly with `*` wildcards.
    Value(String),
    /// `(a OR b)`.
    AnyOf(Vec<String>),
    /// `[from TO to]`, `*` for an open end.
    Range(Option<String>, Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    negate: bool,
    field: String,
    term: Term,
}

/// Splits Solr-style query text into free-text words and `field:value` clauses: quoted
/// values, `(a OR b)`, `[a TO b]`, `+`/`-` prefixes, `AND`, `\`-escapes. `*:*` matches all.
fn parse_query(text: &str) -> Result<(Vec<String>, Vec<Clause>), CkanError> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut words = Vec::new();
    let mut clauses = Vec::new();
    let mut negate_next = false;
    let read_until = |i: &mut usize, stop: &dyn Fn(char) -> bool| {
        let mut out = String::new();
        while *i < chars.len() && !stop(chars[*i]) {
            if chars[*i] == '\\' && *i + 1 < chars.len() {
                *i += 1;
            }
            out.push(chars[*i]);
            *i += 1;
        }
        out
    };
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let mut negate = std::mem::take(&mut negate_next);
        match chars[i] {
            '+' => i += 1,
            '-' => {
                negate = true;
                i += 1;
            }
            _ => {}
        }
        if chars.get(i) == Some(&'"') {
            i += 1;
            let phrase = read_until(&mut i, &|c| c == '"');
            i += 1;
            words.extend(phrase.split_whitespace().map(str::to_owned));
            continue;
        }
        let word = read_until(&mut i, &|c| c.is_whitespace() || c == ':');
        if chars.get(i) != Some(&':') {
            match word.as_str() {
                "AND" | "&&" | "*" | "" => {}
                "NOT" => negate_next = true,
                "OR" | "||" => {
                    return Err(CkanError::search_query(
                        "OR between terms is not supported here; use field:(a OR b)",
                    ));
                }
                _ if negate => {
                    return Err(CkanError::search_query(format!(
                        "excluding words (-{word}) is not supported; exclude field:value terms"
                    )));
                }
                _ => words.push(word),
            }
            continue;
        }
        i += 1; // ':'
        let term = match chars.get(i) {
            Some('"') => {
                i += 1;
                let v = read_until(&mut i, &|c| c == '"');
                i += 1;
                Term::Value(v)
            }
            Some('(') => {
                i += 1;
                let inner = read_until(&mut i, &|c| c == ')');
                i += 1;
                let values = inner
                    .split_whitespace()
                    .filter(|v| !matches!(*v, "OR" | "||"))
                    .map(|v| v.trim_matches('"').to_owned())
                    .collect();
                Term::AnyOf(values)
            }
            Some('[' | '{') => {
                i += 1;
                let inner = read_until(&mut i, &|c| c == ']' || c == '}');
                i += 1;
                let (from, to) = inner.split_once(" TO ").ok_or_else(|| {
                    CkanError::search_query(format!("a range needs [from TO to]: {inner}"))
                })?;
                let end = |s: &str| {
                    let s = s.trim();
                    (s != "*").then(|| s.to_owned())
                };
                Term::Range(end(from), end(to))
            }
            _ => Term::Value(read_until(&mut i, &|c| c.is_whitespace())),
        };
        if word == "*" && term == Term::Value("*".into()) {
            continue; // *:*
        }
        if word == "text" {
            if let Term::Value(v) = term {
                words.extend(v.split_whitespace().map(str::to_owned));
            }
            continue;
        }
        clauses.push(Clause {
            negate,
            field: word,
            term,
        });
    }
    Ok((words, clauses))
}

/// Case-insensitive match with `*` standing for any text.
fn glob(pattern: &str, value: &str) -> bool {
    let pattern = pattern.to_lowercase();
    let value = value.to_lowercase();
    if !pattern.contains('*') {
        return pattern == value;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = value.as_str();
    for (n, part) in parts.iter().enumerate() {
        if n == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if n == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn filter_time(s: &str, field: &str) -> Result<Time, CkanError> {
    parse_time(s).ok_or_else(|| {
        CkanError::search_query(format!(
            "{field}: '{s}' is not a time (2024-01-31T00:00:00Z, 2024-01-31 or NOW)"
        ))
    })
}

/// The values a dataset has for a facet or filter field; `None` for fields we do not know.
fn field_values(view: &CkanView, m: &Manifest, field: &str) -> Option<Vec<String>> {
    Some(match field {
        "tags" => m.meta.keywords.clone(),
        "organization" | "owner_org" => view
            .organization_of(m)
            .map(|o| vec![o.name.clone()])
            .unwrap_or_default(),
        "res_format" => m
            .latest()
            .map(|v| {
                v.distributions
                    .iter()
                    .map(|d| format_label(d.format).to_owned())
                    .collect()
            })
            .unwrap_or_default(),
        "license_id" => vec![m.meta.licence.clone()],
        "groups" => Vec::new(),
        "name" | "id" => vec![m.id.clone()],
        "title" => vec![m.meta.title.clone()],
        "dataset_type" | "type" => vec!["dataset".to_owned()],
        "capacity" => vec!["public".to_owned()],
        "state" => vec!["active".to_owned()],
        "private" => vec!["false".to_owned()],
        "num_resources" => vec![m.latest().map_or(0, |v| v.distributions.len()).to_string()],
        "num_tags" => vec![m.meta.keywords.len().to_string()],
        _ => return None,
    })
}

const FILTER_FIELDS: &str = "tags, organization, res_format, license_id, groups, name, title, \
     metadata_modified, metadata_created, num_resources, num_tags, dataset_type, capacity, state";

fn matches_clause(view: &CkanView, m: &Manifest, clause: &Clause) -> Result<bool, CkanError> {
    let field = clause.field.as_str();
    let hit = if let "metadata_modified" | "metadata_created" = field {
        let time = if field == "metadata_modified" {
            metadata_modified(m)
        } else {
            metadata_created(m)
        };
        let Term::Range(from, to) = &clause.term else {
            return Err(CkanError::search_query(format!(
                "{field} takes a range: {field}:[2024-01-01T00:00:00Z TO *]"
            )));
        };
        let from = from.as_deref().map(|s| filter_time(s, field)).transpose()?;
        let to = to.as_deref().map(|s| filter_time(s, field)).transpose()?;
        time.is_some_and(|t| from.is_none_or(|f| t >= f) && to.is_none_or(|e| t <= e))
    } else {
        let values = field_values(view, m, field).ok_or_else(|| {
            CkanError::search_query(format!(
                "unknown field '{field}' (supported: {FILTER_FIELDS})"
            ))
        })?;
        let equal = |want: &str, have: &str| {
            if field == "res_format" {
                format_from_label(want).is_some_and(|f| format_label(f) == have)
            } else {
                glob(want, have)
            }
        };
        match &clause.term {
            Term::Value(want) => values.iter().any(|v| equal(want, v)),
            Term::AnyOf(wants) => values.iter().any(|v| wants.iter().any(|w| equal(w, v))),
            Term::Range(from, to) => {
                let num = |s: &str| s.parse::<f64>().ok();
                values.iter().filter_map(|v| num(v)).any(|v| {
                    from.as_deref().and_then(num).is_none_or(|f| v >= f)
                        && to.as_deref().and_then(num).is_none_or(|t| v <= t)
                })
            }
        }
    };
    Ok(hit != clause.negate)
}

/// The datasets the free-text words match, best first; all, by id, without words.
fn text_hits<'a>(catalog: &'a Catalog, words: &[String]) -> Vec<&'a Manifest> {
    if words.is_empty() {
        return catalog.datasets().collect();
    }
    let query = SearchQuery {
        q: Some(words.join(" ")),
        limit: catalog.datasets().count(),
        ..SearchQuery::default()
    };
    catalog.search(&query).datasets
}

#[derive(Debug, Clone, Copy)]
enum SortKey {
    Score,
    Name,
    Title,
    Modified,
    Created,
    NumResources,
}

fn parse_sort(sort: &str) -> Result<Vec<(SortKey, bool)>, CkanError> {
    sort.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (field, desc) = split_direction(part);
            let key = match field {
                "score" | "rank" => SortKey::Score,
                "name" | "id" => SortKey::Name,
                "title" | "title_string" => SortKey::Title,
                "metadata_modified" => SortKey::Modified,
                "metadata_created" => SortKey::Created,
                "num_resources" => SortKey::NumResources,
                other => {
                    return Err(CkanError::search_query(format!(
                        "cannot sort by '{other}' (score, name, title, metadata_modified, \
                         metadata_created, num_resources)"
                    )));
                }
            };
            Ok((key, desc))
        })
        .collect()
}

pub fn package_search(view: &CkanView, params: &Params) -> Result<Value, CkanError> {
    let q = params.string("q")?.unwrap_or_default();
    let fq = params.string("fq")?.unwrap_or_default();
    let (words, mut clauses) = parse_query(&q)?;
    let (fq_words, fq_clauses) = parse_query(&fq)?;
    if !fq_words.is_empty() {
        return Err(CkanError::search_query(format!(
            "fq takes field:value terms, not words: {}",
            fq_words.join(" ")
        )));
    }
    clauses.extend(fq_clauses);
    let rows = params
        .natural("rows", Some(10))?
        .unwrap_or(10)
        .min(MAX_ROWS);
    let start = params.natural("start", Some(0))?.unwrap_or(0);
    let sort_text = params
        .string("sort")?
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "score desc, metadata_modified desc".to_owned());
    let sort = parse_sort(&sort_text)?;

    let mut hits = Vec::new();
    for (rank, m) in text_hits(view.catalog(), &words).into_iter().enumerate() {
        let mut keep = true;
        for clause in &clauses {
            if !matches_clause(view, m, clause)? {
                keep = false;
                break;
            }
        }
        if keep {
            hits.push((rank, m));
        }
    }
    hits.sort_by(|(ra, a), (rb, b)| {
        sort.iter()
            .map(|(key, desc)| {
                let o = match key {
                    // A higher score is a smaller rank.
                    SortKey::Score => rb.cmp(ra),
                    SortKey::Name => a.id.cmp(&b.id),
                    SortKey::Title => a
                        .meta
                        .title
                        .to_lowercase()
                        .cmp(&b.meta.title.to_lowercase()),
                    SortKey::Modified => metadata_modified(a).cmp(&metadata_modified(b)),
                    SortKey::Created => metadata_created(a).cmp(&metadata_created(b)),
                    SortKey::NumResources => {
                        let n = |m: &Manifest| m.latest().map_or(0, |v| v.distributions.len());
                        n(a).cmp(&n(b))
                    }
                };
                if *desc { o.reverse() } else { o }
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.id.cmp(&b.id))
    });

    let (facets, search_facets) = if params.boolean("facet", true)? {
        let fields = params.string_list("facet.field")?.unwrap_or_default();
        let limit = params.integer("facet.limit", 50)?;
        let mincount = params.integer("facet.mincount", 1)?.max(1);
        facet_counts(view, hits.iter().map(|(_, m)| *m), &fields, limit, mincount)
    } else {
        (json!({}), json!({}))
    };
    let count = hits.len();
    let results: Vec<Value> = page(hits, start, Some(rows))
        .into_iter()
        .map(|(_, m)| view.package(m))
        .collect();
    Ok(json!({
        "count": count,
        "sort": sort_text,
        "results": results,
        "facets": facets,
        "search_facets": search_facets,
    }))
}

/// CKAN's `facets` (`{field: {value: count}}`) and `search_facets` (`{field: {title, items}}`).
fn facet_counts<'a>(
    view: &CkanView,
    hits: impl Iterator<Item = &'a Manifest> + Clone,
    fields: &[String],
    limit: i64,
    mincount: i64,
) -> (Value, Value) {
    let mut facets = serde_json::Map::new();
    let mut search_facets = serde_json::Map::new();
    for field in fields {
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for m in hits.clone() {
            let mut values = field_values(view, m, field).unwrap_or_default();
            values.sort();
            values.dedup();
            for v in values {
                *counts.entry(v).or_default() += 1;
            }
        }
        let mut items: Vec<(String, i64)> =
            counts.into_iter().filter(|(_, n)| *n >= mincount).collect();
        items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        if let Ok(limit) = usize::try_from(limit) {
            items.truncate(limit);
        }
        let display = |value: &str| -> String {
            match field.as_str() {
                "organization" => view
                    .organization(value)
                    .map_or(value.to_owned(), |o| o.title.clone()),
                "license_id" => {
                    licence_by_id(value).map_or(value.to_owned(), |l| l.name.to_owned())
                }
                _ => value.to_owned(),
            }
        };
        facets.insert(
            field.clone(),
            items.iter().map(|(v, n)| (v.clone(), json!(n))).collect(),
        );
        search_facets.insert(
            field.clone(),
            json!({
                "title": field,
                "items": items
                    .iter()
                    .map(|(v, n)| json!({ "name": v, "display_name": display(v), "count": n }))
                    .collect::<Vec<_>>(),
            }),
        );
    }
    (Value::Object(facets), Value::Object(search_facets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solr_style_queries_split_into_words_and_clauses() {
        let (words, clauses) = parse_query(
            r#"Pegel +tags:"Hochwasser" -organization:stadt-wesel res_format:(CSV OR GeoJSON)"#,
        )
        .expect("parse");
        assert_eq!(words, ["Pegel"]);
        assert_eq!(
            clauses,
            [
                Clause {
                    negate: false,
                    field: "tags".into(),
                    term: Term::Value("Hochwasser".into())
                },
                Clause {
                    negate: true,
                    field: "organization".into(),
                    term: Term::Value("stadt-wesel".into())
                },
                Clause {
                    negate: false,
                    field: "res_format".into(),
                    term: Term::AnyOf(vec!["CSV".into(), "GeoJSON".into()])
                },
            ]
        );
        let (words, clauses) = parse_query(
            "*:* metadata_modified:[2024-01-01T00:00:00Z TO *] license_id:dl-by-de\\/2.0",
        )
        .expect("parse");
        assert!(words.is_empty());
        assert_eq!(
            clauses[0].term,
            Term::Range(Some("2024-01-01T00:00:00Z".into()), None)
        );
        assert_eq!(clauses[1].term, Term::Value("dl-by-de/2.0".into()));
        assert!(parse_query("a OR b").is_err());
    }

    #[test]
    fn globs_match_case_insensitively() {
        assert!(glob("pegel*", "Pegel-NRW-Stationen"));
        assert!(glob("*nrw*", "pegel-nrw-stationen"));
        assert!(glob("*stationen", "pegel-nrw-stationen"));
        assert!(!glob("pegel", "pegel-nrw"));
        assert!(glob("Hochwasser", "hochwasser"));
    }
}
