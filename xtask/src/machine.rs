//! What the machine a measurement ran on is: cores, CPU model, memory, load and the date,
//! for the headers of the tables the xtask commands write into the docs.

use std::time::{SystemTime, UNIX_EPOCH};

/// `"<cores> cores (<CPU model>), <memory> GiB"`, from `/proc` where it exists.
pub(crate) fn description() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = proc_field(&cpuinfo, "model name").unwrap_or("CPU model unknown").to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = proc_field(&meminfo, "MemTotal")
        .and_then(|value| value.trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or_else(
            || "memory unknown".to_owned(),
            |kib| format!("{:.1} GiB", kib as f64 / (1024.0 * 1024.0)),
        );
    format!("{cores} cores ({model}), {memory}")
}

/// The value of the first `name : value` line of a `/proc` file.
fn proc_field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim())
    })
}

/// The one-minute load average, where `/proc/loadavg` exists.
pub(crate) fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub(crate) fn utc_date() -> String {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_from_days(seconds / 86_400);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_the_epoch_become_calendar_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }

    #[test]
    fn proc_fields_are_read_by_name() {
        let text = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nMemTotal:       24576000 kB\n";
        assert_eq!(proc_field(text, "model name"), Some("AMD EPYC 7B13"));
        assert_eq!(proc_field(text, "MemTotal"), Some("24576000 kB"));
        assert_eq!(proc_field(text, "absent"), None);
    }
}
