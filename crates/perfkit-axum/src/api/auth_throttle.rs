//! Failed authentication, limited per client address: after [`MAX_FAILURES`] wrong tokens
//! within [`WINDOW`], that address is answered 429 with `Retry-After` until the window ends,
//! whatever token it sends, so a token cannot be guessed at network speed. A request with no
//! `Authorization` header is no guess: it is answered 401 and never counted (see `auth`).
//!
//! The table is bounded: at most [`MAX_CLIENTS`] addresses are tracked; when it is full of
//! live entries, new addresses share one overflow entry, so a flood of addresses (IPv6 makes
//! them cheap) costs memory no more than the bound and is throttled all the same. IPv6
//! addresses are counted per /64, the block one host usually holds.
//!
//! The address is the TCP peer from axum's `ConnectInfo<SocketAddr>`: a host app that
//! serves the router without `into_make_service_with_connect_info` gets no throttling (it
//! cannot tell clients apart, and throttling all of them as one would let a stranger lock the
//! operator out). A router cannot know how it will be served, so the first request that
//! arrives without the address logs a warning saying so, once. Behind a reverse proxy every
//! client is the proxy: throttle there.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use tokio::time::Instant;

/// Failed attempts allowed per address within a window.
pub(crate) const MAX_FAILURES: u32 = 10;
/// How long failures are remembered, and so the longest `Retry-After`.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// Most addresses tracked at once.
pub(crate) const MAX_CLIENTS: usize = 4096;

/// Who failed: an address (IPv6 by /64), or every address that found the table full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    V4(u32),
    V6Block(u64),
    Overflow,
}

impl ClientKey {
    fn of(address: IpAddr) -> ClientKey {
        match address {
            IpAddr::V4(v4) => ClientKey::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(u32::from(v4)),
                None => ClientKey::V6Block((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// One address's failures in its current window.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

/// The table of recent failures; see the module documentation.
#[derive(Debug, Default)]
pub(crate) struct AuthThrottle {
    table: Mutex<HashMap<ClientKey, Failures>>,
    /// Whether a request without the client's address has been seen (and warned about).
    blind: AtomicBool,
}

impl AuthThrottle {
    /// The client address of a request, when the server recorded it; the first time it did
    /// not, a warning says the throttle is off.
    pub(crate) fn client(&self, parts: &Parts) -> Option<IpAddr> {
        let client =
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
        if client.is_none() && !self.blind.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "perfkit's API cannot see client addresses, so failed authentication is not \
                 throttled: serve the app with \
                 `into_make_service_with_connect_info::<SocketAddr>()`"
            );
        }
        client
    }

    /// Whether a request without the client's address has been seen.
    #[cfg(test)]
    fn is_blind(&self) -> bool {
        self.blind.load(Ordering::Relaxed)
    }

    /// How long `client` must wait before it may try again; `None` when it may try now.
    pub(crate) fn blocked(&self, client: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let table = self.lock();
        let failures = table
            .get(&ClientKey::of(client))
            .or_else(|| (table.len() >= MAX_CLIENTS).then(|| table.get(&ClientKey::Overflow))?)?;
        let elapsed = now.duration_since(failures.since);
        (failures.count >= MAX_FAILURES && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    /// Counts a failed attempt by `client`.
    pub(crate) fn record_failure(&self, client: IpAddr) {
        let now = Instant::now();
        let mut table = self.lock();
        let mut key = ClientKey::of(client);
        if !table.contains_key(&key) && table.len() >= MAX_CLIENTS {
            table.retain(|_, failures| now.duration_since(failures.since) < WINDOW);
            if table.len() >= MAX_CLIENTS {
                key = ClientKey::Overflow;
            }
        }
        let failures = table.entry(key).or_insert(Failures { count: 0, since: now });
        if now.duration_since(failures.since) >= WINDOW {
            *failures = Failures { count: 0, since: now };
        }
        failures.count = failures.count.saturating_add(1);
    }

    /// Forgets `client`'s failures: it has just shown the token.
    pub(crate) fn record_success(&self, client: IpAddr) {
        let mut table = self.lock();
        if !table.is_empty() {
            table.remove(&ClientKey::of(client));
        }
    }

    /// Addresses tracked now (tests read the bound).
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientKey, Failures>> {
        // Plain map writes: a panic cannot leave it half-updated.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_is_blocked_after_too_many_failures_until_the_window_ends() {
        let throttle = AuthThrottle::default();
        for _ in 0..MAX_FAILURES - 1 {
            throttle.record_failure(v4(1));
        }
        assert_eq!(throttle.blocked(v4(1)), None);
        throttle.record_failure(v4(1));
        assert_eq!(throttle.blocked(v4(1)), Some(WINDOW));
        assert_eq!(throttle.blocked(v4(2)), None, "others are not affected");
        tokio::time::advance(Duration::from_secs(45)).await;
        assert_eq!(throttle.blocked(v4(1)), Some(Duration::from_secs(15)));
        tokio::time::advance(Duration::from_secs(15)).await;
        assert_eq!(throttle.blocked(v4(1)), None);
        throttle.record_failure(v4(1));
        assert_eq!(throttle.blocked(v4(1)), None, "a new window starts from one failure");
    }

    #[tokio::test(start_paused = true)]
    async fn success_forgets_earlier_failures() {
        let throttle = AuthThrottle::default();
        for _ in 0..MAX_FAILURES - 1 {
            throttle.record_failure(v4(1));
        }
        throttle.record_success(v4(1));
        throttle.record_failure(v4(1));
        assert_eq!(throttle.blocked(v4(1)), None);
    }

    #[tokio::test(start_paused = true)]
    async fn ipv6_is_counted_per_64_and_mapped_v4_as_v4() {
        let throttle = AuthThrottle::default();
        for host in 0..u16::try_from(MAX_FAILURES).unwrap() {
            throttle.record_failure(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, host)));
        }
        let same_block = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9));
        assert!(throttle.blocked(same_block).is_some());
        let other_block = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
        assert!(throttle.blocked(other_block).is_none());
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        for _ in 0..MAX_FAILURES {
            throttle.record_failure(mapped);
        }
        assert!(throttle.blocked(v4(1)).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn the_table_stays_bounded_and_a_flood_shares_one_entry() {
        let throttle = AuthThrottle::default();
        let address = |n: usize| IpAddr::V4(Ipv4Addr::from(u32::try_from(n).unwrap()));
        for n in 0..MAX_CLIENTS {
            throttle.record_failure(address(n));
        }
        assert_eq!(throttle.tracked(), MAX_CLIENTS);
        let flood: Vec<IpAddr> = (MAX_CLIENTS..MAX_CLIENTS + 100).map(address).collect();
        for &client in &flood {
            throttle.record_failure(client);
        }
        assert_eq!(throttle.tracked(), MAX_CLIENTS + 1, "the flood shares the overflow entry");
        assert!(throttle.blocked(flood[0]).is_some(), "and is throttled as one");
        // Once the old entries' window has passed they make room again.
        tokio::time::advance(WINDOW).await;
        throttle.record_failure(address(MAX_CLIENTS + 500));
        assert!(throttle.tracked() <= 2, "{}", throttle.tracked());
    }

    #[test]
    fn a_request_without_the_peer_address_marks_the_throttle_blind_once() {
        let throttle = AuthThrottle::default();
        let (mut parts, ()) = axum::http::Request::new(()).into_parts();
        assert!(!throttle.is_blind());
        assert_eq!(throttle.client(&parts), None);
        assert!(throttle.is_blind());
        assert_eq!(throttle.client(&parts), None, "and stays so, without a second warning");
        let peer: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        parts.extensions.insert(ConnectInfo(peer));
        assert_eq!(throttle.client(&parts), Some(peer.ip()));
    }
}
