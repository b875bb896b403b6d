//! `scheduled-sender`: on an EventBridge schedule (every minute), sends the
//! voicemail SMS whose wait for a transcript is over, each exactly once.
pub mod handler;
