//! CKAN's action API (the part a read-only CKAN 2.10 site answers), under `/api/3/action/{name}`
//! and `/api/action/{name}`: GET with the parameters in the query string, POST with a JSON
//! object (or a form) as body. Answers have CKAN's envelope, `{"help", "success": true,
//! "result"}`, and errors CKAN's shape and statuses: `Not Found Error` 404, `Validation Error`
//! 409, `Search Query Error` and bad requests 400.
//!
//! The catalogue actions are in [`catalogue`], the DataStore actions (rows of a dataset's
//! table, and read-only SQL through the same engine and limits as `/api/sql`) in [`datastore`].

mod catalogue;
mod datastore;

use allmende_catalog::ckan::CkanView;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::base_url::BaseUrl;
use crate::error::ApiError;
use crate::state::AppState;

/// The actions with what `help_show` says about them.
const ACTIONS: &[(&str, &str)] = &[
    (
        "package_list",
        "The names of all datasets, ordered by name. Parameters: limit, offset.",
    ),
    (
        "package_show",
        "One dataset as a CKAN package: metadata, tags, organization, and one resource per \
         download format of the latest version. Parameters: id.",
    ),
    (
        "package_search",
        "Searches the datasets. Parameters: q (words, or field:value terms), fq (filters such \
         as tags:Pegel, organization:name, res_format:CSV, license_id:dl-by-de/2.0, \
         metadata_modified:[2024-01-01T00:00:00Z TO *]), rows (at most 1000), start, sort \
         (score, name, title, metadata_modified, metadata_created, num_resources with asc or \
         desc), facet.field (a JSON list of tags, organization, res_format, license_id, groups), \
         facet.limit, facet.mincount. Returns count, results, facets and search_facets.",
    ),
    (
        "current_package_list_with_resources",
        "Datasets with their resources, most recently modified first. Parameters: limit, offset.",
    ),
    (
        "organization_list",
        "The publishers as organizations. Parameters: all_fields, sort (name, title or \
         package_count with asc or desc), limit, offset, organizations.",
    ),
    (
        "organization_show",
        "One organization. Parameters: id, include_datasets.",
    ),
    ("tag_list", "All keywords. Parameters: query, all_fields."),
    ("license_list", "The licences datasets may have."),
    (
        "status_show",
        "What this site is and which CKAN API it follows.",
    ),
    (
        "resource_show",
        "One resource (a download of a dataset). Parameters: id.",
    ),
    (
        "datastore_search",
        "Rows of a dataset's table. Parameters: resource_id (any resource id of the dataset, \
         or its id), filters (a JSON object of column: value or list of values), q (words every \
         row must contain, or a JSON object of column: words), fields, sort (\"column desc, \
         other\"), distinct, limit (default 100), offset, include_total, records_format \
         (objects, lists or csv).",
    ),
    (
        "datastore_search_sql",
        "One read-only SQL query (SELECT, WITH, VALUES) over the datasets' tables, with the \
         limits of /api/sql. A table is named after its dataset id with - replaced by _, or \
         by a resource id in double quotes. Parameters: sql.",
    ),
    ("help_show", "What an action does. Parameters: name."),
];

/// One action call: GET or POST on either route prefix.
pub async fn action(
    State(state): State<AppState>,
    Path(name): Path<String>,
    base: BaseUrl,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let known = ACTIONS.iter().any(|(n, _)| *n == name);
    let help = base.join(&format!(
        "/api/3/action/help_show?name={}",
        if known { name.as_str() } else { "help_show" }
    ));
    let result = match Params::parse(query.as_deref(), &headers, &body) {
        Ok(params) => run(&state, &base, &name, &params).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(result) => {
            Json(json!({ "help": help, "success": true, "result": result })).into_response()
        }
        Err(e) => e.into_response(&help),
    }
}

async fn run(
    state: &AppState,
    base: &BaseUrl,
    name: &str,
    params: &Params,
) -> Result<Value, CkanError> {
    let snapshot = state.snapshot().await.map_err(CkanError::from)?;
    let view = CkanView::new(&snapshot.catalog, &base.0);
    match name {
        "package_list" => catalogue::package_list(&view, params),
        "package_show" => catalogue::package_show(&view, params),
        "package_search" => catalogue::package_search(&view, params),
        "current_package_list_with_resources" => {
            catalogue::current_package_list_with_resources(&view, params)
        }
        "organization_list" => catalogue::organization_list(&view, params),
        "organization_show" => catalogue::organization_show(&view, params),
        "tag_list" => catalogue::tag_list(&view, params),
        "license_list" => Ok(Value::from(allmende_catalog::ckan::licence_list())),
        "status_show" => Ok(catalogue::status_show(base)),
        "resource_show" => catalogue::resource_show(&view, params),
        "datastore_search" => datastore::search(&snapshot.engine, &view, params).await,
        "datastore_search_sql" => datastore::search_sql(&snapshot.engine, &view, params).await,
        "help_show" => {
            let wanted = params.required_string("name")?;
            ACTIONS
                .iter()
                .find(|(n, _)| *n == wanted)
                .map(|(_, doc)| Value::from(*doc))
                .ok_or_else(|| CkanError::not_found(format!("Action {wanted} not found")))
        }
        _ => Err(CkanError::bad_request(format!(
            "Action name not known: {name} (this site answers {})",
            ACTIONS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// A failed action in CKAN's terms.
#[derive(Debug)]
pub struct CkanError {
    status: StatusCode,
    kind: &'static str,
    message: String,
    /// Validation errors per parameter, as CKAN lists them next to `__type`.
    fields: Vec<(String, String)>,
}

impl CkanError {
    pub fn not_found(message: impl Into<String>) -> Self {
        CkanError {
            status: StatusCode::NOT_FOUND,
            kind: "Not Found Error",
            message: format!("Not found: {}", message.into()),
            fields: Vec::new(),
        }
    }

    /// A parameter with a missing or wrong value.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        CkanError {
            status: StatusCode::CONFLICT,
            kind: "Validation Error",
            message: format!("{field}: {message}"),
            fields: vec![(field.to_owned(), message)],
        }
    }

    pub fn search_query(message: impl Into<String>) -> Self {
        CkanError {
            status: StatusCode::BAD_REQUEST,
            kind: "Search Query Error",
            message: format!("Search Query is invalid: {}", message.into()),
            fields: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        CkanError {
            status: StatusCode::BAD_REQUEST,
            kind: "Bad request",
            message: format!("Bad request - {}", message.into()),
            fields: Vec::new(),
        }
    }

    /// A server-side failure: logged, reported in general terms.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!("internal error in the CKAN API: {cause}");
        CkanError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "Internal Server Error",
            message: "the server could not complete the request".to_owned(),
            fields: Vec::new(),
        }
    }

    fn into_response(self, help: &str) -> Response {
        let mut error = Map::new();
        error.insert("__type".into(), self.kind.into());
        error.insert("message".into(), self.message.into());
        for (field, message) in self.fields {
            error.insert(field, json!([message]));
        }
        (
            self.status,
            Json(json!({ "help": help, "success": false, "error": error })),
        )
            .into_response()
    }
}

impl From<ApiError> for CkanError {
    fn from(e: ApiError) -> Self {
        if e.status.is_server_error() {
            // Already logged where it was made.
            CkanError {
                status: e.status,
                kind: "Internal Server Error",
                message: e.description,
                fields: Vec::new(),
            }
        } else {
            CkanError {
                status: e.status,
                kind: "Bad request",
                message: e.description,
                fields: Vec::new(),
            }
        }
    }
}

/// The parameters of a call: the query string, overlaid by the body's JSON object or form.
/// GET parameters are all strings (and lists and objects JSON text, as CKAN clients send
/// them); the accessors accept both spellings.
#[derive(Debug, Default)]
pub struct Params(Map<String, Value>);

impl Params {
    fn parse(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Params, CkanError> {
        let mut params = Map::new();
        let add_pairs = |pairs: Vec<(String, String)>, params: &mut Map<String, Value>| {
            for (k, v) in pairs {
                match params.get_mut(&k) {
                    Some(Value::Array(list)) => list.push(v.into()),
                    Some(existing) => {
                        let first = existing.take();
                        *existing = json!([first, v]);
                    }
                    None => {
                        params.insert(k, v.into());
                    }
                }
            }
        };
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .map_err(|e| CkanError::bad_request(format!("invalid query string: {e}")))?;
            add_pairs(pairs, &mut params);
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| CkanError::bad_request("the body is not UTF-8"))?
            .trim();
        if !text.is_empty() {
            let form = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
            if form && !text.starts_with('{') {
                let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(text)
                    .map_err(|e| CkanError::bad_request(format!("invalid form body: {e}")))?;
                let mut body_params = Map::new();
                add_pairs(pairs, &mut body_params);
                params.extend(body_params);
            } else {
                match serde_json::from_str::<Value>(text) {
                    Ok(Value::Object(body)) => params.extend(body),
                    Ok(_) => {
                        return Err(CkanError::bad_request(
                            "JSON Error: the body must be a JSON object",
                        ));
                    }
                    Err(e) => return Err(CkanError::bad_request(format!("JSON Error: {e}"))),
                }
            }
        }
        Ok(Params(params))
    }

    /// The value of a parameter; JSON null counts as absent.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// All parameters as query-string pairs (lists and objects as JSON text).
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()
    }

    pub fn string(&self, key: &str) -> Result<Option<String>, CkanError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            Some(_) => Err(CkanError::validation(key, "Must be a string")),
        }
    }

    pub fn required_string(&self, key: &str) -> Result<String, CkanError> {
        self.string(key)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| CkanError::validation(key, "Missing value"))
    }

    /// A whole number ≥ 0, or `default` when absent or empty.
    pub fn natural(&self, key: &str, default: Option<u64>) -> Result<Option<u64>, CkanError> {
        let invalid = || CkanError::validation(key, "Must be a natural number");
        match self.get(key) {
            None => Ok(default),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(invalid),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(default),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid()),
            Some(_) => Err(invalid()),
        }
    }

    /// A whole number, possibly negative (`facet.limit=-1`).
    pub fn integer(&self, key: &str, default: i64) -> Result<i64, CkanError> {
        let invalid = || CkanError::validation(key, "Invalid integer");
        match self.get(key) {
            None => Ok(default),
            Some(Value::Number(n)) => n.as_i64().ok_or_else(invalid),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(default),
            Some(Value::String(s)) => s.trim().parse().map_err(|_| invalid()),
            Some(_) => Err(invalid()),
        }
    }

    pub fn boolean(&self, key: &str, default: bool) -> Result<bool, CkanError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Number(n)) => Ok(n.as_f64() != Some(0.0)),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
                "false" | "0" | "no" | "off" | "f" | "n" | "" => Ok(false),
                _ => Err(CkanError::validation(key, "Must be a boolean")),
            },
            Some(_) => Err(CkanError::validation(key, "Must be a boolean")),
        }
    }

    /// A list of strings: a JSON list, JSON text of a list, or comma-separated text.
    pub fn string_list(&self, key: &str) -> Result<Option<Vec<String>>, CkanError> {
        let invalid = || CkanError::validation(key, "Must be a list of strings");
        let from_array = |items: &[Value]| {
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(_) | Value::Bool(_) => Ok(v.to_string()),
                    _ => Err(invalid()),
                })
                .collect::<Result<Vec<_>, _>>()
        };
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => from_array(items).map(Some),
            Some(Value::String(s)) if s.trim_start().starts_with('[') => {
                match serde_json::from_str::<Value>(s) {
                    Ok(Value::Array(items)) => from_array(&items).map(Some),
                    _ => Err(invalid()),
                }
            }
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect(),
            )),
            Some(_) => Err(invalid()),
        }
    }

    /// A JSON value given as JSON or as JSON text.
    pub fn json(&self, key: &str) -> Result<Option<Value>, CkanError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => {
                let t = s.trim();
                if t.starts_with('{') || t.starts_with('[') {
                    serde_json::from_str(t)
                        .map(Some)
                        .map_err(|e| CkanError::validation(key, format!("Invalid JSON: {e}")))
                } else {
                    Ok(Some(Value::String(s.clone())))
                }
            }
            Some(v) => Ok(Some(v.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str, content_type: &str, body: &str) -> Result<Params, CkanError> {
        let mut headers = HeaderMap::new();
        if !content_type.is_empty() {
            headers.insert(
                header::CONTENT_TYPE,
                content_type.parse().expect("header value"),
            );
        }
        Params::parse(Some(query), &headers, body.as_bytes())
    }

    #[test]
    fn query_string_and_json_body_give_the_same_parameters() {
        let get = parse(
            "rows=5&facet.field=%5B%22tags%22%5D&fq=tags:Pegel&facet=false",
            "",
            "",
        )
        .expect("query");
        let post = parse(
            "",
            "application/json",
            r#"{"rows": 5, "facet.field": ["tags"], "fq": "tags:Pegel", "facet": false}"#,
        )
        .expect("body");
        for p in [&get, &post] {
            assert_eq!(p.natural("rows", Some(10)).expect("rows"), Some(5));
            assert_eq!(
                p.string_list("facet.field").expect("list"),
                Some(vec!["tags".to_owned()])
            );
            assert_eq!(p.string("fq").expect("fq").as_deref(), Some("tags:Pegel"));
            assert!(!p.boolean("facet", true).expect("bool"));
        }
        // ckanapi sends KEY=STRING arguments as JSON strings.
        let strings = parse("", "application/json", r#"{"limit": "5"}"#).expect("body");
        assert_eq!(strings.natural("limit", None).expect("limit"), Some(5));
        let form = parse("", "application/x-www-form-urlencoded", "id=a&id=b").expect("form");
        assert_eq!(
            form.string_list("id").expect("list"),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
    }

    #[test]
    fn bad_values_are_validation_errors() {
        let p = parse("rows=-1&facet=maybe", "", "").expect("query");
        let e = p.natural("rows", None).expect_err("negative");
        assert_eq!(
            (e.status, e.kind),
            (StatusCode::CONFLICT, "Validation Error")
        );
        assert!(p.boolean("facet", true).is_err());
        assert!(p.required_string("id").is_err());
        let e = parse("", "application/json", "[1]").expect_err("not an object");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
}
