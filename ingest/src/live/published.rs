//! A time series' level events as a dataset of their own, `<id>-events`: listed in the
//! catalogue, downloadable in every format, an OGC API collection, described in DCAT like any
//! dataset. After events are committed, the whole event log (it is small: a level changes
//! rarely) is written as a GeoJSON of points at the stations and ingested as the next version;
//! an unchanged log publishes nothing.

use std::path::Path;

use allmende_catalog::{Catalog, DatasetMeta};
use serde_json::{Value, json};

use super::events::EventLog;
use super::series::{Station, TimeseriesConfig, format_time};
use crate::config::{ColumnConfig, DatasetSpec, SourceConfig, SourceFormat};
use crate::error::{IngestError, Result};
use crate::pipeline::{IngestOptions, Outcome, ingest};

/// The id of a time series' events dataset.
pub fn events_id(id: &str) -> String {
    format!("{id}-events")
}

/// Publishes the event log of time series `id` (stations and levels from `config`) as the
/// next version of [`events_id`], with the series' `parent` metadata adapted; `None` when the
/// log is empty or the published version already holds every event.
pub fn publish_events(
    root: &Path,
    id: &str,
    parent: &DatasetMeta,
    stations: &[Station],
    config: &TimeseriesConfig,
) -> Result<Option<Outcome>> {
    let events = EventLog::new(root, id).read()?;
    if events.is_empty() {
        return Ok(None);
    }
    let target = events_id(id);
    let published = Catalog::open(root)?
        .get(&target)
        .and_then(|m| m.latest())
        .map(|v| v.row_count);
    if published == Some(events.len() as u64) {
        return Ok(None);
    }
    let level_name = |level: u8| -> Value {
        match level {
            0 => Value::Null,
            n => json!(config.levels.get(usize::from(n) - 1)),
        }
    };
    let features: Vec<Value> = events
        .iter()
        .map(|e| {
            let station = stations.iter().find(|s| s.id == e.station);
            let geometry = match station.and_then(|s| Some((s.lon?, s.lat?))) {
                Some((x, y)) => json!({"type": "Point", "coordinates": [x, y]}),
                None => Value::Null,
            };
            json!({
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "event": e.number,
                    "station": e.station,
                    "name": station.map(|s| s.name.as_str()),
                    "water": station.and_then(|s| s.water.as_deref()),
                    "from_level": e.from,
                    "to_level": e.to,
                    "to_level_name": level_name(e.to),
                    "time": format_time(e.at),
                    "value": e.value,
                    "unit": config.unit,
                    "recorded": format_time(e.recorded),
                    "cap": format!("/api/datasets/{id}/events/{}.cap", e.number),
                },
            })
        })
        .collect();
    let dir = Catalog::dataset_dir(root, id).join(super::events::EVENTS_DIR);
    let file = dir.join("events.geojson");
    let body = json!({"type": "FeatureCollection", "features": features});
    std::fs::write(&file, body.to_string()).map_err(|e| IngestError::io(&file, e))?;
    let spec = DatasetSpec {
        id: target,
        meta: meta(parent, id),
        files: vec![file],
        format: SourceFormat::GeoJson,
        source: SourceConfig::default(),
        points: None,
        columns: columns(),
        key: vec!["event".into()],
        config: None,
    };
    ingest(&spec, root, IngestOptions::default()).map(Some)
}

/// The parent's metadata, retitled for its events.
fn meta(parent: &DatasetMeta, id: &str) -> DatasetMeta {
    let mut keywords = parent.keywords.clone();
    for extra in ["Warnstufe", "Ereignis"] {
        if !keywords.iter().any(|k| k == extra) {
            keywords.push(extra.into());
        }
    }
    DatasetMeta {
        title: format!("{}: Wechsel der Warnstufe", parent.title),
        description: format!(
            "Jeder Wechsel der Warnstufe eines Pegels des Datensatzes „{}“ ({id}): Pegel, \
             bisherige und neue Stufe, Zeitpunkt und Wert der bestätigenden Messung, mit Link \
             auf die CAP-1.2-Warnung. Wird nach jedem Wechsel neu veröffentlicht.",
            parent.title
        ),
        keywords,
        frequency: Some("CONT".into()),
        ..parent.clone()
    }
}

fn columns() -> std::collections::BTreeMap<String, ColumnConfig> {
    [
        ("event", "Laufende Nummer des Ereignisses im Datensatz"),
        ("station", "Kennung des Pegels"),
        (
            "from_level",
            "Bisherige Warnstufe (0 = unter allen Schwellen)",
        ),
        ("to_level", "Neue Warnstufe (0 = unter allen Schwellen)"),
        ("to_level_name", "Name der neuen Warnstufe"),
        ("time", "Zeitpunkt der bestätigenden Messung (UTC)"),
        ("value", "Wert der bestätigenden Messung"),
        (
            "recorded",
            "Zeitpunkt, zu dem das Ereignis gespeichert wurde (UTC)",
        ),
        ("cap", "Pfad der CAP-1.2-Warnung auf diesem Server"),
    ]
    .into_iter()
    .map(|(name, description)| {
        (
            name.to_owned(),
            ColumnConfig {
                data_type: None,
                description: Some(description.into()),
            },
        )
    })
    .collect()
}
