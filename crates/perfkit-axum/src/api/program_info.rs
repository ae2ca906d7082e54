//! What the program serving the API says about itself at `GET /info`: its name and version,
//! how it was built, when it started and where its settings came from. Only the host knows
//! these (its own version, its build, its config file), so the host fills them in
//! [`ApiConfig::program`](crate::ApiConfig::program); the router never guesses them.

use perfkit::core::Timestamp;

/// The program serving the API, as `GET <api prefix>/info` and the dashboard's footer show
/// it.
///
/// [`Default`] is what a host that says nothing gets: perfkit's own name and version, and
/// [`ProgramInfo::UNKNOWN`] (or nothing) for the rest. The start time defaults to the
/// moment [`router`](crate::router) was built.
///
/// ```
/// use perfkit_axum::{ApiConfig, ProgramInfo};
///
/// let program = ProgramInfo {
///     name: "my-service".to_owned(),
///     version: "2.4.1".to_owned(),
///     git_commit: "1a2b3c4".to_owned(),
///     features: vec!["postgres".to_owned()],
///     config_source: "/etc/my-service.toml".to_owned(),
///     ..ProgramInfo::default()
/// };
/// let config = ApiConfig { program, ..ApiConfig::default() };
/// assert_eq!(config.program.rustc, ProgramInfo::UNKNOWN);
///
/// assert_eq!(ProgramInfo::default().name, "perfkit");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramInfo {
    /// The program's name (`perfkit-server`).
    pub name: String,
    /// Its version.
    pub version: String,
    /// The commit it was built from, short; [`ProgramInfo::UNKNOWN`] outside git.
    pub git_commit: String,
    /// When it was built; `None` when not known.
    pub build_time: Option<Timestamp>,
    /// The compiler that built it (`rustc 1.90.0 (1159e78c4 2025-09-14)`).
    pub rustc: String,
    /// The cargo features it was built with.
    pub features: Vec<String>,
    /// Where its settings came from: a config file's path, or words such as `defaults`.
    pub config_source: String,
}

impl ProgramInfo {
    /// What a field says when the host did not tell.
    pub const UNKNOWN: &'static str = "unknown";
}

impl Default for ProgramInfo {
    fn default() -> Self {
        ProgramInfo {
            name: "perfkit".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            git_commit: ProgramInfo::UNKNOWN.to_owned(),
            build_time: None,
            rustc: ProgramInfo::UNKNOWN.to_owned(),
            features: Vec::new(),
            config_source: ProgramInfo::UNKNOWN.to_owned(),
        }
    }
}
