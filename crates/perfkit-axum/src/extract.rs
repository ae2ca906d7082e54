//! Extractors whose rejections are [`ApiError`]s, so axum's own rejections come out as
//! API.md's JSON error too.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body; malformed JSON and wrong types are 400, a wrong content type 415, a body
/// over the limit 413.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(&rejection, state.config.body_limit)),
        }
    }
}

pub(crate) fn json_rejection(rejection: &JsonRejection, body_limit: usize) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::JsonDataError(error) => ApiError::InvalidJson(error.body_text()),
        JsonRejection::JsonSyntaxError(error) => ApiError::InvalidJson(error.body_text()),
        JsonRejection::BytesRejection(_) if rejection.status() == 413 => {
            ApiError::PayloadTooLarge { limit: body_limit }
        }
        other => ApiError::InvalidJson(other.body_text()),
    }
}

/// The body as bytes, checked for a JSON content type and the size limit, for endpoints
/// that parse it themselves (to list every problem of a rule set).
pub(crate) struct JsonBytes(pub(crate) axum::body::Bytes);

impl FromRequest<AppState> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        if !has_json_content_type(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        match axum::body::Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(JsonBytes(bytes)),
            Err(rejection) if rejection.status() == 413 => {
                Err(ApiError::PayloadTooLarge { limit: state.config.body_limit })
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
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LimitQuery {
    /// How many entries, 1..=1000.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// Largest `limit` any list endpoint accepts.
pub(crate) const MAX_LIMIT: i64 = 1000;

impl LimitQuery {
    /// The limit, or `default` when absent.
    pub(crate) fn resolve(&self, default: usize) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(default),
            Some(got) => match usize::try_from(got) {
                Ok(limit) if (1..=MAX_LIMIT).contains(&got) => Ok(limit),
                _ => Err(ApiError::OutOfRange { name: "limit", min: 1, max: MAX_LIMIT, got }),
            },
        }
    }
}

/// A query string; one that does not parse is 400.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> ApiError {
    ApiError::InvalidQuery(rejection.body_text())
}

#[cfg(test)]
mod tests {
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
}
