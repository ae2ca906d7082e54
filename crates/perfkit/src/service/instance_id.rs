//! The default instance id: this host's name and 32 random bits, made once per process, so
//! several servers on one host or in identical containers never share an id.

use std::sync::OnceLock;

/// Longest host part kept, leaving room for the suffix within the 64-character id limit.
const MAX_HOST: usize = 40;

/// `<host>-<8 hex digits>`, the same for the whole life of this process.
pub(crate) fn generated() -> String {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_default();
        let mut bytes = [0_u8; 4];
        // Without randomness the process id still tells processes on one host apart.
        let suffix = match getrandom::fill(&mut bytes) {
            Ok(()) => u32::from_be_bytes(bytes),
            Err(_) => std::process::id(),
        };
        format!("{}-{suffix:08x}", plain(&host))
    })
    .clone()
}

/// The host name reduced to what an instance id may hold (letters, digits, `- _ .`).
fn plain(host: &str) -> String {
    let kept: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(MAX_HOST)
        .collect();
    if kept.is_empty() { "perfkit".to_owned() } else { kept }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_stable_in_a_process_and_plain() {
        let id = generated();
        assert_eq!(id, generated());
        assert!(id.len() <= 64 && id.len() > 9, "{id}");
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)), "{id}");
        assert_eq!(plain(" web 1/ü\n"), "web1");
        assert_eq!(plain(""), "perfkit");
    }
}
