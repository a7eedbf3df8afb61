//! The gauge map of a time series (`/datasets/{id}/gauges`, issue 9): every station on a map,
//! drawn by warning level with colour, shape and the level's number, a legend with the level
//! names from `[timeseries] levels`, and the same stations as a table (sorted by level, then
//! name) linking to each station's page.
//!
//! The table is rendered here from the series in memory, so the page works without
//! JavaScript; the script (`web/src/gauges.js`) draws the map from the table's rows and keeps
//! both up to date from the dataset's event stream (polling `/latest` when the stream fails),
//! announcing level changes in a polite live region.

use std::collections::HashMap;

use allmende_ingest::live::{Latest, Station};
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::json;

use super::{PageCtx, basemap_url, error_page, layout, path_segment};
use crate::error::ApiError;
use crate::state::AppState;

/// One station (with its thresholds) and its latest reading.
pub(super) struct Gauge {
    pub station: Station,
    pub latest: Option<Latest>,
}

/// A time series' stations as the pages show them.
pub(super) struct Gauges {
    /// Level names, lowest first (level 1 is `levels[0]`).
    pub levels: Vec<String>,
    pub unit: Option<String>,
    pub parameter: String,
    pub gauges: Vec<Gauge>,
}

/// The stations and latest values of the time series `id`, from memory; 404 when `id` is no
/// time series.
pub(super) async fn load(state: &AppState, id: &str) -> Result<Gauges, ApiError> {
    crate::live::read_series(state, id, |series| {
        let mut latest: HashMap<String, Latest> = series
            .latest()
            .into_iter()
            .map(|l| (l.station.clone(), l))
            .collect();
        let config = series.config();
        Gauges {
            levels: config.levels.clone(),
            unit: config.unit.clone(),
            parameter: config.parameter.clone(),
            gauges: series
                .stations()
                .map(|s| Gauge {
                    latest: latest.remove(&s.id),
                    station: s.clone(),
                })
                .collect(),
        }
    })
    .await
}

/// The legend's and the map's key of a station's state: `none` without a reading, else the
/// level's number.
pub(super) fn icon_key(latest: Option<&Latest>) -> String {
    latest.map_or_else(|| "none".to_owned(), |l| l.level.to_string())
}

impl Gauges {
    /// The name of a level: the configured one, "no level" for 0.
    pub fn level_name(&self, ctx: &PageCtx, level: u8) -> String {
        match level {
            0 => ctx.t("Keine Stufe erreicht", "No level reached").to_owned(),
            n => self
                .levels
                .get(usize::from(n) - 1)
                .cloned()
                .unwrap_or_else(|| format!("{} {n}", ctx.t("Stufe", "Level"))),
        }
    }

    /// A value with the series' unit, in the page language's notation.
    pub fn value(&self, ctx: &PageCtx, value: f64) -> String {
        let number = match ctx.lang {
            super::Lang::De => value.to_string().replace('.', ","),
            super::Lang::En => value.to_string(),
        };
        match &self.unit {
            Some(u) => format!("{number} {u}"),
            None => number,
        }
    }
}

/// A trend in words, with an arrow for the eye.
pub(super) fn trend(ctx: &PageCtx, trend: Option<&str>) -> String {
    match trend {
        Some("rising") => format!("↗ {}", ctx.t("steigend", "rising")),
        Some("falling") => format!("↘ {}", ctx.t("fallend", "falling")),
        Some("steady") => format!("→ {}", ctx.t("gleichbleibend", "steady")),
        _ => String::new(),
    }
}

/// An RFC 3339 UTC time as people read it: `2024-01-03 12:00 UTC`.
pub(super) fn human_time(time: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(time)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| time.to_owned())
}

/// The legend: every level with its icon and name, then "no reading".
pub(super) fn legend(ctx: &PageCtx, gauges: &Gauges) -> Markup {
    let levels = (0..=gauges.levels.len()).filter_map(|l| u8::try_from(l).ok());
    html! {
        ul.legend aria-label=(ctx.t("Legende", "Legend")) {
            @for level in levels.rev() {
                li { span.gauge-icon data-icon=(level) aria-hidden="true" {} " " (gauges.level_name(ctx, level)) }
            }
            li { span.gauge-icon data-icon="none" aria-hidden="true" {} " " (ctx.t("Kein Messwert", "No reading")) }
        }
    }
}

pub async fn page(State(state): State<AppState>, Path(id): Path<String>, ctx: PageCtx) -> Response {
    render(&state, &id, &ctx)
        .await
        .unwrap_or_else(|e| error_page(&ctx, e))
}

async fn render(state: &AppState, id: &str, ctx: &PageCtx) -> Result<Response, ApiError> {
    let snapshot = state.snapshot().await?;
    let m = snapshot
        .catalog
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("dataset '{id}' not found")))?;
    let mut gauges = load(state, id).await?;
    // Highest level first, stations without a reading last, then by name.
    gauges.gauges.sort_by(|a, b| {
        let rank = |g: &Gauge| g.latest.as_ref().map_or(-1, |l| i16::from(l.level));
        rank(b).cmp(&rank(a)).then_with(|| {
            a.station
                .name
                .to_lowercase()
                .cmp(&b.station.name.to_lowercase())
        })
    });
    let bbox = m
        .latest()
        .and_then(|v| v.geometry.as_ref())
        .and_then(|g| g.bbox);
    let title = format!("{} – {}", ctx.t("Pegelkarte", "Gauge map"), m.meta.title);
    let levels: Vec<String> = (0..=gauges.levels.len())
        .filter_map(|l| u8::try_from(l).ok())
        .map(|l| gauges.level_name(ctx, l))
        .collect();
    let with_reading = gauges.gauges.iter().filter(|g| g.latest.is_some()).count();
    let content = html! {
        h1 { (ctx.t("Pegelkarte", "Gauge map")) ": " span lang=(super::data_lang(m)) { (m.meta.title) } }
        p {
            (gauges.gauges.len()) " " (ctx.t("Pegel", "gauges")) ", " (with_reading) " "
            (ctx.t("mit Messwert. Die Karte und die Tabelle aktualisieren sich selbst, sobald neue Messwerte eintreffen.",
                   "with a reading. The map and the table update themselves as new readings arrive."))
            " " a href=(ctx.href(&format!("/datasets/{id}"), &[])) { (ctx.t("Zum Datensatz", "To the dataset")) }
        }
        section aria-labelledby="gauge-map-heading" {
            h2 #gauge-map-heading { (ctx.t("Karte", "Map")) }
            (legend(ctx, &gauges))
            div.map.gauge-map
                data-gauges=(id)
                data-latest=(format!("/api/datasets/{id}/latest"))
                data-stream=(format!("/api/datasets/{id}/events/stream"))
                data-levels=(json!(levels).to_string())
                data-unit=(gauges.unit.clone().unwrap_or_default())
                data-bbox=(bbox.map(|b| json!(b).to_string()).unwrap_or_default())
                data-basemap=(basemap_url().unwrap_or_default())
                data-attribution=(m.meta.attribution.clone().unwrap_or_default())
                role="region" aria-label=(ctx.t("Karte der Pegel nach Warnstufe; dieselben Angaben stehen in der Tabelle darunter.", "Map of the gauges by warning level; the table below holds the same information."))
            {
                p.live-state.muted {}
            }
            p.status #gauge-news aria-live="polite" {}
        }
        section aria-labelledby="gauge-list-heading" {
            h2 #gauge-list-heading { (ctx.t("Alle Pegel", "All gauges")) }
            p.muted { (ctx.t("Nach Warnstufe sortiert, die höchste zuerst, dann nach Name.", "Sorted by warning level, highest first, then by name.")) }
            div.table-wrap tabindex="0" role="region" aria-labelledby="gauge-list-heading" {
                table.gauges {
                    thead {
                        tr {
                            th scope="col" { (ctx.t("Pegel", "Gauge")) }
                            th scope="col" { (ctx.t("Gewässer", "Water")) }
                            th scope="col" { (ctx.t("Wert", "Value")) }
                            th scope="col" { (ctx.t("Warnstufe", "Warning level")) }
                            th scope="col" { (ctx.t("Tendenz", "Trend")) }
                            th scope="col" { (ctx.t("Zeit", "Time")) }
                        }
                    }
                    tbody {
                        @for g in &gauges.gauges { (row(ctx, id, &gauges, g)) }
                    }
                }
            }
        }
    };
    Ok(layout(ctx, &title, &[], content))
}

/// A station's row; the script reads its `data-*` to draw the map and rewrites its cells.
fn row(ctx: &PageCtx, id: &str, gauges: &Gauges, g: &Gauge) -> Markup {
    let href = ctx.href(
        &format!("/datasets/{id}/stations/{}", path_segment(&g.station.id)),
        &[],
    );
    let latest = g.latest.as_ref();
    html! {
        tr data-station=(g.station.id) data-name=(g.station.name)
           data-lon=(g.station.lon.map(|v| v.to_string()).unwrap_or_default())
           data-lat=(g.station.lat.map(|v| v.to_string()).unwrap_or_default())
           data-level=(icon_key(latest))
           data-time=(latest.map(|l| l.time.as_str()).unwrap_or("")) {
            th scope="row" { a href=(href) { (g.station.name) } }
            td.water { (g.station.water.as_deref().unwrap_or("")) }
            td.num.value { (latest.map(|l| gauges.value(ctx, l.value)).unwrap_or_default()) }
            td.level {
                span.gauge-icon data-icon=(icon_key(latest)) aria-hidden="true" {} " "
                span.level-name {
                    @match latest {
                        Some(l) => (gauges.level_name(ctx, l.level)),
                        None => (ctx.t("Kein Messwert", "No reading")),
                    }
                }
            }
            td.trend { (trend(ctx, latest.and_then(|l| l.trend))) }
            td.time.short {
                @if let Some(l) = latest { time datetime=(l.time) { (human_time(&l.time)) } }
            }
        }
    }
}
