//! `delivery-status`: SNS's SMS delivery status logs, delivered by CloudWatch
//! Logs subscription filters, into the message log (`delivered`/`failed`).
pub mod handler;
