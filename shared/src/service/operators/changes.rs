//! What operators change: each change read against what is stored, checked
//! as `apply` checks a file (the same parsed values, the same warnings),
//! written with its audit entry in one write.

use std::collections::BTreeMap;

use serde::Serialize;

use super::super::config::{Config, KeyConfig};
use super::super::{Error, Result, Service};
use super::Operator;
use crate::domain::{
    ApiKey, ApiKeySecret, CountryCode, E164, ExtensionRecord, MaxSegments, Permission, QuietHours, RateLimits,
    SmsNumber, Template, Tenant, TenantId, TenantScope, Transcription,
};
use crate::ports::{AuditEntry, Change, Snapshot};

/// SMS Settings → Notifications, as the form gives it.
#[derive(Debug, Clone)]
pub struct Notifications {
    pub active: bool,
    pub sender_number: Option<E164>,
    pub voicemail_notifications: bool,
    pub voicemail_template: Option<Template>,
    pub transcription: Option<Transcription>,
    pub max_segments: Option<MaxSegments>,
    pub quiet_hours: Option<QuietHours>,
}

/// A tenant's destination countries and rate limits.
#[derive(Debug, Clone)]
pub struct Limits {
    pub allowed_countries: Vec<CountryCode>,
    pub rate_limits: Option<RateLimits>,
    pub voicemail_rate_limits: Option<RateLimits>,
}

/// What is done to an API key of a tenant's.
#[derive(Debug, Clone)]
pub enum KeyChange {
    Create { name: String, permissions: Vec<Permission>, tenants: TenantScope },
    Rotate { name: String },
    Set { name: String, enabled: bool, permissions: Vec<Permission>, tenants: TenantScope },
    Delete { name: String },
}

impl Service {
    pub async fn set_notifications(&self, op: &Operator, id: &TenantId, n: Notifications) -> Result<Vec<String>> {
        let before = self.stored_tenant(op, id).await?;
        let after = Tenant {
            active: n.active,
            sender_number: n.sender_number,
            voicemail_notifications: n.voicemail_notifications,
            voicemail_template: n.voicemail_template,
            transcription: n.transcription,
            max_segments: n.max_segments,
            quiet_hours: n.quiet_hours,
            ..before.clone()
        };
        self.change_tenant(op, before, after, "notifications").await
    }

    pub async fn set_api(&self, op: &Operator, id: &TenantId, enabled: bool) -> Result<Vec<String>> {
        let before = self.stored_tenant(op, id).await?;
        let after = Tenant { api_enabled: enabled, ..before.clone() };
        self.change_tenant(op, before, after, "SMS API").await
    }

    pub async fn set_limits(&self, op: &Operator, id: &TenantId, limits: Limits) -> Result<Vec<String>> {
        let before = self.stored_tenant(op, id).await?;
        let after = Tenant {
            allowed_countries: limits.allowed_countries,
            rate_limits: limits.rate_limits,
            voicemail_rate_limits: limits.voicemail_rate_limits,
            ..before.clone()
        };
        self.change_tenant(op, before, after, "countries and rate limits").await
    }

    async fn change_tenant(&self, op: &Operator, before: Tenant, after: Tenant, what: &str) -> Result<Vec<String>> {
        if before == after {
            return Ok(Vec::new());
        }
        let config = Config { tenants: vec![after.clone()], ..Config::default() };
        let numbers: BTreeMap<E164, SmsNumber> =
            self.admin()?.numbers().await?.into_iter().map(|n| (n.number.clone(), n)).collect();
        let warnings = config.warnings(&numbers).into_iter().map(|w| w.message).collect();
        let snapshot = Snapshot { tenants: vec![after.clone()], ..Snapshot::default() };
        let entry = self.audit_entry(op, Some(&after.id), what, Some(&before), Some(&after));
        self.record(snapshot, Vec::new(), entry).await?;
        Ok(warnings)
    }

    /// An extension's enhanced service and SMS number: an extension turned
    /// on needs its number (the guide's requirement, checked here at once).
    pub async fn set_extension(&self, op: &Operator, next: ExtensionRecord) -> Result<()> {
        op.check(&next.tenant)?;
        self.stored_tenant(op, &next.tenant).await?;
        if next.sms_notifications && next.sms_number.is_none() {
            return Err(Error::NoDestination);
        }
        let before = self.admin()?.extension(&next.tenant, &next.extension).await?;
        if before.as_ref() == Some(&next) {
            return Ok(());
        }
        let what = format!("extension {}", next.extension);
        let entry = self.audit_entry(op, Some(&next.tenant), &what, before.as_ref(), Some(&next));
        self.record(Snapshot { extensions: vec![next], ..Snapshot::default() }, Vec::new(), entry).await
    }

    /// An entry of the number registry (operators of every tenant only).
    pub async fn set_number(&self, op: &Operator, next: SmsNumber) -> Result<Vec<String>> {
        if !op.of_every_tenant() {
            return Err(Error::NotYours);
        }
        let numbers = self.admin()?.numbers().await?;
        let before = numbers.iter().find(|n| n.number == next.number);
        if before == Some(&next) {
            return Ok(Vec::new());
        }
        let config = Config { numbers: vec![next.clone()], ..Config::default() };
        let warnings = config.warnings(&BTreeMap::new()).into_iter().map(|w| w.message).collect();
        let what = format!("number {}", next.number);
        let entry = self.audit_entry(op, None, &what, before, Some(&next));
        self.record(Snapshot { numbers: vec![next], ..Snapshot::default() }, Vec::new(), entry).await?;
        Ok(warnings)
    }

    /// A key of `tenant`'s page: what the operator's scope covers only. A
    /// new or rotated key's secret is answered once, never stored.
    pub async fn change_key(
        &self,
        op: &Operator,
        tenant: &TenantId,
        change: KeyChange,
    ) -> Result<Option<ApiKeySecret>> {
        op.check(tenant)?;
        let keys = self.admin()?.keys().await?;
        let name = match &change {
            KeyChange::Create { name, .. }
            | KeyChange::Rotate { name }
            | KeyChange::Set { name, .. }
            | KeyChange::Delete { name } => name.clone(),
        };
        let before = keys.iter().find(|k| k.name == name);
        if let Some(k) = before.filter(|k| !op.covers_scope(&k.tenants)) {
            tracing::warn!(operator = %op.name, key = %k.name, "key outside the operator's scope");
            return Err(Error::NotYours);
        }
        let (after, secret) = self.key_after(op, before, change)?;
        let delete = before.filter(|b| after.as_ref().is_none_or(|a| a.hash != b.hash)).map(|b| b.hash.clone());
        let scope = after.as_ref().or(before).and_then(|k| k.tenants.single()).cloned();
        let what = format!("API key {name}");
        let entry =
            self.audit_entry(op, scope.as_ref(), &what, before.map(KeyConfig::of), after.as_ref().map(KeyConfig::of));
        let snapshot = Snapshot { keys: after.into_iter().collect(), ..Snapshot::default() };
        self.record(snapshot, delete.into_iter().collect(), entry).await?;
        Ok(secret)
    }

    fn key_after(
        &self,
        op: &Operator,
        before: Option<&ApiKey>,
        change: KeyChange,
    ) -> Result<(Option<ApiKey>, Option<ApiKeySecret>)> {
        let checked = |name: String, permissions: Vec<Permission>, tenants: TenantScope, enabled: bool| {
            if !op.covers_scope(&tenants) {
                return Err(Error::NotYours);
            }
            let config = KeyConfig { name, secret: None, tenants, permissions, enabled };
            let file = Config { api_keys: vec![config], ..Config::default() };
            file.check().map_err(|e| Error::InvalidSetting(e.message))?;
            Ok(file.plan(before.into_iter().cloned().collect::<Vec<_>>().as_slice(), self.now()))
        };
        let (plan, rotate) = match (change, before) {
            (KeyChange::Create { .. }, Some(_)) => {
                return Err(Error::InvalidSetting("a key of this name exists already".to_owned()));
            }
            (KeyChange::Create { name, permissions, tenants }, None) => {
                (checked(name, permissions, tenants, true)?, false)
            }
            (KeyChange::Delete { .. }, Some(_)) => return Ok((None, None)),
            (_, None) => return Err(Error::InvalidSetting("no key of this name".to_owned())),
            (KeyChange::Rotate { .. }, Some(b)) => {
                (checked(b.name.clone(), b.permissions.clone(), b.tenants.clone(), b.enabled)?, true)
            }
            (KeyChange::Set { name, enabled, permissions, tenants }, Some(_)) => {
                (checked(name, permissions, tenants, enabled)?, false)
            }
        };
        let mut key =
            plan.snapshot.keys.into_iter().next().ok_or_else(|| Error::Internal("no key planned".to_owned()))?;
        let mut secret = plan.generated.into_iter().next().map(|(_, s)| s);
        if rotate {
            let fresh = ApiKeySecret::generate();
            key.hash = fresh.hash();
            secret = Some(fresh);
        }
        Ok((Some(key), secret))
    }

    async fn stored_tenant(&self, op: &Operator, id: &TenantId) -> Result<Tenant> {
        op.check(id)?;
        let found = self.store.lookup(crate::ports::Lookup { tenant: Some(id), ..Default::default() }).await?;
        found.tenant.ok_or_else(|| Error::UnknownTenant(id.to_string()))
    }

    fn audit_entry<T: Serialize>(
        &self,
        op: &Operator,
        tenant: Option<&TenantId>,
        what: &str,
        before: Option<T>,
        after: Option<T>,
    ) -> AuditEntry {
        AuditEntry::of(&op.name, self.now(), tenant, what.to_owned(), before.as_ref(), after.as_ref())
    }

    async fn record(
        &self,
        snapshot: Snapshot,
        delete_keys: Vec<crate::domain::KeyHash>,
        entry: AuditEntry,
    ) -> Result<()> {
        tracing::info!(operator = %entry.who, what = %entry.what, "console change");
        Ok(self.admin()?.record(&Change { snapshot, delete_keys, audit: vec![entry] }).await?)
    }
}
