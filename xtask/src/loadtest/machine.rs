//! The machine a run happened on, for the record in docs/BENCHMARKS.md: cores, CPU model,
//! memory, load average and the date.

use std::process::Command;

use super::process::{cores, machine_memory_kib};

/// The machine, said in one line: `2 cores (AMD EPYC 7B13), 23.4 GiB, load 0.42 at start`.
pub(crate) fn describe() -> String {
    let memory = machine_memory_kib().map_or_else(|_| "? GiB".to_owned(), |kib| gib(kib * 1024));
    format!("{} cores ({}), {memory}, load average {} at start", cores(), cpu_model(), load())
}

/// Bytes in GiB, one decimal.
pub(crate) fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == "model name").then(|| value.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// The one-minute load average.
pub(crate) fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

/// Today's date, UTC (`date -u +%F`).
pub(crate) fn today() -> String {
    Command::new("date")
        .args(["-u", "+%F"])
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|date| !date.is_empty())
        .unwrap_or_else(|| "unknown date".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_is_described() {
        let text = describe();
        assert!(text.contains("cores") && text.contains("GiB"), "{text}");
        assert_eq!(gib(3 << 29), "1.5 GiB");
        assert_eq!(today().len(), 10);
    }
}
