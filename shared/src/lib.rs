//! SMS Notifications for hosted PBX: the domain, its rules, and the ports and
//! adapters the Lambda functions and `smsctl` share. Read bottom up; a layer
//! imports only the ones below it (`tests/architecture.rs` checks it):
//!
//! 1. [`domain`]: types validated when built, with their own error.
//! 2. [`ports`]: every trait the service needs, and the plain types they speak.
//! 3. [`service`]: the use cases: the contract's checks, in order, and the send.
//! 4. [`inbound`]: the APIs, event reading, receipts, the Lambda glue; and
//!    [`adapters`]: every port's implementations.
//! 5. [`startup`]: settings from the environment, and the service each
//!    function (or `smsctl`) needs, wired from them.

pub mod adapters;
pub mod domain;
pub mod inbound;
pub mod ports;
pub mod service;
pub mod startup;

pub use service::{Error, Result};
