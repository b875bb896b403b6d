//! What exists only on the embedded backend: the local outbox, and the
//! local server's service (the store and the outbox on one writer, every
//! SMS printed, recordings and sidecar transcripts read from the watched
//! folder).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Backend, Settings, StartupError};
use crate::adapters::clock;
use crate::adapters::folder::FolderRecordings;
use crate::adapters::outbox::{OutboxGateway, embedded};
use crate::adapters::sqlite::SqliteStore;
use crate::service::{LinkPolicy, Service};

/// The local server's parts.
pub struct Local {
    pub service: Service,
    /// Where it sends; its delivery receipts go through `service`.
    pub outbox: Arc<OutboxGateway>,
    /// The same store, for what the server does as an operator (the demo).
    pub store: Arc<SqliteStore>,
}

impl Settings {
    /// The embedded backend's files (the store's, the outbox's).
    fn files(&self) -> Result<(&Path, &Path), StartupError> {
        match &self.backend {
            Backend::Embedded { db, outbox, .. } => Ok((db, outbox)),
            Backend::Aws { table } => Err(StartupError::Invalid {
                name: "SMS_TABLE_NAME",
                value: table.clone(),
                expected: "unset: the local outbox and server are on the embedded store only",
            }),
        }
    }

    /// The local outbox, on its own connection.
    pub fn outbox(&self) -> Result<OutboxGateway, StartupError> {
        Ok(OutboxGateway::open(self.files()?.1, false, clock::system())?)
    }

    /// The local server's service: SMS printed as they go to the outbox;
    /// with `recordings` (the watched folder, and the server's own
    /// `/r/` URL), links to the recordings it finds there.
    pub async fn local(&self, recordings: Option<(PathBuf, String)>) -> Result<Local, StartupError> {
        let (db, outbox) = self.files()?;
        let clock = clock::system();
        let (store, outbox) = embedded(db, outbox, true, clock.clone()).await?;
        let mut policy = self.policy.clone();
        let folder = recordings.map(|(dir, base_url)| {
            let days = policy.recording_links.as_ref().map_or(7, |l| l.days);
            policy.recording_links = Some(LinkPolicy { base_url, days });
            Arc::new(FolderRecordings::new(&dir))
        });
        let mut service = Service::new(store.clone(), outbox.clone(), policy, clock).with_admin(store.clone());
        if let Some(folder) = folder {
            service = service.with_recordings(folder.clone()).with_transcript_files(folder);
        }
        Ok(Local { service, outbox, store })
    }
}
