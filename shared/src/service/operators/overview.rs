//! What operators read: a tenant at a glance (can it send, and if not the
//! first check that fails), its lists a page at a time, its log by day.

use std::collections::BTreeMap;

use super::super::{Answer, Error, PageQuery, Result, Sent, Service, rules::Checked};
use super::Operator;
use crate::domain::{
    ApiKey, E164, ExtensionRecord, MessageKind, MessageRecord, MessageStatus, MessageText, Permission, SmsNumber,
    Tenant, TenantId,
};
use crate::ports::{AuditEntry, Found, ListQuery, Lookup, MessagePage};

/// Entries of the audit log a tenant's page shows.
const AUDIT_SHOWN: usize = 20;

/// How far back the SMS API page looks for each key's last SMS: the
/// tenant's newest log entries (each names the key that sent it).
pub const LAST_USE_SCAN: usize = 1000;

/// Check 4 (and the voicemail's part of check 5) as they stand now: `None`
/// where a send would pass them, else the error it would meet first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub api: Option<Error>,
    pub voicemail: Option<Error>,
    /// Enabled keys with the `sms` right for this tenant: the API needs one.
    pub sending_keys: usize,
}

/// A tenant's settings pages, read once.
#[derive(Debug, Clone)]
pub struct TenantOverview {
    pub tenant: Tenant,
    /// The registry's entry of its sender, if the sender is in it.
    pub sender_entry: Option<SmsNumber>,
    /// The numbers it may send from: its own and the system's, SMS-enabled.
    pub senders: Vec<SmsNumber>,
    pub readiness: Readiness,
    /// The keys whose scope holds it.
    pub keys: Vec<ApiKey>,
    pub audit: Vec<AuditEntry>,
}

/// One day of the chart (UTC): how its messages stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCount {
    pub day: i64,
    pub sent: u32,
    pub delivered: u32,
    pub failed: u32,
    /// Refused and opted out: nothing will carry them.
    pub refused: u32,
}

impl Service {
    pub async fn tenant_overview(&self, op: &Operator, id: &TenantId) -> Result<TenantOverview> {
        op.check(id)?;
        let admin = self.admin()?;
        let found = self.store.lookup(Lookup { tenant: Some(id), ..Lookup::default() }).await?;
        let Found { tenant: Some(tenant), sender: sender_entry, .. } = found else {
            return Err(Error::UnknownTenant(id.to_string()));
        };
        let (numbers, keys, audit) =
            tokio::try_join!(admin.numbers(), admin.keys(), admin.audit(Some(id), AUDIT_SHOWN))?;
        let keys: Vec<ApiKey> = keys.into_iter().filter(|k| k.tenants.allows(id)).collect();
        let sending_keys = keys.iter().filter(|k| k.enabled && k.allows(Permission::Sms)).count();
        let sender = self.check_sender(tenant.clone(), sender_entry.clone()).err();
        let readiness = Readiness {
            api: first_failing(&[(!tenant.active, Error::TenantInactive), (!tenant.api_enabled, Error::ApiDisabled)])
                .or(sender.clone()),
            voicemail: first_failing(&[
                (!tenant.active, Error::TenantInactive),
                (!tenant.voicemail_notifications, Error::VoicemailDisabled),
            ])
            .or(sender),
            sending_keys,
        };
        let senders = numbers.into_iter().filter(|n| n.usable_by(id)).collect();
        Ok(TenantOverview { tenant, sender_entry, senders, readiness, keys, audit })
    }

    /// The guide's third voicemail requirement, per extension: how many of
    /// the tenant's extensions with SMS notifications on have no number.
    pub async fn extensions_without_number(&self, op: &Operator, id: &TenantId) -> Result<usize> {
        op.check(id)?;
        Ok(self.admin()?.extensions_without_number(id).await?)
    }

    /// When each of the tenant's keys last sent an SMS, among its newest
    /// [`LAST_USE_SCAN`] log entries: key name to epoch seconds.
    pub async fn keys_last_sms(&self, op: &Operator, id: &TenantId) -> Result<BTreeMap<String, i64>> {
        op.check(id)?;
        let mut last = BTreeMap::new();
        for m in self.admin()?.messages(Some(id), LAST_USE_SCAN).await? {
            if let Some(key) = m.key {
                let at = last.entry(key).or_insert(m.at);
                *at = (*at).max(m.at);
            }
        }
        Ok(last)
    }

    /// The tenants an operator may see whose id starts with `q.prefix`.
    pub async fn tenants_page(&self, op: &Operator, q: ListQuery<'_>) -> Result<Vec<Tenant>> {
        let crate::domain::TenantScope::Only(ids) = &op.tenants else {
            return Ok(self.admin()?.tenants(q).await?);
        };
        let mut ids: Vec<&TenantId> = ids.iter().filter(|t| t.as_str().starts_with(q.prefix)).collect();
        ids.sort_by_key(|t| (t.as_str().len(), t.as_str()));
        let after = |t: &&TenantId| q.after.is_none_or(|a| (t.as_str().len(), t.as_str()) > (a.len(), a));
        let mut out = Vec::new();
        for id in ids.into_iter().filter(after).take(q.limit) {
            let found = self.store.lookup(Lookup { tenant: Some(id), ..Lookup::default() }).await?;
            out.extend(found.tenant);
        }
        Ok(out)
    }

    pub async fn extensions_page(
        &self,
        op: &Operator,
        id: &TenantId,
        q: ListQuery<'_>,
    ) -> Result<Vec<ExtensionRecord>> {
        op.check(id)?;
        Ok(self.admin()?.extensions(id, q).await?)
    }

    /// The number registry: operators of every tenant only.
    pub async fn numbers(&self, op: &Operator) -> Result<Vec<SmsNumber>> {
        if !op.of_every_tenant() {
            return Err(Error::NotYours);
        }
        Ok(self.admin()?.numbers().await?)
    }

    pub async fn tenant_messages(&self, op: &Operator, id: &TenantId, q: PageQuery) -> Result<MessagePage> {
        op.check(id)?;
        match self.messages(id, q).await? {
            Answer::Page(page) => Ok(page),
            _ => Err(Error::Internal("the message log answered something else".to_owned())),
        }
    }

    pub async fn tenant_message(&self, op: &Operator, id: &TenantId, message: &str) -> Result<MessageRecord> {
        op.check(id)?;
        match self.message(id, message).await? {
            Answer::Message(m) => Ok(m),
            _ => Err(Error::Internal("the message log answered something else".to_owned())),
        }
    }

    /// The last `days` days (today included), oldest first.
    pub async fn daily(&self, op: &Operator, id: &TenantId, days: i64) -> Result<Vec<DayCount>> {
        op.check(id)?;
        let today = self.now() - self.now().rem_euclid(86_400);
        let since = today - (days - 1) * 86_400;
        let mut out: Vec<DayCount> =
            (0..days).map(|i| DayCount { day: since + i * 86_400, ..DayCount::default() }).collect();
        for c in self.admin()?.daily_counts(id, since, self.now()).await? {
            let Some(day) = usize::try_from((c.day - since) / 86_400).ok().and_then(|i| out.get_mut(i)) else {
                continue;
            };
            match c.status {
                MessageStatus::Sent => day.sent += c.count,
                MessageStatus::Delivered => day.delivered += c.count,
                MessageStatus::Failed => day.failed += c.count,
                MessageStatus::Refused | MessageStatus::OptedOut => day.refused += c.count,
                _ => {}
            }
        }
        Ok(out)
    }

    /// A test SMS from the console: every SMS's rules (Active, the sender,
    /// the countries) and the API's budget, without an API key.
    pub async fn test_sms(&self, op: &Operator, id: &TenantId, to: E164, text: MessageText) -> Result<Sent> {
        op.check(id)?;
        let found = self.store.lookup(Lookup { tenant: Some(id), ..Lookup::default() }).await?;
        let tenant = found.tenant.ok_or_else(|| Error::UnknownTenant(id.to_string()))?;
        if !tenant.active {
            return Err(Error::TenantInactive);
        }
        let checked: Checked = self.check_sender(tenant, found.sender)?;
        tracing::info!(operator = %op.name, tenant = %id, "console test SMS");
        self.api_send(&checked, to, text, MessageKind::Api, None, None).await
    }
}

fn first_failing(checks: &[(bool, Error)]) -> Option<Error> {
    checks.iter().find(|(fails, _)| *fails).map(|(_, e)| e.clone())
}
