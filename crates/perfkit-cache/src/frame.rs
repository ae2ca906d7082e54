//! The stored form of a value.
//!
//! A value is stored verbatim unless it is compressed or starts with one of the two tag bytes.
//! The tags, `0xFE` (lz4 block with its length prepended) and `0xFF` (verbatim value that
//! follows), never occur in UTF-8, so JSON and text values stay readable by other applications
//! sharing the Redis; only binary values starting with a tag byte pay one byte of escape.

use std::borrow::Cow;

const LZ4: u8 = 0xFE;
const ESCAPED: u8 = 0xFF;
/// lz4 cannot expand data by more than this factor; a larger claim is a corrupt header, and
/// rejecting it stops a bad frame from making us allocate gigabytes.
const MAX_RATIO: usize = 255;

/// A value encoded for storage, with the bytes compression saved (zero when not compressed).
#[derive(Debug)]
pub(crate) struct Encoded<'a> {
    pub(crate) frame: Cow<'a, [u8]>,
    pub(crate) saved: u64,
}

/// Encodes `value`, compressing it when it is at least `threshold` bytes and compression
/// actually makes it smaller.
pub(crate) fn encode(value: &[u8], threshold: usize) -> Encoded<'_> {
    if value.len() >= threshold {
        let compressed = lz4_flex::compress_prepend_size(value);
        if compressed.len() + 1 < value.len() {
            let mut frame = Vec::with_capacity(compressed.len() + 1);
            frame.push(LZ4);
            frame.extend_from_slice(&compressed);
            let saved = (value.len() - frame.len()) as u64;
            return Encoded { frame: Cow::Owned(frame), saved };
        }
    }
    match value.first() {
        Some(&LZ4 | &ESCAPED) => {
            let mut frame = Vec::with_capacity(value.len() + 1);
            frame.push(ESCAPED);
            frame.extend_from_slice(value);
            Encoded { frame: Cow::Owned(frame), saved: 0 }
        }
        _ => Encoded { frame: Cow::Borrowed(value), saved: 0 },
    }
}

/// What a frame holds, by its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An lz4 block with its length prepended, after the tag.
    Lz4,
    /// The value verbatim after one escape byte.
    Escaped,
    /// The value itself.
    Verbatim,
}

pub(crate) fn kind(frame: &[u8]) -> Kind {
    match frame.first() {
        Some(&LZ4) => Kind::Lz4,
        Some(&ESCAPED) => Kind::Escaped,
        _ => Kind::Verbatim,
    }
}

/// Decodes a stored frame back into the value.
///
/// # Errors
/// A reason string when an lz4 frame is truncated, lies about its size or does not decompress.
pub(crate) fn decode(frame: &[u8]) -> Result<Vec<u8>, String> {
    match frame.split_first() {
        Some((&LZ4, body)) => {
            let Some(size_bytes) = body.get(..4) else {
                return Err(format!("lz4 frame of {} bytes has no size header", frame.len()));
            };
            let mut size = [0_u8; 4];
            size.copy_from_slice(size_bytes);
            let claimed = u32::from_le_bytes(size) as usize;
            if claimed > body.len().saturating_mul(MAX_RATIO) {
                return Err(format!("lz4 frame claims {claimed} bytes from {} bytes", body.len()));
            }
            lz4_flex::decompress_size_prepended(body)
                .map_err(|error| format!("lz4 frame does not decompress: {error}"))
        }
        Some((&ESCAPED, rest)) => Ok(rest.to_vec()),
        _ => Ok(frame.to_vec()),
    }
}

/// [`decode`] of a frame the caller owns: a verbatim frame is the value itself, not copied.
///
/// # Errors
/// As [`decode`].
pub(crate) fn decode_owned(mut frame: Vec<u8>) -> Result<Vec<u8>, String> {
    match frame.first() {
        Some(&LZ4) => decode(&frame),
        Some(&ESCAPED) => {
            frame.remove(0);
            Ok(frame)
        }
        _ => Ok(frame),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: &[u8], threshold: usize) -> Vec<u8> {
        let frame = encode(value, threshold).frame;
        let owned = decode_owned(frame.to_vec());
        let decoded = decode(&frame).unwrap();
        assert_eq!(owned.unwrap(), decoded, "decode and decode_owned agree");
        decoded
    }

    #[test]
    fn small_text_is_stored_verbatim() {
        let encoded = encode(br#"{"a":1}"#, 1024);
        assert_eq!(&*encoded.frame, br#"{"a":1}"#);
        assert_eq!(encoded.saved, 0);
    }

    #[test]
    fn large_compressible_values_are_compressed_and_read_back() {
        let value = br#"{"name":"perfkit","tags":["a","b"]}"#.repeat(100);
        let encoded = encode(&value, 1024);
        assert_eq!(encoded.frame[0], LZ4);
        assert!(encoded.saved > 0);
        assert_eq!(encoded.saved as usize, value.len() - encoded.frame.len());
        assert_eq!(round_trip(&value, 1024), value);
    }

    #[test]
    fn incompressible_values_stay_verbatim() {
        // xorshift noise: lz4 cannot shrink it.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let value: Vec<u8> = (0..2048)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[3]
            })
            .collect();
        let value = [b"x".as_slice(), &value].concat();
        let encoded = encode(&value, 1024);
        assert_eq!(encoded.saved, 0);
        assert_eq!(round_trip(&value, 1024), value);
    }

    #[test]
    fn binary_values_starting_with_a_tag_byte_are_escaped() {
        for value in [vec![LZ4, 1, 2], vec![ESCAPED], vec![]] {
            assert_eq!(round_trip(&value, 1024), value);
        }
        assert_eq!(&*encode(&[ESCAPED], 1024).frame, &[ESCAPED, ESCAPED]);
    }

    proptest::proptest! {
        #[test]
        fn decode_owned_agrees_with_decode_on_any_bytes(frame: Vec<u8>) {
            proptest::prop_assert_eq!(decode_owned(frame.clone()), decode(&frame));
        }
    }

    #[test]
    fn corrupt_frames_are_errors_not_panics() {
        assert!(decode(&[LZ4]).is_err());
        assert!(decode_owned(vec![LZ4, 1, 0]).is_err());
        assert!(decode(&[LZ4, 1, 0]).is_err());
        // Claims 4 GiB from a few bytes.
        assert!(decode(&[LZ4, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0]).is_err());
        // A plausible size, garbage body.
        assert!(decode(&[LZ4, 10, 0, 0, 0, 0xF0, 0xFF, 0xFF, 0xFF]).is_err());
        let mut truncated = encode(&b"abcdefgh".repeat(500), 16).frame.into_owned();
        truncated.truncate(truncated.len() / 2);
        assert!(decode(&truncated).is_err());
    }
}
