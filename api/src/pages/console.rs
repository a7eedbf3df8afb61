//! The SQL console (`/sql?q=…`): the tables and their columns, an editor, the result as a
//! table (and a map when it has geometry), the result's downloads, and errors shown at their
//! position in the query. The query runs on the server when the form is sent, so the console
//! works without JavaScript; the script adds Ctrl+Enter and inserting names by click.

use allmende_catalog::table_name;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

use super::{Alternate, PageCtx, basemap_url, cell, error_page, human_count, layout, with_query};
use crate::error::ApiError;
use crate::state::AppState;

/// At most this many result rows are shown on the page (the downloads have them all).
const SHOWN_ROWS: usize = 500;

pub async fn page(State(state): State<AppState>, ctx: PageCtx) -> Response {
    render(&state, &ctx)
        .await
        .unwrap_or_else(|e| error_page(&ctx, e))
}

async fn render(state: &AppState, ctx: &PageCtx) -> Result<Response, ApiError> {
    let snapshot = state.snapshot().await?;
    let mut datasets: Vec<_> = snapshot.catalog.datasets().collect();
    datasets.sort_by(|a, b| a.id.cmp(&b.id));
    let example = datasets
        .first()
        .map(|m| format!("SELECT * FROM {} LIMIT 10", table_name(&m.id)))
        .unwrap_or_else(|| "SELECT 1".to_owned());
    let q = ctx.param("q").map(str::to_owned);

    let outcome = match &q {
        Some(q) => Some(
            snapshot
                .engine
                .collect(q, SHOWN_ROWS)
                .await
                .map_err(ApiError::from)
                .and_then(|(schema, batches, truncated)| {
                    allmende_query::to_json_table(&schema, &batches, truncated)
                        .map_err(ApiError::from)
                }),
        ),
        None => None,
    };

    let mut alternates = Vec::new();
    if let Some(q) = &q {
        alternates.push(Alternate::new(
            "application/json",
            with_query("/api/sql", &[("q", q)]),
            "JSON",
        ));
        alternates.push(Alternate::new(
            "application/geo+json",
            with_query("/api/sql", &[("format", "geojson"), ("q", q)]),
            "GeoJSON",
        ));
    } else {
        alternates.push(Alternate::new("application/json", "/api/datasets", "JSON"));
    }
    alternates.extend(super::dcat_alternates("/catalog"));

    let content = html! {
        h1 { (ctx.t("SQL-Konsole", "SQL console")) }
        p { (ctx.t("Fragen Sie alle Datensätze mit SQL ab (nur lesend). Räumliche Funktionen wie ST_Intersects, ST_Area und ST_AsText stehen bereit.",
                   "Ask every dataset in SQL (read-only). Spatial functions such as ST_Intersects, ST_Area and ST_AsText are available.")) }
        div.console-grid {
            div {
                form.console method="get" action="/sql" {
                    label for="sql" { (ctx.t("Abfrage", "Query")) }
                    textarea #sql name="q" rows="8" spellcheck="false" aria-describedby="sql-help" {
                        (q.as_deref().unwrap_or(&example))
                    }
                    p.muted #sql-help { (ctx.t("Strg+Eingabe führt die Abfrage aus.", "Ctrl+Enter runs the query.")) }
                    (ctx.lang_field())
                    button type="submit" { (ctx.t("Ausführen", "Run")) }
                }
                @match (&q, outcome) {
                    (Some(q), Some(Ok(table))) => (result(ctx, q, &table)),
                    (Some(q), Some(Err(e))) => (error(ctx, q, &e)),
                    _ => {}
                }
            }
            aside aria-labelledby="tables-heading" {
                h2 #tables-heading { (ctx.t("Tabellen", "Tables")) }
                @for m in &datasets {
                    @if let Some(v) = m.latest() {
                        @let t = table_name(&m.id);
                        details {
                            summary { code { (t) } }
                            p.muted { (m.meta.title) }
                            ul.plain {
                                li { button.insert type="button" data-insert=(t) { (ctx.t("Tabellenname einfügen", "insert table name")) } }
                                @for c in &v.columns {
                                    li {
                                        button.insert type="button" data-insert=(quote_if_needed(&c.name))
                                            aria-label=(format!("{} {}", ctx.t("Spalte einfügen:", "insert column:"), c.name)) { (c.name) }
                                        " " span.muted { (c.data_type) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout(
        ctx,
        ctx.t("SQL-Konsole", "SQL console"),
        &alternates,
        content,
    ))
}

/// A column name as SQL needs it: plain when it is a lowercase identifier, else quoted.
fn quote_if_needed(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn result(ctx: &PageCtx, q: &str, table: &allmende_query::ResultTable) -> Markup {
    let geometry = table.columns.iter().any(|c| c.data_type.contains("Binary"));
    let download = |format: &str| with_query("/api/sql", &[("format", format), ("q", q)]);
    html! {
        section aria-labelledby="result-heading" {
            h2 #result-heading tabindex="-1" { (ctx.t("Ergebnis", "Result")) }
            p role="status" {
                (human_count(ctx.lang, table.rows.len() as u64)) " " (ctx.t("Zeilen", "rows"))
                @if table.truncated {
                    " " (ctx.t("(gekürzt; die Downloads enthalten alle)", "(cut short; the downloads hold them all)"))
                }
            }
            ul.downloads {
                li { a.button href=(download("csv")) download="query.csv" { "CSV" } }
                li { a.button href=(download("parquet")) download="query.parquet" { "Parquet" } }
                @if geometry { li { a.button href=(download("geojson")) download="query.geojson" { "GeoJSON" } } }
                li { a.button href=(download("json")) { "JSON" } }
            }
            @if geometry {
                div.map data-geojson=(download("geojson")) data-basemap=(basemap_url().unwrap_or_default())
                    role="region" aria-label=(ctx.t("Karte des Ergebnisses; die Tabelle darunter enthält dieselben Daten.", "Map of the result; the table below holds the same data.")) {
                    p.status aria-live="polite" {}
                }
            }
            div.table-wrap tabindex="0" role="region" aria-labelledby="result-heading" {
                table.result {
                    thead { tr { @for c in &table.columns { th scope="col" { (c.name) } } } }
                    tbody {
                        @for row in &table.rows {
                            tr {
                                @for v in row {
                                    @let (text, numeric) = cell(v.get());
                                    @if numeric { td.num { (text) } } @else { td.cell { (shorten(&text)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Long cells (WKT of a district's outline) cut for the page; the downloads hold them whole.
fn shorten(text: &str) -> String {
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        format!("{} …", text.chars().take(MAX).collect::<String>())
    }
}

/// The error, and the query with the position marked (line and column from the parser).
fn error(ctx: &PageCtx, q: &str, e: &ApiError) -> Markup {
    let position = e.position;
    html! {
        section.error role="alert" aria-labelledby="error-heading" {
            h2 #error-heading { (ctx.t("Fehler", "Error")) }
            p { (e.description) }
            @if let Some((line, column)) = position {
                p { (ctx.t("Zeile", "Line")) " " (line) ", " (ctx.t("Spalte", "column")) " " (column) ":" }
                pre.query tabindex="0" {
                    @for (i, text) in q.lines().enumerate() {
                        @if i as u64 + 1 == line {
                            @let col = (column as usize).saturating_sub(1);
                            @let split = text.char_indices().nth(col).map_or(text.len(), |(b, _)| b);
                            @let (before, rest) = text.split_at(split);
                            @let end = rest.char_indices().nth(1).map_or(rest.len(), |(b, _)| b);
                            (before) mark.position { (&rest[..end]) } (&rest[end..]) "\n"
                            span aria-hidden="true" { (" ".repeat(col)) "^" } "\n"
                        } @else {
                            (text) "\n"
                        }
                    }
                }
            }
        }
    }
}
