//! OGC SensorThings API 1.1, the read part, at `/sta/v1.1/` over every time-series dataset
//! (see [`model`] for how stations, parameters and readings map to entities): the entity
//! sets, single entities `Things('id')`, navigation (`Things('id')/Datastreams`), and the
//! query options of [`query`] with the `$filter` subset of [`filter`]. Errors are
//! `{"code", "type": "error", "message"}` as FROST answers them.

mod create;
mod filter;
mod model;
mod query;

pub use create::{is_data_array, parse as parse_data_array};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use self::model::{Model, Node, Readings, SETS, navigations};
use self::query::Options;
use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::state::AppState;

pub const BASE: &str = "/sta/v1.1";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, get(root))
        .route(&format!("{BASE}/"), get(root))
        .route(
            &format!("{BASE}/CreateObservations"),
            axum::routing::post(create::create_observations),
        )
        .route(&format!("{BASE}/{{*path}}"), get(resource))
}

#[derive(Debug)]
pub struct Failure(StatusCode, String);

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        Failure(e.status, e.description)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (
            self.0,
            axum::Json(json!({"code": self.0.as_u16(), "type": "error", "message": self.1})),
        )
            .into_response()
    }
}

fn bad(message: impl Into<String>) -> Failure {
    Failure(StatusCode::BAD_REQUEST, message.into())
}

fn not_found(message: impl Into<String>) -> Failure {
    Failure(StatusCode::NOT_FOUND, message.into())
}

async fn root(base: BaseUrl) -> axum::Json<Value> {
    let value: Vec<Value> = SETS
        .iter()
        .map(|s| json!({"name": s, "url": base.join(&format!("{BASE}/{s}"))}))
        .collect();
    axum::Json(json!({
        "value": value,
        "serverSettings": {"conformance": [
            "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
            "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
            "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
        ]},
    }))
}

/// One path segment: a name with an optional key, `Things('a:b')`.
fn segment(text: &str) -> Result<(&str, Option<String>), Failure> {
    let Some((name, rest)) = text.split_once('(') else {
        return Ok((text, None));
    };
    let inner = rest
        .strip_suffix(')')
        .ok_or_else(|| bad(format!("{text}: a '(' is not closed")))?;
    let key = match inner.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')) {
        Some(k) => k.replace("''", "'"),
        None if !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit()) => inner.to_owned(),
        None => {
            return Err(bad(format!(
                "{text}: an id is a quoted string, like ('a:b')"
            )));
        }
    };
    Ok((name, Some(key)))
}

enum Target {
    One(Node),
    Many(&'static str, Vec<Node>),
}

async fn resource(
    State(state): State<AppState>,
    base: BaseUrl,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| bad(format!("query string: {e}")))?;
    let options =
        Options::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(bad)?;
    let path = path.trim_end_matches('/');
    let model = model::load(&state, wanted(path, &pairs)?).await?;
    let mut segments = path.split('/');
    let (first, key) = segment(segments.next().unwrap_or_default())?;
    let set = SETS
        .iter()
        .find(|s| **s == first)
        .ok_or_else(|| not_found(format!("no entity set '{first}'; see {BASE}")))?;
    let mut target = Target::Many(set, model.set(set));
    if let Some(key) = key {
        target = pick(target, &key)?;
    }
    let mut property = None;
    for text in segments {
        let (name, key) = segment(text)?;
        let Target::One(node) = &target else {
            return Err(bad(format!("{name}: name one entity by its id first")));
        };
        match navigations(node.set).iter().find(|(n, _, _)| *n == name) {
            Some(&(_, to, one)) => {
                let found = model.related(node, name).unwrap_or_default();
                target = if one {
                    Target::One(found.into_iter().next().ok_or_else(|| {
                        not_found(format!("{} '{}' has no {name}", node.set, node.id))
                    })?)
                } else {
                    Target::Many(to, found)
                };
                if let Some(key) = key {
                    target = pick(target, &key)?;
                }
            }
            None if key.is_none() && property.is_none() && node.json.get(name).is_some() => {
                property = Some(name.to_owned());
            }
            None => {
                return Err(not_found(format!("{} has no '{name}'", node.set)));
            }
        }
    }
    let set = match &target {
        Target::One(node) => node.set,
        Target::Many(set, _) => set,
    };
    check_expand(set, &options)?;
    let body = match target {
        Target::One(node) => {
            let mut entity = render(&model, &base, &node, &options);
            if let Some(p) = property {
                entity = json!({ &p: node.json[&p] });
            }
            entity
        }
        Target::Many(_, nodes) => {
            let mut page = list(&model, &base, nodes, &options, "");
            let total = page.1;
            if total > options.skip + options.top() {
                let mut next: Vec<(String, String)> =
                    pairs.into_iter().filter(|(k, _)| k != "$skip").collect();
                next.push(("$skip".into(), (options.skip + options.top()).to_string()));
                let query = serde_urlencoded::to_string(&next).unwrap_or_default();
                page.0.insert(
                    "@iot.nextLink".into(),
                    json!(base.join(&format!("{BASE}/{path}?{query}"))),
                );
            }
            Value::Object(page.0)
        }
    };
    Ok(axum::Json(body).into_response())
}

/// The readings a request needs: none unless it names `Observations`; one datastream's for
/// `Datastreams('id')/Observations` (without `Observations` in its options).
fn wanted(path: &str, pairs: &[(String, String)]) -> Result<Readings, Failure> {
    let in_options = pairs.iter().any(|(_, v)| v.contains("Observations"));
    if !path.contains("Observations") && !in_options {
        return Ok(Readings::None);
    }
    let mut segments = path.split('/');
    if let (Some(first), Some(second)) = (segments.next(), segments.next())
        && !in_options
        && second.starts_with("Observations")
        && let ("Datastreams", Some(id)) = segment(first)?
    {
        return Ok(Readings::Of(id));
    }
    Ok(Readings::All)
}

/// Refuses an `$expand` of a navigation property the set does not have.
fn check_expand(set: &str, options: &Options) -> Result<(), Failure> {
    for (nav, inner) in &options.expand {
        let &(_, to, _) = navigations(set)
            .iter()
            .find(|(n, _, _)| n == nav)
            .ok_or_else(|| {
                let known: Vec<&str> = navigations(set).iter().map(|(n, _, _)| *n).collect();
                bad(format!(
                    "$expand: {set} have no '{nav}' (they have {})",
                    known.join(", ")
                ))
            })?;
        check_expand(to, inner)?;
    }
    Ok(())
}

fn pick(target: Target, key: &str) -> Result<Target, Failure> {
    match target {
        Target::Many(set, nodes) => nodes
            .into_iter()
            .find(|n| n.id == key)
            .map(Target::One)
            .ok_or_else(|| not_found(format!("no {set} with id '{key}'"))),
        Target::One(node) => Err(bad(format!("{} '{}' is one entity", node.set, node.id))),
    }
}

/// A page of entities: `value` (under `prefix` for an expansion), `@iot.count` when asked;
/// and the number before paging.
fn list(
    model: &Model,
    base: &BaseUrl,
    nodes: Vec<Node>,
    options: &Options,
    prefix: &str,
) -> (Map<String, Value>, usize) {
    let mut rendered: Vec<(Value, Node)> =
        nodes.into_iter().map(|n| (plain(base, &n), n)).collect();
    if let Some(f) = &options.filter {
        rendered.retain(|(v, _)| filter::matches(f, v));
    }
    let mut values: Vec<Value> = rendered.iter().map(|(v, _)| v.clone()).collect();
    // Order the plain entities, keeping their nodes alongside.
    let mut order: Vec<usize> = (0..values.len()).collect();
    if !options.orderby.is_empty() {
        let opts = Options {
            orderby: options.orderby.clone(),
            ..Options::default()
        };
        let mut tagged: Vec<Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut v = v.clone();
                v["@sta.index"] = json!(i);
                v
            })
            .collect();
        opts.filter_and_order(&mut tagged);
        order = tagged
            .iter()
            .filter_map(|v| v["@sta.index"].as_u64().map(|i| i as usize))
            .collect();
    }
    let total = order.len();
    let page: Vec<Value> = order
        .into_iter()
        .skip(options.skip)
        .take(options.top())
        .map(|i| {
            let mut v = std::mem::take(&mut values[i]);
            expand(model, base, &rendered[i].1, &mut v, options);
            options.select(&mut v);
            v
        })
        .collect();
    let mut out = Map::new();
    if options.count {
        out.insert(format!("{prefix}@iot.count"), json!(total));
    }
    out.insert(
        if prefix.is_empty() {
            "value".into()
        } else {
            prefix.to_owned()
        },
        Value::Array(page),
    );
    (out, total)
}

/// An entity with its id and links.
fn plain(base: &BaseUrl, node: &Node) -> Value {
    let self_link = base.join(&format!(
        "{BASE}/{}('{}')",
        node.set,
        node.id.replace('\'', "''")
    ));
    let mut object = Map::new();
    object.insert("@iot.id".into(), json!(node.id));
    object.insert("@iot.selfLink".into(), json!(self_link));
    if let Value::Object(fields) = &node.json {
        object.extend(fields.clone());
    }
    for (nav, _, _) in navigations(node.set) {
        object.insert(
            format!("{nav}@iot.navigationLink"),
            json!(format!("{self_link}/{nav}")),
        );
    }
    Value::Object(object)
}

fn render(model: &Model, base: &BaseUrl, node: &Node, options: &Options) -> Value {
    let mut v = plain(base, node);
    expand(model, base, node, &mut v, options);
    options.select(&mut v);
    v
}

fn expand(model: &Model, base: &BaseUrl, node: &Node, v: &mut Value, options: &Options) {
    for (nav, inner) in &options.expand {
        let Some(&(_, _, one)) = navigations(node.set).iter().find(|(n, _, _)| n == nav) else {
            continue;
        };
        let related = model.related(node, nav).unwrap_or_default();
        if one {
            v[nav.as_str()] = related
                .first()
                .map(|r| render(model, base, r, inner))
                .unwrap_or(Value::Null);
        } else {
            let (fields, _) = list(model, base, related, inner, nav);
            if let Some(object) = v.as_object_mut() {
                object.extend(fields);
            }
        }
    }
}
