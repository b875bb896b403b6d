//! SMS Notifications for hosted PBX: the domain, its rules and the ports and
//! adapters the Lambda functions and `smsctl` share.
//!
//! - [`domain`]: types validated when built.
//! - [`service`]: the contract's checks, in order, and the send.
//! - [`api`]: the two API styles, each mapping [`Error`] once.
//! - [`trigger`]: voicemail events (S3, SQS, EventBridge) into voicemails.
//! - [`receipts`]: SNS's delivery status logs into the message log.
//! - [`ports`]: the store and SMS gateway traits; [`adapters`]: their
//!   implementations.
//! - [`settings`]: configuration from the environment, read once per cold start;
//!   [`startup`]: the service each function needs, built from it.

pub mod adapters;
pub mod api;
pub mod cache;
pub mod config;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod ports;
pub mod receipts;
#[cfg(feature = "lambda")]
pub mod runtime;
pub mod service;
pub mod settings;
pub mod startup;
pub mod trigger;

pub use error::{Error, Result};
