//! Named figures behind a decision or an effect, kept in name order so a history entry reads like
//! a change log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Named figures behind a decision or an effect (`cacheHitRate: 0.52`, `workers: 4`).
///
/// Serializes as a JSON object in name order, so a history entry reads like a change log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Figures(BTreeMap<String, f64>);

impl Figures {
    /// No figures.
    #[must_use]
    pub fn new() -> Self {
        Figures::default()
    }

    /// Adds `name = value`, replacing an earlier value of the same name.
    #[must_use]
    pub fn with(mut self, name: &str, value: f64) -> Self {
        self.0.insert(name.to_owned(), value);
        self
    }

    /// Adds `name = value` in place.
    pub fn insert(&mut self, name: &str, value: f64) {
        self.0.insert(name.to_owned(), value);
    }

    /// The value of `name`, if recorded.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }

    /// Whether no figure is recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
