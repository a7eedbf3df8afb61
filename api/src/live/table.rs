//! `<table>__latest` in SQL: each station's latest value, warning level and trend, read from
//! the series in memory when a query scans it (the same list `/latest` serves), with the
//! station's position as a WKB point in `geometry`.

use std::sync::Arc;

use allmende_ingest::live::Latest;
use arrow::array::{
    ArrayRef, BinaryArray, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray,
    UInt8Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use allmende_catalog::{Column, GeometryInfo, Manifest, Version};

use crate::state::{AppState, Snapshot};

/// Registers `<table>__latest` for every time series of `snapshot`.
pub(crate) fn register(state: &AppState, snapshot: &Snapshot) {
    for id in &snapshot.series {
        let name = latest_table(id);
        let (state, id) = (state.clone(), id.clone());
        let rows: allmende_query::LiveRows = Arc::new(move || {
            let (state, id) = (state.clone(), id.clone());
            Box::pin(async move {
                let entry = super::entry(&state, &id).await.map_err(|e| e.description)?;
                batch(&entry.latest().stations)
                    .map(|b| vec![b])
                    .map_err(|e| e.to_string())
            })
        });
        if let Err(e) = snapshot.engine.register_live(&name, schema(), rows) {
            tracing::error!("{name}: {e}");
        }
    }
}

fn schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        text("station", false),
        text("name", false),
        text("water", true),
        text("parameter", false),
        text("unit", true),
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("value", DataType::Float64, false),
        Field::new("level", DataType::UInt8, false),
        text("level_name", true),
        text("trend", true),
        Field::new("geometry", DataType::Binary, true),
    ]))
}

fn batch(stations: &[Latest]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let text = |f: &dyn Fn(&Latest) -> Option<&str>| -> ArrayRef {
        Arc::new(stations.iter().map(f).collect::<StringArray>())
    };
    let times: Vec<i64> = stations
        .iter()
        .map(|l| allmende_ingest::live::readings::parse_time(&l.time).unwrap_or_default())
        .collect();
    let points: BinaryArray = stations
        .iter()
        .map(|l| Some(point_wkb(l.lon?, l.lat?)))
        .collect();
    RecordBatch::try_new(
        schema(),
        vec![
            text(&|l| Some(&l.station)),
            text(&|l| Some(&l.name)),
            text(&|l| l.water.as_deref()),
            text(&|l| Some(&l.parameter)),
            text(&|l| l.unit.as_deref()),
            Arc::new(TimestampMillisecondArray::from(times).with_timezone("UTC")),
            Arc::new(stations.iter().map(|l| l.value).collect::<Float64Array>()),
            Arc::new(stations.iter().map(|l| l.level).collect::<UInt8Array>()),
            text(&|l| l.level_name.as_deref()),
            text(&|l| l.trend),
            Arc::new(points),
        ],
    )
}

/// A 2D point as little-endian WKB.
fn point_wkb(x: f64, y: f64) -> Vec<u8> {
    let mut wkb = Vec::with_capacity(21);
    wkb.push(1);
    wkb.extend_from_slice(&1u32.to_le_bytes());
    wkb.extend_from_slice(&x.to_le_bytes());
    wkb.extend_from_slice(&y.to_le_bytes());
    wkb
}

/// The OGC API collection of a time series' latest values, `<id>-latest`: described like a
/// dataset (the parent's metadata, retitled; the stations' extent) and read from
/// `<table>__latest`. It has no files of its own.
pub(crate) fn collection(parent: &Manifest) -> Option<Manifest> {
    let version = parent.latest()?;
    let geometry = version.geometry.clone().map(|g| GeometryInfo {
        column: "geometry".into(),
        types: vec!["Point".into()],
        ..g
    })?;
    let column = |name: &str, data_type: &str, description: &str| Column {
        name: name.into(),
        data_type: data_type.into(),
        null_count: 0,
        description: Some(description.into()),
        min: None,
        max: None,
        distinct: None,
    };
    let columns = vec![
        column("station", "string", "Kennung des Pegels"),
        column("name", "string", "Name des Pegels"),
        column("water", "string", "Gewässer"),
        column("parameter", "string", "Messgröße (W = Wasserstand)"),
        column("unit", "string", "Einheit"),
        column("time", "datetime", "Zeitpunkt des letzten Messwerts (UTC)"),
        column("value", "number", "Letzter Messwert"),
        column("level", "integer", "Warnstufe (0 = unter allen Schwellen)"),
        column("level_name", "string", "Name der Warnstufe"),
        column("trend", "string", "Tendenz gegenüber der Stunde davor"),
        column("geometry", "geometry", "Lage des Pegels"),
    ];
    let mut meta = parent.meta.clone();
    meta.title = format!("{}: aktuelle Messwerte und Warnstufen", parent.meta.title);
    meta.description = format!(
        "Der letzte Messwert, die Warnstufe und die Tendenz jedes Pegels des Datensatzes „{}“, \
         bei jeder Abfrage aus dem laufenden Betrieb.",
        parent.meta.title
    );
    meta.frequency = Some("CONT".into());
    Some(Manifest {
        id: latest_collection_id(&parent.id),
        meta,
        versions: vec![Version {
            number: version.number,
            // When this description was made, i.e. the snapshot (rebuilt after every push):
            // caches keyed by version, such as the tiles', start afresh with each snapshot.
            created: chrono::Utc::now(),
            row_count: version.row_count,
            rejected_rows: 0,
            columns,
            geometry: Some(geometry),
            source: Default::default(),
            distributions: Vec::new(),
            temporal: None,
            changes: None,
        }],
        meta_history: Vec::new(),
    })
}

/// The collection id of a time series' latest values.
pub(crate) fn latest_collection_id(id: &str) -> String {
    format!("{id}-latest")
}

/// The SQL table of a time series' latest values.
pub(crate) fn latest_table(id: &str) -> String {
    format!("{}__latest", allmende_catalog::table_name(id))
}
