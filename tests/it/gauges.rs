//! Live gauges on the real binary: readings pushed with a token are visible in SQL and in
//! `/latest` at once, duplicates change nothing, corrections are reported and kept in the
//! history, bad readings are listed while the good ones are kept, and an acknowledged push
//! survives `kill -9`.
//!
//! Expected values by hand: Ahlen's Informationsstufen are 170, 200 and 250 cm, Albersloh's
//! 190, 250 and 300 cm (datasets/pegel-nrw-stationen); epoch seconds from `date -u -d … +%s`.

use std::fs;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Server, get_json, http, repo, scratch};

pub(super) const TOKEN: &str = "gauge-push-token-0123456789";

/// A data root with the LANUV stations published as a time-series dataset `pegel-live`.
pub(super) fn data_root(name: &str) -> PathBuf {
    data_root_with(name, "")
}

/// The folder of `pegel-live`'s dataset.toml in a scratch root.
fn source_dir(data: &std::path::Path) -> PathBuf {
    data.parent().expect("root").join("pegel-live")
}

/// Like [`data_root`], with `more` appended to the dataset.toml.
pub(super) fn data_root_with(name: &str, more: &str) -> PathBuf {
    let root = scratch(name);
    let source = root.join("pegel-live");
    fs::create_dir_all(&source).expect("source dir");
    let stations = repo().join("datasets/pegel-nrw-stationen/pegel_stationen.geojson");
    fs::write(
        source.join("dataset.toml"),
        format!(
            r#"title = "Pegel NRW live"
licence = "dl-by-de/2.0"
kind = "timeseries"

[source]
path = "{}"

[timeseries]
station = "Name"
water = "Gewaesser"
unit = "cm"
levels = ["Informationsstufe 1", "Informationsstufe 2", "Informationsstufe 3"]
hysteresis = 5.0
{more}"#,
            stations.display()
        ),
    )
    .expect("dataset.toml");
    let data = root.join("data");
    super::ingest_into(&source, &data, &[]);
    data
}

pub(super) fn serve(data: PathBuf) -> Server {
    Server::start(&["serve"], &[("ALLMENDE_ADMIN_TOKENS", TOKEN)], data)
}

pub(super) fn push(
    server: &Server,
    content_type: &str,
    body: impl Into<reqwest::blocking::Body>,
) -> (u16, Value) {
    let response = http()
        .post(server.url("/api/datasets/pegel-live/observations"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .expect("POST observations");
    let status = response.status().as_u16();
    let text = response.text().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")),
    )
}

pub(super) fn sql(server: &Server, q: &str) -> Vec<Value> {
    let response = http()
        .get(server.url("/api/sql"))
        .query(&[("q", q)])
        .send()
        .expect("GET /api/sql");
    let status = response.status().as_u16();
    let text = response.text().expect("body");
    assert_eq!(status, 200, "{q}: {text}");
    let body: Value = serde_json::from_str(&text).expect("JSON");
    body["rows"].as_array().expect("rows").clone()
}

/// Sends `request` as it is and reads the answer until the server closes the connection.
fn raw_request(server: &Server, request: &str) -> String {
    use std::io::{Read, Write};
    let address = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

pub(super) fn station<'a>(latest: &'a Value, id: &str) -> &'a Value {
    latest["stations"]
        .as_array()
        .expect("stations")
        .iter()
        .find(|s| s["station"] == id)
        .unwrap_or_else(|| panic!("{id} in {latest}"))
}

fn first_push() -> Value {
    json!([
        {"station": "Ahlen", "time": "2024-01-03T11:30:00Z", "value": 150},
        {"station": "Ahlen", "time": "2024-01-03T11:45:00Z", "value": 165},
        {"station": "Atlantis", "time": "2024-01-03T11:45:00Z", "value": 1},
        {"station": "Ahlen", "time": "2024-01-03T12:00:00Z", "value": 175},
        {"station": "Ahlen", "time": "2024-01-03T12:15:00", "value": 180},
        {"station": "Ahlen", "time": "2024-01-03T13:45:00+01:00", "value": 205.5},
        {"station": "Albersloh", "time": "2024-01-03T12:45:00Z", "value": "hoch"},
        {"station": "Albersloh", "time": "2024-01-03T12:45:00Z", "value": 100}
    ])
}

#[test]
fn pushed_readings_are_in_sql_and_latest_and_bad_ones_are_listed() {
    let server = serve(data_root("gauges-push"));
    let (status, outcome) = push(&server, "application/json", first_push().to_string());
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["received"], 8);
    assert_eq!(outcome["accepted"], 5);
    assert_eq!(outcome["duplicates"], 0);
    assert_eq!(outcome["late"], 0);
    let rejected = outcome["rejected"].as_array().expect("rejected");
    let errors: Vec<(Value, &str)> = rejected
        .iter()
        .map(|r| (r["index"].clone(), r["error"].as_str().expect("error")))
        .collect();
    assert_eq!(errors.len(), 3, "{outcome}");
    // In the order sent, each with its place in the array.
    assert_eq!(errors[0].0, 2);
    assert!(
        errors[0].1.contains("unknown station 'Atlantis'"),
        "{errors:?}"
    );
    assert_eq!(errors[1].0, 4);
    assert!(errors[1].1.contains("no zone"), "{errors:?}");
    assert_eq!(errors[2].0, 6);
    assert!(errors[2].1.contains("not a number"), "{errors:?}");
    // 175 cm reaches Informationsstufe 1 (170), 205.5 cm Informationsstufe 2 (200).
    assert_eq!(
        outcome["events"],
        json!([
            {"station": "Ahlen", "from": 0, "to": 1, "time": "2024-01-03T12:00:00Z", "value": 175.0},
            {"station": "Ahlen", "from": 1, "to": 2, "time": "2024-01-03T12:45:00Z", "value": 205.5}
        ])
    );

    let rows = sql(
        &server,
        "SELECT station, to_unixtime(time), value FROM pegel_live__observations ORDER BY station, time",
    );
    assert_eq!(
        rows,
        vec![
            json!(["Ahlen", 1704281400, 150.0]),
            json!(["Ahlen", 1704282300, 165.0]),
            json!(["Ahlen", 1704283200, 175.0]),
            json!(["Ahlen", 1704285900, 205.5]),
            json!(["Albersloh", 1704285900, 100.0]),
        ]
    );

    assert_eq!(
        sql(
            &server,
            "SELECT station, from_level, to_level, to_unixtime(time), value FROM pegel_live__events ORDER BY time"
        ),
        vec![
            json!(["Ahlen", 0, 1, 1704283200, 175.0]),
            json!(["Ahlen", 1, 2, 1704285900, 205.5]),
        ]
    );

    let latest = get_json(&server.url("/api/datasets/pegel-live/latest"), 200);
    let ahlen = station(&latest, "Ahlen");
    assert_eq!(ahlen["value"], 205.5);
    assert_eq!(ahlen["time"], "2024-01-03T12:45:00Z");
    assert_eq!(ahlen["level"], 2);
    assert_eq!(ahlen["level_name"], "Informationsstufe 2");
    assert_eq!(ahlen["water"], "Werse");
    assert_eq!(ahlen["unit"], "cm");
    // From 165 cm at 11:45, the earliest reading of the hour before 12:45.
    assert_eq!(ahlen["trend"], "rising");
    let albersloh = station(&latest, "Albersloh");
    assert_eq!(
        (albersloh["level"].clone(), albersloh["trend"].clone()),
        (json!(0), Value::Null)
    );
    assert_eq!(latest["stations"].as_array().map(Vec::len), Some(2));

    let detail = get_json(&server.url("/api/datasets/pegel-live"), 200);
    assert_eq!(
        detail["timeseries"]["tables"]["events"],
        "pegel_live__events"
    );
    assert_eq!(detail["timeseries"]["levels"][2], "Informationsstufe 3");
    let geo = get_json(
        &server.url("/api/datasets/pegel-live/latest?f=geojson"),
        200,
    );
    assert_eq!(geo["type"], "FeatureCollection");
    let feature = geo["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["id"] == "Ahlen")
        .expect("Ahlen");
    assert_eq!(
        feature["geometry"]["coordinates"],
        json!([7.9186738, 51.7447912])
    );
    assert_eq!(feature["properties"]["level"], 2);

    // The same in SQL, read from memory at each query: never an answer cached from before.
    let latest_sql = "SELECT station, value, level, level_name, trend, ST_AsText(geometry) \
                      FROM pegel_live__latest ORDER BY station";
    assert_eq!(
        sql(&server, latest_sql),
        vec![
            json!([
                "Ahlen",
                205.5,
                2,
                "Informationsstufe 2",
                "rising",
                "POINT(7.9186738 51.7447912)"
            ]),
            json!([
                "Albersloh",
                100.0,
                0,
                null,
                null,
                "POINT(7.7279781 51.8839087)"
            ]),
        ]
    );
    // And as an OGC API collection, filtered with CQL2.
    let collections = get_json(&server.url("/ogc/collections?f=json"), 200);
    assert!(
        collections["collections"]
            .as_array()
            .expect("collections")
            .iter()
            .any(|c| c["id"] == "pegel-live-latest"),
        "{collections}"
    );
    let latest_items = "/ogc/collections/pegel-live-latest/items?f=json&filter=level%3E%3D1";
    let items = get_json(&server.url(latest_items), 200);
    let features = items["features"].as_array().expect("features");
    assert_eq!(features.len(), 1, "{items}");
    assert_eq!(features[0]["properties"]["station"], "Ahlen");
    assert_eq!(features[0]["properties"]["value"], 205.5);
    assert_eq!(
        features[0]["properties"]["level_name"],
        "Informationsstufe 2"
    );
    assert_eq!(
        features[0]["geometry"]["coordinates"],
        json!([7.9186738, 51.7447912])
    );
    let (status, _) = push(
        &server,
        "application/json",
        json!([{"station": "Albersloh", "time": "2024-01-03T13:00:00Z", "value": 260}]).to_string(),
    );
    assert_eq!(status, 200);
    assert_eq!(
        sql(&server, latest_sql)[1],
        json!([
            "Albersloh",
            260.0,
            2,
            "Informationsstufe 2",
            "rising",
            "POINT(7.7279781 51.8839087)"
        ])
    );
    let items = get_json(&server.url(latest_items), 200);
    assert_eq!(items["numberMatched"], 2, "{items}");

    // Not a time series; no token; a body over the limit.
    let table = http()
        .post(server.url("/api/datasets/nope/observations"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .body("[]")
        .send()
        .expect("POST");
    assert_eq!(table.status().as_u16(), 404);
    let anonymous = http()
        .post(server.url("/api/datasets/pegel-live/observations"))
        .body(first_push().to_string())
        .send()
        .expect("POST");
    assert_eq!(anonymous.status().as_u16(), 401);
    // A 50 MB push is refused on its Content-Length, before the body is read. (Over raw TCP:
    // an HTTP client sending the whole body would see the connection closed under it.)
    let answer = raw_request(
        &server,
        &format!(
            "POST /api/datasets/pegel-live/observations HTTP/1.1\r\nHost: x\r\n\
             Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
             Content-Length: 50000000\r\nConnection: close\r\n\r\n["
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("TooLarge"), "{answer}");
    let all_bad = json!([{"station": "Ahlen", "time": "gestern", "value": 1}]);
    let (status, body) = push(&server, "application/json", all_bad.to_string());
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        sql(&server, "SELECT count(*) FROM pegel_live__observations"),
        vec![json!([6])],
        "the first push's 5 and Albersloh's 260; nothing of the refused pushes"
    );
}

#[test]
fn a_duplicate_is_a_no_op_and_a_correction_is_reported_and_kept() {
    let server = serve(data_root("gauges-correct"));
    let (status, _) = push(&server, "application/json", first_push().to_string());
    assert_eq!(status, 200);
    let parts_file = server
        .data
        .join("datasets/pegel-live/observations/parts.json");
    let parts_before = fs::read_to_string(&parts_file).expect("parts.json");

    let (status, outcome) = push(&server, "application/json", first_push().to_string());
    assert_eq!(status, 200);
    assert_eq!(
        (outcome["accepted"].clone(), outcome["duplicates"].clone()),
        (json!(0), json!(5))
    );
    assert_eq!(outcome["corrections"], json!([]));
    assert_eq!(
        fs::read_to_string(&parts_file).expect("parts.json"),
        parts_before,
        "a push of duplicates commits nothing"
    );

    // /latest carries an ETag; polling with it gets 304 until a push changes a value.
    let latest_url = server.url("/api/datasets/pegel-live/latest");
    let first = http().get(&latest_url).send().expect("GET latest");
    let etag = first.headers()["etag"].to_str().expect("etag").to_owned();
    let plain = first.bytes().expect("body");
    // Gzipped when asked: Python's gzip module gives back the same bytes.
    let zipped = http()
        .get(&latest_url)
        .header("Accept-Encoding", "gzip")
        .send()
        .expect("GET latest gzip");
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let zipped = zipped.bytes().expect("gzip body");
    let mut python = std::process::Command::new("python3")
        .args([
            "-c",
            "import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    std::io::Write::write_all(&mut python.stdin.take().expect("stdin"), &zipped).expect("write");
    let unzipped = python.wait_with_output().expect("gunzip");
    assert_eq!(unzipped.stdout, plain.to_vec());
    let again = http()
        .get(&latest_url)
        .header("If-None-Match", &etag)
        .send()
        .expect("GET latest");
    assert_eq!(again.status().as_u16(), 304);

    let correction =
        "station,time,value\nAhlen,2024-01-03T12:45:00Z,210\nAhlen,2024-01-03T13:00:00Z,212\n";
    let (status, outcome) = push(&server, "text/csv", correction);
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["accepted"], 1);
    assert_eq!(
        outcome["corrections"],
        json!([{"station": "Ahlen", "parameter": "W", "time": "2024-01-03T12:45:00Z", "old": 205.5, "new": 210.0}])
    );
    // The latest value per key in SQL; both values in the history.
    assert_eq!(
        sql(
            &server,
            "SELECT value FROM pegel_live__observations WHERE station = 'Ahlen' AND time >= TIMESTAMP '2024-01-03T12:45:00Z' ORDER BY time"
        ),
        vec![json!([210.0]), json!([212.0])]
    );
    assert_eq!(
        sql(
            &server,
            "SELECT value FROM pegel_live__observation_history WHERE station = 'Ahlen' AND time = TIMESTAMP '2024-01-03T12:45:00Z' ORDER BY seq"
        ),
        vec![json!([205.5]), json!([210.0])]
    );
    let latest = get_json(&server.url("/api/datasets/pegel-live/latest"), 200);
    assert_eq!(station(&latest, "Ahlen")["value"], 212.0);
    let changed = http()
        .get(&latest_url)
        .header("If-None-Match", &etag)
        .send()
        .expect("GET latest");
    assert_eq!(changed.status().as_u16(), 200);
    assert_ne!(changed.headers()["etag"].to_str().expect("etag"), etag);
}

#[test]
fn an_acknowledged_push_survives_kill_9() {
    let data = data_root("gauges-kill");
    let mut server = serve(data.clone());
    let (status, _) = push(&server, "application/json", first_push().to_string());
    assert_eq!(status, 200);
    let batch = "station;time;value\nAlbersloh;2024-01-03T13:00:00Z;101\nAlbersloh;2024-01-03T13:15:00Z;102\n";
    let (status, outcome) = push(&server, "text/csv", batch);
    assert_eq!((status, outcome["accepted"].clone()), (200, json!(2)));
    // No shutdown, no flush: the process is gone the moment after the answer.
    server.kill9();

    let server = serve(data);
    assert_eq!(
        sql(
            &server,
            "SELECT station, count(*), max(value) FROM pegel_live__observations GROUP BY station ORDER BY station"
        ),
        vec![json!(["Ahlen", 4, 205.5]), json!(["Albersloh", 3, 102.0])]
    );
    assert_eq!(
        sql(&server, "SELECT count(*) FROM pegel_live__events"),
        vec![json!([2])]
    );
    let latest = get_json(&server.url("/api/datasets/pegel-live/latest"), 200);
    assert_eq!(station(&latest, "Albersloh")["value"], 102.0);
    assert_eq!(station(&latest, "Ahlen")["level"], 2);
    // The same push again after the restart is recognised as already stored.
    let (status, outcome) = push(&server, "text/csv", batch);
    assert_eq!((status, outcome["duplicates"].clone()), (200, json!(2)));
}

#[test]
fn many_small_pushes_are_compacted_in_the_background_and_read_the_same() {
    let server = serve(data_root("gauges-compact"));
    let reading = |minute: u32, value: f64| {
        json!([{
            "station": "Albersloh",
            "time": format!("2024-01-04T{:02}:{:02}:00Z", minute / 60, minute % 60),
            "value": value,
        }])
        .to_string()
    };
    // 18 pushes of one reading each, 15 minutes apart (100, 101, …); the second push
    // corrects the first (100 → 90).
    let (status, _) = push(&server, "application/json", reading(0, 100.0));
    assert_eq!(status, 200);
    let (_, outcome) = push(&server, "application/json", reading(0, 90.0));
    assert_eq!(outcome["corrections"][0]["old"], 100.0);
    for i in 1..18 {
        let (status, _) = push(
            &server,
            "application/json",
            reading(i * 15, 100.0 + f64::from(i)),
        );
        assert_eq!(status, 200);
    }
    // More than 16 parts start a compaction; wait for it to commit.
    let parts_file = server
        .data
        .join("datasets/pegel-live/observations/parts.json");
    let started = std::time::Instant::now();
    let parts = loop {
        let parts: Value =
            serde_json::from_str(&fs::read_to_string(&parts_file).expect("parts.json"))
                .expect("JSON");
        if parts["history"].as_array().is_some_and(|h| !h.is_empty()) {
            break parts;
        }
        assert!(
            started.elapsed().as_secs() < 120,
            "no compaction within two minutes: {parts}"
        );
        get_json(&server.url("/health"), 200);
    };
    assert!(
        parts["parts"].as_array().map(Vec::len) < Some(17),
        "{parts}"
    );
    assert_eq!(parts["history"][0]["rows"], 1, "the replaced 100");

    // Same answers as before compaction: 18 readings, the corrected one once.
    assert_eq!(
        sql(
            &server,
            "SELECT count(*), sum(value), min(value) FROM pegel_live__observations WHERE station = 'Albersloh'"
        ),
        // 90 + (101 + … + 117) = 90 + 1853
        vec![json!([18, 1943.0, 90.0])]
    );
    assert_eq!(
        sql(
            &server,
            "SELECT value FROM pegel_live__observation_history WHERE station = 'Albersloh' AND time = TIMESTAMP '2024-01-04T00:00:00Z' ORDER BY seq"
        ),
        vec![json!([100.0]), json!([90.0])]
    );
    let latest = get_json(&server.url("/api/datasets/pegel-live/latest"), 200);
    assert_eq!(station(&latest, "Albersloh")["value"], 117.0);
}

/// Sum and count of the daily means per (Name, Datum), the later row winning, without the
/// missing ones: Python's csv module, an outside count of the LANUV export.
fn python_history_totals(path: &std::path::Path) -> (u64, f64, u64) {
    let script = r#"
import csv, sys
latest, missing = {}, 0
with open(sys.argv[1], encoding="utf-8", newline="") as f:
    for row in csv.DictReader(f):
        if row["Mittelwert"].strip() in ("", "999.999"):
            missing += 1
            continue
        latest[(row["Name"], row["Datum"])] = float(row["Mittelwert"])
print(len(latest), round(sum(latest.values()), 2), missing)
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 is part of the machine");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace();
    let mut next = || fields.next().expect("three numbers").to_owned();
    (
        next().parse().expect("count"),
        next().parse().expect("sum"),
        next().parse().expect("missing"),
    )
}

#[test]
fn history_comes_in_with_ingest_append_and_the_running_server_sees_it() {
    let data = data_root_with(
        "gauges-history",
        r#"
[timeseries.import]
station = "Name"
time = "Datum"
value = "Mittelwert"
zone = "+01:00"                      # LANUV's days are CET days
null = ["999.999", ""]
"#,
    );
    let server = serve(data.clone());
    let (status, _) = push(&server, "application/json", first_push().to_string());
    assert_eq!(status, 200);

    let values = repo().join("datasets/pegel-nrw-tageswerte/pegel_tageswerte.csv");
    let out = super::allmende()
        .arg("ingest")
        .arg(source_dir(&data))
        .arg("--append")
        .arg("--source")
        .arg(&values)
        .arg("--data")
        .arg(&data)
        .output()
        .expect("ingest --append");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (keys, sum, missing) = python_history_totals(&values);
    // 195 station-days of 2014-04-09 come twice with different means: the later counts.
    assert!(
        stdout.contains(&format!("{missing} skipped as missing")),
        "{stdout}"
    );
    assert!(stdout.contains("195 corrections"), "{stdout}");

    let before_2020 = "FROM pegel_live__observations WHERE time < TIMESTAMP '2020-01-01T00:00:00Z'";
    assert_eq!(
        sql(
            &server,
            &format!("SELECT count(*), round(sum(value), 2) {before_2020}")
        ),
        vec![json!([keys, sum])]
    );
    // A day at +01:00 begins at 23:00 UTC the day before: 2012-12-31T23:00:00Z.
    assert_eq!(
        sql(
            &server,
            &format!("SELECT to_unixtime(min(time)) {before_2020} AND station = 'Ahlen'")
        ),
        vec![json!([1356994800])]
    );
    // The running server read the store again: a history reading pushed is a duplicate.
    let (status, outcome) = push(
        &server,
        "application/json",
        json!([{"station": "Ahlen", "time": "2013-01-01T00:00:00+01:00", "value": 55.53}])
            .to_string(),
    );
    assert_eq!(
        (status, outcome["duplicates"].clone()),
        (200, json!(1)),
        "{outcome}"
    );
}

#[test]
fn a_kill_9_during_a_stream_of_pushes_loses_no_acknowledged_reading_and_doubles_none() {
    let data = data_root("gauges-kill-during");
    let mut server = serve(data.clone());
    let url = server.url("/api/datasets/pegel-live/observations");
    // One thread pushes batches of 50 new readings as fast as answers come; it reports each
    // acknowledged batch and stops at the first failure (the server is gone).
    let (acked_tx, acked_rx) = std::sync::mpsc::channel::<u32>();
    let pusher = std::thread::spawn(move || {
        for batch in 0u32.. {
            let readings: Vec<Value> = (0..50u32)
                .map(|i| {
                    let minute = batch * 50 + i;
                    json!({
                        "station": "Altena",
                        "time": format!("2025-03-{:02}T{:02}:{:02}:00Z", 1 + minute / 1440, minute / 60 % 24, minute % 60),
                        "value": f64::from(minute),
                    })
                })
                .collect();
            let answer = http()
                .post(&url)
                .header("Authorization", format!("Bearer {TOKEN}"))
                .json(&readings)
                .send();
            match answer {
                Ok(r) if r.status().as_u16() == 200 => {
                    if acked_tx.send(batch).is_err() {
                        return;
                    }
                }
                _ => return,
            }
        }
    });
    // Kill once a few batches are acknowledged, while the next ones are on their way.
    for _ in 0..5 {
        acked_rx.recv().expect("an acknowledged batch");
    }
    server.kill9();
    pusher.join().expect("pusher");
    let acked: Vec<u32> = std::iter::once(4).chain(acked_rx.try_iter()).collect();
    let last_acked = *acked.iter().max().expect("some");

    let server = serve(data);
    let rows = sql(
        &server,
        "SELECT count(*), count(DISTINCT time), min(value), max(value) FROM pegel_live__observation_history WHERE station = 'Altena'",
    );
    let (count, distinct) = (rows[0][0].as_u64(), rows[0][1].as_u64());
    assert_eq!(count, distinct, "no reading doubled: {rows:?}");
    let stored = count.expect("count");
    // Every acknowledged batch is there in full; at most the batch in flight came in too.
    let acknowledged = u64::from(last_acked + 1) * 50;
    assert!(
        stored == acknowledged || stored == acknowledged + 50,
        "{stored} readings stored, {acknowledged} acknowledged"
    );
    assert_eq!(rows[0][2], json!(0.0));
    assert_eq!(
        sql(
            &server,
            &format!(
                "SELECT count(*) FROM pegel_live__observations WHERE station = 'Altena' AND value < {acknowledged}"
            )
        ),
        vec![json!([acknowledged])]
    );
}

#[test]
fn a_timeseries_whose_station_column_is_missing_is_not_published() {
    let root = scratch("gauges-misconfigured");
    let source = root.join("pegel-live");
    fs::create_dir_all(&source).expect("source dir");
    let stations = repo().join("datasets/pegel-nrw-stationen/pegel_stationen.geojson");
    fs::write(
        source.join("dataset.toml"),
        format!(
            "title = \"Pegel\"\nlicence = \"dl-by-de/2.0\"\nkind = \"timeseries\"\n[source]\npath = \"{}\"\n[timeseries]\nstation = \"Pegelnummer\"\n",
            stations.display()
        ),
    )
    .expect("dataset.toml");
    let data = root.join("data");
    let out = super::allmende()
        .arg("ingest")
        .arg(&source)
        .arg("--data")
        .arg(&data)
        .output()
        .expect("ingest");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("station = \"Pegelnummer\" is not a column"),
        "{stderr}"
    );
    assert!(!data.join("datasets/pegel-live/manifest.json").exists());
}
