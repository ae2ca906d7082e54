//! `HeapAllocator`: the allocator the process runs on, as perfkit reads and acts on it: its
//! heap figures, and the call that hands freed memory back to the operating system.
//!
//! Which allocator that is, only the binary knows (its `#[global_allocator]`, or the C
//! library's malloc). So it is chosen at one place: the binary hands its allocator to the
//! service at start-up, and the library's default is the C library's (glibc's
//! `malloc_trim` and `mallinfo2`) where there is one.

use serde::{Deserialize, Deserializer, Serialize};

/// What the allocator holds, by its own count. A figure the allocator does not keep is
/// `None`, never zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HeapFigures {
    /// The allocator's name (`glibc`, `mimalloc`, `jemalloc`, `unknown`; read back from
    /// JSON, any other name is `other`).
    pub allocator: &'static str,
    /// Bytes handed out to the program and not yet freed (glibc: `mallinfo2`'s `uordblks`
    /// plus `hblkhd`; mimalloc keeps no such count in release builds).
    pub allocated_bytes: Option<u64>,
    /// Bytes the allocator holds resident from the operating system, in use or kept free
    /// for reuse (mimalloc: its committed memory, `mi_process_info`, which it decommits on
    /// release). glibc counts no such figure: `mallinfo2`'s `arena` is address space, which
    /// `malloc_trim` leaves as it is while giving the pages back.
    pub resident_bytes: Option<u64>,
}

/// Allocator names a figure read back from JSON keeps (the name is `&'static str`, so
/// figures stay `Copy`).
const KNOWN_ALLOCATORS: [&str; 5] = ["glibc", "mimalloc", "jemalloc", "system", "unknown"];

/// [`HeapFigures`] as JSON holds it, the allocator's name owned.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeapFiguresText {
    allocator: String,
    #[serde(default)]
    allocated_bytes: Option<u64>,
    #[serde(default)]
    resident_bytes: Option<u64>,
}

impl<'de> Deserialize<'de> for HeapFigures {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = HeapFiguresText::deserialize(deserializer)?;
        let name = KNOWN_ALLOCATORS.into_iter().find(|known| *known == text.allocator);
        Ok(HeapFigures {
            allocator: name.unwrap_or("other"),
            allocated_bytes: text.allocated_bytes,
            resident_bytes: text.resident_bytes,
        })
    }
}

/// The process's allocator: its figures, read at any time, and a release.
pub trait HeapAllocator: Send + Sync + std::fmt::Debug {
    /// The heap figures now. Cheap enough for a scrape.
    fn figures(&self) -> HeapFigures;
    /// Hands freed memory back to the operating system (glibc's `malloc_trim(0)`,
    /// mimalloc's `mi_collect(true)`), so the resident set shrinks after a burst.
    fn release(&self);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_back_from_json_keep_known_names() {
        let figures =
            HeapFigures { allocator: "mimalloc", allocated_bytes: None, resident_bytes: Some(7) };
        let json = serde_json::to_string(&figures).unwrap();
        assert_eq!(json, r#"{"allocator":"mimalloc","allocatedBytes":null,"residentBytes":7}"#);
        assert_eq!(serde_json::from_str::<HeapFigures>(&json).unwrap(), figures);
        let other: HeapFigures = serde_json::from_str(r#"{"allocator":"tcmalloc"}"#).unwrap();
        assert_eq!(other.allocator, "other");
    }
}
