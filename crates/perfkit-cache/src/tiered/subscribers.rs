//! Where invalidations arrive: one RESP3 subscriber per Redis that holds keys, each paired
//! with the writer's connection to that same Redis.
//!
//! A single Redis has one subscriber for the channel's life. A Redis Cluster has one per
//! primary, because `CLIENT TRACKING ... REDIRECT <id>` is a setting of one connection on
//! one node and can only point at a client of that node: the writer's connection to each
//! primary (fred's `with_cluster_node`) is told to redirect to the subscriber on the same
//! primary. The set is made anew at every setup from the topology as fred knows it then,
//! so a failover or a new primary is followed by setting everything up again.

use fred::interfaces::ClusterInterface;
use fred::prelude::{Builder, Client, ClientLike, Error as FredError, ErrorKind};
use fred::types::RespVersion;
use fred::types::config::{Server, ServerConfig};

/// One node's pair: the subscriber and, on a cluster, the node the writer must address.
pub(crate) struct Link {
    pub(crate) subscriber: Client,
    /// `None` on a single Redis: the writer has one connection and needs no address.
    pub(crate) node: Option<Server>,
}

/// The subscribers of the channel.
pub(crate) enum Subscribers {
    /// A single Redis: one subscriber, built with the writer.
    Single(Client),
    /// A cluster: built per primary at each setup from `builder` (the URL's settings:
    /// credentials, TLS, timeouts), the previous set closed first.
    Cluster { builder: Box<Builder>, current: Vec<Client> },
}

impl Subscribers {
    /// The links to set tracking up on. On a cluster this refreshes the writer's view of the
    /// topology first and connects a subscriber to every primary of it.
    pub(crate) async fn links(&mut self, writer: &Client) -> Result<Vec<Link>, FredError> {
        match self {
            Subscribers::Single(subscriber) => {
                Ok(vec![Link { subscriber: subscriber.clone(), node: None }])
            }
            Subscribers::Cluster { builder, current } => {
                close(std::mem::take(current));
                writer.sync_cluster().await?;
                let primaries = primaries(writer);
                if primaries.is_empty() {
                    return Err(FredError::new(ErrorKind::Cluster, "no primary known yet"));
                }
                let mut links = Vec::with_capacity(primaries.len());
                for node in primaries {
                    let subscriber = node_subscriber(builder, &node)?;
                    drop(subscriber.connect());
                    current.push(subscriber.clone());
                    subscriber.wait_for_connect().await?;
                    links.push(Link { subscriber, node: Some(node) });
                }
                Ok(links)
            }
        }
    }

    /// Whether the topology still has the primaries `links` were made for (always, on a
    /// single Redis). Asks the cluster, so a failover is seen within one heartbeat even when
    /// this instance sends nothing to the slots that moved.
    pub(crate) async fn same_topology(&self, writer: &Client, links: &[Link]) -> bool {
        if matches!(self, Subscribers::Single(_)) {
            return true;
        }
        if writer.sync_cluster().await.is_err() {
            return false;
        }
        let mut now = primaries(writer);
        let mut then: Vec<Server> = links.iter().filter_map(|link| link.node.clone()).collect();
        now.sort_by(|a, b| (&a.host, a.port).cmp(&(&b.host, b.port)));
        then.sort_by(|a, b| (&a.host, a.port).cmp(&(&b.host, b.port)));
        now == then
    }
}

impl Drop for Subscribers {
    fn drop(&mut self) {
        match self {
            Subscribers::Single(subscriber) => close(vec![subscriber.clone()]),
            Subscribers::Cluster { current, .. } => close(std::mem::take(current)),
        }
    }
}

/// The primaries as the writer last learnt them.
fn primaries(writer: &Client) -> Vec<Server> {
    writer.cached_cluster_state().map(|state| state.unique_primary_nodes()).unwrap_or_default()
}

/// A RESP3 client of `node` alone, with the URL's other settings.
fn node_subscriber(builder: &Builder, node: &Server) -> Result<Client, FredError> {
    let mut builder = builder.clone();
    let mut config = builder.get_config().cloned().unwrap_or_default();
    config.server = ServerConfig::Centralized { server: node.clone() };
    // RESP3: the subscriber still answers PING and CLIENT ID while subscribed.
    config.version = RespVersion::RESP3;
    builder.set_config(config);
    builder.build()
}

/// Stops the clients' reconnect loops; without a runtime they end with it anyway.
fn close(clients: Vec<Client>) {
    if clients.is_empty() {
        return;
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            for client in clients {
                let _ = client.quit().await;
            }
        });
    }
}
