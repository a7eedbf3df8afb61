//! The CKAN action API of the demo server: CKAN's envelope and error shapes over HTTP, and the
//! real `ckanapi` client (PyPI) searching, dumping and reading the DataStore. Expectations come
//! from the bundled `dataset.toml` and source files, read with Python's standard library.
//!
//! The `ckanapi` tests skip with a message when the command is missing, unless
//! `ALLMENDE_REQUIRE_TOOLS=1` (CI sets it after `pip install ckanapi`).

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::{Value, json};

use crate::{BUNDLED, count_with_python, demo, http, repo, sha256_hex};

/// Whether `command --help` runs; skips with a message, or fails under CI.
pub fn have_command(command: &str, install: &str) -> bool {
    crate::have_tool(command, "--help", install)
}

/// Runs a Python script over arguments and parses the JSON it prints.
fn python_json(script: &str, args: &[&str]) -> Value {
    let out = Command::new("python3")
        .args(["-c", script])
        .args(args)
        .output()
        .expect("python3 is part of the machine");
    assert!(
        out.status.success(),
        "python3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from python")
}

/// `{id: {title, description, keywords, publisher}}` of the bundled datasets, read from their
/// `dataset.toml` with Python's tomllib.
fn bundled_meta() -> Value {
    let script = r#"
import json, pathlib, sys, tomllib
out = {}
for d in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    t = d / "dataset.toml"
    if t.is_file():
        m = tomllib.loads(t.read_text(encoding="utf-8"))
        out[m.get("id", d.name)] = {k: m.get(k, "") for k in ("title", "description", "keywords", "publisher")}
print(json.dumps(out))
"#;
    let datasets = repo().join("datasets");
    python_json(script, &[datasets.to_str().expect("utf-8 path")])
}

/// Calls an action; `post` sends the parameters as a JSON body, else as a query string.
fn call(prefix: &str, action: &str, params: &Value, post: bool) -> (u16, Value) {
    let url = demo().url(&format!("{prefix}/{action}"));
    let request = if post {
        http().post(&url).json(params)
    } else {
        let pairs: Vec<(String, String)> = params
            .as_object()
            .expect("object")
            .iter()
            .map(|(k, v)| {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                (k.clone(), text)
            })
            .collect();
        http().get(&url).query(&pairs)
    };
    let response = request.send().expect("CKAN action");
    let status = response.status().as_u16();
    let text = response.text().expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"));
    (status, body)
}

fn result(action: &str, params: Value) -> Value {
    let (status, body) = call("/api/3/action", action, &params, true);
    assert_eq!(status, 200, "{action} {params}: {body}");
    assert_eq!(body["success"], true, "{body}");
    body["result"].clone()
}

fn ids() -> Vec<String> {
    BUNDLED.iter().map(|(id, _, _)| (*id).to_owned()).collect()
}

#[test]
fn ckan_actions_answer_in_ckans_envelope_on_both_prefixes() {
    for prefix in ["/api/3/action", "/api/action"] {
        for post in [false, true] {
            let (status, body) = call(prefix, "package_list", &json!({}), post);
            assert_eq!(status, 200, "{prefix} post={post}: {body}");
            assert_eq!(body["success"], true);
            assert_eq!(body["result"], json!(ids()));
            let help = body["help"].as_str().expect("help");
            assert!(
                help.starts_with(&demo().base)
                    && help.ends_with("/api/3/action/help_show?name=package_list"),
                "{help}"
            );
        }
    }
    let paged = result("package_list", json!({ "limit": "2", "offset": 1 }));
    assert_eq!(paged, json!(ids()[1..3]));

    // Errors: CKAN's __type and status codes.
    let (status, body) = call(
        "/api/action",
        "package_show",
        &json!({ "id": "nope" }),
        false,
    );
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["__type"], "Not Found Error");
    let (status, body) = call("/api/3/action", "package_show", &json!({}), true);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["__type"], "Validation Error");
    assert_eq!(body["error"]["id"], json!(["Missing value"]));
    let (status, body) = call("/api/3/action", "package_create", &json!({}), true);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["success"], false);
    let (status, body) = call(
        "/api/3/action",
        "package_search",
        &json!({ "fq": "colour:blue" }),
        false,
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["__type"], "Search Query Error");
    let response = http()
        .post(demo().url("/api/3/action/package_list"))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .expect("POST");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().expect("JSON error");
    assert_eq!(body["success"], false);
}

#[test]
fn ckan_packages_resources_and_organizations_follow_the_sources() {
    let meta = bundled_meta();
    let meta = meta.as_object().expect("object");
    for (id, source) in meta {
        let package = result("package_show", json!({ "id": id }));
        assert_eq!(package["name"], *id);
        assert_eq!(package["title"], source["title"]);
        let tags: Vec<&Value> = package["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|t| &t["name"])
            .collect();
        let keywords: Vec<&Value> = source["keywords"]
            .as_array()
            .expect("keywords")
            .iter()
            .collect();
        assert_eq!(tags, keywords, "{id}");
        assert_eq!(
            package["organization"]["title"], source["publisher"],
            "{id}"
        );
        let resources = package["resources"].as_array().expect("resources");
        assert_eq!(package["num_resources"], resources.len());
        for resource in resources {
            // Every resource downloads, with the size and checksum it states.
            let url = resource["url"].as_str().expect("url");
            assert!(url.starts_with(&demo().base), "{url}");
            let bytes = http()
                .get(url)
                .send()
                .expect("download")
                .bytes()
                .expect("bytes");
            assert_eq!(resource["size"], bytes.len(), "{url}");
            assert_eq!(
                resource["hash"],
                format!("sha256:{}", sha256_hex(&bytes)),
                "{url}"
            );
            let shown = result("resource_show", json!({ "id": resource["id"] }));
            assert_eq!(shown, *resource);
        }
    }

    // Organizations are the distinct publishers.
    let publishers: BTreeSet<&str> = meta
        .values()
        .map(|m| m["publisher"].as_str().expect("publisher"))
        .collect();
    let orgs = result("organization_list", json!({ "all_fields": true }));
    let titles: BTreeSet<&str> = orgs
        .as_array()
        .expect("orgs")
        .iter()
        .map(|o| o["title"].as_str().expect("title"))
        .collect();
    assert_eq!(titles, publishers);
    for org in orgs.as_array().expect("orgs") {
        let shown = result(
            "organization_show",
            json!({ "id": org["name"], "include_datasets": true }),
        );
        let expected = meta
            .values()
            .filter(|m| m["publisher"] == org["title"])
            .count();
        assert_eq!(shown["package_count"], expected);
        assert_eq!(
            shown["packages"].as_array().expect("packages").len(),
            expected
        );
    }

    // Tags are the keywords, licences include every licence used.
    let keywords: BTreeSet<&str> = meta
        .values()
        .flat_map(|m| m["keywords"].as_array().expect("keywords"))
        .map(|k| k.as_str().expect("keyword"))
        .collect();
    let tags = result("tag_list", json!({}));
    let tags: BTreeSet<&str> = tags
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t.as_str().expect("tag"))
        .collect();
    assert_eq!(tags, keywords);
    assert!(
        result("license_list", json!({}))
            .as_array()
            .expect("licences")
            .iter()
            .any(|l| l["id"] == "dl-by-de/2.0")
    );
    assert!(result("status_show", json!({}))["ckan_version"].is_string());
}

#[test]
fn ckan_package_search_filters_facets_sorts_and_pages() {
    let geojson_sources = BUNDLED.iter().filter(|(_, _, k)| *k == "geojson").count();
    let found = result(
        "package_search",
        json!({ "fq": "res_format:GeoJSON", "facet.field": "[\"res_format\", \"tags\"]" }),
    );
    assert_eq!(found["count"], geojson_sources);
    assert_eq!(found["facets"]["res_format"]["GeoJSON"], geojson_sources);
    assert_eq!(found["facets"]["res_format"]["FlatGeobuf"], geojson_sources);
    let items = found["search_facets"]["tags"]["items"]
        .as_array()
        .expect("items");
    assert!(!items.is_empty());

    let all = result(
        "package_search",
        json!({ "q": "*:*", "rows": 2, "start": 1, "sort": "name asc" }),
    );
    assert_eq!(all["count"], BUNDLED.len());
    let names: Vec<&Value> = all["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert_eq!(names, [&json!(ids()[1]), &json!(ids()[2])]);

    let tagged = result("package_search", json!({ "fq": "tags:Haushalt" }));
    assert_eq!(tagged["count"], 1);
    assert_eq!(tagged["results"][0]["name"], "haushalt-wesel-2017");
    let none_older = result(
        "package_search",
        json!({ "fq": "metadata_modified:[* TO 2000-01-01T00:00:00Z]" }),
    );
    assert_eq!(none_older["count"], 0);
}

#[test]
fn ckan_datastore_sql_is_read_only_and_takes_resource_ids() {
    let (id, file, kind) = BUNDLED[0];
    let source = repo().join("datasets").join(id).join(file);
    let rows = count_with_python(&source, kind);
    let sql = format!("SELECT count(*) AS n FROM \"{id}-csv\"");
    let counted = result("datastore_search_sql", json!({ "sql": sql }));
    assert_eq!(counted["records"][0]["n"], rows, "{counted}");

    for refused in [
        "DROP TABLE haushalt_wesel_2017",
        "CREATE TABLE x AS SELECT 1",
        "SELECT 1; SELECT 2",
    ] {
        let (status, body) = call(
            "/api/3/action",
            "datastore_search_sql",
            &json!({ "sql": refused }),
            false,
        );
        assert_eq!(status, 409, "{refused}: {body}");
        assert_eq!(body["success"], false);
        assert_eq!(body["error"]["__type"], "Validation Error", "{refused}");
    }
    let still = result("datastore_search_sql", json!({ "sql": sql }));
    assert_eq!(still["records"][0]["n"], rows);
}

fn ckanapi(args: &[&str]) -> String {
    let out = Command::new("ckanapi")
        .args(args)
        .args(["-r", &demo().base])
        .output()
        .expect("run ckanapi");
    assert!(
        out.status.success(),
        "ckanapi {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 from ckanapi")
}

#[test]
fn ckanapi_package_search_finds_the_gauge_datasets() {
    if !have_command("ckanapi", "pip install ckanapi") {
        return;
    }
    let meta = bundled_meta();
    let expected: BTreeSet<&str> = meta
        .as_object()
        .expect("object")
        .iter()
        .filter(|(_, m)| {
            let text = format!("{} {} {}", m["title"], m["description"], m["keywords"]);
            text.to_lowercase().contains("pegel")
        })
        .map(|(id, _)| id.as_str())
        .collect();
    assert!(!expected.is_empty());
    let out = ckanapi(&["action", "package_search", "q=Pegel"]);
    let found: Value = serde_json::from_str(&out).expect("ckanapi prints JSON");
    assert_eq!(found["count"], expected.len(), "{out}");
    let names: BTreeSet<&str> = found["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn ckanapi_dump_writes_one_line_per_dataset() {
    if !have_command("ckanapi", "pip install ckanapi") {
        return;
    }
    let meta = bundled_meta();
    let out = ckanapi(&["dump", "datasets", "--all", "--quiet"]);
    let packages: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(packages.len(), meta.as_object().expect("object").len());
    for p in &packages {
        let name = p["name"].as_str().expect("name");
        assert_eq!(p["title"], meta[name]["title"], "{name}");
        let csv = p["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["format"] == "CSV")
            .expect("every dataset has a CSV");
        assert_eq!(csv["datastore_active"], true);
    }
}

#[test]
fn ckanapi_datastore_search_reads_the_rows_of_the_source() {
    if !have_command("ckanapi", "pip install ckanapi") {
        return;
    }
    let source = repo().join("datasets/pegel-nrw-tageswerte/pegel_tageswerte.csv");
    let script = r#"
import csv, json, sys
with open(sys.argv[1], encoding="utf-8", newline="") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
first = sorted(body, key=lambda r: (r[0], r[1]))[:5]
print(json.dumps({"header": header, "rows": len(body),
                  "ahlen": sum(1 for r in body if r[0] == "Ahlen"),
                  "first": [{"Name": r[0], "Datum": r[1]} for r in first]}))
"#;
    let expected = python_json(script, &[source.to_str().expect("utf-8 path")]);

    let out = ckanapi(&[
        "action",
        "datastore_search",
        "resource_id=pegel-nrw-tageswerte-csv",
        "limit=5",
    ]);
    let found: Value = serde_json::from_str(&out).expect("ckanapi prints JSON");
    assert_eq!(found["total"], expected["rows"], "{out}");
    let fields: Vec<&Value> = found["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| &f["id"])
        .collect();
    let header: Vec<&Value> = expected["header"]
        .as_array()
        .expect("header")
        .iter()
        .collect();
    assert_eq!(fields, header);
    let records = found["records"].as_array().expect("records");
    assert_eq!(records.len(), 5);
    let first: Vec<Value> = records
        .iter()
        .map(|r| json!({ "Name": r["Name"], "Datum": r["Datum"] }))
        .collect();
    assert_eq!(json!(first), expected["first"]);

    let out = ckanapi(&[
        "action",
        "datastore_search",
        "resource_id=pegel-nrw-tageswerte-csv",
        "filters:{\"Name\": \"Ahlen\"}",
        "limit:0",
    ]);
    let ahlen: Value = serde_json::from_str(&out).expect("ckanapi prints JSON");
    assert_eq!(ahlen["total"], expected["ahlen"], "{out}");
    assert_eq!(ahlen["records"], json!([]));
}
