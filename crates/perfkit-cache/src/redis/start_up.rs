//! One probe connection before the pool starts: it tells a Redis that is down (fail open,
//! breaker open at once) from a Redis that refuses our credentials (a configuration error),
//! which the pool cannot, since it keeps reconnecting either way.

use std::time::Duration;

use fred::prelude::{Builder, ClientLike, Config, ErrorKind};

/// What the probe found.
#[derive(Debug)]
pub(super) enum Probe {
    /// Redis answered PING.
    Ready,
    /// No answer: not listening, not reachable, or too slow.
    Unreachable(String),
    /// Redis answered, and refused the credentials (or their absence).
    Refused(String),
}

/// Connects once (no reconnection), authenticates as the URL says and sends PING, all within
/// `timeout`.
pub(super) async fn probe(config: &Config, timeout: Duration) -> Probe {
    let mut config = config.clone();
    config.fail_fast = true;
    let client = match Builder::from_config(config)
        .with_connection_config(|c| {
            c.connection_timeout = timeout;
            c.internal_command_timeout = timeout;
        })
        .with_performance_config(|p| p.default_command_timeout = timeout)
        .build()
    {
        Ok(client) => client,
        Err(error) => return Probe::Unreachable(error.to_string()),
    };
    let outcome = tokio::time::timeout(timeout, async {
        client.init().await?;
        client.ping::<String>(None).await
    })
    .await;
    let _ = tokio::time::timeout(timeout, client.quit()).await;
    match outcome {
        Ok(Ok(_)) => Probe::Ready,
        Ok(Err(error)) if refused(&error) => Probe::Refused(error.details().to_owned()),
        Ok(Err(error)) => Probe::Unreachable(error.to_string()),
        Err(_) => Probe::Unreachable(format!("no answer within {timeout:?}")),
    }
}

/// Whether Redis said no to who we are: a wrong password or user (WRONGPASS), none given
/// where one is needed (NOAUTH), or a user not allowed to PING (NOPERM).
fn refused(error: &fred::error::Error) -> bool {
    let details = error.details();
    *error.kind() == ErrorKind::Auth
        || ["WRONGPASS", "NOAUTH", "NOPERM"].iter().any(|code| details.contains(code))
}
