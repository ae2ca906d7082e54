//! A private redis-server for `--redis`: on a free loopback port, nothing saved to disk,
//! stopped (SIGTERM, bounded wait) when the run ends or the value is dropped.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A running redis-server of this run.
pub(crate) struct PrivateRedis {
    child: Child,
    /// `redis://127.0.0.1:PORT/0`.
    pub(crate) url: String,
    pub(crate) port: u16,
}

impl PrivateRedis {
    /// Starts redis-server on a free port and waits until it accepts connections.
    pub(crate) fn start() -> Result<PrivateRedis> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .context("cannot find a free port")?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--maxclients", "10000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("cannot start redis-server (install it: apt-get install redis-server)")?;
        let mut redis = PrivateRedis { child, url: format!("redis://127.0.0.1:{port}/0"), port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = redis.child.try_wait()? {
                bail!("redis-server exited with {status} before listening");
            }
            if started.elapsed() > Duration::from_secs(10) {
                bail!("redis-server did not listen within 10 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        println!("private redis-server on 127.0.0.1:{port}");
        Ok(redis)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let started = Instant::now();
        while matches!(self.child.try_wait(), Ok(None)) {
            if started.elapsed() > Duration::from_secs(10) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
