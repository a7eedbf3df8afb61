//! Our time-series datasets as SensorThings entities: a Thing and a Location per station, a
//! Datastream per station and parameter, a Sensor per dataset, an ObservedProperty per
//! parameter and an Observation per reading. Ids are stable strings: `dataset:station`,
//! `dataset:station:parameter`, `dataset` (Sensor), `parameter` (ObservedProperty) and
//! `dataset:station:parameter:time` (Observation).

use std::collections::BTreeMap;

use allmende_ingest::live::Series;
use allmende_ingest::live::series::format_time;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

pub const SETS: [&str; 6] = [
    "Things",
    "Locations",
    "Datastreams",
    "Sensors",
    "ObservedProperties",
    "Observations",
];

/// One entity: its set, id, JSON (without links) and what it relates to.
#[derive(Debug, Clone)]
pub struct Node {
    pub set: &'static str,
    pub id: String,
    pub json: Value,
    pub dataset: String,
    pub station: Option<String>,
    pub parameter: Option<String>,
}

#[derive(Debug, Default)]
pub struct Model {
    pub nodes: Vec<Node>,
    /// Readings by datastream id (only when the request needs observations).
    pub values: BTreeMap<String, Vec<(i64, f64)>>,
}

struct Station {
    id: String,
    name: String,
    water: Option<String>,
    position: Option<(f64, f64)>,
    /// Parameters, each with its first and last reading's time when it has readings.
    parameters: Vec<(String, Option<(i64, i64)>)>,
}

/// Readings by time, in milliseconds since 1970.
type Values = Vec<(i64, f64)>;

struct Read {
    unit: Option<String>,
    main: String,
    stations: Vec<Station>,
    values: Vec<(String, String, Values)>,
}

/// Which readings a request needs copied out of the series.
#[derive(Debug, Clone, PartialEq)]
pub enum Readings {
    None,
    /// Those of one datastream (by id).
    Of(String),
    All,
}

fn read(dataset: &str, series: &Series, wanted: &Readings) -> Read {
    let config = series.config();
    let mut values = Vec::new();
    let stations = series
        .stations()
        .map(|s| {
            let mut parameters: Vec<String> = series
                .parameters(&s.id)
                .into_iter()
                .map(str::to_owned)
                .collect();
            if !parameters.contains(&config.parameter) {
                parameters.push(config.parameter.clone());
            }
            parameters.sort_by_key(|p| *p != config.parameter);
            if *wanted != Readings::None {
                for p in parameters.iter().filter(|p| match wanted {
                    Readings::Of(id) => *id == format!("{dataset}:{}:{p}", s.id),
                    _ => true,
                }) {
                    let v = series
                        .values(&s.id, p)
                        .map(|v| v.iter().map(|(&t, &x)| (t, x)).collect())
                        .unwrap_or_default();
                    values.push((s.id.clone(), p.clone(), v));
                }
            }
            Station {
                id: s.id.clone(),
                name: s.name.clone(),
                water: s.water.clone(),
                position: s.lon.zip(s.lat),
                parameters: parameters
                    .into_iter()
                    .map(|p| {
                        let span = series
                            .values(&s.id, &p)
                            .and_then(|v| Some((*v.keys().next()?, *v.keys().next_back()?)));
                        (p, span)
                    })
                    .collect(),
            }
        })
        .collect();
    Read {
        unit: config.unit.clone(),
        main: config.parameter.clone(),
        stations,
        values,
    }
}

/// Every time-series dataset's entities, with the readings `wanted`.
pub async fn load(state: &AppState, wanted: Readings) -> Result<Model, ApiError> {
    let snapshot = state.snapshot().await?;
    let mut model = Model::default();
    let mut properties: BTreeMap<String, ()> = BTreeMap::new();
    for manifest in snapshot.catalog.datasets() {
        if manifest.latest().is_none()
            || crate::live::series_config(state.root(), &manifest.id).is_none()
        {
            continue;
        }
        let ds = manifest.id.clone();
        let (name, wanted) = (ds.clone(), wanted.clone());
        let r = match crate::live::read_series(state, &ds, move |s| read(&name, s, &wanted)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("sta: dataset {ds} left out: {}", e.description);
                continue;
            }
        };
        model.nodes.push(Node {
            set: "Sensors",
            id: ds.clone(),
            json: json!({
                "name": manifest.meta.title,
                "description": manifest.meta.description,
                "encodingType": "application/json",
                "metadata": format!("/api/datasets/{ds}"),
            }),
            dataset: ds.clone(),
            station: None,
            parameter: None,
        });
        let unit = r.unit.clone().unwrap_or_default();
        for s in &r.stations {
            let thing = format!("{ds}:{}", s.id);
            let description = match &s.water {
                Some(w) => format!("Gauge {} on the {w} ({})", s.name, manifest.meta.title),
                None => format!("Gauge {} ({})", s.name, manifest.meta.title),
            };
            model.nodes.push(Node {
                set: "Things",
                id: thing.clone(),
                json: json!({
                    "name": s.name,
                    "description": description,
                    "properties": {"dataset": ds, "station": s.id, "water": s.water},
                }),
                dataset: ds.clone(),
                station: Some(s.id.clone()),
                parameter: None,
            });
            if let Some((lon, lat)) = s.position {
                model.nodes.push(Node {
                    set: "Locations",
                    id: thing.clone(),
                    json: json!({
                        "name": s.name,
                        "description": format!("Position of gauge {}", s.name),
                        "encodingType": "application/geo+json",
                        "location": {"type": "Point", "coordinates": [lon, lat]},
                    }),
                    dataset: ds.clone(),
                    station: Some(s.id.clone()),
                    parameter: None,
                });
            }
            for (p, span) in &s.parameters {
                let unit = if *p == r.main {
                    unit.clone()
                } else {
                    String::new()
                };
                properties.insert(p.clone(), ());
                model.nodes.push(Node {
                    set: "Datastreams",
                    id: format!("{thing}:{p}"),
                    json: json!({
                        "name": format!("{} {p}", s.name),
                        "description": format!("{p} at gauge {}", s.name),
                        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                        "unitOfMeasurement": {"name": unit, "symbol": unit, "definition": ""},
                        "phenomenonTime": span.map(|(a, b)| format!("{}/{}", format_time(a), format_time(b))),
                    }),
                    dataset: ds.clone(),
                    station: Some(s.id.clone()),
                    parameter: Some(p.clone()),
                });
            }
        }
        for (station, p, v) in r.values {
            model.values.insert(format!("{ds}:{station}:{p}"), v);
        }
    }
    for p in properties.into_keys() {
        model.nodes.push(Node {
            set: "ObservedProperties",
            id: p.clone(),
            json: json!({"name": p, "definition": "", "description": format!("The parameter {p}")}),
            dataset: String::new(),
            station: None,
            parameter: Some(p),
        });
    }
    Ok(model)
}

/// The navigation properties of a set: (name, target set, one or many).
pub fn navigations(set: &str) -> &'static [(&'static str, &'static str, bool)] {
    match set {
        "Things" => &[
            ("Datastreams", "Datastreams", false),
            ("Locations", "Locations", false),
        ],
        "Locations" => &[("Things", "Things", false)],
        "Datastreams" => &[
            ("Thing", "Things", true),
            ("Sensor", "Sensors", true),
            ("ObservedProperty", "ObservedProperties", true),
            ("Observations", "Observations", false),
        ],
        "Sensors" => &[("Datastreams", "Datastreams", false)],
        "ObservedProperties" => &[("Datastreams", "Datastreams", false)],
        "Observations" => &[("Datastream", "Datastreams", true)],
        _ => &[],
    }
}

impl Model {
    pub fn set(&self, set: &str) -> Vec<Node> {
        if set == "Observations" {
            return self
                .nodes
                .iter()
                .filter(|n| n.set == "Datastreams")
                .flat_map(|d| self.observations(d))
                .collect();
        }
        self.nodes
            .iter()
            .filter(|n| n.set == set)
            .cloned()
            .collect()
    }

    fn observations(&self, datastream: &Node) -> Vec<Node> {
        self.values
            .get(&datastream.id)
            .map(|v| {
                v.iter()
                    .map(|&(t, x)| {
                        let time = format_time(t);
                        Node {
                            set: "Observations",
                            id: format!("{}:{time}", datastream.id),
                            json: json!({"phenomenonTime": time, "resultTime": time, "result": x}),
                            dataset: datastream.dataset.clone(),
                            station: datastream.station.clone(),
                            parameter: datastream.parameter.clone(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The entities `node` reaches through `nav`; `None` when it has no such navigation.
    pub fn related(&self, node: &Node, nav: &str) -> Option<Vec<Node>> {
        let &(_, target, _) = navigations(node.set).iter().find(|(n, _, _)| *n == nav)?;
        if target == "Observations" {
            return Some(self.observations(node));
        }
        let found = self
            .nodes
            .iter()
            .filter(|n| n.set == target)
            .filter(|n| match (node.set, target) {
                ("Observations", "Datastreams") => {
                    n.dataset == node.dataset
                        && n.station == node.station
                        && n.parameter == node.parameter
                }
                ("ObservedProperties", _) | (_, "ObservedProperties") => {
                    n.parameter == node.parameter
                }
                (_, "Sensors") | ("Sensors", _) => n.dataset == node.dataset,
                _ => n.dataset == node.dataset && n.station == node.station,
            })
            .cloned()
            .collect();
        Some(found)
    }
}
