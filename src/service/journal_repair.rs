//! Repairs journals backfilled from databases made before the journal.
//!
//! The journal's migration gave every existing asset one INITIAL row at its
//! creation holding the balance of the day it ran (actor `migration`):
//! an asset created with 0.00 and adjusted three times by +1.25 claimed
//! 3.75 since its creation. After migrating, each such asset's journal is
//! rebuilt from the audit trail (`asset.added`, then each
//! `asset.balance_adjusted` with its deltas) when that trail reproduces
//! the backfilled balance exactly. Where it cannot, the backfilled row is
//! moved to the latest instant its balance is known at, and the asset
//! records that its history starts there (`history_starts_at`): a read
//! before it is an error, never a guessed number. Each asset is repaired
//! in one transaction and once (the backfilled row is gone or renamed).

use crate::domain::BalanceCause;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use entity::{asset, audit_event, balance_entry, Amount};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde_json::Value;
use std::str::FromStr;
use uuid::Uuid;

/// The actor of the rows the journal's migration backfilled.
const BACKFILLED: &str = "migration";
/// The actor of a backfilled row that marks where known history starts.
pub const HISTORY_START: &str = "history-start";

/// What the repair did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Repaired {
    /// Journals rebuilt from the audit trail.
    pub rebuilt: u64,
    /// Assets whose history now starts at a known instant.
    pub started: u64,
}

/// One balance state read from an audit snapshot: available, on hold,
/// future, credit limit.
type State = [Decimal; 4];

fn state(v: Option<&Value>) -> Option<State> {
    let v = v?;
    let read = |k: &str| v.get(k).and_then(Value::as_str).and_then(|s| Decimal::from_str(s).ok());
    Some([read("available")?, read("onHold")?, read("future")?, read("creditLimit")?])
}

/// A rebuilt row: when, who, why, the deltas and the state after it.
struct Step {
    at: DateTime<Utc>,
    actor: String,
    cause: BalanceCause,
    key: Option<String>,
    deltas: [Decimal; 3],
    after: State,
}

/// The journal the audit trail `events` (oldest first) describes, or
/// `None` when it does not start with the asset's creation or a snapshot
/// cannot be read.
fn rebuild(events: &[audit_event::Model]) -> Option<Vec<Step>> {
    let (first, rest) = events.split_first()?;
    if first.action != "asset.added" {
        return None;
    }
    let opening = state(first.after.as_ref())?;
    let mut steps = vec![Step {
        at: first.at,
        actor: first.actor.clone(),
        cause: BalanceCause::Initial,
        key: None,
        deltas: [opening[0], opening[1], opening[2]],
        after: opening,
    }];
    for e in rest {
        let after = state(e.after.as_ref())?;
        let before = steps.last().map(|s| s.after)?;
        let key = e.after.as_ref().and_then(|a| a["adjustment"]["idempotencyKey"].as_str()).map(str::to_owned);
        let deltas = [after[0] - before[0], after[1] - before[1], after[2] - before[2]];
        steps.push(Step { at: e.at, actor: e.actor.clone(), cause: BalanceCause::Adjustment, key, deltas, after });
    }
    Some(steps)
}

fn entry(row: &balance_entry::Model, s: &Step) -> balance_entry::ActiveModel {
    balance_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(row.organization_id),
        asset_id: Set(row.asset_id),
        at: Set(s.at),
        actor: Set(s.actor.clone()),
        cause: Set(s.cause.as_str().to_owned()),
        idempotency_key: Set(s.key.clone()),
        delta_available: Set(Amount(s.deltas[0])),
        delta_on_hold: Set(Amount(s.deltas[1])),
        delta_future: Set(Amount(s.deltas[2])),
        available: Set(Amount(s.after[0])),
        on_hold: Set(Amount(s.after[1])),
        future: Set(Amount(s.after[2])),
        credit_limit: Set(Amount(s.after[3])),
        transfer_id: Set(None),
    }
}

/// Repairs every backfilled journal; `now` is when known history starts
/// for an asset with no later journal row.
pub async fn run(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<Repaired> {
    let backfilled = balance_entry::Entity::find()
        .filter(balance_entry::Column::Actor.eq(BACKFILLED))
        .filter(balance_entry::Column::Cause.eq(BalanceCause::Initial.as_str()))
        .all(db)
        .await?;
    let mut done = Repaired::default();
    for row in backfilled {
        if repair_one(db, &row, now).await? {
            done.rebuilt += 1;
        } else {
            done.started += 1;
        }
    }
    Ok(done)
}

/// Repairs the journal of `row`'s asset; true when rebuilt from the trail.
async fn repair_one(db: &DatabaseConnection, row: &balance_entry::Model, now: DateTime<Utc>) -> AppResult<bool> {
    use balance_entry::Column as E;
    let tx = db.begin().await?;
    let later = balance_entry::Entity::find()
        .filter(E::OrganizationId.eq(row.organization_id))
        .filter(E::AssetId.eq(row.asset_id))
        .filter(E::Id.ne(row.id))
        .order_by_asc(E::At)
        .one(&tx)
        .await?
        .map(|e| e.at);
    let mut events = audit_event::Entity::find()
        .filter(audit_event::Column::OrganizationId.eq(row.organization_id))
        .filter(audit_event::Column::EntityId.eq(row.asset_id))
        .filter(audit_event::Column::Action.is_in(["asset.added", "asset.balance_adjusted"]))
        .order_by_asc(audit_event::Column::At)
        .order_by_asc(audit_event::Column::Id)
        .all(&tx)
        .await?;
    // Changes made after the journal began have rows of their own.
    events.retain(|e| later.is_none_or(|l| e.at < l));
    let known = [row.available.0, row.on_hold.0, row.future.0];
    let steps = rebuild(&events).filter(|s| s.last().is_some_and(|l| [l.after[0], l.after[1], l.after[2]] == known));
    let rebuilt = match steps {
        Some(steps) => {
            balance_entry::Entity::delete_by_id(row.id).exec(&tx).await?;
            for s in &steps {
                entry(row, s).insert(&tx).await?;
            }
            true
        }
        None => {
            // Known since the last moment before the next recorded change.
            let start = later.map_or(now, |l| l - Duration::microseconds(1));
            let mut marker = row.clone().into_active_model();
            marker.at = Set(start);
            marker.actor = Set(HISTORY_START.to_owned());
            marker.update(&tx).await?;
            let a = asset::Entity::find_by_id(row.asset_id)
                .one(&tx)
                .await?
                .ok_or_else(|| AppError::internal("a journal row without its asset"))?;
            let mut a = a.into_active_model();
            a.history_starts_at = Set(Some(start));
            a.update(&tx).await?;
            false
        }
    };
    tx.commit().await?;
    Ok(rebuilt)
}
