//! OGC SensorThings API 1.1 (read part) at `/sta/v1.1/` over the LANUV stations published as
//! the time-series dataset `pegel-live` (see gauges.rs): plain HTTP, then the real
//! `frost_sta_client`.
//!
//! Expected values by hand: 214 stations in datasets/pegel-nrw-stationen, Ahlen on the Werse at
//! 7.9186738, 51.7447912, unit cm. The readings pushed below: Ahlen W 100, 120, 160, 175 at
//! 11:00, 11:15, 11:30, 11:45 UTC on 2024-01-03 and Q 2.5 at 11:45; Albersloh W 90 at 12:00.
//!
//! The client test skips unless python3 can import frost_sta_client, or fails when
//! `ALLMENDE_REQUIRE_TOOLS=1` (CI installs it).

use std::process::Command;

use serde_json::{Value, json};

use super::gauges::{data_root, push, serve};
use super::outside::have_python;
use super::{Server, http};

const API: &str = "/sta/v1.1";

fn push_readings(server: &Server) {
    let body = json!([
        {"station": "Ahlen", "time": "2024-01-03T11:00:00Z", "value": 100},
        {"station": "Ahlen", "time": "2024-01-03T11:15:00Z", "value": 120},
        {"station": "Ahlen", "time": "2024-01-03T11:30:00Z", "value": 160},
        {"station": "Ahlen", "time": "2024-01-03T11:45:00Z", "value": 175},
        {"station": "Ahlen", "parameter": "Q", "time": "2024-01-03T11:45:00Z", "value": 2.5},
        {"station": "Albersloh", "time": "2024-01-03T12:00:00Z", "value": 90},
    ]);
    let (status, outcome) = push(server, "application/json", body.to_string());
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["accepted"], 6, "{outcome}");
}

/// GET `path` under the API with `query` (encoded here): status and JSON body.
fn get(server: &Server, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let response = http()
        .get(server.url(&format!("{API}{path}")))
        .query(query)
        .send()
        .expect("GET");
    let status = response.status().as_u16();
    let text = response.text().expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (status, body)
}

fn ok(server: &Server, path: &str, query: &[(&str, &str)]) -> Value {
    let (status, body) = get(server, path, query);
    assert_eq!(status, 200, "{path} {query:?}: {body}");
    body
}

fn field<'a>(list: &'a Value, name: &str) -> Vec<&'a Value> {
    list["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|v| &v[name])
        .collect()
}

#[test]
fn sensorthings_entities_navigation_and_query_options() {
    let server = serve(data_root("sta-http"));
    push_readings(&server);

    let root = ok(&server, "", &[]);
    assert_eq!(
        field(&root, "name"),
        [
            "Things",
            "Locations",
            "Datastreams",
            "Sensors",
            "ObservedProperties",
            "Observations"
        ]
    );
    assert!(root["serverSettings"]["conformance"].is_array());

    // Paging: 214 stations, two per page, the next link skips two.
    let page = ok(&server, "/Things", &[("$top", "2"), ("$count", "true")]);
    assert_eq!(page["@iot.count"], 214);
    assert_eq!(page["value"].as_array().map(Vec::len), Some(2));
    let next = page["@iot.nextLink"].as_str().expect("nextLink");
    assert!(
        next.contains("%24skip=2") || next.contains("$skip=2"),
        "{next}"
    );
    let default = ok(&server, "/Things", &[]);
    assert_eq!(default["value"].as_array().map(Vec::len), Some(100));

    let ahlen = ok(&server, "/Things('pegel-live:Ahlen')", &[]);
    assert_eq!(ahlen["@iot.id"], "pegel-live:Ahlen");
    assert_eq!(ahlen["name"], "Ahlen");
    assert_eq!(ahlen["properties"]["water"], "Werse");
    assert!(
        ahlen["Datastreams@iot.navigationLink"]
            .as_str()
            .is_some_and(|l| l.ends_with("/sta/v1.1/Things('pegel-live:Ahlen')/Datastreams"))
    );

    let streams = ok(&server, "/Things('pegel-live:Ahlen')/Datastreams", &[]);
    assert_eq!(
        field(&streams, "@iot.id"),
        ["pegel-live:Ahlen:W", "pegel-live:Ahlen:Q"]
    );
    assert_eq!(streams["value"][0]["unitOfMeasurement"]["symbol"], "cm");
    assert_eq!(
        streams["value"][0]["phenomenonTime"],
        "2024-01-03T11:00:00Z/2024-01-03T11:45:00Z"
    );
    // Westtuennen has no readings: its datastream is there, without a phenomenonTime.
    let quiet = ok(&server, "/Datastreams('pegel-live:Westtuennen:W')", &[]);
    assert_eq!(quiet["phenomenonTime"], Value::Null);

    let location = ok(&server, "/Things('pegel-live:Ahlen')/Locations", &[]);
    assert_eq!(
        location["value"][0]["location"],
        json!({"type": "Point", "coordinates": [7.9186738, 51.7447912]})
    );

    let path = "/Datastreams('pegel-live:Ahlen:W')/Observations";
    let newest = ok(
        &server,
        path,
        &[("$orderby", "phenomenonTime desc"), ("$top", "2")],
    );
    assert_eq!(field(&newest, "result"), [175.0, 160.0]);
    assert_eq!(newest["value"][0]["phenomenonTime"], "2024-01-03T11:45:00Z");
    assert_eq!(
        newest["value"][0]["@iot.id"],
        "pegel-live:Ahlen:W:2024-01-03T11:45:00Z"
    );
    let filtered = ok(
        &server,
        path,
        &[(
            "$filter",
            "result gt 110 and phenomenonTime lt 2024-01-03T12:40:00+01:00",
        )],
    );
    assert_eq!(field(&filtered, "result"), [120.0, 160.0]);
    let either = ok(
        &server,
        path,
        &[("$filter", "not (result ge 110) or (result eq 175)")],
    );
    assert_eq!(field(&either, "result"), [100.0, 175.0]);

    let everywhere = ok(
        &server,
        "/Observations",
        &[("$filter", "result eq 90"), ("$count", "true")],
    );
    assert_eq!(everywhere["@iot.count"], 1);
    assert_eq!(
        everywhere["value"][0]["@iot.id"],
        "pegel-live:Albersloh:W:2024-01-03T12:00:00Z"
    );

    let expanded = ok(
        &server,
        "/Things",
        &[
            ("$filter", "name eq 'Ahlen'"),
            ("$expand", "Datastreams,Locations"),
        ],
    );
    assert_eq!(expanded["value"].as_array().map(Vec::len), Some(1));
    let thing = &expanded["value"][0];
    assert_eq!(thing["Datastreams"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        thing["Locations"][0]["location"]["coordinates"],
        json!([7.9186738, 51.7447912])
    );

    let stream = ok(
        &server,
        "/Datastreams('pegel-live:Ahlen:W')",
        &[("$expand", "Thing,ObservedProperty")],
    );
    assert_eq!(stream["Thing"]["name"], "Ahlen");
    assert_eq!(stream["ObservedProperty"]["name"], "W");

    let selected = ok(
        &server,
        "/Things",
        &[
            ("$filter", "id eq 'pegel-live:Ahlen'"),
            ("$select", "id,name"),
        ],
    );
    assert_eq!(
        selected["value"][0],
        json!({"@iot.id": "pegel-live:Ahlen", "name": "Ahlen"})
    );

    let sensors = ok(&server, "/Sensors", &[]);
    assert_eq!(field(&sensors, "@iot.id"), ["pegel-live"]);
    assert_eq!(field(&sensors, "name"), ["Pegel NRW live"]);
    let properties = ok(&server, "/ObservedProperties", &[]);
    assert_eq!(field(&properties, "@iot.id"), ["Q", "W"]);

    // Errors: unknown entity, unsupported filter, bad option.
    let (status, body) = get(&server, "/Things('nope')", &[]);
    assert_eq!(status, 404, "{body}");
    let (status, body) = get(
        &server,
        "/Observations",
        &[("$filter", "substringof('a', name)")],
    );
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("function 'substringof' is not supported")),
        "{body}"
    );
    let (status, _) = get(&server, "/Things", &[("$top", "many")]);
    assert_eq!(status, 400);
    let (status, body) = get(&server, "/Things", &[("$expand", "Datastreams/Nothing")]);
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Datastreams have no 'Nothing'")),
        "{body}"
    );
    // Nested options and paths in $expand.
    let nested = ok(
        &server,
        "/Things('pegel-live:Ahlen')",
        &[(
            "$expand",
            "Datastreams($filter=id eq 'pegel-live:Ahlen:W';$expand=Observations($orderby=result desc;$top=1;$count=true))",
        )],
    );
    let streams = nested["Datastreams"].as_array().expect("Datastreams");
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0]["Observations@iot.count"], 4);
    assert_eq!(streams[0]["Observations"][0]["result"], 175.0);
    let property = ok(
        &server,
        "/Datastreams('pegel-live:Ahlen:Q')/ObservedProperty",
        &[],
    );
    assert_eq!(property["@iot.id"], "Q");
    let name = ok(&server, "/Things('pegel-live:Ahlen')/name", &[]);
    assert_eq!(name, json!({"name": "Ahlen"}));
    let four = ok(
        &server,
        path,
        &[
            ("$orderby", "phenomenonTime desc"),
            ("$top", "4"),
            ("$skip", "1"),
        ],
    );
    assert_eq!(field(&four, "result"), [160.0, 120.0, 100.0]);
    assert!(four.get("@iot.nextLink").is_none(), "{four}");
}

#[test]
fn frost_sta_client_reads_things_datastreams_and_filtered_observations() {
    if !have_python("frost_sta_client", "pip install frost_sta_client") {
        return;
    }
    let server = serve(data_root("sta-client"));
    push_readings(&server);
    let script = r#"
import json, sys
import frost_sta_client as fsc

service = fsc.SensorThingsService(sys.argv[1] + "/sta/v1.1")
out = {}
things = service.things().query().filter("name eq 'Ahlen'").expand("Locations").list()
out["things"] = [t.name for t in things]
ahlen = service.things().find("pegel-live:Ahlen")
out["ahlen"] = ahlen.name
out["count"] = sum(1 for _ in service.things().query().top(50).list())
streams = service.datastreams().query().filter("id eq 'pegel-live:Ahlen:W'").list()
ds = streams.entities[0]
out["unit"] = ds.unit_of_measurement.symbol
obs = ds.get_observations().query().filter("result gt 110").orderby("phenomenonTime", "DESC").list()
out["observations"] = [[o.phenomenon_time, o.result] for o in obs]
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script, &server.base])
        .output()
        .expect("python3");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "frost_sta_client failed: {log}");
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON from the script");
    assert_eq!(result["things"], json!(["Ahlen"]));
    assert_eq!(result["ahlen"], "Ahlen");
    // The iterator follows @iot.nextLink across pages of 50.
    assert_eq!(result["count"], 214);
    assert_eq!(result["unit"], "cm");
    assert_eq!(
        result["observations"],
        json!([
            ["2024-01-03T11:45:00Z", 175.0],
            ["2024-01-03T11:30:00Z", 160.0],
            ["2024-01-03T11:15:00Z", 120.0]
        ])
    );
}

#[test]
fn frost_sta_client_pushes_with_create_observations() {
    if !have_python("frost_sta_client", "pip install frost_sta_client") {
        return;
    }
    let server = serve(data_root("sta-create"));
    push_readings(&server);
    // Ahlen at 08:00 and 08:15 CET (07:00, 07:15 UTC), a repeat of a stored reading (11:45Z,
    // 175: already there), and a reading for a station the dataset does not have.
    let script = r#"
import json, sys
import frost_sta_client as fsc

service = fsc.SensorThingsService(
    sys.argv[1] + "/sta/v1.1", auth_handler=fsc.AuthHandler(username="sta", password=sys.argv[2]))
doc = fsc.DataArrayDocument()
for stream, rows in [
    ("pegel-live:Ahlen:W", [("2024-01-04T08:00:00+01:00", 180.0), ("2024-01-04T08:15:00+01:00", 182.5),
                             ("2024-01-03T11:45:00Z", 175.0)]),
    ("pegel-live:Atlantis:W", [("2024-01-04T08:00:00+01:00", 1.0)]),
]:
    ds = fsc.Datastream(id=stream)
    dav = fsc.DataArrayValue()
    dav.datastream = ds
    dav.components = {fsc.DataArrayValue.Property.PHENOMENON_TIME, fsc.DataArrayValue.Property.RESULT}
    for t, v in rows:
        dav.add_observation(fsc.Observation(phenomenon_time=t, result=v, datastream=ds))
    doc.add_data_array_value(dav)
created = service.observations().create(doc)
print(json.dumps([o.self_link for o in created]))
"#;
    let out = Command::new("python3")
        .args(["-c", script, &server.base, super::gauges::TOKEN])
        .output()
        .expect("python3");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "frost_sta_client failed: {log}");
    let links: Value = serde_json::from_slice(&out.stdout).expect("JSON from the script");
    let observation = |id: &str| format!("{}{API}/Observations('{id}')", server.base);
    assert_eq!(
        links,
        json!([
            observation("pegel-live:Ahlen:W:2024-01-04T07:00:00Z"),
            observation("pegel-live:Ahlen:W:2024-01-04T07:15:00Z"),
            observation("pegel-live:Ahlen:W:2024-01-03T11:45:00Z"),
            "error"
        ])
    );
    // The links resolve, and the readings are in SQL.
    let one = ok(
        &server,
        "/Observations('pegel-live:Ahlen:W:2024-01-04T07:15:00Z')",
        &[],
    );
    assert_eq!(one["result"], 182.5, "{one}");
    let latest = super::get_json(&server.url("/api/datasets/pegel-live/latest"), 200);
    let ahlen = latest["stations"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["station"] == "Ahlen"))
        .expect("Ahlen");
    assert_eq!(ahlen["value"], 182.5);
    assert_eq!(
        ahlen["level"], 1,
        "182.5 cm is above Informationsstufe 1 (170)"
    );

    // Without the token: 401, nothing stored.
    let refused = http()
        .post(server.url(&format!("{API}/CreateObservations")))
        .body("[]")
        .send()
        .expect("POST");
    assert_eq!(refused.status().as_u16(), 401);

    // The same document on the push endpoint lists each refused row with its reason.
    let body = json!([{
        "Datastream": {"@iot.id": "pegel-live:Ahlen:W"},
        "components": ["phenomenonTime", "result"],
        "dataArray": [["2024-01-04T08:30:00+01:00", 185], ["2024-01-04T08:45:00", 186], ["2024-01-04T09:00:00Z", "hoch"]]
    }, {
        "Datastream": {"@iot.id": "other-dataset:Ahlen:W"},
        "components": ["phenomenonTime", "result"],
        "dataArray": [["2024-01-04T08:30:00+01:00", 185]]
    }]);
    let (status, outcome) = push(&server, "application/json", body.to_string());
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["accepted"], 1, "{outcome}");
    let reasons: Vec<(Value, String)> = outcome["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| {
            (
                r["index"].clone(),
                r["error"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 3, "{outcome}");
    assert_eq!(reasons[0].0, 1);
    assert!(reasons[0].1.contains("no zone"), "{reasons:?}");
    assert_eq!(reasons[1].0, 2);
    assert!(
        reasons[1].1.contains("'hoch' is not a number"),
        "{reasons:?}"
    );
    assert_eq!(reasons[2].0, 3);
    assert!(
        reasons[2].1.contains("dataset 'other-dataset'"),
        "{reasons:?}"
    );
}
