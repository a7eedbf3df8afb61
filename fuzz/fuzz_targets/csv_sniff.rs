//! Bytes as a CSV file that declares nothing: encoding and delimiter detected, every record read.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = allmende_ingest::fuzzing::csv(data);
});
