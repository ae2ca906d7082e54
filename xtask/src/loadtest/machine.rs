//! The machine line of a load test's record in docs/BENCHMARKS.md: the description every
//! xtask writes (`crate::machine`), with the load average when the run started.

/// The machine, said in one line: `2 cores (AMD EPYC 7B13), 23.4 GiB, load average 0.42 at
/// start`.
pub(crate) fn describe() -> String {
    format!("{}, load average {} at start", crate::machine::description(), load())
}

/// Bytes in GiB, one decimal.
#[allow(clippy::cast_precision_loss)] // a figure for people, to one decimal
pub(crate) fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// The one-minute load average, or `?` where it cannot be read.
pub(crate) fn load() -> String {
    crate::machine::load_average().map_or_else(|| "?".to_owned(), |load| format!("{load:.2}"))
}

/// Today's date, UTC, `YYYY-MM-DD`.
pub(crate) fn today() -> String {
    crate::machine::utc_date()
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
