//! Extractors whose rejections are [`ApiError`]s, so axum's own rejections come out as
//! perfkit's JSON error too. They are public: a host's handlers (the server's demo among
//! them) answer bad input in the same words as perfkit's own endpoints.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest body the router accepts, as a request extension: the router inserts it, so
/// a 413 can name the limit that refused the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

/// A JSON **object** body deserialized into `T`.
///
/// Malformed JSON, a body that is not an object (`[]`, `null`, `3`) and wrong types are 400;
/// a content type other than JSON is 415; a body over the limit 413. Refusing non-objects
/// here matters because serde lets a struct be read from a sequence: `[]` would otherwise
/// become a struct of defaults and silently reset a config.
///
/// ```
/// use axum::{Router, routing::put};
/// use perfkit_axum::ApiJson;
///
/// #[derive(serde::Deserialize)]
/// struct Rename { name: String }
///
/// async fn rename(ApiJson(body): ApiJson<Rename>) -> String {
///     body.name
/// }
///
/// let app: Router = Router::new().route("/name", put(rename));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBytes(bytes) = JsonBytes::from_request(request, state).await?;
        let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
        match first {
            Some(b'{') => {}
            Some(_) => {
                return Err(ApiError::InvalidJson("expected a JSON object `{ ... }`".to_owned()));
            }
            None => return Err(ApiError::InvalidJson("the body is empty".to_owned())),
        }
        let mut document: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|error| ApiError::InvalidJson(error.to_string()))?;
        whole_numbers_as_integers(&mut document);
        T::deserialize(document)
            .map(ApiJson)
            .map_err(|error| ApiError::InvalidJson(error.to_string()))
    }
}

/// Rewrites every number that is a whole number written with a fraction (`156.0`) as the
/// integer it is. JSON Schema, and so the OpenAPI document, counts `156.0` as an integer;
/// serde's integer types refuse it. Fractions (`156.5`) stay, and are refused where an
/// integer is expected.
pub(crate) fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64())
                && float.fract() == 0.0
                && float.abs() < 9_007_199_254_740_992.0
            {
                #[allow(clippy::cast_possible_truncation)] // whole and below 2^53: exact
                let whole = float as i64;
                *number = whole.into();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

/// The body as bytes, checked for a JSON content type and the size limit, for endpoints
/// that parse it themselves (to list every problem of a rule set).
#[derive(Debug, Clone)]
pub struct JsonBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !has_json_content_type(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let limit = request.extensions().get::<BodyLimit>().map(|limit| limit.0);
        match axum::body::Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(JsonBytes(bytes)),
            Err(rejection) if rejection.status() == 413 => {
                Err(ApiError::PayloadTooLarge { limit: limit.unwrap_or_default() })
            }
            Err(rejection) => Err(ApiError::InvalidJson(rejection.body_text())),
        }
    }
}

fn has_json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(axum::http::header::CONTENT_TYPE) else { return false };
    let Ok(value) = value.to_str() else { return false };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// `?limit=N`, checked against a range; absent means the endpoint's default.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "api", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct LimitQuery {
    /// How many entries, 1..=1000.
    #[cfg_attr(feature = "api", param(minimum = 1, maximum = 1000))]
    limit: Option<i64>,
}

/// Largest `limit` any list endpoint accepts.
pub const MAX_LIMIT: i64 = 1000;

impl LimitQuery {
    /// The limit, or `default` when absent.
    ///
    /// # Errors
    /// [`ApiError::OutOfRange`] outside `1..=1000`.
    pub fn resolve(&self, default: usize) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(default),
            Some(got) => match usize::try_from(got) {
                Ok(limit) if (1..=MAX_LIMIT).contains(&got) => Ok(limit),
                _ => Err(ApiError::OutOfRange { name: "limit", min: 1, max: MAX_LIMIT, got }),
            },
        }
    }
}

/// A query string deserialized into `T`; one that does not parse is 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> ApiError {
    ApiError::InvalidQuery(rejection.body_text())
}

/// A path parameter deserialized into `T`; one that does not parse is 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(ApiError::InvalidQuery(rejection.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    #[test]
    fn limits_outside_the_range_are_refused() {
        for got in [0, -1, 1001, i64::MAX] {
            let error = LimitQuery { limit: Some(got) }.resolve(50).unwrap_err();
            assert_eq!(error.code(), "out_of_range", "{got}");
        }
        assert_eq!(LimitQuery { limit: None }.resolve(50).unwrap(), 50);
        assert_eq!(LimitQuery { limit: Some(1000) }.resolve(50).unwrap(), 1000);
    }

    #[test]
    fn whole_numbers_with_a_fraction_become_integers() {
        let mut value = serde_json::json!({"a": 156.0, "b": [2.0, 2.5, -3.0], "c": {"d": 1e3}});
        whole_numbers_as_integers(&mut value);
        assert_eq!(value, serde_json::json!({"a": 156, "b": [2, 2.5, -3], "c": {"d": 1000}}));
        assert!(value["a"].is_u64() && value["b"][2].is_i64() && value["b"][1].is_f64());
    }

    #[test]
    fn json_content_types_are_recognised() {
        let mut headers = axum::http::HeaderMap::new();
        assert!(!has_json_content_type(&headers));
        headers.insert("content-type", "application/json; charset=utf-8".parse().unwrap());
        assert!(has_json_content_type(&headers));
        headers.insert("content-type", "application/merge-patch+json".parse().unwrap());
        assert!(has_json_content_type(&headers));
        headers.insert("content-type", "text/plain".parse().unwrap());
        assert!(!has_json_content_type(&headers));
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct AllDefaults {
        #[allow(dead_code)]
        enabled: bool,
    }

    async fn extract(body: &'static str) -> Result<ApiJson<AllDefaults>, ApiError> {
        let request = Request::put("/")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        ApiJson::<AllDefaults>::from_request(request, &()).await
    }

    #[tokio::test]
    async fn only_objects_are_read_into_structs() {
        // serde reads a struct of defaults from `[]`; the extractor must not.
        assert!(serde_json::from_str::<AllDefaults>("[]").is_ok());
        for body in ["[]", " [true]", "null", "3", "\"x\"", "", "   "] {
            let error = extract(body).await.unwrap_err();
            assert_eq!(error.code(), "invalid_json", "{body:?}");
        }
        assert!(extract(" {}").await.is_ok());
        assert!(extract("{\"enabled\": true}").await.is_ok());
        assert_eq!(extract("{\"enabled\": 1}").await.unwrap_err().code(), "invalid_json");
    }
}
