//! Entry points for the fuzz targets in `fuzz/` and for the test that replays them on stable
//! Rust (`tests/it/fuzz.rs`). Each takes arbitrary bytes as the content of a source file and
//! reads all of it the way an ingest does. An `Err` is a correct answer to a corrupt file; a
//! panic, a hang or an unbounded allocation is the bug they look for.

use std::io::Cursor;
use std::path::Path;

use crate::error::Result;
use crate::geometry::normalise;
use crate::read::csv::{CsvOptions, CsvReader};
use crate::read::dbf::DbfReader;
use crate::read::shapefile::ShapefileReader;
use crate::read::{Columns, Event, SourceReader};

/// How many rows a reader gave, and how many it rejected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub records: u64,
    pub rejected: u64,
}

/// Reads `bytes` as a CSV file that declares nothing: encoding and delimiter are detected,
/// then every record is read.
pub fn csv(bytes: &[u8]) -> Result<Counts> {
    let mut reader = CsvReader::from_bytes(Path::new("fuzz.csv"), bytes, &CsvOptions::default())?;
    read_all(&mut reader)
}

/// Reads `bytes` as a `.dbf` without a `.cpg`: header, encoding detection, every record.
pub fn dbf(bytes: &[u8]) -> Result<Counts> {
    let reader = Box::new(Cursor::new(bytes.to_vec()));
    let mut dbf = DbfReader::from_reader(
        Path::new("fuzz.dbf"),
        reader,
        bytes.len() as u64,
        None,
        None,
    )?;
    let mut counts = Counts::default();
    while let Some(record) = dbf.next_record() {
        record?;
        counts.records += 1;
    }
    Ok(counts)
}

/// Reads a shapefile from its parts; a `None` part is a missing file. Each geometry is then
/// normalised as the conversion does (ring orientation, validity check; no reprojection).
pub fn shapefile(shp: &[u8], shx: Option<&[u8]>, dbf: Option<&[u8]>) -> Result<Counts> {
    read_all(&mut ShapefileReader::from_bytes(
        Path::new("fuzz.shp"),
        shp,
        shx,
        dbf,
    ))
}

/// [`shapefile`] of one input cut into parts by [`split_shapefile`].
pub fn shapefile_parts(bytes: &[u8]) -> Result<Counts> {
    let (shp, shx, dbf) = split_shapefile(bytes);
    shapefile(shp, shx, dbf)
}

/// Cuts one input into a shapefile's parts: two little-endian `u32` give the lengths of the
/// `.shp` and the `.shx`, the rest is the `.dbf`. Lengths are clipped to what is there; an
/// empty `.shx` or `.dbf` is a missing file.
pub fn split_shapefile(bytes: &[u8]) -> (&[u8], Option<&[u8]>, Option<&[u8]>) {
    let mut head = [0u8; 8];
    let n = bytes.len().min(8);
    head[..n].copy_from_slice(&bytes[..n]);
    let rest = &bytes[n..];
    let len = |b: [u8; 4]| usize::try_from(u32::from_le_bytes(b)).unwrap_or(usize::MAX);
    let shp_len = len([head[0], head[1], head[2], head[3]]).min(rest.len());
    let (shp, rest) = rest.split_at(shp_len);
    let shx_len = len([head[4], head[5], head[6], head[7]]).min(rest.len());
    let (shx, dbf) = rest.split_at(shx_len);
    (shp, present(shx), present(dbf))
}

fn present(part: &[u8]) -> Option<&[u8]> {
    (!part.is_empty()).then_some(part)
}

/// The input [`split_shapefile`] cuts into these parts (to make seeds from real files).
pub fn join_shapefile(shp: &[u8], shx: Option<&[u8]>, dbf: Option<&[u8]>) -> Vec<u8> {
    let (shx, dbf) = (shx.unwrap_or_default(), dbf.unwrap_or_default());
    let len = |part: &[u8]| u32::try_from(part.len()).unwrap_or(u32::MAX).to_le_bytes();
    [&len(shp)[..], &len(shx), shp, shx, dbf].concat()
}

fn read_all(reader: &mut dyn SourceReader) -> Result<Counts> {
    let mut counts = Counts::default();
    reader.read(&mut Columns::default(), &mut |event| {
        match event {
            Event::Record(record) => match record.geometry.map(|wkb| normalise(&wkb, None)) {
                Some(Err(_)) => counts.rejected += 1,
                _ => counts.records += 1,
            },
            Event::Rejected(_) => counts.rejected += 1,
        }
        Ok(())
    })?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_undoes_join() {
        let joined = join_shapefile(b"shp", Some(b"shx!"), Some(b"dbf"));
        assert_eq!(
            split_shapefile(&joined),
            (&b"shp"[..], Some(&b"shx!"[..]), Some(&b"dbf"[..]))
        );
        assert_eq!(
            split_shapefile(&join_shapefile(b"", None, None)),
            (&b""[..], None, None)
        );
        // Lengths beyond the end are clipped; a short head is no head.
        assert_eq!(
            split_shapefile(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2]),
            (&[1u8, 2][..], None, None)
        );
        assert_eq!(split_shapefile(&[7]), (&b""[..], None, None));
    }
}
