//! The `allmende` binary: parses arguments, builds a config, calls into the crates, exits
//! with 0 (success), 1 (failure) or 2 (usage error).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use allmende_ingest::{DatasetSpec, IngestOptions, Outcome};
use allmende_query::Limits;
use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "allmende",
    version,
    about = "Open data and GIS publication for towns"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest the bundled datasets into the data dir, then serve them.
    Demo {
        #[arg(long, env = "ALLMENDE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Stop when standard input closes (for supervisors and tests).
        #[arg(long, hide = true)]
        stop_on_stdin_eof: bool,
        /// Folder of dataset folders to publish.
        #[arg(long, env = "ALLMENDE_DATASETS", default_value = "datasets")]
        datasets: PathBuf,
        /// Do not replay archived gauge readings as live ones (`[timeseries.replay]`).
        #[arg(long)]
        no_replay: bool,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Publish a new version of each dataset (a folder with dataset.toml, a dataset.toml, or a data file).
    Ingest {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Dataset id (only with a single input).
        #[arg(long)]
        id: Option<String>,
        /// Publish even when rows were rejected (they stay listed in report.json).
        #[arg(long)]
        accept_rejects: bool,
        /// Publish a new version even when source and metadata are unchanged.
        #[arg(long)]
        force: bool,
        /// Add the rows to the latest version, de-duplicated on dataset.toml's `key` columns.
        #[arg(long)]
        append: bool,
        /// Read this file instead of dataset.toml's [source] path (only with a single input),
        /// e.g. a new batch to --append.
        #[arg(long, value_name = "FILE")]
        source: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Serve the published datasets over HTTP.
    Serve {
        #[arg(long, env = "ALLMENDE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Stop when standard input closes (for supervisors and tests).
        #[arg(long, hide = true)]
        stop_on_stdin_eof: bool,
        /// Replay archived readings as live ones where a time series has `[timeseries.replay]`.
        #[arg(long)]
        replay: bool,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Run one read-only SQL query over the published datasets.
    Sql {
        query: String,
        #[arg(long, value_enum, default_value = "table")]
        format: SqlFormat,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Dry run: print the ingest report, write nothing.
    Validate { input: PathBuf },
}

#[derive(Args)]
struct DataArgs {
    /// The data root.
    #[arg(long = "data", env = "ALLMENDE_DATA", default_value = "data")]
    root: PathBuf,
}

#[derive(Args)]
struct LimitArgs {
    /// Seconds a SQL query may run.
    #[arg(long, env = "ALLMENDE_SQL_TIMEOUT", default_value_t = 10)]
    sql_timeout: u64,
    /// Memory all SQL queries may use together, in MiB; each running query gets an equal share.
    #[arg(long, env = "ALLMENDE_SQL_MEMORY_MB", default_value_t = 512)]
    sql_memory_mb: usize,
    /// Rows a JSON SQL result returns at most.
    #[arg(long, env = "ALLMENDE_SQL_MAX_ROWS", default_value_t = 10_000)]
    sql_max_rows: usize,
    /// SQL queries that may run at once.
    #[arg(long, env = "ALLMENDE_SQL_CONCURRENCY", default_value_t = 4)]
    sql_concurrency: usize,
    /// SQL queries that may wait for a free slot; further ones get 503 with Retry-After.
    #[arg(long, env = "ALLMENDE_SQL_QUEUE", default_value_t = 64)]
    sql_queue: usize,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            memory_bytes: self.sql_memory_mb * 1024 * 1024,
            timeout: Duration::from_secs(self.sql_timeout),
            max_json_rows: self.sql_max_rows,
            max_concurrent: self.sql_concurrency,
            max_queued: self.sql_queue,
            ..Limits::default()
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum SqlFormat {
    Table,
    Csv,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ALLMENDE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo {
            listen,
            stop_on_stdin_eof,
            datasets,
            no_replay,
            data,
            limits,
        } => {
            let inputs = dataset_folders(&datasets)?;
            let ok = ingest_all(
                &inputs,
                &data.root,
                Overrides::default(),
                IngestOptions::default(),
            )?;
            if !ok {
                anyhow::bail!("a bundled dataset could not be published");
            }
            let options = ServeOptions {
                stop_on_stdin_eof,
                replay: !no_replay,
            };
            serve(listen, &data.root, limits.limits(), options)
        }
        Command::Ingest {
            inputs,
            id,
            accept_rejects,
            force,
            append,
            source,
            data,
        } => {
            if (id.is_some() || source.is_some()) && inputs.len() > 1 {
                anyhow::bail!("--id and --source need exactly one input");
            }
            let overrides = Overrides {
                id: id.as_deref(),
                source: source.as_deref(),
            };
            let ok = ingest_all(
                &inputs,
                &data.root,
                overrides,
                IngestOptions {
                    accept_rejects,
                    force,
                    append,
                },
            )?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Serve {
            listen,
            stop_on_stdin_eof,
            replay,
            data,
            limits,
        } => {
            let options = ServeOptions {
                stop_on_stdin_eof,
                replay,
            };
            serve(listen, &data.root, limits.limits(), options)
        }
        Command::Sql {
            query,
            format,
            data,
            limits,
        } => sql(&query, format, &data.root, limits.limits()),
        Command::Validate { input } => {
            let spec = DatasetSpec::resolve(&input, None)?;
            let report = allmende_ingest::validate(&spec)?;
            print!("{}", report.to_text());
            Ok(if report.rejected.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// The dataset folders (those with a dataset.toml) inside `dir`, by name.
fn dataset_folders(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("dataset.toml").is_file())
        .collect();
    found.sort();
    Ok(found)
}

/// What the command line says instead of dataset.toml.
#[derive(Debug, Clone, Copy, Default)]
struct Overrides<'a> {
    id: Option<&'a str>,
    source: Option<&'a Path>,
}

/// Ingests each input; prints what happened. False when any input failed or was held back.
fn ingest_all(
    inputs: &[PathBuf],
    root: &Path,
    overrides: Overrides,
    options: IngestOptions,
) -> anyhow::Result<bool> {
    let mut ok = true;
    for input in inputs {
        let result = DatasetSpec::resolve_with(input, overrides.id, overrides.source)
            .and_then(|spec| allmende_ingest::ingest(&spec, root, options).map(|o| (spec, o)));
        match result {
            Ok((
                spec,
                Outcome::Published {
                    version, report, ..
                },
            )) => {
                println!(
                    "{}: published version {version} ({} rows)",
                    spec.id, report.rows_published
                );
                print!("{}", report.to_text());
            }
            Ok((spec, Outcome::Observations { import })) => {
                println!(
                    "{}: {} readings: {} stored, {} already stored, {} corrections, {} skipped as missing, {} level changes",
                    spec.id,
                    import.received,
                    import.accepted,
                    import.duplicates,
                    import.corrections,
                    import.skipped,
                    import.events
                );
                for rejected in &import.rejected {
                    eprintln!("  rejected: {}", serde_json::to_string(rejected)?);
                }
                if !import.rejected.is_empty() {
                    ok = false;
                    eprintln!(
                        "error: {}: {} readings rejected (listed above); the valid ones are stored",
                        spec.id,
                        import.rejected.len()
                    );
                }
            }
            Ok((spec, Outcome::Unchanged { version })) => {
                println!("{}: unchanged, version {version} stays published", spec.id);
            }
            Ok((spec, Outcome::Held { dir, report })) => {
                ok = false;
                print!("{}", report.to_text());
                eprintln!(
                    "error: {}: {} rows rejected, nothing published; the previous version stays served. \
                     The {} readable rows and report.json are in {}. Fix the source, or publish them with --accept-rejects.",
                    spec.id,
                    report.rejected.len(),
                    report.rows_published,
                    dir.display()
                );
            }
            Err(e) => {
                ok = false;
                eprintln!("error: {e}");
            }
        }
    }
    Ok(ok)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// How `serve` runs besides what it serves.
#[derive(Debug, Clone, Copy)]
struct ServeOptions {
    /// Stop when standard input closes.
    stop_on_stdin_eof: bool,
    /// Replay archived readings (`[timeseries.replay]`).
    replay: bool,
}

fn serve(
    listen: SocketAddr,
    root: &Path,
    limits: Limits,
    options: ServeOptions,
) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let state = allmende_api::AppState::open(root, limits)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr()?;
        // Tests and scripts read this line to find the port.
        let datasets = state
            .snapshot()
            .await
            .map_err(|e| anyhow::anyhow!(e.description))?
            .catalog
            .datasets()
            .count();
        println!("Allmende serves {datasets} datasets on http://{addr}/");
        use std::io::Write;
        std::io::stdout().flush()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        if options.replay {
            allmende_api::start_replays(&state).await;
        }
        if options.stop_on_stdin_eof {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
                let _ = tx.send(());
            });
        } else {
            std::mem::forget(tx);
        }
        allmende_api::serve(listener, state, async move {
            let _ = rx.await;
        })
        .await?;
        Ok(ExitCode::SUCCESS)
    })
}

fn sql(query: &str, format: SqlFormat, root: &Path, limits: Limits) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let catalog = allmende_catalog::Catalog::open(root)?;
        let engine = allmende_query::build_session(&catalog, limits).await?;
        let (schema, batches, truncated) = engine.collect(query, 1 << 40).await?;
        match format {
            SqlFormat::Table => {
                let shown = batches
                    .iter()
                    .map(allmende_query::displayable)
                    .collect::<Result<Vec<_>, _>>()?;
                if shown.is_empty() {
                    println!(
                        "(0 rows; columns: {})",
                        schema
                            .fields()
                            .iter()
                            .map(|f| f.name().as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                } else {
                    println!("{}", arrow::util::pretty::pretty_format_batches(&shown)?);
                }
            }
            SqlFormat::Csv => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                out.write_all(&allmende_query::to_csv(
                    &arrow::record_batch::RecordBatch::new_empty(schema.clone()),
                    true,
                )?)?;
                for b in &batches {
                    out.write_all(&allmende_query::to_csv(b, false)?)?;
                }
            }
            SqlFormat::Json => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&allmende_query::to_json_table(
                        &schema, &batches, truncated
                    )?)?
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
