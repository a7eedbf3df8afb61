//! Stable station uuids: UUID version 5 (RFC 9562, SHA-1 name-based) of
//! `urn:allmende:{dataset}/{station}` in the URL namespace, so a station keeps its uuid across
//! restarts, new versions of its dataset and other servers with the same data. Python's
//! `uuid.uuid5(uuid.NAMESPACE_URL, "urn:allmende:pegel-live/Ahlen")` gives the same value.

/// RFC 9562's URL namespace, 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
const NAMESPACE_URL: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

/// The uuid of `station` in `dataset`.
pub fn station(dataset: &str, station: &str) -> String {
    v5(
        &NAMESPACE_URL,
        format!("urn:allmende:{dataset}/{station}").as_bytes(),
    )
}

fn v5(namespace: &[u8; 16], name: &[u8]) -> String {
    let mut data = namespace.to_vec();
    data.extend_from_slice(name);
    let hash = sha1(&data);
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// SHA-1 (FIPS 180-4). Only for name-based uuids, where RFC 9562 prescribes it; nothing here
/// relies on it being collision resistant.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut message = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bits.to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (slot, word) in w.iter_mut().zip(block.chunks_exact(4)) {
            *slot = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, word) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*word);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (slot, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *slot = slot.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, v) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&v.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_and_uuid_v5_agree_with_references() {
        // FIPS 180-4 example "abc"; `sha1sum` of the empty input.
        let hex = |b: [u8; 20]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(
            hex(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        // Python: uuid.uuid5(uuid.NAMESPACE_URL, "urn:allmende:pegel-live/Ahlen") and "".
        assert_eq!(
            station("pegel-live", "Ahlen"),
            "8419b1df-ccfc-5a68-81a2-9f388590e106"
        );
        assert_eq!(
            v5(&NAMESPACE_URL, b""),
            "1b4db7eb-4057-5ddf-91e0-36dec72071f5"
        );
    }
}
