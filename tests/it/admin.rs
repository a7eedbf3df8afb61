//! The admin API on a real server: without a valid token nothing changes; with one, metadata
//! edits land (with history) and an uploaded source becomes the next version.

use std::fs;

use super::{Server, get_json, http, repo, scratch};

const TOKEN: &str = "test-admin-token-0123456789";

/// A server over one dataset (the Wesel budget), ingested by the CLI first.
fn server(name: &str) -> Server {
    let data = scratch(name);
    super::ingest_into(&repo().join("datasets/haushalt-wesel-2017"), &data, &[]);
    Server::start(&["serve"], &[("ALLMENDE_ADMIN_TOKENS", TOKEN)], data)
}

fn manifest(server: &Server) -> String {
    fs::read_to_string(
        server
            .data
            .join("datasets/haushalt-wesel-2017/manifest.json"),
    )
    .expect("manifest")
}

#[test]
fn writes_without_a_valid_token_get_401_and_change_nothing() {
    let server = server("admin-401");
    let before = manifest(&server);
    let url = server.url("/api/datasets/haushalt-wesel-2017/dataset.toml");
    for auth in [
        None,
        Some("Bearer wrong-token-0123456789"),
        Some("Basic abc"),
    ] {
        let mut request = http().put(&url).body("title = \"Gekapert\"\n");
        if let Some(a) = auth {
            request = request.header("Authorization", a);
        }
        let response = request.send().expect("PUT");
        assert_eq!(response.status().as_u16(), 401, "{auth:?}");
        assert!(
            response.headers().get("www-authenticate").is_some(),
            "401 names the scheme"
        );
    }
    let upload = http()
        .post(server.url("/api/datasets/haushalt-wesel-2017/source?filename=x.csv"))
        .body("a;b\n1;2\n")
        .send()
        .expect("POST");
    assert_eq!(upload.status().as_u16(), 401);
    assert_eq!(manifest(&server), before, "the manifest is untouched");
}

#[test]
fn a_metadata_edit_lands_and_keeps_the_old_state() {
    let server = server("admin-meta");
    let original = fs::read_to_string(repo().join("datasets/haushalt-wesel-2017/dataset.toml"))
        .expect("dataset.toml");
    let edited = original.replace(
        "title = \"Haushaltsplan 2017 der Stadt Wesel\"",
        "title = \"Haushalt 2017 (Wesel)\"",
    );
    assert_ne!(edited, original);
    let response = http()
        .put(server.url("/api/datasets/haushalt-wesel-2017/dataset.toml"))
        .bearer_auth(TOKEN)
        .body(edited)
        .send()
        .expect("PUT");
    assert_eq!(response.status().as_u16(), 200, "{:?}", response.text());
    let detail = get_json(&server.url("/api/datasets/haushalt-wesel-2017"), 200);
    assert_eq!(detail["title"], "Haushalt 2017 (Wesel)");
    let manifest: serde_json::Value =
        serde_json::from_str(&manifest(&server)).expect("manifest json");
    assert_eq!(
        manifest["meta_history"][0]["meta"]["title"],
        "Haushaltsplan 2017 der Stadt Wesel"
    );
}

#[test]
fn a_broken_dataset_toml_is_refused_with_line_and_key() {
    let server = server("admin-broken");
    let before = manifest(&server);
    let response = http()
        .put(server.url("/api/datasets/haushalt-wesel-2017/dataset.toml"))
        .bearer_auth(TOKEN)
        .body("title = \"Haushalt\"\nlicense = \"dl-by-de/2.0\"\n")
        .send()
        .expect("PUT");
    assert_eq!(response.status().as_u16(), 400);
    let body = response.text().expect("body");
    assert!(
        body.contains("line 2") && body.contains("license"),
        "{body}"
    );
    assert_eq!(manifest(&server), before);
}

#[test]
fn an_uploaded_source_becomes_the_next_version() {
    let server = server("admin-upload");
    // The real budget less its last 100 rows: a different source with fewer rows.
    let original =
        fs::read(repo().join("datasets/haushalt-wesel-2017/hhplan2017.csv")).expect("budget csv");
    let lines: Vec<&[u8]> = original.split(|b| *b == b'\n').collect();
    let shorter = lines[..lines.len() - 101].join(&b'\n');
    let expected_rows = shorter.split(|b| *b == b'\n').count() as u64 - 1;
    let response = http()
        .post(server.url("/api/datasets/haushalt-wesel-2017/source?filename=hhplan2017-neu.csv"))
        .bearer_auth(TOKEN)
        .body(shorter)
        .send()
        .expect("POST");
    assert_eq!(response.status().as_u16(), 201, "{:?}", response.text());
    let detail = get_json(&server.url("/api/datasets/haushalt-wesel-2017"), 200);
    let versions = detail["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 2);
    let v2 = versions
        .iter()
        .find(|v| v["number"] == 2)
        .expect("version 2");
    assert_eq!(v2["row_count"], expected_rows);
    assert_eq!(v2["changes"]["rows_removed"], 100);
    assert_eq!(v2["changes"]["rows_added"], 0);
}
