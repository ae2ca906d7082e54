//! A private redis-server for `--redis` and `chaos`: on a free loopback port, nothing saved
//! to disk, stopped (SIGTERM, bounded wait) when the run ends or the value is dropped; it can
//! be killed and started again on the same port, and sent commands (`CONFIG SET`).

use std::io::{BufRead, BufReader, Write};
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
        let child = spawn(port)?;
        let mut redis = PrivateRedis { child, url: format!("redis://127.0.0.1:{port}/0"), port };
        redis.wait_until_listening()?;
        println!("private redis-server on 127.0.0.1:{port}");
        Ok(redis)
    }

    /// The server's process id, for signals.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server at once (SIGKILL): every connection drops, nothing is saved.
    pub(crate) fn kill(&mut self) -> Result<()> {
        self.child.kill().context("cannot kill redis-server")?;
        self.child.wait().context("redis-server after SIGKILL")?;
        Ok(())
    }

    /// Starts a fresh (empty) server on the same port, after [`PrivateRedis::kill`].
    pub(crate) fn restart(&mut self) -> Result<()> {
        self.child = spawn(self.port)?;
        self.wait_until_listening()
    }

    /// Sends one command and returns the first line of its reply (`+OK`, `-ERR ...`).
    pub(crate) fn command(&self, words: &[&str]) -> Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).context("connect redis")?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut request = format!("*{}\r\n", words.len());
        for word in words {
            request.push_str(&format!("${}\r\n{word}\r\n", word.len()));
        }
        stream.write_all(request.as_bytes()).context("send to redis")?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).context("redis reply")?;
        Ok(line.trim_end().to_owned())
    }

    fn wait_until_listening(&mut self) -> Result<()> {
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.try_wait()? {
                bail!("redis-server exited with {status} before listening");
            }
            if started.elapsed() > Duration::from_secs(10) {
                bail!("redis-server did not listen within 10 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

fn spawn(port: u16) -> Result<Child> {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
        .args(["--appendonly", "no", "--maxclients", "10000"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start redis-server (install it: apt-get install redis-server)")
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
