//! What comes in: the two API styles over HTTP ([`api`]) and the routing
//! the functions and the local server share ([`routes`]); voicemail events
//! ([`trigger`]); SNS's delivery status logs ([`receipts`]); and the
//! lambda_http glue ([`lambda`]).

pub mod api;
pub mod console;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod receipts;
pub mod routes;
pub mod trigger;
