//! The DataStore actions over the datasets' tables.
//!
//! `datastore_search` turns its parameters into one SELECT whose identifiers come from the
//! dataset's schema and whose values are quoted literals, and runs it (and a count for the
//! total) through the shared read-only engine. Without `sort`, rows are ordered by every
//! returned column, so that paging with `offset` is stable. There is no `_id` column: a
//! table's rows have no numbers of their own (sorting by `_id` is the default order).
//!
//! `datastore_search_sql` runs the caller's query through the same engine, time and memory
//! limits as `/api/sql`; anything but one read-only query is a Validation Error.

use allmende_catalog::ckan::{CkanView, datastore_type};
use allmende_catalog::{Column, Manifest, Version, table_name};
use allmende_query::{QueryEngine, QueryError};
use serde_json::{Map, Value, json};

use super::{CkanError, Params};

/// `limit` when none is given (CKAN's default).
const DEFAULT_LIMIT: u64 = 100;

/// An SQL identifier in double quotes.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A query failure in CKAN's terms: what the caller can fix is a Validation Error on `field`.
fn query_error(field: &str, e: QueryError) -> CkanError {
    match e {
        QueryError::NotReadOnly(m) | QueryError::Invalid(m) => CkanError::validation(field, m),
        QueryError::Timeout(_)
        | QueryError::ResourcesExhausted(_)
        | QueryError::MemoryLimit { .. }
        | QueryError::Busy { .. } => CkanError::validation(field, e.to_string()),
        other => CkanError::internal(other),
    }
}

/// The dataset a `resource_id` names: any of its resource ids, or its own id.
fn table_of<'a>(view: &CkanView<'a>, resource: &str) -> Option<(&'a Manifest, &'a Version)> {
    if let Some((m, v, _)) = view.resource_by_id(resource) {
        return Some((m, v));
    }
    let m = view.catalog().get(resource)?;
    Some((m, m.latest()?))
}

fn column<'a>(v: &'a Version, name: &str, param: &str) -> Result<&'a Column, CkanError> {
    v.columns
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| CkanError::validation(param, format!("field \"{name}\" not in table")))
}

/// A JSON filter value as an SQL literal of the column's type.
fn typed_literal(c: &Column, value: &Value) -> Result<String, CkanError> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => {
            return Err(CkanError::validation(
                "filters",
                format!(
                    "the value for \"{}\" must be text, a number or a boolean",
                    c.name
                ),
            ));
        }
    };
    let wrong = |kind: &str| {
        CkanError::validation(
            "filters",
            format!("\"{text}\" is not {kind} (column \"{}\")", c.name),
        )
    };
    Ok(match c.data_type.as_str() {
        "integer" => text
            .trim()
            .parse::<i64>()
            .map_err(|_| wrong("an integer"))?
            .to_string(),
        "number" => {
            let n = text.trim().parse::<f64>().map_err(|_| wrong("a number"))?;
            if !n.is_finite() {
                return Err(wrong("a finite number"));
            }
            format!("{n:?}")
        }
        "boolean" => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => "TRUE".to_owned(),
            "false" | "f" | "0" => "FALSE".to_owned(),
            _ => return Err(wrong("a boolean")),
        },
        "date" => format!("CAST({} AS DATE)", literal(text.trim())),
        "datetime" => format!("CAST({} AS TIMESTAMP)", literal(text.trim())),
        "geometry" => {
            return Err(CkanError::validation(
                "filters",
                format!("cannot filter on the geometry column \"{}\"", c.name),
            ));
        }
        _ => literal(&text),
    })
}

/// A condition that every word of `text` occurs in the text of `columns` (any case).
fn contains_words(columns: &[&Column], text: &str) -> Option<String> {
    let haystack = match columns {
        [] => return None,
        [c] => format!("lower(CAST({} AS VARCHAR))", ident(&c.name)),
        _ => format!(
            "lower(concat_ws(' ', {}))",
            columns
                .iter()
                .map(|c| format!("CAST({} AS VARCHAR)", ident(&c.name)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let conditions: Vec<String> = text
        .split_whitespace()
        .map(|w| format!("strpos({haystack}, {}) > 0", literal(&w.to_lowercase())))
        .collect();
    (!conditions.is_empty()).then(|| conditions.join(" AND "))
}

/// Parses `sort`: "column", "column desc", comma-separated, or a JSON list of those.
fn order_by(v: &Version, sort: &[String]) -> Result<Vec<String>, CkanError> {
    let mut terms = Vec::new();
    for part in sort.iter().flat_map(|s| s.split(',')) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (name, dir) = match part.rsplit_once(char::is_whitespace) {
            Some((name, dir)) if dir.eq_ignore_ascii_case("desc") => (name.trim(), "DESC"),
            Some((name, dir)) if dir.eq_ignore_ascii_case("asc") => (name.trim(), "ASC"),
            _ => (part, "ASC"),
        };
        let name = name
            .strip_prefix('"')
            .and_then(|n| n.strip_suffix('"'))
            .unwrap_or(name);
        if name == "_id" {
            continue; // the default order
        }
        let c = column(v, name, "sort")?;
        terms.push(format!("{} {dir} NULLS LAST", ident(&c.name)));
    }
    Ok(terms)
}

fn records_from(table: &allmende_query::ResultTable, format: &str) -> Result<Value, CkanError> {
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    let rows = table.rows.iter().map(|row| {
        row.iter()
            .map(|raw| serde_json::from_str::<Value>(raw.get()).map_err(CkanError::internal))
            .collect::<Result<Vec<Value>, CkanError>>()
    });
    match format {
        "lists" => Ok(Value::Array(
            rows.map(|r| r.map(Value::Array))
                .collect::<Result<_, _>>()?,
        )),
        "csv" => {
            let mut out = String::new();
            for row in rows {
                let cells: Vec<String> = row?
                    .into_iter()
                    .map(|v| match v {
                        Value::Null => String::new(),
                        Value::String(s) if s.contains([',', '"', '\n', '\r']) => {
                            format!("\"{}\"", s.replace('"', "\"\""))
                        }
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .collect();
                out.push_str(&cells.join(","));
                out.push_str("\r\n");
            }
            Ok(Value::String(out))
        }
        _ => Ok(Value::Array(
            rows.map(|r| {
                r.map(|values| {
                    Value::Object(
                        names
                            .iter()
                            .map(|n| (*n).to_owned())
                            .zip(values)
                            .collect::<Map<String, Value>>(),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        )),
    }
}

pub async fn search(
    engine: &QueryEngine,
    view: &CkanView<'_>,
    params: &Params,
) -> Result<Value, CkanError> {
    let resource = match params.string("resource_id")? {
        Some(r) if !r.trim().is_empty() => r,
        _ => params
            .required_string("id")
            .map_err(|_| CkanError::validation("resource_id", "Missing value"))?,
    };
    let resource = resource.trim().to_owned();
    let (m, v) = table_of(view, &resource)
        .ok_or_else(|| CkanError::not_found(format!("Resource \"{resource}\" was not found.")))?;

    // Columns to return.
    let selected: Vec<&Column> = match params.string_list("fields")? {
        Some(names) => names
            .iter()
            .filter(|n| n.as_str() != "_id")
            .map(|n| column(v, n, "fields"))
            .collect::<Result<_, _>>()?,
        None => v.columns.iter().collect(),
    };
    if selected.is_empty() {
        return Err(CkanError::validation("fields", "no fields to return"));
    }

    // Conditions.
    let mut conditions = Vec::new();
    match params.json("filters")? {
        None => {}
        Some(Value::Object(filters)) => {
            for (name, value) in &filters {
                let c = column(v, name, "filters")?;
                let condition = match value {
                    Value::Array(values) if values.is_empty() => "FALSE".to_owned(),
                    Value::Array(values) => format!(
                        "{} IN ({})",
                        ident(&c.name),
                        values
                            .iter()
                            .map(|x| typed_literal(c, x))
                            .collect::<Result<Vec<_>, _>>()?
                            .join(", ")
                    ),
                    Value::Null => format!("{} IS NULL", ident(&c.name)),
                    one => format!("{} = {}", ident(&c.name), typed_literal(c, one)?),
                };
                conditions.push(condition);
            }
        }
        Some(_) => return Err(CkanError::validation("filters", "Not a json object")),
    }
    let text_columns: Vec<&Column> = v
        .columns
        .iter()
        .filter(|c| c.data_type != "geometry")
        .collect();
    match params.json("q")? {
        None => {}
        Some(Value::Object(per_column)) => {
            for (name, text) in &per_column {
                let c = column(v, name, "q")?;
                let text = match text {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                conditions.extend(contains_words(&[c], &text));
            }
        }
        Some(Value::String(text)) => conditions.extend(contains_words(&text_columns, &text)),
        Some(other) => {
            conditions.extend(contains_words(&text_columns, &other.to_string()));
        }
    }

    let distinct = params.boolean("distinct", false)?;
    let mut sort = match params.get("sort") {
        Some(Value::Array(_)) => params.string_list("sort")?.unwrap_or_default(),
        _ => params.string("sort")?.into_iter().collect(),
    };
    let mut order = order_by(v, &sort)?;
    if order.is_empty() {
        // Every returned column, so that pages do not overlap or skip rows.
        order = selected
            .iter()
            .filter(|c| c.data_type != "geometry")
            .map(|c| format!("{} ASC NULLS LAST", ident(&c.name)))
            .collect();
    }
    let max = engine.limits().max_json_rows as u64;
    let limit = params
        .natural("limit", Some(DEFAULT_LIMIT))?
        .unwrap_or(DEFAULT_LIMIT)
        .min(max);
    let offset = params.natural("offset", Some(0))?.unwrap_or(0);
    let include_total = params.boolean("include_total", true)?;
    let records_format = params
        .string("records_format")?
        .unwrap_or_else(|| "objects".to_owned());
    if !matches!(records_format.as_str(), "objects" | "lists" | "csv") {
        return Err(CkanError::validation(
            "records_format",
            "Must be objects, lists or csv",
        ));
    }

    let table = ident(&table_name(&m.id));
    let columns = selected
        .iter()
        .map(|c| ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let distinct_kw = if distinct { "DISTINCT " } else { "" };
    let select = format!("SELECT {distinct_kw}{columns} FROM {table}{filter}");
    let order_sql = if order.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", order.join(", "))
    };
    let sql = format!("{select}{order_sql} LIMIT {limit} OFFSET {offset}");
    let (schema, batches, _) = engine
        .collect(&sql, usize::try_from(limit).unwrap_or(usize::MAX))
        .await
        .map_err(|e| query_error("query", e))?;
    let result = allmende_query::to_json_table(&schema, &batches, false)
        .map_err(|e| query_error("query", e))?;
    let records = records_from(&result, &records_format)?;

    let mut answer = json!({
        "resource_id": resource,
        "fields": selected.iter().map(|c| field_info(c)).collect::<Vec<_>>(),
        "records": records,
        "records_format": records_format,
        "limit": limit,
        "offset": offset,
        "include_total": include_total,
        "total_estimation_threshold": null,
        "_links": links(params, &resource, limit, offset),
    });
    for key in ["filters", "q", "distinct"] {
        if let Some(value) = params.get(key) {
            answer[key] = value.clone();
        }
    }
    if !sort.is_empty() {
        answer["sort"] = std::mem::take(&mut sort).join(", ").into();
    }
    if include_total {
        let (schema, batches, _) = engine
            .collect(
                &format!("SELECT count(*) AS total FROM ({select}) AS hits"),
                1,
            )
            .await
            .map_err(|e| query_error("query", e))?;
        let counted = allmende_query::to_json_table(&schema, &batches, false)
            .map_err(|e| query_error("query", e))?;
        let total = counted
            .rows
            .first()
            .and_then(|r| r.first())
            .and_then(|raw| raw.get().parse::<u64>().ok())
            .ok_or_else(|| CkanError::internal("count(*) returned no number"))?;
        answer["total"] = total.into();
        answer["total_was_estimated"] = false.into();
    }
    Ok(answer)
}

fn field_info(c: &Column) -> Value {
    let mut f = json!({ "id": c.name, "type": datastore_type(&c.data_type) });
    if let Some(d) = &c.description {
        f["info"] = json!({ "label": c.name, "notes": d });
    }
    f
}

/// CKAN's `_links`: the first page and the next one, as paths with the call's parameters.
fn links(params: &Params, resource: &str, limit: u64, offset: u64) -> Value {
    let mut pairs: Vec<(String, String)> = params
        .pairs()
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "offset" | "resource_id" | "id" | "limit"))
        .collect();
    pairs.insert(0, ("resource_id".to_owned(), resource.to_owned()));
    pairs.push(("limit".to_owned(), limit.to_string()));
    let path = |pairs: &[(String, String)]| {
        format!(
            "/api/3/action/datastore_search?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    };
    let start = path(&pairs);
    pairs.push(("offset".to_owned(), (offset + limit).to_string()));
    json!({ "start": start, "next": path(&pairs) })
}

/// The DataStore type of an Arrow type (as `ResultColumn` spells it).
fn arrow_type(data_type: &str) -> &'static str {
    let t = data_type.to_ascii_lowercase();
    if t.starts_with("int") || t.starts_with("uint") {
        "int"
    } else if t.starts_with("float") || t.starts_with("decimal") {
        "numeric"
    } else if t == "boolean" {
        "bool"
    } else if t.starts_with("date") {
        "date"
    } else if t.starts_with("timestamp") {
        "timestamp"
    } else {
        "text"
    }
}

pub async fn search_sql(
    engine: &QueryEngine,
    view: &CkanView<'_>,
    params: &Params,
) -> Result<Value, CkanError> {
    let sql = params.required_string("sql")?;
    let sql = rewrite_resource_tables(&sql, |name| {
        table_of(view, name).map(|(m, _)| table_name(&m.id))
    });
    let max = engine.limits().max_json_rows;
    let (schema, batches, truncated) = engine
        .collect(&sql, max)
        .await
        .map_err(|e| query_error("sql", e))?;
    let table = allmende_query::to_json_table(&schema, &batches, truncated)
        .map_err(|e| query_error("sql", e))?;
    let mut answer = json!({
        "sql": sql,
        "fields": table
            .columns
            .iter()
            .map(|c| json!({ "id": c.name, "type": arrow_type(&c.data_type) }))
            .collect::<Vec<_>>(),
        "records": records_from(&table, "objects")?,
    });
    if truncated {
        answer["records_truncated"] = true.into();
    }
    Ok(answer)
}

/// Replaces double-quoted identifiers that name a resource (`"pegel-nrw-csv"`, as CKAN users
/// write table names) or a dataset by the table's name; strings and comments stay as they are.
fn rewrite_resource_tables(sql: &str, table: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    // The end of a quoted run starting at `start` with quote `q` (doubled quotes escape).
    let closing = |start: usize, q: char| -> usize {
        let mut j = start + 1;
        while let Some(k) = sql[j..].find(q) {
            let at = j + k;
            if sql[at + 1..].starts_with(q) {
                j = at + 2;
            } else {
                return at + 1;
            }
        }
        sql.len()
    };
    while i < sql.len() {
        let rest = &sql[i..];
        let end = if rest.starts_with("--") {
            rest.find('\n').map_or(sql.len(), |e| i + e)
        } else if let Some(comment) = rest.strip_prefix("/*") {
            comment.find("*/").map_or(sql.len(), |e| i + 2 + e + 2)
        } else if rest.starts_with('\'') {
            closing(i, '\'')
        } else if rest.starts_with('"') {
            let end = closing(i, '"');
            if end - i >= 2 && sql[..end].ends_with('"') {
                let name = sql[i + 1..end - 1].replace("\"\"", "\"");
                if let Some(t) = table(&name) {
                    out.push_str(&ident(&t));
                    i = end;
                    continue;
                }
            }
            end
        } else {
            i + rest.chars().next().map_or(1, char::len_utf8)
        };
        out.push_str(&sql[i..end]);
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_in_double_quotes_become_table_names() {
        let table = |name: &str| (name == "pegel-nrw-csv").then(|| "pegel_nrw".to_owned());
        assert_eq!(
            rewrite_resource_tables(
                r#"SELECT "Name", '"pegel-nrw-csv"' FROM "pegel-nrw-csv" -- "pegel-nrw-csv""#,
                table
            ),
            r#"SELECT "Name", '"pegel-nrw-csv"' FROM "pegel_nrw" -- "pegel-nrw-csv""#
        );
        assert_eq!(
            rewrite_resource_tables(r#"SELECT 'it''s', "a""b" FROM "#, table),
            r#"SELECT 'it''s', "a""b" FROM "#
        );
        assert_eq!(
            rewrite_resource_tables("SELECT \"unclosed", table),
            "SELECT \"unclosed"
        );
    }

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(ident("Ist \"2015\""), "\"Ist \"\"2015\"\"\"");
        assert_eq!(literal("O'Brien"), "'O''Brien'");
        let c = |t: &str| -> Column {
            serde_json::from_value(json!({ "name": "x", "type": t, "null_count": 0 }))
                .expect("column")
        };
        assert_eq!(
            typed_literal(&c("integer"), &json!("42")).expect("int"),
            "42"
        );
        assert!(typed_literal(&c("integer"), &json!("4x")).is_err());
        assert_eq!(
            typed_literal(&c("number"), &json!(1.5)).expect("num"),
            "1.5"
        );
        assert_eq!(typed_literal(&c("string"), &json!(7)).expect("str"), "'7'");
        assert_eq!(
            typed_literal(&c("date"), &json!("2013-01-01")).expect("date"),
            "CAST('2013-01-01' AS DATE)"
        );
        assert!(typed_literal(&c("geometry"), &json!("POINT(1 2)")).is_err());
    }
}
