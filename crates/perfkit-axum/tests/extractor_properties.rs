//! The API's extractors under any input: any body, content type, query string or path sent
//! to the router is answered 2xx or a 4xx JSON error, never a 5xx or a panic; and an update
//! that is refused changes nothing (the running optimizer config and alert rules stay whole).
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::Method;
use perfkit::PerformanceService;
use proptest::prelude::*;
use serde_json::Value;
use support::{Answer, Call, app, path, send};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap()
}

/// 2xx, or a 4xx with perfkit's JSON error.
fn well_answered(answer: &Answer, what: &str) -> Result<(), TestCaseError> {
    let status = answer.status.as_u16();
    prop_assert!(status < 500, "{what}: {status} {}", answer.text());
    if status >= 400 {
        let body: Value = serde_json::from_slice(&answer.body)
            .map_err(|e| TestCaseError::fail(format!("{what}: {status} not JSON: {e}")))?;
        prop_assert!(body["error"]["code"].is_string(), "{what}: {body}");
    }
    Ok(())
}

fn running(service: &PerformanceService) -> (Value, Value) {
    (
        serde_json::to_value(service.parts().optimizer.config()).unwrap(),
        serde_json::to_value(service.parts().alerts.rules()).unwrap(),
    )
}

/// Bodies: valid JSON of the wrong shape, JSON with odd values, and raw bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let json_leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "\\PC{0,16}".prop_map(Value::String),
    ];
    let json = json_leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("pattern".to_owned()),
                    Just("rules".to_owned()),
                    Just("enabled".to_owned()),
                    Just("mode".to_owned()),
                    Just("cooldowns".to_owned()),
                    "[a-zA-Z]{1,8}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        json.prop_map(|value| value.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..128),
    ]
}

const WRITES: [(&str, &str); 5] = [
    ("PUT", "/alerts/rules"),
    ("PUT", "/optimization/config"),
    ("PUT", "/optimization/auto"),
    ("DELETE", "/cache/pattern"),
    ("POST", "/optimization/run"),
];

/// Runs `check` on `cases` inputs from `strategy` against one service and router, so a case
/// costs a request, not a service.
fn run_cases<S: Strategy>(
    cases: u32,
    strategy: S,
    check: impl Fn(&PerformanceService, &Sender, S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let runtime = runtime();
    let (service, app) = runtime.block_on(app());
    let sender = Sender { runtime, app };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases));
    runner.run(&strategy, |input| check(&service, &sender, input)).unwrap();
}

/// The router and the runtime to send requests through it on.
struct Sender {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
}

impl Sender {
    fn send(&self, call: Call) -> Answer {
        self.runtime.block_on(send(&self.app, call))
    }
}

#[test]
fn any_body_to_a_write_is_answered_and_a_refusal_changes_nothing() {
    let content_type = prop_oneof![
        Just(Some("application/json")),
        Just(None),
        Just(Some("text/plain")),
        Just(Some("application/json; charset=utf-8")),
        Just(Some("application/jsonx")),
    ];
    run_cases(
        1024,
        (0..WRITES.len(), body(), content_type),
        |service, app, (which, body, content_type)| {
            let before = running(service);
            let (method, route) = WRITES[which];
            let call = Call::new(Method::from_bytes(method.as_bytes()).unwrap(), &path(route))
                .admin()
                .raw(content_type, body);
            let answer = app.send(call);
            well_answered(&answer, route)?;
            if !answer.status.is_success() {
                prop_assert_eq!(running(service), before, "{} refused yet changed", route);
            }
            Ok(())
        },
    );
}

#[test]
fn any_query_string_is_answered() {
    let route = prop_oneof![
        Just("/history"),
        Just("/optimization/history"),
        Just("/metrics"),
        Just("/alerts")
    ];
    run_cases(512, ("\\PC{0,40}", route), |_, app, (query, route)| {
        let encoded: String = query
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"=&-_.".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let answer = app.send(Call::get(&format!("{}?{encoded}", path(route))));
        well_answered(&answer, route)
    });
}

#[test]
fn any_path_under_the_prefix_is_answered() {
    let segments = proptest::collection::vec("[a-zA-Z0-9%._~-]{0,12}", 0..5);
    run_cases(512, segments, |_, app, segments| {
        let call = Call::get(&path(&format!("/{}", segments.join("/"))));
        well_answered(&app.send(call), "path")
    });
}
