//! The rig's Redis Cluster: three primaries and three replicas, each behind a delay proxy
//! and announcing the proxy's port, so that every client path (first connection, `MOVED`
//! and `ASK` redirects, the topology a client reads) crosses the delay. The cluster bus
//! between the nodes is left direct: it is Redis's own traffic, not the application's.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use perfkit_testing::RedisServer;

use super::delay_proxy::DelayProxy;

/// One node: the server and the proxy clients reach it through.
pub(crate) struct Node {
    pub(crate) server: RedisServer,
    pub(crate) proxy: DelayProxy,
}

/// The cluster, stopped (every node killed, every proxy closed) when dropped.
pub(crate) struct Cluster {
    pub(crate) nodes: Vec<Node>,
}

impl Cluster {
    /// Starts `primaries` primaries with `replicas` replicas each, all behind `delay`.
    pub(crate) fn start(primaries: usize, replicas: usize, delay: Duration) -> Result<Cluster> {
        let mut nodes = Vec::new();
        for _ in 0..primaries * (1 + replicas) {
            let server = RedisServer::try_start_private_with(
                ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"]
                    .map(str::to_owned)
                    .to_vec(),
            )
            .context("cannot start a redis-server in cluster mode")?;
            let target = SocketAddr::from(([127, 0, 0, 1], server.port()));
            let proxy = DelayProxy::start(target, delay)?;
            let bus = (u32::from(server.port()) + 10_000).to_string();
            for (setting, value) in [
                ("cluster-announce-ip", "127.0.0.1".to_owned()),
                ("cluster-announce-port", proxy.port.to_string()),
                ("cluster-announce-bus-port", bus),
            ] {
                cli(server.port(), &["CONFIG", "SET", setting, &value])?;
            }
            nodes.push(Node { server, proxy });
        }
        let mut create = Command::new("redis-cli");
        create.args(["--cluster", "create"]);
        for node in &nodes {
            create.arg(format!("127.0.0.1:{}", node.proxy.port));
        }
        create.args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"]);
        let output = create.output().context("cannot run redis-cli --cluster create")?;
        if !output.status.success() {
            bail!("redis-cli --cluster create: {}", String::from_utf8_lossy(&output.stdout));
        }
        let cluster = Cluster { nodes };
        cluster.wait_until_ok()?;
        Ok(cluster)
    }

    /// `redis-cluster://` naming every node by its proxy.
    pub(crate) fn url(&self) -> String {
        let ports: Vec<u16> = self.nodes.iter().map(|node| node.proxy.port).collect();
        let others: Vec<String> =
            ports[1..].iter().map(|p| format!("node=127.0.0.1:{p}")).collect();
        format!("redis-cluster://127.0.0.1:{}?{}", ports[0], others.join("&"))
    }

    /// Commands processed by every node so far (read directly, not through the delay).
    pub(crate) fn commands_processed(&self) -> Result<u64> {
        let mut total = 0;
        for node in &self.nodes {
            let info = cli(node.server.port(), &["INFO", "stats"])?;
            total += info
                .lines()
                .find_map(|line| line.strip_prefix("total_commands_processed:"))
                .and_then(|value| value.trim().parse::<u64>().ok())
                .context("INFO stats without total_commands_processed")?;
        }
        Ok(total)
    }

    fn wait_until_ok(&self) -> Result<()> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            let ok = self.nodes.iter().all(|node| {
                cli(node.server.port(), &["CLUSTER", "INFO"])
                    .is_ok_and(|info| info.contains("cluster_state:ok"))
            });
            if ok {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("the rig's cluster did not reach cluster_state:ok within 30 s")
    }
}

/// `redis-cli -p port args...`, straight to the node.
pub(crate) fn cli(port: u16, args: &[&str]) -> Result<String> {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .context("cannot run redis-cli")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() || text.starts_with("ERR") {
        bail!("redis-cli {args:?} on {port}: {text}");
    }
    Ok(text)
}
