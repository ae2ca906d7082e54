//! The stored form of a value under any input: every byte string decodes to a value or an
//! error, never a panic nor a huge allocation, and every value survives encode then decode at
//! any compression threshold. The cargo-fuzz target `frame_decode` drives the same decoder
//! with coverage guidance; crashes it ever finds are added to `regressions` below.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use perfkit_cache::{CacheError, decode_stored, encode_stored};
use proptest::prelude::*;

/// An lz4 frame: the tag, a claimed size, then a body of arbitrary bytes.
fn lz4_like() -> impl Strategy<Value = Vec<u8>> {
    (any::<u32>(), proptest::collection::vec(any::<u8>(), 0..256)).prop_map(|(size, body)| {
        let mut frame = vec![0xFE];
        frame.extend_from_slice(&size.to_le_bytes());
        frame.extend_from_slice(&body);
        frame
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn any_bytes_decode_to_a_value_or_a_corrupt_frame_error(frame in proptest::collection::vec(any::<u8>(), 0..512)) {
        match decode_stored(&frame) {
            Ok(value) => prop_assert!(value.len() <= frame.len().max(1) * 255),
            Err(CacheError::CorruptFrame { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    #[test]
    fn frames_that_look_compressed_never_panic_or_balloon(frame in lz4_like()) {
        if let Ok(value) = decode_stored(&frame) {
            prop_assert!(value.len() <= frame.len() * 255);
        }
    }

    #[test]
    fn every_value_round_trips_at_any_threshold(
        value in proptest::collection::vec(any::<u8>(), 0..4096),
        threshold in 0_usize..2048,
    ) {
        let stored = encode_stored(&value, threshold);
        prop_assert_eq!(decode_stored(&stored).unwrap(), value);
    }

    #[test]
    fn repetitive_values_round_trip_compressed(unit in proptest::collection::vec(any::<u8>(), 1..16), times in 64_usize..512) {
        let value = unit.repeat(times);
        let stored = encode_stored(&value, 16);
        prop_assert!(stored.len() < value.len());
        prop_assert_eq!(decode_stored(&stored).unwrap(), value);
    }
}

/// Inputs the fuzzer or proptest once found interesting; each must keep decoding safely.
#[test]
fn regressions() {
    for (frame, decodes) in [
        (&[0xFE][..], false),
        (&[0xFE, 0, 0, 0], false),
        (&[0xFE, 0, 0, 0, 0], false), // a size and no lz4 block
        (&[0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0], false),
        (&[0xFE, 10, 0, 0, 0, 0xF0, 0xFF, 0xFF, 0xFF], false),
        (&[0xFF], true),
        (&[], true),
    ] {
        assert_eq!(decode_stored(frame).is_ok(), decodes, "{frame:?}");
    }
}

/// Every crash input `cargo xtask fuzz` kept for the `frame_decode` target decodes safely now.
#[test]
fn fuzz_regressions_replay() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions/frame_decode");
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let input = std::fs::read(entry.unwrap().path()).unwrap();
        if let Ok(value) = decode_stored(&input) {
            assert!(value.len() <= input.len().max(1) * 255);
        }
        assert_eq!(decode_stored(&encode_stored(&input, 64)).unwrap(), input);
    }
}
