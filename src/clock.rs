//! The clock every time-dependent rule reads (card expiry, quote freshness,
//! the dates of generated demo data, back-off windows).
//!
//! Production uses the system clock. Tests start a clock at a chosen
//! instant and move it forward by hand, so that no result depends on the
//! day the suite runs or on how fast the machine is.

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A cheap, clonable handle to the current time.
#[derive(Clone, Debug)]
pub struct Clock {
    /// `None`: the system clock; `Some`: starts at this instant and runs
    /// with the monotonic clock from `Instant`.
    start: Option<(DateTime<Utc>, Instant)>,
    /// Microseconds added by [`Clock::advance`]; shared by every clone.
    advanced_us: Arc<AtomicI64>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock { start: None, advanced_us: Arc::new(AtomicI64::new(0)) }
    }

    /// A clock that reads `at` now and then runs at real speed.
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Clock { start: Some((at, Instant::now())), advanced_us: Arc::new(AtomicI64::new(0)) }
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        let base = match self.start {
            None => Utc::now(),
            Some((at, started)) => at + chrono::Duration::from_std(started.elapsed()).unwrap_or_default(),
        };
        base + chrono::Duration::microseconds(self.advanced_us.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every clone of it) forward, as if `by` had
    /// passed: how tests cross a TTL or a month end without waiting.
    pub fn advance(&self, by: Duration) {
        let us = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.advanced_us.fetch_add(us, Ordering::Relaxed);
    }

    /// How long ago `then` was by this clock (zero for a future instant).
    pub fn since(&self, then: DateTime<Utc>) -> Duration {
        self.now().signed_duration_since(then).to_std().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_clock_reads_its_start_and_advances() {
        let at = DateTime::parse_from_rfc3339("2027-01-31T23:59:00Z").map(|d| d.with_timezone(&Utc));
        let clock = Clock::starting_at(at.unwrap_or_default());
        let first = clock.now();
        assert!(first >= at.unwrap_or_default() && clock.since(first) < Duration::from_secs(60));
        clock.clone().advance(Duration::from_secs(120));
        assert!(clock.now() >= first + chrono::Duration::seconds(120), "clones share the advance");
    }
}
