//! Detection of what a text source does not declare: its encoding and its CSV delimiter.

use std::io::Read;
use std::path::Path;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

use crate::error::{IngestError, Result};

/// The detected (or declared) encoding of a file and how it was decided.
#[derive(Debug, Clone)]
pub struct DetectedEncoding {
    pub encoding: &'static Encoding,
    pub reason: String,
}

/// Resolves a declared encoding label (`windows-1252`, `latin1`, `utf-8`, …).
pub fn encoding_for_label(label: &str, path: &Path) -> Result<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        IngestError::config(
            path,
            format!("unknown encoding '{label}' (e.g. utf-8, windows-1252, iso-8859-1, utf-16)"),
        )
    })
}

/// Detects a file's encoding by streaming through it once: a BOM decides; otherwise a file
/// that is valid UTF-8 throughout is UTF-8, and a text file that is not is Windows-1252 (the
/// superset of Latin-1 that German office software writes). Binary content is an error.
/// `input` is the file's content; `path` names it in messages.
pub fn detect_encoding(mut input: impl Read, path: &Path) -> Result<DetectedEncoding> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut first = true;
    let mut line: u64 = 1;
    let mut offset: u64 = 0;
    // Line and value of the first byte that is not UTF-8.
    let mut first_invalid: Option<(u64, u8)> = None;
    loop {
        let n = input.read(&mut buf).map_err(|e| IngestError::io(path, e))?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if first {
            first = false;
            if let Some((encoding, _)) = Encoding::for_bom(chunk) {
                let name = encoding.name();
                return Ok(DetectedEncoding {
                    encoding,
                    reason: format!("byte order mark says {name}"),
                });
            }
        }
        if let Some(pos) = chunk.iter().position(|&b| b == 0) {
            let line_at = line + count_lines(&chunk[..pos]);
            return Err(IngestError::Encoding {
                path: path.to_owned(),
                message: format!(
                    "unknown encoding: NUL byte at line {line_at} (byte {}); this is binary or UTF-16 without a byte order mark. Convert it to UTF-8, or declare [source] encoding = \"utf-16le\"",
                    offset + pos as u64
                ),
            });
        }
        if first_invalid.is_none() {
            // `carry` is an incomplete UTF-8 sequence from the end of the previous chunk
            // (no newline in it), followed by this chunk.
            let carried = carry.len();
            carry.extend_from_slice(chunk);
            match std::str::from_utf8(&carry) {
                Ok(_) => carry.clear(),
                Err(e) => match e.error_len() {
                    Some(_) => {
                        let at = e.valid_up_to();
                        let line_at = line + count_lines(&chunk[..at.saturating_sub(carried)]);
                        first_invalid = Some((line_at, carry[at]));
                        carry.clear();
                    }
                    None => {
                        let keep = carry.split_off(e.valid_up_to());
                        carry = keep;
                    }
                },
            }
        }
        line += count_lines(chunk);
        offset += n as u64;
    }
    match first_invalid {
        None if carry.is_empty() => Ok(DetectedEncoding {
            encoding: UTF_8,
            reason: "valid UTF-8 throughout".into(),
        }),
        None => Ok(DetectedEncoding {
            encoding: WINDOWS_1252,
            reason: "ends inside a UTF-8 sequence; read as Windows-1252".into(),
        }),
        Some((line, byte)) => Ok(DetectedEncoding {
            encoding: WINDOWS_1252,
            reason: format!("not UTF-8 (byte 0x{byte:02X} at line {line}); read as Windows-1252"),
        }),
    }
}

/// Describes an encoding the way users write it.
pub fn encoding_label(encoding: &'static Encoding) -> &'static str {
    if encoding == UTF_16LE {
        "utf-16le"
    } else if encoding == UTF_16BE {
        "utf-16be"
    } else if encoding == UTF_8 {
        "utf-8"
    } else if encoding == WINDOWS_1252 {
        "windows-1252"
    } else {
        encoding.name()
    }
}

fn count_lines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Picks the delimiter whose count per line is most consistent over the first lines.
/// Quoted text is skipped, so commas inside `"…"` do not count.
pub fn sniff_delimiter(sample: &str) -> u8 {
    const CANDIDATES: [u8; 4] = [b';', b',', b'\t', b'|'];
    let lines = split_records(sample, 50);
    let mut best = (b',', 0.0_f64);
    for &d in &CANDIDATES {
        let counts: Vec<usize> = lines
            .iter()
            .map(|l| l.bytes().filter(|&b| b == d).count())
            .collect();
        let Some(&mode) = most_common(&counts) else {
            continue;
        };
        if mode == 0 {
            continue;
        }
        let consistent = counts.iter().filter(|&&c| c == mode).count() as f64 / counts.len() as f64;
        // Consistency first; more fields breaks near-ties.
        let score = consistent + (mode as f64).min(100.0) / 10_000.0;
        if score > best.1 {
            best = (d, score);
        }
    }
    best.0
}

/// Lines of the sample with quoted sections removed (a quoted newline does not end a line).
fn split_records(sample: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in sample.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted => {
                if !cur.trim().is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                cur.clear();
                if out.len() >= max {
                    break;
                }
            }
            _ if !quoted => cur.push(c),
            _ => {}
        }
    }
    if !cur.trim().is_empty() && out.len() < max {
        out.push(cur);
    }
    // The last line of a sample may be cut short.
    if out.len() > 2 {
        out.pop();
    }
    out
}

fn most_common(values: &[usize]) -> Option<&usize> {
    let mut counts = std::collections::HashMap::new();
    for v in values {
        *counts.entry(v).or_insert(0) += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(v, c)| (*c, **v))
        .map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_semicolon_despite_decimal_commas() {
        let s = "a;b;c\n1,5;2,25;x\n3,0;4;\"y;z\"\n5;6;7\n";
        assert_eq!(sniff_delimiter(s), b';');
    }

    #[test]
    fn sniffs_comma_with_quoted_commas() {
        let s = "name,desc,n\n\"Köln, Stadt\",\"a, b\",1\nBonn,c,2\nAachen,d,3\n";
        assert_eq!(sniff_delimiter(s), b',');
    }

    #[test]
    fn detects_encodings_of_written_bytes() {
        let p = Path::new("f.csv");
        let detect = |bytes: &[u8]| detect_encoding(bytes, p);
        assert_eq!(
            detect("a;b\nStraße;Köln\n".as_bytes())
                .expect("utf8")
                .encoding,
            UTF_8
        );
        let cp1252 = detect(b"a;b\nStra\xdfe;K\xf6ln \x80\n").expect("cp1252");
        assert_eq!(cp1252.encoding, WINDOWS_1252);
        let d = detect(b"\xef\xbb\xbfa;b\n").expect("bom");
        assert!(d.reason.contains("byte order mark") && d.encoding == UTF_8);
        let err = detect(b"a\x00;\x00b\x00\n\x00").expect_err("binary");
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn the_first_byte_not_utf8_is_found_on_its_line_across_chunks() {
        let path = Path::new("t.csv");
        // "ö" straddles the 64 KiB read boundary; 0xFF on line 4 is the first bad byte.
        let mut bytes = vec![b'a'; 64 * 1024 - 1];
        bytes[100] = b'\n';
        bytes.extend("ö\nx\n\u{7f}".as_bytes());
        bytes.extend(b"\xff\n");
        let d = detect_encoding(&bytes[..], path).expect("detect");
        assert_eq!(d.encoding, WINDOWS_1252);
        assert!(d.reason.contains("0xFF at line 4"), "{}", d.reason);
        // A lead byte at the boundary followed by no continuation byte.
        let mut bytes = vec![b'a'; 64 * 1024 - 1];
        bytes[10] = b'\n';
        bytes.extend(b"\xc3x\n");
        let d = detect_encoding(&bytes[..], path).expect("detect");
        assert!(d.reason.contains("0xC3 at line 2"), "{}", d.reason);
    }
}
