//! The stored-value decoder on any bytes: a value or an error, never a panic, never more than
//! 255 times the input; and any value encodes to a frame that decodes back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perfkit_cache::{decode_stored, encode_stored};

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = decode_stored(data) {
        assert!(
            value.len() <= data.len().max(1) * 255,
            "decoded {} from {}",
            value.len(),
            data.len()
        );
    }
    let threshold = data.first().map_or(0, |&b| usize::from(b) * 8);
    let stored = encode_stored(data, threshold);
    assert_eq!(decode_stored(&stored).ok().as_deref(), Some(data), "round trip");
});
