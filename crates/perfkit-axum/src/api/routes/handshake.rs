//! The WebSocket opening handshake checked as the OpenAPI document states it (RFC 6455
//! §4.2.1), before axum's upgrade: a request that is not a WebSocket request at all is 426,
//! one that tries and gets a header wrong is 400 naming the header.

use axum::http::HeaderMap;
use axum::http::header::{CONNECTION, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};

use crate::error::ApiError;

/// The `Sec-WebSocket-Key` pattern of the document: 16 bytes in base64, whose last
/// character before the padding can only be one of `A`, `Q`, `g`, `w`.
#[cfg(test)]
pub(crate) const KEY_PATTERN: &str = "^[A-Za-z0-9+/]{21}[AQgw]==$";
/// `Upgrade: websocket`, in any case (RFC 6455 compares it case-insensitively).
#[cfg(test)]
pub(crate) const UPGRADE_PATTERN: &str = "^[wW][eE][bB][sS][oO][cC][kK][eE][tT]$";
/// `Connection` with an `Upgrade` token among its comma-separated tokens, in any case.
#[cfg(test)]
pub(crate) const CONNECTION_PATTERN: &str =
    "^([^,]*,[ \\t]*)*[uU][pP][gG][rR][aA][dD][eE]([ \\t]*,[^,]*)*$";

/// `Ok` when the request is a well-formed WebSocket opening handshake.
pub(crate) fn check(headers: &HeaderMap) -> Result<(), ApiError> {
    let text = |name| headers.get(name).map(|value| value.to_str().unwrap_or("\u{fffd}"));
    let (upgrade, connection) = (text(UPGRADE), text(CONNECTION));
    let (version, key) = (text(SEC_WEBSOCKET_VERSION), text(SEC_WEBSOCKET_KEY));
    if upgrade.is_none() && version.is_none() && key.is_none() {
        return Err(ApiError::UpgradeRequired(
            "open a WebSocket: send Upgrade: websocket, Connection: Upgrade, \
             Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key"
                .to_owned(),
        ));
    }
    let problem = |header: &str, expected: &str| {
        Err(ApiError::InvalidHandshake(format!("{header} must be {expected}")))
    };
    if !upgrade.is_some_and(|value| value.eq_ignore_ascii_case("websocket")) {
        return problem("Upgrade", "websocket");
    }
    let has_upgrade_token = |value: &str| {
        value
            .split(',')
            .any(|token| token.trim_matches([' ', '\t']).eq_ignore_ascii_case("upgrade"))
    };
    if !connection.is_some_and(has_upgrade_token) {
        return problem("Connection", "a list with the token Upgrade");
    }
    if version != Some("13") {
        return problem("Sec-WebSocket-Version", "13");
    }
    if !key.is_some_and(is_key) {
        return problem("Sec-WebSocket-Key", "16 bytes in base64 (24 characters ending in ==)");
    }
    Ok(())
}

/// Whether `key` matches [`KEY_PATTERN`].
fn is_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let base64 = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    bytes.len() == 24
        && bytes[..21].iter().all(base64)
        && matches!(bytes[21], b'A' | b'Q' | b'g' | b'w')
        && &bytes[22..] == b"=="
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap())).collect()
    }

    const GOOD: &[(&str, &str)] = &[
        ("upgrade", "WebSocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn a_well_formed_handshake_passes() {
        assert!(check(&headers(GOOD)).is_ok());
    }

    #[test]
    fn no_handshake_at_all_is_426_and_a_wrong_one_400() {
        assert_eq!(check(&HeaderMap::new()).unwrap_err().status(), 426);
        for (index, (name, bad)) in [
            ("upgrade", "h2c"),
            ("connection", "keep-alive"),
            ("sec-websocket-version", "8"),
            ("sec-websocket-key", "short=="),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZR=="),
        ]
        .into_iter()
        .enumerate()
        {
            let mut pairs: Vec<(&str, &str)> =
                GOOD.iter().copied().filter(|(n, _)| *n != name).collect();
            pairs.push((name, bad));
            let error = check(&headers(&pairs)).unwrap_err();
            assert_eq!((index, error.status().as_u16()), (index, 400), "{name}: {bad}");
        }
        let missing_key: Vec<_> =
            GOOD.iter().copied().filter(|(n, _)| *n != "sec-websocket-key").collect();
        assert_eq!(check(&headers(&missing_key)).unwrap_err().code(), "invalid_handshake");
    }
}
