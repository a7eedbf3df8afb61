//! Every endpoint of the running demo server, over HTTP.

use serde_json::Value;

use crate::{BUNDLED, count_with_python, demo, get_json, http, repo, sha256_hex};

fn sql(q: &str) -> Value {
    let url = demo().url("/api/sql");
    let response = http()
        .get(&url)
        .query(&[("q", q)])
        .send()
        .expect("GET /api/sql");
    let status = response.status().as_u16();
    let text = response.text().expect("body");
    assert_eq!(status, 200, "{q}: {text}");
    serde_json::from_str(&text).expect("JSON")
}

fn sql_error(q: &str) -> (u16, Value) {
    let response = http()
        .get(demo().url("/api/sql"))
        .query(&[("q", q)])
        .send()
        .expect("GET");
    let status = response.status().as_u16();
    (status, response.json().expect("JSON error body"))
}

#[test]
fn health_and_catalogue_list_with_facets_and_filters() {
    let health = get_json(&demo().url("/health"), 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["datasets"], 4);

    let all = get_json(&demo().url("/api/datasets"), 200);
    assert_eq!(all["total"], 4);
    let ids: Vec<&str> = all["datasets"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "haushalt-wesel-2017",
            "pegel-nrw-stationen",
            "pegel-nrw-tageswerte",
            "wahlbezirke-karlsruhe"
        ]
    );
    assert_eq!(all["facets"]["format"]["fgb"], 2);
    assert_eq!(all["facets"]["format"]["csv"], 4);
    assert_eq!(all["facets"]["keyword"]["Pegel"], 2);

    assert_eq!(
        get_json(&demo().url("/api/datasets?q=pegel"), 200)["total"],
        2
    );
    assert_eq!(
        get_json(
            &demo().url("/api/datasets?q=wasserst%C3%A4nde%20t%C3%A4gliche"),
            200
        )["total"],
        1
    );
    assert_eq!(
        get_json(&demo().url("/api/datasets?keyword=haushalt"), 200)["total"],
        1
    );
    assert_eq!(
        get_json(&demo().url("/api/datasets?format=geojson"), 200)["total"],
        2
    );
    // Karlsruhe lies in 8.2–8.6°E, 48.9–49.1°N; the NRW gauges do not.
    let ka = get_json(&demo().url("/api/datasets?bbox=8.3,48.9,8.5,49.0"), 200);
    assert_eq!(ka["total"], 1);
    assert_eq!(ka["datasets"][0]["id"], "wahlbezirke-karlsruhe");
    let page = get_json(&demo().url("/api/datasets?limit=1&offset=1"), 200);
    assert_eq!(page["total"], 4);
    assert_eq!(page["datasets"][0]["id"], "pegel-nrw-stationen");

    let bad = get_json(&demo().url("/api/datasets?bbox=1,2,3"), 400);
    assert_eq!(bad["code"], "InvalidParameterValue");
    assert!(bad["description"].as_str().expect("text").contains("bbox"));
    let missing = get_json(&demo().url("/api/datasets/nope"), 404);
    assert_eq!(missing["code"], "NotFound");
}

#[test]
fn catalogue_search_speaks_german_sorts_and_pages_by_cursor() {
    let ids = |v: &Value| -> Vec<String> {
        v["datasets"]
            .as_array()
            .expect("datasets")
            .iter()
            .map(|d| d["id"].as_str().expect("id").to_owned())
            .collect()
    };
    // "Pegel" finds the gauge stations ("Pegelstationen") and the daily readings.
    let pegel = get_json(&demo().url("/api/datasets?q=Pegel"), 200);
    let mut found = ids(&pegel);
    found.sort();
    assert_eq!(found, ["pegel-nrw-stationen", "pegel-nrw-tageswerte"]);
    assert_eq!(pegel["facets"]["theme"]["ENVI"], 2);
    assert!(pegel["next_cursor"].is_null() && pegel["next"].is_null());
    // Other spellings and inflections of the same words.
    for q in [
        "pegelstationen",
        "Wasserst%C3%A4nde",
        "wasserstaende",
        "T%C3%84GLICHE",
    ] {
        let found = get_json(&demo().url(&format!("/api/datasets?q={q}")), 200);
        assert!(found["total"].as_u64().expect("total") >= 1, "{q}");
    }
    let budget = get_json(&demo().url("/api/datasets?q=haushalt%202017"), 200);
    assert_eq!(budget["datasets"][0]["id"], "haushalt-wesel-2017");
    // Column descriptions are searched: "Sachkonto" only describes a budget column.
    assert_eq!(
        ids(&get_json(&demo().url("/api/datasets?q=sachkonto"), 200)),
        ["haushalt-wesel-2017"]
    );
    assert_eq!(
        get_json(&demo().url("/api/datasets?theme=envi"), 200)["total"],
        2
    );

    let titles = ids(&get_json(&demo().url("/api/datasets?sort=title"), 200));
    assert_eq!(
        titles,
        [
            "haushalt-wesel-2017",
            "pegel-nrw-stationen",
            "pegel-nrw-tageswerte",
            "wahlbezirke-karlsruhe"
        ]
    );
    let newest = get_json(&demo().url("/api/datasets?sort=-modified"), 200);
    let stamps: Vec<&str> = newest["datasets"]
        .as_array()
        .expect("datasets")
        .iter()
        .map(|d| d["modified"].as_str().expect("modified"))
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "{stamps:?}");

    // Cursor paging: one dataset per page, following `next`, lists each exactly once.
    let mut url = demo().url("/api/datasets?limit=1&sort=title");
    let mut listed = Vec::new();
    loop {
        let page = get_json(&url, 200);
        assert_eq!(page["total"], 4);
        assert_eq!(page["offset"], listed.len());
        listed.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => {
                let cursor = page["next_cursor"].as_str().expect("next_cursor");
                assert!(next.contains(&format!("cursor={cursor}")), "{next}");
                url = demo().url(next);
            }
            None => break,
        }
    }
    assert_eq!(listed, titles);

    for bad in [
        "cursor=nonsense",
        "sort=newest",
        "offset=1&cursor=5b5d",
        "limit=1001",
    ] {
        let error = get_json(&demo().url(&format!("/api/datasets?{bad}")), 400);
        assert_eq!(error["code"], "InvalidParameterValue", "{bad}");
    }
    let first = get_json(&demo().url("/api/datasets?limit=1&sort=title"), 200);
    let cursor = first["next_cursor"].as_str().expect("cursor");
    get_json(
        &demo().url(&format!("/api/datasets?sort=-modified&cursor={cursor}")),
        400,
    );
}

#[test]
fn row_counts_equal_an_outside_count_of_each_source() {
    for (id, file, kind) in BUNDLED {
        let expected = count_with_python(&repo().join("datasets").join(id).join(file), kind);
        let detail = get_json(&demo().url(&format!("/api/datasets/{id}")), 200);
        assert_eq!(detail["row_count"], expected, "{id}: row_count");
        let table = detail["table"].as_str().expect("table").to_owned();
        let result = sql(&format!("SELECT count(*) AS n FROM {table}"));
        assert_eq!(result["rows"][0][0], expected, "{id}: count(*)");
    }
}

#[test]
fn detail_has_schema_extent_versions_and_verifiable_distributions() {
    for (id, _, kind) in BUNDLED {
        let d = get_json(&demo().url(&format!("/api/datasets/{id}")), 200);
        assert_eq!(
            d["licence"]["uri"], "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
            "{id}"
        );
        assert!(!d["attribution"].as_str().expect("attribution").is_empty());
        assert_eq!(d["versions"].as_array().expect("versions").len(), 1);
        assert_eq!(d["versions"][0]["number"], 1);
        let spatial = *kind == "geojson";
        assert_eq!(
            d["extent"]["spatial"]["bbox"].is_array(),
            spatial,
            "{id}: bbox"
        );
        let formats: Vec<&str> = d["distributions"]
            .as_array()
            .expect("distributions")
            .iter()
            .map(|x| x["format"].as_str().expect("format"))
            .collect();
        let expected: &[&str] = if spatial {
            &["parquet", "csv", "geojson", "fgb"]
        } else {
            &["parquet", "csv"]
        };
        assert_eq!(formats, expected, "{id}");
        for dist in d["distributions"].as_array().expect("distributions") {
            let url = demo().url(dist["url"].as_str().expect("url"));
            let bytes = http()
                .get(&url)
                .send()
                .expect("download")
                .bytes()
                .expect("bytes");
            assert_eq!(
                bytes.len() as u64,
                dist["byte_size"].as_u64().expect("size"),
                "{url}"
            );
            assert_eq!(sha256_hex(&bytes), dist["sha256"], "{url}");
            let versioned = http()
                .get(demo().url(dist["version_url"].as_str().expect("url")))
                .send()
                .expect("download");
            assert_eq!(
                versioned.bytes().expect("bytes"),
                bytes,
                "{url}: versioned URL serves the same file"
            );
        }
    }
    // Schema: the Karlsruhe district numbers keep their leading zeros as text.
    let d = get_json(&demo().url("/api/datasets/wahlbezirke-karlsruhe"), 200);
    let schema = d["schema"].as_array().expect("schema");
    let col = |name: &str| {
        schema
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("column {name}"))
    };
    assert_eq!(col("Wahlbezirksnummer")["type"], "string");
    assert_eq!(col("Wahlkreisnummer")["type"], "integer");
    assert_eq!(col("geometry")["type"], "geometry");
    let bbox = d["extent"]["spatial"]["bbox"].as_array().expect("bbox");
    let (min_lon, max_lat) = (
        bbox[0].as_f64().expect("f64"),
        bbox[3].as_f64().expect("f64"),
    );
    assert!(
        (8.2..8.4).contains(&min_lon) && (49.0..49.2).contains(&max_lat),
        "{bbox:?}"
    );
}

#[test]
fn downloads_have_headers_ranges_and_conditional_gets() {
    let base = "/api/datasets/wahlbezirke-karlsruhe";
    for (ext, media_type) in [
        ("csv", "text/csv; charset=utf-8"),
        ("parquet", "application/vnd.apache.parquet"),
        ("geojson", "application/geo+json"),
        ("fgb", "application/flatgeobuf"),
    ] {
        let url = demo().url(&format!("{base}/download.{ext}"));
        let full = http().get(&url).send().expect("GET");
        assert_eq!(full.status().as_u16(), 200);
        let h = full.headers().clone();
        let body = full.bytes().expect("bytes");
        assert_eq!(h["content-type"], media_type);
        assert_eq!(
            h["content-length"].to_str().expect("len"),
            body.len().to_string()
        );
        assert_eq!(
            h["etag"].to_str().expect("etag"),
            format!("\"{}\"", sha256_hex(&body))
        );
        assert!(httpdate_ok(h["last-modified"].to_str().expect("date")));
        assert_eq!(h["accept-ranges"], "bytes");
        assert_eq!(h["cache-control"], "public, no-cache");
        let versioned = http()
            .get(url.replace("/download.", "/versions/1/download."))
            .send()
            .expect("GET");
        assert_eq!(
            versioned.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );

        let part = http()
            .get(&url)
            .header("Range", "bytes=10-109")
            .send()
            .expect("GET range");
        assert_eq!(part.status().as_u16(), 206);
        assert_eq!(
            part.headers()["content-range"].to_str().expect("cr"),
            format!("bytes 10-109/{}", body.len())
        );
        assert_eq!(part.bytes().expect("bytes"), body.slice(10..110));

        let tail = http()
            .get(&url)
            .header("Range", "bytes=-8")
            .send()
            .expect("GET suffix");
        assert_eq!(tail.status().as_u16(), 206);
        assert_eq!(tail.bytes().expect("bytes"), body.slice(body.len() - 8..));

        let cached = http()
            .get(&url)
            .header("If-None-Match", h["etag"].clone())
            .send()
            .expect("GET conditional");
        assert_eq!(cached.status().as_u16(), 304);
        assert!(cached.bytes().expect("bytes").is_empty());

        let past = http()
            .get(&url)
            .header("Range", format!("bytes={}-", body.len() + 10))
            .send()
            .expect("GET");
        assert_eq!(past.status().as_u16(), 416);
        assert_eq!(
            past.headers()["content-range"].to_str().expect("cr"),
            format!("bytes */{}", body.len())
        );
    }
    // The CSV opens right in Excel: UTF-8 byte order mark; umlauts intact.
    let csv = http()
        .get(demo().url("/api/datasets/haushalt-wesel-2017/download.csv"))
        .send()
        .expect("GET")
        .bytes()
        .expect("bytes");
    assert!(csv.starts_with(b"\xEF\xBB\xBFProfitcenter,"));
    let text = std::str::from_utf8(&csv).expect("utf-8");
    assert!(text.contains("andere sonstige ordentliche Erträge"));
    assert!(text.contains("\r\n"), "RFC 4180 line ends");

    assert_eq!(
        get_json(
            &demo().url("/api/datasets/haushalt-wesel-2017/download.fgb"),
            404
        )["code"],
        "NotFound"
    );
    assert_eq!(
        get_json(&demo().url(&format!("{base}/download.xlsx")), 404)["code"],
        "NotFound"
    );
    assert_eq!(
        get_json(&demo().url(&format!("{base}/versions/7/download.csv")), 404)["code"],
        "NotFound"
    );
    assert_eq!(
        get_json(&demo().url(&format!("{base}/versions/x/download.csv")), 400)["code"],
        "InvalidParameterValue"
    );
}

fn httpdate_ok(s: &str) -> bool {
    s.ends_with(" GMT") && s.len() == 29
}

#[test]
fn sql_returns_typed_values_and_spatial_functions_work() {
    // Amounts are numbers, the dotted object number a string, umlauts intact.
    let r = sql(
        r#"SELECT "Objektnr.", "Kostenart Beschreibung", "Ist 2016" FROM haushalt_wesel_2017 WHERE "Profitcenter" = 10101 AND "Kostenart" = 45910000"#,
    );
    assert_eq!(r["rows"][0][0], "1.100.01.01.01");
    assert_eq!(r["rows"][0][1], "andere sonstige ordentliche Erträge");
    assert_eq!(r["rows"][0][2], -1528.63);
    assert_eq!(r["columns"][2]["type"], "Float64");
    assert_eq!(r["truncated"], false);

    let r = sql(
        r#"SELECT "Datum", "Mittelwert" FROM pegel_nrw_tageswerte WHERE "Name" = 'Ahlen' ORDER BY "Datum" LIMIT 1"#,
    );
    assert_eq!(r["rows"][0], serde_json::json!(["2013-01-01", 55.53]));

    // Which election district contains the Karlsruhe market square (8.4037 E, 49.0093 N)?
    let r = sql(
        "SELECT \"Wahlbezirksname\" FROM wahlbezirke_karlsruhe WHERE ST_Contains(geometry, ST_GeomFromText('POINT(8.4037 49.0093)'))",
    );
    assert_eq!(r["rows"].as_array().expect("rows").len(), 1, "{r}");
    // Geometry comes back as WKT.
    let r = sql("SELECT geometry FROM pegel_nrw_stationen WHERE \"Name\" = 'Ahlen'");
    assert_eq!(r["rows"][0][0], "POINT(7.9186738 51.7447912)");
}

#[test]
fn sql_json_results_are_capped_and_csv_is_complete() {
    let r = sql("SELECT \"Name\" FROM pegel_nrw_tageswerte");
    assert_eq!(r["rows"].as_array().expect("rows").len(), 10_000);
    assert_eq!(r["truncated"], true);

    let csv = http()
        .get(demo().url("/api/sql"))
        .query(&[
            ("q", "SELECT \"Name\", \"Datum\" FROM pegel_nrw_tageswerte"),
            ("format", "csv"),
        ])
        .send()
        .expect("GET csv");
    assert_eq!(csv.status().as_u16(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().expect("text");
    assert_eq!(text.lines().next(), Some("Name,Datum"));
    assert_eq!(text.lines().count(), 103_384 + 1);
}

#[test]
fn sql_accepts_post_as_form_json_and_plain_text() {
    let url = demo().url("/api/sql");
    let q = "SELECT count(*) FROM pegel_nrw_stationen";
    let form: Value = http()
        .post(&url)
        .form(&[("q", q)])
        .send()
        .expect("POST")
        .json()
        .expect("JSON");
    let json: Value = http()
        .post(&url)
        .json(&serde_json::json!({ "q": q }))
        .send()
        .expect("POST")
        .json()
        .expect("JSON");
    let plain: Value = http()
        .post(&url)
        .body(q)
        .send()
        .expect("POST")
        .json()
        .expect("JSON");
    for r in [&form, &json, &plain] {
        assert_eq!(r["rows"][0][0], 214, "{r}");
    }
    let csv = http()
        .post(format!("{url}?format=csv"))
        .body(q)
        .send()
        .expect("POST")
        .text()
        .expect("text");
    assert_eq!(csv.trim_end(), "count(*)\n214");
}

#[test]
fn sql_refuses_everything_but_one_read_only_query() {
    for q in [
        "CREATE TABLE x AS SELECT 1",
        "CREATE EXTERNAL TABLE pw (line VARCHAR) STORED AS CSV LOCATION '/etc/passwd'",
        "INSERT INTO haushalt_wesel_2017 VALUES (1)",
        "DELETE FROM haushalt_wesel_2017",
        "DROP TABLE haushalt_wesel_2017",
        "COPY (SELECT 1) TO '/tmp/allmende-copy.csv'",
        "SET datafusion.execution.batch_size = 1",
        "SELECT 1; SELECT 2",
        "SELECT 1; DROP TABLE haushalt_wesel_2017",
    ] {
        let (status, body) = sql_error(q);
        assert_eq!(status, 400, "{q}: {body}");
        assert_eq!(body["code"], "NotReadOnly", "{q}: {body}");
        assert!(body["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    assert!(!std::path::Path::new("/tmp/allmende-copy.csv").exists());
    // No query reads a file outside the published datasets.
    for q in [
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELEC 1",
    ] {
        let (status, body) = sql_error(q);
        assert_eq!(status, 400, "{q}: {body}");
        assert_eq!(body["code"], "InvalidQuery", "{q}: {body}");
    }
    // The tables still answer after all that.
    assert_eq!(
        sql("SELECT count(*) FROM haushalt_wesel_2017")["rows"][0][0],
        5972
    );
    let (status, body) = sql_error("");
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("InvalidParameterValue"))
    );
}

#[test]
fn sql_has_a_time_limit() {
    // A second server over the same published data with a 1 s limit and a single query slot;
    // a three-way cross join of the daily values (10^15 rows) could run for days.
    let data = demo().data.clone();
    let server = crate::Server::start(
        &["serve", "--sql-concurrency", "1"],
        &[("ALLMENDE_SQL_TIMEOUT", "1")],
        data,
    );
    let runaway = "SELECT count(*) FROM pegel_nrw_tageswerte a, pegel_nrw_tageswerte b, \
                   pegel_nrw_tageswerte c WHERE a.\"Mittelwert\" + b.\"Mittelwert\" > c.\"Mittelwert\"";
    let response = http()
        .get(server.url("/api/sql"))
        .query(&[("q", runaway)])
        .send()
        .expect("GET");
    assert_eq!(response.status().as_u16(), 503);
    let body: Value = response.json().expect("JSON");
    assert_eq!(body["code"], "QueryTimeout");
    // And it still serves.
    assert_eq!(get_json(&server.url("/health"), 200)["status"], "ok");
    // The plan really stops. A query holds its slot until its plan has ended, and DataFusion
    // cancels at batch boundaries, which in a nested-loop join can be seconds apart; so the
    // next query gets the single slot once the join has stopped, long before it could finish.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let response = http()
            .get(server.url("/api/sql"))
            .query(&[("q", "SELECT count(*) FROM pegel_nrw_stationen")])
            .send()
            .expect("GET");
        match response.status().as_u16() {
            200 => break,
            503 if attempts < 30 => continue,
            status => {
                panic!("the runaway query still holds the slot: {status} after {attempts} tries")
            }
        }
    }
}

#[test]
fn unknown_paths_get_json_404() {
    let r = get_json(&demo().url("/no/such/thing"), 404);
    assert_eq!(r["code"], "NotFound");
}

#[test]
fn a_new_version_is_served_without_a_restart() {
    let data = crate::scratch("reload-data");
    let server = crate::Server::start(&["serve"], &[], data.clone());
    assert_eq!(get_json(&server.url("/health"), 200)["datasets"], 0);
    assert_eq!(
        get_json(&server.url("/api/datasets/pegel-nrw-stationen"), 404)["code"],
        "NotFound"
    );

    let ingest = |extra: &[&str]| {
        crate::ingest_into(&repo().join("datasets/pegel-nrw-stationen"), &data, extra)
    };
    ingest(&[]);
    assert_eq!(get_json(&server.url("/health"), 200)["datasets"], 1);
    let count: Value = http()
        .get(server.url("/api/sql"))
        .query(&[("q", "SELECT count(*) FROM pegel_nrw_stationen")])
        .send()
        .expect("GET")
        .json()
        .expect("JSON");
    assert_eq!(count["rows"][0][0], 214);

    ingest(&["--force"]);
    let detail = get_json(&server.url("/api/datasets/pegel-nrw-stationen"), 200);
    assert_eq!(detail["version"], 2);
    assert_eq!(detail["versions"].as_array().expect("versions").len(), 2);
    let v1 = http()
        .get(server.url("/api/datasets/pegel-nrw-stationen/versions/1/download.csv"))
        .send()
        .expect("GET");
    assert_eq!(v1.status().as_u16(), 200);
}

#[test]
fn responses_allow_cross_origin_reads() {
    let response = http()
        .get(demo().url("/api/datasets"))
        .header("Origin", "https://example.org")
        .send()
        .expect("GET");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}

#[test]
fn sql_parse_errors_give_the_position() {
    let (status, body) = sql_error("SELECT *\nFROM haushalt_wesel_2017\nWHERE )");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "InvalidQuery", "{body}");
    assert_eq!(body["position"]["line"], 3, "{body}");
    assert_eq!(body["position"]["column"], 7, "{body}");
    // Errors without a place in the text have no position.
    let (_, body) = sql_error("SELECT * FROM no_such_table");
    assert!(body.get("position").is_none(), "{body}");
}

#[test]
fn sql_has_a_memory_limit() {
    // A hash join builds its 4 M-row side in memory, which cannot spill: more than 16 MiB,
    // the share of one of 4 concurrent queries in 64 MiB.
    let data = demo().data.clone();
    let server = crate::Server::start(
        &["serve", "--sql-memory-mb", "64", "--sql-concurrency", "4"],
        &[],
        data,
    );
    let response = http()
        .get(server.url("/api/sql"))
        .query(&[(
            "q",
            "SELECT count(*) FROM range(4000000) a JOIN range(4000000) b ON a.value = b.value",
        )])
        .send()
        .expect("GET");
    assert_eq!(response.status().as_u16(), 422);
    let body: Value = response.json().expect("JSON");
    assert_eq!(body["code"], "QueryTooLarge", "{body}");
    let description = body["description"].as_str().expect("description");
    assert!(description.contains("16 MiB"), "{description}");
    // The memory is given back: the next query answers normally.
    let response = http()
        .get(server.url("/api/sql"))
        .query(&[("q", "SELECT count(*) FROM pegel_nrw_tageswerte")])
        .send()
        .expect("GET");
    assert_eq!(response.status().as_u16(), 200);
}

#[test]
fn sql_refuses_what_it_cannot_queue_and_keeps_serving_the_rest() {
    use std::time::Instant;
    // 4 slots (the default) and 8 places in the queue, 2 s per query: of 32 runaway queries at
    // once (the issue's load), 4 run, 8 wait and the others are refused at once with
    // Retry-After, while health and downloads are still served.
    let data = demo().data.clone();
    let server = crate::Server::start(
        &["serve", "--sql-timeout", "2", "--sql-queue", "8"],
        &[],
        data,
    );
    let q = "SELECT count(*) FROM pegel_nrw_tageswerte a, pegel_nrw_tageswerte b \
             WHERE a.\"Mittelwert\" + b.\"Mittelwert\" > 0";
    let (tx, rx) = std::sync::mpsc::channel();
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let (url, tx) = (server.url("/api/sql"), tx.clone());
            std::thread::spawn(move || {
                let response = http().get(&url).query(&[("q", q)]).send().expect("GET");
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().expect("ascii").to_owned());
                let body: Value = response.json().expect("JSON");
                tx.send((status, retry_after, body, Instant::now()))
                    .expect("send");
            })
        })
        .collect();
    drop(tx);
    // The first refusal comes while the slow queries still run; then the rest still answers.
    let first = rx.recv().expect("an answer");
    let health = get_json(&server.url("/health"), 200);
    assert_eq!(health["status"], "ok");
    let download = http()
        .get(server.url("/api/datasets/wahlbezirke-karlsruhe/download.geojson"))
        .send()
        .expect("GET download");
    assert_eq!(download.status().as_u16(), 200);
    assert!(!download.bytes().expect("bytes").is_empty());
    let served = Instant::now();
    let mut answers = vec![first];
    answers.extend(rx.iter());
    for w in workers {
        w.join().expect("worker");
    }
    let busy: Vec<_> = answers
        .iter()
        .filter(|a| a.2["code"] == "SqlBusy")
        .collect();
    assert!(busy.len() >= 16, "{answers:?}");
    for (status, retry_after, _, _) in &busy {
        assert_eq!(*status, 503);
        assert_eq!(retry_after.as_deref(), Some("2"));
    }
    let slow: Vec<_> = answers
        .iter()
        .filter(|a| a.2["code"] == "QueryTimeout")
        .collect();
    assert!(!slow.is_empty(), "{answers:?}");
    assert_eq!(busy.len() + slow.len(), 32, "{answers:?}");
    // Health and the download were answered while a slow query was still running.
    assert!(slow.iter().any(|a| a.3 > served), "{answers:?}");
}

#[test]
fn sql_explain_analyze_shows_the_executed_plan() {
    // The JSON row cap must not wrap EXPLAIN ANALYZE, which DataFusion needs as the plan root.
    let result = sql("EXPLAIN ANALYZE SELECT count(*) FROM haushalt_wesel_2017");
    let text = result["rows"].to_string();
    assert!(text.contains("Plan with Metrics"), "{text}");
    assert!(text.contains("output_rows=1"), "{text}");
}
