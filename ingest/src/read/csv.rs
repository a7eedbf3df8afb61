//! Delimited text (CSV, TSV, semicolon files): encoding and delimiter detected, RFC 4180
//! quoting, `\n`, `\r\n` and bare `\r` line ends, ragged rows rejected with their line.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use encoding_rs_io::DecodeReaderBytesBuilder;

use super::{Columns, Event, FileFacts, Location, Record, Rejection, SourceReader, nfc};
use crate::detect::{
    DetectedEncoding, detect_encoding, encoding_for_label, encoding_label, sniff_delimiter,
};
use crate::error::{IngestError, Result};

/// Options a `dataset.toml` may set.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    /// Lines starting with this byte are skipped.
    pub comment: Option<u8>,
    /// Records skipped before the header.
    pub skip_rows: usize,
}

/// Reads one delimited text file.
#[derive(Debug)]
pub struct CsvReader {
    /// The file, or the name that stands for `bytes` in messages.
    path: PathBuf,
    /// The content when it is held in memory rather than read from `path`.
    bytes: Option<Arc<[u8]>>,
    display: String,
    encoding: DetectedEncoding,
    delimiter: u8,
    comment: Option<u8>,
    skip_rows: usize,
}

impl CsvReader {
    /// Opens the file and detects what is not declared.
    pub fn open(path: &Path, options: &CsvOptions) -> Result<CsvReader> {
        Self::new(path.to_owned(), None, options)
    }

    /// A reader of `bytes` as if they were the file `name`.
    pub fn from_bytes(name: &Path, bytes: &[u8], options: &CsvOptions) -> Result<CsvReader> {
        Self::new(name.to_owned(), Some(bytes.into()), options)
    }

    fn new(path: PathBuf, bytes: Option<Arc<[u8]>>, options: &CsvOptions) -> Result<CsvReader> {
        let path = path.as_path();
        let encoding = match &options.encoding {
            Some(label) => DetectedEncoding {
                encoding: encoding_for_label(label, path)?,
                reason: "declared in dataset.toml".into(),
            },
            None => detect_encoding(raw(path, bytes.as_ref())?, path)?,
        };
        let delimiter = match options.delimiter.as_deref() {
            Some("\\t" | "tab") => b'\t',
            Some(d) if d.len() == 1 => d.as_bytes()[0],
            Some(d) => {
                return Err(IngestError::config(
                    path,
                    format!("delimiter must be one character, not {d:?}"),
                ));
            }
            None => {
                let mut sample = String::new();
                decoder(path, bytes.as_ref(), &encoding)?
                    .take(64 * 1024)
                    .read_to_string(&mut sample)
                    .map_err(|e| IngestError::io(path, e))?;
                sniff_delimiter(&sample)
            }
        };
        Ok(CsvReader {
            path: path.to_owned(),
            bytes,
            display: path.display().to_string(),
            encoding,
            delimiter,
            comment: options.comment,
            skip_rows: options.skip_rows,
        })
    }
}

/// The undecoded content: `bytes` when in memory, else the file, opened anew for each pass.
fn raw(path: &Path, bytes: Option<&Arc<[u8]>>) -> Result<Box<dyn Read>> {
    Ok(match bytes {
        Some(b) => Box::new(std::io::Cursor::new(Arc::clone(b))),
        None => {
            let file = File::open(path).map_err(|e| IngestError::io(path, e))?;
            Box::new(BufReader::with_capacity(256 * 1024, file))
        }
    })
}

fn decoder(
    path: &Path,
    bytes: Option<&Arc<[u8]>>,
    encoding: &DetectedEncoding,
) -> Result<impl Read + use<>> {
    Ok(DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding.encoding))
        .bom_override(true)
        .build(raw(path, bytes)?))
}

impl SourceReader for CsvReader {
    fn read(
        &mut self,
        columns: &mut Columns,
        emit: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<FileFacts> {
        let lines = LineBreaks::default();
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .flexible(true)
            .comment(self.comment)
            .from_reader(LineCounter::new(
                decoder(&self.path, self.bytes.as_ref(), &self.encoding)?,
                lines.clone(),
            ));
        let mut record = csv::StringRecord::new();
        let parse_err = |e: csv::Error, path: &Path| match e.kind() {
            csv::ErrorKind::Utf8 { pos, err } => IngestError::Parse {
                path: path.to_owned(),
                line: pos.as_ref().map_or(0, |p| p.line()),
                column: Some(err.field() as u64 + 1),
                message: "text is not valid in the detected encoding".into(),
            },
            csv::ErrorKind::Io(_) => IngestError::Encoding {
                path: path.to_owned(),
                message: e.to_string(),
            },
            _ => IngestError::Parse {
                path: path.to_owned(),
                line: e.position().map_or(0, |p| p.line()),
                column: None,
                message: e.to_string(),
            },
        };
        for _ in 0..self.skip_rows {
            if !reader
                .read_record(&mut record)
                .map_err(|e| parse_err(e, &self.path))?
            {
                break;
            }
        }
        // The header: the first record left. Blank or repeated names get unique ones.
        if !reader
            .read_record(&mut record)
            .map_err(|e| parse_err(e, &self.path))?
        {
            return Err(IngestError::Parse {
                path: self.path.clone(),
                line: 1,
                column: None,
                message: "the file is empty: no header line".into(),
            });
        }
        let mut seen = std::collections::HashSet::new();
        let header: Vec<usize> = record
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let name = super::header_name(name, i + 1, &mut seen);
                columns.index_or_insert(&name)
            })
            .collect();
        let width = header.len();
        let slots = columns.len();

        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(parse_err(e, &self.path)),
            }
            let line = lines.line_at(record.position().map_or(0, |p| p.byte()));
            let location = Location::Line(line);
            let n = record.len();
            // A line of nothing, e.g. a trailing blank line in a one-column file.
            if n == 1 && record[0].is_empty() && width > 1 {
                continue;
            }
            let extras_empty = record.iter().skip(width).all(|f| f.trim().is_empty());
            if n < width || !extras_empty {
                emit(Event::Rejected(Rejection {
                    file: self.display.clone(),
                    location,
                    column: None,
                    reason: format!("expected {width} fields, found {n}"),
                }))?;
                continue;
            }
            let mut values = vec![None; slots];
            for (field, &slot) in record.iter().zip(&header) {
                values[slot] = Some(nfc(field.to_owned()));
            }
            emit(Event::Record(Record {
                location,
                values,
                geometry: None,
            }))?;
        }
        Ok(FileFacts {
            encoding: Some(encoding_label(self.encoding.encoding).to_owned()),
            encoding_reason: Some(self.encoding.reason.clone()),
            delimiter: Some(self.delimiter as char),
            crs: None,
            warnings: Vec::new(),
        })
    }
}

/// Line-break offsets seen in the stream but not yet passed by the parser. The csv crate's own
/// line numbers drift on CRLF files, so lines are counted here: `\n`, `\r\n` and bare `\r`
/// each end one line, also inside quoted fields (as editors count them).
#[derive(Debug, Default, Clone)]
struct LineBreaks(Rc<RefCell<(VecDeque<u64>, u64)>>);

impl LineBreaks {
    /// The 1-based line of a byte offset; offsets must come in increasing order.
    fn line_at(&self, offset: u64) -> u64 {
        let mut state = self.0.borrow_mut();
        let (pending, passed) = &mut *state;
        while pending.front().is_some_and(|&b| b < offset) {
            pending.pop_front();
            *passed += 1;
        }
        *passed + 1
    }
}

struct LineCounter<R> {
    inner: R,
    offset: u64,
    after_cr: bool,
    breaks: LineBreaks,
}

impl<R> LineCounter<R> {
    fn new(inner: R, breaks: LineBreaks) -> Self {
        LineCounter {
            inner,
            offset: 0,
            after_cr: false,
            breaks,
        }
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self.breaks.0.borrow_mut();
        for (i, &b) in buf[..n].iter().enumerate() {
            let at = self.offset + i as u64;
            match b {
                b'\r' => state.0.push_back(at),
                b'\n' if !self.after_cr => state.0.push_back(at),
                _ => {}
            }
            self.after_cr = b == b'\r';
        }
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected_lines(content: &[u8]) -> Vec<u64> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.csv");
        std::fs::write(&path, content).expect("write");
        let mut reader = CsvReader::open(&path, &CsvOptions::default()).expect("open");
        let mut lines = Vec::new();
        reader
            .read(&mut Columns::default(), &mut |e| {
                if let Event::Rejected(r) = e
                    && let Location::Line(l) = r.location
                {
                    lines.push(l);
                }
                Ok(())
            })
            .expect("read");
        lines
    }

    #[test]
    fn lines_are_counted_for_every_line_ending() {
        assert_eq!(rejected_lines(b"a;b\n1;2\n3;4\n5\n6;7\n"), vec![4]);
        assert_eq!(
            rejected_lines(b"a;b\r\n1;2\r\n3;4\r\n5\r\n6;7\r\n"),
            vec![4]
        );
        assert_eq!(rejected_lines(b"a;b\r1;2\r3;4\r5\r6;7\r"), vec![4]);
        assert_eq!(rejected_lines(b"a;b\r\n\"x\r\ny\";2\r\n3\r\n"), vec![4]);
    }
}
