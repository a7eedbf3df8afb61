//! The DCAT-AP.de 2.0 view of the catalogue, for GovData and other harvesting portals.
//!
//! The graph is built from the manifests with `oxrdf` and written by oxigraph's serializers
//! (`oxttl`, `oxjsonld`, `oxrdfxml`), so escaping and syntax are theirs, not ours.
//!
//! IRIs (all under the server's public base URL):
//!
//! | resource | IRI |
//! | --- | --- |
//! | the catalogue | `{base}/` |
//! | a dataset, as it is now | `{base}/api/datasets/{id}` |
//! | one version of it | `{base}/api/datasets/{id}/versions/{n}` |
//! | a distribution | the dataset's or version's IRI + `#csv`, `#parquet`, `#geojson`, `#fgb` |
//!
//! **Versions.** DCAT-AP.de versions datasets, not distributions (convention 20: a changed
//! file means a changed dataset). So a dataset describes its newest version: its distributions
//! point at the `download.{ext}` URLs that always serve the newest data, `owl:versionInfo` and
//! `adms:versionNotes` name that version, and `dcat:hasVersion` (DCAT 3, DCAT-AP 3) links every
//! version. Each version is a `dcat:Dataset` of its own with `dct:isVersionOf` (the DCAT-AP.de
//! 2.0 convention), `dcat:previousVersion`, `owl:versionInfo` and `adms:versionNotes`, whose
//! distributions are the immutable `versions/{n}/download.{ext}` files with their checksums —
//! the URLs to cite. The catalogue only links the versions and does not describe them, so that
//! a harvester importing every `dcat:Dataset` of a document does not import each version as a
//! dataset of its own; each version is described in a document of its own (see the API).
//! `dct:hasVersion` is avoided because DCAT-AP.de 2.0 deprecates it (its 1.x use for
//! collections).
//!
//! **Deviations**, because DCAT-AP.de 2.0 or the vocabularies say otherwise:
//! - checksums name their algorithm with DCAT-AP.de's hash vocabulary
//!   (`http://dcat-ap.de/def/hashAlgorithms/sha/256`): the DCAT-AP.de 2.0 shapes replace the
//!   SPDX algorithm check with that list, and `spdx:checksumAlgorithm_sha256` is a violation.
//! - FlatGeobuf has no entry in the EU file-type vocabulary: it gets `BIN` ("Binary Data") and no
//!   `dcat:mediaType`, as `application/flatgeobuf` is not registered with IANA.

use std::collections::HashMap;
use std::io;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{
    BlankNode, GraphNameRef, Literal, NamedNode, NamedNodeRef, NamedOrBlankNode, Term, Triple,
};

use crate::licence_by_id;
use crate::model::{DatasetMeta, Distribution, Format, Manifest, Version};
use crate::vocab::{frequency_uri, language_uri, political_geocoding, theme_uri};
use ns::{adms, dcat, dcatde, dct, foaf, gsp, hydra, locn, owl, spdx, vcard};

/// Datasets per page of the catalogue document.
pub const PAGE_SIZE: usize = 100;

/// The three RDF syntaxes the views are served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdfSyntax {
    Turtle,
    JsonLd,
    RdfXml,
}

impl RdfSyntax {
    pub const ALL: [RdfSyntax; 3] = [RdfSyntax::Turtle, RdfSyntax::JsonLd, RdfSyntax::RdfXml];

    /// The file extension in the URLs (`catalog.ttl`, `dcat.jsonld`, …).
    pub fn extension(self) -> &'static str {
        match self {
            RdfSyntax::Turtle => "ttl",
            RdfSyntax::JsonLd => "jsonld",
            RdfSyntax::RdfXml => "rdf",
        }
    }

    /// The `Content-Type` to serve.
    pub fn media_type(self) -> &'static str {
        match self {
            RdfSyntax::Turtle => "text/turtle; charset=utf-8",
            RdfSyntax::JsonLd => "application/ld+json",
            RdfSyntax::RdfXml => "application/rdf+xml",
        }
    }
}

/// What describes the catalogue itself: the operator of this server, not any dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogInfo {
    pub title: String,
    pub description: String,
    /// The catalogue's publisher (`dct:publisher` of the `dcat:Catalog`).
    pub publisher: String,
    /// The GovData contributor id this server delivers as (`dcatde:contributorID`), used for
    /// every dataset whose metadata names none. GovData assigns it when a portal registers.
    pub contributor_id: Option<String>,
}

impl Default for CatalogInfo {
    fn default() -> Self {
        CatalogInfo {
            title: "Allmende".into(),
            description: "Offene Daten, veröffentlicht mit Allmende".into(),
            publisher: "Allmende".into(),
            contributor_id: None,
        }
    }
}

/// An RDF graph, triples grouped by subject in the order the subjects were described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    triples: Vec<Triple>,
}

impl Graph {
    pub fn triples(&self) -> &[Triple] {
        &self.triples
    }

    /// Writes the graph in `syntax`, with the usual prefixes.
    pub fn serialize(&self, syntax: RdfSyntax) -> io::Result<Vec<u8>> {
        let bad_prefix = |e| io::Error::new(io::ErrorKind::InvalidInput, e);
        match syntax {
            RdfSyntax::Turtle => {
                let mut serializer = oxttl::TurtleSerializer::new();
                for (name, iri) in PREFIXES {
                    serializer = serializer.with_prefix(*name, *iri).map_err(bad_prefix)?;
                }
                let mut writer = serializer.for_writer(Vec::new());
                for triple in &self.triples {
                    writer.serialize_triple(triple)?;
                }
                writer.finish()
            }
            RdfSyntax::JsonLd => {
                let mut serializer = oxjsonld::JsonLdSerializer::new();
                for (name, iri) in PREFIXES {
                    serializer = serializer.with_prefix(*name, *iri).map_err(bad_prefix)?;
                }
                let mut writer = serializer.for_writer(Vec::new());
                for triple in &self.triples {
                    writer.serialize_quad(triple.as_ref().in_graph(GraphNameRef::DefaultGraph))?;
                }
                writer.finish()
            }
            RdfSyntax::RdfXml => {
                let mut serializer = oxrdfxml::RdfXmlSerializer::new();
                for (name, iri) in PREFIXES {
                    serializer = serializer.with_prefix(*name, *iri).map_err(bad_prefix)?;
                }
                let mut writer = serializer.for_writer(Vec::new());
                for triple in &self.triples {
                    writer.serialize_triple(triple)?;
                }
                writer.finish()
            }
        }
    }
}

/// One page of the catalogue: the `dcat:Catalog` with the datasets of that page (ordered as
/// given) and a `hydra:PagedCollection` as ckanext-dcat writes it (total, page size, first,
/// previous, next and last page). `None` when `page` is 0 or past the last page; page 1 of an
/// empty catalogue exists.
pub fn catalog_page(
    manifests: &[&Manifest],
    info: &CatalogInfo,
    base: &str,
    syntax: RdfSyntax,
    page: usize,
    page_size: usize,
) -> Option<Graph> {
    let page_size = page_size.max(1);
    let last = manifests.len().div_ceil(page_size).max(1);
    if page == 0 || page > last {
        return None;
    }
    let on_page = manifests
        .iter()
        .skip((page - 1) * page_size)
        .take(page_size);
    let links = Links { base };
    let mut doc = Doc::default();

    let catalog = links.node(&links.catalog());
    doc.add(&catalog, rdf::TYPE, dcat::CATALOG);
    doc.literal(&catalog, dct::TITLE, &info.title);
    doc.literal(&catalog, dct::DESCRIPTION, &info.description);
    let publisher = doc.blank();
    doc.add(&catalog, dct::PUBLISHER, publisher.clone());
    doc.add(&publisher, rdf::TYPE, foaf::AGENT);
    doc.add(&publisher, rdf::TYPE, foaf::ORGANIZATION);
    doc.literal(&publisher, foaf::NAME, &info.publisher);
    doc.add(&catalog, foaf::HOMEPAGE, links.node(&links.catalog()));
    if let Some(german) = language_uri("de") {
        doc.add(&catalog, dct::LANGUAGE, NamedNode::new_unchecked(german));
    }
    let created = manifests
        .iter()
        .flat_map(|m| m.versions.iter().map(|v| v.created));
    if let Some(first) = created.clone().min() {
        doc.add(&catalog, dct::ISSUED, date_time(first));
    }
    if let Some(newest) = created.max() {
        doc.add(&catalog, dct::MODIFIED, date_time(newest));
    }
    let mut datasets = Vec::new();
    for manifest in on_page {
        let dataset = links.node(&links.dataset(&manifest.id));
        doc.add(&catalog, dcat::DATASET, dataset.clone());
        datasets.push((dataset, *manifest));
    }
    for (dataset, manifest) in datasets {
        describe_current(&mut doc, &links, info, manifest, &dataset);
    }

    let page_url =
        |n: usize| links.node(&format!("{base}/catalog.{}?page={n}", syntax.extension()));
    let paging = page_url(page);
    doc.add(&paging, rdf::TYPE, hydra::PAGED_COLLECTION);
    doc.add(&paging, hydra::TOTAL_ITEMS, integer(manifests.len()));
    doc.add(&paging, hydra::ITEMS_PER_PAGE, integer(page_size));
    doc.add(&paging, hydra::FIRST_PAGE, page_url(1));
    if page > 1 {
        doc.add(&paging, hydra::PREVIOUS_PAGE, page_url(page - 1));
    }
    if page < last {
        doc.add(&paging, hydra::NEXT_PAGE, page_url(page + 1));
    }
    doc.add(&paging, hydra::LAST_PAGE, page_url(last));
    Some(doc.finish())
}

/// One dataset as it is now, with links to its versions.
pub fn dataset_graph(manifest: &Manifest, info: &CatalogInfo, base: &str) -> Graph {
    let links = Links { base };
    let mut doc = Doc::default();
    let dataset = links.node(&links.dataset(&manifest.id));
    describe_current(&mut doc, &links, info, manifest, &dataset);
    doc.finish()
}

/// One version of a dataset with its immutable files; `None` when there is no such version.
pub fn version_graph(
    manifest: &Manifest,
    number: u32,
    info: &CatalogInfo,
    base: &str,
) -> Option<Graph> {
    let version = manifest.version(number)?;
    let links = Links { base };
    let mut doc = Doc::default();
    let node = links.node(&links.version(&manifest.id, number));
    // The metadata as it was when the version was published: a later licence change does
    // not relicense files published before it.
    let meta = meta_at(manifest, version.created);
    let title = format!("{} – Version {number}", meta.title);
    describe(
        &mut doc,
        &links,
        info,
        &Described {
            node: &node,
            id: &manifest.id,
            meta,
            title: &title,
            version,
            number: Some(number),
            issued: version.created,
        },
    );
    doc.add(
        &node,
        dct::IS_VERSION_OF,
        links.node(&links.dataset(&manifest.id)),
    );
    let previous = manifest.versions.iter().rev().find(|v| v.number < number);
    if let Some(previous) = previous {
        doc.add(
            &node,
            dcat::PREVIOUS_VERSION,
            links.node(&links.version(&manifest.id, previous.number)),
        );
    }
    Some(doc.finish())
}

fn describe_current(
    doc: &mut Doc,
    links: &Links<'_>,
    info: &CatalogInfo,
    manifest: &Manifest,
    node: &NamedOrBlankNode,
) {
    let Some(latest) = manifest.latest() else {
        // A manifest is only written with its first version; describe what there is.
        describe_meta(doc, info, &manifest.meta, node, &manifest.meta.title);
        doc.literal(node, dct::IDENTIFIER, &links.dataset(&manifest.id));
        return;
    };
    let issued = manifest
        .versions
        .first()
        .map_or(latest.created, |v| v.created);
    describe(
        doc,
        links,
        info,
        &Described {
            node,
            id: &manifest.id,
            meta: &manifest.meta,
            title: &manifest.meta.title,
            version: latest,
            number: None,
            issued,
        },
    );
    for version in &manifest.versions {
        doc.add(
            node,
            dcat::HAS_VERSION,
            links.node(&links.version(&manifest.id, version.number)),
        );
    }
}

/// What [`describe`] needs to write one `dcat:Dataset`.
struct Described<'a> {
    node: &'a NamedOrBlankNode,
    id: &'a str,
    meta: &'a DatasetMeta,
    title: &'a str,
    /// The version whose facts (extent, files) are described.
    version: &'a Version,
    /// `Some(n)` for a version's own description (stable URLs), `None` for the dataset as it
    /// is now (the URLs of the newest files).
    number: Option<u32>,
    /// When the described resource first appeared.
    issued: DateTime<Utc>,
}

fn describe(doc: &mut Doc, links: &Links<'_>, info: &CatalogInfo, d: &Described<'_>) {
    let node = d.node;
    let version = d.version;
    describe_meta(doc, info, d.meta, node, d.title);
    let iri = match d.number {
        Some(n) => links.version(d.id, n),
        None => links.dataset(d.id),
    };
    // The IRI is globally unique; GovData uses dct:identifier to recognise duplicates.
    doc.literal(node, dct::IDENTIFIER, &iri);
    doc.add(node, dct::ISSUED, date_time(d.issued));
    doc.add(node, dct::MODIFIED, date_time(version.created));
    doc.literal(node, owl::VERSION_INFO, &version.number.to_string());
    doc.literal(node, adms::VERSION_NOTES, &version_notes(version));

    if let Some([west, south, east, north]) = version.geometry.as_ref().and_then(|g| g.bbox) {
        let wkt = format!(
            "POLYGON(({west} {south}, {east} {south}, {east} {north}, {west} {north}, {west} {south}))"
        );
        let location = doc.blank();
        doc.add(node, dct::SPATIAL, location.clone());
        doc.add(&location, rdf::TYPE, dct::LOCATION);
        doc.add(
            &location,
            dcat::BBOX,
            Literal::new_typed_literal(&wkt, gsp::WKT_LITERAL),
        );
        doc.add(
            &location,
            locn::GEOMETRY,
            Literal::new_typed_literal(wkt, gsp::WKT_LITERAL),
        );
    }
    if let Some(range) = &version.temporal {
        let period = doc.blank();
        doc.add(node, dct::TEMPORAL, period.clone());
        doc.add(&period, rdf::TYPE, dct::PERIOD_OF_TIME);
        if let Some(start) = temporal_literal(&range.start) {
            doc.add(&period, dcat::START_DATE, start);
        }
        if let Some(end) = temporal_literal(&range.end) {
            doc.add(&period, dcat::END_DATE, end);
        }
    }

    for distribution in &version.distributions {
        let url = links.download(d.id, d.number, distribution.format);
        let dist = links.node(&format!("{iri}#{}", distribution.format.extension()));
        doc.add(node, dcat::DISTRIBUTION, dist.clone());
        describe_distribution(doc, d, distribution, &dist, &url);
    }
}

/// The descriptive metadata a steward writes, as DCAT-AP.de properties.
fn describe_meta(
    doc: &mut Doc,
    info: &CatalogInfo,
    meta: &DatasetMeta,
    node: &NamedOrBlankNode,
    title: &str,
) {
    doc.add(node, rdf::TYPE, dcat::DATASET_CLASS);
    doc.literal(node, dct::TITLE, title);
    if !meta.description.is_empty() {
        doc.literal(node, dct::DESCRIPTION, &meta.description);
    }
    if !meta.publisher.is_empty() {
        let publisher = doc.blank();
        doc.add(node, dct::PUBLISHER, publisher.clone());
        doc.add(&publisher, rdf::TYPE, foaf::AGENT);
        doc.add(&publisher, rdf::TYPE, foaf::ORGANIZATION);
        doc.literal(&publisher, foaf::NAME, &meta.publisher);
        if let Some(url) = meta.publisher_url.as_deref().and_then(iri) {
            doc.add(&publisher, foaf::HOMEPAGE, url);
        }
    }
    if let Some(contact) = &meta.contact {
        let point = doc.blank();
        doc.add(node, dcat::CONTACT_POINT, point.clone());
        doc.add(&point, rdf::TYPE, vcard::ORGANIZATION);
        doc.literal(&point, vcard::FN, &contact.name);
        if let Some(mail) = contact
            .email
            .as_deref()
            .and_then(|e| iri(&format!("mailto:{e}")))
        {
            doc.add(&point, vcard::HAS_EMAIL, mail);
        }
        if let Some(url) = contact.url.as_deref().and_then(iri) {
            doc.add(&point, vcard::HAS_URL, url);
        }
    }
    for keyword in &meta.keywords {
        doc.literal(node, dcat::KEYWORD, keyword);
    }
    if let Some(theme) = &meta.theme {
        doc.add(
            node,
            dcat::THEME,
            NamedNode::new_unchecked(theme_uri(theme)),
        );
    }
    if let Some(frequency) = &meta.frequency {
        doc.add(
            node,
            dct::ACCRUAL_PERIODICITY,
            NamedNode::new_unchecked(frequency_uri(frequency)),
        );
    }
    let german = ["de".to_owned()];
    let languages = if meta.languages.is_empty() {
        &german[..]
    } else {
        &meta.languages[..]
    };
    for language in languages.iter().filter_map(|l| language_uri(l)) {
        doc.add(node, dct::LANGUAGE, NamedNode::new_unchecked(language));
    }
    if let Some((uri, level)) = meta.ags.as_deref().and_then(political_geocoding) {
        doc.add(
            node,
            dcatde::POLITICAL_GEOCODING_URI,
            NamedNode::new_unchecked(uri),
        );
        doc.add(
            node,
            dcatde::POLITICAL_GEOCODING_LEVEL_URI,
            NamedNode::new_unchecked(level),
        );
    }
    let contributor = meta
        .contributor_id
        .as_ref()
        .or(info.contributor_id.as_ref());
    if let Some(contributor) = contributor.and_then(|c| iri(c)) {
        doc.add(node, dcatde::CONTRIBUTOR_ID, contributor);
    }
}

fn describe_distribution(
    doc: &mut Doc,
    d: &Described<'_>,
    distribution: &Distribution,
    node: &NamedOrBlankNode,
    url: &str,
) {
    let format = distribution.format;
    doc.add(node, rdf::TYPE, dcat::DISTRIBUTION_CLASS);
    doc.literal(
        node,
        dct::TITLE,
        &format!("{} ({})", d.title, label(format)),
    );
    let url = NamedNode::new_unchecked(url);
    doc.add(node, dcat::ACCESS_URL, url.clone());
    doc.add(node, dcat::DOWNLOAD_URL, url);
    doc.add(
        node,
        dct::FORMAT,
        NamedNode::new_unchecked(format!("{FILE_TYPE}{}", file_type(format))),
    );
    if let Some(media_type) = iana_media_type(&distribution.media_type) {
        doc.add(node, dcat::MEDIA_TYPE, media_type);
    }
    doc.add(
        node,
        dcat::BYTE_SIZE,
        Literal::new_typed_literal(distribution.byte_size.to_string(), xsd::DECIMAL),
    );
    let checksum = doc.blank();
    doc.add(node, spdx::CHECKSUM, checksum.clone());
    doc.add(&checksum, rdf::TYPE, spdx::CHECKSUM_CLASS);
    doc.add(&checksum, spdx::ALGORITHM, SHA_256);
    doc.add(
        &checksum,
        spdx::CHECKSUM_VALUE,
        Literal::new_typed_literal(&distribution.sha256, xsd::HEX_BINARY),
    );
    if let Some(licence) = licence_by_id(&d.meta.licence) {
        doc.add(node, dct::LICENSE, NamedNode::new_unchecked(licence.uri()));
        if licence.requires_attribution
            && let Some(text) = d.meta.attribution.as_deref().filter(|t| !t.is_empty())
        {
            doc.literal(node, dcatde::LICENSE_ATTRIBUTION_BY_TEXT, text);
        }
    }
    doc.add(node, dct::ISSUED, date_time(d.version.created));
    doc.add(node, dct::MODIFIED, date_time(d.version.created));
}

/// The metadata in effect at `at`: the history keeps each replaced state with the time it
/// stopped being current, oldest first.
fn meta_at(manifest: &Manifest, at: DateTime<Utc>) -> &DatasetMeta {
    manifest
        .meta_history
        .iter()
        .find(|edit| edit.replaced > at)
        .map_or(&manifest.meta, |edit| &edit.meta)
}

/// A sentence for `adms:versionNotes`: date, size and what changed.
fn version_notes(version: &Version) -> String {
    let mut notes = format!(
        "Version {} vom {}: {} Zeilen",
        version.number,
        version.created.format("%Y-%m-%d"),
        version.row_count
    );
    if version.rejected_rows > 0 {
        notes.push_str(&format!(
            ", {} Zeilen der Quelle nicht lesbar",
            version.rejected_rows
        ));
    }
    if let Some(c) = &version.changes {
        notes.push_str(&format!(
            "; gegenüber Version {}: {} hinzugefügt, {} entfernt, {} geändert",
            c.previous, c.rows_added, c.rows_removed, c.rows_changed
        ));
        if !c.columns_added.is_empty() {
            notes.push_str(&format!("; neue Spalten: {}", c.columns_added.join(", ")));
        }
        if !c.columns_removed.is_empty() {
            notes.push_str(&format!(
                "; entfernte Spalten: {}",
                c.columns_removed.join(", ")
            ));
        }
    }
    notes.push('.');
    notes
}

/// The URL scheme of the server (see the module docs).
struct Links<'a> {
    base: &'a str,
}

impl Links<'_> {
    fn catalog(&self) -> String {
        format!("{}/", self.base)
    }

    fn dataset(&self, id: &str) -> String {
        format!("{}/api/datasets/{id}", self.base)
    }

    fn version(&self, id: &str, number: u32) -> String {
        format!("{}/versions/{number}", self.dataset(id))
    }

    fn download(&self, id: &str, number: Option<u32>, format: Format) -> String {
        let ext = format.extension();
        match number {
            Some(n) => format!("{}/download.{ext}", self.version(id, n)),
            None => format!("{}/download.{ext}", self.dataset(id)),
        }
    }

    /// The base URL comes from the server (configured or a checked Host header) and ids are
    /// slugs, so these IRIs are valid.
    fn node(&self, iri: &str) -> NamedOrBlankNode {
        NamedNode::new_unchecked(iri).into()
    }
}

/// Collects triples; blank nodes get stable labels so the same catalogue gives the same bytes.
#[derive(Default)]
struct Doc {
    triples: Vec<Triple>,
    blanks: usize,
}

impl Doc {
    fn add(
        &mut self,
        subject: &NamedOrBlankNode,
        predicate: NamedNodeRef<'_>,
        object: impl Into<Term>,
    ) {
        self.triples
            .push(Triple::new(subject.clone(), predicate, object));
    }

    fn literal(&mut self, subject: &NamedOrBlankNode, predicate: NamedNodeRef<'_>, value: &str) {
        self.add(subject, predicate, Literal::new_simple_literal(value));
    }

    fn blank(&mut self) -> NamedOrBlankNode {
        self.blanks += 1;
        BlankNode::new_unchecked(format!("b{}", self.blanks)).into()
    }

    /// Groups the triples by subject (keeping the order within each subject), so serializers
    /// write each node once.
    fn finish(mut self) -> Graph {
        let mut order = HashMap::new();
        for triple in &self.triples {
            let next = order.len();
            order.entry(triple.subject.clone()).or_insert(next);
        }
        self.triples
            .sort_by_key(|t| order.get(&t.subject).copied().unwrap_or(usize::MAX));
        Graph {
            triples: self.triples,
        }
    }
}

/// An IRI a steward wrote (publisher page, contact, contributor id); invalid ones are left out
/// with a warning rather than breaking the whole document.
fn iri(text: &str) -> Option<NamedNode> {
    NamedNode::new(text.trim())
        .inspect_err(|e| tracing::warn!("DCAT: leaving out '{text}', not an IRI: {e}"))
        .ok()
}

fn date_time(t: DateTime<Utc>) -> Literal {
    Literal::new_typed_literal(t.to_rfc3339_opts(SecondsFormat::Secs, true), xsd::DATE_TIME)
}

fn integer(n: usize) -> Literal {
    Literal::new_typed_literal(n.to_string(), xsd::INTEGER)
}

/// A date (`2013-01-01`) or an RFC 3339 timestamp as typed literal.
fn temporal_literal(text: &str) -> Option<Literal> {
    if NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() {
        return Some(Literal::new_typed_literal(text, xsd::DATE));
    }
    let t = DateTime::parse_from_rfc3339(text).ok()?;
    Some(Literal::new_typed_literal(
        t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        xsd::DATE_TIME,
    ))
}

/// The IANA IRI of a registered media type, parameters dropped.
fn iana_media_type(media_type: &str) -> Option<NamedNode> {
    let essence = media_type.split(';').next()?.trim();
    (!essence.is_empty() && essence != "application/flatgeobuf").then(|| {
        NamedNode::new_unchecked(format!(
            "https://www.iana.org/assignments/media-types/{essence}"
        ))
    })
}

const FILE_TYPE: &str = "http://publications.europa.eu/resource/authority/file-type/";

/// The code in the EU file-type vocabulary.
fn file_type(format: Format) -> &'static str {
    match format {
        Format::Csv => "CSV",
        Format::Parquet => "PARQUET",
        Format::Geojson => "GEOJSON",
        // The vocabulary has no FlatGeobuf; "Binary Data" is the closest honest entry.
        Format::Fgb => "BIN",
    }
}

fn label(format: Format) -> &'static str {
    match format {
        Format::Csv => "CSV",
        Format::Parquet => "Parquet",
        Format::Geojson => "GeoJSON",
        Format::Fgb => "FlatGeobuf",
    }
}

const SHA_256: NamedNodeRef<'static> =
    NamedNodeRef::new_unchecked("http://dcat-ap.de/def/hashAlgorithms/sha/256");

const PREFIXES: &[(&str, &str)] = &[
    ("dcat", "http://www.w3.org/ns/dcat#"),
    ("dct", "http://purl.org/dc/terms/"),
    ("dcatde", "http://dcat-ap.de/def/dcatde/"),
    ("foaf", "http://xmlns.com/foaf/0.1/"),
    ("vcard", "http://www.w3.org/2006/vcard/ns#"),
    ("locn", "http://www.w3.org/ns/locn#"),
    ("gsp", "http://www.opengis.net/ont/geosparql#"),
    ("spdx", "http://spdx.org/rdf/terms#"),
    ("adms", "http://www.w3.org/ns/adms#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("hydra", "http://www.w3.org/ns/hydra/core#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
];

/// `NamedNodeRef` constants of one vocabulary: `terms!(NS; CONST = "localName", …)`.
macro_rules! terms {
    ($ns:literal; $($name:ident = $local:literal),+ $(,)?) => {
        $(pub const $name: oxrdf::NamedNodeRef<'static> =
            oxrdf::NamedNodeRef::new_unchecked(concat!($ns, $local));)+
    };
}

/// The vocabularies' terms, one module per namespace.
mod ns {
    pub(super) mod dcat {
        terms!("http://www.w3.org/ns/dcat#";
            CATALOG = "Catalog", DATASET_CLASS = "Dataset", DISTRIBUTION_CLASS = "Distribution",
            DATASET = "dataset", DISTRIBUTION = "distribution", KEYWORD = "keyword", THEME = "theme",
            CONTACT_POINT = "contactPoint", ACCESS_URL = "accessURL", DOWNLOAD_URL = "downloadURL",
            MEDIA_TYPE = "mediaType", BYTE_SIZE = "byteSize", BBOX = "bbox",
            START_DATE = "startDate", END_DATE = "endDate", HAS_VERSION = "hasVersion",
            PREVIOUS_VERSION = "previousVersion");
    }

    pub(super) mod dct {
        terms!("http://purl.org/dc/terms/";
            TITLE = "title", DESCRIPTION = "description", PUBLISHER = "publisher",
            IDENTIFIER = "identifier", ISSUED = "issued", MODIFIED = "modified",
            LANGUAGE = "language", SPATIAL = "spatial", TEMPORAL = "temporal",
            ACCRUAL_PERIODICITY = "accrualPeriodicity", LICENSE = "license", FORMAT = "format",
            IS_VERSION_OF = "isVersionOf", LOCATION = "Location",
            PERIOD_OF_TIME = "PeriodOfTime");
    }

    pub(super) mod dcatde {
        terms!("http://dcat-ap.de/def/dcatde/";
            CONTRIBUTOR_ID = "contributorID", POLITICAL_GEOCODING_URI = "politicalGeocodingURI",
            POLITICAL_GEOCODING_LEVEL_URI = "politicalGeocodingLevelURI",
            LICENSE_ATTRIBUTION_BY_TEXT = "licenseAttributionByText");
    }

    pub(super) mod foaf {
        terms!("http://xmlns.com/foaf/0.1/";
            AGENT = "Agent", ORGANIZATION = "Organization", NAME = "name", HOMEPAGE = "homepage");
    }

    pub(super) mod vcard {
        terms!("http://www.w3.org/2006/vcard/ns#";
            ORGANIZATION = "Organization", FN = "fn", HAS_EMAIL = "hasEmail", HAS_URL = "hasURL");
    }

    pub(super) mod locn {
        terms!("http://www.w3.org/ns/locn#"; GEOMETRY = "geometry");
    }

    pub(super) mod gsp {
        terms!("http://www.opengis.net/ont/geosparql#"; WKT_LITERAL = "wktLiteral");
    }

    pub(super) mod spdx {
        terms!("http://spdx.org/rdf/terms#";
            CHECKSUM = "checksum", CHECKSUM_CLASS = "Checksum", ALGORITHM = "algorithm",
            CHECKSUM_VALUE = "checksumValue");
    }

    pub(super) mod adms {
        terms!("http://www.w3.org/ns/adms#"; VERSION_NOTES = "versionNotes");
    }

    pub(super) mod owl {
        terms!("http://www.w3.org/2002/07/owl#"; VERSION_INFO = "versionInfo");
    }

    pub(super) mod hydra {
        terms!("http://www.w3.org/ns/hydra/core#";
            PAGED_COLLECTION = "PagedCollection", TOTAL_ITEMS = "totalItems",
            ITEMS_PER_PAGE = "itemsPerPage", FIRST_PAGE = "firstPage", PREVIOUS_PAGE = "previousPage",
            NEXT_PAGE = "nextPage", LAST_PAGE = "lastPage");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Changes, GeometryInfo, MetaEdit, SourceInfo, TimeRange};

    const BASE: &str = "http://example.org";

    fn version(number: u32, day: u32) -> Version {
        Version {
            number,
            created: format!("2024-03-{day:02}T10:00:00Z").parse().expect("time"),
            row_count: 10 * u64::from(number),
            rejected_rows: 0,
            columns: Vec::new(),
            geometry: Some(GeometryInfo {
                column: "geometry".into(),
                types: vec!["Point".into()],
                bbox: Some([6.5, 51.5, 6.75, 51.75]),
                crs: "OGC:CRS84".into(),
                source_crs: "EPSG:25832".into(),
            }),
            source: SourceInfo::default(),
            distributions: vec![Distribution {
                format: Format::Csv,
                file: "data.csv".into(),
                media_type: Format::Csv.media_type().into(),
                byte_size: 1234,
                sha256: "ab".repeat(32),
            }],
            temporal: Some(TimeRange {
                start: "2013-01-01".into(),
                end: "2014-12-31T23:00:00Z".into(),
            }),
            changes: (number > 1).then(|| Changes {
                previous: number - 1,
                rows_added: 10,
                ..Changes::default()
            }),
        }
    }

    fn manifest(id: &str, versions: u32) -> Manifest {
        Manifest {
            id: id.into(),
            meta: DatasetMeta {
                title: format!("Titel {id}"),
                publisher: "Stadt Wesel".into(),
                licence: "dl-by-de/2.0".into(),
                attribution: Some("Stadt Wesel".into()),
                ags: Some("05170048".into()),
                ..DatasetMeta::default()
            },
            versions: (1..=versions).map(|n| version(n, n)).collect(),
            meta_history: Vec::new(),
        }
    }

    /// The objects of `subject predicate ?o`, as N-Triples terms.
    fn objects(graph: &Graph, subject: &str, predicate: &str) -> Vec<String> {
        graph
            .triples()
            .iter()
            .filter(|t| t.subject.to_string() == subject && t.predicate.as_str() == predicate)
            .map(|t| t.object.to_string())
            .collect()
    }

    const HYDRA: &str = "http://www.w3.org/ns/hydra/core#";

    #[test]
    fn pages_list_their_datasets_and_link_their_neighbours() {
        let manifests: Vec<Manifest> = (1..=5).map(|i| manifest(&format!("d{i}"), 1)).collect();
        let refs: Vec<&Manifest> = manifests.iter().collect();
        let info = CatalogInfo::default();
        let page = |n| catalog_page(&refs, &info, BASE, RdfSyntax::Turtle, n, 2);

        let second = page(2).expect("page 2");
        let datasets = objects(
            &second,
            "<http://example.org/>",
            "http://www.w3.org/ns/dcat#dataset",
        );
        assert_eq!(
            datasets,
            [
                "<http://example.org/api/datasets/d3>",
                "<http://example.org/api/datasets/d4>"
            ]
        );
        let this = "<http://example.org/catalog.ttl?page=2>";
        let link = |p: &str| objects(&second, this, &format!("{HYDRA}{p}"));
        assert_eq!(
            link("totalItems"),
            [r#""5"^^<http://www.w3.org/2001/XMLSchema#integer>"#]
        );
        assert_eq!(
            link("itemsPerPage"),
            [r#""2"^^<http://www.w3.org/2001/XMLSchema#integer>"#]
        );
        assert_eq!(
            link("firstPage"),
            ["<http://example.org/catalog.ttl?page=1>"]
        );
        assert_eq!(
            link("previousPage"),
            ["<http://example.org/catalog.ttl?page=1>"]
        );
        assert_eq!(
            link("nextPage"),
            ["<http://example.org/catalog.ttl?page=3>"]
        );
        assert_eq!(
            link("lastPage"),
            ["<http://example.org/catalog.ttl?page=3>"]
        );

        let last = page(3).expect("page 3");
        let this = "<http://example.org/catalog.ttl?page=3>";
        assert!(objects(&last, this, &format!("{HYDRA}nextPage")).is_empty());
        assert!(page(4).is_none());
        assert!(page(0).is_none());
        // An empty catalogue still has its first page.
        assert!(catalog_page(&[], &info, BASE, RdfSyntax::Turtle, 1, 2).is_some());
    }

    #[test]
    fn the_dataset_points_at_the_newest_files_and_each_version_at_its_own() {
        let m = manifest("pegel", 2);
        let info = CatalogInfo::default();
        let now = dataset_graph(&m, &info, BASE);
        let ds = "<http://example.org/api/datasets/pegel>";
        assert_eq!(
            objects(&now, ds, "http://www.w3.org/ns/dcat#hasVersion"),
            [
                "<http://example.org/api/datasets/pegel/versions/1>",
                "<http://example.org/api/datasets/pegel/versions/2>"
            ]
        );
        assert_eq!(
            objects(&now, ds, "http://www.w3.org/2002/07/owl#versionInfo"),
            [r#""2""#]
        );
        let dist = "<http://example.org/api/datasets/pegel#csv>";
        assert_eq!(
            objects(&now, dist, "http://www.w3.org/ns/dcat#downloadURL"),
            ["<http://example.org/api/datasets/pegel/download.csv>"]
        );
        // issued is the first version, modified the newest.
        assert_eq!(
            objects(&now, ds, "http://purl.org/dc/terms/issued"),
            [r#""2024-03-01T10:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime>"#]
        );

        let v1 = version_graph(&m, 1, &info, BASE).expect("version 1");
        let node = "<http://example.org/api/datasets/pegel/versions/1>";
        assert_eq!(
            objects(&v1, node, "http://purl.org/dc/terms/isVersionOf"),
            [ds]
        );
        assert_eq!(
            objects(
                &v1,
                "<http://example.org/api/datasets/pegel/versions/1#csv>",
                "http://www.w3.org/ns/dcat#downloadURL"
            ),
            ["<http://example.org/api/datasets/pegel/versions/1/download.csv>"]
        );
        let v2 = version_graph(&m, 2, &info, BASE).expect("version 2");
        assert_eq!(
            objects(
                &v2,
                "<http://example.org/api/datasets/pegel/versions/2>",
                "http://www.w3.org/ns/dcat#previousVersion"
            ),
            ["<http://example.org/api/datasets/pegel/versions/1>"]
        );
        assert!(version_graph(&m, 3, &info, BASE).is_none());
    }

    #[test]
    fn a_version_keeps_the_licence_it_was_published_under() {
        let mut m = manifest("haushalt", 2);
        let mut old = m.meta.clone();
        old.licence = "cc-by/4.0".into();
        m.meta_history.push(MetaEdit {
            // Replaced between version 1 (1 March) and version 2 (2 March).
            replaced: "2024-03-01T12:00:00Z".parse().expect("time"),
            meta: old,
        });
        let info = CatalogInfo::default();
        let licence = |n| {
            let g = version_graph(&m, n, &info, BASE).expect("version");
            let dist = format!("<http://example.org/api/datasets/haushalt/versions/{n}#csv>");
            objects(&g, &dist, "http://purl.org/dc/terms/license")
        };
        assert_eq!(licence(1), ["<http://dcat-ap.de/def/licenses/cc-by/4.0>"]);
        assert_eq!(
            licence(2),
            ["<http://dcat-ap.de/def/licenses/dl-by-de/2.0>"]
        );
    }

    #[test]
    fn attribution_only_where_the_licence_asks_for_it() {
        let attribution = |licence: &str| {
            let mut m = manifest("x", 1);
            m.meta.licence = licence.into();
            let g = dataset_graph(&m, &CatalogInfo::default(), BASE);
            objects(
                &g,
                "<http://example.org/api/datasets/x#csv>",
                "http://dcat-ap.de/def/dcatde/licenseAttributionByText",
            )
        };
        assert_eq!(attribution("dl-by-de/2.0"), [r#""Stadt Wesel""#]);
        assert!(attribution("dl-zero-de/2.0").is_empty());
    }

    #[test]
    fn typed_values() {
        assert_eq!(
            temporal_literal("2013-01-01").map(|l| l.to_string()),
            Some(r#""2013-01-01"^^<http://www.w3.org/2001/XMLSchema#date>"#.into())
        );
        assert_eq!(
            temporal_literal("2014-12-31T23:00:00Z").map(|l| l.to_string()),
            Some(r#""2014-12-31T23:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime>"#.into())
        );
        assert!(temporal_literal("31.12.2014").is_none());
        assert_eq!(
            iana_media_type("text/csv; charset=utf-8").map(|n| n.into_string()),
            Some("https://www.iana.org/assignments/media-types/text/csv".into())
        );
        assert!(iana_media_type("application/flatgeobuf").is_none());
        // A steward's broken URL is left out, not passed on.
        assert!(iri("http://exa mple.org").is_none());
    }

    #[test]
    fn every_syntax_serializes() {
        let m = manifest("x", 2);
        let g = dataset_graph(&m, &CatalogInfo::default(), BASE);
        for syntax in RdfSyntax::ALL {
            let bytes = g.serialize(syntax).expect("serialize");
            assert!(!bytes.is_empty(), "{syntax:?}");
        }
        let turtle =
            String::from_utf8(g.serialize(RdfSyntax::Turtle).expect("ttl")).expect("utf-8");
        assert!(
            turtle.contains("@prefix dcat: <http://www.w3.org/ns/dcat#>"),
            "{turtle}"
        );
    }
}
