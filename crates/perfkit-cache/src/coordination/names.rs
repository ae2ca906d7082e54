//! The one rule for instance ids and lock names: short, and plain enough to sit in a Redis
//! key and a `SCAN MATCH` pattern without escaping surprises.

use crate::CacheError;

/// Longest name accepted.
const MAX_NAME: usize = 64;

/// Refuses a name that is empty, longer than 64 characters, or holds anything but ASCII
/// letters, digits and `- _ . :`.
pub(crate) fn check_name(what: &'static str, name: &str) -> Result<(), CacheError> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if name.is_empty() || name.len() > MAX_NAME || !name.chars().all(plain) {
        return Err(CacheError::InvalidName { what, name: name.chars().take(MAX_NAME).collect() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_and_others_are_refused() {
        assert!(check_name("instance", "api-1.eu_west:2").is_ok());
        for bad in ["", "a*", "a b", "ü", &"x".repeat(65), "a/b"] {
            assert!(check_name("instance", bad).is_err(), "{bad:?}");
        }
    }
}
