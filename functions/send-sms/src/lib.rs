//! `send-sms`: the action API (`GET /`, `POST /`) and `POST /api/sms/send`.
pub mod handler;
