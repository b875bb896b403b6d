//! `send-sms`: the action API (`GET /`, `POST /`), `POST /api/sms/send` and
//! the message log (`GET /api/sms/messages`, `GET /api/sms/messages/{id}`).
pub mod handler;
