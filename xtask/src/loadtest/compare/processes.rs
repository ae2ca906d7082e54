//! The processes a comparison loads, started on first use and stopped together: the
//! comparison apps, one perfkit-server for its own routes, the demo on memory and on a
//! private Redis (each with its own data directory), and the sink the traced app exports to.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::targets::{Source, Target};
use crate::chaos::receiver::Receiver;
use crate::loadtest::WARM_UP;
use crate::loadtest::guide_workload::PLAIN_HEADER_BYTES;
use crate::loadtest::placement::Placement;
use crate::loadtest::redis::PrivateRedis;
use crate::loadtest::targets::TargetApp;
use crate::loadtest::wrk::{self, Load};
use crate::server::{Server, binary_path, target_dir};

pub(super) struct Processes<'a> {
    placement: &'a Placement,
    /// Where the demo is warmed up to learn its mean page, and with what.
    connections: u32,
    demo_script: &'a Path,
    apps: Vec<TargetApp>,
    server: Option<Server>,
    demo_memory: Option<Server>,
    demo_redis: Option<Server>,
    redis: Option<PrivateRedis>,
    /// Where the traced app's spans go: answered 200 and dropped, off the measured process.
    sink: Receiver,
}

impl<'a> Processes<'a> {
    pub(super) fn new(
        placement: &'a Placement,
        connections: u32,
        demo_script: &'a Path,
    ) -> Result<Processes<'a>> {
        Ok(Processes {
            placement,
            connections,
            demo_script,
            apps: Vec::new(),
            server: None,
            demo_memory: None,
            demo_redis: None,
            redis: None,
            sink: Receiver::start()?,
        })
    }

    /// The base URL serving `target` and the process whose CPU it spends.
    pub(super) fn serve(&mut self, target: &Target) -> Result<(String, u32)> {
        let served = |server: &Server| (server.base.clone(), server.pid());
        Ok(match target.source {
            Source::App(name) => self.app(name, &[])?,
            Source::TracedApp(name) => {
                let sink = self.sink.base.clone();
                self.app(name, &[("OTEL_EXPORTER_OTLP_ENDPOINT", &sink)])?
            }
            Source::Pages => {
                let body = self.demo_page_bytes()?;
                self.app(&format!("pages={body}"), &[])?
            }
            Source::Server => served(self.server()?),
            Source::DemoMemory => served(self.demo_memory()?),
            Source::DemoRedisNear => served(self.demo_redis()?),
        })
    }

    fn app(&mut self, name: &str, env: &[(&str, &str)]) -> Result<(String, u32)> {
        let app = TargetApp::start(name, self.placement, env)?;
        let served = (app.base.clone(), app.pid());
        self.apps.push(app);
        Ok(served)
    }

    fn server(&mut self) -> Result<&Server> {
        let command = self.server_command(None);
        started(&mut self.server, || Server::start_with(command, &[]))
    }

    fn demo_memory(&mut self) -> Result<&Server> {
        let command = self.server_command(None);
        started(&mut self.demo_memory, || Server::start_with(command, &["--demo"]))
    }

    fn demo_redis(&mut self) -> Result<&Server> {
        if self.redis.is_none() {
            self.redis = Some(PrivateRedis::start()?);
        }
        let url = self.redis.as_ref().map(|redis| redis.url.clone()).unwrap_or_default();
        let command = self.server_command(Some(target_dir().join("perfkit-data-redis")));
        started(&mut self.demo_redis, || {
            Server::start_with(command, &["--demo", "--redis-url", &url])
        })
    }

    /// The release server where the placement puts it, with its own data directory if given.
    fn server_command(&self, data_dir: Option<PathBuf>) -> std::process::Command {
        let mut command =
            self.placement.server_command(&binary_path("release").display().to_string());
        if let Some(dir) = data_dir {
            command.env("PERFKIT_DATA_DIR", dir);
        }
        command
    }

    /// The body of the demo's mean answer on its memory cache, from a warm-up: the size of
    /// the pages the same-shape app serves (its own headers are plain axum's).
    fn demo_page_bytes(&mut self) -> Result<u64> {
        let (connections, script, placement) = (self.connections, self.demo_script, self.placement);
        let url = format!("{}/api/posts", self.demo_memory()?.base);
        let load = Load { url: &url, script, connections, duration: WARM_UP, label: "sizing" };
        let warm = wrk::run_on(&load, placement)?;
        Ok(warm.mean_answer_bytes().saturating_sub(PLAIN_HEADER_BYTES).max(2))
    }

    /// Stops every server with SIGTERM (the first failure returned), then the rest.
    pub(super) fn stop(mut self) -> Result<()> {
        let mut outcome = Ok(());
        for server in [&mut self.server, &mut self.demo_memory, &mut self.demo_redis] {
            if let Some(server) = server.as_mut() {
                let stopped = server.stop().context("stopping a compared server");
                outcome = outcome.and(stopped);
            }
        }
        outcome
    }
}

/// The server in `slot`, started by `start` the first time.
fn started(slot: &mut Option<Server>, start: impl FnOnce() -> Result<Server>) -> Result<&Server> {
    if slot.is_none() {
        *slot = Some(start()?);
    }
    slot.as_ref().context("a server started just now")
}
