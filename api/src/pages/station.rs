//! A gauge's page (`/datasets/{id}/stations/{station}`, issue 9): name, water, the current
//! value with level and trend, the station's thresholds, and the 31 days up to its latest
//! reading (for a live gauge: the last 31 days) as a table, which the script
//! (`web/src/station.js`) charts with uPlot against the thresholds and extends from the
//! dataset's event stream. Links lead to the same readings as CSV (SQL), PEGELONLINE JSON and
//! a SensorThings datastream.
//!
//! The readings come from the series in memory, like `/latest`; the chart reads them from the
//! table, so the page is one request and works without JavaScript.

use allmende_catalog::table_name;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;
use serde_json::json;

use super::gauges::{self, Gauge, human_time, icon_key, trend};
use super::{PageCtx, error_page, layout, path_segment, with_query};
use crate::error::ApiError;
use crate::state::AppState;

/// How far back the page goes from the latest reading.
const WINDOW_MS: i64 = 31 * 24 * 3_600_000;
/// At most this many readings (the newest) are shown; 31 days of 5-minute readings fit.
const MAX_READINGS: usize = 10_000;

pub async fn page(
    State(state): State<AppState>,
    Path((id, station)): Path<(String, String)>,
    ctx: PageCtx,
) -> Response {
    render(&state, &id, &station, &ctx)
        .await
        .unwrap_or_else(|e| error_page(&ctx, e))
}

async fn render(
    state: &AppState,
    id: &str,
    station: &str,
    ctx: &PageCtx,
) -> Result<Response, ApiError> {
    let gauges = gauges::load(state, id).await?;
    let gauge = gauges
        .gauges
        .iter()
        .find(|g| g.station.id == station)
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' has no station '{station}'")))?;
    let (key, parameter) = (gauge.station.id.clone(), gauges.parameter.clone());
    // The newest readings of the window, oldest first.
    let readings: Vec<(i64, f64)> = crate::live::read_series(state, id, move |s| {
        let Some(values) = s.values(&key, &parameter) else {
            return Vec::new();
        };
        let Some((&end, _)) = values.iter().next_back() else {
            return Vec::new();
        };
        let mut newest: Vec<(i64, f64)> = values
            .range(end - WINDOW_MS..=end)
            .rev()
            .take(MAX_READINGS)
            .map(|(&t, &v)| (t, v))
            .collect();
        newest.reverse();
        newest
    })
    .await?;
    let thresholds: Vec<(String, f64)> = gauge
        .station
        .thresholds
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let level = u8::try_from(i + 1).ok()?;
            Some((gauges.level_name(ctx, level), (*t)?))
        })
        .collect();
    let chart = json!({
        "unit": gauges.unit,
        "station": gauge.station.id,
        "stream": format!("/api/datasets/{id}/events/stream"),
        "latest": format!("/api/datasets/{id}/latest"),
        "levels": (0..=gauges.levels.len()).filter_map(|l| u8::try_from(l).ok()).map(|l| gauges.level_name(ctx, l)).collect::<Vec<_>>(),
        "thresholds": thresholds.iter().map(|(name, value)| json!({"name": name, "value": value})).collect::<Vec<_>>(),
    });
    let links = links(id, gauge, &gauges.parameter, &readings);
    let latest = gauge.latest.as_ref();
    let title = format!("{} ({})", gauge.station.name, ctx.t("Pegel", "gauge"));
    let content = html! {
        p.muted {
            a href=(ctx.href(&format!("/datasets/{id}/gauges"), &[])) { (ctx.t("Pegelkarte", "Gauge map")) }
            " · "
            a href=(ctx.href(&format!("/datasets/{id}"), &[])) { (ctx.t("Datensatz", "Dataset")) }
        }
        h1 { (gauge.station.name) }
        dl.meta.station-facts {
            @if let Some(w) = &gauge.station.water {
                dt { (ctx.t("Gewässer", "Water")) }
                dd { (w) }
            }
            dt { (ctx.t("Aktueller Wert", "Current value")) }
            dd.current-value { (latest.map(|l| gauges.value(ctx, l.value)).unwrap_or_else(|| ctx.t("Kein Messwert", "No reading").to_owned())) }
            dt { (ctx.t("Warnstufe", "Warning level")) }
            dd.current-level {
                span.gauge-icon data-icon=(icon_key(latest)) aria-hidden="true" {} " "
                span.level-name { (latest.map(|l| gauges.level_name(ctx, l.level)).unwrap_or_default()) }
            }
            dt { (ctx.t("Tendenz", "Trend")) }
            dd.current-trend { (trend(ctx, latest.and_then(|l| l.trend))) }
            dt { (ctx.t("Zeit", "Time")) }
            dd.current-time { @if let Some(l) = latest { time datetime=(l.time) { (human_time(&l.time)) } } }
            dt { (ctx.t("Schwellen", "Thresholds")) }
            dd {
                @if thresholds.is_empty() { (ctx.t("keine", "none")) }
                ul.plain.thresholds {
                    @for (name, value) in &thresholds { li { (name) ": " (gauges.value(ctx, *value)) } }
                }
            }
        }
        section aria-labelledby="chart-heading" {
            h2 #chart-heading { (ctx.t("Die letzten 31 Tage", "The last 31 days")) }
            p.muted {
                (ctx.t("Die 31 Tage bis zum neuesten Messwert; gestrichelte Linien: die Warnschwellen dieses Pegels.",
                       "The 31 days up to the newest reading; dashed lines: this gauge's warning thresholds."))
            }
            div.station-chart data-station-chart=(chart.to_string()) {
                p.status aria-live="polite" {}
                div.chart-plot role="img" aria-label=(ctx.t("Diagramm der Messwerte mit den Warnschwellen; die Werte stehen in der Tabelle darunter.", "Chart of the readings with the warning thresholds; the values are in the table below it.")) {}
            }
            details.readings {
                summary { (ctx.t("Messwerte als Tabelle", "The readings as a table")) " (" span.reading-count { (readings.len()) } ")" }
                div.table-wrap tabindex="0" role="region" aria-label=(ctx.t("Messwerte", "Readings")) {
                    table.readings {
                        thead { tr {
                            th scope="col" { (ctx.t("Zeit", "Time")) }
                            th scope="col" { (ctx.t("Wert", "Value")) @if let Some(u) = &gauges.unit { " (" (u) ")" } }
                        } }
                        tbody {
                            @for (t, v) in readings.iter().rev() {
                                @let time = allmende_ingest::live::series::format_time(*t);
                                tr { td.short { time datetime=(time) { (human_time(&time)) } } td.num data-value=(v) { (v) } }
                            }
                        }
                    }
                }
            }
        }
        h2 #data-links { (ctx.t("Die Messwerte als Daten", "The readings as data")) }
        ul {
            li { a href=(links.csv) { "CSV" } " " span.muted { (ctx.t("(SQL-Abfrage dieses Zeitraums)", "(SQL query of this period)")) } }
            li { a href=(links.pegelonline) { "PEGELONLINE measurements.json" } }
            li { a href=(links.sta) { "SensorThings Datastream" } " · " a href=(links.sta_observations) { "Observations" } }
        }
    };
    Ok(layout(ctx, &title, &[], content))
}

struct Links {
    csv: String,
    pegelonline: String,
    sta: String,
    sta_observations: String,
}

/// The station's readings of the page's window elsewhere: SQL as CSV, PEGELONLINE,
/// SensorThings.
fn links(id: &str, gauge: &Gauge, parameter: &str, readings: &[(i64, f64)]) -> Links {
    let literal = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let format_time = allmende_ingest::live::series::format_time;
    let start = readings.first().map(|(t, _)| format_time(*t));
    let end = readings.last().map(|(t, _)| format_time(*t));
    let since = start
        .as_deref()
        .map(|s| format!(" AND time >= TIMESTAMP {}", literal(s)))
        .unwrap_or_default();
    let sql = format!(
        "SELECT time, value, quality FROM {}__observations WHERE station = {} AND parameter = {}{since} ORDER BY time",
        table_name(id),
        literal(&gauge.station.id),
        literal(parameter),
    );
    let uuid = crate::routes::pegelonline::station_uuid(id, &gauge.station.id);
    let shortname = crate::routes::pegelonline::shortname(parameter);
    let window: Vec<(&str, &str)> = match (&start, &end) {
        (Some(s), Some(e)) => vec![("start", s), ("end", e)],
        _ => vec![("start", "P31D")],
    };
    let datastream = format!(
        "/sta/v1.1/Datastreams('{}')",
        path_segment(&format!("{id}:{}:{parameter}", gauge.station.id).replace('\'', "''"))
    );
    Links {
        csv: with_query("/api/sql", &[("format", "csv"), ("q", &sql)]),
        pegelonline: with_query(
            &format!(
                "{}/stations/{uuid}/{}/measurements.json",
                crate::routes::pegelonline::BASE,
                path_segment(&shortname)
            ),
            &window,
        ),
        sta_observations: format!("{datastream}/Observations"),
        sta: datastream,
    }
}
