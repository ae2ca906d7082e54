//! The one error type of perfkit-otel.

/// What can go wrong setting traces up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtelError {
    /// A setting that cannot work, named as the operator wrote it (an `OTEL_*` variable or
    /// a field).
    #[error("{setting}: {reason}")]
    InvalidSetting {
        /// The variable or field.
        setting: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The exporter or its export thread could not be made.
    #[error("cannot set up the span exporter: {0}")]
    Exporter(String),
}

impl OtelError {
    pub(crate) fn invalid(setting: &str, reason: impl Into<String>) -> Self {
        OtelError::InvalidSetting { setting: setting.to_owned(), reason: reason.into() }
    }
}
