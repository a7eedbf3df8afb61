//! The on-disk catalogue: `<data>/datasets/<id>/manifest.json` plus `v<n>/` version folders.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{CatalogError, Result};
use crate::model::{DatasetMeta, Format, Manifest, Version};
use crate::search::IndexCell;

const MANIFEST: &str = "manifest.json";

/// Whether `id` is a dataset id: `[a-z0-9][a-z0-9-]*`.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The SQL table name of a dataset: its id with `-` replaced by `_`.
pub fn table_name(id: &str) -> String {
    id.replace('-', "_")
}

/// A snapshot of every published dataset under a data root.
#[derive(Debug, Clone)]
pub struct Catalog {
    root: PathBuf,
    manifests: BTreeMap<String, Manifest>,
    /// The search index over `manifests`, built on the first search.
    pub(crate) search_index: IndexCell,
}

impl Catalog {
    /// Reads every manifest under `root`. A missing root is an empty catalogue.
    pub fn open(root: impl Into<PathBuf>) -> Result<Catalog> {
        let root = root.into();
        let mut manifests = BTreeMap::new();
        let datasets = root.join("datasets");
        let entries = match fs::read_dir(&datasets) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Catalog::from_manifests(root, []));
            }
            Err(e) => return Err(CatalogError::io(&datasets, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| CatalogError::io(&datasets, e))?;
            let path = entry.path().join(MANIFEST);
            if !path.is_file() {
                continue; // a dataset whose first ingest never committed
            }
            let manifest = read_manifest(&path)?;
            manifests.insert(manifest.id.clone(), manifest);
        }
        Ok(Catalog {
            root,
            manifests,
            search_index: IndexCell::default(),
        })
    }

    /// A catalogue of the given manifests, as if read from `root` (for tests and tools).
    pub fn from_manifests(
        root: impl Into<PathBuf>,
        manifests: impl IntoIterator<Item = Manifest>,
    ) -> Catalog {
        Catalog {
            root: root.into(),
            manifests: manifests.into_iter().map(|m| (m.id.clone(), m)).collect(),
            search_index: IndexCell::default(),
        }
    }

    /// The data root this catalogue was read from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// All datasets, ordered by id.
    pub fn datasets(&self) -> impl Iterator<Item = &Manifest> {
        self.manifests.values()
    }

    /// The dataset with the given id.
    pub fn get(&self, id: &str) -> Option<&Manifest> {
        self.manifests.get(id)
    }

    /// The folder of a dataset.
    pub fn dataset_dir(root: &Path, id: &str) -> PathBuf {
        root.join("datasets").join(id)
    }

    /// The folder of one version of a dataset.
    pub fn version_dir(root: &Path, id: &str, number: u32) -> PathBuf {
        Self::dataset_dir(root, id).join(format!("v{number}"))
    }

    /// The path of a distribution file of a version.
    pub fn file_path(&self, id: &str, number: u32, format: Format) -> PathBuf {
        Self::version_dir(&self.root, id, number).join(format.file_name())
    }

    /// Replaces a published dataset's metadata; the old state goes into its history.
    pub fn update_meta(root: &Path, id: &str, meta: DatasetMeta) -> Result<Manifest> {
        if !is_valid_id(id) || !Self::dataset_dir(root, id).join(MANIFEST).is_file() {
            return Err(CatalogError::NotFound(id.to_owned()));
        }
        update_manifest(root, id, |manifest| {
            if let Some(m) = manifest {
                m.set_meta(meta);
            }
            Ok(())
        })
    }

    /// Reserves the next version folder of a dataset for writing. Nothing is published until
    /// [`StagedVersion::commit`]; dropping an uncommitted stage removes its folder.
    pub fn stage_version(root: &Path, id: &str) -> Result<StagedVersion> {
        if !is_valid_id(id) {
            return Err(CatalogError::InvalidId(id.to_owned()));
        }
        let dir = Self::dataset_dir(root, id);
        fs::create_dir_all(&dir).map_err(|e| CatalogError::io(&dir, e))?;
        let manifest_path = dir.join(MANIFEST);
        let manifest = if manifest_path.is_file() {
            Some(read_manifest(&manifest_path)?)
        } else {
            None
        };
        let published = manifest
            .as_ref()
            .and_then(|m| m.latest())
            .map_or(0, |v| v.number);
        // Folders of failed or concurrent ingests may exist beyond the manifest: skip them.
        let mut number = published + 1;
        loop {
            let candidate = dir.join(format!("v{number}"));
            match fs::create_dir(&candidate) {
                Ok(()) => {
                    return Ok(StagedVersion {
                        root: root.to_owned(),
                        id: id.to_owned(),
                        number,
                        dir: candidate,
                        committed: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => number += 1,
                Err(e) => return Err(CatalogError::io(&candidate, e)),
            }
        }
    }
}

/// A version folder being written; see [`Catalog::stage_version`].
#[derive(Debug)]
pub struct StagedVersion {
    root: PathBuf,
    id: String,
    number: u32,
    dir: PathBuf,
    committed: bool,
}

impl StagedVersion {
    /// The version number this stage will publish as.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The folder to write the version's files into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Publishes the version: appends it to the manifest (creating it with `meta` on first
    /// publication, updating the metadata otherwise) and replaces the manifest atomically.
    pub fn commit(mut self, meta: DatasetMeta, version: Version) -> Result<Manifest> {
        let manifest = update_manifest(&self.root, &self.id, |manifest| {
            let manifest = manifest.get_or_insert_with(|| Manifest {
                id: self.id.clone(),
                meta: meta.clone(),
                versions: Vec::new(),
                meta_history: Vec::new(),
            });
            manifest.set_meta(meta);
            manifest.versions.push(version);
            manifest.versions.sort_by_key(|v| v.number);
            Ok(())
        })?;
        self.committed = true;
        Ok(manifest)
    }

    /// Keeps the written files without publishing them: the folder becomes
    /// `<id>/unpublished-v<n>` (replacing an older one), for the steward to inspect.
    pub fn hold(mut self) -> Result<PathBuf> {
        let held = Catalog::dataset_dir(&self.root, &self.id)
            .join(format!("unpublished-v{}", self.number));
        if held.exists() {
            fs::remove_dir_all(&held).map_err(|e| CatalogError::io(&held, e))?;
        }
        fs::rename(&self.dir, &held).map_err(|e| CatalogError::io(&held, e))?;
        self.committed = true;
        Ok(held)
    }
}

impl Drop for StagedVersion {
    fn drop(&mut self) {
        if !self.committed
            && let Err(e) = fs::remove_dir_all(&self.dir)
        {
            tracing::warn!("could not remove unpublished {}: {e}", self.dir.display());
        }
    }
}

/// Read-modify-replace of a dataset's manifest under an exclusive lock, so that concurrent
/// writers lose nothing. The lock is released when the file closes, also if the process dies.
fn update_manifest(
    root: &Path,
    id: &str,
    change: impl FnOnce(&mut Option<Manifest>) -> Result<()>,
) -> Result<Manifest> {
    let dir = Catalog::dataset_dir(root, id);
    let path = dir.join(MANIFEST);
    let lock_path = dir.join(".manifest.lock");
    let lock = fs::File::create(&lock_path).map_err(|e| CatalogError::io(&lock_path, e))?;
    lock.lock().map_err(|e| CatalogError::io(&lock_path, e))?;
    let mut manifest = if path.is_file() {
        Some(read_manifest(&path)?)
    } else {
        None
    };
    change(&mut manifest)?;
    let manifest = manifest.ok_or_else(|| CatalogError::NotFound(id.to_owned()))?;
    write_atomically(&path, &manifest)?;
    drop(lock);
    Ok(manifest)
}

fn read_manifest(path: &Path) -> Result<Manifest> {
    let bytes = fs::read(path).map_err(|e| CatalogError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| CatalogError::Manifest {
        path: path.to_owned(),
        source,
    })
}

fn write_atomically(path: &Path, manifest: &Manifest) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let json = serde_json::to_vec_pretty(manifest).map_err(|source| CatalogError::Manifest {
        path: path.to_owned(),
        source,
    })?;
    let mut file = fs::File::create(&tmp).map_err(|e| CatalogError::io(&tmp, e))?;
    file.write_all(&json)
        .and_then(|()| file.sync_all())
        .map_err(|e| CatalogError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| CatalogError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceInfo;

    fn version(number: u32) -> Version {
        Version {
            number,
            created: chrono::DateTime::UNIX_EPOCH,
            row_count: 1,
            rejected_rows: 0,
            columns: vec![],
            geometry: None,
            source: SourceInfo::default(),
            distributions: vec![],
            temporal: None,
            changes: None,
        }
    }

    #[test]
    fn ids_follow_the_slug_rule() {
        assert!(is_valid_id("pegel-nrw"));
        assert!(is_valid_id("2024-haushalt"));
        assert!(!is_valid_id("Pegel"));
        assert!(!is_valid_id("-x"));
        assert!(!is_valid_id("a/../b"));
        assert!(!is_valid_id(""));
        assert_eq!(table_name("pegel-nrw"), "pegel_nrw");
    }

    #[test]
    fn an_uncommitted_stage_leaves_nothing_and_commits_number_upwards() {
        let root = tempfile::tempdir().expect("tempdir");
        let stage = Catalog::stage_version(root.path(), "x").expect("stage");
        let dir = stage.dir().to_owned();
        assert!(dir.is_dir());
        drop(stage);
        assert!(!dir.exists());
        assert_eq!(
            Catalog::open(root.path()).expect("open").datasets().count(),
            0
        );

        // Two stages open at once (two ingests racing) both end up in the manifest.
        let a = Catalog::stage_version(root.path(), "y").expect("stage");
        let b = Catalog::stage_version(root.path(), "y").expect("stage");
        assert_eq!((a.number(), b.number()), (1, 2));
        let (na, nb) = (a.number(), b.number());
        b.commit(DatasetMeta::default(), version(nb))
            .expect("commit");
        a.commit(DatasetMeta::default(), version(na))
            .expect("commit");
        let y = Catalog::open(root.path()).expect("open");
        let numbers: Vec<u32> = y
            .get("y")
            .expect("y")
            .versions
            .iter()
            .map(|v| v.number)
            .collect();
        assert_eq!(numbers, vec![1, 2]);

        for expected in [1, 2] {
            let stage = Catalog::stage_version(root.path(), "x").expect("stage");
            assert_eq!(stage.number(), expected);
            let n = stage.number();
            stage
                .commit(DatasetMeta::default(), version(n))
                .expect("commit");
        }
        let catalog = Catalog::open(root.path()).expect("open");
        let numbers: Vec<u32> = catalog
            .get("x")
            .expect("x")
            .versions
            .iter()
            .map(|v| v.number)
            .collect();
        assert_eq!(numbers, vec![1, 2]);
    }
}
