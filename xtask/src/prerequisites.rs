//! The programs the test suite runs for real (a redis-server, PostgreSQL, an Alertmanager,
//! headless Chromium and its WebDriver), installed where this machine allows it, or named
//! exactly when it does not.

use std::process::Command;

use anyhow::{Result, bail};

use crate::shell::{execute, has_program};

/// A program some tests start, and where to get it.
struct Prerequisite {
    /// Names the program may have on PATH; the first is the usual one.
    programs: &'static [&'static str],
    /// The Debian package that provides it.
    debian_package: &'static str,
    /// Which tests need it.
    needed_by: &'static str,
}

const PREREQUISITES: &[Prerequisite] = &[
    Prerequisite {
        programs: &["redis-server"],
        debian_package: "redis-server",
        needed_by: "perfkit-cache's Redis backend tests (each starts a private server on a free port)",
    },
    Prerequisite {
        programs: &["initdb"],
        debian_package: "postgresql",
        needed_by: "perfkit-sqlx's and the demo's PostgreSQL tests (each starts a private server with initdb and pg_ctl on a free port)",
    },
    Prerequisite {
        programs: &["prometheus-alertmanager", "alertmanager"],
        debian_package: "prometheus-alertmanager",
        needed_by: "perfkit-alerting's test against a real Alertmanager",
    },
    Prerequisite {
        programs: &["promtool"],
        debian_package: "prometheus",
        needed_by: "perfkit-server's end-to-end tests (promtool check metrics on the exposition) \
                    and deploy tests (promtool check and test rules)",
    },
    Prerequisite {
        programs: &["prometheus"],
        debian_package: "prometheus",
        needed_by: "perfkit-server's deploy test (a real Prometheus scraping the server, every \
                    Grafana panel's expression answering)",
    },
    Prerequisite {
        programs: &["chromium", "chromium-browser"],
        debian_package: "chromium",
        needed_by: "perfkit-server's browser test of the dashboard (headless Chromium)",
    },
    Prerequisite {
        programs: &["wrk"],
        debian_package: "wrk",
        needed_by: "the short chaos run (steady load while faults are injected)",
    },
    Prerequisite {
        programs: &["chromedriver"],
        debian_package: "chromium-driver",
        needed_by: "perfkit-server's browser test of the dashboard (WebDriver)",
    },
];

fn installed(prerequisite: &Prerequisite) -> bool {
    prerequisite.programs.iter().any(|program| on_path(program) || in_postgres_bin(program))
}

/// Whether `program` is in a `/usr/lib/postgresql/<version>/bin`: Debian keeps PostgreSQL's
/// server programs off PATH, and the test helper looks there.
fn in_postgres_bin(program: &str) -> bool {
    std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .any(|version| version.path().join("bin").join(program).is_file())
}

pub(crate) fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// Installs every missing prerequisite with apt-get when running as root on Debian; fails
/// with the exact install command otherwise.
pub(crate) fn ensure() -> Result<()> {
    let missing: Vec<&Prerequisite> = PREREQUISITES.iter().filter(|p| !installed(p)).collect();
    for prerequisite in PREREQUISITES.iter().filter(|p| installed(p)) {
        println!("found {} ({})", prerequisite.programs[0], prerequisite.needed_by);
    }
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|p| p.debian_package).collect();
    if is_root() && has_program("apt-get", &["--version"]) {
        println!("installing {} with apt-get", packages.join(", "));
        execute(Command::new("apt-get").args(["update", "-qq"]))?;
        execute(
            Command::new("apt-get")
                .args(["install", "-y", "-qq", "--no-install-recommends"])
                .args(&packages)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        if let Some(still_missing) = missing.iter().find(|p| !installed(p)) {
            bail!("{} is still missing after installing it", still_missing.programs[0]);
        }
        return Ok(());
    }
    let mut message = String::from("the test suite needs programs that are not installed:\n");
    for prerequisite in &missing {
        message.push_str(&format!(
            "  - {} for {}\n",
            prerequisite.programs[0], prerequisite.needed_by
        ));
    }
    message.push_str(&format!(
        "install them (Debian/Ubuntu: sudo apt-get install {}), then run cargo xtask ci again",
        packages.join(" ")
    ));
    bail!(message)
}
