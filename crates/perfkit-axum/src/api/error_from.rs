//! The perfkit crates' errors as the API answers them: which are the client's to fix (422,
//! 409), which are a part being down (503), and which are internals, logged not shown (500).

use axum::http::StatusCode;
use perfkit::PerfkitError;
use perfkit::alerting::AlertingError;
use perfkit::cache::CacheError;
use perfkit::host::HostError;
use perfkit::optimizer::OptimizerError;

use crate::error::ApiError;

impl From<PerfkitError> for ApiError {
    fn from(error: PerfkitError) -> Self {
        match error {
            PerfkitError::InvalidConfig(problems) => {
                ApiError::Invalid { what: "service config", problems }
            }
            PerfkitError::Optimizer(OptimizerError::InvalidConfig(problems)) => ApiError::Invalid {
                what: "optimizer config",
                problems: problems.iter().map(ToString::to_string).collect(),
            },
            PerfkitError::Alerting(AlertingError::InvalidRules { problems }) => ApiError::Invalid {
                what: "alert rules",
                problems: problems.iter().map(ToString::to_string).collect(),
            },
            PerfkitError::Cache(error @ CacheError::LockBusy { .. }) => ApiError::Status {
                status: StatusCode::CONFLICT,
                message: format!("{error}: another instance is doing this now; try again"),
            },
            PerfkitError::Cache(error) => {
                tracing::warn!(%error, "cache operation failed");
                ApiError::Unavailable("the cache did not answer; see the server log".to_owned())
            }
            PerfkitError::Host(error) => error.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<HostError> for ApiError {
    fn from(error: HostError) -> Self {
        match error {
            HostError::TooManyConnections { max } => {
                ApiError::Unavailable(format!("connection limit of {max} reached"))
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;

    async fn body_of(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn internals_are_logged_not_shown() {
        let (status, body) = body_of(ApiError::from(PerfkitError::Setup {
            part: "prometheus exposition",
            message: "secret detail at /etc/thing".to_owned(),
        }))
        .await;
        assert_eq!(status, 500);
        assert_eq!(body["error"]["code"], "internal_error");
        assert!(!body.to_string().contains("secret"), "{body}");
    }

    #[tokio::test]
    async fn cache_failures_are_503_without_redis_detail() {
        let error = PerfkitError::Cache(CacheError::Backend {
            command: "UNLINK",
            message: "connection refused 10.0.0.1:6379".to_owned(),
        });
        let (status, body) = body_of(error.into()).await;
        assert_eq!(status, 503);
        assert!(!body.to_string().contains("10.0.0.1"), "{body}");
    }

    #[tokio::test]
    async fn a_busy_turn_is_a_conflict_naming_the_holder() {
        let error = PerfkitError::Cache(CacheError::LockBusy {
            lock: "optimizer".to_owned(),
            holder: Some("api-2".to_owned()),
        });
        let (status, body) = body_of(error.into()).await;
        assert_eq!(status, 409);
        assert_eq!(body["error"]["code"], "conflict");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("api-2"), "{message}");
    }
}
