//! Adapters behind the ports: the embedded default (SQLite store, local
//! outbox) and, with the `aws` feature, DynamoDB and SNS.

#[cfg(feature = "embedded")]
pub mod db;
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
