//! End-to-end tests of the `allmende` binary: it ingests the bundled datasets and serves them
//! on an ephemeral port; the tests talk HTTP to it and run its CLI on temp data roots.

mod admin;
mod ckan;
mod cli;
mod datapackage;
mod dcat;
mod events;
mod gauge_pages;
mod gauges;
mod ogc;
mod ogc_tools;
mod outside;
mod pages;
mod pegelonline;
mod poll;
mod replay;
mod server;
mod sql_formats;
mod sta;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

/// The repository root (the root package's folder).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `allmende` binary under test.
pub fn allmende() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_allmende"));
    cmd.env("ALLMENDE_LOG", "warn");
    cmd
}

/// Publishes `input` (a dataset folder or file) into the data root `data` with
/// `allmende ingest`, plus `extra` arguments; panics with its stderr when it fails.
pub fn ingest_into(input: &Path, data: &Path, extra: &[&str]) {
    let out = allmende()
        .arg("ingest")
        .arg(input)
        .args(extra)
        .arg("--data")
        .arg(data)
        .output()
        .expect("ingest");
    assert!(
        out.status.success(),
        "ingest {}: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `program` runs (`program probe` succeeds); skips with a message naming how to
/// install it, or fails when `ALLMENDE_REQUIRE_TOOLS` is set (CI installs every tool).
pub fn have_tool(program: &str, probe: &str, install: &str) -> bool {
    let ok = Command::new(program)
        .arg(probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("ALLMENDE_REQUIRE_TOOLS").is_err(),
            "ALLMENDE_REQUIRE_TOOLS is set but {program} is missing"
        );
        eprintln!("SKIPPED: {program} is not installed ({install})");
    }
    ok
}

/// A fresh, empty folder under cargo's target tmp dir.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A running server. It stops when its standard input closes, which happens when this
/// struct is dropped or the test process ends, however it ends.
pub struct Server {
    pub base: String,
    pub data: PathBuf,
    child: Child,
    _stdin: ChildStdin,
}

impl Server {
    /// Starts `allmende <args> --listen 127.0.0.1:0` and waits for the line with its address.
    pub fn start(args: &[&str], envs: &[(&str, &str)], data: PathBuf) -> Server {
        let mut cmd = allmende();
        cmd.args(args)
            .args(["--listen", "127.0.0.1:0", "--stop-on-stdin-eof", "--data"])
            .arg(&data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start allmende");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("allmende exited before it served")
                .expect("read stdout");
            if let Some(at) = line.find("http://") {
                break line[at..].trim_end_matches('/').to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            base,
            data,
            child,
            _stdin: stdin,
        }
    }

    /// Kills the server with SIGKILL (no shutdown, nothing flushed) and waits until it is gone.
    pub fn kill9(&mut self) {
        let status = Command::new("kill")
            .args(["-9", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -9");
        self.child.wait().expect("wait for the killed server");
    }

    /// Closes the server's standard input (its signal to shut down gracefully) and waits up to
    /// `patience` for it to exit; on timeout kills it and returns `None`.
    pub fn stop(self, patience: std::time::Duration) -> Option<std::process::ExitStatus> {
        let Server {
            mut child, _stdin, ..
        } = self;
        drop(_stdin);
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        match rx.recv_timeout(patience) {
            Ok(status) => status.ok(),
            Err(_) => {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                None
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The demo server, shared by the tests of this binary: `allmende demo` over the bundled
/// datasets, ingested once into a fresh data root.
pub fn demo() -> &'static Server {
    static DEMO: OnceLock<Server> = OnceLock::new();
    DEMO.get_or_init(|| {
        let data = scratch("demo-data");
        let datasets = repo().join("datasets");
        let datasets = datasets.to_str().expect("utf-8 path");
        Server::start(&["demo", "--datasets", datasets, "--no-replay"], &[], data)
    })
}

pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .expect("http client")
}

/// GET and parse a JSON body; panics with the body when the status is not the expected one.
pub fn get_json(url: &str, status: u16) -> serde_json::Value {
    let response = http().get(url).send().expect("GET");
    let got = response.status().as_u16();
    let text = response.text().expect("body");
    assert_eq!(got, status, "GET {url}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {text}"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Counts the records of a source file with Python's standard library: an outside count,
/// independent of our readers. `kind` is `csv:<encoding>:<delimiter>` or `geojson`.
pub fn count_with_python(path: &Path, kind: &str) -> u64 {
    let script = r#"
import csv, json, sys
path, kind = sys.argv[1], sys.argv[2]
if kind == "geojson":
    print(len(json.load(open(path, encoding="utf-8"))["features"]))
else:
    _, enc, delim = kind.split(":")
    with open(path, encoding=enc, newline="") as f:
        rows = list(csv.reader(f, delimiter=delim))
    print(len(rows) - 1)
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .arg(kind)
        .output()
        .expect("python3 is part of the machine");
    assert!(
        out.status.success(),
        "python3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count")
}

/// The bundled datasets with their source file and how to count its records.
pub const BUNDLED: &[(&str, &str, &str)] = &[
    ("haushalt-wesel-2017", "hhplan2017.csv", "csv:cp1252:;"),
    ("pegel-nrw-stationen", "pegel_stationen.geojson", "geojson"),
    (
        "pegel-nrw-tageswerte",
        "pegel_tageswerte.csv",
        "csv:utf-8:,",
    ),
    (
        "wahlbezirke-karlsruhe",
        "wahlbezirke_ltw2016.geojson",
        "geojson",
    ),
];
