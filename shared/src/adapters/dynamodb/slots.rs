//! Rate-limit slots an instance holds ahead: a start counts a block of
//! sends against the tenant's counters at once, and the sends that follow on
//! this instance use the block without a write of their own. A warm send
//! then costs one write, its log entry after the send (which also reserves
//! the next block when this one is used up).
//!
//! What it means: the counters count reserved slots, so a tenant can be
//! refused up to `block - 1` sends per busy instance before its limit is
//! really reached (a block that does not fit falls back to one slot, so a
//! tenant with room for one more send gets it); a limit is never exceeded.
//! Slots are kept per window bucket: a new minute starts a new block.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::{MessageKind, RateLimits, TenantId, Window};

/// Sends reserved at once: a twentieth of the smaller limit, 1 to 10.
pub fn block(limits: RateLimits) -> u32 {
    (limits.per_minute.min(limits.per_day) / 20).clamp(1, 10)
}

fn buckets(now: i64) -> (i64, i64) {
    (now / Window::Minute.seconds(), now / Window::Day.seconds())
}

#[derive(Default)]
pub struct Slots(Mutex<HashMap<(TenantId, MessageKind), Held>>);

struct Held {
    buckets: (i64, i64),
    left: u32,
}

impl Slots {
    /// Uses one held slot of the current buckets, if there is one.
    pub fn take(&self, tenant: &TenantId, kind: MessageKind, now: i64) -> bool {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match held.get_mut(&(tenant.clone(), kind)) {
            Some(h) if h.buckets == buckets(now) && h.left > 0 => {
                h.left -= 1;
                true
            }
            _ => false,
        }
    }

    /// Whether the current buckets have no slot left here.
    pub fn spent(&self, tenant: &TenantId, kind: MessageKind, now: i64) -> bool {
        let held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        !held.get(&(tenant.clone(), kind)).is_some_and(|h| h.buckets == buckets(now) && h.left > 0)
    }

    /// Keeps `left` slots just reserved in the current buckets.
    pub fn keep(&self, tenant: &TenantId, kind: MessageKind, now: i64, left: u32) {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let h = held.entry((tenant.clone(), kind)).or_insert(Held { buckets: buckets(now), left: 0 });
        if h.buckets != buckets(now) {
            *h = Held { buckets: buckets(now), left: 0 };
        }
        h.left += left;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_a_twentieth_of_the_smaller_limit_within_1_to_10() {
        let b = |per_minute, per_day| block(RateLimits { per_minute, per_day });
        assert_eq!((b(60, 2000), b(60, 5000), b(1000, 100_000), b(10, 100), b(0, 0), b(60, 20)), (3, 3, 10, 1, 1, 1));
    }

    #[test]
    fn slots_belong_to_their_minute() {
        let (slots, t) = (Slots::default(), TenantId::parse("59").unwrap());
        assert!(slots.spent(&t, MessageKind::Api, 120));
        slots.keep(&t, MessageKind::Api, 120, 2);
        assert!(!slots.take(&t, MessageKind::Voicemail, 121), "another budget");
        assert!(slots.take(&t, MessageKind::Api, 121) && slots.take(&t, MessageKind::Api, 179));
        assert!(!slots.take(&t, MessageKind::Api, 179) && slots.spent(&t, MessageKind::Api, 179));
        slots.keep(&t, MessageKind::Api, 179, 1);
        assert!(!slots.take(&t, MessageKind::Api, 180), "a new minute needs a new block");
    }
}
