//! `voicemail-trigger`: S3 notifications, S3 notifications in SQS messages
//! (partial batch failures), EventBridge `Object Created` and `New Voicemail`.
pub mod handler;
