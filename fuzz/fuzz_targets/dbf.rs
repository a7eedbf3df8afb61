//! Bytes as a `.dbf`: header, encoding detection, every record decoded.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = allmende_ingest::fuzzing::dbf(data);
});
