//! dBASE (`.dbf`) attribute tables of shapefiles. Values come out as text for whole-column
//! inference. The text encoding is, in this order: the `.cpg` file, the language-driver byte of
//! the header, or detected (UTF-8 when all character fields are valid UTF-8, else
//! Windows-1252). Every read is bounds-checked: a corrupt file gives an error, never a panic.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

use crate::error::{IngestError, Result};

/// One field (column) of the table.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    kind: u8,
    offset: usize,
    length: usize,
}

/// Something to read a `.dbf` or `.shp` from: a buffered file, or bytes in memory.
pub trait ReadSeek: Read + Seek {}

impl<T: Read + Seek> ReadSeek for T {}

/// An open `.dbf` file, positioned at its first record.
pub struct DbfReader {
    /// The file, or the name that stands for the bytes in messages.
    path: PathBuf,
    reader: Box<dyn ReadSeek>,
    pub fields: Vec<Field>,
    pub record_count: u32,
    header_length: u64,
    pub encoding: &'static Encoding,
    pub encoding_reason: String,
    next: u32,
    buf: Vec<u8>,
}

impl DbfReader {
    /// Reads the `file_len` bytes of `reader` from its start: the `.dbf` file `path`, which
    /// names it in messages. `cpg` is the content of the sibling `.cpg` file, when there is one.
    pub fn from_reader(
        path: &Path,
        mut reader: Box<dyn ReadSeek>,
        file_len: u64,
        cpg: Option<&str>,
        declared: Option<&'static Encoding>,
    ) -> Result<Self> {
        let corrupt = |message: String| IngestError::Parse {
            path: path.to_owned(),
            line: 1,
            column: None,
            message,
        };
        let mut header = [0u8; 32];
        reader
            .read_exact(&mut header)
            .map_err(|_| corrupt("not a dBASE file: shorter than its 32-byte header".into()))?;
        let record_count = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let header_length = u64::from(u16::from_le_bytes([header[8], header[9]]));
        let record_length = usize::from(u16::from_le_bytes([header[10], header[11]]));
        let ldid = header[29];
        if header_length < 33 || header_length > file_len {
            return Err(corrupt(format!(
                "corrupt dBASE header: header length {header_length} for a file of {file_len} bytes"
            )));
        }
        let mut descriptors = vec![0u8; (header_length - 32) as usize];
        reader
            .read_exact(&mut descriptors)
            .map_err(|e| IngestError::io(path, e))?;
        let mut fields = Vec::new();
        let mut offset = 1; // the deletion flag
        for (i, d) in descriptors.chunks_exact(32).enumerate() {
            if d[0] == 0x0D {
                break;
            }
            let name_end = d[..11].iter().position(|&b| b == 0).unwrap_or(11);
            let name = WINDOWS_1252.decode(&d[..name_end]).0.trim().to_owned();
            let length = usize::from(d[16]);
            if name.is_empty() {
                return Err(corrupt(format!("field {} has no name", i + 1)));
            }
            fields.push(Field {
                name,
                kind: d[11],
                offset,
                length,
            });
            offset += length;
        }
        if offset > record_length {
            return Err(corrupt(format!(
                "corrupt dBASE header: fields need {offset} bytes per record, the header says {record_length}"
            )));
        }
        let needed = header_length + u64::from(record_count) * record_length as u64;
        if needed > file_len {
            return Err(corrupt(format!(
                "truncated dBASE file: {record_count} records of {record_length} bytes need {needed} bytes, the file has {file_len}"
            )));
        }
        let (encoding, encoding_reason) =
            match (declared, cpg.and_then(cpg_encoding), ldid_encoding(ldid)) {
                (Some(e), _, _) => (e, "declared in dataset.toml".to_owned()),
                (None, Some(e), _) => (
                    e,
                    format!("the .cpg file says {}", cpg.unwrap_or("").trim()),
                ),
                (None, None, Some(e)) => {
                    (e, format!("the dBASE language driver byte 0x{ldid:02X}"))
                }
                (None, None, None) => {
                    let mut probe = DbfReader {
                        path: path.to_owned(),
                        reader,
                        fields: fields.clone(),
                        record_count,
                        header_length,
                        encoding: UTF_8,
                        encoding_reason: String::new(),
                        next: 0,
                        buf: vec![0; record_length],
                    };
                    let detected = probe.detect()?;
                    reader = probe.reader;
                    detected
                }
            };
        reader
            .seek(SeekFrom::Start(header_length))
            .map_err(|e| IngestError::io(path, e))?;
        Ok(DbfReader {
            path: path.to_owned(),
            reader,
            fields,
            record_count,
            header_length,
            encoding,
            encoding_reason,
            next: 0,
            buf: vec![0; record_length],
        })
    }

    /// UTF-8 when every character field of every record is valid UTF-8, else Windows-1252.
    fn detect(&mut self) -> Result<(&'static Encoding, String)> {
        self.reader
            .seek(SeekFrom::Start(self.header_length))
            .map_err(|e| IngestError::io(&self.path, e))?;
        let mut ascii = true;
        for n in 1..=self.record_count {
            self.reader
                .read_exact(&mut self.buf)
                .map_err(|e| IngestError::io(&self.path, e))?;
            for f in self.fields.iter().filter(|f| f.kind == b'C') {
                let bytes = &self.buf[f.offset..f.offset + f.length];
                if bytes.is_ascii() {
                    continue;
                }
                ascii = false;
                if std::str::from_utf8(trim_nul(bytes)).is_err() {
                    return Ok((
                        WINDOWS_1252,
                        format!(
                            "no .cpg; record {n}, field '{}' is not UTF-8: read as Windows-1252",
                            f.name
                        ),
                    ));
                }
            }
        }
        Ok((
            UTF_8,
            if ascii {
                "no .cpg; ASCII only".into()
            } else {
                "no .cpg; valid UTF-8 throughout".into()
            },
        ))
    }

    /// The next record's values (`None` for null) and its 1-based number; `None` after the
    /// last. Records marked deleted are kept: their shape is still in the `.shp`.
    pub fn next_record(&mut self) -> Option<Result<(u32, Vec<Option<String>>)>> {
        if self.next >= self.record_count {
            return None;
        }
        self.next += 1;
        if let Err(e) = self.reader.read_exact(&mut self.buf) {
            return Some(Err(IngestError::io(&self.path, e)));
        }
        let values = self
            .fields
            .iter()
            .map(|f| value(f, &self.buf[f.offset..f.offset + f.length], self.encoding))
            .collect();
        Some(Ok((self.next, values)))
    }
}

fn trim_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// One field value as text: numbers trimmed, dates ISO, logicals `true`/`false`.
fn value(field: &Field, raw: &[u8], encoding: &'static Encoding) -> Option<String> {
    let raw = trim_nul(raw);
    match field.kind {
        b'I' if raw.len() == 4 => {
            Some(i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]).to_string())
        }
        b'L' => match raw.first().map(u8::to_ascii_uppercase) {
            Some(b'T' | b'Y' | b'J') => Some("true".into()),
            Some(b'F' | b'N') => Some("false".into()),
            _ => None,
        },
        b'D' => {
            let t = std::str::from_utf8(raw).ok()?.trim();
            (t.len() == 8 && t != "00000000" && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| format!("{}-{}-{}", &t[..4], &t[4..6], &t[6..]))
        }
        b'N' | b'F' => {
            let t = std::str::from_utf8(raw).ok()?.trim();
            // `*****` is dBASE's overflow marker; GDAL reads it as null too.
            (!t.is_empty() && !t.starts_with('*')).then(|| t.to_owned())
        }
        _ => {
            let text = encoding.decode(raw).0;
            let t = text.trim_end();
            (!t.is_empty()).then(|| super::nfc(t.to_owned()))
        }
    }
}

/// The encoding a `.cpg` file names (`UTF-8`, `1252`, `ANSI 1252`, `ISO-8859-1`, `88591`).
fn cpg_encoding(text: &str) -> Option<&'static Encoding> {
    let t = text.trim();
    let label = t.strip_prefix("ANSI ").unwrap_or(t);
    let label = match label {
        "1252" | "CP1252" => "windows-1252",
        "88591" | "8859_1" => "iso-8859-1",
        "885915" | "8859_15" => "iso-8859-15",
        "65001" => "utf-8",
        other => other,
    };
    Encoding::for_label(label.as_bytes())
}

/// The encoding of a dBASE language driver ID, for the ones German files carry.
fn ldid_encoding(ldid: u8) -> Option<&'static Encoding> {
    match ldid {
        0x03 | 0x57 | 0x58 | 0x59 => Some(WINDOWS_1252),
        0x64 => Encoding::for_label(b"ibm852"),
        0x65 => Encoding::for_label(b"ibm866"),
        0xC8 => Encoding::for_label(b"windows-1250"),
        0xC9 => Encoding::for_label(b"windows-1251"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpg_labels() {
        assert_eq!(cpg_encoding("UTF-8\n"), Some(UTF_8));
        assert_eq!(cpg_encoding("1252"), Some(WINDOWS_1252));
        assert_eq!(cpg_encoding("ANSI 1252"), Some(WINDOWS_1252));
        assert!(cpg_encoding("ISO-8859-1").is_some());
    }
}
