//! perfkit's own keys (persisted history, instance announcements and locks) live in a
//! reserved sub-namespace of the cache, which the application's handle can neither read,
//! write, clear nor count.

use crate::CacheError;

/// The segment, right after a cache's namespace, under which perfkit keeps its own keys
/// (`perfkit:~perfkit:history:host-1` in Redis with the default namespace).
///
/// An application key starting with it is refused with [`CacheError::ReservedKey`]; the
/// application's `clear` and `delete_pattern` never delete a key under it. The `~` makes an
/// accidental collision with an application's key scheme unlikely; the refusal makes it
/// impossible.
pub const RESERVED_PREFIX: &str = "~perfkit:";

/// Which part of a namespace a cache handle works in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The application's keys: everything under the namespace except [`RESERVED_PREFIX`].
    Application,
    /// perfkit's own keys, under [`RESERVED_PREFIX`] (the handle adds the prefix itself).
    Reserved,
}

impl Scope {
    /// Refuses an application key under the reserved prefix.
    pub(crate) fn check(self, key: &str) -> Result<(), CacheError> {
        if self == Scope::Application && key.starts_with(RESERVED_PREFIX) {
            return Err(CacheError::ReservedKey { key: key.to_owned() });
        }
        Ok(())
    }

    /// [`check`](Self::check) for every key of a batch.
    pub(crate) fn check_all<'a>(
        self,
        keys: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), CacheError> {
        keys.into_iter().try_for_each(|key| self.check(key))
    }

    /// Whether a pattern operation of this handle may delete the key `relative` (the key
    /// without the handle's namespace): never a reserved key from the application's handle.
    pub(crate) fn owns(self, relative: &[u8]) -> bool {
        self == Scope::Reserved || !relative.starts_with(RESERVED_PREFIX.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_application_scope_refuses_reserved_keys_and_skips_them() {
        let app = Scope::Application;
        assert!(app.check("user:1").is_ok());
        assert!(app.check("~perfkit").is_ok(), "only the whole prefix is reserved");
        assert!(matches!(
            app.check("~perfkit:history"),
            Err(CacheError::ReservedKey { ref key }) if key == "~perfkit:history"
        ));
        assert!(app.check_all(["a", "~perfkit:x"]).is_err());
        assert!(Scope::Reserved.check("~perfkit:x").is_ok());
        assert!(app.owns(b"~other") && !app.owns(b"~perfkit:history"));
        assert!(Scope::Reserved.owns(b"anything"));
    }
}
