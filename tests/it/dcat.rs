//! DCAT-AP.de: pyshacl validates what the server publishes against the DCAT-AP.de 2.0 shapes
//! and GovData's conventions (`../shared/standards/dcat-ap-de`, see its README), and rdflib
//! reads Turtle, JSON-LD and RDF/XML as one and the same graph.
//!
//! The shapes check vocabulary values by their `skos:inScheme`, so the vocabularies go into the
//! data graph: the shared `vocab/` files plus `tests/dcat/vocabularies.ttl` (excerpts of the EU
//! and DCAT-AP.de lists GovData's validator imports from the web; its header says where from).
//! pyshacl since 0.26 copies only class and property axioms from `ont_graph` into the data
//! graph, so passing the vocabularies as `ont_graph` alone no longer lets the shapes see a
//! licence's or a contributor's scheme; merging them gives what the README describes (the
//! official simple example: exactly one violation, K36).
//!
//! Skips with a message when pyshacl or rdflib is missing, unless `ALLMENDE_REQUIRE_TOOLS=1`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::outside::have_python;
use crate::{Server, demo, http, repo, scratch};

/// A contributor id from GovData's list, as a deployment that delivers to GovData configures
/// its own; the bundled metadata names none (no portal of theirs delivers this demo).
const CONTRIBUTOR: &str = "http://dcat-ap.de/def/contributors/govData";

const VALIDATE: &str = r##"
import glob, json, os, sys
from rdflib import Graph
from rdflib.namespace import SH
from pyshacl import validate

standards, extra = sys.argv[1], sys.argv[2]
shapes = Graph()
for name in ("dcat-ap_2.1.1_shacl_shapes.ttl", "dcat-ap-spec-german-additions.ttl",
             "dcat-ap-spec-german-messages.ttl", "dcat-ap-de-deprecated.ttl",
             "dcat-ap-konventionen.ttl"):
    shapes.parse(os.path.join(standards, name), format="turtle")
vocab = Graph()
for path in sorted(glob.glob(os.path.join(standards, "vocab", "*"))) + [extra]:
    vocab.parse(path)

out = {}
for path in sys.argv[3:]:
    data = Graph().parse(path, format="turtle")
    _, report, _ = validate(data + vocab, shacl_graph=shapes, ont_graph=vocab, advanced=True,
                            allow_warnings=True, do_owl_imports=False)
    results = []
    # Top-level results only; sh:detail holds the nested results of sh:node constraints.
    for r in report.objects(None, SH.result):
        results.append({
            "severity": str(report.value(r, SH.resultSeverity)).rsplit("#", 1)[-1],
            "focus": str(report.value(r, SH.focusNode)),
            "path": str(report.value(r, SH.resultPath)),
            "message": str(report.value(r, SH.resultMessage)),
        })
    out[path] = results
print(json.dumps(out))
"##;

fn standards() -> PathBuf {
    repo().join("../shared/standards/dcat-ap-de")
}

/// pyshacl's results per file: severity, focus node, path and message of each.
fn shacl(files: &[PathBuf]) -> BTreeMap<String, Vec<Value>> {
    let out = Command::new("python3")
        .args(["-c", VALIDATE])
        .arg(standards())
        .arg(repo().join("tests/dcat/vocabularies.ttl"))
        .args(files)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "pyshacl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("pyshacl results as JSON")
}

fn of<'a>(results: &'a [Value], severity: &str) -> Vec<&'a Value> {
    results
        .iter()
        .filter(|r| r["severity"] == severity)
        .collect()
}

/// Fetches `path` from `server` into `dir`, checking status and Content-Type.
fn fetch(server: &Server, path: &str, dir: &Path) -> PathBuf {
    let url = server.url(path);
    let response = http().get(&url).send().expect("GET");
    assert_eq!(response.status().as_u16(), 200, "GET {url}");
    let expected = match Path::new(path.split('?').next().unwrap_or(path))
        .extension()
        .and_then(|e| e.to_str())
    {
        Some("ttl") => "text/turtle; charset=utf-8",
        Some("jsonld") => "application/ld+json",
        Some("rdf") => "application/rdf+xml",
        other => panic!("unexpected document {other:?}"),
    };
    assert_eq!(
        response.headers()["content-type"].to_str().expect("ascii"),
        expected,
        "GET {url}"
    );
    let body = response.bytes().expect("body");
    let file = dir.join(path.trim_start_matches('/').replace(['/', '?', '='], "_"));
    std::fs::write(&file, &body).expect("write");
    file
}

/// The demo's data served with a contributor id, as a deployment delivering to GovData runs.
fn configured() -> &'static Server {
    static SERVER: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    SERVER.get_or_init(|| {
        let data = demo().data.clone();
        Server::start(
            &["serve"],
            &[("ALLMENDE_CONTRIBUTOR_ID", CONTRIBUTOR)],
            data,
        )
    })
}

fn ids() -> Vec<&'static str> {
    crate::BUNDLED.iter().map(|(id, _, _)| *id).collect()
}

#[test]
fn dcat_documents_pass_the_dcat_ap_de_shapes_and_govdata_conventions() {
    if !have_python("pyshacl, rdflib", "pip install pyshacl rdflib") {
        return;
    }
    let dir = scratch("dcat-shacl");
    let server = configured();
    let mut files = vec![fetch(server, "/catalog.ttl", &dir)];
    for id in ids() {
        files.push(fetch(server, &format!("/api/datasets/{id}/dcat.ttl"), &dir));
        files.push(fetch(
            server,
            &format!("/api/datasets/{id}/versions/1/dcat.ttl"),
            &dir,
        ));
    }
    let results = shacl(&files);
    for (file, results) in &results {
        let violations = of(results, "Violation");
        assert!(
            violations.is_empty(),
            "{file}: {} violations: {violations:#?}",
            violations.len()
        );
        let warnings = of(results, "Warning");
        eprintln!("{file}: 0 violations, {} warnings", warnings.len());
        for w in warnings {
            eprintln!("  warning {} {}: {}", w["focus"], w["path"], w["message"]);
        }
    }
}

/// Without `ALLMENDE_CONTRIBUTOR_ID` the demo lacks exactly GovData's contributor id (K12),
/// once per dataset, and nothing else: the setting is all a deployment has to add.
#[test]
fn dcat_without_a_contributor_id_only_k12_fails() {
    if !have_python("pyshacl, rdflib", "pip install pyshacl rdflib") {
        return;
    }
    let dir = scratch("dcat-shacl-demo");
    let catalog = fetch(demo(), "/catalog.ttl", &dir);
    let results = shacl(std::slice::from_ref(&catalog));
    let violations = of(&results[catalog.to_str().expect("utf-8")], "Violation");
    let mut focus: Vec<&str> = violations
        .iter()
        .map(|v| {
            let message = v["message"].as_str().unwrap_or_default();
            assert!(message.starts_with("K12&13"), "{v:#}");
            v["focus"].as_str().unwrap_or_default()
        })
        .collect();
    focus.sort();
    let expected: Vec<String> = ids()
        .iter()
        .map(|id| demo().url(&format!("/api/datasets/{id}")))
        .collect();
    assert_eq!(focus, expected, "{violations:#?}");
}

/// The validator set-up can fail: the official simple example has no publisher (K36).
#[test]
fn dcat_validator_finds_the_missing_publisher_in_the_official_example() {
    if !have_python("pyshacl, rdflib", "pip install pyshacl rdflib") {
        return;
    }
    let example = standards().join("example_simple.ttl");
    let results = shacl(std::slice::from_ref(&example));
    let violations = of(&results[example.to_str().expect("utf-8")], "Violation");
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(
        violations[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("K36")),
        "{:#}",
        violations[0]
    );
    assert_eq!(violations[0]["path"], "http://purl.org/dc/terms/publisher");
}

#[test]
fn dcat_turtle_json_ld_and_rdf_xml_are_the_same_graph() {
    if !have_python("rdflib", "pip install rdflib") {
        return;
    }
    let dir = scratch("dcat-syntaxes");
    let id = ids()[0];
    let mut args = Vec::new();
    for stem in [
        "/catalog".to_owned(),
        format!("/api/datasets/{id}/dcat"),
        format!("/api/datasets/{id}/versions/1/dcat"),
    ] {
        for ext in ["ttl", "jsonld", "rdf"] {
            args.push(fetch(demo(), &format!("{stem}.{ext}"), &dir));
        }
    }
    // Each catalogue page names itself (`catalog.ttl?page=1`, `catalog.jsonld?page=1`, …) in
    // its paging links; those IRIs are mapped to the Turtle ones before comparing.
    let script = r#"
import re, sys
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic, graph_diff, to_isomorphic

def load(path, fmt):
    g = Graph().parse(path, format=fmt)
    fix = lambda t: URIRef(re.sub(r"/catalog\.(jsonld|rdf)\?page=", "/catalog.ttl?page=", str(t))) if isinstance(t, URIRef) else t
    out = Graph()
    for s, p, o in g:
        out.add((fix(s), p, fix(o)))
    return out

paths = sys.argv[1:]
for i in range(0, len(paths), 3):
    ttl, jsonld, rdf = load(paths[i], "turtle"), load(paths[i + 1], "json-ld"), load(paths[i + 2], "xml")
    for name, other in (("JSON-LD", jsonld), ("RDF/XML", rdf)):
        if not isomorphic(ttl, other):
            _, only_ttl, only_other = graph_diff(to_isomorphic(ttl), to_isomorphic(other))
            sys.exit(f"{paths[i]} vs {name}: {len(only_ttl)} triples only in Turtle, "
                     f"{len(only_other)} only in {name}, e.g. {sorted(only_ttl)[:3]} / {sorted(only_other)[:3]}")
    print(paths[i], len(ttl))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .args(&args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "rdflib: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let sizes: Vec<u64> = stdout
        .lines()
        .map(|l| {
            l.rsplit(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("size")
        })
        .collect();
    assert_eq!(sizes.len(), 3, "{stdout}");
    assert!(
        sizes.iter().all(|&n| n > 20),
        "rdflib read too little: {stdout}"
    );
}

#[test]
fn dcat_paging_and_errors() {
    let get = |path: &str| {
        let response = http().get(demo().url(path)).send().expect("GET");
        let status = response.status().as_u16();
        (status, response.text().expect("body"))
    };
    let (status, turtle) = get("/catalog.ttl");
    assert_eq!(status, 200);
    let total = format!("hydra:totalItems {}", crate::BUNDLED.len());
    assert!(turtle.contains(&total), "{turtle}");
    assert!(turtle.contains("hydra:itemsPerPage 100"), "{turtle}");
    assert!(!turtle.contains("hydra:nextPage"), "{turtle}");
    assert_eq!(get("/catalog.ttl?page=1").0, 200);
    for (path, status) in [
        ("/catalog.ttl?page=2", 404),
        ("/catalog.rdf?page=0", 400),
        ("/catalog.jsonld?page=eins", 400),
        ("/api/datasets/gibt-es-nicht/dcat.ttl", 404),
        (
            "/api/datasets/haushalt-wesel-2017/versions/99/dcat.ttl",
            404,
        ),
        ("/api/datasets/haushalt-wesel-2017/versions/x/dcat.rdf", 400),
    ] {
        let (got, body) = get(path);
        assert_eq!(got, status, "{path}: {body}");
        let error: Value = serde_json::from_str(&body).expect("a JSON error");
        assert!(
            error["code"].is_string() && error["description"].is_string(),
            "{body}"
        );
    }
}
