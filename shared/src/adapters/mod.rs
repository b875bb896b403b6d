//! Every port's implementations: the embedded default (SQLite store, local
//! outbox, recordings in a folder), with the `aws` feature DynamoDB, SNS and
//! S3; and, whatever the backend, the configuration cache, EMF metrics and
//! the clocks.

pub mod cache;
pub mod clock;
pub mod emf;

#[cfg(feature = "embedded")]
pub mod folder;
#[cfg(feature = "embedded")]
pub mod outbox;
#[cfg(feature = "embedded")]
pub mod sqlite;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "aws")]
pub mod s3;
#[cfg(feature = "aws")]
pub mod sns;
