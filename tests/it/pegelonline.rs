//! The PEGELONLINE-compatible read API (`/pegelonline/rest-api/v2/`) over the LANUV stations
//! published as the time-series dataset `pegel-live` (see gauges.rs): each endpoint over plain
//! HTTP, then the real `aiopegelonline` client (the library of Home Assistant's integration).
//!
//! Expected values by hand: the stations from datasets/pegel-nrw-stationen (214 of them, 130
//! waters; Werse: Ahlen and Albersloh; Ahlen's Informationsstufen 170/200/250 cm at 7.9186738,
//! 51.7447912). Distances from 51.75 N 7.9 E (haversine, Python): Ahlen 1.4 km, Sendenhorst
//! 9.4, Westtuennen 9.6, Sueddinker 13.4, Kesseler_3 16.2, Wolbeck 18.9, Albersloh 19.0, the
//! next 23.8. Uuids from Python's `uuid.uuid5(uuid.NAMESPACE_URL,
//! "urn:allmende:pegel-live/<station>")`.
//!
//! The client test skips unless python3 can import aiopegelonline, or fails when
//! `ALLMENDE_REQUIRE_TOOLS=1` (CI installs it).

use std::process::Command;

use serde_json::{Value, json};

use super::gauges::{TOKEN, data_root, push, serve};
use super::outside::have_python;
use super::{Server, http};

const AHLEN: &str = "8419b1df-ccfc-5a68-81a2-9f388590e106";
const ALBERSLOH: &str = "4a0fac2c-bbb4-567f-9a6b-ddcac5f98475";
const API: &str = "/pegelonline/rest-api/v2";

/// The last quarter hour, in seconds since 1970.
fn quarter_hour() -> i64 {
    let now = chrono::Utc::now().timestamp();
    now - now % 900
}

fn rfc3339(seconds: i64, z: bool) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, z)
}

/// Ahlen: 100, 120, 160, 175 cm at 10 days, 2 days, 45 and 30 minutes before `t0`, and a
/// discharge (`Q`) of 2.5; Albersloh: 90 and 95 cm on 2024-01-03 11:45 and 12:00 UTC, and 100
/// cm 30 minutes before `t0`.
fn push_readings(server: &Server, t0: i64) {
    let at = |s: i64| rfc3339(t0 - s, true);
    let body = json!([
        {"station": "Ahlen", "time": at(10 * 86_400), "value": 100},
        {"station": "Ahlen", "time": at(2 * 86_400), "value": 120},
        {"station": "Ahlen", "time": at(45 * 60), "value": 160},
        {"station": "Ahlen", "time": at(30 * 60), "value": 175},
        {"station": "Ahlen", "parameter": "Q", "time": at(30 * 60), "value": 2.5},
        {"station": "Albersloh", "time": "2024-01-03T11:45:00Z", "value": 90},
        {"station": "Albersloh", "time": "2024-01-03T12:00:00Z", "value": 95},
        {"station": "Albersloh", "time": at(30 * 60), "value": 100},
    ]);
    let (status, outcome) = push(server, "application/json", body.to_string());
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["accepted"], 8, "{outcome}");
}

/// GET `path` under the API: status, ETag, body (JSON or null when empty).
fn get(server: &Server, path: &str, if_none_match: Option<&str>) -> (u16, String, Value) {
    let mut request = http().get(server.url(&format!("{API}{path}")));
    if let Some(tag) = if_none_match {
        request = request.header("If-None-Match", tag);
    }
    let response = request.send().expect("GET");
    let status = response.status().as_u16();
    let etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"))
    };
    (status, etag, body)
}

fn ok(server: &Server, path: &str) -> Value {
    let (status, etag, body) = get(server, path, None);
    assert_eq!(status, 200, "{path}: {body}");
    assert!(
        etag.starts_with('"') && etag.len() > 2,
        "{path}: ETag {etag}"
    );
    body
}

fn shortnames(stations: &Value) -> Vec<&str> {
    stations
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["shortname"].as_str().expect("shortname"))
        .collect()
}

#[test]
fn pegelonline_endpoints_answer_as_the_reference_describes() {
    let server = serve(data_root("pegelonline-http"));
    let t0 = quarter_hour();
    push_readings(&server, t0);

    // stations.json: every station, sorted by water then name; no timeseries unless asked.
    let all = ok(&server, "/stations.json");
    let all = all.as_array().expect("array");
    assert_eq!(all.len(), 214);
    assert_eq!(
        shortnames(&Value::Array(all[..3].to_vec())),
        ["BRAKE", "RUSTENHOF", "BUEREN"],
        "the three on the Aa first"
    );
    let ahlen = all.iter().find(|s| s["uuid"] == AHLEN).expect("Ahlen");
    assert_eq!(
        ahlen,
        &json!({
            "uuid": AHLEN,
            "number": "Ahlen",
            "shortname": "AHLEN",
            "longname": "Ahlen",
            "agency": ahlen["agency"].clone(),
            "longitude": 7.9186738,
            "latitude": 51.7447912,
            "water": {"shortname": "WERSE", "longname": "Werse"}
        })
    );
    assert!(ahlen["agency"].is_string());

    // The radius search, in km.
    let near = ok(
        &server,
        "/stations.json?latitude=51.75&longitude=7.9&radius=12",
    );
    assert_eq!(shortnames(&near), ["WESTTUENNEN", "SENDENHORST", "AHLEN"]);
    let near = ok(
        &server,
        "/stations.json?latitude=51.75&longitude=7.9&radius=20&prettyprint=false",
    );
    assert_eq!(
        shortnames(&near),
        [
            "WESTTUENNEN",
            "SENDENHORST",
            "WOLBECK",
            "KESSELER_3",
            "SUEDDINKER",
            "AHLEN",
            "ALBERSLOH"
        ]
    );
    let (status, _, body) = get(&server, "/stations.json?latitude=51.75&radius=5", None);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["status"], 400);

    // Filters: waters, ids (uuid, number, shortname), timeseries, fuzzyId, limit/offset.
    assert_eq!(
        shortnames(&ok(&server, "/stations.json?waters=werse")),
        ["AHLEN", "ALBERSLOH"]
    );
    assert_eq!(
        shortnames(&ok(
            &server,
            &format!("/stations.json?ids={ALBERSLOH},Sendenhorst,westtuennen")
        )),
        ["WESTTUENNEN", "SENDENHORST", "ALBERSLOH"]
    );
    let q = ok(
        &server,
        "/stations.json?timeseries=Q&includeTimeseries=true",
    );
    assert_eq!(shortnames(&q), ["AHLEN"]);
    assert_eq!(
        q[0]["timeseries"],
        json!([{"shortname": "Q", "longname": "ABFLUSS ROHDATEN", "unit": ""}])
    );
    assert_eq!(
        shortnames(&ok(&server, "/stations.json?fuzzyId=lbersl")),
        ["ALBERSLOH"]
    );
    assert_eq!(
        shortnames(&ok(&server, "/stations.json?limit=2&offset=1")),
        ["RUSTENHOF", "BUEREN"]
    );

    // One station by uuid, number or shortname, with timeseries and current measurement.
    let by_uuid = ok(
        &server,
        &format!("/stations/{AHLEN}.json?includeTimeseries=true&includeCurrentMeasurement=true"),
    );
    let current = json!({
        "timestamp": rfc3339(t0 - 1800, false),
        "value": 175.0,
        "trend": 1,
        "stateMnwMhw": "high",
        "stateNswHsw": "unknown"
    });
    assert_eq!(
        by_uuid["timeseries"],
        json!([
            {
                "shortname": "W",
                "longname": "WASSERSTAND ROHDATEN",
                "unit": "cm",
                "equidistance": 15,
                "currentMeasurement": current
            },
            {
                "shortname": "Q",
                "longname": "ABFLUSS ROHDATEN",
                "unit": "",
                "currentMeasurement": {
                    "timestamp": rfc3339(t0 - 1800, false),
                    "value": 2.5,
                    "stateMnwMhw": "unknown",
                    "stateNswHsw": "unknown"
                }
            }
        ])
    );
    for key in ["Ahlen", "AHLEN", "ahlen"] {
        let other = ok(
            &server,
            &format!("/stations/{key}.json?includeTimeseries=true&includeCurrentMeasurement=true"),
        );
        assert_eq!(other, by_uuid, "{key}");
    }
    assert!(
        ok(&server, "/stations/Ahlen.json")
            .get("timeseries")
            .is_none()
    );
    // Albersloh: 100 cm is below its 190; nothing in the hour before, so no trend.
    let albersloh = ok(
        &server,
        &format!("/stations/{ALBERSLOH}.json?includeCurrentMeasurement=true"),
    );
    assert_eq!(
        albersloh["timeseries"][0]["currentMeasurement"],
        json!({"timestamp": rfc3339(t0 - 1800, false), "value": 100.0, "stateMnwMhw": "normal", "stateNswHsw": "unknown"})
    );
    // Ahmsen has no readings: no timeseries yet (aiopegelonline would fail on one without a
    // current measurement).
    let ahmsen = ok(
        &server,
        "/stations/AHMSEN.json?includeCurrentMeasurement=true&includeCharacteristicValues=true",
    );
    assert_eq!(ahmsen["timeseries"], json!([]));
    assert_eq!(ahmsen["uuid"], "960ed7d2-05cf-5bd4-b793-8fb1499d08c1");

    // A timeseries, its current measurement, the warning levels as characteristic values.
    let w = ok(
        &server,
        "/stations/Ahlen/W.json?includeCurrentMeasurement=true&includeCharacteristicValues=true",
    );
    assert_eq!(w["currentMeasurement"], current);
    assert_eq!(
        w["characteristicValues"],
        json!([
            {"shortname": "Informationsstufe 1", "longname": "Informationsstufe 1", "unit": "cm", "value": 170.0},
            {"shortname": "Informationsstufe 2", "longname": "Informationsstufe 2", "unit": "cm", "value": 200.0},
            {"shortname": "Informationsstufe 3", "longname": "Informationsstufe 3", "unit": "cm", "value": 250.0}
        ])
    );
    assert_eq!(
        ok(
            &server,
            &format!("/stations/{AHLEN}/W/currentmeasurement.json")
        ),
        current
    );

    // Measurements: periods back from now, explicit windows, both ends included.
    let values = |path: &str| -> Vec<(String, f64)> {
        ok(&server, path)
            .as_array()
            .expect("array")
            .iter()
            .map(|m| {
                (
                    m["timestamp"].as_str().expect("timestamp").to_owned(),
                    m["value"].as_f64().expect("value"),
                )
            })
            .collect()
    };
    let at = |s: i64| rfc3339(t0 - s, false);
    assert_eq!(
        values("/stations/Ahlen/W/measurements.json?start=P8D"),
        [
            (at(2 * 86_400), 120.0),
            (at(45 * 60), 160.0),
            (at(30 * 60), 175.0)
        ]
    );
    assert_eq!(
        values("/stations/Ahlen/W/measurements.json?start=P11D").len(),
        4
    );
    assert_eq!(
        values("/stations/Ahlen/W/measurements.json"),
        [(at(45 * 60), 160.0), (at(30 * 60), 175.0)],
        "the last day by default"
    );
    assert_eq!(
        values(
            "/stations/ALBERSLOH/W/measurements.json?start=2024-01-03T12:50:00%2B01:00&end=2024-01-03T12:00:00Z"
        ),
        [("2024-01-03T12:00:00+00:00".to_owned(), 95.0)]
    );
    assert_eq!(
        values("/stations/Albersloh/W/measurements.json?start=2024-01-03&end=P1D"),
        [
            ("2024-01-03T11:45:00+00:00".to_owned(), 90.0),
            ("2024-01-03T12:00:00+00:00".to_owned(), 95.0)
        ]
    );
    assert_eq!(
        values("/stations/Ahlen/Q/measurements.json?start=P1D"),
        [(at(30 * 60), 2.5)]
    );

    // Errors as PEGELONLINE gives them.
    for (path, status) in [
        ("/stations/Atlantis.json", 404),
        ("/stations/Ahlen/WT.json", 404),
        ("/stations/Ahlen/W/measurements.json?start=yesterday", 400),
        (
            "/stations/Ahlen/W/measurements.json?start=2024-01-03T12:00:00",
            400,
        ),
        ("/stations/Ahmsen/W/currentmeasurement.json", 404),
        ("/stations/Ahlen/W/measurements.png", 404),
        ("/stations.json?includeTimeseries=yes", 400),
    ] {
        let (got, _, body) = get(&server, path, None);
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["status"], status, "{path}: {body}");
        assert!(body["message"].is_string(), "{path}: {body}");
    }

    // waters.json: one per water, sorted; ids and includeStations.
    let waters = ok(&server, "/waters.json");
    let waters = waters.as_array().expect("array");
    assert_eq!(waters.len(), 130);
    assert_eq!(waters[0], json!({"shortname": "AA", "longname": "Aa"}));
    assert_eq!(
        waters.last(),
        Some(&json!({"shortname": "ÖLBACH", "longname": "Ölbach"}))
    );
    let werse = ok(&server, "/waters.json?ids=WERSE&includeStations=true");
    assert_eq!(werse.as_array().map(Vec::len), Some(1));
    assert_eq!(werse[0]["longname"], "Werse");
    assert_eq!(shortnames(&werse[0]["stations"]), ["AHLEN", "ALBERSLOH"]);
}

#[test]
fn pegelonline_etag_gives_304_until_the_content_changes() {
    let server = serve(data_root("pegelonline-etag"));
    let t0 = quarter_hour();
    push_readings(&server, t0);
    let station =
        format!("/stations/{AHLEN}.json?includeTimeseries=true&includeCurrentMeasurement=true");
    for path in [
        "/stations.json?prettyprint=false",
        station.as_str(),
        "/waters.json",
    ] {
        let (status, tag, _) = get(&server, path, None);
        assert_eq!(status, 200);
        let (status, again, body) = get(&server, path, Some(&tag));
        assert_eq!((status, &again, &body), (304, &tag, &Value::Null), "{path}");
        let (status, _, _) = get(&server, path, Some("\"something-else\""));
        assert_eq!(status, 200, "{path}");
    }
    let (_, list_tag, _) = get(&server, "/stations.json", None);
    let (_, station_tag, _) = get(&server, &station, None);
    // A new reading changes the current measurement, not the station list.
    let (status, outcome) = push(
        &server,
        "application/json",
        json!([{"station": "Ahlen", "time": rfc3339(t0 - 900, true), "value": 180}]).to_string(),
    );
    assert_eq!(status, 200, "{outcome}");
    let (status, _, _) = get(&server, "/stations.json", Some(&list_tag));
    assert_eq!(status, 304);
    let (status, tag, body) = get(&server, &station, Some(&station_tag));
    assert_eq!(status, 200);
    assert_ne!(tag, station_tag);
    assert_eq!(body["timeseries"][0]["currentMeasurement"]["value"], 180.0);
}

#[test]
fn aiopegelonline_lists_finds_and_reads_our_gauges() {
    if !have_python("aiopegelonline", "pip install aiopegelonline") {
        return;
    }
    let server = serve(data_root("pegelonline-client"));
    let t0 = quarter_hour();
    push_readings(&server, t0);
    // The library reads its base URL from the module at each call; Home Assistant passes only
    // an aiohttp session. The debug log shows each answer's status (304 from its ETag cache).
    let script = r#"
import asyncio, json, logging, sys
import aiohttp
import aiopegelonline

logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
base, token, later = sys.argv[1], sys.argv[2], sys.argv[3]
aiopegelonline.BASE_URL = base + "/pegelonline/rest-api/v2"

async def main():
    out = {}
    async with aiohttp.ClientSession() as session:
        api = aiopegelonline.PegelOnline(session)
        stations = await api.async_get_all_stations()
        out["count"] = len(stations)
        out["ahlen"] = stations["8419b1df-ccfc-5a68-81a2-9f388590e106"].as_dict()
        near = await api.async_get_nearby_stations(51.75, 7.9, 12)
        out["near"] = sorted(s.name for s in near.values())
        details = await api.async_get_station_details("4a0fac2c-bbb4-567f-9a6b-ddcac5f98475")
        out["details"] = details.as_dict()
        levels = []
        for _ in range(2):
            m = await api.async_get_station_measurements("8419b1df-ccfc-5a68-81a2-9f388590e106")
            levels.append(m.water_level.as_dict())
        out["flow"] = m.water_flow.as_dict()
        out["temperature"] = m.water_temperature
        # Ahmsen has no readings yet: no water level, and no failure.
        empty = await api.async_get_station_measurements("960ed7d2-05cf-5bd4-b793-8fb1499d08c1")
        out["ahmsen"] = empty.water_level
        async with session.post(
            base + "/api/datasets/pegel-live/observations",
            headers={"Authorization": "Bearer " + token},
            json=[{"station": "Ahlen", "time": later, "value": 181}],
        ) as resp:
            assert resp.status == 200, resp.status
        m = await api.async_get_station_measurements("8419b1df-ccfc-5a68-81a2-9f388590e106")
        levels.append(m.water_level.as_dict())
        out["levels"] = levels
    print(json.dumps(out))

asyncio.run(main())
"#;
    let out = Command::new("python3")
        .args(["-c", script, &server.base, TOKEN, &rfc3339(t0 - 900, true)])
        .output()
        .expect("python3");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "aiopegelonline failed: {log}");
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON from the script");
    assert_eq!(result["count"], 214);
    let ahlen = &result["ahlen"];
    assert_eq!(ahlen["name"], "Ahlen");
    assert_eq!(ahlen["water_name"], "Werse");
    assert_eq!(ahlen["latitude"], 51.7447912);
    assert_eq!(ahlen["longitude"], 7.9186738);
    assert_eq!(ahlen["river_kilometer"], Value::Null);
    assert_eq!(
        result["near"],
        json!(["Ahlen", "Sendenhorst", "Westtuennen"])
    );
    assert_eq!(result["details"]["name"], "Albersloh");
    assert_eq!(result["details"]["uuid"], ALBERSLOH);
    // The current level, the same from the client's cache after a 304, then the new one.
    assert_eq!(
        result["levels"],
        json!([
            {"uom": "cm", "value": 175.0},
            {"uom": "cm", "value": 175.0},
            {"uom": "cm", "value": 181.0}
        ])
    );
    assert_eq!(result["flow"], json!({"uom": "", "value": 2.5}));
    assert_eq!(result["temperature"], Value::Null);
    assert_eq!(result["ahmsen"], Value::Null);
    assert_eq!(
        log.matches("RESPONSE status: 304").count(),
        1,
        "one answer from the ETag cache: {log}"
    );
}
