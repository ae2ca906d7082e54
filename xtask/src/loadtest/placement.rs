//! Where the measured process and wrk run: on a shared machine both float over every core;
//! on a large machine (`--cores`) each is pinned with `taskset` to its own CPUs, so the
//! server's throughput is read against the cores it was given and wrk never competes with it.

use std::process::Command;

use crate::server::with_open_file_limit;

/// The CPU lists (`taskset -c` syntax) and wrk's thread count of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placement {
    /// The CPUs of the measured server or app; `None`: any.
    pub(crate) server_cpus: Option<String>,
    /// The CPUs of wrk; `None`: any.
    pub(crate) load_cpus: Option<String>,
    pub(crate) wrk_threads: u32,
}

impl Placement {
    /// Everything on every core, wrk with two threads: the 2-core machine's runs.
    pub(crate) fn shared() -> Placement {
        Placement { server_cpus: None, load_cpus: None, wrk_threads: 2 }
    }

    /// The server on the first `server_cores` CPUs, wrk on the last `load_cores` of
    /// `machine_cores`, one wrk thread per load core.
    pub(crate) fn split(server_cores: usize, load_cores: usize, machine_cores: usize) -> Placement {
        let first_load = machine_cores.saturating_sub(load_cores);
        Placement {
            server_cpus: Some(cpu_range(0, server_cores)),
            load_cpus: Some(cpu_range(first_load, load_cores)),
            wrk_threads: u32::try_from(load_cores).unwrap_or(u32::MAX).max(1),
        }
    }

    /// The command that starts the measured process.
    pub(crate) fn server_command(&self, program: &str) -> Command {
        pinned(self.server_cpus.as_deref(), program)
    }

    /// The command that starts wrk.
    pub(crate) fn load_command(&self) -> Command {
        pinned(self.load_cpus.as_deref(), "wrk")
    }
}

/// `taskset -c LIST` in front of [`with_open_file_limit`]; taskset execs, so the child's pid
/// stays the program's.
fn pinned(cpus: Option<&str>, program: &str) -> Command {
    let limited = with_open_file_limit(program);
    let Some(cpus) = cpus else { return limited };
    let mut command = Command::new("taskset");
    command.args(["-c", cpus]).arg(limited.get_program()).args(limited.get_args());
    command
}

/// `first-last` of `count` CPUs from `first`.
fn cpu_range(first: usize, count: usize) -> String {
    let last = first + count.max(1) - 1;
    if first == last { first.to_string() } else { format!("{first}-{last}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_gives_the_server_the_first_cpus_and_wrk_the_last() {
        let placement = Placement::split(4, 8, 16);
        assert_eq!(placement.server_cpus.as_deref(), Some("0-3"));
        assert_eq!(placement.load_cpus.as_deref(), Some("8-15"));
        assert_eq!(placement.wrk_threads, 8);
        assert_eq!(Placement::split(1, 8, 16).server_cpus.as_deref(), Some("0"));
    }

    #[test]
    fn pinned_commands_run_under_taskset_and_shared_ones_do_not() {
        let command = Placement::split(2, 2, 4).server_command("perfkit-server");
        assert_eq!(command.get_program(), "taskset");
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(&args[..3], ["-c", "0-1", "sh"]);
        assert_eq!(args.last().map(String::as_str), Some("perfkit-server"));
        assert_eq!(Placement::shared().load_command().get_program(), "sh");
    }
}
