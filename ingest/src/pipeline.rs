//! The ingest pipeline: read each source twice (infer whole-column types, then convert), write
//! every output in one pass, and publish the version by committing the manifest last.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use allmende_catalog::{
    Catalog, Changes, Column, Distribution, GeometryInfo, Manifest, SourceInfo, TimeRange, Version,
};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use sha2::{Digest, Sha256};

use crate::append::Base;
use crate::config::{DatasetSpec, DatasetToml, SourceFormat};
use crate::convert::{BatchBuilder, GEOMETRY, GeometrySource, Reprojection};
use crate::crs::Crs;
use crate::detect::encoding_for_label;
use crate::diff;
use crate::error::{IngestError, Result};
use crate::geometry::type_name;
use crate::infer::{ColumnInference, ColumnType, DecimalStyle, Kind};
use crate::progress;
use crate::read::csv::{CsvOptions, CsvReader};
use crate::read::geojson::GeoJsonReader;
use crate::read::gpkg::GeoPackageReader;
use crate::read::kml::KmlReader;
use crate::read::shapefile::ShapefileReader;
use crate::read::spreadsheet::SpreadsheetReader;
use crate::read::{Columns, Event, FileFacts, Rejection, SourceReader};
use crate::report::{ColumnReport, FileReport, GeometryIssue, GeometryReport, IngestReport};
use crate::write::Outputs;

/// Choices of the person running the ingest.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestOptions {
    /// Publish even when rows were rejected (they stay listed in the report).
    pub accept_rejects: bool,
    /// Publish a new version even when source and metadata are unchanged.
    pub force: bool,
    /// Add the rows to the latest version instead of replacing it, de-duplicated on the
    /// dataset's `key` columns.
    pub append: bool,
}

/// How an ingest ended.
#[derive(Debug)]
pub enum Outcome {
    /// A new version is live.
    Published {
        manifest: Box<Manifest>,
        version: u32,
        report: Box<IngestReport>,
    },
    /// The source and metadata equal the latest version's: nothing new to publish.
    Unchanged { version: u32 },
    /// Rows were rejected, so nothing was published: the readable rows and the report wait in
    /// `dir`; the previous version stays served.
    Held {
        dir: PathBuf,
        report: Box<IngestReport>,
    },
    /// `--append` to a time series: the readings went into its observations (valid ones are
    /// kept even when others were rejected).
    Observations { import: Box<crate::live::Import> },
}

/// Ingests a dataset into the data root as a new version.
pub fn ingest(spec: &DatasetSpec, data_root: &Path, options: IngestOptions) -> Result<Outcome> {
    if options.append
        && let Some(config) = series_config(spec)?
    {
        let import = crate::live::import(data_root, &spec.id, &config, &spec.files)?;
        return Ok(Outcome::Observations {
            import: Box::new(import),
        });
    }
    let source_sha256 = source_hash(spec)?;
    let catalog = Catalog::open(data_root)?;
    let manifest = catalog.get(&spec.id);
    if let Some(latest) = manifest
        .filter(|m| m.meta == spec.meta)
        .and_then(Manifest::latest)
        && latest.source.sha256 == source_sha256
        && !options.force
    {
        return Ok(Outcome::Unchanged {
            version: latest.number,
        });
    }
    let base = match manifest.and_then(Manifest::latest) {
        Some(latest) if options.append => Some(Base::new(spec, data_root, latest)?),
        _ => None,
    };
    let mut analysis = analyse(spec)?;
    let spec = &match &base {
        Some(base) => base.forcing_types(spec, &analysis.columns)?,
        None => spec.clone(),
    };
    let stage = Catalog::stage_version(data_root, &spec.id)?;
    let number = stage.number();
    let target = match base {
        Some(_) => Target::Batches,
        None => Target::Files(stage.dir()),
    };
    let mut converted = convert(spec, &mut analysis, target)?;
    let mut changes = None;
    if let (None, Some(previous)) = (&base, manifest.and_then(Manifest::latest)) {
        let parquet = allmende_catalog::Format::Parquet.file_name();
        let old_path = Catalog::version_dir(data_root, &spec.id, previous.number).join(&parquet);
        let new_path = stage.dir().join(&parquet);
        let key: Vec<String> = spec.key.clone();
        changes = Some(diff::between(
            &diff::Side {
                number: previous.number,
                parquet: &old_path,
                columns: &previous.columns,
            },
            &diff::Side {
                number,
                parquet: &new_path,
                columns: &converted.columns,
            },
            &key,
        )?);
    }
    if let Some(base) = &base {
        let merged = base.merge(spec, &mut converted, stage.dir())?;
        if merged.added == 0 && merged.changed == 0 && !options.force {
            return Ok(Outcome::Unchanged {
                version: base.version.number,
            });
        }
        changes = Some(Changes {
            previous: base.version.number,
            rows_added: merged.added,
            rows_removed: merged.rows_before + merged.added - merged.rows,
            rows_changed: merged.changed,
            columns_added: Vec::new(),
            columns_removed: Vec::new(),
        });
    }
    let mut report = converted.report;
    report.version = Some(number);
    let publish = report.rejected.is_empty() || options.accept_rejects;
    report.published = publish;
    let report_path = stage.dir().join("report.json");
    let json =
        serde_json::to_vec_pretty(&report).map_err(|e| IngestError::write(&report_path, e))?;
    std::fs::write(&report_path, json).map_err(|e| IngestError::io(&report_path, e))?;
    if !publish {
        let dir = stage.hold()?;
        return Ok(Outcome::Held {
            dir,
            report: Box::new(report),
        });
    }
    let mut distributions = Vec::new();
    for (format, path) in converted.files {
        let (byte_size, sha256) = hash_file(&path)?;
        distributions.push(Distribution {
            format,
            file: format.file_name(),
            media_type: format.media_type().to_owned(),
            byte_size,
            sha256,
        });
    }
    let first = &report.files[0];
    let version = Version {
        number,
        created: chrono::Utc::now(),
        row_count: report.rows_published,
        rejected_rows: report.rejected.len() as u64,
        temporal: TimeRange::of_columns(&converted.columns),
        columns: converted.columns,
        geometry: report.geometry.as_ref().map(|g| GeometryInfo {
            column: GEOMETRY.into(),
            types: g.types.clone(),
            bbox: g.bbox,
            crs: "OGC:CRS84".into(),
            source_crs: g.source_crs.clone(),
        }),
        source: SourceInfo {
            files: spec
                .files
                .iter()
                .map(|f| {
                    f.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                })
                .collect(),
            format: spec.format.name().into(),
            encoding: first.encoding.clone(),
            delimiter: first.delimiter.clone(),
            sha256: source_sha256,
        },
        distributions,
        changes,
    };
    if let Some(config) = series_config(spec)? {
        // The station table must carry what [timeseries] names, before it is published.
        let parquet = stage
            .dir()
            .join(allmende_catalog::Format::Parquet.file_name());
        crate::live::series::check_stations(&parquet, &config).map_err(|e| match e {
            IngestError::Config { message, .. } => {
                IngestError::config(spec.config.clone().unwrap_or_default(), message)
            }
            other => other,
        })?;
    }
    keep_config(spec, data_root)?;
    let manifest = stage.commit(spec.meta.clone(), version)?;
    Ok(Outcome::Published {
        manifest: Box::new(manifest),
        version: number,
        report: Box::new(report),
    })
}

/// A dry run: the report of an ingest, nothing written.
pub fn validate(spec: &DatasetSpec) -> Result<IngestReport> {
    let mut analysis = analyse(spec)?;
    Ok(convert(spec, &mut analysis, Target::Dry)?.report)
}

/// What the first pass learnt.
struct Analysis {
    /// The opened readers, with what they detected, for the second pass.
    readers: Vec<Box<dyn SourceReader>>,
    columns: Columns,
    inferences: Vec<ColumnInference>,
    rejected: Vec<Rejection>,
    files: Vec<(FileFacts, u64, u64)>,
    geometry_types: BTreeSet<&'static str>,
}

fn open_reader(spec: &DatasetSpec, file: &Path) -> Result<Box<dyn SourceReader>> {
    Ok(match spec.format {
        SourceFormat::Csv => Box::new(CsvReader::open(
            file,
            &CsvOptions {
                encoding: spec.source.encoding.clone(),
                delimiter: spec.source.delimiter.clone(),
                comment: spec.source.comment.as_ref().and_then(|c| c.bytes().next()),
                skip_rows: spec.source.skip_rows.unwrap_or(0),
            },
        )?),
        SourceFormat::GeoJson => Box::new(GeoJsonReader::open(file)?),
        SourceFormat::Shapefile => {
            let encoding = match &spec.source.encoding {
                Some(label) => Some(encoding_for_label(label, file)?),
                None => None,
            };
            Box::new(ShapefileReader::open(file, encoding)?)
        }
        SourceFormat::Xlsx | SourceFormat::Ods => {
            Box::new(SpreadsheetReader::open(file, spec.source.sheet.as_ref())?)
        }
        SourceFormat::GeoPackage => {
            Box::new(GeoPackageReader::open(file, spec.source.layer.as_deref())?)
        }
        SourceFormat::Kml => Box::new(KmlReader::open(file)?),
        SourceFormat::Gdal => crate::read::open_gdal(file, spec.source.layer.as_deref())?,
    })
}

fn analyse(spec: &DatasetSpec) -> Result<Analysis> {
    let mut columns = Columns::default();
    let mut readers = Vec::new();
    let mut inferences: Vec<ColumnInference> = Vec::new();
    let mut rejected = Vec::new();
    let mut files = Vec::new();
    let mut geometry_types = BTreeSet::new();
    let nulls = &spec.source.null;
    let progress = progress::spinner("reading");
    for file in &spec.files {
        let mut reader = open_reader(spec, file)?;
        let (mut rows, mut rejects) = (0u64, 0u64);
        let facts = reader.read(&mut columns, &mut |event| {
            progress.inc(1);
            match event {
                Event::Record(record) => {
                    rows += 1;
                    if inferences.len() < record.values.len() {
                        inferences.resize_with(record.values.len(), || ColumnInference::new(""));
                    }
                    for (inference, value) in inferences.iter_mut().zip(&record.values) {
                        inference.observe(value.as_deref(), record.location, nulls);
                    }
                    if let Some(t) = record.geometry.as_deref().and_then(type_name) {
                        geometry_types.insert(t);
                    }
                }
                Event::Rejected(r) => {
                    rejects += 1;
                    rejected.push(r);
                }
            }
            Ok(())
        })?;
        readers.push(reader);
        files.push((facts, rows, rejects));
    }
    progress.finish_and_clear();
    inferences.resize_with(columns.len(), || ColumnInference::new(""));
    let total: u64 = files.iter().map(|f| f.1).sum();
    for (inference, name) in inferences.iter_mut().zip(columns.names()) {
        inference.name = name.clone();
        // Rows read before a column first appeared have no value for it.
        inference.nulls = total - inference.non_null;
    }
    Ok(Analysis {
        readers,
        columns,
        inferences,
        rejected,
        files,
        geometry_types,
    })
}

pub(crate) struct Converted {
    pub report: IngestReport,
    pub columns: Vec<Column>,
    pub files: Vec<(allmende_catalog::Format, PathBuf)>,
    pub schema: SchemaRef,
    /// The rows, for [`Target::Batches`].
    pub batches: Vec<RecordBatch>,
}

/// Where converted rows go.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// Nowhere: a dry run.
    Dry,
    /// The files of a version, in this folder.
    Files(&'a Path),
    /// Kept in memory, to be merged (`--append`).
    Batches,
}

fn convert(spec: &DatasetSpec, analysis: &mut Analysis, target: Target) -> Result<Converted> {
    let config_path = spec.files[0].clone();
    let names = analysis.columns.names();
    for key in spec.columns.keys() {
        if !names.contains(key) {
            return Err(IngestError::config(
                &config_path,
                format!(
                    "[columns.{key}] names no column of the source (columns: {})",
                    names.join(", ")
                ),
            ));
        }
    }
    let hint = match (
        spec.source.decimal.as_deref(),
        analysis.files.first().and_then(|f| f.0.delimiter),
    ) {
        (Some(","), _) | (None, Some(';')) => DecimalStyle::German,
        _ => DecimalStyle::English,
    };
    let declared = spec.source.decimal.as_deref().map(|d| {
        if d == "," {
            DecimalStyle::German
        } else {
            DecimalStyle::English
        }
    });
    let types: Vec<ColumnType> = analysis
        .inferences
        .iter()
        .map(|inf| {
            inf.decide(
                spec.columns.get(&inf.name).and_then(|c| c.data_type),
                declared,
                hint,
            )
        })
        .collect();

    let geometry_source = match (&spec.points, spec.format) {
        (Some(p), _) => {
            let index = |name: &str| {
                let i = analysis.columns.get(name).ok_or_else(|| {
                    IngestError::config(
                        &config_path,
                        format!("[geometry] names column '{name}', which the source does not have"),
                    )
                })?;
                if !matches!(types[i].kind, Kind::Integer | Kind::Number) {
                    return Err(IngestError::config(
                        &config_path,
                        format!(
                            "[geometry] column '{name}' is not numeric ({})",
                            types[i].reason
                        ),
                    ));
                }
                Ok(i)
            };
            GeometrySource::Columns {
                x: index(&p.x)?,
                y: index(&p.y)?,
            }
        }
        (
            None,
            SourceFormat::GeoJson
            | SourceFormat::Shapefile
            | SourceFormat::GeoPackage
            | SourceFormat::Kml,
        ) => GeometrySource::Native,
        (None, SourceFormat::Gdal) if analysis.readers.iter().all(|r| r.is_table()) => {
            GeometrySource::None
        }
        (None, SourceFormat::Gdal) => GeometrySource::Native,
        (None, SourceFormat::Csv | SourceFormat::Xlsx | SourceFormat::Ods) => GeometrySource::None,
    };
    let spatial = !matches!(geometry_source, GeometrySource::None);
    let declared_crs = spec.source.crs.clone();
    let found_crs = analysis.files.first().and_then(|f| f.0.crs.clone());
    let source_crs = match (&declared_crs, &found_crs) {
        (Some(text), _) | (None, Some(text)) => Crs::parse(text).map_err(|e| {
            let whence = if declared_crs.is_some() {
                "[source] crs"
            } else {
                "the CRS the source declares"
            };
            IngestError::config(&config_path, format!("{whence}: {e}"))
        })?,
        (None, None) => Crs::wgs84(),
    };
    let reprojection = Reprojection {
        to_wgs84: source_crs.to_wgs84(),
        area_of_use: source_crs
            .area_of_use()
            .map(|a| (a, source_crs.label().to_owned())),
    };
    let reprojecting = reprojection.to_wgs84.is_some();

    // Published names: the geometry and its bbox covering column are reserved.
    let mut warnings: Vec<String> = analysis
        .files
        .iter()
        .zip(&spec.files)
        .flat_map(|((facts, _, _), path)| {
            facts
                .warnings
                .iter()
                .map(move |w| format!("{}: {w}", path.display()))
        })
        .collect();
    let published: Vec<String> = names
        .iter()
        .map(|n| {
            if spatial && (n == GEOMETRY || n == "bbox") {
                warnings.push(format!("source column '{n}' renamed to '{n}_source': the name is reserved for the geometry"));
                format!("{n}_source")
            } else {
                n.clone()
            }
        })
        .collect();

    let mut builder = BatchBuilder::new(
        published.clone(),
        types.clone(),
        spec.source.null.clone(),
        geometry_source,
        reprojection,
    );
    let geometry_types: Vec<&str> = match geometry_source {
        GeometrySource::Columns { .. } => vec!["Point"],
        // Reprojection publishes 2D geometries.
        _ if reprojecting => analysis
            .geometry_types
            .iter()
            .map(|t| t.trim_end_matches(" Z"))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        _ => analysis.geometry_types.iter().copied().collect(),
    };
    let mut outputs = match target {
        Target::Files(dir) => Outputs::create(
            dir,
            &builder.schema(),
            &spec.meta.title,
            spatial.then_some(geometry_types.as_slice()),
        )?,
        Target::Dry => Outputs::none(),
        Target::Batches => Outputs::collect(),
    };
    let mut rejected = analysis.rejected.clone();
    let mut file_rejects = vec![0u64; spec.files.len()];
    let mut columns = analysis.columns.clone();
    let mut readers = std::mem::take(&mut analysis.readers);
    let total = analysis
        .files
        .iter()
        .map(|(_, rows, rejects)| rows + rejects)
        .sum();
    let progress = progress::bar("converting", total);
    for (n, (file, reader)) in spec.files.iter().zip(readers.iter_mut()).enumerate() {
        let display = file.display().to_string();
        reader.read(&mut columns, &mut |event| {
            progress.inc(1);
            if let Event::Record(record) = event {
                match builder.push(&record, &display) {
                    Ok(Some(batch)) => outputs.write(&batch)?,
                    Ok(None) => {}
                    Err(rejection) => {
                        file_rejects[n] += 1;
                        rejected.push(rejection);
                    }
                }
            }
            Ok(())
        })?;
    }
    if let Some(batch) = builder
        .finish_batch()
        .map_err(|e| IngestError::write(&config_path, e))?
    {
        outputs.write(&batch)?;
    }
    progress.set_message("writing");
    let (files, batches) = match target {
        Target::Batches => (Vec::new(), outputs.into_batches()),
        _ => (outputs.finish()?, Vec::new()),
    };
    progress.finish_and_clear();
    if builder.written == 0 && !rejected.is_empty() {
        let first = &rejected[0];
        let reason = match &first.column {
            Some(c) => format!("{}, column '{c}': {}", first.location, first.reason),
            None => format!("{}: {}", first.location, first.reason),
        };
        return Err(IngestError::NoRows {
            path: config_path,
            rejected: rejected.len() as u64,
            first: reason,
        });
    }
    let g = &builder.geometry_stats;
    if g.dropped_z {
        warnings.push("Z values were dropped: reprojected geometries are published in 2D".into());
    }
    if !g.invalid.is_empty() {
        warnings.push(format!(
            "{} geometries are invalid (kept; see geometry.invalid), the first at {}: {}",
            g.invalid.len(),
            g.invalid[0].0,
            g.invalid[0].1
        ));
    }
    if !g.outside_area.is_empty() {
        warnings.push(format!(
            "{} geometries lie outside the area of use of {}, the first at {}: swapped axes or a wrong CRS?",
            g.outside_area.len(),
            source_crs.label(),
            g.outside_area[0]
        ));
    }
    if builder.geometry_stats.nulls > 0 {
        warnings.push(format!(
            "{} rows have no geometry; the FlatGeobuf file leaves them out",
            builder.geometry_stats.nulls
        ));
    }

    let mut column_reports = Vec::new();
    let mut catalog_columns = Vec::new();
    for (i, inference) in analysis.inferences.iter().enumerate() {
        let stats = &builder.stats[i];
        column_reports.push(ColumnReport {
            name: published[i].clone(),
            source_name: (published[i] != inference.name).then(|| inference.name.clone()),
            data_type: types[i].kind.name().into(),
            reason: types[i].reason.clone(),
            nulls: stats.nulls,
            min: stats.min(),
            max: stats.max(),
            examples: inference.examples.clone(),
            disagreeing: inference.disagreeing().to_vec(),
        });
        catalog_columns.push(Column {
            name: published[i].clone(),
            data_type: types[i].kind.name().into(),
            null_count: stats.nulls,
            description: spec
                .columns
                .get(&inference.name)
                .and_then(|c| c.description.clone()),
            min: stats.min(),
            max: stats.max(),
            distinct: Some(stats.distinct()),
        });
    }
    let geometry = spatial.then(|| GeometryReport {
        types: builder
            .geometry_stats
            .types
            .iter()
            .map(|t| (*t).to_owned())
            .collect(),
        bbox: builder.geometry_stats.bounds.map(|b| b.to_array()),
        nulls: builder.geometry_stats.nulls,
        source_crs: source_crs.label().to_owned(),
        empty: builder.geometry_stats.empty.clone(),
        invalid: builder
            .geometry_stats
            .invalid
            .iter()
            .map(|(location, reason)| GeometryIssue {
                location: *location,
                reason: reason.clone(),
            })
            .collect(),
        outside_area_of_use: builder.geometry_stats.outside_area.clone(),
    });
    if spatial {
        catalog_columns.push(Column {
            name: GEOMETRY.into(),
            data_type: "geometry".into(),
            null_count: builder.geometry_stats.nulls,
            description: None,
            min: None,
            max: None,
            distinct: None,
        });
    }
    let file_reports = spec
        .files
        .iter()
        .zip(&analysis.files)
        .zip(&file_rejects)
        .map(
            |((path, (facts, rows, rejects)), conv_rejects)| FileReport {
                path: path.display().to_string(),
                format: spec.format.name().into(),
                encoding: facts.encoding.clone(),
                encoding_reason: facts.encoding_reason.clone(),
                delimiter: facts.delimiter.map(|d| d.to_string()),
                crs: facts.crs.clone(),
                rows: rows + rejects,
                rejected: rejects + conv_rejects,
            },
        )
        .collect::<Vec<_>>();
    let rows_read = file_reports.iter().map(|f| f.rows).sum();
    Ok(Converted {
        report: IngestReport {
            dataset: spec.id.clone(),
            version: None,
            published: false,
            files: file_reports,
            rows_read,
            rows_published: builder.written,
            rejected,
            columns: column_reports,
            geometry,
            warnings,
            append: None,
        },
        columns: catalog_columns,
        files,
        schema: builder.schema(),
        batches,
    })
}

/// Keeps a copy of the dataset.toml next to the manifest, so that a new source uploaded over
/// the admin API is read the same way.
/// The `[timeseries]` of the spec's dataset.toml, when it is a time series.
fn series_config(spec: &DatasetSpec) -> Result<Option<crate::live::TimeseriesConfig>> {
    let Some(path) = &spec.config else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| IngestError::io(path, e))?;
    let toml = DatasetToml::parse(&text).map_err(|e| IngestError::config(path, e))?;
    toml.series().map_err(|e| IngestError::config(path, e))
}

fn keep_config(spec: &DatasetSpec, data_root: &Path) -> Result<()> {
    let Some(config) = &spec.config else {
        return Ok(());
    };
    let kept = Catalog::dataset_dir(data_root, &spec.id).join(CONFIG_FILE);
    let temp = kept.with_extension("toml.tmp");
    std::fs::copy(config, &temp).map_err(|e| IngestError::io(config, e))?;
    std::fs::rename(&temp, &kept).map_err(|e| IngestError::io(&kept, e))
}

/// The name of the kept dataset.toml in a dataset's folder of the data root.
pub const CONFIG_FILE: &str = "dataset.toml";

/// The SHA-256 of the source: of the file, or of the files' hashes when there are several.
fn source_hash(spec: &DatasetSpec) -> Result<String> {
    if let [one] = spec.files.as_slice() {
        return Ok(hash_file(one)?.1);
    }
    let mut hasher = Sha256::new();
    for file in &spec.files {
        hasher.update(hash_file(file)?.1);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Size and hex SHA-256 of a file, streamed.
fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut file = File::open(path).map_err(|e| IngestError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| IngestError::io(path, e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}
