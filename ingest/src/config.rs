//! `dataset.toml`: what a data steward writes about a dataset, and how an ingest argument
//! (a folder, a `dataset.toml` or a bare data file) resolves to a [`DatasetSpec`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use allmende_catalog::{Contact, DatasetMeta, is_valid_id};
use serde::Deserialize;

use crate::error::{IngestError, Result};

/// The file as written. Unknown keys are an error, so typos do not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetToml {
    pub id: Option<String>,
    pub title: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub publisher: String,
    #[serde(default)]
    pub licence: String,
    pub attribution: Option<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub theme: Option<String>,
    pub publisher_url: Option<String>,
    pub contact: Option<Contact>,
    /// EU frequency code: `DAILY`, `MONTHLY`, `ANNUAL`, `IRREG`, …
    pub frequency: Option<String>,
    /// ISO 639-1 codes; `["de"]` when absent.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Amtlicher Gemeindeschlüssel (or a shorter regional key) of the area covered.
    pub ags: Option<String>,
    /// GovData contributor id of the publishing portal.
    pub contributor_id: Option<String>,
    /// Columns that identify a row (e.g. `["station", "date"]`): `--append` de-duplicates on them.
    #[serde(default)]
    pub key: Vec<String>,
    /// `"table"` (the default) or `"timeseries"`: the table is then a station list and the
    /// dataset takes pushed observations (see `[timeseries]`).
    #[serde(default)]
    pub kind: DatasetKind,
    /// How a time-series dataset's stations are read, and its warning levels.
    pub timeseries: Option<crate::live::TimeseriesConfig>,
    #[serde(default)]
    pub source: SourceConfig,
    pub geometry: Option<PointColumns>,
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnConfig>,
}

impl DatasetToml {
    /// Parses the text of a dataset.toml; the error names line, column and key.
    pub fn parse(text: &str) -> std::result::Result<DatasetToml, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The descriptive metadata, checked against the DCAT-AP.de vocabularies.
    pub fn meta(&self, id: &str) -> std::result::Result<DatasetMeta, String> {
        let meta = DatasetMeta {
            title: self.title.clone().unwrap_or_else(|| id.to_owned()),
            description: self.description.clone(),
            publisher: self.publisher.clone(),
            licence: self.licence.clone(),
            attribution: self.attribution.clone(),
            keywords: self.keywords.clone(),
            theme: self.theme.clone(),
            publisher_url: self.publisher_url.clone(),
            contact: self.contact.clone(),
            frequency: self.frequency.clone(),
            languages: self.languages.clone(),
            ags: self.ags.clone(),
            contributor_id: self.contributor_id.clone(),
        };
        meta.check()?;
        Ok(meta)
    }
}

/// What a dataset is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    #[default]
    Table,
    /// Stations with observations pushed live.
    Timeseries,
}

impl DatasetToml {
    /// The `[timeseries]` configuration of a `kind = "timeseries"` dataset; `None` for tables.
    pub fn series(&self) -> std::result::Result<Option<crate::live::TimeseriesConfig>, String> {
        self.feed()?;
        match (self.kind, &self.timeseries) {
            (DatasetKind::Table, None) => Ok(None),
            (DatasetKind::Table, Some(_)) => Err("[timeseries] needs kind = \"timeseries\"".into()),
            (DatasetKind::Timeseries, config) => {
                let config = config.clone().unwrap_or_default();
                config.min_duration_ms()?;
                if let Some(import) = &config.import {
                    import
                        .offset()
                        .map_err(|e| format!("[timeseries.import] {e}"))?;
                }
                if let Some(replay) = &config.replay {
                    for (key, text) in [("step", &replay.step), ("every", &replay.every)] {
                        match crate::live::duration_ms(text) {
                            Ok(0) => {
                                return Err(format!("[timeseries.replay] {key}: must not be 0"));
                            }
                            Ok(_) => {}
                            Err(e) => return Err(format!("[timeseries.replay] {key} {e}")),
                        }
                    }
                }
                Ok(Some(config))
            }
        }
    }
}

impl DatasetToml {
    /// The live feed of a time series (`[source] url` and `every`), checked; none without a
    /// `url`.
    pub fn feed(&self) -> std::result::Result<Option<crate::live::Feed>, String> {
        let source = &self.source;
        let Some(url) = &source.url else {
            let stray = [
                ("every", source.every.is_some()),
                ("feed", source.feed.is_some()),
                ("match", source.match_field.is_some()),
                ("station", source.station.is_some()),
            ]
            .into_iter()
            .find_map(|(key, set)| set.then_some(key));
            return match stray {
                Some(key) => Err(format!(
                    "[source] {key} belongs to a feed: set [source] url as well"
                )),
                None => Ok(None),
            };
        };
        if self.kind != DatasetKind::Timeseries {
            return Err(
                "[source] url is a feed of readings: it needs kind = \"timeseries\"".into(),
            );
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "[source] url '{url}': only http:// and https:// URLs can be polled"
            ));
        }
        let every = source
            .every
            .as_deref()
            .ok_or("[source] url needs every = \"15m\" (how often to poll it)")?;
        let every_ms =
            crate::live::duration_ms(every).map_err(|e| format!("[source] every {e}"))?;
        if every_ms < 1_000 {
            return Err(format!(
                "[source] every '{every}': poll at most once a second"
            ));
        }
        Ok(Some(crate::live::Feed {
            url: url.clone(),
            every_ms,
            format: source.feed,
            field: source.match_field.unwrap_or_default(),
            station: source.station.clone(),
            parameter: self
                .timeseries
                .as_ref()
                .map_or_else(|| "W".to_owned(), |t| t.parameter.clone()),
        }))
    }
}

/// `[source]`: where the data is and how to read it; everything detected when absent.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub path: Option<OneOrMany>,
    pub format: Option<String>,
    #[serde(default)]
    pub null: Vec<String>,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub decimal: Option<String>,
    pub crs: Option<String>,
    /// Lines starting with this character are skipped (e.g. `#` notes above a table).
    pub comment: Option<String>,
    /// Records to skip before the header, after comment lines (e.g. a column-number row).
    pub skip_rows: Option<usize>,
    /// The spreadsheet sheet to read, by name or 0-based position; the first when absent.
    pub sheet: Option<SheetRef>,
    /// The layer to read (a GeoPackage table, or a layer GDAL lists); needed when there are
    /// several.
    pub layer: Option<String>,
    /// A time series' live feed: the URL the server polls for readings (the stations still
    /// come from `path`). PEGELONLINE JSON or CSV; see `feed`.
    pub url: Option<String>,
    /// How often the server polls `url`, e.g. `"15m"` (`s`, `m` or `h`; at least 1 s).
    pub every: Option<String>,
    /// The format of the feed's answers, `"pegelonline"` or `"csv"`; from each answer's
    /// Content-Type when absent.
    pub feed: Option<crate::live::FeedFormat>,
    /// Which PEGELONLINE station field names our station: `"shortname"` (the default),
    /// `"number"`, `"longname"` or `"uuid"`.
    #[serde(rename = "match")]
    pub match_field: Option<crate::live::StationField>,
    /// The station of a single-station feed (a PEGELONLINE `measurements.json`).
    pub station: Option<String>,
}

/// A sheet of a workbook: `sheet = "Daten"` or `sheet = 1` (0-based).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SheetRef {
    Index(usize),
    Name(String),
}

/// One path or a list of paths.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// `[geometry]`: build points from two columns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointColumns {
    pub x: String,
    pub y: String,
}

/// `[columns.<name>]`: per-column overrides and documentation.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnConfig {
    #[serde(rename = "type")]
    pub data_type: Option<TypeName>,
    pub description: Option<String>,
}

/// A column type a steward can force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TypeName {
    String,
    Integer,
    Number,
    Boolean,
    Date,
    Datetime,
}

impl TypeName {
    /// The type named as in `dataset.toml` and the catalogue (`integer`, `date`, …).
    pub fn from_name(name: &str) -> Option<TypeName> {
        Some(match name {
            "string" => TypeName::String,
            "integer" => TypeName::Integer,
            "number" => TypeName::Number,
            "boolean" => TypeName::Boolean,
            "date" => TypeName::Date,
            "datetime" => TypeName::Datetime,
            _ => return None,
        })
    }
}

/// Source formats the ingest reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Csv,
    GeoJson,
    Shapefile,
    Xlsx,
    Ods,
    GeoPackage,
    Kml,
    /// Any other vector format, read through GDAL (cargo feature `gdal`).
    Gdal,
}

/// How to read more formats, for messages of builds without the `gdal` feature.
pub(crate) const GDAL_HINT: &str = "build allmende with `--features gdal` (needs libgdal-dev) \
    to read every vector format GDAL reads (FlatGeobuf, GML, MapInfo, DXF, GPX, …)";

impl SourceFormat {
    fn from_name(name: &str) -> Option<SourceFormat> {
        match name.to_ascii_lowercase().as_str() {
            "csv" | "tsv" | "txt" => Some(SourceFormat::Csv),
            "geojson" | "json" => Some(SourceFormat::GeoJson),
            "shp" | "shapefile" => Some(SourceFormat::Shapefile),
            "xlsx" | "xlsm" => Some(SourceFormat::Xlsx),
            "ods" => Some(SourceFormat::Ods),
            "gpkg" => Some(SourceFormat::GeoPackage),
            "kml" | "kmz" => Some(SourceFormat::Kml),
            "gdal" => Some(SourceFormat::Gdal),
            _ => None,
        }
    }

    /// The name recorded in metadata.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Csv => "csv",
            SourceFormat::GeoJson => "geojson",
            SourceFormat::Shapefile => "shapefile",
            SourceFormat::Xlsx => "xlsx",
            SourceFormat::Ods => "ods",
            SourceFormat::GeoPackage => "gpkg",
            SourceFormat::Kml => "kml",
            SourceFormat::Gdal => "gdal",
        }
    }
}

/// A dataset ready to ingest: identity, metadata, source files and reading options.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    pub id: String,
    pub meta: DatasetMeta,
    pub files: Vec<PathBuf>,
    pub format: SourceFormat,
    pub source: SourceConfig,
    pub points: Option<PointColumns>,
    pub columns: BTreeMap<String, ColumnConfig>,
    /// Key columns (source names); empty when none are declared.
    pub key: Vec<String>,
    /// The dataset.toml this spec was read from, if any.
    pub config: Option<PathBuf>,
}

impl DatasetSpec {
    /// Resolves an ingest argument: a dataset folder (with `dataset.toml`), a `dataset.toml`,
    /// or a bare data file. `id` overrides the id from the file.
    pub fn resolve(input: &Path, id: Option<&str>) -> Result<DatasetSpec> {
        Self::resolve_with(input, id, None)
    }

    /// Like [`DatasetSpec::resolve`], but reads `source` instead of the `[source] path` of the
    /// dataset.toml (a new batch to append, an uploaded file).
    pub fn resolve_with(
        input: &Path,
        id: Option<&str>,
        source: Option<&Path>,
    ) -> Result<DatasetSpec> {
        let (toml_path, data_file) = if input.is_dir() {
            (input.join("dataset.toml"), None)
        } else if input.extension().is_some_and(|e| e == "toml") {
            (input.to_owned(), None)
        } else if input.is_file() {
            (PathBuf::new(), Some(input.to_owned()))
        } else {
            return Err(IngestError::config(input, "no such file or folder"));
        };
        let (toml, base) = match &data_file {
            Some(file) => (DatasetToml::default(), parent_of(file)),
            None => {
                let text = std::fs::read_to_string(&toml_path)
                    .map_err(|e| IngestError::io(&toml_path, e))?;
                let toml: DatasetToml = toml::from_str(&text)
                    .map_err(|e| IngestError::config(&toml_path, e.to_string()))?;
                toml.series()
                    .map_err(|e| IngestError::config(&toml_path, e))?;
                (toml, parent_of(&toml_path))
            }
        };
        let err_path = if data_file.is_some() {
            input.to_owned()
        } else {
            toml_path.clone()
        };

        let files = match (&data_file, &toml.source.path) {
            _ if source.is_some() => source.into_iter().map(Path::to_path_buf).collect(),
            (Some(file), _) => vec![file.clone()],
            (None, Some(OneOrMany::One(p))) => vec![base.join(p)],
            (None, Some(OneOrMany::Many(ps))) => ps.iter().map(|p| base.join(p)).collect(),
            (None, None) => vec![single_data_file(&base, &err_path)?],
        };
        let first = &files[0];
        let format_name = toml.source.format.clone().unwrap_or_else(|| {
            first
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default()
                .to_owned()
        });
        let format = match SourceFormat::from_name(&format_name) {
            Some(format) => format,
            // With GDAL built in, an unknown extension is GDAL's to read (or refuse).
            None if cfg!(feature = "gdal") && toml.source.format.is_none() => SourceFormat::Gdal,
            None => {
                let more = if cfg!(feature = "gdal") {
                    ", gdal".to_owned()
                } else {
                    format!("; {GDAL_HINT}")
                };
                return Err(IngestError::config(
                    &err_path,
                    format!(
                        "unsupported source format '{format_name}' (supported: csv, tsv, geojson, shp, xlsx, ods, gpkg, kml, kmz{more})"
                    ),
                ));
            }
        };

        let default_id = if data_file.is_some() {
            first.file_stem()
        } else {
            base.file_name()
        }
        .map(|s| slugify(&s.to_string_lossy()))
        .unwrap_or_default();
        let id = id
            .map(str::to_owned)
            .or(toml.id.clone())
            .unwrap_or(default_id);
        if !is_valid_id(&id) {
            return Err(IngestError::config(
                &err_path,
                format!(
                    "'{id}' is not a valid dataset id ([a-z0-9][a-z0-9-]*); set `id` in dataset.toml or pass --id"
                ),
            ));
        }
        if let Some(c) = &toml.source.comment
            && c.len() != 1
        {
            return Err(IngestError::config(
                &err_path,
                format!("comment must be one ASCII character, not {c:?}"),
            ));
        }
        let spreadsheet = matches!(format, SourceFormat::Xlsx | SourceFormat::Ods);
        let misplaced = if toml.source.sheet.is_some() && !spreadsheet {
            Some("sheet")
        } else if toml.source.layer.is_some()
            && !matches!(format, SourceFormat::GeoPackage | SourceFormat::Gdal)
        {
            Some("layer")
        } else {
            None
        };
        if let Some(key) = misplaced {
            return Err(IngestError::config(
                &err_path,
                format!("[source] {key} does not apply to {} files", format.name()),
            ));
        }
        if let Some(d) = &toml.source.decimal
            && d != ","
            && d != "."
        {
            return Err(IngestError::config(
                &err_path,
                format!("decimal must be \",\" or \".\", not {d:?}"),
            ));
        }
        let meta = toml
            .meta(&id)
            .map_err(|message| IngestError::config(&err_path, message))?;
        Ok(DatasetSpec {
            id,
            meta,
            files,
            format,
            source: toml.source.clone(),
            points: toml.geometry.clone(),
            columns: toml.columns.clone(),
            key: toml.key.clone(),
            config: data_file.is_none().then_some(toml_path),
        })
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn single_data_file(dir: &Path, toml: &Path) -> Result<PathBuf> {
    let entries = std::fs::read_dir(dir).map_err(|e| IngestError::io(dir, e))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| SourceFormat::from_name(e).is_some())
        })
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(IngestError::config(
            toml,
            "no data file found beside it; set [source] path",
        )),
        _ => Err(IngestError::config(
            toml,
            "several data files found beside it; set [source] path",
        )),
    }
}

/// Turns a file name into a dataset id: lowercase ASCII, umlauts transliterated, `-` elsewhere.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        let piece = match c {
            'ä' => "ae",
            'ö' => "oe",
            'ü' => "ue",
            'ß' => "ss",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => "-",
        };
        if piece == "-" && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push_str(piece);
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_valid_ids() {
        assert_eq!(
            slugify("Haushalt Wesel 2017.csv"),
            "haushalt-wesel-2017-csv"
        );
        assert_eq!(slugify("Pegelstände_NRW"), "pegelstaende-nrw");
        assert!(is_valid_id(&slugify("__Straßen__")));
    }

    #[test]
    fn sheet_by_name_or_position() {
        let sheet = |text: &str| {
            toml::from_str::<DatasetToml>(text)
                .expect("parses")
                .source
                .sheet
        };
        assert_eq!(
            sheet("[source]\nsheet = \"Daten\""),
            Some(SheetRef::Name("Daten".into()))
        );
        assert_eq!(sheet("[source]\nsheet = 1"), Some(SheetRef::Index(1)));
        assert!(toml::from_str::<DatasetToml>("[source]\nsheet = -1").is_err());
    }

    #[test]
    fn unknown_keys_are_an_error_with_their_place() {
        let err = toml::from_str::<DatasetToml>("title = \"x\"\n[source]\ndelimeter = \";\"\n")
            .expect_err("typo must fail");
        let msg = err.to_string();
        assert!(msg.contains("delimeter"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
    }

    #[test]
    fn feeds_belong_to_time_series_and_need_every() {
        let check = |text: &str| DatasetToml::parse(text).expect("parses").series();
        let series = "kind = \"timeseries\"\n[timeseries]\nparameter = \"Q\"\n[source]\n";
        let feed = DatasetToml::parse(&format!(
            "{series}url = \"http://127.0.0.1:9/stations.json\"\nevery = \"15m\"\nmatch = \"number\""
        ))
        .expect("parses")
        .feed()
        .expect("valid")
        .expect("a feed");
        assert_eq!(feed.every_ms, 900_000);
        assert_eq!(feed.field, crate::live::StationField::Number);
        assert_eq!(feed.parameter, "Q");
        assert_eq!(feed.format, None);
        let errors = [
            (
                "[source]\nurl = \"http://x/\"\nevery = \"1m\"".to_owned(),
                "needs kind = \"timeseries\"",
            ),
            (
                format!("{series}every = \"15m\""),
                "set [source] url as well",
            ),
            (format!("{series}url = \"http://x/\""), "needs every"),
            (
                format!("{series}url = \"http://x/\"\nevery = \"15 min\""),
                "[source] every '15 min'",
            ),
            (
                format!("{series}url = \"ftp://x/\"\nevery = \"15m\""),
                "only http:// and https://",
            ),
            (
                format!("{series}url = \"http://x/\"\nevery = \"0s\""),
                "once a second",
            ),
        ];
        for (text, message) in errors {
            let err = check(&text).expect_err(&text);
            assert!(err.contains(message), "{text}: {err}");
        }
        assert!(DatasetToml::parse("[source]\nfeed = \"xml\"").is_err());
    }

    #[test]
    fn unknown_extensions_go_to_gdal_or_say_how_to() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("plan.fgb");
        std::fs::write(&file, b"fgb").expect("write");
        let result = DatasetSpec::resolve(&file, Some("t"));
        if cfg!(feature = "gdal") {
            assert_eq!(result.expect("resolve").format, SourceFormat::Gdal);
        } else {
            let msg = result.expect_err("unknown").to_string();
            assert!(msg.contains("unsupported source format 'fgb'"), "{msg}");
            assert!(msg.contains("--features gdal"), "{msg}");
        }
        // A format named in dataset.toml is never guessed.
        let toml = format!(
            "[source]\npath = {:?}\nformat = \"fgbx\"\n",
            file.display().to_string()
        );
        std::fs::write(dir.path().join("dataset.toml"), toml).expect("write");
        let msg = DatasetSpec::resolve(dir.path(), Some("t"))
            .expect_err("unknown format")
            .to_string();
        assert!(msg.contains("unsupported source format 'fgbx'"), "{msg}");
    }
}
