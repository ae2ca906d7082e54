//! The optimizer's one error type: a refused configuration with every problem listed, a host
//! control that failed, or a recommendation that lacks what its action needs.

use perfkit_control::ControlError;

use crate::ActionKind;
use crate::config::ConfigProblem;

/// Everything that can go wrong in the optimizer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimizerError {
    /// A configuration update was refused; the old configuration stays in force.
    #[error("invalid optimizer config: {}", list(.0))]
    InvalidConfig(Vec<ConfigProblem>),
    /// A control the host implements failed, or the host provides none for the action.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// A recommendation lacks a figure its action needs (a rule and its action disagree), so
    /// nothing was done.
    #[error("a {action} recommendation without {missing}")]
    IncompleteRecommendation {
        /// The action recommended.
        action: ActionKind,
        /// What it lacks.
        missing: &'static str,
    },
}

fn list(problems: &[ConfigProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}
