//! Delivery of warning-level events on the real binary: each event as a CAP 1.2 alert that
//! xmllint validates against the OASIS schema, Atom feeds linking them, a Server-Sent Events
//! stream that a raw HTTP client reads while a push crosses a level, and signed webhooks with
//! retries proven by the delivery log.
//!
//! Ahlen's Informationsstufen are 170, 200 and 250 cm (datasets/pegel-nrw-stationen), its
//! position 51.7447912 N, 7.9186738 E; the dataset's hysteresis is 5 cm.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::gauges::{TOKEN, data_root_with, push};
use super::{Server, get_json, http, scratch};

/// Bounded wait for anything a test waits on.
const PATIENCE: Duration = Duration::from_secs(60);

fn serve(data: PathBuf, more: &[(&str, &str)]) -> Server {
    let mut envs = vec![("ALLMENDE_ADMIN_TOKENS", TOKEN)];
    envs.extend_from_slice(more);
    Server::start(&["serve"], &envs, data)
}

/// Ahlen rises to Informationsstufe 1 (175), then 2 (205.5), then falls below every level.
fn rise_and_fall() -> Value {
    json!([
        {"station": "Ahlen", "time": "2024-01-03T11:45:00Z", "value": 165},
        {"station": "Ahlen", "time": "2024-01-03T12:00:00Z", "value": 175},
        {"station": "Ahlen", "time": "2024-01-03T12:45:00Z", "value": 205.5},
        {"station": "Ahlen", "time": "2024-01-03T18:00:00Z", "value": 120}
    ])
}

fn get_text(url: &str) -> (String, String) {
    let response = http().get(url).send().expect("GET");
    assert_eq!(response.status().as_u16(), 200, "GET {url}");
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (kind, response.text().expect("body"))
}

/// Whether xmllint is installed; skips with a message, or fails under CI.
pub(super) fn have_xmllint() -> bool {
    super::have_tool("xmllint", "--version", "apt-get install libxml2-utils")
}

#[test]
fn each_event_is_a_cap_alert_that_validates_and_the_feeds_link_them() {
    let server = serve(data_root_with("events-cap", ""), &[]);
    let (status, outcome) = push(&server, "application/json", rise_and_fall().to_string());
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(
        outcome["events"].as_array().map(Vec::len),
        Some(3),
        "{outcome}"
    );

    let listed = get_json(&server.url("/api/datasets/pegel-live/events"), 200);
    let events = listed["events"].as_array().expect("events");
    // Newest first.
    let summary: Vec<(Value, Value, Value, Value)> = events
        .iter()
        .map(|e| {
            (
                e["id"].clone(),
                e["from"].clone(),
                e["to"].clone(),
                e["msg_type"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!(3), json!(2), json!(0), json!("Cancel")),
            (json!(2), json!(1), json!(2), json!("Update")),
            (json!(1), json!(0), json!(1), json!("Alert")),
        ]
    );

    let dir = scratch("events-cap-files");
    let mut files = Vec::new();
    let mut caps = Vec::new();
    for n in 1..=3 {
        let (kind, xml) =
            get_text(&server.url(&format!("/api/datasets/pegel-live/events/{n}.cap")));
        assert!(kind.starts_with("application/cap+xml"), "{kind}");
        let path = dir.join(format!("event-{n}.cap.xml"));
        std::fs::write(&path, &xml).expect("write CAP");
        files.push(path);
        caps.push(xml);
    }
    let alert = &caps[0];
    for expected in [
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">",
        "<identifier>allmende-pegel-live-event-1</identifier>",
        "<status>Actual</status>",
        "<msgType>Alert</msgType>",
        "<scope>Public</scope>",
        "<category>Met</category>",
        "<event>Hochwasser: Informationsstufe 1</event>",
        "<urgency>Expected</urgency>",
        "<severity>Minor</severity>",
        "<certainty>Observed</certainty>",
        "<onset>2024-01-03T12:00:00+00:00</onset>",
        "<circle>51.7447912,7.9186738 0</circle>",
    ] {
        assert!(alert.contains(expected), "{expected} missing in\n{alert}");
    }
    assert!(caps[1].contains("<msgType>Update</msgType>"), "{}", caps[1]);
    assert!(
        caps[1].contains("<severity>Moderate</severity>"),
        "{}",
        caps[1]
    );
    assert!(
        caps[1].contains(",allmende-pegel-live-event-1,"),
        "an update references the alert before it: {}",
        caps[1]
    );
    assert!(caps[2].contains("<msgType>Cancel</msgType>"), "{}", caps[2]);
    assert!(
        caps[2].contains(",allmende-pegel-live-event-2,"),
        "{}",
        caps[2]
    );
    let missing = http()
        .get(server.url("/api/datasets/pegel-live/events/9.cap"))
        .send()
        .expect("GET");
    assert_eq!(missing.status().as_u16(), 404);

    // The feeds: well-formed XML in the Atom namespace, checked by Python's standard library,
    // each entry linking its CAP alert.
    let (kind, atom) = get_text(&server.url("/api/datasets/pegel-live/events.atom"));
    assert!(kind.starts_with("application/atom+xml"), "{kind}");
    let (_, all) = get_text(&server.url("/api/events.atom"));
    let script = r#"
import json, sys
import xml.etree.ElementTree as ET
A = "{http://www.w3.org/2005/Atom}"
out = []
for path in sys.argv[1:]:
    root = ET.parse(path).getroot()
    assert root.tag == A + "feed", root.tag
    for required in ("id", "title", "updated"):
        assert root.find(A + required) is not None, required
    entries = []
    for entry in root.findall(A + "entry"):
        links = [l.attrib for l in entry.findall(A + "link")]
        cap = [l["href"] for l in links if l.get("rel") == "alternate" and l.get("type") == "application/cap+xml"]
        assert entry.find(A + "id") is not None and entry.find(A + "updated") is not None
        entries.append({"title": entry.find(A + "title").text, "cap": cap})
    out.append(entries)
print(json.dumps(out))
"#;
    let atom_path = dir.join("events.atom");
    let all_path = dir.join("all.atom");
    std::fs::write(&atom_path, &atom).expect("write");
    std::fs::write(&all_path, &all).expect("write");
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&atom_path)
        .arg(&all_path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "not an Atom feed: {}\n{atom}",
        String::from_utf8_lossy(&out.stderr)
    );
    let feeds: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for feed in feeds.as_array().expect("feeds") {
        let entries = feed.as_array().expect("entries");
        assert_eq!(entries.len(), 3, "{feeds}");
        let newest = entries[0]["cap"][0].as_str().expect("CAP link");
        assert!(
            newest.ends_with("/api/datasets/pegel-live/events/3.cap"),
            "{newest}"
        );
        let (_, linked) = get_text(newest);
        assert_eq!(linked, caps[2]);
    }

    if !have_xmllint() {
        return;
    }
    let schema = super::repo().join("../shared/standards/cap/CAP-v1.2.xsd");
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&schema)
        .args(&files)
        .output()
        .expect("xmllint");
    assert!(
        out.status.success(),
        "xmllint: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Reads from `stream` until `needle` has arrived; panics after [`PATIENCE`].
fn read_until(stream: &mut TcpStream, seen: &mut String, needle: &str) {
    let deadline = Instant::now() + PATIENCE;
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        assert!(Instant::now() < deadline, "no {needle:?} in:\n{seen}");
        match stream.read(&mut buf) {
            Ok(0) => panic!("stream closed before {needle:?}:\n{seen}"),
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) => panic!("reading the stream: {e}\n{seen}"),
        }
    }
}

/// Reads the stream until the first event named `name` after `cursor` in what was `seen` has
/// arrived whole (it ends with an empty line); returns its data as JSON and moves `cursor`
/// past it.
fn read_event(stream: &mut TcpStream, seen: &mut String, cursor: &mut usize, name: &str) -> Value {
    let from = *cursor;
    let marker = format!("event: {name}\n");
    let deadline = Instant::now() + PATIENCE;
    let mut buf = [0u8; 4096];
    loop {
        if let Some(at) = seen[from..].find(&marker)
            && let Some(end) = seen[from + at..].find("\n\n")
        {
            let event = &seen[from + at..from + at + end];
            *cursor = from + at + end;
            let data = event
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or_else(|| panic!("no data in {event:?}"));
            return serde_json::from_str(data).expect("JSON data");
        }
        assert!(
            Instant::now() < deadline,
            "no whole {name} event in:\n{seen}"
        );
        match stream.read(&mut buf) {
            Ok(0) => panic!("stream closed before a {name} event:\n{seen}"),
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) => panic!("reading the stream: {e}\n{seen}"),
        }
    }
}

#[test]
fn the_event_stream_pushes_a_level_change_to_a_connected_reader() {
    let server = serve(data_root_with("events-sse", ""), &[]);
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).expect("connect");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("read timeout");
    write!(
        stream,
        "GET /api/datasets/pegel-live/events/stream HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .expect("send");
    let mut seen = String::new();
    // Subscribed from the `ready` event on.
    read_until(&mut stream, &mut seen, "event: ready");
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(
        seen.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{seen}"
    );

    let (status, outcome) = push(
        &server,
        "application/json",
        json!([{"station": "Ahlen", "time": "2024-01-03T12:00:00Z", "value": 212}]).to_string(),
    );
    assert_eq!(status, 200, "{outcome}");
    let mut cursor = seen.len();
    let notice = read_event(&mut stream, &mut seen, &mut cursor, "level");
    assert_eq!(notice["station"], "Ahlen");
    assert_eq!(
        (notice["from"].clone(), notice["to"].clone()),
        (json!(0), json!(2))
    );
    assert_eq!(notice["to_name"], "Informationsstufe 2");
    assert_eq!(notice["value"], 212.0);
    assert_eq!(notice["cap"], "/api/datasets/pegel-live/events/1.cap");

    // Then the stations whose latest value changed, for maps that move without reloading.
    let latest = read_event(&mut stream, &mut seen, &mut cursor, "latest");
    assert_eq!(latest.as_array().map(Vec::len), Some(1), "{latest}");
    assert_eq!(latest[0]["station"], "Ahlen");
    assert_eq!(latest[0]["value"], 212.0);
    assert_eq!(latest[0]["level"], 2);

    let other = http()
        .get(server.url("/api/datasets/nope/events/stream"))
        .send()
        .expect("GET");
    assert_eq!(other.status().as_u16(), 404);

    // An open stream does not hold up a graceful shutdown: the server ends it and exits.
    let status = server
        .stop(PATIENCE)
        .expect("the server exited with a stream open");
    assert!(status.success(), "{status}");
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
}

/// HMAC-SHA256 written out from RFC 2104, independent of the server's `hmac` crate.
fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    hex::encode(
        Sha256::new()
            .chain_update(pad(0x5c))
            .chain_update(inner)
            .finalize(),
    )
}

/// A request as a receiver saw it: its headers (lower-case names) and body.
type Received = (Vec<(String, String)>, Vec<u8>);

/// A webhook receiver on loopback: answers each request with the next status of `statuses`
/// (200 once they are used up) and reports the request.
fn receiver(statuses: Vec<u16>) -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for connection in listener.incoming() {
            let Ok(connection) = connection else { continue };
            let mut reader = BufReader::new(connection);
            let mut headers = Vec::new();
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                }
            }
            let length = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let status = statuses.next().unwrap_or(200);
            let mut connection = reader.into_inner();
            let _ = write!(
                connection,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = connection.flush();
            if tx.send((headers, body)).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

fn header<'a>(received: &'a Received, name: &str) -> Option<&'a str> {
    received
        .0
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn webhooks_are_signed_retried_with_backoff_and_logged() {
    const SECRET: &str = "webhook-secret-for-tests";
    let (good, good_rx) = receiver(Vec::new());
    let (flaky, flaky_rx) = receiver(vec![500, 503]);
    // A receiver that takes connections and never answers: the push must not wait for it.
    let hanging = TcpListener::bind("127.0.0.1:0").expect("bind");
    let hanging_url = format!("http://{}/hook", hanging.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in hanging.incoming() {
            held.push(connection);
        }
    });
    // Nobody listens here: every attempt fails, the last one is logged as `failed`.
    let refused = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/hook", listener.local_addr().expect("addr"))
    };
    // The good receiver is the dataset's own (dataset.toml), the others the server's.
    let hooks = format!("{flaky},{hanging_url} {refused}");
    let server = serve(
        data_root_with("events-webhooks", &format!("webhooks = [\"{good}\"]\n")),
        &[
            ("ALLMENDE_WEBHOOKS", &hooks),
            ("ALLMENDE_WEBHOOK_SECRET", SECRET),
            ("ALLMENDE_WEBHOOK_BACKOFF_MS", "20"),
            ("ALLMENDE_WEBHOOK_ATTEMPTS", "4"),
        ],
    );
    let started = Instant::now();
    let (status, outcome) = push(
        &server,
        "application/json",
        json!([{"station": "Ahlen", "time": "2024-01-03T12:00:00Z", "value": 175}]).to_string(),
    );
    assert_eq!(status, 200, "{outcome}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the push waited for a webhook receiver"
    );

    let delivered = good_rx
        .recv_timeout(PATIENCE)
        .expect("the good receiver got the event");
    let signature = header(&delivered, "x-allmende-signature").expect("signature header");
    assert_eq!(
        signature,
        format!("sha256={}", hmac_sha256(SECRET.as_bytes(), &delivered.1))
    );
    assert_eq!(header(&delivered, "content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&delivered.1).expect("JSON body");
    assert_eq!(body["dataset"], "pegel-live");
    assert_eq!(body["station"], "Ahlen");
    assert_eq!(
        (body["from"].clone(), body["to"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(body["id"], 1);

    // The flaky receiver answers 500, 503, then 200: three attempts, the same signed body.
    let attempts: Vec<Received> = (0..3)
        .map(|i| {
            flaky_rx
                .recv_timeout(PATIENCE)
                .unwrap_or_else(|e| panic!("attempt {} at the flaky receiver: {e}", i + 1))
        })
        .collect();
    for attempt in &attempts {
        assert_eq!(attempt.1, delivered.1);
        assert_eq!(header(attempt, "x-allmende-signature"), Some(signature));
    }

    // The log: wait (server-side, bounded) for the four queued entries, the four answered
    // attempts and the four refused ones.
    let response = http()
        .get(server.url("/api/webhooks/deliveries?min=12&wait=30"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .expect("GET deliveries");
    assert_eq!(response.status().as_u16(), 200);
    let log: Value = response.json().expect("JSON");
    let entries = log["deliveries"].as_array().expect("deliveries");
    let of = |url: &str| -> Vec<(Value, Value, Value)> {
        entries
            .iter()
            .filter(|e| e["url"] == url)
            .map(|e| {
                (
                    e["attempt"].clone(),
                    e["status"].clone(),
                    e["outcome"].clone(),
                )
            })
            .collect()
    };
    let queued = (json!(0), Value::Null, json!("queued"));
    assert_eq!(
        of(&good),
        vec![queued.clone(), (json!(1), json!(200), json!("delivered"))]
    );
    assert_eq!(
        of(&flaky),
        vec![
            queued,
            (json!(1), json!(500), json!("retrying")),
            (json!(2), json!(503), json!("retrying")),
            (json!(3), json!(200), json!("delivered")),
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| e["event"] == 1 && e["dataset"] == "pegel-live")
    );

    // The log is for admins only.
    let anonymous = http()
        .get(server.url("/api/webhooks/deliveries"))
        .send()
        .expect("GET");
    assert_eq!(anonymous.status().as_u16(), 401);
}

#[test]
fn the_events_are_a_dataset_of_their_own_in_the_catalogue_sql_and_downloads() {
    let server = serve(data_root_with("events-dataset", ""), &[]);
    let (status, outcome) = push(&server, "application/json", rise_and_fall().to_string());
    assert_eq!(status, 200, "{outcome}");

    // Published in the background after the push: wait for it.
    let deadline = Instant::now() + PATIENCE;
    let detail = loop {
        let response = http()
            .get(server.url("/api/datasets/pegel-live-events"))
            .send()
            .expect("GET");
        if response.status().as_u16() == 200 {
            break response.json::<Value>().expect("JSON");
        }
        assert!(Instant::now() < deadline, "no events dataset");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        detail["title"], "Pegel NRW live: Wechsel der Warnstufe",
        "{detail}"
    );
    assert_eq!(detail["licence"]["id"], "dl-by-de/2.0", "{detail}");

    // Listed by the catalogue search.
    let found = get_json(&server.url("/api/datasets?q=Warnstufe"), 200);
    assert!(found.to_string().contains("pegel-live-events"), "{found}");

    // The CSV download has the three events, in the order they happened (Ahlen: 0→1 at 175,
    // 1→2 at 205.5, 2→0 at 120; see rise_and_fall).
    let csv = http()
        .get(server.url("/api/datasets/pegel-live-events/download.csv"))
        .send()
        .and_then(|r| r.text())
        .expect("CSV");
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let header = reader.headers().expect("header").clone();
    let at = |name: &str| header.iter().position(|h| h == name).expect(name);
    let rows: Vec<(String, String, String, String)> = reader
        .records()
        .map(|r| r.expect("row"))
        .map(|r| {
            (
                r[at("event")].to_owned(),
                r[at("from_level")].to_owned(),
                r[at("to_level")].to_owned(),
                r[at("value")].to_owned(),
            )
        })
        .collect();
    let mut sorted = rows.clone();
    sorted.sort();
    let expected = |e: &str, f: &str, t: &str, v: &str| (e.into(), f.into(), t.into(), v.into());
    assert_eq!(
        sorted,
        vec![
            expected("1", "0", "1", "175.0"),
            expected("2", "1", "2", "205.5"),
            expected("3", "2", "0", "120.0")
        ],
        "{csv}"
    );

    // SQL over it, and the stations' position as its geometry.
    let response = http()
        .get(server.url("/api/sql"))
        .query(&[(
            "q",
            "SELECT station, ST_AsText(geometry) FROM pegel_live_events WHERE to_level = 2",
        )])
        .send()
        .expect("SQL");
    let body: Value = response.json().expect("JSON");
    assert_eq!(body["rows"][0][0], "Ahlen", "{body}");
    assert_eq!(body["rows"][0][1], "POINT(7.9186738 51.7447912)", "{body}");

    // A push without a change of level publishes no new version.
    let (status, _) = push(
        &server,
        "application/json",
        json!([{"station": "Ahlen", "time": "2024-01-03T18:15:00Z", "value": 110}]).to_string(),
    );
    assert_eq!(status, 200);
    let again = get_json(&server.url("/api/datasets/pegel-live-events"), 200);
    assert_eq!(
        again["versions"].as_array().map(Vec::len),
        Some(1),
        "{again}"
    );
}

#[test]
fn a_webhook_delivery_interrupted_by_kill_9_is_resumed_after_the_restart() {
    // The receiver answers 503 once, then 200; the retry waits a minute, and the server is
    // killed meanwhile.
    let (hook, received) = receiver(vec![503]);
    let envs = [
        ("ALLMENDE_WEBHOOKS", hook.as_str()),
        ("ALLMENDE_WEBHOOK_BACKOFF_MS", "60000"),
    ];
    let data = data_root_with("events-webhook-restart", "");
    let mut server = serve(data.clone(), &envs);
    let (status, outcome) = push(
        &server,
        "application/json",
        json!([{"station": "Ahlen", "time": "2024-01-03T12:00:00Z", "value": 175}]).to_string(),
    );
    assert_eq!(status, 200, "{outcome}");
    let first = received.recv_timeout(PATIENCE).expect("the first attempt");
    let deliveries = |server: &Server, min: usize| -> Vec<(Value, Value)> {
        let log: Value = http()
            .get(server.url(&format!("/api/webhooks/deliveries?min={min}&wait=30")))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .send()
            .and_then(|r| r.json())
            .expect("deliveries");
        log["deliveries"]
            .as_array()
            .expect("deliveries")
            .iter()
            .map(|d| (d["attempt"].clone(), d["outcome"].clone()))
            .collect()
    };
    assert_eq!(
        deliveries(&server, 2),
        vec![(json!(0), json!("queued")), (json!(1), json!("retrying"))]
    );
    server.kill9();

    let server = serve(data, &envs);
    let second = received
        .recv_timeout(PATIENCE)
        .expect("the resumed attempt");
    assert_eq!(second.1, first.1, "the same event, the same body");
    assert_eq!(
        deliveries(&server, 3),
        vec![
            (json!(0), json!("queued")),
            (json!(1), json!("retrying")),
            (json!(2), json!("delivered"))
        ]
    );
}
