//! The admin token: the configured one, or a fresh random one for this run.

use anyhow::{Context, Result};

use crate::config::Secret;

/// Random bytes in a generated token: 256 bits, beyond guessing.
const TOKEN_BYTES: usize = 32;

/// Where this run's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Configured,
    Generated,
}

/// The configured token (its strength was checked with the settings), or a generated one.
pub(crate) fn choose(configured: Option<&Secret>) -> Result<(Secret, Origin)> {
    match configured {
        Some(token) => Ok((token.clone(), Origin::Configured)),
        None => Ok((generate()?, Origin::Generated)),
    }
}

/// Logs where the token came from; a generated one is logged, once, so its operator can use
/// it.
pub(crate) fn announce(token: &Secret, origin: Origin) {
    match origin {
        Origin::Generated => tracing::warn!(
            admin_token = %token.0,
            "no admin token configured (PERFKIT_ADMIN_TOKEN or server.adminToken): generated \
             one for this run; send it as Authorization: Bearer <token>"
        ),
        Origin::Configured => tracing::info!("admin token configured"),
    }
}

/// 32 random bytes from the operating system, as 64 hex digits.
fn generate() -> Result<Secret> {
    let mut bytes = [0_u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|error| anyhow::anyhow!("{error}"))
        .context("cannot read random bytes for the admin token")?;
    Ok(Secret(bytes.iter().map(|b| format!("{b:02x}")).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_64_hex_digits_and_differ() {
        let (first, origin) = choose(None).unwrap();
        assert_eq!(origin, Origin::Generated);
        assert_eq!(first.0.len(), 2 * TOKEN_BYTES);
        assert!(first.0.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(choose(None).unwrap().0, first);
    }

    #[test]
    fn a_configured_token_is_kept() {
        let configured = Secret("s3cret-s3cret-s3cret".to_owned());
        assert_eq!(choose(Some(&configured)).unwrap(), (configured, Origin::Configured));
    }
}
