//! Stream tickets: how a browser opens the live stream where reads are protected.
//!
//! A browser cannot put an `Authorization` header on a WebSocket request, and the token must
//! never travel in a URL (URLs end up in logs and histories). So the page asks for a ticket
//! with the token in a header, and the WebSocket URL carries the ticket instead: a random
//! value, good once and for 30 s, worthless afterwards (see `api::tickets`).

use axum::Json;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::auth::Reader;
use crate::api::refusals::ReadRefusals;
use crate::api::state::AppState;
use crate::api::tickets::TICKET_LIFETIME;
use crate::error::{ApiError, ErrorBody};

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
#[utoipa::path(post, path = "/stream/ticket", tag = "stream",
    responses(
        (status = 200, description = "A ticket, good once for 30 s", body = StreamTicket),
        ReadRefusals,
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
