//! How the memory cache holds a frame: owned when small, shared when large. moka hands out a
//! clone of the entry on every read. For a small frame that clone is a short copy, and it
//! *is* the value `get` returns, with no second copy; sharing it would add two
//! reference-count updates to every read, which cost more than the copy. For a large frame
//! (an API answer of a few KiB) the clone is one reference-count update and `get_shared` hands
//! the stored bytes on without copying them. A large frame is sorted when stored (the value
//! itself, or lz4), so a shared read does not touch the value's memory at all.

use bytes::Bytes;

use crate::frame;

/// Frames of at least this many bytes are shared rather than copied on each read: about where
/// a copy starts to cost more than the two reference-count updates sharing needs.
pub(crate) const SHARE_FROM_BYTES: usize = 1024;

/// A stored frame (see the module's note).
#[derive(Debug, Clone)]
pub(crate) enum StoredFrame {
    /// A small frame, any kind.
    Owned(Vec<u8>),
    /// A large value, verbatim (its escape byte, if it had one, left out).
    Shared(Bytes),
    /// A large lz4 frame.
    Compressed(Bytes),
}

impl StoredFrame {
    pub(crate) fn new(frame: Vec<u8>) -> StoredFrame {
        if frame.len() < SHARE_FROM_BYTES {
            return StoredFrame::Owned(frame);
        }
        match frame::kind(&frame) {
            frame::Kind::Lz4 => StoredFrame::Compressed(Bytes::from(frame)),
            frame::Kind::Escaped => StoredFrame::Shared(Bytes::from(frame).slice(1..)),
            frame::Kind::Verbatim => StoredFrame::Shared(Bytes::from(frame)),
        }
    }

    /// The bytes held.
    pub(crate) fn len(&self) -> usize {
        match self {
            StoredFrame::Owned(frame) => frame.len(),
            StoredFrame::Shared(value) => value.len(),
            StoredFrame::Compressed(frame) => frame.len(),
        }
    }

    /// The value as a `Vec`: a small frame is moved out, a large one copied once.
    ///
    /// # Errors
    /// A reason string for a corrupt lz4 frame.
    pub(crate) fn into_value(self) -> Result<Vec<u8>, String> {
        match self {
            StoredFrame::Owned(frame) => frame::decode_owned(frame),
            StoredFrame::Shared(value) => Ok(value.to_vec()),
            StoredFrame::Compressed(frame) => frame::decode(&frame),
        }
    }

    /// The value as shared bytes: a large frame is handed on, a small one moved out.
    ///
    /// # Errors
    /// As [`into_value`](Self::into_value).
    pub(crate) fn into_shared_value(self) -> Result<Bytes, String> {
        match self {
            StoredFrame::Owned(frame) => frame::decode_owned(frame).map(Bytes::from),
            StoredFrame::Shared(value) => Ok(value),
            StoredFrame::Compressed(frame) => frame::decode(&frame).map(Bytes::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_frames_are_owned_and_large_ones_shared() {
        assert!(matches!(StoredFrame::new(vec![b'x'; 100]), StoredFrame::Owned(_)));
        let numbers: String = (0..3000).map(|n| format!("{n},")).collect();
        let compressed = frame::encode(numbers.as_bytes(), 16).frame.into_owned();
        assert!(compressed.len() >= SHARE_FROM_BYTES && compressed[0] == 0xFE);
        assert!(matches!(StoredFrame::new(compressed), StoredFrame::Compressed(_)));
        let large = StoredFrame::new(vec![b'x'; SHARE_FROM_BYTES]);
        assert!(matches!(large, StoredFrame::Shared(_)));
        let (first, second) = (large.clone(), large);
        let (first, second) = (first.into_shared_value(), second.into_shared_value());
        assert_eq!(first.unwrap().as_ptr(), second.unwrap().as_ptr(), "one allocation, shared");
    }

    #[test]
    fn both_forms_decode_to_the_value() {
        let escaped = frame::encode(&[0xFE, 1], 1024).frame.into_owned();
        let mut large_escaped = vec![0xFF, 0xFE];
        large_escaped.resize(SHARE_FROM_BYTES + 1, 7);
        let compressed = frame::encode(&b"abcd".repeat(1000), 16).frame.into_owned();
        for stored in [escaped, large_escaped, compressed, b"{}".to_vec()] {
            let expected = frame::decode(&stored).unwrap();
            let frame = StoredFrame::new(stored);
            assert_eq!(frame.clone().into_value().unwrap(), expected);
            assert_eq!(frame.into_shared_value().unwrap(), expected);
        }
        let corrupt = StoredFrame::new(vec![0xFE, 1, 0]);
        assert!(corrupt.clone().into_value().is_err() && corrupt.into_shared_value().is_err());
    }
}
