//! Analysis of snapshot history: trends per metric and the performance score.
//!
//! See [`score`](fn@score) and the module docs of its source for the scoring formula.

mod score;
mod trend;

pub use score::{MetricScore, PerformanceScore, ScoreTargets, Status, score};
pub use trend::{Direction, MIN_POINTS as MIN_TREND_POINTS, Trend, trend, trends};
