//! The card fingerprint key: never in the database it protects.
//!
//! Fingerprints are HMACs of card numbers; with the key and a dump of the
//! database, any card could be recovered from its last four digits in
//! about 10^5 tries. So the key lives outside the database: configured
//! (`CARD_HASH_KEY`), or in a key file (`CARD_KEY_FILE`, by default beside
//! the SQLite file), generated with mode 0600 on first start. A key that
//! an older version kept in the database is moved to the file on first
//! start. The database keeps only a check value (an HMAC of a constant, which
//! says nothing about card numbers), so that a replica started with another
//! key refuses to start instead of writing fingerprints nobody can match.

use anyhow::{bail, Context};
use entity::server_setting;
use rand::RngCore;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where older versions kept the key.
const LEGACY_KEY: &str = "card_fingerprint_key";
/// The check value of the key in use.
const KEY_CHECK: &str = "card_fingerprint_key_check";
/// Shortest key accepted: 256 bits.
pub const MIN_KEY_BYTES: usize = 32;

/// Where the key comes from, per the settings.
#[derive(Clone, Debug, PartialEq)]
pub enum KeySource {
    /// Given directly (`CARD_HASH_KEY`).
    Configured(Vec<u8>),
    /// A file holding the key in hex, created when absent.
    File(PathBuf),
    /// An in-memory database: a key for this process only.
    Ephemeral,
}

impl KeySource {
    /// The source the settings name: the configured key, else the
    /// configured file, else a file beside the SQLite database (or
    /// `accounts-gateway.card-key` in the working directory for a server
    /// database).
    pub fn from_settings(configured: Option<&str>, file: Option<&Path>, database_url: &str) -> Self {
        if let Some(key) = configured {
            return KeySource::Configured(key.as_bytes().to_vec());
        }
        if let Some(path) = file {
            return KeySource::File(path.to_path_buf());
        }
        match database_url.strip_prefix("sqlite:") {
            Some(rest) => {
                let (path, query) =
                    rest.trim_start_matches("//").split_once('?').unwrap_or((rest.trim_start_matches("//"), ""));
                if path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory") {
                    KeySource::Ephemeral
                } else {
                    KeySource::File(PathBuf::from(format!("{path}.card-key")))
                }
            }
            None => KeySource::File(PathBuf::from("accounts-gateway.card-key")),
        }
    }
}

/// The key of card fingerprints from `source`, after moving a key kept in
/// the database out of it and checking the key against the one the
/// database's fingerprints were made with.
pub async fn card_key<C: ConnectionTrait>(db: &C, source: &KeySource) -> anyhow::Result<Vec<u8>> {
    let legacy = setting(db, LEGACY_KEY).await?;
    let key = match source {
        KeySource::Configured(key) => {
            if key.len() < MIN_KEY_BYTES {
                bail!("CARD_HASH_KEY is {} bytes; a card fingerprint key needs at least {MIN_KEY_BYTES}", key.len());
            }
            if let Some(old) = &legacy {
                // Keep the old key rather than destroy it: fingerprints made
                // with it can only be re-made with it.
                let keep = PathBuf::from("accounts-gateway.legacy-card-key");
                if !keep.exists() {
                    write_new(&keep, &hex::decode(old).context("the stored card key is not hex")?)?;
                }
                tracing::warn!(file = %keep.display(), "moved the card key an older version kept in the database to a file");
            }
            key.clone()
        }
        KeySource::Ephemeral => generate(),
        KeySource::File(path) => file_key(db, path, legacy.as_deref()).await?,
    };
    check(db, &key, source).await?;
    if legacy.is_some() {
        server_setting::Entity::delete_by_id(LEGACY_KEY.to_owned()).exec(db).await?;
    }
    Ok(key)
}

/// The key in `path`; created from the database's legacy key, or freshly
/// generated when the database has never had fingerprints.
async fn file_key<C: ConnectionTrait>(db: &C, path: &Path, legacy: Option<&str>) -> anyhow::Result<Vec<u8>> {
    if path.exists() {
        return read(path);
    }
    let key = match legacy {
        Some(hex_key) => hex::decode(hex_key).context("the card key stored in the database is not hex")?,
        None if setting(db, KEY_CHECK).await?.is_some() => bail!(
            "the card fingerprint key file {} is missing, and this database's fingerprints were made with a key: \
             restore the file (or set CARD_HASH_KEY / CARD_KEY_FILE) before starting",
            path.display()
        ),
        None => generate(),
    };
    match write_new(path, &key) {
        Ok(()) => {
            tracing::info!(file = %path.display(), "card fingerprint key kept in this file (mode 0600); back it up");
            Ok(key)
        }
        // Another process starting at the same moment wrote it first.
        Err(_) if path.exists() => read(path),
        Err(e) => Err(e),
    }
}

fn generate() -> Vec<u8> {
    let mut key = vec![0u8; MIN_KEY_BYTES];
    rand::thread_rng().fill_bytes(&mut key);
    key
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading the card key file {}", path.display()))?;
    let key = hex::decode(text.trim())
        .with_context(|| format!("the card key file {} must hold the key in hex", path.display()))?;
    if key.len() < MIN_KEY_BYTES {
        bail!("the card key file {} holds {} bytes; at least {MIN_KEY_BYTES} are needed", path.display(), key.len());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(file = %path.display(), mode = format!("{:o}", mode & 0o777), "the card key file is readable by others; chmod 600 it");
        }
    }
    Ok(key)
}

/// Creates `path` (never overwriting) with mode 0600 and the key in hex.
fn write_new(path: &Path, key: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| format!("creating the card key file {}", path.display()))?;
    file.write_all(format!("{}\n", hex::encode(key)).as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// Records the key's check value on first use; afterwards refuses a key
/// whose check value differs.
async fn check<C: ConnectionTrait>(db: &C, key: &[u8], source: &KeySource) -> anyhow::Result<()> {
    let mine = crate::domain::cards::fingerprint(key, "accounts-gateway card key check");
    server_setting::Entity::insert(server_setting::ActiveModel {
        name: Set(KEY_CHECK.to_owned()),
        value: Set(mine.clone()),
    })
    .on_conflict_do_nothing_on([server_setting::Column::Name])
    .exec_without_returning(db)
    .await?;
    match setting(db, KEY_CHECK).await? {
        Some(stored) if stored == mine => Ok(()),
        _ => bail!(
            "the card fingerprint key from {} is not the key this database's fingerprints were made with; \
             start with the original key (see the README, \"Card fingerprint key\")",
            match source {
                KeySource::Configured(_) => "CARD_HASH_KEY".to_owned(),
                KeySource::File(p) => p.display().to_string(),
                KeySource::Ephemeral => "memory".to_owned(),
            }
        ),
    }
}

async fn setting<C: ConnectionTrait>(db: &C, name: &str) -> anyhow::Result<Option<String>> {
    Ok(server_setting::Entity::find_by_id(name.to_owned()).one(db).await?.map(|s| s.value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_sits_beside_the_sqlite_file() {
        let file = |url: &str| KeySource::from_settings(None, None, url);
        assert_eq!(file("sqlite://accounts.db?mode=rwc"), KeySource::File("accounts.db.card-key".into()));
        assert_eq!(file("sqlite:///var/lib/ag/a.db"), KeySource::File("/var/lib/ag/a.db.card-key".into()));
        assert_eq!(file("sqlite::memory:"), KeySource::Ephemeral);
        assert_eq!(file("sqlite://x.db?mode=memory&cache=shared"), KeySource::Ephemeral);
        assert_eq!(file("postgres://h/db"), KeySource::File("accounts-gateway.card-key".into()));
        let configured = KeySource::from_settings(Some("k"), Some(Path::new("/f")), "sqlite://a.db");
        assert_eq!(configured, KeySource::Configured(b"k".to_vec()));
    }
}
