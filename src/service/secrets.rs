//! Server secrets generated on first start and kept in the database, so an
//! embedded install is keyed without setup and every replica shares them.

use crate::error::AppResult;
use entity::server_setting;
use rand::RngCore;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

const CARD_KEY: &str = "card_fingerprint_key";

/// The key of card fingerprints: `configured` when given, else the stored
/// one, generated on first use.
pub async fn card_key<C: ConnectionTrait>(db: &C, configured: Option<&str>) -> AppResult<Vec<u8>> {
    if let Some(key) = configured {
        return Ok(key.as_bytes().to_vec());
    }
    let mut fresh = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut fresh);
    // Insert-if-absent, then read: concurrent first starts agree on one key.
    server_setting::Entity::insert(server_setting::ActiveModel {
        name: Set(CARD_KEY.to_owned()),
        value: Set(hex::encode(fresh)),
    })
    .on_conflict_do_nothing_on([server_setting::Column::Name])
    .exec(db)
    .await?;
    let stored = server_setting::Entity::find_by_id(CARD_KEY.to_owned()).one(db).await?;
    let hex_key = stored.map(|s| s.value).unwrap_or_default();
    hex::decode(hex_key).map_err(crate::error::AppError::internal)
}
