//! How a command fails: a one-line message for stderr and an exit code
//! (1: the operation failed, 2: the command line cannot work, as clap does).

use shared::ports::StoreError;
use shared::startup::StartupError;

#[derive(Debug)]
pub struct Fail {
    pub code: u8,
    pub message: String,
}

pub type Result<T = ()> = std::result::Result<T, Fail>;

impl Fail {
    pub fn new(message: impl Into<String>) -> Self {
        Fail { code: 1, message: message.into() }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Fail { code: 2, message: message.into() }
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::new(e.to_string())
    }
}

impl From<StartupError> for Fail {
    fn from(e: StartupError) -> Self {
        match e {
            StartupError::Invalid { .. } => Fail::usage(e.to_string()),
            StartupError::Store(_) | StartupError::File { .. } | StartupError::Table { .. } => Fail::new(e.to_string()),
        }
    }
}
