//! `recording-link`: `GET /r/{token}`, the link a voicemail SMS carries for
//! `{recording_url}`.
pub mod handler;
