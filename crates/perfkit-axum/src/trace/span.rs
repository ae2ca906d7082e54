//! One request's trace: its span (sampled) or the unsampled context its children run under,
//! the HTTP semantic-convention attributes, and what the response adds.

use std::time::{Duration, Instant};

use axum::extract::MatchedPath;
use axum::http::{HeaderMap, Request, header};
use tracing::field::Empty;

use super::RequestTracing;

/// The `tracing` target of request spans: a subscriber's filter can select them by it.
pub const REQUEST_SPAN_TARGET: &str = "perfkit_axum::request";

/// Longest `user_agent.original` recorded, in bytes; a longer one is cut at a character
/// boundary (a client chooses its length).
pub const USER_AGENT_MAX_LEN: usize = 256;

/// Longest `server.address` recorded, in bytes (a Host header is the client's too).
const SERVER_ADDRESS_MAX_LEN: usize = 255;

/// One request's trace, from its start to its response head.
#[derive(Debug)]
pub(crate) enum RequestTrace {
    /// Sampled: the request's span, entered on every poll.
    Recording(tracing::Span),
    /// Not sampled: the context its children are started under, and what a tail rule needs
    /// to write its span afterwards.
    #[cfg(feature = "otel")]
    Unsampled(super::context::Unsampled),
}

/// The head decision for `request` and, when sampled, its span. `None`: nothing to do (not
/// sampled and nothing to hand down, or no subscriber wants the span).
#[inline]
pub(crate) fn start_trace<B>(
    tracing: &RequestTracing,
    request: &Request<B>,
    route: Option<&MatchedPath>,
) -> Option<RequestTrace> {
    #[cfg(feature = "otel")]
    let caller = super::w3c::caller(request.headers());
    // A root's decision is the trace-id ratio rule on the id an unsampled request hands
    // down, so that a trace-id ratio sampler gives its children the same answer.
    #[cfg(feature = "otel")]
    let sampled = match &caller {
        Some(caller) if tracing.parent_based => caller.is_sampled(),
        Some(caller) => super::w3c::ratio_keeps(caller.trace_id(), tracing.ratio),
        None => super::w3c::ratio_keeps(super::context::random_trace_id(), tracing.ratio),
    };
    #[cfg(not(feature = "otel"))]
    let sampled = tracing.toss();
    if !sampled {
        #[cfg(feature = "otel")]
        return Some(RequestTrace::Unsampled(super::context::Unsampled::new(caller)));
        #[cfg(not(feature = "otel"))]
        return None;
    }
    let span = request_span(request, route);
    if span.is_disabled() {
        return None;
    }
    #[cfg(feature = "otel")]
    super::context::adopt(tracing, &span, caller);
    Some(RequestTrace::Recording(span))
}

/// The request's span: `METHOD /route` (just `METHOD` when no route matched), kind server.
fn request_span<B>(request: &Request<B>, route: Option<&MatchedPath>) -> tracing::Span {
    let method = method_name(request.method().as_str());
    let route = route.map(MatchedPath::as_str);
    let headers = request.headers();
    let (address, port) = server_address(headers);
    let user_agent = user_agent(headers);
    let span = tracing::info_span!(
        target: REQUEST_SPAN_TARGET,
        "request",
        otel.name = %SpanName { method, route },
        otel.kind = "server",
        http.request.method = method,
        http.route = route,
        url.path = request.uri().path(),
        server.address = address,
        // i64: tracing-opentelemetry records unsigned integers as text.
        server.port = port.map(i64::from),
        user_agent.original = user_agent,
        http.response.status_code = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    );
    span
}

/// `GET /api/posts/{id}`, or `GET` alone for a request no route matched (its raw path would
/// make every scanner's probe a span name of its own).
pub(crate) struct SpanName<'a> {
    pub(crate) method: &'a str,
    pub(crate) route: Option<&'a str>,
}

impl std::fmt::Display for SpanName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.route {
            Some(route) => write!(f, "{} {route}", self.method),
            None => f.write_str(self.method),
        }
    }
}

/// The method as the semantic conventions name it: a known one as is, any other `_OTHER`
/// (a client could otherwise invent a span name per request).
pub(crate) fn method_name(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "_OTHER",
    }
}

/// The Host header's name and port (`server.address`, `server.port`), when it is text.
pub(crate) fn server_address(headers: &HeaderMap) -> (Option<&str>, Option<u16>) {
    let Some(host) = headers.get(header::HOST).and_then(|value| value.to_str().ok()) else {
        return (None, None);
    };
    let (name, port) = split_host(host);
    (Some(cut(name, SERVER_ADDRESS_MAX_LEN)), port)
}

/// `example.com:8080` into its name and port; `[::1]:8080` keeps its brackets off.
fn split_host(host: &str) -> (&str, Option<u16>) {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((name, tail)) => (name, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, port.parse().ok()),
        _ => (host, None),
    }
}

/// The User-Agent header, cut to [`USER_AGENT_MAX_LEN`].
pub(crate) fn user_agent(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::USER_AGENT)?.to_str().ok()?;
    Some(cut(value, USER_AGENT_MAX_LEN))
}

/// `text` cut to at most `most` bytes, at a character boundary.
fn cut(text: &str, most: usize) -> &str {
    if text.len() <= most {
        return text;
    }
    let mut end = most;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl RequestTrace {
    /// The response head is ready: `status` after `elapsed`. A sampled span takes the status
    /// and ends here; an unsampled request may be kept (feature `otel`): then the ids of the
    /// span written for it.
    #[inline]
    pub(crate) fn finish(
        self,
        tracing: &RequestTracing,
        status: u16,
        elapsed: Duration,
        now: Instant,
        route: Option<&MatchedPath>,
        method: perfkit_metrics::Method,
    ) -> Option<perfkit_core::SampledSpan> {
        match self {
            RequestTrace::Recording(span) => {
                span.record("http.response.status_code", i64::from(status));
                if status >= 500 {
                    span.record("error.type", tracing::field::display(status));
                    span.record("otel.status_code", "error");
                }
            }
            #[cfg(feature = "otel")]
            RequestTrace::Unsampled(unsampled) => {
                return unsampled.finish(tracing, status, elapsed, now, route, method);
            }
        }
        #[cfg(not(feature = "otel"))]
        let _ = (tracing, elapsed, now, route, method);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_span_by_method_and_route_or_method_alone() {
        let named = SpanName { method: "GET", route: Some("/api/posts/{id}") };
        assert_eq!(named.to_string(), "GET /api/posts/{id}");
        assert_eq!(SpanName { method: "POST", route: None }.to_string(), "POST");
        assert_eq!(method_name("PURGE"), "_OTHER");
    }

    #[test]
    fn splits_host_headers_into_name_and_port() {
        assert_eq!(split_host("example.com:8080"), ("example.com", Some(8080)));
        assert_eq!(split_host("example.com"), ("example.com", None));
        assert_eq!(split_host("[::1]:3000"), ("::1", Some(3000)));
        assert_eq!(split_host("[::1]"), ("::1", None));
        assert_eq!(split_host("::1"), ("::1", None));
        assert_eq!(split_host("host:notaport"), ("host", None));
    }

    #[test]
    fn user_agents_are_cut_at_a_character_boundary() {
        let mut headers = HeaderMap::new();
        let long = "é".repeat(USER_AGENT_MAX_LEN);
        headers.insert(
            header::USER_AGENT,
            axum::http::HeaderValue::from_str(&"x".repeat(10)).unwrap(),
        );
        assert_eq!(user_agent(&headers), Some("xxxxxxxxxx"));
        assert_eq!(cut(&long, USER_AGENT_MAX_LEN).len(), USER_AGENT_MAX_LEN);
        assert_eq!(cut(&long, 5), "éé");
    }
}
