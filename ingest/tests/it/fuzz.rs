//! The fuzz targets' entry points (`allmende_ingest::fuzzing`, driven by `fuzz/`) on stable
//! Rust: the fixtures, then a fixed set of seeded mutations of them (bit flips, interesting
//! values, truncations, insertions, copies), so that `cargo test` replays a little of what the
//! fuzzers do. Every input gives `Ok` or `Err`, never a panic. Inputs that made a fuzzer crash
//! are kept: as readable cases in `inputs_the_fuzzers_found_crashing`, as the fuzzer wrote
//! them in `tests/data/fuzz/<target>/`.

use std::fs;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use allmende_ingest::fuzzing;

use crate::shared;

/// Mutated inputs per target: enough to reach the readers' error paths, quick in debug builds.
const MUTATIONS: usize = 2000;

/// Seeds are cut to this length, so that the mutations stay quick on large files.
const MAX_SEED: usize = 4096;

/// xorshift64*: a deterministic stream without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`; `n` must not be 0.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Values that sit on the edges readers check: counts, lengths, delimiters, line ends.
const BYTES: &[u8] = b"\x00\x01\x7f\x80\xff\xc3\xef\"\n\r;,\t|*0 ";
const WORDS: &[u32] = &[
    0,
    1,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0xffff,
    0x1_0000,
    100,
];

/// `seed` with one to four random changes.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        match rng.below(6) {
            0 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] = BYTES[rng.below(BYTES.len())];
            }
            2 if len >= 4 => {
                let word = WORDS[rng.below(WORDS.len())];
                let bytes = if rng.below(2) == 0 {
                    word.to_le_bytes()
                } else {
                    word.to_be_bytes()
                };
                let i = rng.below(len - 3);
                b[i..i + 4].copy_from_slice(&bytes);
            }
            3 => b.truncate(rng.below(len + 1)),
            4 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let new: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                b.splice(at..at, new);
            }
            5 if len > 0 => {
                let from = rng.below(len);
                let n = 1 + rng.below((len - from).min(64));
                let copy = b[from..from + n].to_vec();
                let at = rng.below(len + 1);
                b.splice(at..at, copy);
            }
            _ => {}
        }
    }
    b
}

fn walk(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("fixture folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, keep, out);
        } else if keep(&path) {
            out.push(path);
        }
    }
}

/// Fixture files with extension `ext` in the folders under `shared()` starting with `prefix`.
fn fixtures(prefixes: &[&str], ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for prefix in prefixes {
        let (parent, start) = prefix.rsplit_once('/').expect("a folder prefix");
        for entry in fs::read_dir(shared(parent)).expect("fixture folder") {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("name").to_string_lossy();
            if name.starts_with(start) {
                let keep = |p: &Path| p.extension().is_some_and(|e| e == ext);
                if path.is_dir() {
                    walk(&path, &keep, &mut out);
                } else if keep(&path) {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no .{ext} fixtures under {prefixes:?}");
    out
}

fn seed(path: &Path) -> Vec<u8> {
    let mut bytes = fs::read(path).expect("fixture");
    bytes.truncate(MAX_SEED);
    bytes
}

/// Calls `target` on each seed as is (it must be read) and on [`MUTATIONS`] mutations.
fn replay<T: std::fmt::Debug>(
    name: &str,
    seeds: &[(String, Vec<u8>)],
    target: impl Fn(&[u8]) -> allmende_ingest::Result<T>,
) {
    for (file, bytes) in seeds {
        if let Err(e) = target(bytes) {
            panic!("{name}: the fixture {file} was refused: {e}");
        }
    }
    let mut rng = Rng(0x0A11_3E4D_E000_0001 ^ name.len() as u64);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..MUTATIONS {
        let (file, bytes) = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, bytes);
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| target(&input)));
        match outcome {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(_)) => err += 1,
            Err(_) => panic!("{name}: panicked on a mutation of {file}: {input:?}"),
        }
    }
    eprintln!("{name}: {ok} read, {err} refused of {MUTATIONS} mutations");
}

#[test]
fn csv_sniffing_and_reading_survive_mutated_fixtures() {
    let mut files = fixtures(&["fixtures/csv_"], "csv");
    files.extend(fixtures(&["budgets/"], "csv"));
    let seeds: Vec<_> = files
        .iter()
        .map(|f| (f.display().to_string(), seed(f)))
        .collect();
    replay("csv", &seeds, fuzzing::csv);
}

#[test]
fn dbf_reading_survives_mutated_fixtures() {
    let files = fixtures(&["fixtures/shapefile_"], "dbf");
    let seeds: Vec<_> = files
        .iter()
        .map(|f| (f.display().to_string(), seed(f)))
        .collect();
    replay("dbf", &seeds, fuzzing::dbf);
}

#[test]
fn shapefile_reading_survives_mutated_fixtures() {
    let part = |shp: &Path, ext: &str| fs::read(shp.with_extension(ext)).ok();
    let seeds: Vec<_> = fixtures(&["fixtures/shapefile_"], "shp")
        .iter()
        .map(|shp| {
            let bytes = fuzzing::join_shapefile(
                &seed(shp),
                part(shp, "shx").as_deref(),
                part(shp, "dbf").as_deref(),
            );
            (shp.display().to_string(), bytes)
        })
        .collect();
    replay("shapefile", &seeds, fuzzing::shapefile_parts);
}

/// A `.shp` of these record contents (shape type first), with a valid header.
fn shp(records: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, content) in records.iter().enumerate() {
        body.extend((i as i32 + 1).to_be_bytes());
        body.extend((content.len() as i32 / 2).to_be_bytes());
        body.extend(content);
    }
    let mut header = vec![0u8; 100];
    header[..4].copy_from_slice(&9994i32.to_be_bytes());
    header[24..28].copy_from_slice(&((100 + body.len()) as i32 / 2).to_be_bytes());
    header[28..32].copy_from_slice(&1000i32.to_le_bytes());
    [header, body].concat()
}

/// A polygon record of these rings.
fn polygon(rings: &[&[(f64, f64)]]) -> Vec<u8> {
    let points: usize = rings.iter().map(|r| r.len()).sum();
    let mut c = 5i32.to_le_bytes().to_vec();
    c.extend([0u8; 32]);
    c.extend((rings.len() as i32).to_le_bytes());
    c.extend((points as i32).to_le_bytes());
    let mut start = 0;
    for ring in rings {
        c.extend((start as i32).to_le_bytes());
        start += ring.len();
    }
    for (x, y) in rings.iter().copied().flatten() {
        c.extend(x.to_le_bytes());
        c.extend(y.to_le_bytes());
    }
    c
}

#[test]
fn inputs_the_fuzzers_found_crashing() {
    // A NaN coordinate in a polygon ring: ordering the ring's points for the winding test
    // panicked inside geo. Now the record is rejected with its number.
    let nan_ring = shp(&[polygon(&[&[
        (0.0, 0.0),
        (0.0, 1.0),
        (f64::NAN, 1.0),
        (0.0, 0.0),
    ]])]);
    let counts = fuzzing::shapefile(&nan_ring, None, None).expect("read");
    assert_eq!((counts.records, counts.rejected), (0, 1));

    // Two rings read as a multipolygon whose second polygon is a self-intersecting speck of
    // subnormal numbers: geo's validity check related it to the first polygon before finding
    // it invalid, and `relate` panicked ("topology position conflict"). Now it is reported
    // invalid (and kept, as invalid geometries are).
    let speck = shp(&[polygon(&[
        &[
            (0.0, 0.0),
            (0.0, 4.0),
            (4.0, 98304.0),
            (4.0, 0.0),
            (3.310313433906e-312, 0.0),
        ],
        &[
            (5.38528961e-315, 5.31017013e-315),
            (0.0, 7.7e-322),
            (3.2593855349227e-311, 1.5297382799347465e-308),
            (5.299808824e-315, 0.0),
            (2.382007571027066e-153, 2.9906383709071914e-67),
        ],
    ])]);
    let counts = fuzzing::shapefile(&speck, None, None).expect("read");
    assert_eq!((counts.records, counts.rejected), (1, 0));
}

type Entry = fn(&[u8]) -> allmende_ingest::Result<fuzzing::Counts>;

/// The entry point of each fuzz target, by the target's name.
const TARGETS: &[(&str, Entry)] = &[
    ("csv_sniff", fuzzing::csv),
    ("dbf", fuzzing::dbf),
    ("shapefile", fuzzing::shapefile_parts),
];

#[test]
fn saved_fuzzer_crashes_are_read_or_refused() {
    let saved = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut replayed = 0;
    for (target, entry) in TARGETS {
        let Ok(files) = fs::read_dir(saved.join(target)) else {
            continue;
        };
        for file in files {
            let path = file.expect("entry").path();
            let bytes = fs::read(&path).expect("saved input");
            if std::panic::catch_unwind(|| entry(&bytes)).is_err() {
                panic!("{target} panicked on {}", path.display());
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no saved inputs under {}", saved.display());
}
