//! Servers a test owns: its own `redis-server` and its own PostgreSQL
//! cluster, on free ports, that it may kill and restart without harming
//! the machine's shared services. Every start waits for the server to
//! answer (polling with a deadline), never for a fixed time.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `ready` every 20 ms until it holds or `within` passes.
pub async fn wait_until<F, Fut>(what: &str, within: Duration, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !ready().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A `redis-server` of the test's own.
pub struct OwnRedis {
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts one on a free port and waits until it answers PING; `None`
    /// (skip) when redis-server is not installed and services are optional.
    pub async fn start() -> Option<OwnRedis> {
        let mut r = OwnRedis { port: free_port(), child: None };
        match r.spawn() {
            Ok(()) => {}
            Err(e) => {
                crate::helpers::skip(format!("redis-server is not runnable: {e}"));
                return None;
            }
        }
        r.wait_ready().await;
        Some(r)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            // Under libfaketime (to test the gateway on other dates) the
            // server itself must run on real time: redis-server's allocator
            // and libfaketime's clock hooks deadlock each other.
            .env_remove("LD_PRELOAD")
            .kill_on_drop(true)
            .spawn()?;
        self.child = Some(child);
        Ok(())
    }

    async fn answers(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else { return false };
        let Ok(mut conn) = client.get_multiplexed_async_connection().await else { return false };
        redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
    }

    async fn wait_ready(&self) {
        wait_until("redis-server answers", Duration::from_secs(10), || self.answers()).await;
    }

    /// Kills it (SIGKILL) and waits until the port no longer answers.
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().await.unwrap();
        }
        wait_until("redis-server gone", Duration::from_secs(10), || async { !self.answers().await }).await;
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        self.spawn().unwrap();
        self.wait_ready().await;
    }
}

/// A three-node Redis Cluster of the test's own (`redis-server
/// --cluster-enabled yes` on free ports, joined by `redis-cli --cluster
/// create`), gone when dropped.
pub struct OwnRedisCluster {
    pub ports: Vec<u16>,
    dir: PathBuf,
    _nodes: Vec<Child>,
}

impl OwnRedisCluster {
    /// Starts the nodes, creates the cluster and waits until every node
    /// says `cluster_state:ok`; `None` (skip) without redis-server.
    pub async fn start() -> Option<OwnRedisCluster> {
        let dir = std::env::temp_dir().join(format!("ag-rc-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let mut nodes = Vec::new();
        for port in &ports {
            let spawned = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
                .arg("--cluster-config-file")
                .arg(dir.join(format!("nodes-{port}.conf")))
                .current_dir(&dir)
                .stdout(Stdio::null())
                .env_remove("LD_PRELOAD")
                .kill_on_drop(true)
                .spawn();
            match spawned {
                Ok(child) => nodes.push(child),
                Err(e) => {
                    crate::helpers::skip(format!("redis-server is not runnable: {e}"));
                    return None;
                }
            }
        }
        let cluster = OwnRedisCluster { ports, dir, _nodes: nodes };
        for port in &cluster.ports {
            let url = format!("redis://127.0.0.1:{port}");
            wait_until("a cluster node answers", Duration::from_secs(10), || answers(&url)).await;
        }
        let addresses: Vec<String> = cluster.ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .env_remove("LD_PRELOAD")
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "cluster create: {}", String::from_utf8_lossy(&out.stdout));
        for port in &cluster.ports {
            let url = format!("redis://127.0.0.1:{port}");
            wait_until("the cluster is ok", Duration::from_secs(20), || async {
                let Ok(client) = redis::Client::open(url.as_str()) else { return false };
                let Ok(mut conn) = client.get_multiplexed_async_connection().await else { return false };
                let info: String = redis::cmd("CLUSTER").arg("INFO").query_async(&mut conn).await.unwrap_or_default();
                info.contains("cluster_state:ok")
            })
            .await;
        }
        Some(cluster)
    }

    /// The seed nodes, as `REDIS_CLUSTER_URLS` takes them.
    pub fn urls(&self) -> String {
        self.ports.iter().map(|p| format!("redis://127.0.0.1:{p}")).collect::<Vec<_>>().join(",")
    }
}

impl Drop for OwnRedisCluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn answers(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else { return false };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else { return false };
    redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
}

/// A PostgreSQL cluster of the test's own (initdb as user `postgres`, its
/// own data directory and port), which the test may crash and restart.
pub struct OwnPostgres {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

impl OwnPostgres {
    /// Makes and starts a cluster; `None` (skip) when PostgreSQL's server
    /// binaries are not installed and services are optional.
    pub async fn start() -> Option<OwnPostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|d| d.filter_map(Result::ok).map(|e| e.path().join("bin")).find(|b| b.join("initdb").exists()));
        let Some(bin) = bin else {
            crate::helpers::skip("no PostgreSQL server binaries under /usr/lib/postgresql");
            return None;
        };
        let dir = std::env::temp_dir().join(format!("ag-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let pg = OwnPostgres { port: free_port(), dir, bin };
        if is_root() {
            pg.as_postgres(&["chown", "postgres", pg.dir.to_str().unwrap()], true).await;
        }
        let data = pg.data();
        pg.as_postgres(&[pg.bin.join("initdb").to_str().unwrap(), "-A", "trust", "-U", "postgres", "-D", &data], false)
            .await;
        pg.pg_ctl_start().await;
        Some(pg)
    }

    /// A streaming replica of `primary` (`pg_basebackup -R`), started on
    /// its own port: read-only, replaying what the primary writes.
    pub async fn replica_of(primary: &OwnPostgres) -> OwnPostgres {
        let dir = std::env::temp_dir().join(format!("ag-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let pg = OwnPostgres { port: free_port(), dir, bin: primary.bin.clone() };
        if is_root() {
            pg.as_postgres(&["chown", "postgres", pg.dir.to_str().unwrap()], true).await;
        }
        let backup = pg.bin.join("pg_basebackup").display().to_string();
        let port = primary.port.to_string();
        let data = pg.data();
        let argv = [&backup, "-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-D", &data, "-R", "-X", "stream"];
        pg.as_postgres(&argv, false).await;
        pg.pg_ctl_start().await;
        pg
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    async fn as_postgres(&self, argv: &[&str], as_root: bool) {
        let mut cmd = if as_root || !is_root() {
            let mut c = Command::new(argv[0]);
            c.args(&argv[1..]);
            c
        } else {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).args(argv);
            c
        };
        // The cluster runs on real time even when the suite runs under
        // libfaketime.
        let out = cmd.env_remove("LD_PRELOAD").stdout(Stdio::null()).stderr(Stdio::piped()).output().await.unwrap();
        assert!(out.status.success(), "{argv:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    async fn pg_ctl_start(&self) {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let log = self.dir.join("log").display().to_string();
        let ctl = self.bin.join("pg_ctl").display().to_string();
        self.as_postgres(&[&ctl, "-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"], false).await;
    }

    /// Crashes the server (`pg_ctl stop -m immediate`: no checkpoint, as a
    /// power cut would leave it).
    pub async fn crash(&self) {
        let ctl = self.bin.join("pg_ctl").display().to_string();
        self.as_postgres(&[&ctl, "-D", &self.data(), "-m", "immediate", "-w", "stop"], false).await;
    }

    /// Starts it again after a crash (it recovers from its WAL).
    pub async fn restart(&self) {
        self.pg_ctl_start().await;
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let ctl = self.bin.join("pg_ctl");
        let data = self.data();
        let argv = [ctl.to_str().unwrap_or_default(), "-D", &data, "-m", "immediate", "stop"];
        let mut cmd = if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).args(argv);
            c
        } else {
            let mut c = std::process::Command::new(argv[0]);
            c.args(&argv[1..]);
            c
        };
        let _ = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether this process runs as root (then PostgreSQL runs as `postgres`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}
