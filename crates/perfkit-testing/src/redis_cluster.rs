//! A Redis Cluster for one test: private `redis-server` nodes with cluster mode on, joined
//! by `redis-cli --cluster create`, with a replica per primary when asked, killed on drop.
//! Fault tests fail a primary over to its replica or kill it.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::{RedisServer, TestingError};

/// How long the nodes get to agree that every slot is served (`cluster_state:ok`).
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(30);
/// A failed primary is noticed after this long: short, so failover tests stay short.
const NODE_TIMEOUT_MS: &str = "1000";

/// A private Redis Cluster on loopback: `primaries` primaries, each with `replicas` replicas.
///
/// ```no_run
/// use perfkit_testing::RedisCluster;
///
/// let cluster = RedisCluster::start(3, 1).unwrap();
/// assert!(cluster.url().starts_with("redis-cluster://127.0.0.1:"));
/// assert_eq!(cluster.primary_ports().unwrap().len(), 3);
/// ```
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts the nodes, joins them and waits until every slot is served.
    ///
    /// # Errors
    /// [`TestingError`] when redis-server or redis-cli is missing, a node does not come up,
    /// or the cluster does not converge in time.
    pub fn start(primaries: usize, replicas: usize) -> Result<Self, TestingError> {
        let count = primaries * (1 + replicas);
        let settings = [
            "--cluster-enabled",
            "yes",
            "--cluster-node-timeout",
            NODE_TIMEOUT_MS,
            // A test kills primaries: the survivors must keep serving the slots they have.
            "--cluster-require-full-coverage",
            "no",
        ];
        let mut nodes = Vec::with_capacity(count);
        for _ in 0..count {
            let extra = settings.iter().map(|s| (*s).to_owned()).collect();
            nodes.push(RedisServer::try_start_private_with(extra)?);
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for node in &nodes {
            create.arg(format!("127.0.0.1:{}", node.port()));
        }
        create.args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"]);
        let output = run(&mut create)?;
        if !output.status.success() {
            return Err(TestingError::Start(format!(
                "redis cluster: `redis-cli --cluster create` failed: {}",
                String::from_utf8_lossy(&output.stdout)
            )));
        }
        let cluster = RedisCluster { nodes };
        cluster.wait_until_converged(count)?;
        Ok(cluster)
    }

    /// `redis-cluster://127.0.0.1:<first>?node=127.0.0.1:<second>&...`, every node named.
    #[must_use]
    pub fn url(&self) -> String {
        let mut ports = self.nodes.iter().map(RedisServer::port);
        let first = ports.next().unwrap_or_default();
        let others: Vec<String> = ports.map(|port| format!("node=127.0.0.1:{port}")).collect();
        if others.is_empty() {
            format!("redis-cluster://127.0.0.1:{first}")
        } else {
            format!("redis-cluster://127.0.0.1:{first}?{}", others.join("&"))
        }
    }

    /// Every node's port, primaries and replicas.
    #[must_use]
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(RedisServer::port).collect()
    }

    /// The ports of the nodes that are primaries now, as a live node reports them.
    ///
    /// # Errors
    /// [`TestingError`] when no node answers `CLUSTER NODES`.
    pub fn primary_ports(&self) -> Result<Vec<u16>, TestingError> {
        Ok(self.topology()?.into_iter().filter(|n| n.primary).map(|n| n.port).collect())
    }

    /// The port of a replica of the primary on `primary_port`.
    ///
    /// # Errors
    /// [`TestingError`] when no node answers, or that primary has no replica.
    pub fn replica_of(&self, primary_port: u16) -> Result<u16, TestingError> {
        let topology = self.topology()?;
        let primary = topology
            .iter()
            .find(|n| n.port == primary_port && n.primary)
            .ok_or_else(|| TestingError::Start(format!("no primary on port {primary_port}")))?;
        topology
            .iter()
            .find(|n| n.primary_id.as_deref() == Some(primary.id.as_str()))
            .map(|n| n.port)
            .ok_or_else(|| TestingError::Start(format!("primary {primary_port} has no replica")))
    }

    /// `CLUSTER FAILOVER` on the replica at `replica_port` (the planned, lossless kind), and
    /// waits until it reports itself a primary and the cluster serves every slot.
    ///
    /// # Errors
    /// [`TestingError`] when the command fails or the replica is not promoted in time.
    pub fn fail_over_to(&self, replica_port: u16) -> Result<(), TestingError> {
        let output = cli(replica_port, &["CLUSTER", "FAILOVER"])?;
        if !String::from_utf8_lossy(&output.stdout).contains("OK") {
            return Err(TestingError::Start(format!(
                "CLUSTER FAILOVER on {replica_port}: {}",
                String::from_utf8_lossy(&output.stdout)
            )));
        }
        let started = Instant::now();
        while started.elapsed() < CONVERGE_TIMEOUT {
            if self.primary_ports()?.contains(&replica_port) && self.serves_every_slot() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(TestingError::Start(format!("replica {replica_port} was not promoted in time")))
    }

    /// Kills the node on `port` (SIGKILL, a crash).
    ///
    /// # Errors
    /// [`TestingError`] when no node of this cluster listens there, or the kill fails.
    pub fn kill(&mut self, port: u16) -> Result<(), TestingError> {
        let node = self
            .nodes
            .iter_mut()
            .find(|node| node.port() == port)
            .ok_or_else(|| TestingError::Start(format!("no cluster node on port {port}")))?;
        node.stop()
    }

    /// Waits until the surviving nodes serve every slot again (after a kill, the replica's
    /// election takes about two node timeouts).
    ///
    /// # Errors
    /// [`TestingError`] when they do not in time.
    pub fn wait_until_serving(&self) -> Result<(), TestingError> {
        let started = Instant::now();
        while started.elapsed() < CONVERGE_TIMEOUT {
            if self.serves_every_slot() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(TestingError::Start("the cluster did not serve every slot in time".to_owned()))
    }

    fn wait_until_converged(&self, count: usize) -> Result<(), TestingError> {
        let started = Instant::now();
        while started.elapsed() < CONVERGE_TIMEOUT {
            let agreed = self.nodes.iter().all(|node| {
                cli(node.port(), &["CLUSTER", "INFO"]).is_ok_and(|out| {
                    let info = String::from_utf8_lossy(&out.stdout);
                    info.contains("cluster_state:ok")
                        && info.contains(&format!("cluster_known_nodes:{count}"))
                })
            });
            if agreed {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(TestingError::Start("the redis cluster did not converge in time".to_owned()))
    }

    /// Whether every live node says every slot is served.
    fn serves_every_slot(&self) -> bool {
        let live: Vec<u16> = self.live_ports();
        !live.is_empty()
            && live.iter().all(|port| {
                cli(*port, &["CLUSTER", "INFO"]).is_ok_and(|out| {
                    let info = String::from_utf8_lossy(&out.stdout);
                    info.contains("cluster_state:ok") && info.contains("cluster_slots_fail:0")
                })
            })
    }

    fn live_ports(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .map(RedisServer::port)
            .filter(|port| cli(*port, &["PING"]).is_ok_and(|out| out.stdout.starts_with(b"PONG")))
            .collect()
    }

    fn topology(&self) -> Result<Vec<Node>, TestingError> {
        for port in self.live_ports() {
            if let Ok(output) = cli(port, &["CLUSTER", "NODES"]) {
                let nodes = parse_nodes(&String::from_utf8_lossy(&output.stdout));
                if !nodes.is_empty() {
                    return Ok(nodes);
                }
            }
        }
        Err(TestingError::Start("no cluster node answers CLUSTER NODES".to_owned()))
    }
}

/// One line of `CLUSTER NODES`, the parts the helper uses.
#[derive(Debug)]
struct Node {
    id: String,
    port: u16,
    primary: bool,
    /// The primary a replica follows.
    primary_id: Option<String>,
}

/// `<id> <ip:port@cport> <flags> <primary|-> ...`; failed nodes are left out.
fn parse_nodes(text: &str) -> Vec<Node> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let id = fields.next()?.to_owned();
            let address = fields.next()?;
            let flags = fields.next()?;
            let primary_id = fields.next()?;
            if flags.contains("fail") || flags.contains("noaddr") {
                return None;
            }
            let port = address.split('@').next()?.rsplit(':').next()?.parse().ok()?;
            Some(Node {
                id,
                port,
                primary: flags.contains("master"),
                primary_id: (primary_id != "-").then(|| primary_id.to_owned()),
            })
        })
        .collect()
}

fn cli(port: u16, args: &[&str]) -> Result<Output, TestingError> {
    run(Command::new("redis-cli").args(["-h", "127.0.0.1", "-p", &port.to_string()]).args(args))
}

fn run(command: &mut Command) -> Result<Output, TestingError> {
    command.output().map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => TestingError::RedisServerMissing,
        _ => TestingError::Process(error),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes_lines_are_read_and_failed_nodes_left_out() {
        let text = "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n\
                    b2 127.0.0.1:7001@17001 slave a1 0 0 1 connected\n\
                    c3 127.0.0.1:7002@17002 master,fail - 0 0 2 connected\n";
        let nodes = parse_nodes(text);
        assert_eq!(nodes.len(), 2);
        assert!(nodes[0].primary && nodes[0].port == 7000);
        assert_eq!(nodes[1].primary_id.as_deref(), Some("a1"));
    }

    #[test]
    fn three_primaries_with_replicas_converge_and_fail_over() {
        let cluster = RedisCluster::start(3, 1).unwrap();
        let primaries = cluster.primary_ports().unwrap();
        assert_eq!(primaries.len(), 3);
        assert_eq!(cluster.ports().len(), 6);
        let replica = cluster.replica_of(primaries[0]).unwrap();
        cluster.fail_over_to(replica).unwrap();
        assert!(cluster.primary_ports().unwrap().contains(&replica));
    }
}
