//! Bookkeeping of open WebSockets: how many are live (so shutdown can wait
//! for their close frames) and how many each credential holds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Live sockets of this process.
#[derive(Clone, Default)]
pub struct SocketCounter(Arc<AtomicUsize>);

/// Counts one socket while alive.
pub struct Live(Arc<AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SocketCounter {
    /// Counts a new socket until the guard drops.
    pub fn enter(&self) -> Live {
        self.0.fetch_add(1, Ordering::SeqCst);
        Live(self.0.clone())
    }

    /// Sockets open now.
    pub fn live(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Sockets per credential.
#[derive(Clone, Default)]
pub struct CredentialSockets(Arc<Mutex<HashMap<String, usize>>>);

impl CredentialSockets {
    /// Takes a slot for `key`; false when it already holds `max`.
    pub fn acquire(&self, key: &str, max: usize) -> bool {
        let mut map = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let n = map.entry(key.to_owned()).or_default();
        if *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    /// Gives a slot back.
    pub fn release(&self, key: &str) {
        let mut map = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(n) = map.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(key);
            }
        }
    }
}
