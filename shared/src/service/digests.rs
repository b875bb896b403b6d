//! The scheduled sender's run: every voicemail whose wait is over. A
//! voicemail held by quiet hours goes at their end, alone as its own SMS,
//! or, when its extension has several, with the others in one digest: the
//! digest takes every member's claim in one write and ends them all with
//! it in another, so that overlapping runs, and a run killed at any step
//! and picked up after its lease, send it once.

use std::collections::BTreeMap;

use futures_util::StreamExt;

use super::steps::Work;
use super::transcripts::News;
use super::{Outcome, Result, Service};
use crate::domain::{DigestLine, MaxSegments, digest};
use crate::ports::{Held, Resumed, Waiting};

/// How many due voicemails one scheduled run takes, and how many sends it
/// runs at once: a backlog drains over the next runs.
const DUE_PER_RUN: usize = 200;
const AT_ONCE: usize = 8;

/// The most held voicemails one digest carries: its end is one DynamoDB
/// transaction (at most 100 items: three per member, and its own entry).
const DIGEST_MAX: usize = 30;

/// Each outcome of a run, with the message id it is about.
type Outcomes = Vec<(String, Result<Outcome>)>;

impl Service {
    /// The scheduled sender: every voicemail whose wait is over, each under
    /// its claim; held ones of one extension together.
    pub async fn send_due(&self, deadline: Option<u64>) -> Result<Outcomes> {
        let due = self.store.due(self.now(), DUE_PER_RUN).await?;
        let reads = futures_util::stream::iter(due)
            .map(|id| async move { (self.store.waiting(&id).await, id) })
            .buffered(AT_ONCE)
            .collect::<Vec<_>>()
            .await;
        let mut out = Outcomes::new();
        let mut groups: BTreeMap<(String, String), Vec<Waiting>> = BTreeMap::new();
        for (read, id) in reads {
            match read {
                Ok(Some(w)) if w.held.is_some() => {
                    let key = (w.voicemail.tenant.to_string(), w.voicemail.extension.to_string());
                    groups.entry(key).or_default().push(w);
                }
                Ok(Some(w)) => groups.entry((String::new(), id)).or_default().push(w),
                Ok(None) => out.push((id, Ok(Outcome::Duplicate))),
                Err(e) => out.push((id, Err(e.into()))),
            }
        }
        let batches = groups.into_values().flat_map(|mut group| {
            group.sort_by_key(|w| (w.held.as_ref().map(|h| h.since), w.message_id.clone()));
            group.chunks(DIGEST_MAX).map(<[Waiting]>::to_vec).collect::<Vec<_>>()
        });
        let runs = futures_util::stream::iter(batches).map(|batch| self.send_batch(batch, deadline));
        out.extend(runs.buffer_unordered(AT_ONCE).collect::<Vec<Outcomes>>().await.into_iter().flatten());
        Ok(out)
    }

    /// One voicemail alone, or several in a digest.
    async fn send_batch(&self, batch: Vec<Waiting>, deadline: Option<u64>) -> Outcomes {
        match batch.as_slice() {
            [one] => vec![(one.message_id.clone(), self.resume_waiting(one, News::Due, deadline).await)],
            _ => self.send_digest(batch, deadline).await,
        }
    }

    /// Each voicemail of `batch` alone: when the digest cannot go as one
    /// (its tenant or extension changed, a member was sent meanwhile), each
    /// finds its own way (sent, skipped, held again, or a duplicate).
    async fn one_by_one(&self, batch: Vec<Waiting>, deadline: Option<u64>) -> Outcomes {
        let runs = batch.into_iter().map(|w| async move {
            let outcome = self.resume_waiting(&w, News::Due, deadline).await;
            (w.message_id, outcome)
        });
        futures_util::future::join_all(runs).await
    }

    /// The digest of held voicemails of one extension: its members' claims
    /// taken at once, one SMS, all ended with it.
    async fn send_digest(&self, batch: Vec<Waiting>, deadline: Option<u64>) -> Outcomes {
        let Some(mut work) = Work::digest(self, &batch, deadline) else { return Outcomes::new() };
        let id = work.record.id.clone();
        let first = &batch[0].voicemail;
        let found = match self.read_tenant(&first.tenant, Some(&first.extension), None).await {
            Ok(found) => found,
            Err(e) => return vec![(id, Err(e))],
        };
        let held = self.hold(&found);
        let Ok((checked, to)) = self.qualify(found, first) else {
            return self.one_by_one(batch, deadline).await;
        };
        if held.is_some() {
            return self.one_by_one(batch, deadline).await;
        }
        work.address(&checked, &to);
        let token = work.members[0].token.clone();
        match work.take(&batch, &token).await {
            Ok(Resumed::Started) => {}
            Ok(Resumed::Held(Held::Pending { lease_until, .. })) => {
                return vec![(id, Ok(Outcome::InFlight { lease_until }))];
            }
            Ok(Resumed::Held(Held::Done { .. })) => return self.one_by_one(batch, deadline).await,
            Err(e) => return vec![(id, Err(e))],
        }
        let max = checked.tenant.max_segments.unwrap_or(MaxSegments::DEFAULT).get();
        let text = digest(first.extension.as_str(), &lines(&batch), max);
        let Some(text) = text else { return vec![(id, Err(super::Error::Internal("an empty digest".to_owned())))] };
        vec![(id, self.deliver(work, &text).await)]
    }
}

/// The digest's lines: each member's time (where its quiet hours are) and
/// caller.
fn lines(batch: &[Waiting]) -> Vec<DigestLine> {
    let line = |w: &Waiting| DigestLine {
        time: w.held.as_ref().map(|h| h.quiet.local(h.since)).unwrap_or_default(),
        caller: w.voicemail.details.caller_id().unwrap_or("unknown").to_owned(),
    };
    batch.iter().map(line).collect()
}
