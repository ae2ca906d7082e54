//! The live stream: a WebSocket of snapshots and alert and optimization events.

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::api::live::{self, MAX_INCOMING_MESSAGE};
use crate::api::refusals::ReadRefusals;
use crate::api::routes::handshake;
use crate::api::routes::stream_ticket::StreamReader;
use crate::api::state::AppState;
use crate::error::{ApiError, ErrorBody};

/// Live snapshots and alert/optimization events over a WebSocket. Each message is JSON
/// `{ "type": "snapshot" | "alert" | "optimization", "data": ... }`; the latest snapshot
/// is sent first. A client that cannot keep up is disconnected. Where reads are protected,
/// a browser passes `?ticket=` from `POST /api/performance/stream/ticket` instead of the token.
#[utoipa::path(get, path = "/stream", tag = "stream",
    params(
        ("Upgrade" = String, Header, description = "The protocol switched to: websocket, in any case",
            pattern = "^[wW][eE][bB][sS][oO][cC][kK][eE][tT]$", example = "websocket"),
        ("Connection" = String, Header, description = "Comma-separated tokens, one of them Upgrade",
            pattern = "^([^,]*,[ \\t]*)*[uU][pP][gG][rR][aA][dD][eE]([ \\t]*,[^,]*)*$", example = "Upgrade"),
        ("Sec-WebSocket-Version" = String, Header, description = "RFC 6455's version", pattern = "^13$"),
        ("Sec-WebSocket-Key" = String, Header, description = "16 random bytes in base64 (RFC 6455)",
            pattern = "^[A-Za-z0-9+/]{21}[AQgw]==$", example = "dGhlIHNhbXBsZSBub25jZQ=="),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        ReadRefusals,
        (status = 400, description = "A WebSocket handshake with a wrong or missing header", body = ErrorBody),
        (status = 426, description = "Not a WebSocket request at all (none of its headers)", body = ErrorBody),
        (status = 503, description = "The connection limit is reached", body = ErrorBody),
    ))]
pub(crate) async fn stream(
    _: StreamReader,
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    handshake::check(&headers)?;
    let upgrade = upgrade.map_err(|rejection| ApiError::UpgradeRequired(rejection.body_text()))?;
    // Registered before upgrading, so a full registry is an honest 503, not a dropped socket.
    let lease = state.service.parts().connections.register()?;
    let session = live::Session {
        events: state.service.subscribe(),
        recorder: std::sync::Arc::clone(state.service.recorder()),
        initial: state.service.readout().latest(),
        lease,
    };
    Ok(upgrade
        .max_message_size(MAX_INCOMING_MESSAGE)
        .on_upgrade(move |socket| session.serve(socket)))
}

#[cfg(test)]
mod tests {
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;

    use super::*;

    #[test]
    fn the_document_states_the_patterns_the_server_checks() {
        let document = OpenApiRouter::<AppState>::new().routes(routes!(stream)).into_openapi();
        let document = serde_json::to_value(document).unwrap();
        let parameters = &document["paths"]["/stream"]["get"]["parameters"];
        let pattern = |name: &str| {
            parameters.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()["schema"]
                ["pattern"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(pattern("Sec-WebSocket-Key"), handshake::KEY_PATTERN);
        assert_eq!(pattern("Upgrade"), handshake::UPGRADE_PATTERN);
        assert_eq!(pattern("Connection"), handshake::CONNECTION_PATTERN);
        assert_eq!(pattern("Sec-WebSocket-Version"), "^13$");
    }
}
