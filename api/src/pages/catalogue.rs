//! The home page (search box, facets, newest datasets) and the search results (`/datasets`).

use allmende_catalog::{Manifest, SearchQuery, Sort, licence_by_id};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};

use super::{Alternate, PageCtx, dcat_alternates, error_page, human_count, layout};
use crate::error::ApiError;
use crate::state::AppState;

const PAGE_SIZE: usize = 20;

/// The facets, each with its query parameter and its heading.
const FACETS: [(&str, &str, &str); 4] = [
    ("keyword", "Schlagwort", "Keyword"),
    ("publisher", "Herausgeber", "Publisher"),
    ("licence", "Lizenz", "Licence"),
    ("format", "Format", "Format"),
];

pub async fn home(State(state): State<AppState>, ctx: PageCtx, headers: HeaderMap) -> Response {
    render(&state, &ctx, &headers, true)
        .await
        .unwrap_or_else(|e| error_page(&ctx, e))
}

pub async fn search(State(state): State<AppState>, ctx: PageCtx, headers: HeaderMap) -> Response {
    render(&state, &ctx, &headers, false)
        .await
        .unwrap_or_else(|e| error_page(&ctx, e))
}

async fn render(
    state: &AppState,
    ctx: &PageCtx,
    headers: &HeaderMap,
    home: bool,
) -> Result<Response, ApiError> {
    let page: usize = match ctx.param("page") {
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ApiError::bad_request("page must be a number from 1"))?,
        None => 1,
    };
    let param = |name: &str| ctx.param(name).map(str::to_owned);
    let query = SearchQuery {
        q: param("q"),
        keyword: param("keyword"),
        publisher: param("publisher"),
        licence: param("licence"),
        format: param("format"),
        sort: if home || ctx.param("q").is_none() {
            Sort::ModifiedDesc
        } else {
            Sort::Relevance
        },
        limit: if home { 5 } else { PAGE_SIZE },
        offset: if home { 0 } else { (page - 1) * PAGE_SIZE },
        ..SearchQuery::default()
    };
    let snapshot = state.snapshot().await?;
    let result = snapshot
        .catalog
        .try_search(&query)
        .map_err(ApiError::internal)?;
    let facets = [
        &result.facets.keyword,
        &result.facets.publisher,
        &result.facets.licence,
        &result.facets.format,
    ];
    // The current filters as (name, value), to keep them in facet and pager links.
    let current: Vec<(&str, &str)> = ["q", "keyword", "publisher", "licence", "format"]
        .into_iter()
        .filter_map(|k| ctx.param(k).map(|v| (k, v)))
        .collect();
    let link_with = |name: &str, value: Option<&str>| {
        let mut pairs: Vec<(&str, &str)> = current
            .iter()
            .copied()
            .filter(|(k, _)| *k != name)
            .collect();
        if let Some(v) = value {
            pairs.push((name, v));
        }
        ctx.href("/datasets", &pairs)
    };
    let title = if home {
        ctx.t("Offene Daten", "Open data").to_owned()
    } else {
        match ctx.param("q") {
            Some(q) => format!("{} „{q}“", ctx.t("Suche nach", "Search for")),
            None => ctx.t("Alle Datensätze", "All datasets").to_owned(),
        }
    };
    let json_href = super::with_query("/api/datasets", &current);
    let mut alternates = vec![
        Alternate::new("application/json", json_href, "JSON"),
        Alternate::new(
            "application/geo+json",
            extents_href(if home {
                None
            } else {
                Some(result.datasets.iter().map(|m| m.id.as_str()).collect())
            }),
            "GeoJSON",
        ),
    ];
    alternates.extend(dcat_alternates("/catalog"));
    if let Some(redirect) = super::negotiate(headers, &alternates) {
        return Ok(redirect);
    }
    let pages = result.total.div_ceil(PAGE_SIZE).max(1);
    let content = html! {
        h1 { (title) }
        @if home {
            p { (ctx.t("Finden Sie Daten Ihrer Stadt, sehen Sie sie auf Karte und Diagramm an, laden Sie sie herunter oder fragen Sie sie mit SQL ab.",
                       "Find your town's data, see it on a map and a chart, download it or ask it in SQL.")) }
        }
        form.search role="search" action="/datasets" method="get" {
            label for="q" { (ctx.t("Datensätze durchsuchen", "Search datasets")) }
            input #q type="search" name="q" value=(ctx.param("q").unwrap_or("")) autocomplete="off";
            (ctx.lang_field())
            button type="submit" { (ctx.t("Suchen", "Search")) }
        }
        div.layout {
            aside.facets aria-labelledby="facets-heading" {
                h2 #facets-heading .visually-hidden { (ctx.t("Filter", "Filters")) }
                @for ((name, de, en), values) in FACETS.iter().zip(facets) {
                    @if !values.is_empty() {
                        h2 { (ctx.t(de, en)) }
                        ul {
                            @for (value, count) in values.iter() {
                                li {
                                    @if ctx.param(name) == Some(value.as_str()) {
                                        a href=(link_with(name, None)) aria-current="true" {
                                            (facet_label(name, value)) " (" (count) ") "
                                            span.visually-hidden { (ctx.t("Filter entfernen", "remove filter")) }
                                            span aria-hidden="true" { "✕" }
                                        }
                                    } @else {
                                        a href=(link_with(name, Some(value))) { (facet_label(name, value)) " (" (count) ")" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="results-heading" {
                @if home {
                    h2 #results-heading { (ctx.t("Neueste Datensätze", "Newest datasets")) }
                } @else {
                    h2 #results-heading {
                        (human_count(ctx.lang, result.total as u64)) " "
                        (if result.total == 1 { ctx.t("Datensatz", "dataset") } else { ctx.t("Datensätze", "datasets") })
                    }
                }
                ol.results {
                    @for m in &result.datasets { li { (summary(ctx, m)) } }
                }
                @if home {
                    p { a href=(ctx.href("/datasets", &[])) { (ctx.t("Alle Datensätze ansehen", "See all datasets")) } }
                    @let used: Vec<_> = super::usage::most_viewed(5)
                        .into_iter()
                        .filter_map(|(id, views)| snapshot.catalog.get(&id).map(|m| (m, views)))
                        .collect();
                    @if !used.is_empty() {
                        h2 #most-used { (ctx.t("Meistgenutzt", "Most used")) }
                        ol.results aria-labelledby="most-used" {
                            @for (m, views) in &used {
                                li {
                                    a href=(ctx.href(&format!("/datasets/{}", m.id), &[])) { (m.meta.title) }
                                    " " span.muted { "(" (human_count(ctx.lang, *views)) " " (if *views == 1 { ctx.t("Aufruf", "view") } else { ctx.t("Aufrufe", "views") }) ")" }
                                }
                            }
                        }
                    }
                } @else if pages > 1 {
                    nav.pager aria-label=(ctx.t("Seiten", "Pages")) {
                        @let page_s = |p: usize| p.to_string();
                        @if page > 1 {
                            a href=(pager(ctx, &current, &page_s(page - 1))) rel="prev" { (ctx.t("Vorherige Seite", "Previous page")) }
                        }
                        span { (ctx.t("Seite", "Page")) " " (page) " / " (pages) }
                        @if page < pages {
                            a href=(pager(ctx, &current, &page_s(page + 1))) rel="next" { (ctx.t("Nächste Seite", "Next page")) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout(ctx, &title, &alternates, content))
}

/// The GeoJSON of the datasets' extents (their bounding boxes as polygons, with id and title),
/// through the SQL API over the catalogue's `datasets` table: of every dataset, or of `ids`.
fn extents_href(ids: Option<Vec<&str>>) -> String {
    let filter = match ids {
        // Dataset ids are slugs ([a-z0-9-]), safe between quotes.
        Some(ids) => format!(
            " AND id IN ({})",
            if ids.is_empty() {
                "NULL".to_owned()
            } else {
                ids.iter()
                    .map(|id| format!("'{id}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        None => String::new(),
    };
    let sql = format!(
        "SELECT id, title, ST_MakeEnvelope(bbox_minx, bbox_miny, bbox_maxx, bbox_maxy) AS geometry \
         FROM datasets WHERE bbox_minx IS NOT NULL{filter} ORDER BY id"
    );
    super::with_query("/api/sql", &[("format", "geojson"), ("q", &sql)])
}

fn pager(ctx: &PageCtx, current: &[(&str, &str)], page: &str) -> String {
    let mut pairs = current.to_vec();
    pairs.push(("page", page));
    ctx.href("/datasets", &pairs)
}

fn facet_label(name: &str, value: &str) -> String {
    match (name, licence_by_id(value)) {
        ("licence", Some(l)) => l.name.to_owned(),
        _ => value.to_owned(),
    }
}

fn summary(ctx: &PageCtx, m: &Manifest) -> Markup {
    let latest = m.latest();
    html! {
        article {
            h3 lang=(super::data_lang(m)) { a href=(ctx.href(&format!("/datasets/{}", m.id), &[])) { (m.meta.title) } }
            p.muted {
                (m.meta.publisher)
                @if let Some(v) = latest {
                    " · " (human_count(ctx.lang, v.row_count)) " " (ctx.t("Zeilen", "rows"))
                    " · " (ctx.t("Stand", "updated")) " " (v.created.format("%Y-%m-%d"))
                }
            }
            p lang=(super::data_lang(m)) { (first_sentence(&m.meta.description)) }
            @if !m.meta.keywords.is_empty() {
                ul.chips aria-label=(ctx.t("Schlagwörter", "Keywords")) {
                    @for k in &m.meta.keywords { li { (k) } }
                }
            }
        }
    }
}

/// The description up to its first sentence end, or its first 240 characters.
fn first_sentence(text: &str) -> String {
    let cut = text
        .char_indices()
        .find(|(i, c)| *c == '.' && text[i + 1..].starts_with(' ') && *i > 40)
        .map(|(i, _)| i + 1);
    match cut {
        Some(end) if end < 280 => text[..end].to_owned(),
        _ if text.chars().count() > 240 => {
            format!("{} …", text.chars().take(240).collect::<String>())
        }
        _ => text.to_owned(),
    }
}
