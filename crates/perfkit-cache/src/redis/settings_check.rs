//! The checks a Redis setting passes before anything connects: a URL of a scheme fred speaks
//! with a host, a port and a database that parse, and TLS files that exist and hold what they
//! should. A wrong setting is a configuration error, never a cache that "fails open" forever
//! against a server that cannot exist.

use fred::prelude::Config;

use super::RedisConfig;
use super::tls::RedisTls;
use crate::CacheError;

/// Schemes this cache connects with: plain and TLS, a single server or a cluster.
const SCHEMES: [&str; 4] = ["redis", "rediss", "redis-cluster", "rediss-cluster"];

/// Longest URL accepted; a bound on what is parsed and echoed back in errors.
const MAX_URL_LEN: usize = 4096;

/// Checks `config`'s URL and TLS files; see [`RedisConfig::validate`].
pub(super) fn check(config: &RedisConfig) -> Result<(), CacheError> {
    let scheme = check_url(&config.url)?;
    let tls_scheme = scheme.starts_with("rediss");
    if !tls_scheme && !config.tls.is_empty() {
        return Err(invalid(format!(
            "TLS files are set but {} is not a rediss:// URL",
            redacted(&config.url)
        )));
    }
    // The files first: an unreadable file is named whether or not TLS is compiled in.
    config.tls.check()?;
    if tls_scheme && !cfg!(feature = "tls") {
        return Err(invalid(format!(
            "{} needs TLS: build perfkit-cache with its `tls` feature",
            redacted(&config.url)
        )));
    }
    Ok(())
}

/// The scheme of `url` when the URL is one this cache can connect with.
fn check_url(url: &str) -> Result<&str, CacheError> {
    if url.len() > MAX_URL_LEN {
        return Err(invalid(format!("redis url is longer than {MAX_URL_LEN} bytes")));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(invalid(format!(
            "redis url {} is not a URL like redis://host:port/db",
            redacted(url)
        )));
    };
    if !SCHEMES.contains(&scheme) {
        return Err(invalid(format!(
            "redis url {} has scheme {scheme:?}: expected one of {}",
            redacted(url),
            SCHEMES.map(|s| format!("{s}://")).join(", ")
        )));
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid(format!("redis url {} has no host", redacted(url))));
    }
    Config::from_url(url)
        .map_err(|error| invalid(format!("redis url {}: {}", redacted(url), error.details())))?;
    Ok(scheme)
}

/// `url` with any password replaced, for messages and logs.
#[must_use]
pub(crate) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return format!("{:?}", truncate(url));
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let shown = match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:<redacted>@{host}{tail}"),
            None => format!("{scheme}://{credentials}@{host}{tail}"),
        },
        None => url.to_owned(),
    };
    format!("{:?}", truncate(&shown))
}

/// At most 200 characters, so an error line stays one readable line.
fn truncate(text: &str) -> &str {
    match text.char_indices().nth(200) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

fn invalid(message: String) -> CacheError {
    CacheError::InvalidConfig(message)
}

impl RedisTls {
    /// Whether no TLS file is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ca_file.is_none() && self.cert_file.is_none() && self.key_file.is_none()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn config(url: &str) -> RedisConfig {
        RedisConfig { url: url.to_owned(), ..RedisConfig::default() }
    }

    fn refusal(config: &RedisConfig) -> String {
        match check(config) {
            Err(CacheError::InvalidConfig(message)) => message,
            other => panic!("{:?} accepted: {other:?}", config.url),
        }
    }

    #[test]
    fn accepts_the_urls_redis_users_write() {
        for url in [
            "redis://127.0.0.1:6379",
            "redis://localhost",
            "redis://127.0.0.1:6379/3",
            "redis://:secret@127.0.0.1:6379/0",
            "redis://app:secret@[::1]:6380",
            "redis-cluster://127.0.0.1:7000?node=127.0.0.1:7001",
        ] {
            assert!(check(&config(url)).is_ok(), "{url}: {:?}", check(&config(url)));
        }
    }

    #[test]
    fn refuses_unknown_schemes_and_malformed_addresses() {
        for (url, said) in [
            ("http://nope", "scheme \"http\""),
            ("nope", "not a URL"),
            ("redis://", "no host"),
            ("redis://:6379", "no host"),
            ("redis://127.0.0.1:99999", "redis url"),
            ("redis://127.0.0.1:port", "redis url"),
            ("redis://127.0.0.1:6379/db", "redis url"),
            ("redis://127.0.0.1:6379/1/2", "redis url"),
        ] {
            let message = refusal(&config(url));
            assert!(message.contains(said), "{url}: {message}");
        }
    }

    #[test]
    fn messages_never_show_a_password() {
        let message = refusal(&config("http://app:hunter2@nope"));
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("app:<redacted>@nope"), "{message}");
        assert_eq!(redacted("redis://:pw@h:1/0"), "\"redis://:<redacted>@h:1/0\"");
        assert_eq!(redacted("redis://h:1"), "\"redis://h:1\"");
        let debug = format!("{:?}", config("redis://app:hunter2@h:1"));
        assert!(!debug.contains("hunter2") && debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn tls_files_need_a_rediss_url() {
        let mut plain = config("redis://127.0.0.1:6379");
        plain.tls.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
        assert!(refusal(&plain).contains("not a rediss:// URL"));
    }

    #[test]
    fn an_unreadable_tls_file_is_refused() {
        let mut secure = config("rediss://127.0.0.1:6379");
        secure.tls.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
        let message = refusal(&secure);
        assert!(message.contains("/nonexistent/ca.pem"), "{message}");
        let without_files = config("rediss://127.0.0.1:6379");
        if cfg!(feature = "tls") {
            assert!(check(&without_files).is_ok());
        } else {
            assert!(refusal(&without_files).contains("`tls` feature"));
        }
    }
}
