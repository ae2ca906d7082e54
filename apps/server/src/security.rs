//! What makes the server safe to expose: it listens beyond loopback only with an admin token
//! someone chose, browsers of other origins reach it only through an allow-list (CORS), and
//! every response tells the browser not to sniff types or run foreign content.

use std::net::SocketAddr;

use anyhow::{Result, bail};
use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Most origins in the allow-list; a bound on the list every preflight is checked against.
const MAX_CORS_ORIGINS: usize = 64;

/// Refuses a non-loopback address unless the admin token was configured: a generated token is
/// logged at start-up, fine for a developer's own machine, not for a port the network reaches.
pub(crate) fn check_exposure(bind: SocketAddr, token_configured: bool) -> Result<()> {
    if !bind.ip().is_loopback() && !token_configured {
        bail!(
            "refusing to listen on {bind} without a configured admin token: a generated token \
             is for local use only; set PERFKIT_ADMIN_TOKEN or server.adminToken, or bind a \
             loopback address such as 127.0.0.1"
        );
    }
    Ok(())
}

/// Each origin is `http(s)://host[:port]`, exactly what a browser sends in `Origin`: no
/// path, no wildcard (an allow-list of `*` would be CORS on for everyone).
pub(crate) fn check_cors_origins(origins: &[String]) -> Result<()> {
    if origins.len() > MAX_CORS_ORIGINS {
        bail!("at most {MAX_CORS_ORIGINS} origins, got {}", origins.len());
    }
    for origin in origins {
        let Some(rest) = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"))
        else {
            bail!("{origin:?} is not an origin like https://dashboard.example.com");
        };
        let host_ok = !rest.is_empty()
            && rest.len() <= 253 + 6
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        if !host_ok {
            bail!("{origin:?} is not an origin like https://dashboard.example.com (no path, no *)");
        }
    }
    Ok(())
}

/// The CORS layer for `origins`; `None` for an empty list, so no CORS header is ever sent
/// and browsers keep the same-origin policy.
pub(crate) fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let allowed: Vec<HeaderValue> =
        origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect();
    if allowed.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([HeaderName::from_static("retry-after")])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_may_go_without_a_configured_token() {
        for bind in ["127.0.0.1:8080", "[::1]:8080", "127.0.0.2:1"] {
            assert!(check_exposure(bind.parse().unwrap(), false).is_ok(), "{bind}");
        }
        for bind in ["0.0.0.0:8080", "[::]:8080", "192.0.2.7:80"] {
            let error = check_exposure(bind.parse().unwrap(), false).unwrap_err().to_string();
            assert!(error.contains("PERFKIT_ADMIN_TOKEN"), "{error}");
            assert!(check_exposure(bind.parse().unwrap(), true).is_ok(), "{bind}");
        }
    }

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        let ok = ["https://dash.example.com", "http://localhost:3000", "http://[::1]:8080"];
        assert!(check_cors_origins(&ok.map(String::from)).is_ok());
        for bad in ["*", "dash.example.com", "https://x.com/path", "https://", "ftp://x"] {
            assert!(check_cors_origins(&[bad.to_owned()]).is_err(), "{bad}");
        }
        assert!(check_cors_origins(&vec!["http://a".to_owned(); 65]).is_err());
        assert!(cors_layer(&[]).is_none());
    }
}
