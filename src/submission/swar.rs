//! Eight bytes at a time in one `u64` (SWAR): the lane masks and the exact
//! zero-byte test that the text scans ([`scan`](super::scan), and the name
//! and keyboard-mash tests of [`text`](super::text)) share.

/// Each lane's byte, repeated: SWAR masks.
pub(crate) const fn lanes(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// Bit 7 of each lane (byte) of `w` that is zero, and no other bit: the
/// exact test (no borrow between lanes), in text order for a word read
/// little-endian.
pub(crate) fn zero_lanes(w: u64) -> u64 {
    const LOW7: u64 = lanes(0x7F);
    !(((w & LOW7) + LOW7) | w | LOW7)
}

/// `chunk` (eight bytes or fewer) as a word read little-endian: a shorter
/// one's bytes, then zeros.
pub(crate) fn le_word(chunk: &[u8]) -> u64 {
    match <[u8; 8]>::try_from(chunk) {
        Ok(full) => u64::from_le_bytes(full),
        Err(_) => chunk.iter().rev().fold(0, |w, &c| (w << 8) | u64::from(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::{le_word, zero_lanes};
    use proptest::prelude::*;

    proptest! {
        /// The zero-byte test marks exactly the zero bytes, whatever the
        /// other bytes hold (no borrow from a lane into the next).
        #[test]
        fn zero_lanes_marks_exactly_the_zero_bytes(bytes in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..=8)) {
            let marks = zero_lanes(le_word(&bytes));
            for i in 0..8 {
                let zero = bytes.get(i).is_none_or(|b| *b == 0);
                prop_assert_eq!(marks >> (8 * i) & 0xFF, if zero { 0x80 } else { 0 }, "{:?}", bytes);
            }
        }
    }
}
