//! Spreadsheets: Excel `.xlsx` and OpenDocument `.ods`, through calamine. One sheet is read
//! (named or numbered by `sheet` in `dataset.toml`, else the first), and its first non-empty row
//! is the header. Cells become the text `infer` understands: numbers as Excel shows them (15
//! significant digits, whole ones without `.0`), dates in ISO 8601, booleans as `true`/`false`.
//! calamine holds a sheet in memory; a sheet is capped at about a million rows anyway.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use calamine::{Data, Reader, Sheets, open_workbook_auto};

use super::{Columns, Event, FileFacts, Location, Record, Rejection, SourceReader, nfc};
use crate::config::SheetRef;
use crate::error::{IngestError, Result};

/// Reads one sheet of a workbook.
#[derive(Debug)]
pub struct SpreadsheetReader {
    path: PathBuf,
    display: String,
    sheet: String,
}

impl SpreadsheetReader {
    /// Opens the workbook and finds the sheet, listing the sheets there are when it is not there.
    pub fn open(path: &Path, sheet: Option<&SheetRef>) -> Result<SpreadsheetReader> {
        let names = workbook(path)?.sheet_names();
        let found = match sheet {
            None => names.first().cloned(),
            Some(SheetRef::Index(i)) => names.get(*i).cloned(),
            Some(SheetRef::Name(name)) => names.iter().find(|n| *n == name).cloned(),
        };
        let sheet = found.ok_or_else(|| {
            let wanted = match sheet {
                Some(SheetRef::Name(name)) => format!("no sheet named {name:?}"),
                Some(SheetRef::Index(i)) => format!("no sheet number {i} (counted from 0)"),
                None => "the workbook has no sheets".into(),
            };
            let list = names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{i}: {n:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            IngestError::config(path, format!("{wanted}; the sheets are {list}"))
        })?;
        Ok(SpreadsheetReader {
            path: path.to_owned(),
            display: path.display().to_string(),
            sheet,
        })
    }

    fn error(&self, line: u64, message: String) -> IngestError {
        IngestError::Parse {
            path: self.path.clone(),
            line,
            column: None,
            message: format!("sheet {:?}: {message}", self.sheet),
        }
    }
}

fn workbook(path: &Path) -> Result<Sheets<BufReader<File>>> {
    open_workbook_auto(path).map_err(|e| IngestError::Parse {
        path: path.to_owned(),
        line: 1,
        column: None,
        message: format!("not a readable workbook: {e}"),
    })
}

impl SourceReader for SpreadsheetReader {
    fn read(
        &mut self,
        columns: &mut Columns,
        emit: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<FileFacts> {
        let range = workbook(&self.path)?
            .worksheet_range(&self.sheet)
            .map_err(|e| self.error(1, format!("cannot be read: {e}")))?;
        let (first_row, first_col) = range.start().unwrap_or_default();
        let line_of = |i: usize| u64::from(first_row) + i as u64 + 1;
        let mut rows = range
            .rows()
            .enumerate()
            .filter(|(_, cells)| !cells.iter().all(blank));
        let Some((header_at, header_cells)) = rows.next() else {
            return Err(self.error(1, "the sheet is empty: no header row".into()));
        };
        // The header ends at its last named cell; blank or repeated names get unique ones.
        let width = header_cells
            .iter()
            .rposition(|c| !blank(c))
            .map_or(0, |i| i + 1);
        let mut seen = HashSet::new();
        let mut header = Vec::with_capacity(width);
        for (i, cell) in header_cells[..width].iter().enumerate() {
            let number = first_col as usize + i + 1;
            let raw = match text(cell) {
                Ok(Some(name)) => name,
                Ok(None) | Err(_) => String::new(),
            };
            let name = super::header_name(&raw, number, &mut seen);
            header.push(columns.index_or_insert(&name));
        }
        let slots = columns.len();
        let header_line = line_of(header_at);

        for (i, cells) in rows {
            let location = Location::Line(line_of(i));
            let reject = |column: Option<String>, reason: String| {
                Event::Rejected(Rejection {
                    file: self.display.clone(),
                    location,
                    column,
                    reason,
                })
            };
            if let Some(j) = cells.iter().skip(width).position(|c| !blank(c)) {
                let letter = column_letter(first_col as usize + width + j);
                emit(reject(
                    None,
                    format!("a value in column {letter}, right of the header (line {header_line})"),
                ))?;
                continue;
            }
            let mut values = vec![None; slots];
            let mut failed = None;
            for (cell, &slot) in cells.iter().zip(&header) {
                match text(cell) {
                    Ok(v) => values[slot] = v,
                    Err(reason) => {
                        failed = Some((columns.names()[slot].clone(), reason));
                        break;
                    }
                }
            }
            let event = match failed {
                Some((column, reason)) => reject(Some(column), reason),
                None => Event::Record(Record {
                    location,
                    values,
                    geometry: None,
                }),
            };
            emit(event)?;
        }
        Ok(FileFacts::default())
    }
}

fn blank(cell: &Data) -> bool {
    match cell {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// A cell as raw text: `Ok(None)` for an empty cell, `Err` for an error value such as `#DIV/0!`.
fn text(cell: &Data) -> std::result::Result<Option<String>, String> {
    Ok(Some(match cell {
        Data::Empty => return Ok(None),
        Data::String(s) if s.is_empty() => return Ok(None),
        Data::String(s) => nfc(s.clone()),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) if dt.is_duration() => {
            let seconds = (dt.as_f64() * 86_400.0).round() as i64;
            format!(
                "PT{}H{}M{}S",
                seconds / 3600,
                seconds % 3600 / 60,
                seconds % 60
            )
        }
        Data::DateTime(dt) => {
            let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
            let time = match ms {
                0 => format!("{h:02}:{mi:02}:{s:02}"),
                _ => format!("{h:02}:{mi:02}:{s:02}.{ms:03}"),
            };
            if dt.as_f64() < 1.0 {
                time // a time of day without a date
            } else if (h, mi, s, ms) == (0, 0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02}T{time}")
            }
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Err(format!("the cell holds the error {e}")),
    }))
}

/// A number as Excel shows it: at most 15 significant digits (so `0.1 + 0.2` is `0.3`), and
/// whole numbers without a fraction.
fn number(f: f64) -> String {
    let shown: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    if shown == 0.0 {
        "0".into()
    } else {
        shown.to_string()
    }
}

/// `A`, `B`, …, `Z`, `AA`, … for a 0-based column index.
fn column_letter(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.iter().rev().map(|&b| b as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name)
    }

    fn read_all(path: &Path, sheet: Option<&SheetRef>) -> (Columns, Vec<Event>) {
        let mut reader = SpreadsheetReader::open(path, sheet).expect("open");
        let mut columns = Columns::default();
        let mut events = Vec::new();
        reader
            .read(&mut columns, &mut |e| {
                events.push(e);
                Ok(())
            })
            .expect("read");
        (columns, events)
    }

    fn record(event: &Event) -> &Record {
        match event {
            Event::Record(r) => r,
            Event::Rejected(r) => panic!("rejected: {r}"),
        }
    }

    fn texts(record: &Record) -> Vec<Option<&str>> {
        record.values.iter().map(Option::as_deref).collect()
    }

    #[test]
    fn the_budget_sheet_reads_alike_from_xlsx_and_ods() {
        for name in ["koeln_bezirke.xlsx", "koeln_bezirke.ods"] {
            let (columns, events) = read_all(&data(name), None);
            assert_eq!(columns.len(), 10, "{name}");
            assert_eq!(
                &columns.names()[..4],
                ["Bezirk", "Bezeichnung", "Teilplanzeile", "Ergebnis 2011"]
            );
            assert_eq!(events.len(), 252, "{name}");
            // Two empty rows, the header in row 3: the first record is spreadsheet row 4.
            let first = record(&events[0]);
            assert_eq!(first.location, Location::Line(4), "{name}");
            let third = record(&events[2]);
            assert_eq!(
                texts(third),
                [
                    Some("1"),
                    Some("Innenstadt"),
                    Some("03 - sonstige Transfererträge"),
                    Some("-35"),
                    Some("193"),
                    Some("193"),
                    Some("193"),
                    Some("193"),
                    Some("193"),
                    Some("193"),
                ],
                "{name}"
            );
            let last = record(&events[251]);
            assert_eq!(last.location, Location::Line(255), "{name}");
            assert_eq!(texts(last)[1], Some("Mühlheim"), "{name}");
            assert_eq!(texts(last)[9], Some("-84030654"), "{name}");
        }
    }

    #[test]
    fn sheets_by_name_or_position_with_dates_booleans_and_empty_cells() {
        for name in ["koeln_bezirke.xlsx", "koeln_bezirke.ods"] {
            for sheet in [SheetRef::Name("Quelle".into()), SheetRef::Index(1)] {
                let (columns, events) = read_all(&data(name), Some(&sheet));
                assert_eq!(columns.names(), ["Angabe", "Wert", "Hinweis"], "{name}");
                let rows: Vec<_> = events.iter().map(record).collect();
                assert_eq!(rows.len(), 5, "{name}");
                assert_eq!(
                    texts(rows[2]),
                    [Some("Erstellt"), Some("2026-11-23T22:12:00"), None]
                );
                assert_eq!(
                    texts(rows[3]),
                    [Some("Zeilen"), Some("252"), Some("ohne Kopfzeile")]
                );
                assert_eq!(texts(rows[4])[1], Some("true"), "{name}");
                assert_eq!(rows[4].location, Location::Line(6), "{name}");
            }
        }
    }

    #[test]
    fn a_missing_sheet_is_refused_with_the_sheets_there_are() {
        let path = data("koeln_bezirke.ods");
        for sheet in [SheetRef::Name("Daten 2".into()), SheetRef::Index(2)] {
            let err = SpreadsheetReader::open(&path, Some(&sheet)).expect_err("no such sheet");
            let msg = err.to_string();
            assert!(msg.contains("0: \"Daten\", 1: \"Quelle\""), "{msg}");
            assert!(msg.starts_with(&path.display().to_string()), "{msg}");
        }
        let not_a_workbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let err = SpreadsheetReader::open(&not_a_workbook, None).expect_err("not a workbook");
        assert!(err.to_string().contains("not a readable workbook"), "{err}");
    }

    #[test]
    fn numbers_show_as_in_excel() {
        assert_eq!(number(9_577_207.0), "9577207");
        assert_eq!(number(-35.0), "-35");
        assert_eq!(number(1234.5), "1234.5");
        assert_eq!(number(0.1 + 0.2), "0.3");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(1e20), "100000000000000000000");
        let div0 = text(&Data::Error(calamine::CellErrorType::Div0));
        assert!(div0.expect_err("an error cell").contains("#DIV/0!"));
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27 * 26), "AAA");
    }
}
