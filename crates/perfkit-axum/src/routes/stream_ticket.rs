//! Stream tickets: how a browser opens the live stream where reads are protected.
//!
//! A browser cannot put an `Authorization` header on a WebSocket request, and the token must
//! never travel in a URL (URLs end up in logs and histories). So the page asks for a ticket
//! with the token in a header, and the WebSocket URL carries the ticket instead: a random
//! value, good once and for [`TICKET_LIFETIME`], worthless afterwards.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use utoipa::ToSchema;

use crate::auth::Reader;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

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

/// A stream ticket and how long it stays good.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StreamTicket {
    /// Pass as `?ticket=` on `/api/performance/stream`; good once.
    ticket: String,
    /// Seconds before it expires unused.
    expires_in_seconds: u64,
}

/// A single-use ticket for opening the live stream from a browser, which cannot send an
/// `Authorization` header on a WebSocket: `GET /api/performance/stream?ticket=...`. Needs
/// the token where reads are protected.
#[utoipa::path(post, path = "/api/performance/stream/ticket", tag = "stream",
    responses(
        (status = 200, description = "A ticket, good once for 30 s", body = StreamTicket),
        (status = 401, description = "Reads are protected and the token is missing or wrong", body = ErrorBody),
        (status = 503, description = "Too many tickets are outstanding", body = ErrorBody),
    ))]
pub(crate) async fn issue(
    _: Reader,
    State(state): State<AppState>,
) -> Result<Json<StreamTicket>, ApiError> {
    let ticket = state.stream_tickets.issue()?;
    Ok(Json(StreamTicket { ticket, expires_in_seconds: TICKET_LIFETIME.as_secs() }))
}

/// Proof that a stream request may read: it passes [`Reader`], or carries an unspent ticket.
pub(crate) struct StreamReader;

#[derive(Deserialize)]
struct TicketQuery {
    ticket: Option<String>,
}

impl FromRequestParts<AppState> for StreamReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let refused = match Reader::from_request_parts(parts, state).await {
            Ok(Reader) => return Ok(StreamReader),
            Err(refused) => refused,
        };
        let ticket = Query::<TicketQuery>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|Query(query)| query.ticket);
        match ticket {
            Some(ticket) if state.stream_tickets.redeem(&ticket) => Ok(StreamReader),
            _ => Err(refused),
        }
    }
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
