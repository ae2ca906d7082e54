//! The checked-in `docs/openapi.json` is the document the code generates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

const REGENERATE: &str = "PERFKIT_WRITE_OPENAPI=1 cargo test -p perfkit-axum --test openapi";

fn checked_in() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn docs_openapi_json_matches_the_code() {
    let generated = perfkit_axum::openapi_json().unwrap();
    let path = checked_in();
    if std::env::var_os("PERFKIT_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} differs from the document the code generates; regenerate it with `{REGENERATE}` \
         and commit it",
        path.display()
    );
}

#[test]
fn the_document_is_openapi_3_1_and_covers_every_endpoint() {
    let document: serde_json::Value =
        serde_json::from_str(&perfkit_axum::openapi_json().unwrap()).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let rows = [
        ("get", "/summary"),
        ("get", "/metrics"),
        ("get", "/metrics/system"),
        ("get", "/metrics/application"),
        ("get", "/metrics/prometheus"),
        ("get", "/report"),
        ("get", "/history"),
        ("get", "/cache/stats"),
        ("delete", "/cache"),
        ("delete", "/cache/pattern"),
        ("post", "/cache/optimize"),
        ("get", "/optimization/history"),
        ("get", "/optimization/recommendations"),
        ("post", "/optimization/run"),
        ("post", "/optimization/force"),
        ("get", "/optimization/config"),
        ("put", "/optimization/config"),
        ("put", "/optimization/auto"),
        ("get", "/dashboard"),
        ("delete", "/alerts"),
        ("delete", "/metrics"),
        ("get", "/health"),
        ("get", "/alerts"),
        ("get", "/alerts/rules"),
        ("put", "/alerts/rules"),
        ("get", "/stream"),
        ("get", "/openapi.json"),
        ("get", "/health/live"),
        ("get", "/health/ready"),
    ];
    for (method, path) in rows {
        let full = format!("/api/performance{path}");
        let operation = &document["paths"][&full][method];
        assert!(operation.is_object(), "{method} {full} is not documented");
        let admin = method != "get";
        let secured = operation.get("security").is_some();
        assert_eq!(secured, admin, "{method} {full}: security requirement");
    }
    assert!(document["paths"]["/"]["get"].is_object());
}
