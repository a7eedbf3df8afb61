//! `/api/datasets/{id}/datapackage.json` against Frictionless (PyPI `frictionless[wkt]`): every
//! bundled dataset's package validates against its CSV download, with the source's row count
//! and columns; code columns carry patterns the source's values match.
//!
//! Skips with a message when `frictionless` is missing, unless `ALLMENDE_REQUIRE_TOOLS=1`.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::ckan::have_command;
use crate::{BUNDLED, count_with_python, demo, get_json, http, repo};

/// The column names of a source file, read with Python's standard library.
fn source_columns(id: &str, file: &str, kind: &str) -> BTreeSet<String> {
    let script = r#"
import csv, json, sys
path, kind = sys.argv[1], sys.argv[2]
if kind == "geojson":
    features = json.load(open(path, encoding="utf-8"))["features"]
    names = sorted({k for f in features for k in (f.get("properties") or {})} | {"geometry"})
else:
    _, enc, delim = kind.split(":")
    with open(path, encoding=enc, newline="") as f:
        names = next(csv.reader(f, delimiter=delim))
print(json.dumps(names))
"#;
    let path = repo().join("datasets").join(id).join(file);
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .arg(kind)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON list")
}

#[test]
fn datapackages_describe_the_csv_download_truthfully() {
    for (id, file, kind) in BUNDLED {
        let package = get_json(
            &demo().url(&format!("/api/datasets/{id}/datapackage.json")),
            200,
        );
        assert_eq!(package["profile"], "tabular-data-package");
        assert_eq!(package["name"], *id);
        let resource = &package["resources"][0];
        assert_eq!(resource["profile"], "tabular-data-resource");
        let path = resource["path"].as_str().expect("path");
        assert!(
            path.starts_with(&demo().base) && path.ends_with("/download.csv"),
            "{path}"
        );
        let csv = http()
            .get(path)
            .send()
            .expect("CSV")
            .bytes()
            .expect("bytes");
        assert!(csv.starts_with(b"\xEF\xBB\xBF"), "{id}: the CSV has a BOM");
        assert_eq!(resource["encoding"], "utf-8");
        assert_eq!(resource["bytes"], csv.len());
        assert_eq!(resource["dialect"]["delimiter"], ",");
        let fields = resource["schema"]["fields"].as_array().expect("fields");
        let names: BTreeSet<String> = fields
            .iter()
            .map(|f| f["name"].as_str().expect("name").to_owned())
            .collect();
        assert_eq!(names, source_columns(id, file, kind), "{id}");
        for f in fields {
            if f["type"] == "number" {
                assert_eq!(f["decimalChar"], ".", "{id}: {f}");
                assert_eq!(f["groupChar"], "", "{id}: {f}");
            }
        }
        let licence = &package["licenses"][0];
        assert!(
            licence["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("https://"))
        );
    }
    let missing = get_json(&demo().url("/api/datasets/nope/datapackage.json"), 404);
    assert_eq!(missing["code"], "NotFound");
}

#[test]
fn code_columns_get_patterns_the_source_values_match() {
    let package = get_json(
        &demo().url("/api/datasets/wahlbezirke-karlsruhe/datapackage.json"),
        200,
    );
    let fields = package["resources"][0]["schema"]["fields"]
        .as_array()
        .expect("fields");
    let patterned: Vec<&Value> = fields
        .iter()
        .filter(|f| f["constraints"]["pattern"].is_string())
        .collect();
    assert_eq!(patterned.len(), 1, "{fields:?}");
    let field = patterned[0];
    assert_eq!(field["name"], "Wahlbezirksnummer");
    assert_eq!(field["type"], "string");
    // Every value in the source matches the pattern (anchored, as Table Schema reads it), and
    // some start with the zero a number type would drop.
    let script = r#"
import json, re, sys
pattern, name = sys.argv[2], sys.argv[3]
values = [f["properties"][name] for f in json.load(open(sys.argv[1], encoding="utf-8"))["features"]]
print(json.dumps({"all": all(re.fullmatch(pattern, v) for v in values),
                  "zero": any(v.startswith("0") for v in values)}))
"#;
    let source = repo().join("datasets/wahlbezirke-karlsruhe/wahlbezirke_ltw2016.geojson");
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&source)
        .arg(field["constraints"]["pattern"].as_str().expect("pattern"))
        .arg("Wahlbezirksnummer")
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(seen["all"], true);
    assert_eq!(seen["zero"], true);
}

#[test]
fn frictionless_validates_every_datapackage_against_its_csv() {
    if !have_command("frictionless", "pip install 'frictionless[wkt]'") {
        return;
    }
    // All four at once: Frictionless takes a few seconds per file (WKT parsing most).
    let runs: Vec<_> = BUNDLED
        .iter()
        .map(|(id, file, kind)| {
            let url = demo().url(&format!("/api/datasets/{id}/datapackage.json"));
            let child = Command::new("frictionless")
                .args(["validate", "--json", &url])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run frictionless");
            (id, file, kind, child)
        })
        .collect();
    for (id, file, kind, child) in runs {
        let out = child.wait_with_output().expect("frictionless");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{id}: frictionless printed no JSON ({e}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(report["valid"], true, "{id}: {report:#}");
        let task = &report["tasks"][0];
        let source = repo().join("datasets").join(id).join(file);
        assert_eq!(
            task["stats"]["rows"],
            count_with_python(&source, kind),
            "{id}: rows"
        );
        assert_eq!(
            task["stats"]["fields"],
            source_columns(id, file, kind).len(),
            "{id}: fields"
        );
    }
}
