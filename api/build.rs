//! Bundles the HTML pages' script and style (`web/`: MapLibre, uPlot and our code, pinned by
//! `web/package-lock.json`) into `OUT_DIR/web`, and writes `OUT_DIR/assets.rs`, the list
//! through which `src/pages/assets.rs` embeds every file of the bundle.
//!
//! Runs `npm ci` when `web/node_modules` is missing or older than the lockfile, then the
//! bundle step (`node web/build.mjs`, esbuild). Cargo reruns this script when anything under
//! `web/` that goes into the bundle changes. Set `ALLMENDE_NPM` to use another npm.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    for input in ["package.json", "package-lock.json", "build.mjs", "src"] {
        println!("cargo:rerun-if-changed=web/{input}");
    }
    println!("cargo:rerun-if-changed=web/node_modules/.package-lock.json");
    println!("cargo:rerun-if-env-changed=ALLMENDE_NPM");
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return fail("CARGO_MANIFEST_DIR is not set (run through cargo)");
    };
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        return fail("OUT_DIR is not set (run through cargo)");
    };
    let web = PathBuf::from(manifest_dir).join("web");
    let out = PathBuf::from(out_dir).join("web");

    if stale(
        &web.join("node_modules/.package-lock.json"),
        &web.join("package-lock.json"),
    ) {
        let npm = std::env::var("ALLMENDE_NPM").unwrap_or_else(|_| "npm".to_owned());
        // --ignore-scripts: no package runs code at install; esbuild's binary comes from its
        // platform package (@esbuild/linux-x64 …) all the same.
        let status = Command::new(&npm)
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(&web)
            .status();
        if let Err(message) = check(&npm, status) {
            return fail(&format!(
                "{message}\nThe web pages' scripts come from the npm registry (api/web/package-lock.json); \
                 install Node.js 20+ with npm and make the registry reachable, then build again."
            ));
        }
    }
    let status = Command::new("node")
        .arg(web.join("build.mjs"))
        .arg(&out)
        .current_dir(&web)
        .status();
    if let Err(message) = check("node", status) {
        return fail(&format!(
            "{message}\nBundling api/web failed (esbuild); see the output above."
        ));
    }
    match asset_list(&out) {
        Ok(list) => match std::fs::write(out.with_file_name("assets.rs"), list) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("could not write the asset list: {e}")),
        },
        Err(e) => fail(&format!(
            "could not list the bundle in {}: {e}",
            out.display()
        )),
    }
}

/// The Rust expression `&[Asset { … }, …]` embedding every file of the bundle (chunk names
/// carry a hash, so the list is read from the folder), each with its gzip copy.
fn asset_list(out: &Path) -> std::io::Result<String> {
    let mut names: Vec<String> = std::fs::read_dir(out)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.ends_with(".gz"))
        .collect();
    names.sort();
    let mut list = String::from("&[\n");
    for name in names {
        let media_type = match name.rsplit('.').next() {
            Some("js" | "mjs") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            _ => "application/octet-stream",
        };
        let path = out.join(&name);
        let gzip = out.join(format!("{name}.gz"));
        list.push_str(&format!(
            "    Asset {{ name: {name:?}, media_type: {media_type:?}, bytes: include_bytes!({path:?}), gzip: include_bytes!({gzip:?}) }},\n"
        ));
    }
    list.push(']');
    Ok(list)
}

/// True when `output` is missing or older than `input`.
fn stale(output: &Path, input: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(output), modified(input)) {
        (Some(out), Some(inp)) => out < inp,
        (None, _) => true,
        (Some(_), None) => false,
    }
}

fn check(program: &str, status: std::io::Result<std::process::ExitStatus>) -> Result<(), String> {
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("`{program}` failed ({s})")),
        Err(e) => Err(format!("could not run `{program}`: {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    // Cargo shows a failed build script's stderr; `cargo::error` puts the message on top.
    for line in message.lines() {
        println!("cargo::error={line}");
    }
    eprintln!("{message}");
    ExitCode::FAILURE
}
