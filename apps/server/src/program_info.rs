//! What this binary knows of itself, in one place: its version, the commit, compiler, build
//! time and features `build.rs` recorded at compile time, when it started and where its
//! settings came from. The API's `GET /info` (through `ApiConfig::program`) and the
//! exposition's `perfkit_build_info` both read it from here.

use perfkit::core::Timestamp;
use perfkit::metrics::{FamilyBuilder, family_desc};
use perfkit_axum::ProgramInfo;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

const BUILD_INFO: (&str, &str) = (
    "perfkit_build_info",
    "Always 1; the labels say which perfkit-server build is running (version, git_commit, rustc).",
);

/// This binary's build, configured from `config_source`.
pub(crate) fn program_info(config_source: String) -> ProgramInfo {
    ProgramInfo {
        name: env!("CARGO_PKG_NAME").to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        git_commit: env!("PERFKIT_GIT_COMMIT").to_owned(),
        build_time: build_time(env!("PERFKIT_BUILD_UNIX_MILLIS")),
        rustc: env!("PERFKIT_RUSTC_VERSION").to_owned(),
        features: features(env!("PERFKIT_FEATURES")),
        config_source,
    }
}

/// The build script's Unix milliseconds; `None` when it had none.
fn build_time(millis: &str) -> Option<Timestamp> {
    millis.parse().ok().map(Timestamp::from_unix_millis)
}

/// The build script's comma-separated features.
fn features(list: &str) -> Vec<String> {
    list.split(',').filter(|feature| !feature.is_empty()).map(str::to_owned).collect()
}

/// `perfkit_build_info{version, git_commit, rustc} 1`, for the service's exporter registry.
pub(crate) struct BuildInfoCollector {
    labels: [(&'static str, String); 3],
    descs: Vec<Desc>,
}

impl BuildInfoCollector {
    pub(crate) fn new(program: &ProgramInfo) -> prometheus::Result<Self> {
        let labels = [
            ("version", program.version.clone()),
            ("git_commit", program.git_commit.clone()),
            ("rustc", program.rustc.clone()),
        ];
        let names: Vec<&str> = labels.iter().map(|(name, _)| *name).collect();
        let descs = vec![family_desc(BUILD_INFO.0, BUILD_INFO.1, &names)?];
        Ok(BuildInfoCollector { labels, descs })
    }
}

impl Collector for BuildInfoCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let labels: Vec<(&str, &str)> =
            self.labels.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let mut family = FamilyBuilder::gauge(BUILD_INFO.0, BUILD_INFO.1);
        family.value(&labels, 1.0);
        vec![family.finish()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_is_described_with_what_build_rs_found() {
        let program = program_info("defaults".to_owned());
        assert_eq!(program.name, "perfkit-server");
        assert_eq!(program.version, env!("CARGO_PKG_VERSION"));
        assert!(!program.git_commit.is_empty());
        assert!(program.rustc.starts_with("rustc ") || program.rustc == ProgramInfo::UNKNOWN);
        assert_eq!(program.features.contains(&"demo".to_owned()), cfg!(feature = "demo"));
        assert!(program.build_time.is_some());
    }

    #[test]
    fn an_empty_build_time_or_feature_list_reads_as_none() {
        assert_eq!(build_time(""), None);
        assert_eq!(build_time("86400000"), Some(Timestamp::from_unix_millis(86_400_000)));
        assert!(features("").is_empty());
        assert_eq!(features("demo,tls"), ["demo", "tls"]);
    }

    #[test]
    fn the_gauge_is_1_with_the_build_as_labels() {
        let program = ProgramInfo {
            version: "1.2.3".to_owned(),
            git_commit: "abc1234".to_owned(),
            rustc: "rustc 1.90.0".to_owned(),
            ..ProgramInfo::default()
        };
        let families = BuildInfoCollector::new(&program).unwrap().collect();
        assert_eq!(families.len(), 1);
        assert_eq!(families[0].name(), "perfkit_build_info");
        let metric = &families[0].get_metric()[0];
        assert_eq!(metric.get_gauge().value(), 1.0);
        let labels: Vec<(&str, &str)> =
            metric.get_label().iter().map(|pair| (pair.name(), pair.value())).collect();
        assert_eq!(
            labels,
            [("version", "1.2.3"), ("git_commit", "abc1234"), ("rustc", "rustc 1.90.0")]
        );
    }
}
