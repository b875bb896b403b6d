//! `voicemail-notify`: `POST /api/sms/notifications/voicemail`.
pub mod handler;
