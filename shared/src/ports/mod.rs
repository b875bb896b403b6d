//! Ports: every trait the service needs, and the plain types they speak.
//! The adapters implement them (SQLite and the outbox, DynamoDB, SNS and
//! S3, the folder, the configuration cache, EMF metrics, the clocks).

mod admin;
mod clock;
mod gateway;
mod metrics;
mod recordings;
mod store;
mod transcripts;

pub use admin::{Admin, AuditEntry, Change, DayCount, ListQuery, Session, Snapshot};
pub use clock::{Clock, SharedClock};
pub use gateway::{GatewayError, OutgoingSms, SmsGateway};
pub use metrics::{Event, Metrics, NoMetrics};
pub use recordings::{DetailsSource, Recording, Recordings, S3Object, Voicemail};
pub use store::{
    Begun, Claim, Closing, End, Finished, Found, Held, Hold, Lookup, Member, MessagePage, MessageQuery, Received,
    Resume, Resumed, Start, Store, StoreError, WaitChange, Waiting,
};
pub use transcripts::{Job, JobState, Transcriber, TranscriptFiles};
