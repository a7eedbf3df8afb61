//! `allmende demo` brings the bundled LANUV gauges alive: its replay pushes the archived daily
//! maxima of January 2013 through the push path, so the latest values move and a station
//! crosses a warning level within a minute, with its event, feed entry and CAP alert.
//!
//! Expected by hand from datasets/pegel-nrw-tageswerte: Hagen-Eckesey's daily maxima are 154
//! (2013-01-29) and 197 cm (01-30); its Informationsstufe 1 is 170 cm. The replay starts at
//! 2013-01-29 00:00 and steps 3 h, so the fourth push (09:00) carries 154 + 43 × 9/24 = 170.1,
//! the first value of any bundled gauge at a warning level (checked over all 214 with Python
//! when the replay was configured).

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Server, get_json, http, repo, scratch};

/// The demo's promise: within a minute.
const MINUTE: Duration = Duration::from_secs(60);

const ID: &str = "pegel-nrw-stationen";

#[test]
fn the_demo_replay_moves_the_gauges_and_raises_an_alert_within_a_minute() {
    let datasets = repo().join("datasets");
    let server = Server::start(
        &["demo", "--datasets", datasets.to_str().expect("utf-8")],
        &[],
        scratch("demo-replay"),
    );
    let started = Instant::now();

    // The map moves: a station's latest value changes from one read to a later one.
    let value_of = |station: &str| -> Option<f64> {
        let latest = get_json(&server.url(&format!("/api/datasets/{ID}/latest")), 200);
        latest["stations"]
            .as_array()?
            .iter()
            .find(|s| s["station"] == station)?["value"]
            .as_f64()
    };
    let first = wait_for(started, "a first replayed reading of Menden_1", || {
        value_of("Menden_1")
    });
    wait_for(started, "Menden_1's value to change", || {
        value_of("Menden_1").filter(|v| *v != first)
    });

    // A level is crossed: the event, as the hand calculation says.
    let event = wait_for(started, "a level event", || {
        let listed = get_json(&server.url(&format!("/api/datasets/{ID}/events")), 200);
        listed["events"].as_array()?.last().cloned()
    });
    assert_eq!(event["station"], "Hagen-Eckesey", "{event}");
    assert_eq!(
        (event["from"].clone(), event["to"].clone()),
        (0.into(), 1.into())
    );
    assert_eq!(event["value"], 170.1, "{event}");
    let n = event["id"].as_u64().expect("event id");

    // It is in the feed, and its CAP alert validates.
    let atom = http()
        .get(server.url(&format!("/api/datasets/{ID}/events.atom")))
        .send()
        .and_then(|r| r.text())
        .expect("feed");
    assert!(
        atom.contains(&format!("/api/datasets/{ID}/events/{n}.cap")),
        "{atom}"
    );
    let cap = http()
        .get(server.url(&format!("/api/datasets/{ID}/events/{n}.cap")))
        .send()
        .and_then(|r| r.text())
        .expect("CAP");
    assert!(cap.contains("<msgType>Alert</msgType>"), "{cap}");
    assert!(cap.contains("Hagen-Eckesey"), "{cap}");
    if super::events::have_xmllint() {
        let file = scratch("demo-replay-cap").join("alert.cap.xml");
        std::fs::write(&file, &cap).expect("write CAP");
        let out = Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(repo().join("../shared/standards/cap/CAP-v1.2.xsd"))
            .arg(&file)
            .output()
            .expect("xmllint");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The replayed readings are ordinary observations, marked as a replay.
    let response = http()
        .get(server.url("/api/sql"))
        .query(&[(
            "q",
            "SELECT count(*) AS n, min(quality) AS q FROM pegel_nrw_stationen__observations \
             WHERE station = 'Hagen-Eckesey' AND value >= 170",
        )])
        .send()
        .expect("SQL");
    let body: Value = response.json().expect("JSON");
    assert!(body["rows"][0][0].as_i64() >= Some(1), "{body}");
    assert_eq!(body["rows"][0][1], "replay", "{body}");
}

/// Calls `probe` until it gives a value; fails when the demo's minute is over.
fn wait_for<T>(started: Instant, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            started.elapsed() < MINUTE,
            "no {what} within a minute of the demo's start"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
