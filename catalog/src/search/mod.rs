//! Catalogue search: German full text ranked with BM25 (tantivy), filters, facet counts over the
//! whole result, sorting, and paging by offset or by cursor.
//!
//! The index lives in RAM with the [`Catalog`] snapshot it was built from: built on the first
//! search, shared by clones, and replaced with the snapshot when the catalogue changes (a few
//! hundred datasets index in milliseconds).

mod analysis;
mod cursor;
mod index;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

pub use cursor::{Cursor, Sort};

use crate::error::{CatalogError, Result};
use crate::model::Manifest;
use crate::store::Catalog;
use analysis::Analysis;
use cursor::{Key, compare};
use index::{FilterValues, SearchIndex};

/// A search request; every field optional.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Free text: every word must occur (as a word, a word's stem, or the start of a word) in the
    /// title, description, keywords, column names or descriptions, publisher or id.
    pub q: Option<String>,
    /// Exact values (case ignored) the dataset must have.
    pub keyword: Option<String>,
    pub publisher: Option<String>,
    pub licence: Option<String>,
    /// A download format the latest version must offer (`csv`, `parquet`, `geojson`, `fgb`).
    pub format: Option<String>,
    /// An EU data theme code, e.g. `ENVI`.
    pub theme: Option<String>,
    /// `[min_lon, min_lat, max_lon, max_lat]` the dataset's extent must intersect.
    pub bbox: Option<[f64; 4]>,
    /// Ignored when a cursor is given: the cursor's sort applies.
    pub sort: Sort,
    /// The page size (0: only the total and the facets).
    pub limit: usize,
    /// Datasets to skip, when no cursor is given.
    pub offset: usize,
    /// Continue after the last dataset of an earlier page (its `next_cursor`).
    pub cursor: Option<Cursor>,
}

/// Matching datasets (one page of them) with counts per facet over all matches.
#[derive(Debug, Default, Serialize)]
pub struct SearchResult<'a> {
    pub total: usize,
    #[serde(skip)]
    pub datasets: Vec<&'a Manifest>,
    /// The position of the page's first dataset in the whole ordered result: the requested
    /// offset, or where the cursor pointed.
    pub offset: usize,
    pub facets: Facets,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// Number of matching datasets per value.
#[derive(Debug, Default, Serialize)]
pub struct Facets {
    pub keyword: BTreeMap<String, usize>,
    pub publisher: BTreeMap<String, usize>,
    pub licence: BTreeMap<String, usize>,
    pub format: BTreeMap<String, usize>,
    pub theme: BTreeMap<String, usize>,
}

impl Facets {
    fn count<'m>(datasets: impl Iterator<Item = &'m Manifest>) -> Facets {
        let mut facets = Facets::default();
        for m in datasets {
            let values = FilterValues::of(m);
            let format = values.format.iter().copied();
            for (counts, values) in [
                (&mut facets.keyword, values.keyword),
                (&mut facets.publisher, values.publisher),
                (&mut facets.licence, values.licence),
                (&mut facets.format, format.collect()),
                (&mut facets.theme, values.theme),
            ] {
                for value in values {
                    *counts.entry(value.to_owned()).or_default() += 1;
                }
            }
        }
        facets
    }
}

/// The search index of a catalogue snapshot, built on first use and shared by its clones.
#[derive(Clone, Default)]
pub(crate) struct IndexCell(Arc<OnceLock<std::result::Result<SearchIndex, String>>>);

impl std::fmt::Debug for IndexCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.get() {
            Some(Ok(index)) => index.fmt(f),
            Some(Err(e)) => write!(f, "SearchIndex(failed: {e})"),
            None => f.write_str("SearchIndex(not built)"),
        }
    }
}

fn sort_key(sort: Sort, m: &Manifest, score: f32, analysis: &mut Analysis) -> Key {
    match sort {
        Sort::Relevance => Key::Score(score),
        Sort::Title | Sort::TitleDesc => Key::Text(analysis.sort_key(&m.meta.title)),
        Sort::Modified | Sort::ModifiedDesc => {
            Key::Time(m.latest().map(|v| v.created.timestamp_micros()))
        }
    }
}

impl Catalog {
    /// Runs a search. A failure of the index (which holds no outside input and does no I/O) is
    /// logged and answered with an empty result; [`Catalog::try_search`] reports it instead.
    pub fn search(&self, query: &SearchQuery) -> SearchResult<'_> {
        self.try_search(query).unwrap_or_else(|e| {
            tracing::error!("catalogue search failed: {e}");
            SearchResult::default()
        })
    }

    /// Runs a search, reporting a failure of the index.
    pub fn try_search(&self, query: &SearchQuery) -> Result<SearchResult<'_>> {
        let index = self
            .search_index
            .0
            .get_or_init(|| SearchIndex::build(self.datasets()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| CatalogError::Search(e.clone()))?;
        let hits = index
            .matches(query)
            .map_err(|e| CatalogError::Search(e.to_string()))?;

        let datasets: Vec<&Manifest> = self.datasets().collect();
        let sort = query.cursor.as_ref().map_or(query.sort, Cursor::sort);
        let mut analysis = Analysis::default();
        let mut ranked: Vec<(Key, &Manifest)> = hits
            .into_iter()
            .filter_map(|(ord, score)| {
                let m = *datasets.get(ord)?;
                Some((sort_key(sort, m, score, &mut analysis), m))
            })
            .collect();
        ranked.sort_by(|a, b| compare(sort, (&a.0, &a.1.id), (&b.0, &b.1.id)));

        let start = match &query.cursor {
            Some(cursor) => ranked.partition_point(|(key, m)| {
                compare(sort, (key, &m.id), (&cursor.key, &cursor.id)) != Ordering::Greater
            }),
            None => query.offset,
        };
        let end = start.saturating_add(query.limit).min(ranked.len());
        let page = ranked.get(start..end).unwrap_or_default();
        let next_cursor = page
            .last()
            .filter(|_| end < ranked.len())
            .map(|(key, m)| Cursor {
                sort,
                key: key.clone(),
                id: m.id.clone(),
            });
        Ok(SearchResult {
            total: ranked.len(),
            datasets: page.iter().map(|(_, m)| *m).collect(),
            offset: start,
            facets: Facets::count(ranked.iter().map(|(_, m)| *m)),
            next_cursor,
        })
    }
}
