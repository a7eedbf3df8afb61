//! Bytes cut into a `.shp`, `.shx` and `.dbf` (see `fuzzing::split_shapefile`), read with
//! geometries and normalised the way an ingest does.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: {
        // The validity check catches geo's `relate` panics, its TopologyException (see
        // ingest/src/geometry.rs), but libFuzzer's panic hook would abort on them anyway. So
        // those are only printed; should one escape the catch, it is still a crash ("panic in a
        // function that cannot unwind" after the message). Every other panic goes to
        // libFuzzer's hook.
        let libfuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_relate = info
                .location()
                .is_some_and(|l| l.file().contains("/geo-") && l.file().contains("/relate/"));
            if in_relate {
                eprintln!("geo's relate: {info}");
            } else {
                libfuzzer_hook(info);
            }
        }));
    },
    |data: &[u8]| {
        let _ = allmende_ingest::fuzzing::shapefile_parts(data);
    }
);
