//! The Allmende catalogue: what a published dataset is (metadata, versions, distributions) and
//! where its files live under the data root.
//!
//! The per-dataset `manifest.json` is the commit point of a version: files are written first,
//! the manifest last and atomically, so readers never see half a version.

pub mod ckan;
pub mod datapackage;
pub mod dcat;
mod error;
mod licence;
mod model;
mod search;
mod store;
pub mod vocab;

pub use error::{CatalogError, Result};
pub use licence::{Licence, licence_by_id, licences};
pub use model::{
    Changes, Column, Contact, DatasetMeta, Distribution, Format, GeometryInfo, Manifest, MetaEdit,
    SourceInfo, TimeRange, Version,
};
pub use search::{Cursor, Facets, SearchQuery, SearchResult, Sort};
pub use store::{Catalog, StagedVersion, is_valid_id, table_name};
