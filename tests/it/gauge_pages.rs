//! The gauge pages of a time series over HTTP, on a server with pushed readings: the gauge
//! map's legend names the three levels of the dataset.toml and its table lists the gauges by
//! level; the station page shows the pushed values, exactly the station's thresholds and links
//! that return the same readings; unknown stations and datasets that are no time series are
//! 404 pages. (The browser side is in `tests/browser/pages.mjs`.)
//!
//! Ahlen's Informationsstufen are 170, 200 and 250 cm (datasets/pegel-nrw-stationen).

use serde_json::{Value, json};

use crate::gauges::{data_root, push, serve};
use crate::{Server, http};

fn html(server: &Server, path: &str, status: u16) -> String {
    let response = http().get(server.url(path)).send().expect("GET");
    let got = response.status().as_u16();
    let body = response.text().expect("body");
    assert_eq!(got, status, "GET {path}: {body}");
    body
}

/// The `href` of the first link whose text is `text`, unescaped.
fn link(html: &str, text: &str) -> String {
    let end = html
        .find(&format!("\">{text}</a>"))
        .unwrap_or_else(|| panic!("link {text}"));
    let start = html[..end].rfind("href=\"").expect("href") + 6;
    html[start..end].replace("&amp;", "&")
}

#[test]
fn gauge_map_and_station_page_show_levels_readings_and_thresholds() {
    let server = serve(data_root("gauge-pages"));
    let (status, outcome) = push(
        &server,
        "application/json",
        json!([
            {"station": "Ahlen", "time": "2024-01-03T10:00:00Z", "value": 150},
            {"station": "Ahlen", "time": "2024-01-03T11:00:00Z", "value": 180.5},
            {"station": "Ahlen", "time": "2024-01-03T12:00:00Z", "value": 205},
            {"station": "Albersloh", "time": "2024-01-03T12:00:00Z", "value": 100}
        ])
        .to_string(),
    );
    assert_eq!(status, 200, "{outcome}");

    // The dataset page leads to the gauge map.
    let dataset = html(&server, "/datasets/pegel-live", 200);
    assert!(dataset.contains("href=\"/datasets/pegel-live/gauges\""));

    let map = html(&server, "/datasets/pegel-live/gauges", 200);
    let legend = &map[map.find("<ul class=\"legend\"").expect("legend")..];
    let legend = &legend[..legend.find("</ul>").expect("end of legend")];
    for name in [
        "Informationsstufe 3",
        "Informationsstufe 2",
        "Informationsstufe 1",
        "Keine Stufe erreicht",
        "Kein Messwert",
    ] {
        assert!(legend.contains(name), "{name} in {legend}");
    }
    assert!(map.contains("data-gauges=\"pegel-live\""));
    assert!(map.contains("aria-live=\"polite\""));
    // Every station is a row; Ahlen (level 2) first, then Albersloh (level 0), then the
    // stations without a reading.
    let body = &map[map.find("<tbody>").expect("tbody")..];
    let rows: Vec<&str> = body.split("<tr ").skip(1).collect();
    assert_eq!(rows.len(), 214);
    assert!(rows[0].contains("data-station=\"Ahlen\"") && rows[0].contains("data-level=\"2\""));
    assert!(rows[0].contains("205 cm") && rows[0].contains("Informationsstufe 2"));
    assert!(rows[0].contains("href=\"/datasets/pegel-live/stations/Ahlen\""));
    assert!(rows[1].contains("data-station=\"Albersloh\"") && rows[1].contains("data-level=\"0\""));
    assert!(rows[2..].iter().all(|r| r.contains("data-level=\"none\"")));
    // No inline script or style on the new pages either.
    assert!(!map.contains("<script>") && !map.contains(" style="));

    let page = html(&server, "/datasets/pegel-live/stations/Ahlen?lang=en", 200);
    assert!(page.contains("<h1>Ahlen</h1>") && page.contains("Werse"));
    assert!(page.contains("205 cm") && page.contains("Informationsstufe 2"));
    for value in ["150", "180.5", "205"] {
        assert!(
            page.contains(&format!("data-value=\"{value}\">{value}</td>")),
            "{value}"
        );
    }
    assert_eq!(page.matches("data-value=").count(), 3);
    let spec = page
        .split("data-station-chart=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("chart spec")
        .replace("&quot;", "\"");
    let spec: Value = serde_json::from_str(&spec).expect("JSON");
    assert_eq!(
        spec["thresholds"],
        json!([
            {"name": "Informationsstufe 1", "value": 170.0},
            {"name": "Informationsstufe 2", "value": 200.0},
            {"name": "Informationsstufe 3", "value": 250.0}
        ])
    );

    // The links return the same three readings.
    let csv = http()
        .get(server.url(&link(&page, "CSV")))
        .send()
        .expect("CSV");
    assert_eq!(csv.status().as_u16(), 200);
    let csv = csv.text().expect("CSV text");
    let lines: Vec<&str> = csv.trim().lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[3].contains(",205"), "{csv}");
    let measurements = crate::get_json(
        &server.url(&link(&page, "PEGELONLINE measurements.json")),
        200,
    );
    let values: Vec<f64> = measurements
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["value"].as_f64().expect("value"))
        .collect();
    assert_eq!(values, [150.0, 180.5, 205.0]);
    let observations = crate::get_json(&server.url(&link(&page, "Observations")), 200);
    assert_eq!(observations["value"].as_array().map(Vec::len), Some(3));
    let datastream = crate::get_json(&server.url(&link(&page, "SensorThings Datastream")), 200);
    assert_eq!(datastream["@iot.id"], "pegel-live:Ahlen:W");

    // A station without readings has a page too; unknown ones and non-series are 404.
    let quiet = rows[2]
        .split("href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("station link");
    let page = html(&server, quiet, 200);
    assert!(page.contains("Kein Messwert") && !page.contains("data-value="));
    html(&server, "/datasets/pegel-live/stations/Atlantis", 404);
    html(&server, "/datasets/unknown/gauges", 404);
}
