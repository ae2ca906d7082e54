//! The optimizer's one error type: a refused configuration with every problem listed, or a host
//! control that failed.

use crate::config::ConfigProblem;

/// Everything that can go wrong in the optimizer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimizerError {
    /// A configuration update was refused; the old configuration stays in force.
    #[error("invalid optimizer config: {}", list(.0))]
    InvalidConfig(Vec<ConfigProblem>),
    /// A control the host implements failed.
    #[error("{control} control failed: {message}")]
    Control {
        /// Which control: `cache`, `connections`, `memory` or `queue`.
        control: &'static str,
        /// What went wrong, in the implementation's words.
        message: String,
    },
}

impl OptimizerError {
    /// A failure of the named control, for host implementations of the control traits.
    pub fn control(control: &'static str, message: impl std::fmt::Display) -> Self {
        OptimizerError::Control { control, message: message.to_string() }
    }
}

fn list(problems: &[ConfigProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}
