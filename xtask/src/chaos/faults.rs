//! The faults, each one a `begin` and an `end`: what breaks, and how it is mended.

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::World;
use super::idle_clients;
use super::receiver::Behaviour;
use crate::loadtest::http::open_stream;
use crate::shell::execute;

/// WebSocket clients opened by the stalled-reader fault.
const STALLED_CLIENTS: usize = 50;
/// Connections of each kind opened by the idle-clients fault.
const IDLE_CLIENTS: usize = 200;
/// Longest wait, once the fault ends, for the server to have closed every idle client: the
/// run's 2 s timeouts (see `CONFIG` in `chaos`) with room for a loaded machine.
const IDLE_CLOSE_LIMIT: Duration = Duration::from_secs(5);

/// One fault of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// redis-server killed (SIGKILL), then a fresh one started on the same port.
    RedisKilled,
    /// redis-server stopped (SIGSTOP): connections stay open and nothing answers.
    RedisFrozen,
    /// `maxmemory 1` with `noeviction`: every write is refused, reads still answer.
    RedisFull,
    /// PostgreSQL, primary and replica, stopped at once (`pg_ctl stop -m immediate`), then
    /// started again.
    DatabaseStopped,
    /// The read replica frozen (SIGSTOP to every process of it): its port accepts and
    /// nothing answers. Reads must fall back to the primary.
    ReplicaFrozen,
    /// The alert webhook accepts connections and never answers.
    ReceiverHanging,
    /// The alert webhook drops every connection.
    ReceiverDown,
    /// WebSocket clients on the live stream that never read what they are sent.
    StalledStreamClients,
    /// Connections that sent half a request head, and kept-alive ones silent after one
    /// request: each must be closed within the server's timeouts.
    IdleClients,
    /// The trace collector killed (its port closed), then started again on the same port.
    CollectorKilled,
    /// The trace collector accepts connections and never answers.
    CollectorHanging,
    /// The trace collector reads every export and answers 500.
    CollectorFailing,
}

/// What a fault holds while it lasts.
pub(crate) enum Injected {
    Nothing,
    Clients(Vec<TcpStream>),
}

impl Fault {
    /// Every fault, in the order they run.
    pub(crate) const ALL: [Fault; 12] = [
        Fault::RedisKilled,
        Fault::RedisFrozen,
        Fault::RedisFull,
        Fault::DatabaseStopped,
        Fault::ReplicaFrozen,
        Fault::ReceiverHanging,
        Fault::ReceiverDown,
        Fault::StalledStreamClients,
        Fault::IdleClients,
        Fault::CollectorKilled,
        Fault::CollectorHanging,
        Fault::CollectorFailing,
    ];

    /// The faults of the trace collector, which run on both runtimes.
    pub(crate) const COLLECTOR: [Fault; 3] =
        [Fault::CollectorKilled, Fault::CollectorHanging, Fault::CollectorFailing];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Fault::RedisKilled => "Redis killed, then restarted",
            Fault::RedisFrozen => "Redis frozen (SIGSTOP)",
            Fault::RedisFull => "Redis full (maxmemory, noeviction)",
            Fault::DatabaseStopped => "PostgreSQL stopped, then restarted",
            Fault::ReplicaFrozen => "PostgreSQL replica frozen (SIGSTOP)",
            Fault::ReceiverHanging => "alert webhook hanging",
            Fault::ReceiverDown => "alert webhook dropping connections",
            Fault::StalledStreamClients => "50 stream clients that stop reading",
            Fault::IdleClients => "200 half heads and 200 idle keep-alives",
            Fault::CollectorKilled => "trace collector killed, then restarted",
            Fault::CollectorHanging => "trace collector hanging",
            Fault::CollectorFailing => "trace collector answering 500",
        }
    }

    /// The fault's short name, for `--only`.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Fault::RedisKilled => "redis-killed",
            Fault::RedisFrozen => "redis-frozen",
            Fault::RedisFull => "redis-full",
            Fault::DatabaseStopped => "database-stopped",
            Fault::ReplicaFrozen => "replica-frozen",
            Fault::ReceiverHanging => "webhook-hanging",
            Fault::ReceiverDown => "webhook-down",
            Fault::StalledStreamClients => "stalled-stream-clients",
            Fault::IdleClients => "idle-clients",
            Fault::CollectorKilled => "collector-killed",
            Fault::CollectorHanging => "collector-hanging",
            Fault::CollectorFailing => "collector-failing",
        }
    }

    /// Whether the fault breaks the trace collector (the drop counter must rise).
    pub(crate) fn breaks_the_collector(self) -> bool {
        Fault::COLLECTOR.contains(&self)
    }

    /// Whether answers of 500 or more during this fault count against the server. Cache,
    /// replica, webhook and stream faults must be absorbed; without its database the demo cannot
    /// answer a miss, and must say so at once (a JSON 503, checked by a probe) instead.
    pub(crate) fn must_absorb(self) -> bool {
        self != Fault::DatabaseStopped
    }

    /// The health check that names what this fault breaks.
    pub(crate) fn dependency(self) -> &'static str {
        match self {
            Fault::DatabaseStopped => "database",
            Fault::ReplicaFrozen => "db.replica-0",
            Fault::CollectorKilled | Fault::CollectorHanging | Fault::CollectorFailing => {
                "traceExport"
            }
            _ => "cache",
        }
    }

    pub(crate) fn begin(self, world: &mut World<'_>) -> Result<Injected> {
        let redis = &mut *world.redis;
        match self {
            Fault::RedisKilled => redis.kill().map(|()| Injected::Nothing),
            Fault::RedisFrozen => signal(redis.pid(), "STOP").map(|()| Injected::Nothing),
            Fault::RedisFull => {
                expect_ok(&redis.command(&["CONFIG", "SET", "maxmemory-policy", "noeviction"])?)?;
                expect_ok(&redis.command(&["CONFIG", "SET", "maxmemory", "1"])?)?;
                Ok(Injected::Nothing)
            }
            Fault::DatabaseStopped => {
                // Both: with the replica up, reads would still be served.
                world.database.stop().context("cannot stop PostgreSQL")?;
                world.replica.stop().context("cannot stop the PostgreSQL replica")?;
                Ok(Injected::Nothing)
            }
            Fault::ReplicaFrozen => {
                world.replica.pause().context("cannot freeze the replica")?;
                Ok(Injected::Nothing)
            }
            Fault::StalledStreamClients => {
                let clients = (0..STALLED_CLIENTS)
                    .map(|_| open_stalled_stream(&world.server.base))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Injected::Clients(clients))
            }
            Fault::IdleClients => {
                idle_clients::open(&world.server.base, IDLE_CLIENTS).map(Injected::Clients)
            }
            Fault::ReceiverHanging => {
                world.receiver.set(Behaviour::Hang);
                Ok(Injected::Nothing)
            }
            Fault::ReceiverDown => {
                world.receiver.set(Behaviour::Drop);
                Ok(Injected::Nothing)
            }
            Fault::CollectorKilled => {
                world.collector.kill();
                Ok(Injected::Nothing)
            }
            Fault::CollectorHanging => {
                world.collector.set(Behaviour::Hang);
                Ok(Injected::Nothing)
            }
            Fault::CollectorFailing => {
                world.collector.set(Behaviour::Fail);
                Ok(Injected::Nothing)
            }
        }
    }

    pub(crate) fn end(self, world: &mut World<'_>, injected: Injected) -> Result<()> {
        let redis = &mut *world.redis;
        match self {
            Fault::ReceiverHanging | Fault::ReceiverDown => {
                world.receiver.set(Behaviour::Answer);
                Ok(())
            }
            Fault::CollectorKilled => world.collector.revive(),
            Fault::CollectorHanging | Fault::CollectorFailing => {
                world.collector.set(Behaviour::Answer);
                Ok(())
            }
            Fault::RedisKilled => redis.restart(),
            Fault::RedisFrozen => signal(redis.pid(), "CONT"),
            Fault::RedisFull => expect_ok(&redis.command(&["CONFIG", "SET", "maxmemory", "0"])?),
            Fault::DatabaseStopped => {
                world.database.restart().context("cannot start PostgreSQL again")?;
                world.replica.restart().context("cannot start the PostgreSQL replica again")
            }
            Fault::ReplicaFrozen => world.replica.resume().context("cannot resume the replica"),
            Fault::StalledStreamClients => {
                if let Injected::Clients(clients) = injected {
                    for client in clients {
                        // Already closed by the server is fine: it may drop stalled readers.
                        let _ = client.shutdown(std::net::Shutdown::Both);
                    }
                }
                Ok(())
            }
            Fault::IdleClients => {
                let Injected::Clients(clients) = injected else { return Ok(()) };
                let total = clients.len();
                let open = idle_clients::still_open(clients, Instant::now() + IDLE_CLOSE_LIMIT)?;
                if open > 0 {
                    bail!(
                        "{open} of {total} idle clients still open {IDLE_CLOSE_LIMIT:?} after \
                         the fault ended: the server's connection timeouts did not close them"
                    );
                }
                Ok(())
            }
        }
    }
}

fn signal(pid: u32, name: &str) -> Result<()> {
    execute(Command::new("kill").args([&format!("-{name}"), &pid.to_string()]))
}

fn expect_ok(reply: &str) -> Result<()> {
    if reply != "+OK" {
        bail!("redis answered {reply:?}");
    }
    Ok(())
}

/// A WebSocket client of the stream that reads the upgrade's answer and nothing more: the
/// server's frames pile up in the socket buffers.
fn open_stalled_stream(base: &str) -> Result<TcpStream> {
    open_stream(base).map(|(stream, _)| stream)
}
