//! Typed settings from flags and environment variables (clap).
//!
//! Every flag has an environment variable of the same meaning, so the same
//! binary is configured by a developer's flags and by a container's env.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::time::Duration;

/// The command line of the `accounts-gateway` binary.
#[derive(Debug, Parser)]
#[command(name = "accounts-gateway", version, about = "One GraphQL API over accounts and balances")]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub settings: Settings,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the GraphQL API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load demo data into the database.
    Seed(SeedArgs),
    /// Print the GraphQL schema (SDL) to standard output.
    Schema,
    /// Manage API keys.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Write an organization's accounts (with assets, wallets and cards)
    /// as CSV or JSON Lines.
    Export(ExportArgs),
    /// Create accounts (with assets, balances and wallets) from a CSV or
    /// JSON Lines file of `export`'s shape; accounts that exist are skipped.
    Import(ImportArgs),
}

/// Options of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to read (`-` for standard input).
    pub file: std::path::PathBuf,
    /// The organization's name (created when it does not exist yet).
    #[arg(long)]
    pub org: String,
    /// csv or jsonl; by default the file's extension.
    #[arg(long, value_enum)]
    pub format: Option<crate::service::export::Format>,
}

/// Options of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The organization's name.
    #[arg(long)]
    pub org: String,
    /// csv or jsonl; by default the output file's extension, else jsonl.
    #[arg(long, value_enum)]
    pub format: Option<crate::service::export::Format>,
    /// The file to write (standard output when absent).
    #[arg(long)]
    pub output: Option<std::path::PathBuf>,
    /// Only the accounts this `AccountFilter` (as JSON) matches, as with
    /// the `accounts` query: `{"status": ["ACTIVE"], "currency": ["BTC"]}`.
    #[arg(long)]
    pub filter: Option<String>,
}

/// `api-key` subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; the key itself is printed once, alone on the last line.
    Create {
        /// Organization name (created when it does not exist yet).
        #[arg(long)]
        org: String,
        /// ADMIN, OPERATOR or VIEWER.
        #[arg(long)]
        role: String,
        /// A name for the key (shown as the audit actor).
        #[arg(long)]
        name: String,
    },
    /// List keys (never the secrets).
    List {
        /// Only this organization's keys.
        #[arg(long)]
        org: Option<String>,
    },
    /// Revoke a key by id or visible prefix; it stops working at once.
    Revoke {
        /// The key's id or prefix (`agk_1234abcd`).
        key: String,
    },
}

/// Options of `seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Also generate this many extra accounts (with clients, assets,
    /// wallets and cards) for benchmarks.
    #[arg(long, default_value_t = 0)]
    pub accounts: usize,
}

/// Log line format.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where quotes come from.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum QuoteSourceKind {
    /// A JSON file of rates.
    File,
    /// An HTTP quote API.
    Http,
}

/// Settings of the gateway.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long = "bind", env = "BIND_ADDR", default_value = "127.0.0.1:8080", global = true)]
    pub bind: String,
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://...`.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://accounts.db?mode=rwc",
        global = true
    )]
    pub database_url: ServiceUrl,
    /// Redis URL for the shared quote cache and event fan-out (optional).
    #[arg(long, env = "REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<ServiceUrl>,
    /// Seed nodes of a Redis Cluster (comma-separated `redis://host:port`),
    /// used instead of `--redis-url` for everything Redis carries.
    #[arg(long, env = "REDIS_CLUSTER_URLS", hide_env_values = true, global = true)]
    pub redis_cluster_urls: Option<String>,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Do not load the demo data set into an empty database on `serve`.
    #[arg(long, env = "NO_SEED", global = true)]
    pub no_seed: bool,
    /// How long a DataLoader waits to gather keys into one batch, in
    /// microseconds. Each dependent wave of nested fields pays it once.
    #[arg(long, env = "DATALOADER_DELAY_US", default_value_t = 500, global = true)]
    pub dataloader_delay_us: u64,
    /// A PostgreSQL streaming replica for queries (mutations, subscriptions
    /// and authentication stay on the primary).
    #[arg(long, env = "DATABASE_READ_URL", hide_env_values = true, global = true)]
    pub database_read_url: Option<ServiceUrl>,
    /// How far behind the primary the replica may be, in milliseconds,
    /// before queries go to the primary instead.
    #[arg(long, env = "DATABASE_READ_MAX_LAG_MS", default_value_t = 2_000, global = true)]
    pub database_read_max_lag_ms: u64,
    /// Maximum database connections in the pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub database_max_connections: u32,
    /// Longest one SQL statement of a request may run on PostgreSQL, in
    /// milliseconds (`statement_timeout` of the request pools; 0: none).
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT_MS", default_value_t = 30_000, global = true)]
    pub database_statement_timeout_ms: u64,
    /// Longest one SQL statement of a request may wait for a lock on
    /// PostgreSQL, in milliseconds (`lock_timeout`; 0: none).
    #[arg(long, env = "DATABASE_LOCK_TIMEOUT_MS", default_value_t = 5_000, global = true)]
    pub database_lock_timeout_ms: u64,
    /// Requests one organization may run at once (a fair share of the
    /// pools); unset, half of `DATABASE_MAX_CONNECTIONS`; 0, no cap.
    #[arg(long, env = "TENANT_MAX_CONCURRENT_REQUESTS", global = true)]
    pub tenant_max_concurrent_requests: Option<usize>,
    /// Weight (query complexity) of the work one organization may have in
    /// flight at once; unset, `MAX_COMPLEXITY` (its heaviest documents run
    /// one at a time); 0, no cap.
    #[arg(long, env = "TENANT_MAX_CONCURRENT_COST", global = true)]
    pub tenant_max_concurrent_cost: Option<usize>,
    /// Documents weighing more than this run on a thread of their own, so
    /// that the cores are shared between them and everyone else's small
    /// requests (0: none).
    #[arg(long, env = "HEAVY_DOCUMENT_COST", default_value_t = 10_000, global = true)]
    pub heavy_document_cost: usize,
    /// Milliseconds a request waits for its organization's turn before it
    /// is refused (LIMIT_EXCEEDED, HTTP 429).
    #[arg(long, env = "TENANT_QUEUE_MS", default_value_t = 10_000, global = true)]
    pub tenant_queue_ms: u64,
    /// On PostgreSQL, requests read through a pool of their own that takes
    /// each connection back as soon as its statement has read its answer,
    /// without the round trip sqlx's pool spends checking it (up to
    /// `DATABASE_READ_MAX_CONNECTIONS` more connections per server; off:
    /// reads share the request pool).
    #[arg(long, env = "DATABASE_READ_POOL", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub database_read_pool: bool,
    /// Maximum connections of the read pool, per server (primary, and the
    /// replica when there is one); unset, `DATABASE_MAX_CONNECTIONS`.
    #[arg(long, env = "DATABASE_READ_MAX_CONNECTIONS", global = true)]
    pub database_read_max_connections: Option<u32>,
    /// On PostgreSQL, remember checked API keys until a notification says
    /// one changed (off: read the key on every request, for a database
    /// reached through a pooler that does not carry LISTEN/NOTIFY).
    #[arg(long, env = "API_KEY_CACHE", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub api_key_cache: bool,
    /// Serve GraphiQL at /graphiql.
    #[arg(long, env = "GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub graphiql: bool,
    /// Refuse `deleteAccount` (accounts can still be closed by status), as
    /// seed 004 answers 405 to every delete. Off (the default), deletion is
    /// a soft delete, as in seed 001.
    #[arg(long, env = "FORBID_ACCOUNT_DELETION", global = true)]
    pub forbid_account_deletion: bool,
    /// Account status changes: `machine` (the status machine) or `free`
    /// (any change, as seeds 003 and 004 allow; DELETED stays terminal).
    #[arg(long, env = "STATUS_TRANSITIONS", value_enum, default_value_t = crate::domain::status::Transitions::Machine, global = true)]
    pub status_transitions: crate::domain::status::Transitions,
    /// Key of card-number fingerprints (HMAC-SHA256), at least 32 bytes.
    /// When unset, the key is read from `--card-key-file`.
    #[arg(long, env = "CARD_HASH_KEY", global = true, hide_env_values = true)]
    pub card_hash_key: Option<Secret>,
    /// File holding the card fingerprint key in hex, created (mode 0600)
    /// with a random key when absent. Default: beside the SQLite file
    /// (`accounts.db.card-key`), or `accounts-gateway.card-key` in the
    /// working directory for PostgreSQL.
    #[arg(long, env = "CARD_KEY_FILE", global = true)]
    pub card_key_file: Option<std::path::PathBuf>,
    /// Where USD quotes come from.
    #[arg(long, env = "QUOTE_SOURCE", value_enum, default_value_t = QuoteSourceKind::File, global = true)]
    pub quote_source: QuoteSourceKind,
    /// Quotes file (JSON object of code to USD rate) for `--quote-source file`;
    /// the demo rates shipped in `quotes/demo-rates.json` when unset.
    #[arg(long, env = "QUOTES_FILE", global = true)]
    pub quotes_file: Option<std::path::PathBuf>,
    /// Base URL of the quote API for `--quote-source http`.
    #[arg(long, env = "QUOTE_API_URL", hide_env_values = true, global = true)]
    pub quote_api_url: Option<String>,
    /// Response shape of the quote API.
    #[arg(long, env = "QUOTE_API_FORMAT", value_enum, default_value_t = crate::pricing::source::ApiFormat::Plain, global = true)]
    pub quote_api_format: crate::pricing::source::ApiFormat,
    /// API key sent to the quote API.
    #[arg(long, env = "QUOTE_API_KEY", global = true, hide_env_values = true)]
    pub quote_api_key: Option<Secret>,
    /// Header that carries the API key.
    #[arg(long, env = "QUOTE_API_KEY_HEADER", default_value = "x-cg-pro-api-key", global = true)]
    pub quote_api_key_header: String,
    /// Extra code=id pairs for CoinGecko (`BTC=bitcoin,SOL=solana`).
    #[arg(long, env = "QUOTE_IDS", default_value = "", global = true)]
    pub quote_ids: String,
    /// Seconds a quote stays fresh.
    #[arg(long, env = "QUOTE_FRESH_SECS", default_value_t = 60, global = true)]
    pub quote_fresh_secs: u64,
    /// Seconds the last good quote is kept to serve (as stale) in an outage.
    #[arg(long, env = "QUOTE_KEEP_SECS", default_value_t = 86_400, global = true)]
    pub quote_keep_secs: u64,
    /// Timeout of one quote API call, in milliseconds.
    #[arg(long, env = "QUOTE_TIMEOUT_MS", default_value_t = 2_000, global = true)]
    pub quote_timeout_ms: u64,
    /// After the price source fails for a currency, milliseconds before it
    /// is asked for that currency again (the last good quote is served,
    /// marked stale, meanwhile).
    #[arg(long, env = "QUOTE_BACKOFF_MS", default_value_t = 5_000, global = true)]
    pub quote_backoff_ms: u64,
    /// Retries of a failed quote API call (with doubling backoff from 100 ms).
    #[arg(long, env = "QUOTE_RETRIES", default_value_t = 2, global = true)]
    pub quote_retries: u32,
    /// Timeout of one Redis call, in milliseconds; slower means a miss.
    #[arg(long, env = "REDIS_TIMEOUT_MS", default_value_t = 50, global = true)]
    pub redis_timeout_ms: u64,
    /// Prefix of every Redis key and channel of this deployment.
    #[arg(long, env = "REDIS_PREFIX", default_value = "ag:", global = true)]
    pub redis_prefix: String,
    /// Development mode: requests without a credential act as the demo
    /// organization's ADMIN. Refused unless bound to a loopback address.
    #[arg(long, env = "DEV", global = true)]
    pub dev: bool,
    /// HS256 secret for Bearer JWTs (at least 32 bytes).
    #[arg(long, env = "JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// PEM public key for RS256/ES256 Bearer JWTs.
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE", global = true)]
    pub jwt_public_key_file: Option<std::path::PathBuf>,
    /// JWKS file (keys by `kid`) for RS256/ES256 Bearer JWTs.
    #[arg(long, env = "JWKS_FILE", global = true)]
    pub jwks_file: Option<std::path::PathBuf>,
    /// The one accepted JWT algorithm: HS256, RS256 or ES256.
    #[arg(long, env = "JWT_ALGORITHM", default_value = "HS256", global = true)]
    pub jwt_algorithm: String,
    /// Required JWT issuer (`iss`).
    #[arg(long, env = "JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,
    /// Required JWT audience (`aud`).
    #[arg(long, env = "JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,
    /// Deepest selection nesting allowed.
    #[arg(long, env = "MAX_DEPTH", default_value_t = 15, global = true)]
    pub max_depth: usize,
    /// Highest query complexity allowed (list fields weigh their page size).
    #[arg(long, env = "MAX_COMPLEXITY", default_value_t = 100_000, global = true)]
    pub max_complexity: usize,
    /// Most aliases in one document.
    #[arg(long, env = "MAX_ALIASES", default_value_t = 50, global = true)]
    pub max_aliases: usize,
    /// Most root fields in one operation.
    #[arg(long, env = "MAX_ROOT_FIELDS", default_value_t = 20, global = true)]
    pub max_root_fields: usize,
    /// Most characters in one query document.
    #[arg(long, env = "MAX_QUERY_LENGTH", default_value_t = 20_000, global = true)]
    pub max_query_length: usize,
    /// Bytes of documents the automatic persisted-query store keeps in
    /// memory (least recently used go first); shared through Redis too
    /// when `REDIS_URL` is set.
    #[arg(long, env = "PERSISTED_QUERIES_BYTES", default_value_t = 8 * 1024 * 1024, global = true)]
    pub persisted_queries_bytes: u64,
    /// Largest request body, in bytes (10 MiB fits a 10,000-row import).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024, global = true)]
    pub max_body_bytes: usize,
    /// Longest a GraphQL request over HTTP may run before it is answered
    /// LIMIT_EXCEEDED (its transaction, if any, rolls back).
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 60_000, global = true)]
    pub request_timeout_ms: u64,
    /// On SIGTERM or Ctrl-C: how long requests in flight may take to
    /// finish once the server stops accepting; what still runs then is cut.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 20, global = true)]
    pub shutdown_grace_secs: u64,
    /// On SIGTERM or Ctrl-C: how long the server keeps accepting, with
    /// `/readyz` answering 503, before it stops, so that a load balancer
    /// sees it leave (0: stop accepting at once).
    #[arg(long, env = "SHUTDOWN_DRAIN_SECS", default_value_t = 0, global = true)]
    pub shutdown_drain_secs: u64,
    /// How long `accountEvents` can replay after a cursor: events older
    /// than this (by commit time) leave the log.
    #[arg(long, env = "EVENTS_RETENTION_SECS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(60..), global = true)]
    pub events_retention_secs: u64,
    /// Requests per second per credential (0 turns limiting off).
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = 50, global = true)]
    pub rate_limit_per_second: u32,
    /// Requests a credential may burst above the rate.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 200, global = true)]
    pub rate_limit_burst: u32,
    /// Complexity that costs one more request of the rate limit: a
    /// document weighing 30,000 takes 1 + 30,000 / this (0: every request
    /// costs one, whatever it weighs).
    #[arg(long, env = "RATE_LIMIT_COST_PER_TOKEN", default_value_t = 5000, global = true)]
    pub rate_limit_cost_per_token: usize,
    /// Failed authentications allowed per client address and minute,
    /// sustained (0: no limit); past them the address is answered 429.
    #[arg(long, env = "AUTH_FAILURES_PER_MINUTE", default_value_t = 60, global = true)]
    pub auth_failures_per_minute: u32,
    /// Failed authentications allowed per client address at once.
    #[arg(long, env = "AUTH_FAILURE_BURST", default_value_t = 20, global = true)]
    pub auth_failure_burst: u32,
    /// The header in which a trusted load balancer names the client
    /// (`X-Forwarded-For`: its last entry counts); unset, the TCP peer.
    #[arg(long, env = "TRUSTED_PROXY_HEADER", global = true, value_parser = parse_header_name)]
    pub trusted_proxy_header: Option<axum::http::HeaderName>,
    /// Serve `/metrics` on this address instead of the main one (for
    /// example `127.0.0.1:9100`, reachable by the scraper only).
    #[arg(long, env = "METRICS_BIND", global = true)]
    pub metrics_bind: Option<String>,
    /// Browser origins allowed by CORS, comma-separated (none by default).
    #[arg(long, env = "CORS_ORIGINS", default_value = "", global = true)]
    pub cors_origins: String,
    /// Page origins allowed to open a WebSocket, comma-separated; `*`, any
    /// (credentials are explicit, so a page can only use one it holds).
    #[arg(long, env = "WS_ORIGINS", default_value = "*", global = true)]
    pub ws_origins: String,
    /// Largest WebSocket message after `connection_ack`, in bytes (before
    /// it, 64 KiB: a `connection_init` is small).
    #[arg(long, env = "WS_MAX_MESSAGE_BYTES", default_value_t = 256 * 1024, global = true)]
    pub ws_max_message_bytes: usize,
    /// Bytes queued for one WebSocket before its producers wait.
    #[arg(long, env = "WS_OUTBOX_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub ws_outbox_bytes: usize,
    /// Milliseconds a WebSocket's queue may stay full (or a write stall)
    /// before it is closed as a slow consumer (1008).
    #[arg(long, env = "WS_SLOW_CONSUMER_MS", default_value_t = 10_000, global = true)]
    pub ws_slow_consumer_ms: u64,
    /// Milliseconds a WebSocket may take to send `connection_init`.
    #[arg(long, env = "WS_INIT_TIMEOUT_MS", default_value_t = 3_000, global = true)]
    pub ws_init_timeout_ms: u64,
    /// Seconds between keep-alive pings on WebSockets.
    #[arg(long, env = "WS_KEEPALIVE_SECS", default_value_t = 15, global = true)]
    pub ws_keepalive_secs: u64,
    /// Most subscriptions on one WebSocket.
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS", default_value_t = 100, global = true)]
    pub ws_max_subscriptions: usize,
    /// Most WebSockets one credential may hold open.
    #[arg(long, env = "WS_MAX_SOCKETS_PER_CREDENTIAL", default_value_t = 100, global = true)]
    pub ws_max_sockets_per_credential: usize,
    /// Answer introspection queries.
    #[arg(long, env = "INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub introspection: bool,
}

/// A configured secret (a key, a signing secret): `Debug` never shows it,
/// so printing the settings cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// A service URL that may carry a password (`postgres://user:pw@host/db`):
/// used as the string it is, printed with the password masked.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceUrl(String);

impl std::ops::Deref for ServiceUrl {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ServiceUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // scheme://user:password@rest -> scheme://user:***@rest
        let masked = match (self.0.find("://"), self.0.rfind('@')) {
            (Some(s), Some(at)) if at > s => match self.0[s + 3..at].find(':') {
                Some(colon) => format!("{}:***{}", &self.0[..s + 3 + colon], &self.0[at..]),
                None => self.0.clone(),
            },
            _ => self.0.clone(),
        };
        write!(f, "{masked:?}")
    }
}

impl std::str::FromStr for ServiceUrl {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ServiceUrl(s.to_owned()))
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl Settings {
    /// The time limits of the request pools' statements.
    pub fn database_timeouts(&self) -> crate::db::Timeouts {
        crate::db::Timeouts {
            statement: Duration::from_millis(self.database_statement_timeout_ms),
            lock: Duration::from_millis(self.database_lock_timeout_ms),
        }
    }

    /// The DataLoader batching delay.
    pub fn dataloader_delay(&self) -> Duration {
        Duration::from_micros(self.dataloader_delay_us)
    }

    /// Where the card fingerprint key comes from.
    pub fn card_key_source(&self) -> crate::service::secrets::KeySource {
        crate::service::secrets::KeySource::from_settings(
            self.card_hash_key.as_ref().map(Secret::expose),
            self.card_key_file.as_deref(),
            &self.database_url,
        )
    }
}

/// A header name, or a one-line error naming what is wrong with it.
fn parse_header_name(s: &str) -> Result<axum::http::HeaderName, String> {
    axum::http::HeaderName::from_bytes(s.trim().as_bytes()).map_err(|_| format!("{s:?} is not a header name"))
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn printing_the_settings_never_shows_a_secret() {
        let cli = Cli::parse_from([
            "accounts-gateway",
            "--jwt-secret",
            "jwt-secret-value-of-at-least-32-bytes",
            "--card-hash-key",
            "card-key-value-of-at-least-32-bytes!",
            "--quote-api-key",
            "quote-api-key-value",
            "--database-url",
            "postgres://gw:db-password-value@db.internal:5432/ledger",
            "--redis-url",
            "redis://:redis-password-value@cache:6379",
        ]);
        let printed = format!("{:?}", cli.settings);
        assert!(printed.contains("postgres://gw:***@db.internal:5432/ledger"), "{printed}");
        assert_eq!(&*cli.settings.database_url, "postgres://gw:db-password-value@db.internal:5432/ledger");
        for secret in ["jwt-secret-value", "card-key-value", "quote-api-key-value", "db-password", "redis-password"] {
            assert!(!printed.contains(secret), "{secret} printed");
        }
        assert_eq!(cli.settings.jwt_secret.as_ref().map(Secret::expose), Some("jwt-secret-value-of-at-least-32-bytes"));
    }
}
