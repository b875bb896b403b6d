//! The operator console's use cases: who is signed in ([`access`]), what
//! they read ([`overview`]) and what they change ([`changes`]), each change
//! through the configuration file's validation and recorded in the audit
//! log. An operator sees and changes only the tenants of their key.

mod access;
mod changes;
mod overview;

pub use access::{Operator, SESSION_IDLE_SECS, SESSION_MAX_SECS, SignedIn, csrf_token};
pub use changes::{KeyChange, Limits, Notifications};
pub use overview::{DayCount, LAST_USE_SCAN, Readiness, TenantOverview};
