//! The `dashboard` feature: the page at `/` and its assets under `/assets/`, compiled into
//! the binary.
//!
//! The page holds no data, only the code that asks the JSON API for it, so it is served to
//! anyone (where reads are protected, the page asks for the token and sends it with its
//! requests). Every asset is ours: no third-party code, nothing fetched from elsewhere, and
//! a Content-Security-Policy that would refuse it if it were.

use std::sync::Arc;

use axum::extract::{FromRef, OriginalUri, Path, State};
use axum::http::{HeaderName, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;

/// Where the API is served under the mount, as the page links to it: the router's state
/// provides it (`FromRef`), so the page needs nothing else of the API's.
#[derive(Debug, Clone)]
pub(crate) struct ApiPrefix(pub(crate) Arc<str>);

/// `api` with the page and its assets.
pub(crate) fn register<S>(api: OpenApiRouter<S>) -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    ApiPrefix: FromRef<S>,
{
    api.routes(routes!(index)).route("/assets/{file}", axum::routing::get(asset))
}

/// What the page and its assets may load: only this origin's scripts, styles, images and
/// connections (the WebSocket included); nothing inline, no framing, no `<base>`.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

const INDEX_HTML: &str = include_str!("../../assets/index.html");

/// The assets under `/assets/`: name, content type, contents.
const ASSETS: [(&str, &str, &str); 14] = [
    ("style.css", CSS, include_str!("../../assets/style.css")),
    ("business.css", CSS, include_str!("../../assets/business.css")),
    ("app.js", JAVASCRIPT, include_str!("../../assets/app.js")),
    ("state.js", JAVASCRIPT, include_str!("../../assets/state.js")),
    ("overview.js", JAVASCRIPT, include_str!("../../assets/overview.js")),
    ("metrics.js", JAVASCRIPT, include_str!("../../assets/metrics.js")),
    ("optimization.js", JAVASCRIPT, include_str!("../../assets/optimization.js")),
    ("api.js", JAVASCRIPT, include_str!("../../assets/api.js")),
    ("chart.js", JAVASCRIPT, include_str!("../../assets/chart.js")),
    ("format.js", JAVASCRIPT, include_str!("../../assets/format.js")),
    ("config-form.js", JAVASCRIPT, include_str!("../../assets/config-form.js")),
    ("business.js", JAVASCRIPT, include_str!("../../assets/business.js")),
    ("build-info.js", JAVASCRIPT, include_str!("../../assets/build-info.js")),
    ("favicon.svg", "image/svg+xml", include_str!("../../assets/favicon.svg")),
];

const CSS: &str = "text/css; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// The live performance dashboard: Overview, Metrics and Optimization.
#[utoipa::path(get, path = "/", tag = "meta",
    responses((status = 200, description = "The live performance dashboard (HTML)", body = String, content_type = "text/html")))]
pub(crate) async fn index(
    State(ApiPrefix(api_prefix)): State<ApiPrefix>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
) -> Response {
    with_page_headers("text/html; charset=utf-8", page(&original, &uri, &api_prefix))
}

/// The page, with where it is mounted and where the API is spliced in.
fn page(original: &Uri, seen: &Uri, api_prefix: &str) -> String {
    INDEX_HTML
        .replace(MOUNT_PLACEHOLDER, &escape_attribute(mount_prefix(original, seen)))
        .replace(API_PLACEHOLDER, &escape_attribute(api_prefix))
}

/// Where the page's links to its assets and the API start: the prefix a host nested the
/// router under, or nothing.
const MOUNT_PLACEHOLDER: &str = "{{mount}}";

/// Where the API is under the mount: the router's `api_prefix`.
const API_PLACEHOLDER: &str = "{{api}}";

/// The prefix a host nested the router under: the original path less the path the router
/// saw (`/ops/` seen as `/`), without a trailing slash.
fn mount_prefix<'a>(original: &'a Uri, seen: &Uri) -> &'a str {
    let original = original.path();
    let prefix = original.strip_suffix(seen.path()).unwrap_or(original);
    prefix.trim_end_matches('/')
}

/// `text` safe inside a double-quoted HTML attribute. The prefix comes from routing, not
/// from the client, but a page never trusts what it splices in.
fn escape_attribute(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// One of the dashboard's assets; 404 for any other name.
pub(crate) async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .map(|(_, content_type, body)| with_page_headers(content_type, *body))
        .ok_or(ApiError::NotFound)
}

fn with_page_headers(content_type: &'static str, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The issue's budget for the page and everything it loads.
    const PAGE_BUDGET_BYTES: usize = 150 * 1024;

    #[test]
    fn the_page_and_its_assets_fit_the_budget() {
        let total: usize =
            INDEX_HTML.len() + ASSETS.iter().map(|(_, _, body)| body.len()).sum::<usize>();
        assert!(total < PAGE_BUDGET_BYTES, "{total} bytes");
    }

    #[test]
    fn every_asset_the_page_names_is_served_and_nothing_is_inline() {
        for (name, _, _) in ASSETS {
            let named = INDEX_HTML.contains(&format!("{MOUNT_PLACEHOLDER}/assets/{name}"))
                || ASSETS.iter().any(|(_, _, body)| body.contains(&format!("./{name}")));
            assert!(named, "{name} is served but never loaded");
        }
        assert!(!INDEX_HTML.contains("<style"), "inline styles are refused by the CSP");
        assert!(!INDEX_HTML.contains(" style="), "inline styles are refused by the CSP");
        assert!(!INDEX_HTML.contains("<script>"), "inline scripts are refused by the CSP");
        assert!(!has_inline_handler(INDEX_HTML), "inline handlers are refused by the CSP");
        for (name, _, body) in ASSETS {
            // The SVG namespace is a name, never fetched.
            let body = body.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "{name} names another origin"
            );
        }
    }

    #[test]
    fn the_mount_prefix_is_what_the_host_nested_the_router_under() {
        let uri = |text: &str| text.parse::<Uri>().unwrap();
        assert_eq!(mount_prefix(&uri("/"), &uri("/")), "");
        assert_eq!(mount_prefix(&uri("/ops"), &uri("/")), "/ops");
        assert_eq!(mount_prefix(&uri("/ops/"), &uri("/")), "/ops");
        assert_eq!(mount_prefix(&uri("/a/b/"), &uri("/")), "/a/b");
        assert_eq!(escape_attribute("/x\"<y>&'"), "/x&quot;&lt;y&gt;&amp;&#39;");
    }

    /// Whether the HTML has an attribute like ` onclick=`.
    fn has_inline_handler(html: &str) -> bool {
        html.match_indices(" on").any(|(at, _)| {
            let rest = &html[at + 3..];
            let name_length = rest.bytes().take_while(u8::is_ascii_lowercase).count();
            name_length > 0 && rest[name_length..].starts_with('=')
        })
    }

    #[test]
    fn the_page_names_the_mount_and_the_api_prefix() {
        let uri = |text: &str| text.parse::<Uri>().unwrap();
        let page = page(&uri("/ops/"), &uri("/"), "/perf");
        assert!(page.contains(r#"<meta name="perfkit-mount" content="/ops">"#), "{page}");
        assert!(page.contains(r#"<meta name="perfkit-api" content="/perf">"#), "{page}");
        assert!(page.contains(r#"href="/ops/perf/summary""#), "{page}");
        assert!(!page.contains("{{"), "every placeholder is filled");
    }

    #[tokio::test]
    async fn the_page_carries_its_security_headers() {
        let response = with_page_headers("text/html; charset=utf-8", INDEX_HTML);
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
        let response = asset(Path("app.js".to_owned())).await.unwrap();
        assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(asset(Path("../Cargo.toml".to_owned())).await.is_err());
    }
}
