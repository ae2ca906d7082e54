//! The stored form as a public API: what another reader of a shared Redis (or the fuzzer)
//! calls to read and write values exactly as perfkit stores them (see `frame`).

use crate::CacheError;
use crate::frame::{decode, encode};

/// Decodes a value as perfkit stores it, for another reader of a shared Redis (and for the
/// fuzzer): any bytes give the value or an error, never a panic, and never more memory than
/// 255 times the frame.
///
/// ```
/// use perfkit_cache::{decode_stored, encode_stored};
///
/// let value = br#"{"id":7}"#.repeat(200);
/// let stored = encode_stored(&value, 1024);
/// assert!(stored.len() < value.len());
/// assert_eq!(decode_stored(&stored).unwrap(), value);
/// assert!(decode_stored(&[0xFE, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
/// ```
///
/// # Errors
/// [`CacheError::CorruptFrame`] (with an empty key) for a truncated or corrupt lz4 frame.
pub fn decode_stored(frame: &[u8]) -> Result<Vec<u8>, CacheError> {
    decode(frame).map_err(|reason| CacheError::CorruptFrame { key: String::new(), reason })
}

/// Encodes `value` as perfkit stores it: lz4 at or above `compression_threshold` bytes when
/// that is smaller, else verbatim (binary values starting with a tag byte get one escape byte).
#[must_use]
pub fn encode_stored(value: &[u8], compression_threshold: usize) -> Vec<u8> {
    encode(value, compression_threshold).frame.into_owned()
}
