//! Analysis of snapshot history: trends per metric and per business series, the
//! performance score, and the guide's targets met or not.
//!
//! See [`score`](fn@score) and the module docs of its source for the scoring formula.

mod score;
mod series_trend;
mod targets;
mod trend;

pub use score::{MetricScore, PerformanceScore, ScoreTargets, Status, score};
pub use series_trend::{
    Heading, MAX_SERIES_TRENDS, SeriesTrend, headline_aggregation, series_trends,
};
pub use targets::{TargetCheck, TargetSide, targets_met};
pub use trend::{Direction, MIN_POINTS as MIN_TREND_POINTS, Trend, trend, trends};
