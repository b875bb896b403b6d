//! `console`: the operator console at `/console/{proxy+}`, the same pages
//! `smsctl serve` serves at `/console/`.
pub mod handler;
