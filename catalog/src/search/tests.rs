//! Search over small hand-made catalogues: German matching, ranking, facets, filters, sorting
//! and paging.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::model::{Column, DatasetMeta, Distribution, Format, GeometryInfo, SourceInfo, Version};

/// A dataset with one version; `created` in days after 2020-01-01.
struct D {
    id: &'static str,
    title: &'static str,
    description: &'static str,
    keywords: &'static [&'static str],
    publisher: &'static str,
    theme: Option<&'static str>,
    columns: &'static [(&'static str, Option<&'static str>)],
    bbox: Option<[f64; 4]>,
    formats: &'static [Format],
    created: i64,
}

const BASE: D = D {
    id: "",
    title: "",
    description: "",
    keywords: &[],
    publisher: "Stadt Wesel",
    theme: None,
    columns: &[],
    bbox: None,
    formats: &[Format::Parquet, Format::Csv],
    created: 0,
};

fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
        .single()
        .expect("date")
        + chrono::Duration::days(n)
}

fn manifest(d: D) -> Manifest {
    Manifest {
        id: d.id.into(),
        meta: DatasetMeta {
            title: d.title.into(),
            description: d.description.into(),
            publisher: d.publisher.into(),
            licence: "dl-by-de/2.0".into(),
            keywords: d.keywords.iter().map(|k| (*k).into()).collect(),
            theme: d.theme.map(Into::into),
            ..DatasetMeta::default()
        },
        versions: vec![Version {
            number: 1,
            created: day(d.created),
            row_count: 1,
            rejected_rows: 0,
            columns: d
                .columns
                .iter()
                .map(|(name, description)| Column {
                    name: (*name).into(),
                    data_type: "string".into(),
                    null_count: 0,
                    description: description.map(Into::into),
                    min: None,
                    max: None,
                    distinct: None,
                })
                .collect(),
            geometry: d.bbox.map(|bbox| GeometryInfo {
                column: "geometry".into(),
                types: vec!["Point".into()],
                bbox: Some(bbox),
                crs: "OGC:CRS84".into(),
                source_crs: "EPSG:25832".into(),
            }),
            source: SourceInfo::default(),
            distributions: d
                .formats
                .iter()
                .map(|&format| Distribution {
                    format,
                    file: format.file_name(),
                    media_type: format.media_type().into(),
                    byte_size: 1,
                    sha256: String::new(),
                })
                .collect(),
            temporal: None,
            changes: None,
        }],
        meta_history: vec![],
    }
}

/// A small town catalogue: two gauge datasets, three budgets, streets, waste collection.
fn town() -> Catalog {
    Catalog::from_manifests(
        "/nowhere",
        [
            D {
                id: "pegel-tageswerte",
                title: "Tägliche Pegelstände am Rhein",
                description: "Wasserstände je Messstelle und Tag in Zentimetern.",
                keywords: &["Hochwasser", "Pegel"],
                publisher: "LANUV NRW",
                theme: Some("ENVI"),
                columns: &[("Messstelle", None), ("Datum", Some("Tag der Messung"))],
                created: 30,
                ..BASE
            },
            D {
                id: "messstellen",
                title: "Hochwassermeldestellen",
                description: "Standorte der Pegelstationen mit Warnstufen.",
                keywords: &["Hochwasser", "Pegel"],
                publisher: "LANUV NRW",
                theme: Some("ENVI"),
                bbox: Some([6.0, 51.0, 7.0, 52.0]),
                formats: &[Format::Parquet, Format::Csv, Format::Geojson, Format::Fgb],
                created: 10,
                ..BASE
            },
            D {
                id: "haushalt-2016",
                title: "Haushaltsplan 2016 der Stadt Wesel",
                description: "Ergebnisplan mit Ist 2014, Plan 2016 und Planung 2017 bis 2019.",
                keywords: &["Haushalt", "Finanzen"],
                theme: Some("ECON"),
                created: 1,
                ..BASE
            },
            D {
                id: "haushalt-2017",
                title: "Haushaltsplan 2017 der Stadt Wesel",
                description: "Ergebnisplan mit Ist 2015 und Plan 2017 bis 2020.",
                keywords: &["Haushalt", "Finanzen"],
                theme: Some("ECON"),
                created: 2,
                ..BASE
            },
            D {
                id: "haushalt-2018",
                title: "Haushaltsplan 2018 der Stadt Wesel",
                description: "Ergebnisplan mit Ist 2016 und 2017 und Plan 2018 bis 2021.",
                keywords: &["Haushalt", "Finanzen"],
                theme: Some("ECON"),
                created: 3,
                ..BASE
            },
            D {
                id: "strassen",
                title: "Straßenverzeichnis",
                description: "Alle gewidmeten Straßen, Wege und Plätze.",
                keywords: &["Verkehr"],
                columns: &[("strassenschluessel", Some("Schlüssel der Straße"))],
                bbox: Some([6.5, 51.6, 6.7, 51.7]),
                formats: &[Format::Parquet, Format::Csv, Format::Geojson, Format::Fgb],
                created: 20,
                ..BASE
            },
            D {
                id: "abfall",
                title: "Müllabfuhr: Abholtermine",
                description: "Termine der Abfallentsorgung je Bezirk.",
                keywords: &["Abfall"],
                columns: &[
                    ("Bezirk", None),
                    ("Gelbe Tonne", Some("Abholung der Wertstoffe")),
                ],
                created: 5,
                ..BASE
            },
        ]
        .map(manifest),
    )
}

fn ids<'a>(result: &SearchResult<'a>) -> Vec<&'a str> {
    result.datasets.iter().map(|m| m.id.as_str()).collect()
}

fn find(catalog: &Catalog, q: &str) -> Vec<String> {
    let result = catalog.search(&SearchQuery {
        q: Some(q.into()),
        limit: 100,
        ..SearchQuery::default()
    });
    assert_eq!(result.total, result.datasets.len());
    ids(&result).into_iter().map(String::from).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn pegel_finds_pegelstaende_and_pegelstationen() {
    let town = town();
    assert_eq!(
        sorted(find(&town, "Pegel")),
        ["messstellen", "pegel-tageswerte"]
    );
    // Inflected, transliterated and folded spellings of the compound find it too.
    for q in ["Pegelstände", "pegelstaende", "PEGELSTANDE", "Pegelständen"] {
        assert_eq!(find(&town, q), ["pegel-tageswerte"], "{q}");
    }
    assert_eq!(find(&town, "Wasserstand"), ["pegel-tageswerte"]);
}

#[test]
fn strasse_finds_strasse_with_sharp_s() {
    let town = town();
    for q in [
        "strasse",
        "Straße",
        "STRASSE",
        "strassen",
        "Straßenverzeichnis",
        "Plätze",
        "platze",
    ] {
        assert_eq!(find(&town, q), ["strassen"], "{q}");
    }
}

#[test]
fn umlauts_match_in_both_german_spellings() {
    let town = town();
    for q in [
        "Müll",
        "muell",
        "Mull",
        "müllabfuhr",
        "Tägliche",
        "taegliche",
        "tagliche",
    ] {
        assert!(!find(&town, q).is_empty(), "{q}");
    }
    assert_eq!(find(&town, "Muell"), ["abfall"]);
}

#[test]
fn every_word_must_match_and_stop_words_are_ignored() {
    let town = town();
    assert_eq!(find(&town, "Hochwasser Rhein"), ["pegel-tageswerte"]);
    assert_eq!(find(&town, "Pegel der Stadt"), Vec::<String>::new());
    assert_eq!(find(&town, "der Haushaltsplan für 2016").len(), 2);
    assert!(find(&town, "Pegel Haushalt").is_empty());
    // Column names and their descriptions are searched.
    assert_eq!(find(&town, "Wertstoffe"), ["abfall"]);
    assert_eq!(find(&town, "Strassenschlüssel"), ["strassen"]);
    assert_eq!(find(&town, "tonne"), ["abfall"]);
    // Numbers are whole words: "201" is no year.
    assert!(find(&town, "201").is_empty());
}

#[test]
fn haushalt_2017_ranks_the_2017_budget_first() {
    let town = town();
    // 2016's plan includes 2017, 2018's lists Ist 2017: all three match, 2017's title wins.
    let found = find(&town, "haushalt 2017");
    assert_eq!(found[0], "haushalt-2017", "{found:?}");
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(find(&town, "Haushalt 2018")[0], "haushalt-2018");
    // A title word outranks the same word in the description.
    assert_eq!(find(&town, "Pegelstationen")[0], "messstellen");
    assert_eq!(find(&town, "pegel")[0], "pegel-tageswerte");
}

#[test]
fn facets_count_every_match_not_just_the_page() {
    let town = town();
    let result = town.search(&SearchQuery {
        q: Some("Wesel".into()),
        limit: 1,
        ..SearchQuery::default()
    });
    assert_eq!(result.datasets.len(), 1);
    assert_eq!(result.total, 5);
    let f = &result.facets;
    assert_eq!(f.publisher["Stadt Wesel"], 5);
    assert_eq!(f.keyword["Haushalt"], 3);
    assert_eq!(f.keyword["Verkehr"], 1);
    assert_eq!(f.format["csv"], 5);
    assert_eq!(f.format["geojson"], 1);
    assert_eq!(f.licence["dl-by-de/2.0"], 5);
    assert_eq!(f.theme["ECON"], 3);
    assert!(!f.theme.contains_key("ENVI"));
    assert!(!f.keyword.contains_key("Pegel"));

    let all = town.search(&SearchQuery::default());
    assert_eq!((all.total, all.datasets.len()), (7, 0));
    assert_eq!(all.facets.keyword["Pegel"], 2);
    assert_eq!(all.facets.format["fgb"], 2);
    assert_eq!(all.facets.theme["ENVI"], 2);
}

#[test]
fn filters_are_exact_and_ignore_case_and_bbox_intersects() {
    let town = town();
    let count = |query: SearchQuery| town.search(&query).total;
    let q = SearchQuery::default;
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        count(SearchQuery {
            keyword: some("haushalt"),
            ..q()
        }),
        3
    );
    assert_eq!(
        count(SearchQuery {
            keyword: some("Haus"),
            ..q()
        }),
        0
    );
    assert_eq!(
        count(SearchQuery {
            publisher: some("lanuv nrw"),
            ..q()
        }),
        2
    );
    assert_eq!(
        count(SearchQuery {
            licence: some("dl-by-de/2.0"),
            ..q()
        }),
        7
    );
    assert_eq!(
        count(SearchQuery {
            format: some("FGB"),
            ..q()
        }),
        2
    );
    assert_eq!(
        count(SearchQuery {
            theme: some("envi"),
            ..q()
        }),
        2
    );
    assert_eq!(
        count(SearchQuery {
            theme: some("ENVI"),
            q: some("Rhein"),
            ..q()
        }),
        1
    );
    // Wesel's streets (6.5–6.7°E) lie inside the gauges' extent (6–7°E); datasets without an
    // extent never match a bbox.
    let bbox = |bbox| {
        let result = town.search(&SearchQuery {
            bbox: Some(bbox),
            limit: 10,
            ..q()
        });
        ids(&result)
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(bbox([6.6, 51.65, 6.61, 51.66]), ["messstellen", "strassen"]);
    assert_eq!(bbox([6.8, 51.0, 8.0, 51.1]), ["messstellen"]);
    assert_eq!(bbox([7.0, 52.0, 8.0, 53.0]), ["messstellen"]); // touching edges intersect
    assert!(bbox([8.3, 48.9, 8.5, 49.0]).is_empty());
}

#[test]
fn sorting_by_relevance_title_and_modified() {
    let town = town();
    let order = |sort: Sort, q: Option<&str>| {
        let result = town.search(&SearchQuery {
            q: q.map(Into::into),
            sort,
            limit: 100,
            ..SearchQuery::default()
        });
        ids(&result)
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    // Without a query every dataset is equally relevant: id order.
    let by_id = order(Sort::Relevance, None);
    assert_eq!(by_id, sorted(by_id.clone()));
    assert_eq!(
        order(Sort::Title, None),
        [
            "haushalt-2016",
            "haushalt-2017",
            "haushalt-2018",
            "messstellen",
            "abfall", // "Müllabfuhr" sorts as "mullabfuhr"
            "strassen",
            "pegel-tageswerte", // "Tägliche"
        ]
    );
    let mut reversed = order(Sort::Title, None);
    reversed.reverse();
    assert_eq!(order(Sort::TitleDesc, None), reversed);
    assert_eq!(
        order(Sort::ModifiedDesc, Some("Hochwasser")),
        ["pegel-tageswerte", "messstellen"]
    );
    assert_eq!(
        order(Sort::Modified, None)[..3],
        ["haushalt-2016", "haushalt-2017", "haushalt-2018"]
    );
}

fn synthetic(n: usize) -> Catalog {
    let words = ["Pegel", "Haushalt", "Straße", "Schule", "Baum"];
    Catalog::from_manifests(
        "/nowhere",
        (0..n).map(|i| {
            let mut m = manifest(D {
                created: (i % 97) as i64,
                ..BASE
            });
            m.id = format!("ds-{i:05}");
            // Titles repeat, so ties are broken by id.
            m.meta.title = format!("{} {}", words[i % words.len()], i % 13);
            m.meta.keywords = vec![words[(i / 7) % words.len()].into()];
            m
        }),
    )
}

/// Follows `next_cursor` from the first page to the last.
fn pages(catalog: &Catalog, query: &SearchQuery) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut query = query.clone();
    loop {
        let result = catalog.search(&query);
        pages.push(ids(&result).into_iter().map(String::from).collect());
        let Some(next) = result.next_cursor else {
            return pages;
        };
        // Through its text form, as a client passes it.
        query.cursor = Some(next.to_string().parse().expect("cursor parses"));
        query.offset = 0;
    }
}

#[test]
fn cursor_paging_lists_every_dataset_exactly_once_past_1000() {
    let catalog = synthetic(2345);
    for sort in [
        Sort::Relevance,
        Sort::Title,
        Sort::TitleDesc,
        Sort::Modified,
        Sort::ModifiedDesc,
    ] {
        for q in [None, Some("Pegel"), Some("haushalt baum")] {
            let query = SearchQuery {
                q: q.map(Into::into),
                sort,
                limit: 1000,
                ..SearchQuery::default()
            };
            let everything = catalog.search(&SearchQuery {
                limit: usize::MAX,
                ..query.clone()
            });
            let pages = pages(&catalog, &query);
            assert!(pages.iter().all(|p| p.len() <= 1000));
            let listed: Vec<String> = pages.concat();
            let unique: BTreeSet<&String> = listed.iter().collect();
            assert_eq!(unique.len(), listed.len(), "{sort} {q:?}: listed twice");
            assert_eq!(listed.len(), everything.total, "{sort} {q:?}: missing");
            // The pages are the one ordering, cut into pieces.
            assert_eq!(listed, ids(&everything), "{sort} {q:?}");
            if q.is_none() {
                assert_eq!(
                    pages.iter().map(Vec::len).collect::<Vec<_>>(),
                    [1000, 1000, 345]
                );
            }
        }
    }
}

#[test]
fn offset_pages_agree_with_cursor_pages() {
    let catalog = synthetic(250);
    let query = SearchQuery {
        q: Some("Straße".into()),
        sort: Sort::Title,
        limit: 7,
        ..SearchQuery::default()
    };
    let by_cursor = pages(&catalog, &query);
    for (n, page) in by_cursor.iter().enumerate() {
        let result = catalog.search(&SearchQuery {
            offset: n * 7,
            ..query.clone()
        });
        assert_eq!(result.offset, n * 7);
        assert_eq!(&ids(&result), page);
    }
    // A cursor taken from an offset page continues right after it.
    let third = catalog.search(&SearchQuery {
        offset: 14,
        ..query.clone()
    });
    let fourth = catalog.search(&SearchQuery {
        cursor: third.next_cursor,
        ..query.clone()
    });
    assert_eq!(fourth.offset, 21);
    assert_eq!(ids(&fourth), by_cursor[3]);
    // Past the end: an empty page, no cursor.
    let past = catalog.search(&SearchQuery {
        offset: 10_000,
        ..query
    });
    assert!(past.datasets.is_empty() && past.next_cursor.is_none());
}

#[test]
fn a_cursor_survives_a_changed_catalogue() {
    let before = synthetic(30);
    let query = SearchQuery {
        sort: Sort::Relevance,
        limit: 10,
        ..SearchQuery::default()
    };
    let first = before.search(&query);
    let cursor = first.next_cursor.clone().expect("more pages");
    // A dataset before the cursor is deleted: the next page still starts after ds-00009.
    let after = Catalog::from_manifests(
        "/nowhere",
        before.datasets().filter(|m| m.id != "ds-00003").cloned(),
    );
    let next = after.search(&SearchQuery {
        cursor: Some(cursor),
        ..query
    });
    assert_eq!(next.datasets[0].id, "ds-00010");
    assert_eq!(next.offset, 9);
}

#[test]
fn an_empty_catalogue_and_an_empty_query_find_nothing_and_everything() {
    let empty = Catalog::from_manifests("/nowhere", []);
    let result = empty.search(&SearchQuery {
        q: Some("Pegel".into()),
        limit: 10,
        ..SearchQuery::default()
    });
    assert_eq!((result.total, result.next_cursor), (0, None));
    let town = town();
    for q in ["", "  ", "der die das", "-"] {
        assert_eq!(find(&town, q).len(), 7, "{q:?}");
    }
}
