//! The live stream's single-use tickets: a random value, good once and for
//! [`TICKET_LIFETIME`], so a browser can open the stream without the token in a URL.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::ApiError;

/// How long a ticket may wait before it is used.
pub(crate) const TICKET_LIFETIME: Duration = Duration::from_secs(30);

/// Most tickets outstanding at once; beyond it, new ones are refused until old ones are used
/// or expire, so nobody can grow the store without bound.
pub(crate) const MAX_OUTSTANDING: usize = 256;

/// Random bytes in a ticket (128 bits: not guessable within its lifetime).
const TICKET_BYTES: usize = 16;

/// The tickets handed out and not yet used, with when each expires.
#[derive(Debug, Default)]
pub(crate) struct StreamTickets {
    outstanding: Mutex<HashMap<String, Instant>>,
}

impl StreamTickets {
    /// A new ticket, or `Unavailable` when too many are outstanding or randomness fails.
    pub(crate) fn issue(&self) -> Result<String, ApiError> {
        let ticket = random_ticket()?;
        let now = Instant::now();
        let mut outstanding = self.outstanding.lock().unwrap_or_else(PoisonError::into_inner);
        outstanding.retain(|_, expires| *expires > now);
        if outstanding.len() >= MAX_OUTSTANDING {
            return Err(ApiError::Unavailable(format!(
                "{MAX_OUTSTANDING} stream tickets are outstanding: use or let expire one first"
            )));
        }
        outstanding.insert(ticket.clone(), now + TICKET_LIFETIME);
        Ok(ticket)
    }

    /// Whether `ticket` was issued, is unused and unexpired; it is spent either way.
    pub(crate) fn redeem(&self, ticket: &str) -> bool {
        let mut outstanding = self.outstanding.lock().unwrap_or_else(PoisonError::into_inner);
        outstanding.remove(ticket).is_some_and(|expires| expires > Instant::now())
    }
}

fn random_ticket() -> Result<String, ApiError> {
    let mut bytes = [0_u8; TICKET_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| {
        ApiError::Internal(format!("no randomness for a stream ticket: {error}"))
    })?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_ticket_is_good_once() {
        let tickets = StreamTickets::default();
        let ticket = tickets.issue().unwrap();
        assert_eq!(ticket.len(), TICKET_BYTES * 2);
        assert!(tickets.redeem(&ticket));
        assert!(!tickets.redeem(&ticket), "spent");
        assert!(!tickets.redeem("not-a-ticket"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_ticket_expires() {
        let tickets = StreamTickets::default();
        let ticket = tickets.issue().unwrap();
        tokio::time::advance(TICKET_LIFETIME + Duration::from_millis(1)).await;
        assert!(!tickets.redeem(&ticket));
    }

    #[tokio::test(start_paused = true)]
    async fn outstanding_tickets_are_bounded_and_expired_ones_make_room() {
        let tickets = StreamTickets::default();
        for _ in 0..MAX_OUTSTANDING {
            tickets.issue().unwrap();
        }
        assert!(matches!(tickets.issue(), Err(ApiError::Unavailable(_))));
        tokio::time::advance(TICKET_LIFETIME).await;
        assert!(tickets.issue().is_ok(), "expired tickets no longer count");
        assert_eq!(tickets.outstanding.lock().unwrap().len(), 1);
    }
}
