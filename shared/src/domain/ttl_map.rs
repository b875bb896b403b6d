//! The one bounded map behind every per-instance cache (validated phone
//! numbers, configuration reads, opt-out verdicts, rate counters seen):
//! at most `capacity` entries, the least recently used going first, each
//! with the time it expires. The map reads no clock: its callers pass the
//! time, from the injected [`Clock`](crate::ports::Clock).

use std::borrow::Borrow;
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use lru::LruCache;

/// An entry that never expires.
pub const FOREVER: i64 = i64::MAX;

pub struct TtlMap<K: Hash + Eq, V> {
    entries: Mutex<LruCache<K, (i64, V)>>,
}

impl<K: Hash + Eq, V: Clone> TtlMap<K, V> {
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        TtlMap { entries: Mutex::new(LruCache::new(capacity)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<K, (i64, V)>> {
        // A panic elsewhere leaves a map that is still whole.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value, while it has not expired at `now`.
    pub fn get<Q>(&self, key: &Q, now: i64) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut entries = self.lock();
        match entries.get(key) {
            Some((until, value)) if *until > now => Some(value.clone()),
            Some(_) => {
                entries.pop(key);
                None
            }
            None => None,
        }
    }

    /// Keeps `value` until `until` (exclusive), evicting the least recently
    /// used entry when full.
    pub fn insert(&self, key: K, value: V, until: i64) {
        self.lock().put(key, (until, value));
    }

    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lock().pop(key);
    }

    /// Changes a live value in place; what `change` answers, or `None` when
    /// there is none.
    pub fn update<Q, T>(&self, key: &Q, now: i64, change: impl FnOnce(&mut V) -> T) -> Option<T>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut entries = self.lock();
        match entries.get_mut(key) {
            Some((until, value)) if *until > now => Some(change(value)),
            _ => None,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_at_their_time() {
        let map = TtlMap::new(10);
        map.insert("a", 1, 100);
        assert_eq!(map.get("a", 99), Some(1));
        assert_eq!(map.get("a", 100), None);
        assert_eq!(map.len(), 0, "an expired entry goes when it is found");
        map.insert("b", 2, FOREVER);
        assert_eq!(map.update("b", 5, |v| std::mem::replace(v, 3)), Some(2));
        assert_eq!(map.get("b", i64::MAX - 1), Some(3));
        map.remove("b");
        assert_eq!(map.get("b", 0), None);
    }

    #[test]
    fn a_full_map_drops_the_least_recently_used() {
        let map = TtlMap::new(2);
        map.insert(1, "one", FOREVER);
        map.insert(2, "two", FOREVER);
        assert_eq!(map.get(&1, 0), Some("one"));
        map.insert(3, "three", FOREVER);
        assert_eq!((map.get(&1, 0), map.get(&2, 0), map.get(&3, 0)), (Some("one"), None, Some("three")));
        assert_eq!(map.len(), 2);
    }
}
