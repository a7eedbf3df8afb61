//! ESRI Shapefiles: `.shp` geometries, `.dbf` attributes (see [`dbf`](super::dbf)), `.prj`
//! CRS, `.cpg` encoding, `.shx` offsets. Records are located through the `.shx` index when it
//! is present and consistent (as GDAL does, so a record with a wrong content length does not
//! derail the rest), else read one after the other. Every read is bounds-checked: a corrupt
//! record becomes a rejection naming its number, never a panic.
//!
//! Polygon rings follow the shapefile rule: clockwise rings are exteriors, counter-clockwise
//! rings holes of the exterior that contains them. Z and M values are read and dropped
//! (published geometries are 2D); null shapes give rows without geometry.

use std::fs::File;
use std::io::{BufReader, Read, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use geo::{Contains, Winding};
use geo_types::{
    Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon,
};
use geozero::{CoordDimensions, ToWkb};

use super::dbf::{DbfReader, ReadSeek};
use super::{Columns, Event, FileFacts, Location, Record, Rejection, SourceReader};
use crate::error::{IngestError, Result};

const HEADER_LEN: u64 = 100;

/// Reads one shapefile, named by its `.shp`.
pub struct ShapefileReader {
    /// The `.shp` file, or the name that stands for `memory` in messages.
    shp: PathBuf,
    display: String,
    encoding: Option<&'static encoding_rs::Encoding>,
    /// The parts when they are held in memory rather than read from files.
    memory: Option<Parts>,
}

/// A shapefile's parts in memory; a missing one is a missing file.
struct Parts {
    shp: Arc<[u8]>,
    shx: Option<Arc<[u8]>>,
    dbf: Option<Arc<[u8]>>,
}

impl ShapefileReader {
    /// `encoding` is the DBF encoding declared in dataset.toml, if any.
    pub fn open(path: &Path, encoding: Option<&'static encoding_rs::Encoding>) -> Result<Self> {
        Ok(ShapefileReader {
            shp: path.to_owned(),
            display: path.display().to_string(),
            encoding,
            memory: None,
        })
    }

    /// A reader of a shapefile's parts in memory, as if they were the files `name` (a `.shp`
    /// path) and its siblings. Without `.prj` and `.cpg`.
    pub fn from_bytes(name: &Path, shp: &[u8], shx: Option<&[u8]>, dbf: Option<&[u8]>) -> Self {
        ShapefileReader {
            shp: name.to_owned(),
            display: name.display().to_string(),
            encoding: None,
            memory: Some(Parts {
                shp: shp.into(),
                shx: shx.map(Into::into),
                dbf: dbf.map(Into::into),
            }),
        }
    }

    /// The part with extension `ext` (`shp` is the reader's own file, the others its
    /// siblings), opened; `None` when it does not exist.
    fn part(&self, ext: &str) -> Result<Option<Part>> {
        let Some(memory) = &self.memory else {
            let found = if ext == "shp" {
                Some(self.shp.clone())
            } else {
                sibling(&self.shp, ext)
            };
            let Some(path) = found else {
                return Ok(None);
            };
            let file = File::open(&path).map_err(|e| IngestError::io(&path, e))?;
            let len = file
                .metadata()
                .map_err(|e| IngestError::io(&path, e))?
                .len();
            let reader = Box::new(BufReader::new(file));
            return Ok(Some(Part { path, reader, len }));
        };
        let bytes = match ext {
            "shp" => Some(&memory.shp),
            "shx" => memory.shx.as_ref(),
            "dbf" => memory.dbf.as_ref(),
            _ => None,
        };
        Ok(bytes.map(|b| Part {
            path: self.shp.with_extension(ext),
            reader: Box::new(std::io::Cursor::new(Arc::clone(b))),
            len: b.len() as u64,
        }))
    }

    /// The whole content of a small part (`.shx`, `.prj`, `.cpg`), when it exists.
    fn read_part(&self, ext: &str) -> Result<Option<(PathBuf, Vec<u8>)>> {
        let Some(mut part) = self.part(ext)? else {
            return Ok(None);
        };
        let mut bytes = Vec::with_capacity(usize::try_from(part.len).unwrap_or(0));
        part.reader
            .read_to_end(&mut bytes)
            .map_err(|e| IngestError::io(&part.path, e))?;
        Ok(Some((part.path, bytes)))
    }
}

/// One part of a shapefile, open: where it is (for messages), its content, its length.
struct Part {
    path: PathBuf,
    reader: Box<dyn ReadSeek>,
    len: u64,
}

/// The sibling of `shp` with another extension, in either case (`.dbf` or `.DBF`).
fn sibling(shp: &Path, ext: &str) -> Option<PathBuf> {
    [ext.to_owned(), ext.to_ascii_uppercase()]
        .into_iter()
        .map(|e| shp.with_extension(e))
        .find(|p| p.is_file())
}

impl SourceReader for ShapefileReader {
    fn read(
        &mut self,
        columns: &mut Columns,
        emit: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<FileFacts> {
        let mut warnings = Vec::new();
        let Some(Part {
            reader: mut shp,
            len: file_len,
            ..
        }) = self.part("shp")?
        else {
            return Err(IngestError::io(
                &self.shp,
                std::io::ErrorKind::NotFound.into(),
            ));
        };
        let mut header = [0u8; HEADER_LEN as usize];
        shp.read_exact(&mut header)
            .map_err(|_| IngestError::Parse {
                path: self.shp.clone(),
                line: 1,
                column: None,
                message: "not a shapefile: shorter than its 100-byte header".into(),
            })?;
        if header[..4] != [0, 0, 0x27, 0x0A] {
            return Err(IngestError::Parse {
                path: self.shp.clone(),
                line: 1,
                column: None,
                message: "not a shapefile: the file code is not 9994".into(),
            });
        }
        let offsets = self
            .read_part("shx")
            .ok()
            .flatten()
            .and_then(|(_, shx)| read_index(&shx, file_len));
        if offsets.is_none() {
            warnings.push("no usable .shx index: records are read one after the other".to_owned());
        }

        let mut dbf = match self.part("dbf")? {
            Some(Part { path, reader, len }) => {
                let cpg = self
                    .read_part("cpg")
                    .ok()
                    .flatten()
                    .and_then(|(_, bytes)| String::from_utf8(bytes).ok());
                Some(DbfReader::from_reader(
                    &path,
                    reader,
                    len,
                    cpg.as_deref(),
                    self.encoding,
                )?)
            }
            None => {
                warnings.push("no .dbf file: the features have no attributes".to_owned());
                None
            }
        };
        let field_index: Vec<usize> = dbf
            .as_ref()
            .map(|d| {
                d.fields
                    .iter()
                    .map(|f| columns.index_or_insert(&f.name))
                    .collect()
            })
            .unwrap_or_default();
        let crs = match self.read_part("prj")? {
            Some((prj, bytes)) => Some(
                String::from_utf8(bytes)
                    .map_err(|e| {
                        IngestError::io(
                            &prj,
                            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                        )
                    })?
                    .trim()
                    .to_owned(),
            ),
            None => {
                warnings.push("no .prj file: coordinates are taken as WGS 84 unless [source] crs names the CRS".to_owned());
                None
            }
        };

        let mut number = 0u64;
        let mut position = HEADER_LEN;
        let mut buf = Vec::new();
        loop {
            let offset = match &offsets {
                Some(o) => match o.get(number as usize) {
                    Some(&off) => off,
                    None => break,
                },
                None if position + 8 <= file_len => position,
                None => break,
            };
            number += 1;
            let location = Location::Feature(number);
            let reject = |reason: String| {
                Event::Rejected(Rejection {
                    file: self.display.clone(),
                    location,
                    column: None,
                    reason,
                })
            };
            let content_len = match read_record(&mut *shp, offset, file_len, &mut buf) {
                Ok(len) => len,
                Err(reason) => {
                    emit(reject(format!("record at byte {offset}: {reason}")))?;
                    if offsets.is_none() {
                        break; // without an index there is no way to the next record
                    }
                    continue;
                }
            };
            position = offset + 8 + content_len;
            let values = match dbf.as_mut().and_then(DbfReader::next_record) {
                Some(Ok((_, values))) => values,
                Some(Err(e)) => return Err(e),
                None => Vec::new(),
            };
            let mut row = vec![None; columns.len()];
            for (&i, v) in field_index.iter().zip(values) {
                row[i] = v;
            }
            match parse_shape(&buf) {
                Ok(geometry) => {
                    let wkb = match geometry {
                        Some(g) => Some(g.to_wkb(CoordDimensions::xy()).map_err(|e| {
                            IngestError::write(&self.shp, format!("feature {number}: {e}"))
                        })?),
                        None => None,
                    };
                    emit(Event::Record(Record {
                        location,
                        values: row,
                        geometry: wkb,
                    }))?;
                }
                Err(reason) => emit(reject(reason))?,
            }
        }
        // Attribute rows beyond the last shape: kept, without geometry.
        while let Some(next) = dbf.as_mut().and_then(DbfReader::next_record) {
            let (n, values) = next?;
            let mut row = vec![None; columns.len()];
            for (&i, v) in field_index.iter().zip(values) {
                row[i] = v;
            }
            emit(Event::Record(Record {
                location: Location::Feature(u64::from(n)),
                values: row,
                geometry: None,
            }))?;
        }
        if let Some(d) = dbf.as_ref()
            && u64::from(d.record_count) != number
        {
            warnings.push(format!(
                "the .shp has {number} shapes, the .dbf {} rows",
                d.record_count
            ));
        }
        Ok(FileFacts {
            encoding: dbf.as_ref().map(|d| d.encoding.name().to_ascii_lowercase()),
            encoding_reason: dbf.as_ref().map(|d| d.encoding_reason.clone()),
            delimiter: None,
            crs,
            warnings,
        })
    }
}

/// Record offsets from the `.shx`, when they all point inside the `.shp`.
fn read_index(shx: &[u8], shp_len: u64) -> Option<Vec<u64>> {
    let body = shx.get(HEADER_LEN as usize..)?;
    body.chunks_exact(8)
        .map(|c| {
            let words = u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
            let offset = words * 2;
            (offset >= HEADER_LEN && offset + 8 <= shp_len).then_some(offset)
        })
        .collect()
}

/// Reads the record at `offset` into `buf` (its content, clipped to the file) and returns the
/// content length its header declares.
fn read_record(
    shp: &mut dyn ReadSeek,
    offset: u64,
    file_len: u64,
    buf: &mut Vec<u8>,
) -> std::result::Result<u64, String> {
    shp.seek(SeekFrom::Start(offset))
        .map_err(|e| e.to_string())?;
    let mut header = [0u8; 8];
    shp.read_exact(&mut header)
        .map_err(|_| "truncated record header".to_owned())?;
    let words = i32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    let declared =
        u64::try_from(words).map_err(|_| format!("negative content length {words}"))? * 2;
    let available = file_len.saturating_sub(offset + 8);
    let len = declared.min(available);
    buf.clear();
    buf.resize(len as usize, 0);
    shp.read_exact(buf).map_err(|e| e.to_string())?;
    Ok(declared)
}

/// A bounds-checked little-endian cursor over a record's content.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> std::result::Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| {
            format!(
                "record ends at byte {} of {} needed",
                self.bytes.len(),
                self.at + n
            )
        })?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn i32(&mut self) -> std::result::Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn f64(&mut self) -> std::result::Result<f64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }
    /// A count that must fit in the rest of the record at `item` bytes each.
    fn count(&mut self, what: &str, item: usize) -> std::result::Result<usize, String> {
        let n = self.i32()?;
        let n = usize::try_from(n).map_err(|_| format!("negative {what} count {n}"))?;
        if n.saturating_mul(item) > self.bytes.len() - self.at {
            return Err(format!(
                "{n} {what} do not fit in a record of {} bytes",
                self.bytes.len()
            ));
        }
        Ok(n)
    }
    /// A point's x and y. The format allows no NaN or infinity there, and geometry code
    /// (winding, containment) cannot order such points.
    fn coord(&mut self) -> std::result::Result<Coord, String> {
        let (x, y) = (self.f64()?, self.f64()?);
        if x.is_finite() && y.is_finite() {
            Ok(Coord { x, y })
        } else {
            Err(format!("coordinate ({x}, {y}) is not a finite number"))
        }
    }
    fn coords(&mut self, n: usize) -> std::result::Result<Vec<Coord>, String> {
        (0..n).map(|_| self.coord()).collect()
    }
}

/// The geometry of one record's content; `None` for a null shape.
fn parse_shape(bytes: &[u8]) -> std::result::Result<Option<Geometry>, String> {
    let mut c = Cursor { bytes, at: 0 };
    let shape_type = c.i32()?;
    Ok(Some(match shape_type {
        0 => return Ok(None),
        1 | 11 | 21 => Geometry::Point(Point::from(c.coord()?)),
        8 | 18 | 28 => {
            c.take(32)?;
            let n = c.count("points", 16)?;
            Geometry::MultiPoint(MultiPoint(
                c.coords(n)?.into_iter().map(Point::from).collect(),
            ))
        }
        3 | 13 | 23 | 5 | 15 | 25 => {
            c.take(32)?;
            let parts = parts(&mut c)?;
            if matches!(shape_type, 3 | 13 | 23) {
                let lines: Vec<LineString> = parts.into_iter().map(LineString::new).collect();
                match <[LineString; 1]>::try_from(lines) {
                    Ok([one]) => Geometry::LineString(one),
                    Err(many) => Geometry::MultiLineString(MultiLineString(many)),
                }
            } else {
                polygons(parts.into_iter().map(LineString::new).collect(), Vec::new())
            }
        }
        31 => multipatch(&mut c)?,
        other => return Err(format!("unknown shape type {other}")),
    }))
}

/// The parts of a poly-line or polygon record: part starts, then points.
fn parts(c: &mut Cursor) -> std::result::Result<Vec<Vec<Coord>>, String> {
    let n_parts = c.count("parts", 4)?;
    let n_points = c.count("points", 16)?;
    let starts = (0..n_parts)
        .map(|_| c.i32())
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let coords = c.coords(n_points)?;
    split(&starts, coords)
}

fn split(starts: &[i32], coords: Vec<Coord>) -> std::result::Result<Vec<Vec<Coord>>, String> {
    let mut out = Vec::with_capacity(starts.len());
    for (i, &s) in starts.iter().enumerate() {
        let end = starts
            .get(i + 1)
            .map_or(Ok(coords.len()), |&e| usize::try_from(e));
        let (Ok(start), Ok(end)) = (usize::try_from(s), end) else {
            return Err(format!("part {} has a negative start", i + 1));
        };
        let part = coords.get(start..end).ok_or_else(|| {
            format!(
                "part {} spans points {start}..{end} of {}",
                i + 1,
                coords.len()
            )
        })?;
        out.push(part.to_vec());
    }
    Ok(out)
}

/// Groups rings into polygons: clockwise rings are exteriors; each counter-clockwise ring is a
/// hole of the first exterior containing it. `holes` are rings known to be holes (MultiPatch).
fn polygons(rings: Vec<LineString>, holes: Vec<LineString>) -> Geometry {
    let (mut outers, mut inners): (Vec<LineString>, Vec<LineString>) =
        rings.into_iter().partition(|r| r.0.len() < 4 || r.is_cw());
    inners.extend(holes);
    if outers.is_empty() {
        // All rings counter-clockwise: a common writer error; read each as an exterior.
        outers = std::mem::take(&mut inners);
    }
    let mut polygons: Vec<Polygon> = outers
        .into_iter()
        .map(|o| Polygon::new(o, vec![]))
        .collect();
    for inner in inners {
        let first = inner.0.first().copied();
        let owner = first.and_then(|p| {
            polygons
                .iter()
                .position(|poly| poly.contains(&Point::from(p)))
        });
        match owner {
            Some(i) => polygons[i].interiors_push(inner),
            None => polygons.push(Polygon::new(inner, vec![])),
        }
    }
    match <[Polygon; 1]>::try_from(polygons) {
        Ok([one]) => Geometry::Polygon(one),
        Err(many) => Geometry::MultiPolygon(MultiPolygon(many)),
    }
}

/// A MultiPatch as polygons: triangle strips and fans become triangles, rings polygons.
fn multipatch(c: &mut Cursor) -> std::result::Result<Geometry, String> {
    c.take(32)?;
    let n_parts = c.count("parts", 8)?;
    let n_points = c.count("points", 16)?;
    let starts = (0..n_parts)
        .map(|_| c.i32())
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let types = (0..n_parts)
        .map(|_| c.i32())
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let parts = split(&starts, c.coords(n_points)?)?;
    let (mut rings, mut holes) = (Vec::new(), Vec::new());
    let triangle = |a: Coord, b: Coord, d: Coord| LineString::new(vec![a, b, d, a]);
    for (part, kind) in parts.into_iter().zip(types) {
        match kind {
            0 => rings.extend(part.windows(3).map(|w| triangle(w[0], w[1], w[2]))),
            1 if !part.is_empty() => {
                rings.extend(part[1..].windows(2).map(|w| triangle(part[0], w[0], w[1])));
            }
            3 => holes.push(LineString::new(part)),
            _ => rings.push(LineString::new(part)),
        }
    }
    for r in &mut rings {
        r.make_cw_winding();
    }
    Ok(polygons(rings, holes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_counts_are_errors_not_panics() {
        // Polygon with a negative part count.
        let mut bytes = 5i32.to_le_bytes().to_vec();
        bytes.extend([0u8; 32]);
        bytes.extend((-1i32).to_le_bytes());
        bytes.extend(4i32.to_le_bytes());
        assert!(parse_shape(&bytes).is_err());
        // A point cut short.
        let mut point = 1i32.to_le_bytes().to_vec();
        point.extend(1.0f64.to_le_bytes());
        assert!(parse_shape(&point).is_err());
        assert!(parse_shape(&[]).is_err());
    }

    #[test]
    fn coordinates_that_are_not_numbers_are_errors_not_panics() {
        // A polygon ring with a NaN point: ordering it for the winding test used to panic.
        let mut bytes = 5i32.to_le_bytes().to_vec();
        bytes.extend([0u8; 32]);
        bytes.extend(1i32.to_le_bytes());
        bytes.extend(4i32.to_le_bytes());
        bytes.extend(0i32.to_le_bytes());
        for (x, y) in [(0.0, 0.0), (f64::NAN, 1.0), (1.0, 1.0), (0.0, 0.0)] {
            bytes.extend(f64::to_le_bytes(x));
            bytes.extend(f64::to_le_bytes(y));
        }
        let err = parse_shape(&bytes).expect_err("NaN");
        assert!(err.contains("not a finite number"), "{err}");
        let mut point = 1i32.to_le_bytes().to_vec();
        point.extend(f64::INFINITY.to_le_bytes());
        point.extend(1.0f64.to_le_bytes());
        assert!(parse_shape(&point).is_err());
    }

    #[test]
    fn clockwise_rings_are_exteriors_and_ccw_rings_holes() {
        let ring = |pts: &[(f64, f64)]| LineString::from(pts.to_vec());
        let outer = ring(&[(0., 0.), (0., 10.), (10., 10.), (10., 0.), (0., 0.)]);
        let hole = ring(&[(2., 2.), (4., 2.), (4., 4.), (2., 4.), (2., 2.)]);
        let other = ring(&[(20., 0.), (20., 5.), (25., 5.), (25., 0.), (20., 0.)]);
        assert!(outer.is_cw() && hole.is_ccw());
        match polygons(vec![outer.clone(), hole.clone()], vec![]) {
            Geometry::Polygon(p) => assert_eq!(p.interiors().len(), 1),
            g => panic!("expected a polygon, got {g:?}"),
        }
        match polygons(vec![outer, hole, other], vec![]) {
            Geometry::MultiPolygon(m) => {
                assert_eq!(m.0.len(), 2);
                assert_eq!(m.0[0].interiors().len(), 1);
            }
            g => panic!("expected a multipolygon, got {g:?}"),
        }
    }
}
