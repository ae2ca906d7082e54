//! The checked-in `docs/openapi.json` is the document the code generates.
// The router and its document are the `api` feature's.
#![cfg(feature = "api")]
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
        ("get", "/info"),
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

/// Whether `schema` says nothing about its shape: `{}`, or an object with no properties, no
/// additional-properties schema and no composition. Arrays are judged by their items and
/// references by their target.
fn is_bare(document: &serde_json::Value, schema: &serde_json::Value) -> bool {
    let Some(object) = schema.as_object() else { return true };
    if let Some(reference) = object.get("$ref").and_then(serde_json::Value::as_str) {
        let name = reference.trim_start_matches("#/components/schemas/");
        return is_bare(document, &document["components"]["schemas"][name]);
    }
    if object.get("type").and_then(serde_json::Value::as_str) == Some("array") {
        return object.get("items").is_none_or(|items| is_bare(document, items));
    }
    let shaped = ["properties", "additionalProperties", "allOf", "oneOf", "anyOf", "enum", "const"]
        .iter()
        .any(|key| object.contains_key(*key));
    let typed_not_object = object
        .get("type")
        .is_some_and(|kind| kind != "object" && kind.as_array().is_none_or(|k| k.len() > 1));
    !(shaped || typed_not_object)
}

#[test]
fn no_request_or_response_body_is_a_bare_object() {
    let document: serde_json::Value =
        serde_json::from_str(&perfkit_axum::openapi_json().unwrap()).unwrap();
    let mut bare = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let mut bodies = vec![("request".to_owned(), &operation["requestBody"]["content"])];
            if let Some(responses) = operation["responses"].as_object() {
                for (status, response) in responses {
                    bodies.push((format!("response {status}"), &response["content"]));
                }
            }
            for (what, content) in bodies {
                for (media, body) in content.as_object().into_iter().flatten() {
                    if is_bare(&document, &body["schema"]) {
                        bare.push(format!("{method} {path} {what} {media}"));
                    }
                }
            }
        }
    }
    assert!(bare.is_empty(), "bodies without a real schema: {bare:#?}");
}

#[test]
fn the_bare_object_check_catches_bare_objects() {
    let document = serde_json::json!({ "components": { "schemas": {
        "Empty": { "type": "object" },
        "Shaped": { "type": "object", "properties": { "a": { "type": "string" } } },
    }}});
    for bare in [
        serde_json::json!({}),
        serde_json::json!({ "type": "object" }),
        serde_json::json!({ "type": "array", "items": {} }),
        serde_json::json!({ "$ref": "#/components/schemas/Empty" }),
    ] {
        assert!(is_bare(&document, &bare), "{bare}");
    }
    for shaped in [
        serde_json::json!({ "type": "string" }),
        serde_json::json!({ "$ref": "#/components/schemas/Shaped" }),
        serde_json::json!({ "type": "array", "items": { "type": "integer" } }),
    ] {
        assert!(!is_bare(&document, &shaped), "{shaped}");
    }
}

/// Operations anyone may call, whatever the config: the probes, the document, the page.
const OPEN: [&str; 5] = [
    "/",
    "/api/performance/health",
    "/api/performance/health/live",
    "/api/performance/health/ready",
    "/api/performance/openapi.json",
];

fn operations(document: &serde_json::Value) -> Vec<(String, String, &serde_json::Value)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations.push((method.clone(), path.clone(), operation));
        }
    }
    operations
}

#[test]
fn every_admin_operation_lists_401_and_429_and_every_read_operation_401() {
    let document: serde_json::Value =
        serde_json::from_str(&perfkit_axum::openapi_json().unwrap()).unwrap();
    let mut missing = Vec::new();
    let mut admin = 0;
    for (method, path, operation) in operations(&document) {
        let responses = &operation["responses"];
        let lists = |status: &str| responses.get(status).is_some();
        if operation.get("security").is_some() {
            admin += 1;
            for status in ["401", "429"] {
                if !lists(status) {
                    missing.push(format!("admin {method} {path}: {status}"));
                }
            }
        } else if !OPEN.contains(&path.as_str()) && !lists("401") {
            missing.push(format!("read {method} {path}: 401"));
        }
    }
    assert!(
        missing.is_empty(),
        "refusals the extractors answer but the document omits: {missing:#?}"
    );
    assert!(admin >= 14, "only {admin} admin operations: is `security` still set on them?");
}

/// Every `"$ref"` string anywhere in `value`.
fn references<'a>(value: &'a serde_json::Value, found: &mut Vec<&'a str>) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, field) in fields {
                match (key.as_str(), field.as_str()) {
                    ("$ref", Some(target)) => found.push(target),
                    _ => references(field, found),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

/// The value a local JSON pointer reference (`#/components/schemas/X`) names.
fn resolve<'a>(document: &'a serde_json::Value, reference: &str) -> Option<&'a serde_json::Value> {
    let pointer = reference.strip_prefix('#')?;
    document.pointer(pointer)
}

#[test]
fn every_reference_in_the_document_resolves() {
    let document: serde_json::Value =
        serde_json::from_str(&perfkit_axum::openapi_json().unwrap()).unwrap();
    let mut found = Vec::new();
    references(&document, &mut found);
    assert!(found.len() > 50, "only {} references found", found.len());
    let dangling: Vec<&str> =
        found.into_iter().filter(|reference| resolve(&document, reference).is_none()).collect();
    assert!(dangling.is_empty(), "references to nothing: {dangling:?}");
}

#[test]
fn the_reference_check_catches_a_dangling_one() {
    let document = serde_json::json!({
        "components": { "schemas": { "Here": { "type": "string" } } },
        "paths": { "/x": { "get": { "parameters": [
            { "schema": { "$ref": "#/components/schemas/Here" } },
            { "schema": { "$ref": "#/components/schemas/StatementOrder" } },
        ]}}},
    });
    let mut found = Vec::new();
    references(&document, &mut found);
    let dangling: Vec<&str> =
        found.into_iter().filter(|r| resolve(&document, r).is_none()).collect();
    assert_eq!(dangling, ["#/components/schemas/StatementOrder"]);
}
