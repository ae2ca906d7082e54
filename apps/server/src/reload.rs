//! SIGHUP: re-read the config file and apply what can change without a restart: the alert
//! rules, the inhibit rules and the optimizer config. The whole file is read and checked first,
//! with every layer as at start-up (flags and environment still win); an invalid file is
//! refused whole and logged, and the running config stays. Other sections (bind, cache,
//! notifiers, ...) take effect at the next start.

use anyhow::{Context, Result};
use perfkit::PerformanceService;

use crate::cli::Cli;
use crate::config::{self, Settings};

/// Applies a reload on every SIGHUP until the process ends.
pub(crate) async fn on_sighup(service: PerformanceService, cli: Cli) {
    use tokio::signal::unix::{SignalKind, signal};

    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGHUP: config reload is off");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        let read = config::load(&cli, &|name| std::env::var(name).ok());
        match read.and_then(|settings| apply(&service, &settings)) {
            Ok(summary) => tracing::info!(
                rules = summary.rules,
                inhibit_rules = summary.inhibit_rules,
                "config reloaded: alert rules, inhibit rules and optimizer config applied; other sections take effect at restart"
            ),
            Err(error) => tracing::error!(
                error = %format!("{error:#}"),
                "config reload refused: the running config stays"
            ),
        }
    }
}

/// What a reload applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Applied {
    pub(crate) rules: usize,
    pub(crate) inhibit_rules: usize,
}

/// Applies the reloadable parts of `settings` (already read and checked whole): all of them,
/// or none when any is refused.
pub(crate) fn apply(service: &PerformanceService, settings: &Settings) -> Result<Applied> {
    let optimizer = &service.parts().optimizer;
    // Checked before anything changes, so a refusal leaves both parts as they were.
    settings
        .optimizer
        .validate()
        .map_err(perfkit::optimizer::OptimizerError::InvalidConfig)
        .context("section [optimizer]")?;
    service
        .parts()
        .alerts
        .reload(settings.alert_rules.clone(), settings.inhibit_rules.clone())
        .context("section [alerts]")?;
    optimizer.update_config(settings.optimizer.clone()).context("section [optimizer]")?;
    Ok(Applied {
        rules: settings.alert_rules.rules.len(),
        inhibit_rules: settings.inhibit_rules.len(),
    })
}
