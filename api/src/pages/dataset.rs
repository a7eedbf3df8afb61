//! One dataset's page: metadata and licence, downloads, a map of spatial data (our vector
//! tiles), a link to the live gauge map of a time series, a chart of tables with a time
//! column, a paged and sortable table preview, the schema with column statistics, the versions
//! with stable citable URLs and checksums, and copy-ready snippets.

use allmende_catalog::{Column, Manifest, Version, licence_by_id, table_name};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::{
    Alternate, PageCtx, basemap_url, cell, dcat_alternates, error_page, human_bytes, human_count,
    layout,
};
use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::state::{AppState, Snapshot};

/// Rows per page of the table preview.
const PREVIEW_ROWS: usize = 20;
/// Cells up to this many characters (dates, names, codes) are kept on one line.
const SHORT: usize = 20;
/// At most this many series (e.g. gauges) are offered in the chart's selection.
const MAX_SERIES: usize = 1000;

pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ctx: PageCtx,
    base: Result<BaseUrl, ApiError>,
    headers: HeaderMap,
) -> Response {
    let base = base.unwrap_or_else(|_| BaseUrl("http://localhost".to_owned()));
    render(&state, &id, &ctx, &base, &headers)
        .await
        .unwrap_or_else(|e| error_page(&ctx, e))
}

async fn render(
    state: &AppState,
    id: &str,
    ctx: &PageCtx,
    base: &BaseUrl,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot().await?;
    let m = snapshot
        .catalog
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' not found")))?;
    let latest = m
        .latest()
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' has no published version")))?;
    let table = table_name(&m.id);
    let spatial = latest.geometry.is_some();

    let mut alternates = vec![Alternate::new(
        "application/json",
        format!("/api/datasets/{id}"),
        "JSON",
    )];
    if spatial {
        alternates.push(Alternate::new(
            "application/geo+json",
            format!("/api/datasets/{id}/download.geojson"),
            "GeoJSON",
        ));
    }
    alternates.extend(dcat_alternates(&format!("/api/datasets/{id}/dcat")));
    alternates.push(Alternate::new(
        "text/csv",
        format!("/api/datasets/{id}/download.csv"),
        "CSV",
    ));

    if let Some(redirect) = super::negotiate(headers, &alternates) {
        return Ok(redirect);
    }
    super::usage::count_view(&m.id);
    let preview = preview(&snapshot, ctx, m, latest).await?;
    // The chart is an extra: when its queries fail the page still shows everything else.
    let live = crate::live::series_config(state.root(), id).is_some();
    let chart = chart(&snapshot, state.root(), ctx, m, latest)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!("dataset page {id}: no chart: {}", e.description);
            None
        });
    let content = html! {
        // The publisher's words are in the dataset's language, whatever the page's (WCAG 3.1.2).
        h1 lang=(super::data_lang(m)) { (m.meta.title) }
        div lang=(super::data_lang(m)) {
            @for paragraph in m.meta.description.split("\n\n") { p { (paragraph) } }
        }
        @if live {
            p.live-link {
                a.button href=(ctx.href(&format!("/datasets/{id}/gauges"), &[])) { (ctx.t("Live-Pegelkarte", "Live gauge map")) }
                " " span.muted { (ctx.t("Die Pegel nach Warnstufe, mit jedem neuen Messwert aktualisiert.", "The gauges by warning level, updated with every new reading.")) }
            }
        }
        (facts(ctx, m, latest))
        h2 #downloads { (ctx.t("Herunterladen", "Download")) }
        ul.downloads {
            @for d in &latest.distributions {
                @let ext = d.format.extension();
                li {
                    a.button href=(format!("/api/datasets/{id}/download.{ext}")) download=(format!("{id}.{ext}")) type=(d.media_type) {
                        (ext.to_uppercase()) " (" (human_bytes(ctx.lang, d.byte_size)) ")"
                    }
                }
            }
        }
        p.muted {
            (ctx.t("Metadaten:", "Metadata:")) " "
            a href=(format!("/api/datasets/{id}")) { "JSON" } ", "
            a href=(format!("/api/datasets/{id}/dcat.ttl")) { "DCAT-AP.de (Turtle)" } ", "
            a href=(format!("/api/datasets/{id}/dcat.jsonld")) { "JSON-LD" } ", "
            a href=(format!("/api/datasets/{id}/datapackage.json")) { "Data Package" }
        }
        @if let Some(g) = &latest.geometry {
            section aria-labelledby="map-heading" {
                h2 #map-heading { (ctx.t("Karte", "Map")) }
                p.muted #map-help {
                    (ctx.t("Klicken Sie auf ein Objekt, um seine Eigenschaften zu sehen. Die Tabelle unten enthält dieselben Daten als Text.",
                           "Click a feature to see its properties. The table below holds the same data as text."))
                }
                // Our vector tiles (OGC API – Tiles), fitted to the extent; the feature list
                // asks /api/sql for the names and /ogc items for the chosen feature.
                div.map data-tiles=(format!("/ogc/collections/{id}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"))
                    data-layer=(id)
                    data-items=(format!("/ogc/collections/{id}/items"))
                    data-table=(table)
                    data-bbox=(g.bbox.map(|b| json!(b).to_string()).unwrap_or_default())
                    data-basemap=(basemap_url().unwrap_or_default())
                    data-attribution=(m.meta.attribution.clone().unwrap_or_default())
                    data-label=(label_column(latest).unwrap_or_default())
                    role="region" aria-label=(ctx.t("Karte des Datensatzes", "Map of the dataset")) aria-describedby="map-help" {
                    p.status aria-live="polite" {}
                }
            }
        }
        @if let Some(chart) = &chart { (chart) }
        (preview)
        h2 #schema { (ctx.t("Spalten", "Columns")) }
        (schema(ctx, &latest.columns))
        h2 #versions { (ctx.t("Versionen", "Versions")) }
        (versions(ctx, base, m))
        h2 #use { (ctx.t("Nutzen", "Use it")) }
        (snippets(ctx, base, m, latest, &table))
    };
    Ok(layout(ctx, &m.meta.title, &alternates, content))
}

fn facts(ctx: &PageCtx, m: &Manifest, latest: &Version) -> Markup {
    let licence = licence_by_id(&m.meta.licence);
    html! {
        dl.meta {
            dt { (ctx.t("Herausgeber", "Publisher")) }
            dd {
                @match &m.meta.publisher_url {
                    Some(url) => a href=(url) rel="external" { (m.meta.publisher) },
                    None => (m.meta.publisher),
                }
            }
            dt { (ctx.t("Lizenz", "Licence")) }
            dd {
                @match licence {
                    Some(l) => a href=(l.text_url()) rel="license external" { (l.name) },
                    None => (m.meta.licence),
                }
            }
            @if let Some(a) = &m.meta.attribution {
                dt { (ctx.t("Namensnennung", "Attribution")) }
                dd { (a) }
            }
            dt { (ctx.t("Aktualisierung", "Update frequency")) }
            dd { (frequency(ctx, m.meta.frequency.as_deref())) }
            dt { (ctx.t("Stand", "Updated")) }
            dd { (ctx.t("Version", "version")) " " (latest.number) ", " (latest.created.format("%Y-%m-%d")) }
            dt { (ctx.t("Umfang", "Size")) }
            dd { (human_count(ctx.lang, latest.row_count)) " " (ctx.t("Zeilen", "rows")) ", " (latest.columns.len()) " " (ctx.t("Spalten", "columns")) }
            @if let Some(t) = &latest.temporal {
                dt { (ctx.t("Zeitraum", "Period")) }
                dd { (t.start) " – " (t.end) }
            }
            @if let Some(b) = latest.geometry.as_ref().and_then(|g| g.bbox) {
                dt { (ctx.t("Gebiet (WGS 84)", "Extent (WGS 84)")) }
                dd { (format!("{:.4}, {:.4} – {:.4}, {:.4}", b[0], b[1], b[2], b[3])) }
            }
            @if !m.meta.keywords.is_empty() {
                dt { (ctx.t("Schlagwörter", "Keywords")) }
                dd {
                    ul.chips {
                        @for k in &m.meta.keywords {
                            li { a href=(ctx.href("/datasets", &[("keyword", k)])) { (k) } }
                        }
                    }
                }
            }
            dt { (ctx.t("SQL-Tabelle", "SQL table")) }
            dd { code { (table_name(&m.id)) } }
        }
    }
}

/// The EU frequency vocabulary's codes as words.
fn frequency(ctx: &PageCtx, code: Option<&str>) -> String {
    let word = match code.unwrap_or("UNKNOWN") {
        "CONT" | "UPDATE_CONT" => ctx.t("laufend", "continuously"),
        "HOURLY" => ctx.t("stündlich", "hourly"),
        "DAILY" => ctx.t("täglich", "daily"),
        "WEEKLY" => ctx.t("wöchentlich", "weekly"),
        "MONTHLY" => ctx.t("monatlich", "monthly"),
        "QUARTERLY" => ctx.t("vierteljährlich", "quarterly"),
        "ANNUAL" => ctx.t("jährlich", "annually"),
        "IRREG" => ctx.t("unregelmäßig", "irregularly"),
        "NEVER" => ctx.t("nicht mehr", "no longer"),
        "UNKNOWN" => ctx.t("nicht angegeben", "not stated"),
        other => return other.to_owned(),
    };
    word.to_owned()
}

/// The column that names a feature best: the text column with the most distinct values.
fn label_column(v: &Version) -> Option<&str> {
    v.columns
        .iter()
        .filter(|c| c.data_type == "string")
        .max_by_key(|c| c.distinct.unwrap_or(0))
        .map(|c| c.name.as_str())
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The paged, sortable table preview (server-side: works without JavaScript).
async fn preview(
    snapshot: &Snapshot,
    ctx: &PageCtx,
    m: &Manifest,
    latest: &Version,
) -> Result<Markup, ApiError> {
    let geometry = latest.geometry.as_ref().map(|g| g.column.as_str());
    let columns: Vec<&Column> = latest
        .columns
        .iter()
        .filter(|c| Some(c.name.as_str()) != geometry && c.data_type != "geometry")
        .collect();
    let sort = ctx
        .param("sort")
        .filter(|s| columns.iter().any(|c| c.name == *s));
    let desc = ctx.param("desc") == Some("1");
    let pages = (latest.row_count as usize).div_ceil(PREVIEW_ROWS).max(1);
    let page = ctx
        .param("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let list = columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let order = match sort {
        Some(s) => format!(
            " ORDER BY {} {} NULLS LAST",
            quote_ident(s),
            if desc { "DESC" } else { "ASC" }
        ),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {list} FROM {}{order} LIMIT {PREVIEW_ROWS} OFFSET {}",
        table_name(&m.id),
        (page - 1) * PREVIEW_ROWS
    );
    let rows = if columns.is_empty() {
        Vec::new()
    } else {
        let (schema, batches, _) = snapshot.engine.collect(&sql, PREVIEW_ROWS).await?;
        let table = allmende_query::to_json_table(&schema, &batches, false)?;
        table
            .rows
            .iter()
            .map(|r| r.iter().map(|v| cell(v.get())).collect::<Vec<_>>())
            .collect()
    };
    let link = |page: usize, sort: Option<&str>, desc: bool| {
        let page = page.to_string();
        let mut pairs = vec![("page", page.as_str())];
        if let Some(s) = sort {
            pairs.push(("sort", s));
            if desc {
                pairs.push(("desc", "1"));
            }
        }
        format!(
            "{}#preview",
            ctx.href(&format!("/datasets/{}", m.id), &pairs)
        )
    };
    let first = (page - 1) * PREVIEW_ROWS + 1;
    let last = (first + rows.len()).saturating_sub(1);
    Ok(html! {
        section aria-labelledby="preview" {
            h2 #preview tabindex="-1" { (ctx.t("Tabelle", "Table")) }
            p.muted #preview-help {
                (ctx.t("Zeilen", "Rows")) " " (human_count(ctx.lang, first as u64)) "–" (human_count(ctx.lang, last as u64))
                " " (ctx.t("von", "of")) " " (human_count(ctx.lang, latest.row_count)) ". "
                (ctx.t("Spaltenköpfe sortieren die Tabelle.", "Column headings sort the table."))
            }
            div.table-wrap tabindex="0" role="region" aria-labelledby="preview" {
                table {
                    thead {
                        tr {
                            @for c in &columns {
                                @let this = sort == Some(c.name.as_str());
                                th scope="col" aria-sort=(if this { if desc { "descending" } else { "ascending" } } else { "none" }) {
                                    a href=(link(1, Some(&c.name), this && !desc)) {
                                        (c.name)
                                        @if this { span aria-hidden="true" { (if desc { " ▼" } else { " ▲" }) } }
                                    }
                                }
                            }
                        }
                    }
                    tbody {
                        @for row in &rows {
                            tr {
                                @for (value, numeric) in row {
                                    @if *numeric { td.num { (value) } }
                                    @else if value.chars().count() <= SHORT { td.short { (value) } }
                                    @else { td.cell { (value) } }
                                }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label=(ctx.t("Seiten der Tabelle", "Table pages")) {
                @if page > 1 {
                    a href=(link(1, sort, desc)) { (ctx.t("Erste", "First")) }
                    a href=(link(page - 1, sort, desc)) rel="prev" { (ctx.t("Vorherige", "Previous")) }
                }
                span { (ctx.t("Seite", "Page")) " " (human_count(ctx.lang, page as u64)) " / " (human_count(ctx.lang, pages as u64)) }
                @if page < pages {
                    a href=(link(page + 1, sort, desc)) rel="next" { (ctx.t("Nächste", "Next")) }
                    a href=(link(pages, sort, desc)) { (ctx.t("Letzte", "Last")) }
                }
            }
        }
    })
}

/// The chart of a table with a time column: its numeric columns over time, one series (e.g.
/// one gauge) at a time when a text column groups the rows, with warning thresholds from a
/// time series whose stations are keyed by the same column (its `[timeseries] levels`).
async fn chart(
    snapshot: &Snapshot,
    root: &std::path::Path,
    ctx: &PageCtx,
    m: &Manifest,
    latest: &Version,
) -> Result<Option<Markup>, ApiError> {
    let Some(time) = latest
        .columns
        .iter()
        .find(|c| c.data_type == "date" || c.data_type == "datetime")
    else {
        return Ok(None);
    };
    let values: Vec<&str> = latest
        .columns
        .iter()
        .filter(|c| c.data_type == "number" || c.data_type == "integer")
        .map(|c| c.name.as_str())
        .take(4)
        .collect();
    if values.is_empty() {
        return Ok(None);
    }
    let table = table_name(&m.id);
    let key = latest
        .columns
        .iter()
        .filter(|c| c.data_type == "string")
        .filter(|c| {
            c.distinct
                .is_some_and(|d| d > 1 && d as usize <= MAX_SERIES)
        })
        .min_by_key(|c| c.distinct);
    let mut series = Vec::new();
    let mut thresholds = Value::Null;
    let mut preferred = None;
    if let Some(key) = key {
        let sql = format!(
            "SELECT DISTINCT {k} FROM {table} WHERE {k} IS NOT NULL ORDER BY 1",
            k = quote_ident(&key.name)
        );
        let (schema, batches, _) = snapshot.engine.collect(&sql, MAX_SERIES).await?;
        let result = allmende_query::to_json_table(&schema, &batches, false)?;
        series = result
            .rows
            .iter()
            .filter_map(|r| r.first().map(|v| cell(v.get()).0))
            .collect();
        if let Some((other, columns)) = threshold_source(snapshot, root, m, &key.name) {
            let other_table = table_name(&other.id);
            let sql = format!(
                "SELECT {k} FROM {other_table} WHERE TRY_CAST({c} AS DOUBLE) IS NOT NULL ORDER BY 1",
                k = quote_ident(&key.name),
                c = quote_ident(&columns[0]),
            );
            let (schema, batches, _) = snapshot.engine.collect(&sql, MAX_SERIES).await?;
            let with = allmende_query::to_json_table(&schema, &batches, false)?;
            preferred = with
                .rows
                .iter()
                .filter_map(|r| r.first().map(|v| cell(v.get()).0))
                .find(|name| series.contains(name));
            thresholds = json!({ "table": other_table, "key": key.name, "columns": columns, "dataset": other.id });
        }
    }
    let selected = preferred.or_else(|| series.first().cloned());
    let spec = json!({
        "table": table,
        "time": time.name,
        "values": values,
        "key": key.map(|k| k.name.as_str()),
        "thresholds": thresholds,
    });
    Ok(Some(html! {
        section aria-labelledby="chart-heading" {
            h2 #chart-heading { (ctx.t("Verlauf", "Over time")) }
            div.chart data-chart=(spec.to_string()) {
                @if let Some(key) = key {
                    p {
                        label for="chart-series" { (key.name) ": " }
                        select #chart-series name="series" {
                            @for s in &series {
                                option value=(s) selected[Some(s) == selected.as_ref()] { (s) }
                            }
                        }
                    }
                }
                @if let Some(id) = thresholds.get("dataset").and_then(Value::as_str) {
                    p.muted {
                        (ctx.t("Gestrichelte Linien: Warnschwellen aus dem Datensatz", "Dashed lines: warning thresholds from the dataset")) " "
                        a href=(ctx.href(&format!("/datasets/{id}"), &[])) { (id) } "."
                    }
                }
                p.status aria-live="polite" {}
                div.chart-plot role="img" aria-label=(ctx.t("Diagramm der Werte über die Zeit; die Werte stehen in der Tabelle darunter.", "Chart of the values over time; the values are in the table below it.")) {}
                details {
                    summary { (ctx.t("Werte des Diagramms als Tabelle", "The chart's values as a table")) }
                    div.chart-data.table-wrap tabindex="0" {}
                }
            }
        }
    }))
}

/// A time series (other than this dataset) whose station column is `key`, and its threshold
/// columns (`[timeseries] levels`, lowest level first).
fn threshold_source<'a>(
    snapshot: &'a Snapshot,
    root: &std::path::Path,
    this: &Manifest,
    key: &str,
) -> Option<(&'a Manifest, Vec<String>)> {
    snapshot.catalog.datasets().find_map(|other| {
        if other.id == this.id {
            return None;
        }
        let config = crate::live::series_config(root, &other.id)?;
        let columns = &other.latest()?.columns;
        let present = |name: &str| columns.iter().any(|c| c.name == name);
        (config.station == key
            && !config.levels.is_empty()
            && config.levels.iter().all(|l| present(l)))
        .then_some((other, config.levels))
    })
}

fn schema(ctx: &PageCtx, columns: &[Column]) -> Markup {
    html! {
        div.table-wrap tabindex="0" role="region" aria-labelledby="schema" {
            table {
                thead {
                    tr {
                        th scope="col" { (ctx.t("Spalte", "Column")) }
                        th scope="col" { (ctx.t("Typ", "Type")) }
                        th scope="col" { (ctx.t("Beschreibung", "Description")) }
                        th scope="col" { (ctx.t("Leer", "Empty")) }
                        th scope="col" { (ctx.t("Kleinster Wert", "Smallest")) }
                        th scope="col" { (ctx.t("Größter Wert", "Largest")) }
                        th scope="col" { (ctx.t("Verschiedene (ca.)", "Distinct (approx.)")) }
                    }
                }
                tbody {
                    @for c in columns {
                        tr {
                            th scope="row" { code { (c.name) } }
                            td { (c.data_type) }
                            td { (c.description.as_deref().unwrap_or("")) }
                            td.num { (human_count(ctx.lang, c.null_count)) }
                            td.cell { (c.min.as_deref().unwrap_or("")) }
                            td.cell { (c.max.as_deref().unwrap_or("")) }
                            td.num { (c.distinct.map(|d| human_count(ctx.lang, d)).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    }
}

fn versions(ctx: &PageCtx, base: &BaseUrl, m: &Manifest) -> Markup {
    let licence = licence_by_id(&m.meta.licence).map_or(m.meta.licence.as_str(), |l| l.name);
    html! {
        p { (ctx.t("Jede Version bleibt unter ihrer Adresse unverändert abrufbar; die Prüfsumme (SHA-256) belegt, welche Datei gemeint ist.",
                   "Every version stays unchanged at its address; the checksum (SHA-256) proves which file is meant.")) }
        ul.plain #version-list {
            @for v in m.versions.iter().rev() {
                li {
                    h3 { (ctx.t("Version", "Version")) " " (v.number) " · " (v.created.format("%Y-%m-%d %H:%M UTC")) " · "
                         (human_count(ctx.lang, v.row_count)) " " (ctx.t("Zeilen", "rows")) }
                    @if let Some(c) = &v.changes {
                        p.muted {
                            (ctx.t("Gegenüber Version", "Compared to version")) " " (c.previous) ": +" (c.rows_added) " / −" (c.rows_removed) " / ~" (c.rows_changed)
                        }
                    }
                    ul {
                        @for d in &v.distributions {
                            @let ext = d.format.extension();
                            @let url = base.join(&format!("/api/datasets/{}/versions/{}/download.{ext}", m.id, v.number));
                            li {
                                a href=(url) { (ext.to_uppercase()) } " (" (human_bytes(ctx.lang, d.byte_size)) ") "
                                span.checksum { "SHA-256 " (d.sha256) }
                            }
                        }
                    }
                    @if let Some(d) = v.distributions.first() {
                        @let ext = d.format.extension();
                        @let url = base.join(&format!("/api/datasets/{}/versions/{}/download.{ext}", m.id, v.number));
                        details {
                            summary { (ctx.t("Diese Version zitieren", "Cite this version")) }
                            pre data-copy tabindex="0" { (format!("{} ({}): {}. {} {}, {}. {}: {}. {} {}: {}. SHA-256: {}",
                                m.meta.publisher, v.created.format("%Y"), m.meta.title,
                                ctx.t("Version", "Version"), v.number, v.created.format("%Y-%m-%d"),
                                ctx.t("Lizenz", "Licence"), licence,
                                ctx.t("Abgerufen von", "Retrieved from"), ext.to_uppercase(), url, d.sha256)) }
                        }
                    }
                }
            }
        }
    }
}

fn snippets(ctx: &PageCtx, base: &BaseUrl, m: &Manifest, latest: &Version, table: &str) -> Markup {
    let id = &m.id;
    let url = |ext: &str| base.join(&format!("/api/datasets/{id}/download.{ext}"));
    let spatial = latest.geometry.is_some();
    let sql = format!("SELECT * FROM {table} LIMIT 10");
    let sql_url = base.join(&super::with_query(
        "/api/sql",
        &[("format", "csv"), ("q", &sql)],
    ));
    let curl = format!(
        "curl -o {id}.csv {}\ncurl -G {} --data-urlencode \"q={sql}\" --data-urlencode format=csv",
        url("csv"),
        base.join("/api/sql")
    );
    let python = if spatial {
        format!(
            "import geopandas as gpd\n\ngdf = gpd.read_file(\"{}\")\nprint(gdf.head())",
            url("geojson")
        )
    } else {
        format!(
            "import pandas as pd\n\ndf = pd.read_parquet(\"{}\")\nprint(df.head())",
            url("parquet")
        )
    };
    let r = if spatial {
        format!(
            "library(sf)\n\nx <- st_read(\"{}\")\nhead(x)",
            url("geojson")
        )
    } else {
        format!(
            "df <- read.csv(\"{}\", fileEncoding = \"UTF-8-BOM\")\nhead(df)",
            url("csv")
        )
    };
    html! {
        h3 { "curl" }
        pre data-copy tabindex="0" { code { (curl) } }
        h3 { "Python" }
        pre data-copy tabindex="0" { code { (python) } }
        h3 { "R" }
        pre data-copy tabindex="0" { code { (r) } }
        @if spatial {
            h3 { "QGIS" }
            p { (ctx.t("Layer → Layer hinzufügen → WFS / OGC API – Features, mit dieser Adresse; die Sammlung heißt",
                       "Layer → Add Layer → WFS / OGC API – Features, with this address; the collection is called")) " " code { (id) } "." }
            pre data-copy tabindex="0" { code { (base.join("/ogc")) } }
            p { (ctx.t("Direkt als Sammlung:", "The collection itself:")) }
            pre data-copy tabindex="0" { code { (base.join(&format!("/ogc/collections/{id}"))) } }
            p { (ctx.t("Oder als Vektorlayer über HTTP(S) (FlatGeobuf, lädt nur den sichtbaren Ausschnitt):",
                       "Or as a vector layer over HTTP(S) (FlatGeobuf, loads only what is in view):")) }
            pre data-copy tabindex="0" { code { (url("fgb")) } }
        }
        h3 { "SQL" }
        pre data-copy tabindex="0" { code { (sql) } }
        p {
            a href=(ctx.href("/sql", &[("q", &sql)])) { (ctx.t("In der SQL-Konsole öffnen", "Open in the SQL console")) }
            " · "
            a href=(sql_url) { (ctx.t("Ergebnis als CSV", "Result as CSV")) }
        }
    }
}
