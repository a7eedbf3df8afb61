//! The tantivy index of a catalogue: built in RAM from the manifests, queried with BM25.
//!
//! Each searchable part of a dataset (title, keywords, …) is two fields: stemmed words and word
//! prefixes (see [`super::analysis`]). A query word must match in some part (AND across words);
//! its score is BM25 summed over the parts it matches, weighted by [`Part::boost`], with prefix
//! matches at [`PREFIX_WEIGHT`] of a whole-word match. Filters (keyword, publisher, licence,
//! format, theme, bbox) are exact clauses that add nothing to the score.

use std::ops::Bound;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query};
use tantivy::query::{RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentOrdinal};
use tantivy::{SegmentReader, TantivyDocument, Term};

use super::SearchQuery;
use super::analysis::{self, Analysis};
use crate::model::Manifest;

/// What a prefix match is worth against a whole-word match in the same part.
const PREFIX_WEIGHT: Score = 0.5;
/// The indexing memory budget (tantivy's minimum); the catalogue's text is far smaller.
const MEMORY_BUDGET: usize = 15_000_000;
/// The fast field with each document's position in the catalogue's id order.
const ORD: &str = "ord";

/// The searchable parts of a dataset, with their weights.
#[derive(Debug, Clone, Copy)]
enum Part {
    Title,
    Keywords,
    Description,
    Columns,
    Publisher,
    Id,
}

impl Part {
    const ALL: [Part; 6] = [
        Part::Title,
        Part::Keywords,
        Part::Description,
        Part::Columns,
        Part::Publisher,
        Part::Id,
    ];

    fn name(self) -> &'static str {
        match self {
            Part::Title => "title",
            Part::Keywords => "keywords",
            Part::Description => "description",
            Part::Columns => "columns",
            Part::Publisher => "publisher",
            Part::Id => "id",
        }
    }

    /// A title word says most about a dataset, a column name or the publisher least.
    fn boost(self) -> Score {
        match self {
            Part::Title => 3.0,
            Part::Keywords => 2.0,
            Part::Description => 1.0,
            Part::Columns | Part::Publisher | Part::Id => 0.5,
        }
    }

    fn texts(self, m: &Manifest) -> Vec<&str> {
        match self {
            Part::Title => vec![m.meta.title.as_str()],
            Part::Keywords => m.meta.keywords.iter().map(String::as_str).collect(),
            Part::Description => vec![m.meta.description.as_str()],
            Part::Columns => m
                .latest()
                .map(|v| {
                    v.columns
                        .iter()
                        .flat_map(|c| {
                            std::iter::once(c.name.as_str()).chain(c.description.as_deref())
                        })
                        .collect()
                })
                .unwrap_or_default(),
            Part::Publisher => vec![m.meta.publisher.as_str()],
            Part::Id => vec![m.id.as_str()],
        }
    }
}

/// The values a dataset is filtered and faceted by.
pub(super) struct FilterValues<'m> {
    pub keyword: Vec<&'m str>,
    pub publisher: Vec<&'m str>,
    pub licence: Vec<&'m str>,
    pub format: Vec<&'static str>,
    pub theme: Vec<&'m str>,
}

impl<'m> FilterValues<'m> {
    pub fn of(m: &'m Manifest) -> Self {
        let non_empty = |s: &'m str| (!s.is_empty()).then_some(s);
        FilterValues {
            keyword: m.meta.keywords.iter().map(String::as_str).collect(),
            publisher: non_empty(&m.meta.publisher).into_iter().collect(),
            licence: non_empty(&m.meta.licence).into_iter().collect(),
            format: m
                .latest()
                .map(|v| {
                    v.distributions
                        .iter()
                        .map(|d| d.format.extension())
                        .collect()
                })
                .unwrap_or_default(),
            theme: m
                .meta
                .theme
                .as_deref()
                .and_then(non_empty)
                .into_iter()
                .collect(),
        }
    }
}

struct Fields {
    /// Per part: (stemmed field, prefix field, boost).
    text: Vec<(Field, Field, Score)>,
    keyword: Field,
    publisher: Field,
    licence: Field,
    format: Field,
    theme: Field,
    /// min_lon, min_lat, max_lon, max_lat
    bbox: [Field; 4],
}

/// The in-RAM index of one catalogue snapshot.
pub(crate) struct SearchIndex {
    reader: IndexReader,
    fields: Fields,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("docs", &self.reader.searcher().num_docs())
            .finish_non_exhaustive()
    }
}

fn text_options(tokenizer: &str, record: IndexRecordOption) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(record),
    )
}

impl SearchIndex {
    /// Indexes the manifests; the n-th becomes the document with ordinal n.
    pub fn build<'m>(manifests: impl IntoIterator<Item = &'m Manifest>) -> tantivy::Result<Self> {
        let mut schema = Schema::builder();
        let stemmed = text_options(analysis::STEMMED, IndexRecordOption::WithFreqs);
        // Pre-tokenized: the tokenizer named here only matters for text added unprocessed.
        let prefix = text_options(analysis::STEMMED, IndexRecordOption::WithFreqs);
        let text = Part::ALL
            .iter()
            .map(|p| {
                (
                    schema.add_text_field(p.name(), stemmed.clone()),
                    schema.add_text_field(&format!("{}_prefix", p.name()), prefix.clone()),
                    p.boost(),
                )
            })
            .collect();
        let exact = text_options(analysis::EXACT, IndexRecordOption::Basic);
        let mut filter = |name: &str| schema.add_text_field(name, exact.clone());
        let (keyword, publisher, licence, format, theme) = (
            filter("f_keyword"),
            filter("f_publisher"),
            filter("f_licence"),
            filter("f_format"),
            filter("f_theme"),
        );
        let bbox = ["min_lon", "min_lat", "max_lon", "max_lat"]
            .map(|name| schema.add_f64_field(name, INDEXED | FAST));
        let ord = schema.add_u64_field(ORD, FAST);
        let fields = Fields {
            text,
            keyword,
            publisher,
            licence,
            format,
            theme,
            bbox,
        };

        let index = Index::create_in_ram(schema.build());
        index
            .tokenizers()
            .register(analysis::STEMMED, analysis::stemmed());
        index
            .tokenizers()
            .register(analysis::EXACT, analysis::exact());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, MEMORY_BUDGET)?;
        let mut analysis = Analysis::default();
        for (n, m) in manifests.into_iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_u64(ord, n as u64);
            for (part, &(stemmed, prefix, _)) in Part::ALL.iter().zip(&fields.text) {
                for text in part.texts(m) {
                    doc.add_text(stemmed, text);
                    doc.add_pre_tokenized_text(prefix, analysis.prefixes(text));
                }
            }
            let values = FilterValues::of(m);
            for (field, values) in [
                (fields.keyword, &values.keyword),
                (fields.publisher, &values.publisher),
                (fields.licence, &values.licence),
                (fields.format, &values.format),
                (fields.theme, &values.theme),
            ] {
                for value in values {
                    doc.add_text(field, value);
                }
            }
            if let Some(bbox) = m.latest().and_then(|v| v.geometry.as_ref()?.bbox) {
                for (field, value) in fields.bbox.iter().zip(bbox) {
                    doc.add_f64(*field, value);
                }
            }
            writer.add_document(doc)?;
        }
        writer.commit()?;
        writer.wait_merging_threads()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex { reader, fields })
    }

    fn query(&self, query: &SearchQuery) -> Box<dyn Query> {
        let mut analysis = Analysis::default();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let words = query
            .q
            .as_deref()
            .map(|q| analysis.query(q))
            .unwrap_or_default();
        for word in words {
            let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for &(stemmed, prefix, boost) in &self.fields.text {
                let mut add = |field, text: &str, boost| {
                    let term = TermQuery::new(
                        Term::from_field_text(field, text),
                        IndexRecordOption::WithFreqs,
                    );
                    alternatives.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(term), boost)),
                    ));
                };
                if let Some(stem) = &word.stem {
                    add(stemmed, stem, boost);
                }
                for spelling in &word.prefixes {
                    add(prefix, spelling, boost * PREFIX_WEIGHT);
                }
            }
            if !alternatives.is_empty() {
                clauses.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
            }
        }
        let filter = |query: Box<dyn Query>| -> (Occur, Box<dyn Query>) {
            (Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0)))
        };
        for (field, value) in [
            (self.fields.keyword, &query.keyword),
            (self.fields.publisher, &query.publisher),
            (self.fields.licence, &query.licence),
            (self.fields.format, &query.format),
            (self.fields.theme, &query.theme),
        ] {
            if let Some(value) = value {
                let term = Term::from_field_text(field, &analysis.exact(value));
                clauses.push(filter(Box::new(TermQuery::new(
                    term,
                    IndexRecordOption::Basic,
                ))));
            }
        }
        if let Some([west, south, east, north]) = query.bbox {
            // Intersects: min_lon ≤ east, min_lat ≤ north, max_lon ≥ west, max_lat ≥ south.
            let [min_lon, min_lat, max_lon, max_lat] = self.fields.bbox;
            let at_most = |field, v| {
                RangeQuery::new(
                    Bound::Included(Term::from_field_f64(field, f64::MIN)),
                    Bound::Included(Term::from_field_f64(field, v)),
                )
            };
            let at_least = |field, v| {
                RangeQuery::new(
                    Bound::Included(Term::from_field_f64(field, v)),
                    Bound::Included(Term::from_field_f64(field, f64::MAX)),
                )
            };
            clauses.push(filter(Box::new(at_most(min_lon, east))));
            clauses.push(filter(Box::new(at_most(min_lat, north))));
            clauses.push(filter(Box::new(at_least(max_lon, west))));
            clauses.push(filter(Box::new(at_least(max_lat, south))));
        }
        if clauses.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(BooleanQuery::new(clauses))
        }
    }

    /// Every matching document as (ordinal, score), in no particular order.
    pub fn matches(&self, query: &SearchQuery) -> tantivy::Result<Vec<(usize, Score)>> {
        let searcher = self.reader.searcher();
        let query = self.query(query);
        searcher.search(&*query, &AllHits)
    }
}

/// Collects every hit with its score: facets and sorting need the whole result set, and a
/// catalogue is small enough to hold it.
struct AllHits;

struct SegmentHits {
    ord: Column<u64>,
    hits: Vec<(usize, Score)>,
}

impl Collector for AllHits {
    type Fruit = Vec<(usize, Score)>;
    type Child = SegmentHits;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentHits> {
        Ok(SegmentHits {
            ord: segment.fast_fields().u64(ORD)?,
            hits: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(usize, Score)>>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits.concat())
    }
}

impl SegmentCollector for SegmentHits {
    type Fruit = Vec<(usize, Score)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(ord) = self.ord.first(doc) {
            self.hits.push((ord as usize, score));
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.hits
    }
}
