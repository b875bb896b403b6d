//! The time, as the product reads it: only through a [`Clock`], so that a
//! test can set it (leases, expiries, caches, rate windows, metrics).

use std::sync::Arc;

/// Now, since the Unix epoch.
pub trait Clock: Send + Sync {
    /// Milliseconds.
    fn now_ms(&self) -> i64;

    /// Whole seconds.
    fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// The clock a service and its adapters share.
pub type SharedClock = Arc<dyn Clock>;
