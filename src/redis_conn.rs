//! One Redis server or a Redis Cluster, behind one connection type.
//!
//! Everything the gateway keeps in Redis (quotes, persisted queries,
//! rate-limit buckets, the event stream) is reached through a
//! [`RedisTarget`]: `REDIS_URL` for one server, `REDIS_CLUSTER_URLS` for a
//! cluster (the redis crate's cluster client, which follows MOVED/ASK and
//! slot changes). Pipelines and multi-key commands on a cluster must stay in
//! one hash slot, so every key the gateway writes carries a hash tag
//! ([`RedisTarget::tagged`]): one namespace, one slot.

use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};
use std::time::Duration;

/// Where Redis is.
#[derive(Clone)]
pub enum RedisTarget {
    /// One server (or a managed primary).
    Single(redis::Client),
    /// A Redis Cluster, found from any of its nodes.
    Cluster(ClusterClient),
}

/// A connection to either; reconnects by itself (the single server's
/// through a `ConnectionManager`, the cluster's by its client).
#[derive(Clone)]
pub enum RedisConn {
    /// A managed connection to one server.
    Managed(ConnectionManager),
    /// A plain multiplexed connection to one server (for blocking reads).
    Plain(MultiplexedConnection),
    /// A cluster connection.
    Cluster(ClusterConnection),
}

impl RedisTarget {
    /// What the settings name: `REDIS_CLUSTER_URLS` first, else
    /// `REDIS_URL`, else no Redis.
    pub fn from_settings(s: &crate::config::Settings) -> RedisResult<Option<Self>> {
        match (&s.redis_cluster_urls, &s.redis_url) {
            (Some(urls), _) => Ok(Some(RedisTarget::cluster(urls)?)),
            (None, Some(url)) => Ok(Some(RedisTarget::single(url)?)),
            (None, None) => Ok(None),
        }
    }

    /// One server at `url`.
    pub fn single(url: &str) -> RedisResult<Self> {
        Ok(RedisTarget::Single(redis::Client::open(url)?))
    }

    /// The cluster reachable through `urls` (comma-separated seed nodes).
    pub fn cluster(urls: &str) -> RedisResult<Self> {
        let nodes: Vec<&str> = urls.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
        Ok(RedisTarget::Cluster(ClusterClient::builder(nodes).retries(1).build()?))
    }

    /// `{namespace}rest`: the hash tag keeps a namespace's keys in one slot
    /// of a cluster, so its pipelines and MGETs are never cross-slot.
    pub fn tagged(namespace: &str, rest: &str) -> String {
        format!("{{{namespace}}}{rest}")
    }

    /// A connection for short commands: connected within `connect`, each
    /// answered within `timeout`. `retries` is how often one server's
    /// manager sends a command again after a broken connection: 0 where a
    /// late copy would do harm (the event relay counts a timed-out append
    /// as unsent and appends it again, in order).
    pub async fn connect(&self, connect: Duration, timeout: Duration, retries: usize) -> RedisResult<RedisConn> {
        match self {
            RedisTarget::Single(client) => {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(connect)
                    .set_response_timeout(timeout)
                    .set_number_of_retries(retries);
                Ok(RedisConn::Managed(client.get_connection_manager_with_config(config).await?))
            }
            RedisTarget::Cluster(client) => cluster_connection(client, timeout).await,
        }
    }

    /// A connection of its own for blocking reads (XREAD BLOCK), whose
    /// answers may take up to `timeout`.
    pub async fn dedicated(&self, timeout: Duration) -> RedisResult<RedisConn> {
        match self {
            RedisTarget::Single(client) => {
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Duration::from_millis(500))
                    .set_response_timeout(timeout);
                Ok(RedisConn::Plain(client.get_multiplexed_async_connection_with_config(&config).await?))
            }
            RedisTarget::Cluster(client) => cluster_connection(client, timeout).await,
        }
    }
}

async fn cluster_connection(client: &ClusterClient, timeout: Duration) -> RedisResult<RedisConn> {
    let config = redis::cluster::ClusterConfig::new()
        .set_connection_timeout(timeout.max(Duration::from_millis(500)))
        .set_response_timeout(timeout);
    Ok(RedisConn::Cluster(client.get_async_connection_with_config(config).await?))
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConn::Managed(c) => c.req_packed_command(cmd),
            RedisConn::Plain(c) => c.req_packed_command(cmd),
            RedisConn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConn::Managed(c) => c.req_packed_commands(cmd, offset, count),
            RedisConn::Plain(c) => c.req_packed_commands(cmd, offset, count),
            RedisConn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Managed(c) => c.get_db(),
            RedisConn::Plain(c) => c.get_db(),
            RedisConn::Cluster(c) => c.get_db(),
        }
    }
}
