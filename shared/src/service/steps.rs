//! The steps of a send, shared by both use cases: the reads, then one
//! message's work (begin, send, end) under its claim.

use super::reasons::reason;
use super::rules::{Checked, api_message_id, digest_message_id, voicemail_message_id};
use super::{Error, LEASE_MARGIN_SECS, Names, Outcome, Result, Sent, Service};
use crate::domain::{
    E164, Extension, KeyHash, LinkToken, MessageKind, MessageRecord, MessageStatus, MessageText, RateLimits,
    RecordingLink, SmsNumber, Tenant, TenantId, Window,
};
use crate::ports::{Begun, Claim, Event, Found, Held, Lookup, OutgoingSms, Resume, Resumed, Start, Voicemail, Waiting};

impl Service {
    /// One read for what an API request names: the key, and the tenant and
    /// extension when the request names them. A send without an
    /// Idempotency-Key lets the store take its rate slot with the read
    /// (`send_at`).
    pub(super) async fn read_for_api(&self, key: Option<&KeyHash>, names: &Names, idempotent: bool) -> Result<Found> {
        let tenant = names.tenant.as_ref();
        let lookup = Lookup {
            key,
            tenant,
            extension: names.extension.as_ref().filter(|_| tenant.is_some()),
            number: None,
            send_at: (names.sends && !idempotent).then(|| self.now()),
        };
        Ok(self.store.lookup(lookup).await?)
    }

    /// A tenant (and an extension of it). With `sending`, the key of a send
    /// that named no tenant, once it passed: the store may take the send's
    /// rate slot with the read, as in [`Self::read_for_api`].
    pub(super) async fn read_tenant(
        &self,
        tenant: &TenantId,
        extension: Option<&Extension>,
        sending: Option<&KeyHash>,
    ) -> Result<Found> {
        let send_at = sending.map(|_| self.now());
        Ok(self.store.lookup(Lookup { key: sending, tenant: Some(tenant), extension, number: None, send_at }).await?)
    }

    /// Check 4's last step: the sender is in the registry (its entry came
    /// with the tenant), SMS-enabled and the tenant's (or the system's).
    pub(super) fn check_sender(&self, tenant: Tenant, entry: Option<SmsNumber>) -> Result<Checked> {
        let sender = tenant.sender_number.clone().ok_or(Error::InvalidSender)?;
        match entry {
            Some(n) if n.number == sender && n.usable_by(&tenant.id) => Ok(Checked { tenant, sender, key: None }),
            _ => Err(Error::InvalidSender),
        }
    }

    /// Until when a holder may still run: its deadline and a margin, or the
    /// configured lease when no deadline is known.
    fn lease_until(&self, deadline_ms: Option<u64>) -> i64 {
        match deadline_ms {
            Some(ms) => i64::try_from(ms.div_ceil(1000)).unwrap_or(i64::MAX - LEASE_MARGIN_SECS) + LEASE_MARGIN_SECS,
            None => self.now() + self.policy.claim_lease_secs,
        }
    }

    pub(super) fn log_keep_secs(&self) -> i64 {
        i64::from(self.policy.message_log_days) * 86_400
    }
}

/// Which work a claim guards: what its result is, and whether a final
/// refusal keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Guard {
    /// A voicemail: finished when sent or refused for good, so that no
    /// redelivery sends it; released only for a retry.
    Voicemail,
    /// An Idempotency-Key: finished with the answer, to replay it;
    /// released on any failure, so that the caller may retry.
    Idempotency,
}

pub(super) struct ClaimParts {
    pub(super) id: String,
    pub(super) fingerprint: String,
    pub(super) token: String,
    pub(super) guard: Guard,
}

/// One message's work: its log entry, and the claim it runs under.
pub(super) struct Work<'a> {
    pub(super) service: &'a Service,
    pub(super) record: MessageRecord,
    pub(super) claim: Option<ClaimParts>,
    pub(super) lease_until: i64,
    /// The same for every try of this work's end (`End::token`).
    pub(super) end_token: String,
    limits: RateLimits,
    /// Sender and destination, once known.
    route: Option<(E164, E164)>,
    /// A link to the voicemail's recording, written with the start.
    link: Option<RecordingLink>,
    /// A voicemail's second phase, after its wait for a transcript.
    pub(super) resumed: bool,
    /// How many held voicemails this send releases (a digest's members, or
    /// one held voicemail sent alone).
    pub(super) releases: usize,
    /// A digest's held voicemails, ended with it.
    pub(super) members: Vec<Carried>,
    /// The send was tried.
    pub(super) tried: bool,
}

/// A held voicemail a digest carries: its message id, and its claim (taken
/// with the digest's token).
pub(super) struct Carried {
    pub(super) id: String,
    pub(super) claim: String,
    pub(super) token: String,
}

impl<'a> Work<'a> {
    pub fn api(
        service: &'a Service,
        checked: &Checked,
        to: &E164,
        text: &MessageText,
        kind: MessageKind,
        idempotency: Option<&(String, String)>,
        deadline: Option<u64>,
    ) -> Self {
        let tenant = &checked.tenant.id;
        let claim = idempotency.map(|(key, fingerprint)| ClaimParts {
            id: format!("idem#{tenant}#{}", KeyHash::of(key).as_str()),
            fingerprint: fingerprint.clone(),
            token: random_token(),
            guard: Guard::Idempotency,
        });
        let mut work = Work::new(service, api_message_id(), tenant, kind, None, claim, deadline);
        work.address(checked, to);
        work.record.segments = text.segments();
        work.record.key.clone_from(&checked.key);
        work
    }

    /// A digest of `members`' held voicemails, under their claims (none of
    /// its own): its id follows from its first member's, so every run that
    /// sends it logs the same entry.
    pub fn digest(service: &'a Service, members: &[Waiting], deadline: Option<u64>) -> Option<Self> {
        let first = members.first()?;
        let (tenant, extension) = (&first.voicemail.tenant, Some(first.voicemail.extension.clone()));
        let id = digest_message_id(&first.message_id);
        let mut work = Work::new(service, id, tenant, MessageKind::Voicemail, extension, None, deadline);
        let token = random_token();
        work.members = members
            .iter()
            .map(|m| Carried { id: m.message_id.clone(), claim: m.claim.clone(), token: token.clone() })
            .collect();
        work.releases = members.len();
        Some(work)
    }

    pub fn voicemail(service: &'a Service, voicemail: &Voicemail, deadline: Option<u64>) -> Self {
        let claim = ClaimParts {
            id: format!("vm#{}", voicemail.identity),
            fingerprint: voicemail.identity.clone(),
            token: random_token(),
            guard: Guard::Voicemail,
        };
        let id = voicemail_message_id(&voicemail.identity);
        let extension = Some(voicemail.extension.clone());
        Work::new(service, id, &voicemail.tenant, MessageKind::Voicemail, extension, Some(claim), deadline)
    }

    fn new(
        service: &'a Service,
        id: String,
        tenant: &TenantId,
        kind: MessageKind,
        extension: Option<Extension>,
        claim: Option<ClaimParts>,
        deadline: Option<u64>,
    ) -> Self {
        let record = MessageRecord {
            id,
            tenant: tenant.clone(),
            kind,
            extension,
            from: String::new(),
            to: String::new(),
            status: MessageStatus::Sending,
            provider_id: None,
            segments: 0,
            error: None,
            at: service.now(),
            attempts: 0,
            receipt: None,
            lease_until: None,
            key: None,
            due: None,
            digest: None,
        };
        let lease_until = service.lease_until(deadline);
        let record = MessageRecord { lease_until: Some(lease_until), ..record };
        let end_token = random_token();
        let limits = RateLimits::default_for(kind);
        Work {
            service,
            record,
            claim,
            lease_until,
            end_token,
            limits,
            route: None,
            link: None,
            resumed: false,
            releases: 0,
            members: Vec::new(),
            tried: false,
        }
    }

    /// Who sends to whom, once known.
    pub fn address(&mut self, checked: &Checked, to: &E164) {
        self.record.from = checked.sender.to_string();
        self.record.to = to.to_string();
        self.route = Some((checked.sender.clone(), to.clone()));
        self.limits = checked.tenant.limits(match self.claim.as_ref().map(|c| c.guard) {
            Some(Guard::Voicemail) => MessageKind::Voicemail,
            _ => MessageKind::Api,
        });
    }

    /// A link to the voicemail's recording, stored with the start; its URL
    /// for the template. None without an object or a configured base URL.
    pub fn link_recording(&mut self, voicemail: &Voicemail) -> Option<String> {
        let (object, links) = (voicemail.object.as_ref()?, self.service.policy.recording_links.as_ref()?);
        let token = LinkToken::generate();
        self.link = Some(RecordingLink {
            hash: token.hash(),
            tenant: voicemail.tenant.clone(),
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            expires_at: self.service.now() + i64::from(links.days) * 86_400,
        });
        Some(format!("{}{}", links.base_url, token.as_str()))
    }

    /// The fingerprint of the request this work's claim guards.
    pub fn fingerprint(&self) -> Option<&str> {
        self.claim.as_ref().map(|c| c.fingerprint.as_str())
    }

    fn claim(&self) -> Option<Claim<'_>> {
        self.claim.as_ref().map(|c| Claim {
            id: &c.id,
            fingerprint: &c.fingerprint,
            token: &c.token,
            lease_until: self.lease_until,
            keep_secs: self.service.policy.dedup_keep_secs,
        })
    }

    /// Takes the claim and a slot of `budget`, and logs the message as
    /// `sending`, atomically.
    pub async fn begin(&mut self, budget: MessageKind) -> Result<Begun> {
        self.record.at = self.service.now();
        let start = Start {
            record: &self.record,
            claim: self.claim(),
            budget: Some((budget, self.limits)),
            now: self.record.at,
            log_keep_secs: self.service.log_keep_secs(),
            link: self.link.as_ref(),
        };
        Ok(self.service.store.begin(&start).await?)
    }

    /// Whether its start counted the send to come as an attempt: a first
    /// phase's does; a resume's or a digest's take counts none (their end
    /// does, once a send was tried).
    pub(super) fn start_counted(&self) -> bool {
        !self.resumed && self.members.is_empty()
    }

    /// Takes a waiting voicemail's claim again, for its second phase (the
    /// budget was charged in its first).
    pub async fn resume(&mut self, waiting: &Waiting) -> Result<Resumed> {
        self.resumed = true;
        self.releases = usize::from(waiting.held.is_some());
        let Some(claim) = &self.claim else {
            return Err(Error::Internal("a voicemail's work without its claim".to_owned()));
        };
        let waits = std::slice::from_ref(waiting);
        self.take(waits, &claim.token.clone()).await
    }

    /// Takes the claims of `waits` with `token`, all or none.
    pub(super) async fn take(&self, waits: &[Waiting], token: &str) -> Result<Resumed> {
        let now = self.service.now();
        let resume = Resume { waits, token, lease_until: self.lease_until, now, link: self.link.as_ref() };
        Ok(self.service.store.resume(&resume).await?)
    }

    pub fn rate_limited(&self, window: Window) -> Error {
        self.service.metrics.record(&Event::RateLimited { kind: self.record.kind, window });
        Error::RateLimited { limit: self.limits.of(window), window }
    }

    /// Ends the work without a send: the message is logged with this status
    /// and reason, and its claim finished, unless another delivery holds it.
    pub async fn conclude(&mut self, status: MessageStatus, why: &Error) -> Result<Outcome> {
        self.record.status = status;
        self.record.lease_until = None;
        self.record.error = Some(why.to_string());
        self.record.at = self.service.now();
        let start = Start {
            record: &self.record,
            claim: self.claim(),
            budget: None,
            now: self.record.at,
            log_keep_secs: self.service.log_keep_secs(),
            link: None,
        };
        match self.service.store.begin(&start).await? {
            Begun::Started => {
                let name = reason(why);
                self.service.metrics.record(&match status {
                    MessageStatus::Skipped => Event::Skipped { reason: name },
                    _ => Event::Refused { kind: self.record.kind, reason: name },
                });
                Ok(Outcome::Skipped(why.to_string()))
            }
            Begun::Held(Held::Done { .. }) => {
                self.service.metrics.record(&Event::Duplicate { kind: self.record.kind });
                Ok(Outcome::Duplicate)
            }
            Begun::Held(Held::Pending { lease_until, .. }) => Ok(Outcome::InFlight { lease_until }),
            Begun::Limited(_) => Err(Error::Internal("a start without a budget was rate-limited".to_owned())),
        }
    }

    /// The destination's opt-out, then the provider.
    pub async fn send(&mut self, text: &MessageText) -> Result<Sent> {
        self.tried = true;
        let service = self.service;
        let Some((from, to)) = &self.route else {
            return Err(Error::Internal("a send before its addresses were known".to_owned()));
        };
        self.record.segments = text.segments();
        let gateway = service.gateway()?;
        if service.policy.check_opt_out && gateway.opted_out(to).await? {
            return Err(Error::OptedOut);
        }
        let sms = OutgoingSms { tenant: &self.record.tenant, kind: self.record.kind, from, to, text };
        let started = service.clock.now_ms();
        let id = gateway.send(sms).await?;
        let latency_ms = u64::try_from(service.clock.now_ms() - started).unwrap_or(0);
        service.metrics.record(&Event::Sent { kind: self.record.kind, tenant: &self.record.tenant, latency_ms });
        let (tenant, kind, message_id, segments) =
            (&self.record.tenant, self.record.kind.as_str(), &self.record.id, text.segments());
        tracing::info!(%tenant, kind, %message_id, %id, segments, "SMS sent");
        Ok(Sent {
            id,
            from: from.to_string(),
            to: to.to_string(),
            segments: text.segments(),
            encoding: text.encoding(),
        })
    }
}

/// A holder's token (a claim's, an end's): a random UUID from the thread's
/// CSPRNG, with no system call per send (`Uuid::new_v4` asks the OS each
/// time).
fn random_token() -> String {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid().to_string()
}
