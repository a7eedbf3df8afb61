//! The HTML pages over HTTP (status, language, alternates, Content-Security-Policy, what each
//! page shows, checked against outside counts of the source files), and the citizen's walk in
//! headless Chromium (`tests/browser/pages.mjs`: map pixels, chart, download, SQL console, the
//! live gauge map and a station page with readings pushed while they are open, axe-core, no
//! request leaving 127.0.0.1).
//!
//! The browser test skips with a message when Chromium or `api/web/node_modules` is missing,
//! unless `ALLMENDE_REQUIRE_TOOLS=1` (CI installs both).

use std::path::Path;
use std::process::Command;

use reqwest::blocking::Response;

use crate::{demo, get_json, http, repo, sha256_hex};

fn get(path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = http().get(demo().url(path));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().expect("GET")
}

/// GET a page: status, headers and body.
fn page(path: &str, headers: &[(&str, &str)], status: u16) -> (reqwest::header::HeaderMap, String) {
    let response = get(path, headers);
    let got = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().expect("body");
    assert_eq!(got, status, "GET {path}: {body}");
    assert_eq!(
        headers["content-type"], "text/html; charset=utf-8",
        "GET {path}"
    );
    (headers, body)
}

/// Runs a Python script over the arguments and parses its stdout as JSON.
fn python(script: &str, args: &[&Path]) -> serde_json::Value {
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

/// The `href` of every `<link rel="alternate">`, with its type.
fn alternates(html: &str) -> Vec<(String, String)> {
    html.split("<link rel=\"alternate\"")
        .skip(1)
        .map(|tag| {
            let tag = &tag[..tag.find('>').expect("end of tag")];
            let attr = |name: &str| {
                let start = tag.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
                tag[start..start + tag[start..].find('"').expect("quote")].replace("&amp;", "&")
            };
            (attr("type"), attr("href"))
        })
        .collect()
}

#[test]
fn home_is_german_with_a_strict_csp_and_alternates_that_resolve() {
    let (headers, html) = page("/", &[], 200);
    assert!(
        html.starts_with("<!DOCTYPE html><html lang=\"de\">"),
        "{html}"
    );
    assert!(html.contains("Datensätze durchsuchen"));
    let csp = headers["content-security-policy"].to_str().expect("ascii");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe") && !csp.contains("http"), "{csp}");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    // No inline script or style: every script and stylesheet is ours, by URL.
    assert!(!html.contains("<script>") && !html.contains("<style") && !html.contains(" style="));
    assert!(html.contains("<script type=\"module\" src=\"/assets/app.js?v="));
    let links = alternates(&html);
    let types: Vec<&str> = links.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "application/json",
            "application/geo+json",
            "text/turtle",
            "application/ld+json",
            "application/rdf+xml"
        ]
    );
    for (media_type, href) in &links {
        let response = get(href, &[]);
        assert_eq!(response.status().as_u16(), 200, "{href}");
        let got = response.headers()["content-type"].to_str().expect("ascii");
        assert!(got.starts_with(media_type.as_str()), "{href}: {got}");
    }
    // The GeoJSON form: the extents of the two spatial datasets, each its bbox from the API.
    let (_, geojson) = &links[1];
    let extents = get_json(&demo().url(geojson), 200);
    let features = extents["features"].as_array().expect("features");
    let ids: Vec<&str> = features
        .iter()
        .map(|f| f["properties"]["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["pegel-nrw-stationen", "wahlbezirke-karlsruhe"]);
    for f in features {
        let id = f["properties"]["id"].as_str().expect("id");
        let bbox = &get_json(&demo().url(&format!("/api/datasets/{id}")), 200)["extent"]["spatial"]
            ["bbox"];
        let ring = &f["geometry"]["coordinates"][0];
        assert_eq!(ring[0], serde_json::json!([bbox[0], bbox[1]]), "{id}");
        assert_eq!(ring[2], serde_json::json!([bbox[2], bbox[3]]), "{id}");
    }
    // A search's GeoJSON holds its results only.
    let (_, html) = page("/datasets?q=Pegel", &[], 200);
    let (_, geojson) = alternates(&html).into_iter().nth(1).expect("GeoJSON");
    let extents = get_json(&demo().url(&geojson), 200);
    assert_eq!(extents["features"].as_array().map(Vec::len), Some(1));
}

#[test]
fn english_by_accept_language_or_by_the_switch() {
    let (_, html) = page("/", &[("Accept-Language", "en-GB,en;q=0.9,de;q=0.5")], 200);
    assert!(html.contains("<html lang=\"en\">") && html.contains("Search datasets"));
    let (_, html) = page("/", &[("Accept-Language", "de-DE,de;q=0.9,en;q=0.8")], 200);
    assert!(html.contains("<html lang=\"de\">"));
    let (_, html) = page("/datasets?q=Pegel&lang=en", &[], 200);
    assert!(html.contains("<html lang=\"en\">"));
    // The publishers' German titles stay marked as German on English pages (WCAG 3.1.2).
    assert!(
        html.contains(
            "<h3 lang=\"de\"><a href=\"/datasets/pegel-nrw-stationen?lang=en\">Pegelstationen"
        ),
        "{html}"
    );
    // Links keep the chosen language; the switch leads back to German with the same search.
    assert!(
        html.contains("href=\"/datasets/pegel-nrw-stationen?lang=en\""),
        "{html}"
    );
    assert!(
        html.contains("href=\"/datasets?q=Pegel&amp;lang=de\""),
        "{html}"
    );
    let (_, html) = page("/", &[("Accept-Language", "en")], 200);
    assert!(html.contains("href=\"/?lang=de\""));
    assert!(
        !html.contains("name=\"lang\""),
        "the browser's language needs no field"
    );
    // The search form keeps a chosen language (a GET form drops its action's query).
    let (_, html) = page("/?lang=en", &[], 200);
    assert!(html.contains("<input type=\"hidden\" name=\"lang\" value=\"en\">"));
    let (_, html) = page("/?lang=de", &[("Accept-Language", "en")], 200);
    assert!(html.contains("<html lang=\"de\">"));
}

#[test]
fn search_and_facets_find_what_the_dataset_files_say() {
    // From the dataset.toml files: "Pegel" is in both gauge datasets' titles and keywords,
    // "Zeitreihe" is a keyword of the daily readings only.
    let (_, html) = page("/datasets?q=Pegel", &[], 200);
    assert!(html.contains("Pegelstationen in Nordrhein-Westfalen"));
    assert!(html.contains("Tägliche Wasserstände der Pegel in Nordrhein-Westfalen"));
    assert!(!html.contains("wahlbezirke-karlsruhe"));
    assert!(html.contains("2 Datensätze"), "{html}");
    let (_, html) = page("/datasets?keyword=Zeitreihe", &[], 200);
    assert!(html.contains("href=\"/datasets/pegel-nrw-tageswerte\""));
    assert!(!html.contains("href=\"/datasets/pegel-nrw-stationen\""));
    // The active facet is marked and links to the search without it.
    assert!(
        html.contains("href=\"/datasets\" aria-current=\"true\""),
        "{html}"
    );
    let (_, html) = page("/", &[], 200);
    for facet in ["Schlagwort", "Herausgeber", "Lizenz", "Format"] {
        assert!(html.contains(&format!("<h2>{facet}</h2>")), "{facet}");
    }
    assert!(html.contains("href=\"/datasets?licence=dl-by-de%2F2.0\""));
    let (_, html) = page("/datasets?page=0", &[], 400);
    assert!(html.contains("role=\"alert\""));
}

#[test]
fn dataset_page_has_metadata_downloads_checksums_map_and_snippets() {
    let id = "pegel-nrw-stationen";
    let api = get_json(&demo().url(&format!("/api/datasets/{id}")), 200);
    let (_, html) = page(&format!("/datasets/{id}"), &[], 200);
    assert!(html.contains("<h1 lang=\"de\">Pegelstationen in Nordrhein-Westfalen</h1>"));
    assert!(html.contains("Datenlizenz Deutschland Namensnennung 2.0"));
    assert!(
        html.contains(
            "Datenquelle: LANUV NRW, aufbereitet von KoelnAPI (github.com/KoelnAPI/data)"
        )
    );
    assert!(html.contains("nicht angegeben"), "frequency UNKNOWN");
    // Every format, and each file's checksum as computed here from the downloaded bytes.
    for ext in ["parquet", "csv", "geojson", "fgb"] {
        let href = format!("/api/datasets/{id}/download.{ext}");
        assert!(html.contains(&format!("href=\"{href}\"")), "{ext}");
        let bytes = get(&href, &[]).bytes().expect("bytes");
        assert!(html.contains(&sha256_hex(&bytes)), "{ext}: checksum");
        let size = api["distributions"]
            .as_array()
            .expect("distributions")
            .iter()
            .find(|d| d["format"] == ext)
            .expect("distribution")["byte_size"]
            .as_u64();
        assert_eq!(size, Some(bytes.len() as u64), "{ext}");
    }
    assert!(html.contains(&format!(
        "{}/api/datasets/{id}/versions/1/download.parquet",
        demo().base
    )));
    assert!(html.contains("Diese Version zitieren"));
    // The map draws our vector tiles, not the whole GeoJSON download.
    assert!(html.contains(&format!(
        "data-tiles=\"/ogc/collections/{id}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}\""
    )));
    assert!(html.contains(&format!("data-layer=\"{id}\"")));
    assert!(html.contains(&format!("data-items=\"/ogc/collections/{id}/items\"")));
    assert!(html.contains("data-table=\"pegel_nrw_stationen\""));
    assert!(!html.contains("data-geojson"));
    // Zoom 7 tile 42/66 (y before x) covers most of North Rhine-Westphalia.
    let tile = get(
        &format!("/ogc/collections/{id}/tiles/WebMercatorQuad/7/42/66"),
        &[],
    );
    assert_eq!(tile.status().as_u16(), 200);
    assert!(html.contains(&format!("{}/ogc/collections/{id}", demo().base)));
    assert!(html.contains("gpd.read_file("));
    assert!(html.contains("SELECT * FROM pegel_nrw_stationen LIMIT 10"));
    let links = alternates(&html);
    for media_type in [
        "application/json",
        "application/geo+json",
        "text/turtle",
        "application/ld+json",
        "application/rdf+xml",
    ] {
        let (_, href) = links
            .iter()
            .find(|(t, _)| t == media_type)
            .unwrap_or_else(|| panic!("alternate {media_type}"));
        assert_eq!(get(href, &[]).status().as_u16(), 200, "{href}");
    }
    // A table without geometry has no map and no GeoJSON alternate.
    let (_, html) = page("/datasets/haushalt-wesel-2017", &[], 200);
    assert!(
        !html.contains("data-tiles")
            && !html.contains("data-geojson")
            && !html.contains("application/geo+json")
    );
}

#[test]
fn table_preview_pages_and_sorts_like_python_does() {
    let source = repo().join("datasets/pegel-nrw-stationen/pegel_stationen.geojson");
    let expected = python(
        r#"
import json, sys
names = sorted(f["properties"]["Name"] for f in json.load(open(sys.argv[1], encoding="utf-8"))["features"])
print(json.dumps({"first": names[0], "last": names[-1], "twenty_first": names[20], "rows": len(names)}))
"#,
        &[&source],
    );
    let first_cell = |html: &str| {
        let body = &html[html.find("<tbody>").expect("tbody")..];
        let body = &body[..body.find("</tbody>").expect("end of tbody")];
        let rows: Vec<&str> = body.split("<tr>").skip(1).collect();
        (rows.len(), rows[0].to_owned())
    };
    let name_cell = |name: &serde_json::Value| {
        format!("<td class=\"short\">{}</td>", name.as_str().expect("name"))
    };
    let (_, html) = page("/datasets/pegel-nrw-stationen?sort=Name", &[], 200);
    let (rows, first) = first_cell(&html);
    assert_eq!(rows, 20);
    assert!(first.contains(&name_cell(&expected["first"])), "{first}");
    assert!(html.contains("aria-sort=\"ascending\""));
    assert!(
        html.contains("Zeilen 1–20 von 214"),
        "rows: {}",
        expected["rows"]
    );
    let (_, html) = page("/datasets/pegel-nrw-stationen?sort=Name&desc=1", &[], 200);
    assert!(first_cell(&html).1.contains(&name_cell(&expected["last"])));
    assert!(html.contains("aria-sort=\"descending\""));
    let (_, html) = page("/datasets/pegel-nrw-stationen?sort=Name&page=2", &[], 200);
    assert!(
        first_cell(&html)
            .1
            .contains(&name_cell(&expected["twenty_first"]))
    );
    assert!(html.contains("Zeilen 21–40 von 214"));
    // An unknown sort column is ignored, not put into SQL.
    page("/datasets/pegel-nrw-stationen?sort=%22%3B%20DROP", &[], 200);
}

#[test]
fn time_series_page_charts_each_gauge_with_its_warning_thresholds() {
    let readings = repo().join("datasets/pegel-nrw-tageswerte/pegel_tageswerte.csv");
    let stations = repo().join("datasets/pegel-nrw-stationen/pegel_stationen.geojson");
    let expected = python(
        r#"
import csv, json, sys
names = sorted({r["Name"] for r in csv.DictReader(open(sys.argv[1], encoding="utf-8"))})
warned = sorted(f["properties"]["Name"] for f in json.load(open(sys.argv[2], encoding="utf-8"))["features"]
                if f["properties"]["Informationsstufe 1"] not in ("", None))
print(json.dumps({"series": len(names), "selected": next(n for n in warned if n in names)}))
"#,
        &[&readings, &stations],
    );
    let (_, html) = page("/datasets/pegel-nrw-tageswerte", &[], 200);
    let spec = html
        .split("data-chart=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("data-chart")
        .replace("&quot;", "\"");
    let spec: serde_json::Value = serde_json::from_str(&spec).expect("chart spec");
    assert_eq!(spec["table"], "pegel_nrw_tageswerte");
    assert_eq!(spec["time"], "Datum");
    assert_eq!(
        spec["values"],
        serde_json::json!(["Minimum", "Maximum", "Mittelwert"])
    );
    assert_eq!(spec["key"], "Name");
    assert_eq!(spec["thresholds"]["table"], "pegel_nrw_stationen");
    assert_eq!(
        spec["thresholds"]["columns"],
        serde_json::json!([
            "Informationsstufe 1",
            "Informationsstufe 2",
            "Informationsstufe 3"
        ])
    );
    let options = html.matches("<option ").count();
    assert_eq!(options as u64, expected["series"].as_u64().expect("count"));
    let selected = expected["selected"].as_str().expect("name");
    assert!(
        html.contains(&format!("<option value=\"{selected}\" selected>")),
        "{selected}"
    );
}

#[test]
fn sql_console_shows_rows_downloads_and_errors_at_their_position() {
    let q = "SELECT \"Name\" FROM pegel_nrw_stationen ORDER BY \"Name\" LIMIT 3";
    let query = serde_urlencoded_pair("q", q);
    let (_, html) = page(&format!("/sql?{query}"), &[], 200);
    assert_eq!(html.matches("<td class=\"cell\">").count(), 3);
    assert!(html.contains("<td class=\"cell\">Ahlen</td>"));
    assert!(html.contains(&format!("href=\"/api/sql?format=csv&amp;{query}\"")));
    assert!(html.contains(&format!("href=\"/api/sql?format=parquet&amp;{query}\"")));
    assert!(!html.contains("data-geojson"), "no geometry, no map");
    // Tables and columns are listed.
    assert!(html.contains("<code>wahlbezirke_karlsruhe</code>"));
    assert!(html.contains("data-insert=\"&quot;Informationsstufe 1&quot;\""));

    let q = "SELECT \"Wahlbezirksname\", geometry FROM wahlbezirke_karlsruhe LIMIT 2";
    let (_, html) = page(&format!("/sql?{}", serde_urlencoded_pair("q", q)), &[], 200);
    assert!(html.contains("data-geojson=\"/api/sql?format=geojson&amp;q="));
    assert!(html.contains("POLYGON"), "geometry shown as WKT");

    // The second "=" is at line 3, column 16 (counted by hand).
    let q = "SELECT \"Name\"\nFROM pegel_nrw_stationen\nWHERE \"Name\" = = 'x'";
    let (_, html) = page(&format!("/sql?{}", serde_urlencoded_pair("q", q)), &[], 200);
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("Zeile 3, Spalte 16"), "{html}");
    assert!(
        html.contains("WHERE &quot;Name&quot; = <mark class=\"position\">=</mark> 'x'"),
        "{html}"
    );
}

fn serde_urlencoded_pair(k: &str, v: &str) -> String {
    let encoded: String = url_encode(v);
    format!("{k}={encoded}")
}

/// application/x-www-form-urlencoded, as the server writes it (serde_urlencoded).
fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[test]
fn unknown_dataset_is_a_page_with_404_and_api_paths_stay_json() {
    let (_, html) = page("/datasets/no-such-dataset", &[], 404);
    assert!(html.contains("<h1>Nicht gefunden</h1>"));
    let r = get_json(&demo().url("/api/datasets/no-such-dataset"), 404);
    assert_eq!(r["code"], "NotFound");
    let r = get_json(&demo().url("/api/datasets?q=Pegel"), 200);
    assert_eq!(r["total"], 2);
}

#[test]
fn assets_are_ours_cached_by_hash_and_revalidated() {
    let (_, html) = page("/", &[], 200);
    let start = html.find("/assets/app.js?v=").expect("script url");
    let url = &html[start..start + html[start..].find('"').expect("quote")];
    let response = get(url, &[]);
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_owned();
    let script = response.text().expect("body");
    // The entry script is small; MapLibre, uPlot and the two gauge pages' scripts are chunks
    // it loads where a page needs them, named by their hash and so cached for good.
    assert!(script.len() < 50_000, "{}", script.len());
    let chunks: Vec<&str> = script
        .split("import(\"./")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert_eq!(chunks.len(), 4, "{chunks:?}");
    let mut chunk_bytes = 0;
    for chunk in &chunks {
        assert!(
            chunk.starts_with("chunk-") && chunk.ends_with(".js"),
            "{chunk}"
        );
        let response = get(&format!("/assets/{chunk}"), &[]);
        assert_eq!(response.status().as_u16(), 200, "{chunk}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        chunk_bytes += response.bytes().expect("chunk").len();
    }
    assert!(
        chunk_bytes > 1_000_000,
        "MapLibre and uPlot: {chunk_bytes} bytes"
    );
    let again = get(url, &[("If-None-Match", &etag)]);
    assert_eq!(again.status().as_u16(), 304);
    for (asset, media_type) in [
        ("/assets/app.css", "text/css; charset=utf-8"),
        (
            "/assets/maplibre-gl-worker.mjs",
            "text/javascript; charset=utf-8",
        ),
    ] {
        let response = get(asset, &[]);
        assert_eq!(response.status().as_u16(), 200, "{asset}");
        assert_eq!(response.headers()["content-type"], media_type);
        assert_eq!(response.headers()["cache-control"], "no-cache");
    }
    assert_eq!(get("/assets/nothing.js", &[]).status().as_u16(), 404);

    // Browsers that accept gzip get the build's gzip copy; Python's gzip unpacks it to the
    // same bytes.
    let zipped = get(url, &[("Accept-Encoding", "gzip, br")]);
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_ne!(zipped.headers()["etag"].to_str().expect("etag"), etag);
    let zipped = zipped.bytes().expect("body");
    assert!(zipped.len() < script.len() * 2 / 3, "{}", zipped.len());
    let file = crate::scratch("pages-gzip").join("app.js.gz");
    std::fs::write(&file, &zipped).expect("write");
    let unpacked = python(
        "import gzip, hashlib, json, sys\nprint(json.dumps(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest()))",
        &[&file],
    );
    assert_eq!(unpacked, sha256_hex(script.as_bytes()));
}

/// Whether the browser test's tools are here; skips with a message, or fails under CI.
fn have_browser() -> bool {
    let chromium = Path::new("/usr/bin/chromium").exists();
    let modules = repo().join("api/web/node_modules/playwright-core").exists()
        && repo().join("api/web/node_modules/axe-core").exists();
    if !(chromium && modules) {
        assert!(
            std::env::var("ALLMENDE_REQUIRE_TOOLS").is_err(),
            "ALLMENDE_REQUIRE_TOOLS is set but Chromium ({chromium}) or api/web/node_modules ({modules}) is missing"
        );
        eprintln!(
            "SKIPPED: the browser test needs /usr/bin/chromium (apt-get install chromium) and \
             api/web/node_modules (the build's `npm ci`)"
        );
    }
    chromium && modules
}

#[test]
fn browser_walk_search_map_chart_download_sql_with_axe() {
    if !have_browser() {
        return;
    }
    let shots = repo().join("target/browser-test");
    let tiles = tile_server();
    let with_basemap = crate::Server::start(
        &["serve"],
        &[(
            "ALLMENDE_BASEMAP_URL",
            &format!("{tiles}/{{z}}/{{x}}/{{y}}.png"),
        )],
        demo().data.clone(),
    );
    // The live gauge pages: a time series with a push token, readings pushed by the script.
    let gauges = crate::gauges::serve(crate::gauges::data_root("pages-browser-gauges"));
    let out = Command::new("node")
        .arg(repo().join("tests/browser/pages.mjs"))
        .arg(&demo().base)
        .arg(&shots)
        .arg(&with_basemap.base)
        .arg(&gauges.base)
        .env("ALLMENDE_TEST_TOKEN", crate::gauges::TOKEN)
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "browser test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all browser checks passed"));
    assert!(shots.join("03-gauge-stations-map.png").exists());
    assert!(stdout.contains("after a push Ahlen is at level 2"));
}

#[test]
fn a_configured_basemap_is_the_one_other_origin_the_pages_allow() {
    // A second server over the demo's data root, with a basemap configured.
    let server = crate::Server::start(
        &["serve"],
        &[(
            "ALLMENDE_BASEMAP_URL",
            "https://tiles.example.org/osm/{z}/{x}/{y}.png",
        )],
        demo().data.clone(),
    );
    let response = http()
        .get(server.url("/datasets/wahlbezirke-karlsruhe"))
        .send()
        .expect("GET");
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let html = response.text().expect("body");
    assert!(
        csp.contains("img-src 'self' data: https://tiles.example.org;"),
        "{csp}"
    );
    assert!(
        csp.contains("connect-src 'self' https://tiles.example.org;"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(html.contains("data-basemap=\"https://tiles.example.org/osm/{z}/{x}/{y}.png\""));
    // Without one (the demo), no other origin appears anywhere in the policy.
    let (headers, _) = page("/datasets/wahlbezirke-karlsruhe", &[], 200);
    assert!(
        !headers["content-security-policy"]
            .to_str()
            .expect("ascii")
            .contains("example")
    );
}

#[test]
fn home_lists_the_most_viewed_datasets() {
    // Fewer datasets than the list holds, so a viewed one is always on it.
    page("/datasets/haushalt-wesel-2017", &[], 200);
    let (_, html) = page("/", &[], 200);
    let section = &html[html
        .find("<h2 id=\"most-used\">Meistgenutzt</h2>")
        .expect("section")..];
    assert!(
        section.contains(
            "<a href=\"/datasets/haushalt-wesel-2017\">Haushaltsplan 2017 der Stadt Wesel</a>"
        ),
        "{section}"
    );
}

#[test]
fn programs_asking_a_page_for_data_are_sent_to_it() {
    let id = "pegel-nrw-stationen";
    for (accept, path) in [
        ("application/json", format!("/api/datasets/{id}")),
        (
            "application/geo+json",
            format!("/api/datasets/{id}/download.geojson"),
        ),
        (
            "text/turtle, application/json;q=0.5",
            format!("/api/datasets/{id}/dcat.ttl"),
        ),
    ] {
        let response = get(&format!("/datasets/{id}"), &[("Accept", accept)]);
        assert_eq!(response.status().as_u16(), 200, "{accept}");
        assert_eq!(response.url().path(), path, "{accept}");
    }
    let response = get("/datasets?q=Pegel", &[("Accept", "application/json")]);
    assert_eq!(response.url().as_str(), demo().url("/api/datasets?q=Pegel"));
    // What browsers send gets the page.
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    page(&format!("/datasets/{id}"), &[("Accept", browser)], 200);
    page(&format!("/datasets/{id}"), &[("Accept", "*/*")], 200);
}

/// A tile server on 127.0.0.1 that answers every request with the same tile: a 1×1 PNG of
/// #3c8d2f (written with Python's zlib), readable cross-origin as a map's fetch needs.
fn tile_server() -> String {
    const PNG: [u8; 69] = [
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90,
        0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xb0,
        0xe9, 0xd5, 0x07, 0x00, 0x02, 0x01, 0x00, 0xf9, 0xde, 0x88, 0xc7, 0x6c, 0x00, 0x00, 0x00,
        0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let mut stream = &stream;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\
                 Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n",
                PNG.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&PNG);
        }
    });
    format!("http://{address}")
}
