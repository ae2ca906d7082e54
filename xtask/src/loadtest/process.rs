//! What the server process costs, read from `/proc`: resident memory (`VmRSS`) and CPU time
//! (`utime + stime` of `/proc/<pid>/stat`), and the machine's memory and cores to share
//! them over.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};

/// A reading of one process's CPU time, to take a difference over a run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuReading {
    ticks: u64,
    at: Instant,
}

impl CpuReading {
    pub(crate) fn now(pid: u32) -> Result<CpuReading> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("/proc/{pid}/stat"))?;
        Ok(CpuReading { ticks: cpu_ticks(&stat)?, at: Instant::now() })
    }

    /// CPU seconds the process used since `self`, and the seconds that passed.
    pub(crate) fn busy_since(&self, later: &CpuReading) -> (f64, f64) {
        let seconds = later.at.duration_since(self.at).as_secs_f64();
        let busy = later.ticks.saturating_sub(self.ticks) as f64 / clock_ticks_per_second();
        (busy, seconds)
    }
}

/// `utime + stime` (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name in
/// parentheses may hold spaces, so fields are counted after its closing parenthesis.
fn cpu_ticks(stat: &str) -> Result<u64> {
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).context("stat without (comm)")?;
    // After the name: state is field 3, so utime (14) and stime (15) are the 12th and 13th.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |index: usize| -> Result<u64> {
        fields.get(index).context("stat too short")?.parse().context("stat field")
    };
    Ok(field(11)? + field(12)?)
}

/// `getconf CLK_TCK`, 100 (Linux's value everywhere in practice) when it cannot be asked.
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// The resident memory of `pid`, in KiB.
pub(crate) fn resident_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("/proc/{pid}/status"))?;
    kib_field(&status, "VmRSS:")
}

/// The machine's memory (`MemTotal` of `/proc/meminfo`), in KiB.
pub(crate) fn machine_memory_kib() -> Result<u64> {
    kib_field(&std::fs::read_to_string("/proc/meminfo").context("/proc/meminfo")?, "MemTotal:")
}

fn kib_field(text: &str, name: &str) -> Result<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .with_context(|| format!("no {name} line"))
}

/// The cores this process may use.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_after_a_name_with_spaces() {
        let stat = "4242 (perfkit server) S 1 4242 4242 0 -1 4194560 2500 0 0 0 700 300 0 0 \
                    20 0 9 0 12345 1000000 5000";
        assert_eq!(cpu_ticks(stat).unwrap(), 1000);
        assert!(cpu_ticks("4242 no name").is_err());
    }

    #[test]
    fn kib_fields_are_read_from_proc_text() {
        let status = "Name:\tperfkit-server\nVmRSS:\t   51200 kB\nThreads:\t9\n";
        assert_eq!(kib_field(status, "VmRSS:").unwrap(), 51200);
        assert!(kib_field(status, "MemTotal:").is_err());
    }

    #[test]
    fn this_process_can_be_measured() {
        let pid = std::process::id();
        assert!(resident_kib(pid).unwrap() > 0);
        assert!(machine_memory_kib().unwrap() > resident_kib(pid).unwrap());
        // Spin long enough that the tick counter's 10 ms steps cannot dominate: two readings
        // a microsecond apart can straddle one tick and look like a hundred busy cores.
        let first = CpuReading::now(pid).unwrap();
        let spin = Instant::now();
        while spin.elapsed().as_millis() < 200 {
            std::hint::black_box(spin.elapsed());
        }
        let (busy, seconds) = first.busy_since(&CpuReading::now(pid).unwrap());
        let one_tick_per_core = cores() as f64 / clock_ticks_per_second();
        assert!(busy > 0.0, "200 ms of spinning took no CPU time");
        assert!(busy <= seconds * cores() as f64 + one_tick_per_core, "{busy} s in {seconds} s");
    }
}
