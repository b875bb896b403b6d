//! The clocks: the system's, and one a test sets.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::ports::{Clock, SharedClock};

/// The system's wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// The system clock, to share.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock that says what it is told: epoch seconds, which a test sets
/// and moves (`store`, `fetch_add`).
impl Clock for AtomicI64 {
    fn now_ms(&self) -> i64 {
        self.load(Ordering::SeqCst).saturating_mul(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_clock_tells_what_it_was_told() {
        let clock = AtomicI64::new(100);
        assert_eq!((clock.now(), clock.now_ms()), (100, 100_000));
        clock.fetch_add(5, Ordering::SeqCst);
        assert_eq!(clock.now(), 105);
        assert!(SystemClock.now() > 1_700_000_000);
    }
}
