//! A Redis Cluster for one test: three private `redis-server` primaries in cluster mode, on
//! free loopback ports (each with its own free bus port), joined by `redis-cli --cluster
//! create` with the 16384 slots spread over them, no replicas, killed on drop.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::redis_server::free_port;
use crate::{RedisServer, TestingError};

/// How long the three nodes get to agree that the cluster is up.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(20);

/// A private three-primary Redis Cluster.
///
/// ```
/// use perfkit_testing::RedisCluster;
///
/// let cluster = RedisCluster::start();
/// assert_eq!(cluster.ports().len(), 3);
/// assert!(cluster.url().starts_with("redis-cluster://127.0.0.1:"));
/// ```
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three primaries and creates the cluster.
    ///
    /// # Panics
    /// When redis-server or redis-cli is missing, or the cluster does not come up, with a
    /// message that says why.
    #[must_use]
    pub fn start() -> Self {
        match Self::try_start() {
            Ok(cluster) => cluster,
            Err(error) => panic!("{error}"),
        }
    }

    /// Like [`start`](Self::start), returning the error instead of panicking.
    ///
    /// # Errors
    /// [`TestingError`] when a node does not start or the cluster is not up in time.
    pub fn try_start() -> Result<Self, TestingError> {
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let bus = free_port().map_err(TestingError::Process)?;
            nodes.push(RedisServer::try_start_private_with(
                [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-port",
                    &bus.to_string(),
                    "--cluster-config-file",
                    "nodes.conf",
                ]
                .map(str::to_owned)
                .to_vec(),
            )?);
        }
        let cluster = RedisCluster { nodes };
        let addresses: Vec<String> =
            cluster.ports().iter().map(|port| format!("127.0.0.1:{port}")).collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|error| TestingError::Start(format!("redis-cli --cluster create: {error}")))?;
        if !created.status.success() {
            return Err(TestingError::Start(format!(
                "a Redis Cluster: redis-cli --cluster create said {}",
                String::from_utf8_lossy(&created.stdout)
            )));
        }
        cluster.wait_until_up()?;
        Ok(cluster)
    }

    /// Waits until every node says `cluster_state:ok`.
    fn wait_until_up(&self) -> Result<(), TestingError> {
        let started = Instant::now();
        for port in self.ports() {
            loop {
                let info = Command::new("redis-cli")
                    .args(["-p", &port.to_string(), "cluster", "info"])
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|error| TestingError::Start(format!("redis-cli: {error}")))?;
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    break;
                }
                if started.elapsed() > CLUSTER_TIMEOUT {
                    return Err(TestingError::Start(format!(
                        "a Redis Cluster: node {port} not up within {CLUSTER_TIMEOUT:?}"
                    )));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// The ports of the primaries.
    #[must_use]
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(RedisServer::port).collect()
    }

    /// `redis-cluster://127.0.0.1:<first>?node=127.0.0.1:<second>&node=...`.
    #[must_use]
    pub fn url(&self) -> String {
        let ports = self.ports();
        let others: Vec<String> =
            ports[1..].iter().map(|port| format!("node=127.0.0.1:{port}")).collect();
        format!("redis-cluster://127.0.0.1:{}?{}", ports[0], others.join("&"))
    }
}
