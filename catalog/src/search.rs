//! Catalogue search: free text, filters and facet counts over the dataset manifests.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Manifest;
use crate::store::Catalog;

/// A search request; every field optional.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Words that must all occur in title, description, keywords or publisher (any case).
    pub q: Option<String>,
    pub keyword: Option<String>,
    pub publisher: Option<String>,
    pub licence: Option<String>,
    /// A download format the latest version must offer (`csv`, `parquet`, `geojson`, `fgb`).
    pub format: Option<String>,
    /// `[min_lon, min_lat, max_lon, max_lat]` the dataset's extent must intersect.
    pub bbox: Option<[f64; 4]>,
    pub limit: usize,
    pub offset: usize,
}

/// Matching datasets (one page of them) with counts per facet over all matches.
#[derive(Debug, Serialize)]
pub struct SearchResult<'a> {
    pub total: usize,
    #[serde(skip)]
    pub datasets: Vec<&'a Manifest>,
    pub facets: Facets,
}

#[derive(Debug, Default, Serialize)]
pub struct Facets {
    pub keyword: BTreeMap<String, usize>,
    pub publisher: BTreeMap<String, usize>,
    pub licence: BTreeMap<String, usize>,
    pub format: BTreeMap<String, usize>,
}

fn formats(m: &Manifest) -> Vec<&'static str> {
    m.latest()
        .map(|v| {
            v.distributions
                .iter()
                .map(|d| d.format.extension())
                .collect()
        })
        .unwrap_or_default()
}

fn matches(m: &Manifest, query: &SearchQuery) -> bool {
    let eq = |a: &str, b: &Option<String>| b.as_ref().is_none_or(|b| a.eq_ignore_ascii_case(b));
    if let Some(q) = &query.q {
        let text = format!(
            "{} {} {} {} {}",
            m.id,
            m.meta.title,
            m.meta.description,
            m.meta.keywords.join(" "),
            m.meta.publisher
        )
        .to_lowercase();
        if !q
            .to_lowercase()
            .split_whitespace()
            .all(|w| text.contains(w))
        {
            return false;
        }
    }
    if let Some(k) = &query.keyword
        && !m.meta.keywords.iter().any(|x| x.eq_ignore_ascii_case(k))
    {
        return false;
    }
    if let Some(f) = &query.format
        && !formats(m).iter().any(|x| x.eq_ignore_ascii_case(f))
    {
        return false;
    }
    if let Some([a, b, c, d]) = query.bbox {
        let extent = m
            .latest()
            .and_then(|v| v.geometry.as_ref())
            .and_then(|g| g.bbox);
        match extent {
            Some([x0, y0, x1, y1]) if x0 <= c && x1 >= a && y0 <= d && y1 >= b => {}
            _ => return false,
        }
    }
    eq(&m.meta.publisher, &query.publisher) && eq(&m.meta.licence, &query.licence)
}

impl Catalog {
    /// Runs a search; results are ordered by id.
    pub fn search(&self, query: &SearchQuery) -> SearchResult<'_> {
        let hits: Vec<&Manifest> = self.datasets().filter(|m| matches(m, query)).collect();
        let mut facets = Facets::default();
        for m in &hits {
            for k in &m.meta.keywords {
                *facets.keyword.entry(k.clone()).or_default() += 1;
            }
            *facets
                .publisher
                .entry(m.meta.publisher.clone())
                .or_default() += 1;
            *facets.licence.entry(m.meta.licence.clone()).or_default() += 1;
            for f in formats(m) {
                *facets.format.entry(f.to_owned()).or_default() += 1;
            }
        }
        SearchResult {
            total: hits.len(),
            datasets: hits
                .into_iter()
                .skip(query.offset)
                .take(query.limit)
                .collect(),
            facets,
        }
    }
}
