//! OGC API – Features over HTTP against the running demo: every resource, paging, bbox and
//! bbox-crs, output CRSs, CQL2 filters, properties, sortby, datetime and the error bodies.
//! Expected values come from the source files (read by Python's standard library), from
//! hand-checked coordinates or from `/api/sql`.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::{Server, count_with_python, demo, get_json, http, repo, scratch};

const PEGEL: &str = "pegel-nrw-stationen";
/// The latest values of the LANUV gauges, a time series (no readings in the shared demo).
const LATEST: &str = "pegel-nrw-stationen-latest";
const WAHL: &str = "wahlbezirke-karlsruhe";

fn items(query: &str) -> Value {
    get_json(
        &demo().url(&format!("/ogc/collections/{PEGEL}/items?{query}")),
        200,
    )
}

fn names(fc: &Value) -> BTreeSet<String> {
    fc["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["Name"].as_str().expect("Name").to_owned())
        .collect()
}

/// The names `/api/sql` gives for a WHERE clause on the stations.
pub(crate) fn sql_names(condition: &str) -> BTreeSet<String> {
    let q = format!("SELECT \"Name\" FROM pegel_nrw_stationen WHERE {condition}");
    let response = http()
        .get(demo().url("/api/sql"))
        .query(&[("q", q.as_str())])
        .send()
        .expect("GET /api/sql");
    assert_eq!(response.status().as_u16(), 200, "{q}");
    let v: Value = response.json().expect("JSON");
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[0].as_str().expect("name").to_owned())
        .collect()
}

/// Evaluates a Python expression over each source feature `p` (properties) and `x`, `y`
/// (the point's coordinates) of the stations' GeoJSON; the names where it is true.
pub(crate) fn python_names(predicate: &str) -> BTreeSet<String> {
    let script = format!(
        r#"
import json, sys
for f in json.load(open(sys.argv[1], encoding="utf-8"))["features"]:
    p = f["properties"]; x, y = f["geometry"]["coordinates"][:2]
    if {predicate}:
        print(p["Name"])
"#
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .arg(repo().join("datasets/pegel-nrw-stationen/pegel_stationen.geojson"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn error(url: &str, status: u16) -> Value {
    let body = get_json(url, status);
    assert!(body["code"].is_string(), "{url}: {body}");
    assert!(body["description"].is_string(), "{url}: {body}");
    body
}

#[test]
fn ogc_landing_conformance_and_openapi() {
    let landing = get_json(&demo().url("/ogc/"), 200);
    let rels: Vec<&str> = landing["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|l| l["rel"].as_str())
        .collect();
    for rel in ["self", "service-desc", "conformance", "data"] {
        assert!(rels.contains(&rel), "{rel} missing: {rels:?}");
    }
    let conformance = get_json(&demo().url("/ogc/conformance"), 200);
    let classes = conformance["conformsTo"].to_string();
    for class in [
        "ogcapi-features-1/1.0/conf/core",
        "ogcapi-features-1/1.0/conf/geojson",
        "ogcapi-features-1/1.0/conf/oas30",
        "ogcapi-features-2/1.0/conf/crs",
        "ogcapi-features-3/1.0/conf/filter",
        "cql2/1.0/conf/cql2-text",
        "cql2/1.0/conf/cql2-json",
    ] {
        assert!(classes.contains(class), "{class}");
    }
    let response = http().get(demo().url("/ogc/api")).send().expect("GET");
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.oai.openapi+json;version=3.0"
    );
    let api: Value = response.json().expect("JSON");
    assert!(api["openapi"].as_str().expect("version").starts_with("3.0"));
    let items = &api["paths"]["/collections/{collectionId}/items"]["get"]["parameters"];
    for p in [
        "bbox",
        "datetime",
        "limit",
        "crs",
        "filter",
        "sortby",
        "properties",
    ] {
        assert!(items.to_string().contains(&format!("/{p}\"")), "{p}");
    }
    assert_eq!(
        api["components"]["parameters"]["collectionId"]["schema"]["enum"],
        serde_json::json!([PEGEL, WAHL, LATEST])
    );
}

#[test]
fn ogc_collections_are_the_spatial_datasets_with_extent_and_crs() {
    let all = get_json(&demo().url("/ogc/collections"), 200);
    let ids: Vec<&str> = all["collections"]
        .as_array()
        .expect("collections")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [PEGEL, WAHL, LATEST],
        "the two bundled spatial datasets, no table, and the gauges' latest values"
    );
    for id in ids {
        let c = get_json(&demo().url(&format!("/ogc/collections/{id}")), 200);
        // The latest values are described with their stations' extent.
        let of = id.strip_suffix("-latest").unwrap_or(id);
        let dataset = get_json(&demo().url(&format!("/api/datasets/{of}")), 200);
        assert_eq!(c["itemType"], "feature");
        assert_eq!(
            c["extent"]["spatial"]["bbox"][0], dataset["extent"]["spatial"]["bbox"],
            "{id}"
        );
        assert_eq!(
            c["extent"]["spatial"]["crs"],
            "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
        );
        assert!(c["extent"]["temporal"]["interval"].is_array());
        let crs = c["crs"].to_string();
        for code in [
            "OGC/1.3/CRS84",
            "EPSG/0/4326",
            "EPSG/0/25832",
            "EPSG/0/25833",
            "EPSG/0/3857",
        ] {
            assert!(crs.contains(code), "{code}");
        }
        let queryables = get_json(
            &demo().url(&format!("/ogc/collections/{id}/queryables")),
            200,
        );
        assert_eq!(queryables["type"], "object");
        assert!(queryables["properties"]["geometry"].is_object());
    }
    let q = get_json(
        &demo().url(&format!("/ogc/collections/{PEGEL}/queryables")),
        200,
    );
    assert_eq!(q["properties"]["MHW"]["type"], "number");
    assert_eq!(q["properties"]["east"]["type"], "integer");
    let sortables = get_json(
        &demo().url(&format!("/ogc/collections/{PEGEL}/sortables")),
        200,
    );
    assert!(sortables["properties"]["MHW"].is_object());
    assert!(sortables["properties"].get("geometry").is_none());
    error(&demo().url("/ogc/collections/haushalt-wesel-2017"), 404);
    error(&demo().url("/ogc/collections/nope/items"), 404);
}

#[test]
fn ogc_items_page_through_every_feature_once() {
    let source = repo().join("datasets/pegel-nrw-stationen/pegel_stationen.geojson");
    let total = count_with_python(&source, "geojson");
    let first = items("");
    assert_eq!(first["type"], "FeatureCollection");
    assert_eq!(first["numberReturned"], 10, "default limit");
    assert_eq!(first["numberMatched"], total);
    assert!(first["timeStamp"].is_string());
    let mut url = demo().url(&format!("/ogc/collections/{PEGEL}/items?limit=50"));
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = get_json(&url, 200);
        pages += 1;
        seen.extend(names(&page));
        let rels: Vec<&str> = page["links"]
            .as_array()
            .expect("links")
            .iter()
            .filter_map(|l| l["rel"].as_str())
            .collect();
        assert_eq!(rels.contains(&"prev"), pages > 1, "prev on page {pages}");
        match page["links"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["rel"] == "next")
        {
            Some(next) => url = next["href"].as_str().expect("href").to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 5, "214 features in pages of 50");
    assert_eq!(seen.len() as u64, total);
    let unique: BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len() as u64, total, "no feature twice");
    // A limit above the maximum is reduced, not refused.
    assert_eq!(items("limit=20000")["numberReturned"], total);
    assert_eq!(items("offset=210")["numberReturned"], 4);
}

#[test]
fn ogc_feature_by_id_and_output_crs() {
    // Ahlen: 7.8874 E 51.7650 N in the source, east/north 425346/5733207 in EPSG:25832.
    let url = |q: &str| demo().url(&format!("/ogc/collections/{PEGEL}/items/Ahlen{q}"));
    let f = get_json(&url(""), 200);
    assert_eq!(f["id"], "Ahlen");
    let [lon, lat] = [0, 1].map(|i| f["geometry"]["coordinates"][i].as_f64().expect("coord"));
    let response = http().get(url("?crs=EPSG:25832")).send().expect("GET");
    assert_eq!(
        response.headers()["content-crs"],
        "<http://www.opengis.net/def/crs/EPSG/0/25832>"
    );
    let utm: Value = response.json().expect("JSON");
    let [e, n] = [0, 1].map(|i| utm["geometry"]["coordinates"][i].as_f64().expect("coord"));
    assert!(
        (e - 425_346.0).abs() < 1.0 && (n - 5_733_207.0).abs() < 1.0,
        "{e} {n}"
    );
    // EPSG:4326 is latitude first.
    let ll = get_json(&url("?crs=http://www.opengis.net/def/crs/EPSG/0/4326"), 200);
    assert_eq!(ll["geometry"]["coordinates"], serde_json::json!([lat, lon]));
    // Web Mercator by its formula.
    let wm = get_json(&url("?crs=EPSG:3857"), 200);
    let r = 6_378_137.0_f64;
    let x = r * lon.to_radians();
    let y = r
        * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0)
            .tan()
            .ln();
    let [wx, wy] = [0, 1].map(|i| wm["geometry"]["coordinates"][i].as_f64().expect("coord"));
    assert!(
        (wx - x).abs() < 0.01 && (wy - y).abs() < 0.01,
        "{wx} {wy} vs {x} {y}"
    );
    // EPSG:25833 (UTM 33) is about 400 km further west of its central meridian than 25832.
    let u33 = get_json(&url("?crs=EPSG:25833"), 200);
    let e33 = u33["geometry"]["coordinates"][0].as_f64().expect("coord");
    assert!(e33 < e - 300_000.0, "{e33}");
    let props = get_json(&url("?properties=MHW"), 200);
    assert_eq!(props["properties"], serde_json::json!({ "MHW": 182.0 }));
    error(
        &demo().url(&format!("/ogc/collections/{PEGEL}/items/Nirgendwo")),
        404,
    );
    error(&url("?crs=EPSG:31467"), 400);
    let district = get_json(
        &demo().url(&format!("/ogc/collections/{WAHL}/items/001-01")),
        200,
    );
    assert_eq!(
        district["properties"]["Wahlbezirksname"],
        "Universität/Marktplatz"
    );
}

#[test]
fn ogc_bbox_in_every_bbox_crs_matches_the_source() {
    let expected = python_names("7 <= x <= 7.5 and 51 <= y <= 51.5");
    assert!(expected.len() > 5, "{expected:?}");
    assert_eq!(names(&items("bbox=7,51,7.5,51.5&limit=1000")), expected);
    assert_eq!(
        names(&items("bbox=51,7,51.5,7.5&bbox-crs=EPSG:4326&limit=1000")),
        expected,
        "EPSG:4326 boxes are latitude first"
    );
    // A box in UTM 32N against the source's own east/north columns.
    let utm = python_names(
        "400000 <= int(p['east']) <= 450000 and 5700000 <= int(p['north']) <= 5750000",
    );
    assert_eq!(
        names(&items(
            "bbox=400000,5700000,450000,5750000&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/25832&limit=1000"
        )),
        utm
    );
    // The same box as a CQL2 literal in filter-crs.
    assert_eq!(
        names(&items(
            "filter=S_INTERSECTS(geometry,BBOX(400000,5700000,450000,5750000))&filter-crs=EPSG:25832&limit=1000"
        )),
        utm
    );
    let empty = items("bbox=0,0,1,1");
    assert_eq!(empty["numberMatched"], 0);
    assert_eq!(empty["features"], serde_json::json!([]));
}

#[test]
fn ogc_cql2_text_and_json_filters_match_sql() {
    let cases = [
        (
            "MHW > 300 AND Einzugsgebiet = 'Lippe'",
            r#"{"op":"and","args":[{"op":">","args":[{"property":"MHW"},300]},{"op":"=","args":[{"property":"Einzugsgebiet"},"Lippe"]}]}"#,
            "\"MHW\" > 300 AND \"Einzugsgebiet\" = 'Lippe'",
        ),
        (
            "Name LIKE 'B%' OR Gewaesser IN ('Ruhr', 'Lippe')",
            r#"{"op":"or","args":[{"op":"like","args":[{"property":"Name"},"B%"]},{"op":"in","args":[{"property":"Gewaesser"},["Ruhr","Lippe"]]}]}"#,
            "\"Name\" LIKE 'B%' OR \"Gewaesser\" IN ('Ruhr', 'Lippe')",
        ),
        (
            "\"Informationsstufe 1\" BETWEEN 150 AND 250 AND NOT MNW IS NULL",
            r#"{"op":"and","args":[{"op":"between","args":[{"property":"Informationsstufe 1"},150,250]},{"op":"not","args":[{"op":"isNull","args":[{"property":"MNW"}]}]}]}"#,
            "\"Informationsstufe 1\" BETWEEN 150 AND 250 AND \"MNW\" IS NOT NULL",
        ),
        (
            "S_WITHIN(geometry, POLYGON((7 51, 7.5 51, 7.5 51.5, 7 51.5, 7 51)))",
            r#"{"op":"s_within","args":[{"property":"geometry"},{"type":"Polygon","coordinates":[[[7,51],[7.5,51],[7.5,51.5],[7,51.5],[7,51]]]}]}"#,
            "ST_Within(geometry, ST_GeomFromText('POLYGON((7 51, 7.5 51, 7.5 51.5, 7 51.5, 7 51))'))",
        ),
        (
            "S_INTERSECTS(geometry, BBOX(6, 51, 8, 52)) AND CASEI(Einzugsgebiet) = 'ruhr'",
            r#"{"op":"and","args":[{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[6,51,8,52]}]},{"op":"=","args":[{"op":"casei","args":[{"property":"Einzugsgebiet"}]},"ruhr"]}]}"#,
            "ST_Intersects(geometry, ST_MakeEnvelope(6, 51, 8, 52)) AND lower(\"Einzugsgebiet\") = 'ruhr'",
        ),
    ];
    for (text, json, sql) in cases {
        let expected = sql_names(sql);
        assert!(
            !expected.is_empty(),
            "{sql}: a filter that selects nothing proves little"
        );
        let url = |filter: &str, lang: &str| {
            let mut u =
                reqwest::Url::parse(&demo().url(&format!("/ogc/collections/{PEGEL}/items")))
                    .expect("url");
            u.query_pairs_mut()
                .append_pair("filter", filter)
                .append_pair("filter-lang", lang)
                .append_pair("limit", "1000");
            u.to_string()
        };
        let by_text = get_json(&url(text, "cql2-text"), 200);
        assert_eq!(names(&by_text), expected, "{text}");
        assert_eq!(by_text["numberMatched"], expected.len(), "{text}");
        assert_eq!(
            names(&get_json(&url(json, "cql2-json"), 200)),
            expected,
            "{json}"
        );
    }
    // The bbox case also agrees with the source file.
    assert_eq!(
        sql_names("ST_Intersects(geometry, ST_MakeEnvelope(6, 51, 8, 52))"),
        python_names("6 <= x <= 8 and 51 <= y <= 52")
    );
}

#[test]
fn ogc_bad_filters_and_parameters_are_400_with_an_exception_body() {
    let base = demo().url(&format!("/ogc/collections/{PEGEL}/items"));
    for query in [
        "filter=Nme%20%3D%20'x'",
        "filter=Name%20%3D",
        "filter=MHW%20%3D%20'hoch'",
        "filter=%22Name%22%20%3D%20'x'%3B%20DROP%20TABLE%20t",
        "filter=%22Name%22%22%20OR%201%3D1%20--%22%20%3D%201",
        "filter=%7B%22op%22%3A%22%3D%22%7D&filter-lang=cql2-json",
        "filter=Name%3D'x'&filter-lang=sql",
        "limit=0",
        "limit=ten",
        "offset=-1",
        "bbox=1,2,3",
        "bbox=7,51,6,52",
        "bbox-crs=EPSG:4326",
        "datetime=yesterday",
        "crs=EPSG:9999",
        "f=xml",
        "sortby=Nme",
        "properties=Nme",
        "unknown=1",
        "limit=1&limit=2",
    ] {
        error(&format!("{base}?{query}"), 400);
    }
}

#[test]
fn ogc_properties_as_equality_parameters() {
    assert_eq!(
        names(&items("Einzugsgebiet=Lippe&limit=1000")),
        sql_names("\"Einzugsgebiet\" = 'Lippe'")
    );
    assert_eq!(
        names(&items("Einzugsgebiet=Lippe&Gewaesser=Lippe&limit=1000")),
        sql_names("\"Einzugsgebiet\" = 'Lippe' AND \"Gewaesser\" = 'Lippe'")
    );
    assert_eq!(
        items("MHW=182")["numberMatched"],
        sql_names("\"MHW\" = 182").len()
    );
    error(
        &demo().url(&format!("/ogc/collections/{PEGEL}/items?MHW=hoch")),
        400,
    );
    // The OpenAPI document names them for each collection.
    let api = get_json(&demo().url("/ogc/api"), 200);
    let params =
        api["paths"][format!("/collections/{PEGEL}/items")]["get"]["parameters"].to_string();
    assert!(params.contains("\"name\":\"Einzugsgebiet\""), "{params}");
}

#[test]
fn ogc_properties_and_sortby() {
    let fc = items("properties=Name,MHW&sortby=-MHW,Name&limit=214");
    let features = fc["features"].as_array().expect("features");
    let keys: BTreeSet<&str> = features[0]["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["MHW", "Name"]));
    let got: Vec<(Option<f64>, String)> = features
        .iter()
        .map(|f| {
            (
                f["properties"]["MHW"].as_f64(),
                f["properties"]["Name"].as_str().expect("name").to_owned(),
            )
        })
        .collect();
    let q = "SELECT \"MHW\", \"Name\" FROM pegel_nrw_stationen ORDER BY \"MHW\" DESC NULLS LAST, \"Name\"";
    let v: Value = http()
        .get(demo().url("/api/sql"))
        .query(&[("q", q)])
        .send()
        .expect("GET")
        .json()
        .expect("JSON");
    let want: Vec<(Option<f64>, String)> = v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| (r[0].as_f64(), r[1].as_str().expect("name").to_owned()))
        .collect();
    assert_eq!(got, want);
    // Properties without the id column still give each feature its id.
    let ids = items("properties=MHW&limit=3");
    assert!(ids["features"][0]["id"].is_string());
    assert!(ids["features"][0]["properties"].get("Name").is_none());
}

#[test]
fn ogc_html_by_f_and_by_accept() {
    for path in [
        "/ogc/?f=html",
        "/ogc/collections?f=html",
        "/ogc/collections/pegel-nrw-stationen?f=html",
        "/ogc/collections/pegel-nrw-stationen/items?f=html&limit=3",
    ] {
        let response = http().get(demo().url(path)).send().expect("GET");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("text/html")
        );
        assert!(response.text().expect("body").contains("<html"), "{path}");
    }
    let browser = http()
        .get(demo().url("/ogc/collections"))
        .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .expect("GET");
    assert!(
        browser.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let gis = http()
        .get(demo().url(&format!("/ogc/collections/{PEGEL}/items")))
        .header("Accept", "application/geo+json")
        .send()
        .expect("GET");
    assert_eq!(gis.headers()["content-type"], "application/geo+json");
}

/// A server over a generated point collection with a date per feature and enough features
/// that a page of 10 000 is streamed in many record batches.
fn dated_points() -> &'static Server {
    static SERVER: std::sync::OnceLock<Server> = std::sync::OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = scratch("ogc-dated");
        let source = dir.join("messpunkte");
        std::fs::create_dir_all(&source).expect("mkdir");
        let mut features = Vec::new();
        for i in 0..30_000u32 {
            let day = chrono_like_date(i % 365);
            features.push(format!(
                r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[{},{}]}},"properties":{{"nr":{i},"datum":"{day}"}}}}"#,
                6.0 + f64::from(i % 300) / 100.0,
                50.0 + f64::from(i / 300) / 100.0,
            ));
        }
        std::fs::write(
            source.join("punkte.geojson"),
            format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, features.join(",")),
        )
        .expect("write");
        std::fs::write(
            source.join("dataset.toml"),
            "title = \"Messpunkte\"\nlicence = \"dl-by-de/2.0\"\n[source]\npath = \"punkte.geojson\"\n",
        )
        .expect("write");
        let data = dir.join("data");
        crate::ingest_into(&source, &data, &[]);
        Server::start(&["serve"], &[], data)
    })
}

/// Day `n` of 2021 as `YYYY-MM-DD` (2021 has no 29 February).
fn chrono_like_date(n: u32) -> String {
    const DAYS: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut rest = n;
    for (m, len) in DAYS.iter().enumerate() {
        if rest < *len {
            return format!("2021-{:02}-{:02}", m + 1, rest + 1);
        }
        rest -= len;
    }
    unreachable!("n < 365")
}

/// How many of the 30 000 generated points have a day index in `range`.
fn dated_count(range: std::ops::Range<u32>) -> usize {
    (0..30_000u32)
        .filter(|i| range.contains(&(i % 365)))
        .count()
}

#[test]
fn ogc_datetime_and_temporal_filters() {
    let server = dated_points();
    let matched = |q: &str| {
        get_json(
            &server.url(&format!("/ogc/collections/messpunkte/items?limit=1&{q}")),
            200,
        )["numberMatched"]
            .as_u64()
            .expect("numberMatched") as usize
    };
    let c = get_json(&server.url("/ogc/collections/messpunkte"), 200);
    assert_eq!(
        c["extent"]["temporal"]["interval"],
        serde_json::json!([["2021-01-01", "2021-12-31"]])
    );
    // January is days 0..31, February 31..59.
    assert_eq!(matched("datetime=../2021-01-31"), dated_count(0..31));
    assert_eq!(matched("datetime=2021-02-01/.."), dated_count(31..365));
    assert_eq!(
        matched("datetime=2021-02-01/2021-02-28"),
        dated_count(31..59)
    );
    assert_eq!(matched("datetime=2021-02-01"), dated_count(31..32));
    assert_eq!(
        matched("filter=T_BEFORE(datum,%20DATE('2021-02-01'))"),
        dated_count(0..31)
    );
    assert_eq!(
        matched("filter=T_AFTER(datum,%20DATE('2021-12-30'))"),
        dated_count(364..365)
    );
    assert_eq!(
        matched("filter=T_DURING(datum,%20INTERVAL('2021-01-31','2021-03-01'))"),
        dated_count(31..59)
    );
    assert_eq!(
        matched("filter=datum%20%3E%3D%20DATE('2021-12-01')%20AND%20nr%20%3C%201000"),
        (0..1000u32).filter(|i| i % 365 >= 334).count()
    );
}

#[test]
fn ogc_a_page_of_10000_streams_in_chunks() {
    let server = dated_points();
    let response = http()
        .get(server.url("/ogc/collections/messpunkte/items?limit=10000&offset=5000"))
        .send()
        .expect("GET");
    assert_eq!(response.status().as_u16(), 200);
    // Streamed bodies have no length up front.
    assert!(response.headers().get("content-length").is_none());
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    let fc: Value = response.json().expect("JSON");
    assert_eq!(fc["numberReturned"], 10_000);
    assert_eq!(fc["numberMatched"], 30_000);
    let nr: Vec<u64> = fc["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["nr"].as_u64().expect("nr"))
        .collect();
    // File order is Hilbert order, so check the set, not the sequence.
    let unique: BTreeSet<u64> = nr.iter().copied().collect();
    assert_eq!(unique.len(), 10_000);
    assert_eq!(
        fc["features"][0]["id"],
        fc["features"][0]["properties"]["nr"]
    );
}
