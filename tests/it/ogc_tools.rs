//! OGC API – Features checked by clients nobody here wrote: GDAL's OAPIF driver (`ogrinfo`,
//! `ogr2ogr`), OWSLib's `Features` client and schemathesis against our OpenAPI document.
//!
//! Each test skips with a message when its tool is missing, unless `ALLMENDE_REQUIRE_TOOLS=1`
//! (CI sets it after installing gdal-bin, pyogrio, owslib and schemathesis).

use std::collections::BTreeSet;
use std::process::{Command, Output};

use serde_json::Value;

use crate::ogc::{python_names, sql_names};
use crate::outside::have_python;
use crate::{BUNDLED, demo, get_json, scratch};

/// Whether `program` runs; skips with a message, or fails under CI.
fn have_command(program: &str, install: &str) -> bool {
    crate::have_tool(program, "--version", install)
}

fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn oapif() -> String {
    format!("OAPIF:{}", demo().url("/ogc"))
}

fn spatial_ids() -> BTreeSet<String> {
    BUNDLED
        .iter()
        .filter(|(_, _, kind)| *kind == "geojson")
        .map(|(id, _, _)| (*id).to_owned())
        .collect()
}

/// The collections: the bundled spatial datasets, and the latest values of the one that is a
/// time series (the LANUV stations).
fn collection_ids() -> BTreeSet<String> {
    let mut ids = spatial_ids();
    ids.insert("pegel-nrw-stationen-latest".to_owned());
    ids
}

#[test]
fn gdal_oapif_lists_every_spatial_dataset() {
    if !have_command("ogrinfo", "apt-get install gdal-bin") {
        return;
    }
    let out = run("ogrinfo", &["-ro", &oapif()]);
    let listed: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (n, rest) = l.split_once(": ")?;
            n.trim().parse::<u32>().ok()?;
            Some(rest.split_whitespace().next()?.to_owned())
        })
        .collect();
    assert_eq!(listed, collection_ids());
}

#[test]
fn gdal_oapif_reports_count_and_extent() {
    if !have_command("ogrinfo", "apt-get install gdal-bin") {
        return;
    }
    for id in spatial_ids() {
        let out = run("ogrinfo", &["-ro", "-so", &oapif(), &id]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let api = get_json(&demo().url(&format!("/api/datasets/{id}")), 200);
        let count = text
            .lines()
            .find_map(|l| l.strip_prefix("Feature Count: "))
            .expect("Feature Count");
        assert_eq!(count, api["row_count"].to_string(), "{id}");
        // "Extent: (5.909482, 50.383099) - (9.321569, 52.373541)"
        let extent: Vec<f64> = text
            .lines()
            .find_map(|l| l.strip_prefix("Extent: "))
            .expect("Extent")
            .replace(['(', ')'], "")
            .replace(" - ", ",")
            .split(',')
            .map(|s| s.trim().parse().expect("number"))
            .collect();
        let bbox = api["extent"]["spatial"]["bbox"].as_array().expect("bbox");
        assert_eq!(extent.len(), 4, "{text}");
        for (a, b) in extent.iter().zip(bbox) {
            let b = b.as_f64().expect("f64");
            assert!((a - b).abs() < 1e-6, "{id}: extent {a} vs {b}");
        }
    }
}

#[test]
fn ogr2ogr_copies_a_collection_feature_for_feature() {
    if !have_command("ogr2ogr", "apt-get install gdal-bin")
        || !have_python("pyogrio, pyarrow.parquet", "pip install pyogrio pyarrow")
    {
        return;
    }
    let script = r#"
import json, math, sys
import pyogrio.raw, pyarrow.parquet as pq

def norm(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return str(v)

gpkg, parquet = sys.argv[1], sys.argv[2]
table = pq.read_table(parquet).to_pylist()
names = [k for k in table[0] if k not in ("geometry", "bbox")]
ours = sorted((r["geometry"].hex(), tuple(norm(r[n]) for n in names)) for r in table)
meta, _, geoms, fields = pyogrio.raw.read(gpkg)
index = {n: i for i, n in enumerate(meta["fields"])}
copied = sorted((bytes(g).hex(), tuple(norm(fields[index[n]][i]) for n in names))
                for i, g in enumerate(geoms))
print(json.dumps({"ours": len(ours), "copied": len(copied), "equal": ours == copied,
                  "first_difference": next(([a, b] for a, b in zip(ours, copied) if a != b), None)}))
"#;
    for id in spatial_ids() {
        let dir = scratch(&format!("ogr2ogr-{id}"));
        let gpkg = dir.join("copy.gpkg");
        let gpkg = gpkg.to_str().expect("utf-8");
        run("ogr2ogr", &["-f", "GPKG", gpkg, &oapif(), &id]);
        let parquet = demo().data.join(format!("datasets/{id}/v1/data.parquet"));
        let out = run(
            "python3",
            &["-c", script, gpkg, parquet.to_str().expect("utf-8")],
        );
        let seen: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(seen["ours"], seen["copied"], "{id}: {seen}");
        assert_eq!(
            seen["equal"], true,
            "{id}: geometry WKB and properties: {seen}"
        );
    }
}

/// GeoJSON features `ogr2ogr` writes for a layer with extra options, by station name.
fn ogr2ogr_names(extra: &[&str]) -> BTreeSet<String> {
    let mut args = vec!["-f", "GeoJSON", "/vsistdout/"];
    let source = oapif();
    args.push(&source);
    args.push("pegel-nrw-stationen");
    args.extend_from_slice(extra);
    let out = run("ogr2ogr", &args);
    let fc: Value = serde_json::from_slice(&out.stdout).expect("GeoJSON");
    fc["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["Name"].as_str().expect("Name").to_owned())
        .collect()
}

#[test]
fn gdal_spat_and_where_match_sql() {
    if !have_command("ogr2ogr", "apt-get install gdal-bin") {
        return;
    }
    let spat = ogr2ogr_names(&["-spat", "7", "51", "7.5", "51.5"]);
    assert!(spat.len() > 5);
    assert_eq!(
        spat,
        sql_names("ST_Intersects(geometry, ST_MakeEnvelope(7, 51, 7.5, 51.5))")
    );
    assert_eq!(spat, python_names("7 <= x <= 7.5 and 51 <= y <= 51.5"));
    let filter = "MHW > 300 AND Einzugsgebiet = 'Lippe'";
    let wher = ogr2ogr_names(&["-where", filter]);
    assert!(!wher.is_empty());
    assert_eq!(
        wher,
        sql_names("\"MHW\" > 300 AND \"Einzugsgebiet\" = 'Lippe'")
    );
    // GDAL sends the equality part to the server, as a property parameter from /ogc/api.
    let out = Command::new("ogrinfo")
        .args([
            "-ro",
            "-q",
            "-al",
            &oapif(),
            "pegel-nrw-stationen",
            "-where",
            filter,
        ])
        .env("CPL_DEBUG", "ON")
        .output()
        .expect("ogrinfo");
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.lines()
            .any(|l| l.contains("Fetch(") && l.contains("Einzugsgebiet=Lippe")),
        "{log}"
    );
}

#[test]
fn owslib_reads_collections_and_items_with_bbox_and_cql2() {
    if !have_python("owslib.ogcapi.features", "pip install owslib") {
        return;
    }
    let script = r#"
import json, sys
from owslib.ogcapi.features import Features
w = Features(sys.argv[1])
ids = [c["id"] for c in w.collections()["collections"]]
bbox = w.collection_items("pegel-nrw-stationen", bbox=[7, 51, 7.5, 51.5], limit=1000)
cql = w.collection_items("pegel-nrw-stationen", filter="MHW > 300 AND Einzugsgebiet = 'Lippe'",
                         limit=1000)
one = w.collection_item("wahlbezirke-karlsruhe", "001-01")
print(json.dumps({
    "ids": ids,
    "bbox": sorted(f["properties"]["Name"] for f in bbox["features"]),
    "bbox_matched": bbox["numberMatched"],
    "cql": sorted(f["properties"]["Name"] for f in cql["features"]),
    "one": one["properties"]["Wahlbezirksname"],
    "queryables": sorted(w.collection_queryables("pegel-nrw-stationen")["properties"]),
}))
"#;
    let out = run("python3", &["-c", script, &demo().url("/ogc")]);
    let seen: Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids: BTreeSet<String> = seen["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids, collection_ids());
    let list = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .expect("list")
            .iter()
            .map(|s| s.as_str().expect("str").to_owned())
            .collect()
    };
    let bbox = python_names("7 <= x <= 7.5 and 51 <= y <= 51.5");
    assert_eq!(list(&seen["bbox"]), bbox);
    assert_eq!(seen["bbox_matched"], bbox.len());
    assert_eq!(
        list(&seen["cql"]),
        sql_names("\"MHW\" > 300 AND \"Einzugsgebiet\" = 'Lippe'")
    );
    assert_eq!(seen["one"], "Universität/Marktplatz");
    assert!(list(&seen["queryables"]).contains("MHW"));
}

#[test]
fn schemathesis_finds_no_server_error_and_no_response_against_the_openapi_document() {
    if !have_command("schemathesis", "pip install schemathesis") {
        return;
    }
    // The checks of responses against the document. Not `positive_data_acceptance`: the
    // document types `filter` and `datetime` as strings, and a random string is rightly a
    // 400 (a CQL2 or RFC 3339 grammar is not expressible in OpenAPI 3.0).
    let out = Command::new("schemathesis")
        .args([
            "run",
            &demo().url("/ogc/api"),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance,response_headers_conformance",
            "--max-examples",
            "25",
            "--seed",
            "6",
        ])
        .env("NO_COLOR", "1")
        // It keeps a cache folder where it runs.
        .current_dir(scratch("schemathesis"))
        .output()
        .expect("schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("No issues found"), "{stdout}");
}

/// Vector tiles decoded by the `mapbox-vector-tile` package: the features are the ones in the
/// tile, with their properties, and a station sits at the tile coordinates its longitude and
/// latitude give by the Web Mercator formula.
#[test]
fn mapbox_vector_tile_decodes_our_tiles_with_features_in_place() {
    if !have_python("mapbox_vector_tile", "pip install mapbox-vector-tile") {
        return;
    }
    // Ahlen: 7.8874 E, 51.7650 N (from the source file), in tile 10/339/534.
    let ahlen = get_json(
        &demo().url("/ogc/collections/pegel-nrw-stationen/items/Ahlen"),
        200,
    );
    let lon = ahlen["geometry"]["coordinates"][0].as_f64().expect("lon");
    let lat = ahlen["geometry"]["coordinates"][1].as_f64().expect("lat");
    let n = 1024.0;
    let wx = (lon + 180.0) / 360.0 * n;
    let lat_r = lat.to_radians();
    let wy = (1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    let (tx, ty) = (wx.floor(), wy.floor());
    let expected = [
        ((wx - tx) * 4096.0).round() as i64,
        ((wy - ty) * 4096.0).round() as i64,
    ];
    let url = demo().url(&format!(
        "/ogc/collections/pegel-nrw-stationen/tiles/WebMercatorQuad/10/{ty}/{tx}"
    ));
    let dir = scratch("mvt");
    let path = dir.join("tile.mvt");
    let response = crate::http().get(&url).send().expect("GET");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.mapbox-vector-tile"
    );
    let etag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_owned();
    std::fs::write(&path, response.bytes().expect("body")).expect("write");
    let script = r#"
import json, sys
import mapbox_vector_tile
tile = mapbox_vector_tile.decode(open(sys.argv[1], "rb").read(), default_options={"y_coord_down": True})
layer = tile["pegel-nrw-stationen"]
print(json.dumps({"extent": layer["extent"],
                  "features": {f["properties"]["Name"]: {"coordinates": f["geometry"]["coordinates"],
                                                          "type": f["geometry"]["type"],
                                                          "MHW": f["properties"].get("MHW")}
                               for f in layer["features"]}}))
"#;
    let out = run("python3", &["-c", script, path.to_str().expect("utf-8")]);
    let seen: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(seen["extent"], 4096);
    let f = &seen["features"]["Ahlen"];
    assert_eq!(f["type"], "Point");
    assert_eq!(f["coordinates"], serde_json::json!(expected));
    assert_eq!(f["MHW"], 182.0);
    // Every station of the tile (with its buffer of 64 units), no other.
    let margin = 64.0 / 4096.0 / n * 360.0;
    let west = tx / n * 360.0 - 180.0 - margin;
    let east = (tx + 1.0) / n * 360.0 - 180.0 + margin;
    let lat_of = |y: f64| {
        (std::f64::consts::PI * (1.0 - 2.0 * y / n))
            .sinh()
            .atan()
            .to_degrees()
    };
    let (north, south) = (lat_of(ty - 64.0 / 4096.0), lat_of(ty + 1.0 + 64.0 / 4096.0));
    let names: BTreeSet<String> = seen["features"]
        .as_object()
        .expect("features")
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        names,
        python_names(&format!(
            "{west} <= x <= {east} and {south} <= y <= {north}"
        ))
    );

    // Conditional and compressed requests; empty tiles are 204.
    let again = crate::http()
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .expect("GET");
    assert_eq!(again.status().as_u16(), 304);
    let gz = crate::http()
        .get(&url)
        .header("Accept-Encoding", "gzip")
        .send()
        .expect("GET");
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let empty = crate::http()
        .get(demo().url("/ogc/collections/pegel-nrw-stationen/tiles/WebMercatorQuad/10/0/0"))
        .send()
        .expect("GET");
    assert_eq!(empty.status().as_u16(), 204);
    let tilejson = get_json(
        &demo().url("/ogc/collections/pegel-nrw-stationen/tiles/WebMercatorQuad/tilejson.json"),
        200,
    );
    assert_eq!(tilejson["tilejson"], "3.0.0");
    assert!(
        tilejson["tiles"][0]
            .as_str()
            .expect("template")
            .ends_with("/tiles/WebMercatorQuad/{z}/{y}/{x}")
    );
}
