//! Stable station uuids: UUID version 5 (RFC 9562, SHA-1 name-based) of
//! `urn:allmende:{dataset}/{station}` in the URL namespace, so a station keeps its uuid across
//! restarts, new versions of its dataset and other servers with the same data. Python's
//! `uuid.uuid5(uuid.NAMESPACE_URL, "urn:allmende:pegel-live/Ahlen")` gives the same value.

use uuid::Uuid;

/// The uuid of `station` in `dataset`.
pub fn station(dataset: &str, station: &str) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("urn:allmende:{dataset}/{station}").as_bytes(),
    )
    .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn uuids_agree_with_python() {
        // Python: uuid.uuid5(uuid.NAMESPACE_URL, "urn:allmende:pegel-live/Ahlen").
        assert_eq!(
            super::station("pegel-live", "Ahlen"),
            "8419b1df-ccfc-5a68-81a2-9f388590e106"
        );
    }
}
