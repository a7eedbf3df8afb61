//! The upstream poller on the real binary: a time series with `[source] url` and `every`
//! fetches its readings from a small HTTP server on loopback, which the test scripts (a
//! PEGELONLINE `stations.json`, 304s for a known ETag, a 500, garbage, an answer that never
//! comes, CSV). The tests wait on what the server logs (`GET /api/datasets/{id}/polls`) and
//! serves (`/latest`, SQL), never on the clock.
//!
//! Stations: Ahlen and Albersloh of datasets/pegel-nrw-stationen; EITZE (the PEGELONLINE
//! OpenAPI example station) is not one of ours. Epoch seconds from `date -u -d … +%s`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::gauges::{TOKEN, sql, station};
use super::{Server, get_json, http, repo, scratch};

/// What the upstream answers next.
#[derive(Clone)]
enum Answer {
    /// 200 with this JSON and ETag; 304 to a request naming the ETag.
    Json {
        etag: &'static str,
        body: String,
    },
    Csv(String),
    Status(u16),
    /// 200 `application/json` whose body is not JSON.
    Garbage,
    /// Reads the request and never answers (until the test ends).
    Hang,
}

#[derive(Default)]
struct Seen {
    /// `If-None-Match` of each request, in order.
    if_none_match: Vec<Option<String>>,
    paths: Vec<String>,
}

struct Upstream {
    base: String,
    answer: Arc<Mutex<Answer>>,
    seen: Arc<Mutex<Seen>>,
}

impl Upstream {
    fn start(first: Answer) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let answer = Arc::new(Mutex::new(first));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (a, s) = (answer.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (a, s) = (a.clone(), s.clone());
                std::thread::spawn(move || handle(stream, &a, &s));
            }
        });
        Upstream { base, answer, seen }
    }

    fn set(&self, answer: Answer) {
        *self.answer.lock().expect("lock") = answer;
    }
}

fn handle(mut stream: TcpStream, answer: &Mutex<Answer>, seen: &Mutex<Seen>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request).to_string();
    let path = text
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let if_none_match = text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("if-none-match")
            .then(|| value.trim().to_owned())
    });
    let answer = {
        let mut seen = seen.lock().expect("lock");
        seen.if_none_match.push(if_none_match.clone());
        seen.paths.push(path);
        answer.lock().expect("lock").clone()
    };
    let reply = |status: &str, headers: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let response = match answer {
        Answer::Json { etag, .. } if if_none_match.as_deref() == Some(etag) => {
            reply("304 Not Modified", &format!("ETag: {etag}\r\n"), "")
        }
        Answer::Json { etag, body } => reply(
            "200 OK",
            &format!("Content-Type: application/json\r\nETag: {etag}\r\n"),
            &body,
        ),
        Answer::Csv(body) => reply("200 OK", "Content-Type: text/csv\r\n", &body),
        Answer::Status(code) => reply(&format!("{code} Oops"), "", "upstream down"),
        Answer::Garbage => reply(
            "200 OK",
            "Content-Type: application/json\r\n",
            "<html>Wartungsarbeiten</html>",
        ),
        Answer::Hang => {
            std::thread::sleep(Duration::from_secs(600));
            return;
        }
    };
    let _ = stream.write_all(response.as_bytes());
}

/// A PEGELONLINE `stations.json?includeTimeseries=true&includeCurrentMeasurement=true`
/// (shape of openapi.yaml's Station/Timeseries/CurrentMeasurement): Ahlen by its upper-case
/// shortname, with a temperature series beside its water level; Albersloh; EITZE.
fn stations_json(ahlen: (&str, f64), albersloh: (&str, f64)) -> String {
    let station = |uuid: &str, short: &str, water: &str, (time, value): (&str, f64)| {
        json!({
            "uuid": uuid, "number": "1", "shortname": short, "longname": short,
            "agency": "LANUV", "water": {"shortname": water, "longname": water},
            "timeseries": [
                {"shortname": "WT", "longname": "WASSERTEMPERATUR", "unit": "°C",
                 "currentMeasurement": {"timestamp": time, "value": 4.5}},
                {"shortname": "W", "longname": "WASSERSTAND ROHDATEN", "unit": "cm",
                 "equidistance": 15,
                 "currentMeasurement": {"timestamp": time, "value": value,
                                        "stateMnwMhw": "normal", "stateNswHsw": "unknown"}}
            ]
        })
    };
    json!([
        station(
            "00000000-0000-0000-0000-00000000000a",
            "AHLEN",
            "WERSE",
            ahlen
        ),
        station(
            "00000000-0000-0000-0000-00000000000b",
            "ALBERSLOH",
            "WERSE",
            albersloh
        ),
        station(
            "47174d8f-1b8e-4599-8a59-b580dd55bc87",
            "EITZE",
            "ALLER",
            ("2024-01-03T13:00:00+01:00", 323.0)
        ),
    ])
    .to_string()
}

/// A data root with the LANUV stations as time series `pegel-live`, its `[source]` extended
/// by `source` (the feed).
fn data_root(name: &str, source: &str) -> PathBuf {
    let root = scratch(name);
    let dir = root.join("pegel-live");
    std::fs::create_dir_all(&dir).expect("source dir");
    std::fs::write(dir.join("dataset.toml"), dataset_toml(source)).expect("dataset.toml");
    let data = root.join("data");
    super::ingest_into(&dir, &data, &[]);
    data
}

fn dataset_toml(source: &str) -> String {
    let stations = repo().join("datasets/pegel-nrw-stationen/pegel_stationen.geojson");
    format!(
        r#"title = "Pegel NRW live"
licence = "dl-by-de/2.0"
kind = "timeseries"

[source]
path = "{}"
{source}

[timeseries]
station = "Name"
water = "Gewaesser"
unit = "cm"
levels = ["Informationsstufe 1", "Informationsstufe 2", "Informationsstufe 3"]
"#,
        stations.display()
    )
}

fn start(data: PathBuf) -> Server {
    Server::start(
        &["serve"],
        &[
            ("ALLMENDE_ADMIN_TOKENS", TOKEN),
            ("ALLMENDE_POLL_TIMEOUT_MS", "1500"),
        ],
        data,
    )
}

/// The poll log, oldest first.
fn polls(server: &Server) -> Vec<Value> {
    let log = get_json(
        &server.url("/api/datasets/pegel-live/polls?limit=1000"),
        200,
    );
    let mut entries = log["polls"].as_array().expect("polls").clone();
    entries.reverse();
    entries
}

/// Waits (up to a minute) for a logged poll at or after position `from` that `matches`;
/// returns its position and the entry.
fn wait_poll(
    server: &Server,
    from: usize,
    what: &str,
    matches: impl Fn(&Value) -> bool,
) -> (usize, Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let entries = polls(server);
        if let Some((i, e)) = entries
            .iter()
            .enumerate()
            .skip(from)
            .find(|(_, e)| matches(e))
        {
            return (i, e.clone());
        }
        assert!(
            Instant::now() < deadline,
            "no poll {what} after entry {from}: {entries:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn latest_value(server: &Server, id: &str) -> (Value, Value) {
    let latest = get_json(&server.url("/api/datasets/pegel-live/latest"), 200);
    let s = station(&latest, id);
    (s["time"].clone(), s["value"].clone())
}

#[test]
fn a_pegelonline_feed_is_polled_conditionally_and_survives_a_broken_upstream() {
    let upstream = Upstream::start(Answer::Json {
        etag: "\"v1\"",
        body: stations_json(
            ("2024-01-03T13:00:00+01:00", 150.0),
            ("2024-01-03T13:00:00+01:00", 120.0),
        ),
    });
    let url = format!("{}/webservices/rest-api/v2/stations.json", upstream.base);
    let server = start(data_root(
        "poll-pegelonline",
        &format!("url = \"{url}\"\nevery = \"1s\""),
    ));

    // The first poll stores Ahlen and Albersloh; EITZE is not ours.
    let (first, stored) = wait_poll(&server, 0, "stored", |e| e["outcome"] == "stored");
    assert_eq!(stored["status"], 200, "{stored}");
    assert_eq!(stored["url"], url);
    assert_eq!(
        (
            &stored["received"],
            &stored["accepted"],
            &stored["other_stations"],
            &stored["rejected"]
        ),
        (&json!(3), &json!(2), &json!(1), &json!(0)),
        "{stored}"
    );
    assert_eq!(stored["wait_ms"], 1000);
    assert_eq!(
        latest_value(&server, "Ahlen"),
        (json!("2024-01-03T12:00:00Z"), json!(150.0))
    );
    assert_eq!(
        sql(
            &server,
            "SELECT station, to_unixtime(time), value FROM pegel_live__observations ORDER BY station"
        ),
        vec![
            json!(["Ahlen", 1704283200, 150.0]),
            json!(["Albersloh", 1704283200, 120.0]),
        ]
    );
    let detail = get_json(&server.url("/api/datasets/pegel-live"), 200);
    assert_eq!(detail["timeseries"]["feed"]["url"], url);
    assert_eq!(
        detail["timeseries"]["feed"]["polls"],
        "/api/datasets/pegel-live/polls"
    );

    // The next poll names the ETag and gets 304.
    let (after, unchanged) = wait_poll(&server, first + 1, "not modified", |e| {
        e["outcome"] == "not_modified"
    });
    assert_eq!(unchanged["status"], 304, "{unchanged}");
    assert_eq!(unchanged["accepted"], 0);
    {
        let seen = upstream.seen.lock().expect("lock");
        assert_eq!(seen.if_none_match[0], None);
        assert_eq!(seen.if_none_match[1].as_deref(), Some("\"v1\""));
        assert_eq!(seen.paths[0], "/webservices/rest-api/v2/stations.json");
    }

    // Upstream corrects Ahlen's 12:00 value and has a new one for Albersloh.
    upstream.set(Answer::Json {
        etag: "\"v2\"",
        body: stations_json(
            ("2024-01-03T13:00:00+01:00", 152.0),
            ("2024-01-03T13:15:00+01:00", 125.0),
        ),
    });
    let (after, changed) = wait_poll(&server, after + 1, "with the new values", |e| {
        e["outcome"] == "stored"
    });
    assert_eq!(
        (
            &changed["accepted"],
            &changed["corrections"],
            &changed["duplicates"]
        ),
        (&json!(1), &json!(1), &json!(0)),
        "{changed}"
    );
    assert_eq!(
        latest_value(&server, "Ahlen"),
        (json!("2024-01-03T12:00:00Z"), json!(152.0))
    );
    assert_eq!(
        latest_value(&server, "Albersloh"),
        (json!("2024-01-03T12:15:00Z"), json!(125.0))
    );

    // A 500, then garbage, then no answer at all: each poll fails with its reason and the
    // waits double; the server answers meanwhile and keeps what it has.
    upstream.set(Answer::Status(500));
    let (at_500, failed) = wait_poll(&server, after + 1, "failed with 500", |e| {
        e["outcome"] == "failed"
    });
    assert_eq!(failed["status"], 500, "{failed}");
    assert!(
        failed["error"].as_str().is_some_and(|e| e.contains("500")),
        "{failed}"
    );
    upstream.set(Answer::Garbage);
    let (at_garbage, _) = wait_poll(&server, at_500 + 1, "failed on garbage", |e| {
        e["error"]
            .as_str()
            .is_some_and(|e| e.contains("unreadable answer"))
    });
    upstream.set(Answer::Hang);
    let (at_hang, hung) = wait_poll(&server, at_garbage + 1, "timed out", |e| {
        e["error"].as_str().is_some_and(|e| e.contains("timeout"))
    });
    assert_eq!(hung["status"], Value::Null, "{hung}");
    // While the upstream hangs (each poll now waits for its timeout), requests are answered.
    let quick = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    for path in ["/health", "/api/datasets/pegel-live/latest"] {
        let response = quick.get(server.url(path)).send().expect(path);
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
    let log = polls(&server);
    let failures: Vec<(Value, Value)> = log[at_500..=at_hang]
        .iter()
        .map(|e| (e["failures"].clone(), e["wait_ms"].clone()))
        .collect();
    // Failed polls in a row, and the wait after each: every, 2×, 4×, …
    let expected: Vec<(Value, Value)> = (0..failures.len())
        .map(|i| (json!(i + 1), json!(1000u64 << i)))
        .collect();
    assert_eq!(failures, expected, "{log:#?}");
    assert!(
        log[at_500..=at_hang]
            .iter()
            .all(|e| e["outcome"] == "failed")
    );
    assert_eq!(
        latest_value(&server, "Ahlen"),
        (json!("2024-01-03T12:00:00Z"), json!(152.0))
    );

    // Back up: the next poll stores again and the pace returns to `every`.
    upstream.set(Answer::Json {
        etag: "\"v3\"",
        body: stations_json(
            ("2024-01-03T13:30:00+01:00", 160.0),
            ("2024-01-03T13:30:00+01:00", 130.0),
        ),
    });
    let (_, recovered) = wait_poll(&server, at_hang + 1, "stored after the failures", |e| {
        e["outcome"] == "stored"
    });
    assert_eq!(
        (
            &recovered["accepted"],
            &recovered["failures"],
            &recovered["wait_ms"]
        ),
        (&json!(2), &json!(0), &json!(1000)),
        "{recovered}"
    );
    assert_eq!(
        sql(
            &server,
            "SELECT count(*), max(value) FROM pegel_live__observations WHERE station = 'Ahlen'"
        ),
        vec![json!([2, 160.0])]
    );
}

#[test]
fn a_csv_feed_is_polled_and_a_changed_url_restarts_the_poller() {
    let first = Upstream::start(Answer::Csv(
        "station,time,value\nAhlen,2024-01-03T12:00:00Z,171.5\nAtlantis,2024-01-03T12:00:00Z,1\n"
            .into(),
    ));
    let url = format!("{}/pegel.csv", first.base);
    let data = data_root("poll-csv", &format!("url = \"{url}\"\nevery = \"1s\""));
    let server = start(data);
    let (at, stored) = wait_poll(&server, 0, "stored", |e| e["outcome"] == "stored");
    // A CSV feed's unknown stations are rejected as in a push.
    assert_eq!(
        (&stored["accepted"], &stored["rejected"]),
        (&json!(1), &json!(1)),
        "{stored}"
    );
    assert!(
        stored["rejections"][0]
            .as_str()
            .is_some_and(|e| e.contains("unknown station 'Atlantis'")),
        "{stored}"
    );
    assert_eq!(
        latest_value(&server, "Ahlen"),
        (json!("2024-01-03T12:00:00Z"), json!(171.5))
    );
    // Reaching Informationsstufe 1 (170 cm) through a poll is a level event like a push's.
    let events = get_json(&server.url("/api/datasets/pegel-live/events"), 200);
    let events = events["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (&events[0]["station"], &events[0]["from"], &events[0]["to"]),
        (&json!("Ahlen"), &json!(0), &json!(1))
    );

    // A new dataset.toml naming another feed (a semicolon CSV, format stated): the poller
    // follows it.
    let second = Upstream::start(Answer::Csv(
        "station;time;value\nAlbersloh;2024-01-03T12:30:00Z;99\n".into(),
    ));
    let url2 = format!("{}/other.csv", second.base);
    let response = http()
        .put(server.url("/api/datasets/pegel-live/dataset.toml"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Content-Type", "text/plain")
        .body(dataset_toml(&format!(
            "url = \"{url2}\"\nevery = \"1s\"\nfeed = \"csv\""
        )))
        .send()
        .expect("PUT dataset.toml");
    assert_eq!(response.status().as_u16(), 200);
    let (_, moved) = wait_poll(&server, at + 1, "of the new url", |e| e["url"] == url2);
    assert_eq!(moved["outcome"], "stored", "{moved}");
    assert_eq!(
        latest_value(&server, "Albersloh"),
        (json!("2024-01-03T12:30:00Z"), json!(99.0))
    );
    let log = get_json(&server.url("/api/datasets/pegel-live/polls?limit=1"), 200);
    assert_eq!(log["url"], url2);
    assert_eq!(log["polls"].as_array().map(Vec::len), Some(1));
}
