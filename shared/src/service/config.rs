//! The operator configuration file (CONTRACT.md, "Operator configuration
//! file"): parsed whole before anything is written, so a malformed part
//! writes nothing.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::domain::{
    ApiKey, ApiKeySecret, E164, ExtensionRecord, KeyHash, Owner, Permission, SmsNumber, Tenant, TenantId, TenantScope,
};
use crate::ports::{AuditEntry, Snapshot};

/// An API key as the file describes it. `secret` is never exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub name: String,
    #[serde(default, skip_serializing)]
    pub secret: Option<ApiKeySecret>,
    pub tenants: TenantScope,
    pub permissions: Vec<Permission>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl KeyConfig {
    /// A stored key as the file (and the audit log) shows it: never its
    /// secret, which the store never had, nor its hash.
    pub fn of(k: &ApiKey) -> KeyConfig {
        KeyConfig {
            name: k.name.clone(),
            secret: None,
            tenants: k.tenants.clone(),
            permissions: k.permissions.clone(),
            enabled: k.enabled,
        }
    }
}

/// What the audit log says of a write from `smsctl` over `stored`: an entry
/// per item it adds or changes, and per key it deletes or gives a new
/// secret (said in words: neither the secret nor its hash is logged).
pub fn audit_of(who: &str, now: i64, stored: &Snapshot, next: &Snapshot, deleted: &[KeyHash]) -> Vec<AuditEntry> {
    let mut out = Vec::new();
    let mut item = |tenant: Option<&TenantId>, what: String, before: Option<String>, after: Option<String>| {
        // Both `None`: a change said in words only (a new secret).
        if before != after || before.is_none() {
            out.push(AuditEntry { before, after, ..AuditEntry::of::<()>(who, now, tenant, what, None, None) });
        }
    };
    for n in &next.numbers {
        let before = stored.numbers.iter().find(|s| s.number == n.number);
        let tenant = match &n.tenant {
            Owner::Tenant(t) => Some(t),
            Owner::System => None,
        };
        item(tenant, format!("number {}", n.number), before.map(json), Some(json(n)));
    }
    for t in &next.tenants {
        let before = stored.tenants.iter().find(|s| s.id == t.id);
        item(Some(&t.id), "tenant settings".to_owned(), before.map(json), Some(json(t)));
    }
    for x in &next.extensions {
        let before = stored.extensions.iter().find(|s| s.tenant == x.tenant && s.extension == x.extension);
        item(Some(&x.tenant), format!("extension {}", x.extension), before.map(json), Some(json(x)));
    }
    for k in &stored.keys {
        let after = next.keys.iter().find(|n| n.name == k.name);
        let what = format!("API key {}", k.name);
        match after {
            Some(a) if a.hash != k.hash => item(k.tenants.single(), format!("{what}: a new secret"), None, None),
            None if deleted.contains(&k.hash) => item(k.tenants.single(), what, Some(json(&KeyConfig::of(k))), None),
            _ => {}
        }
    }
    for k in &next.keys {
        let before = stored.keys.iter().find(|s| s.name == k.name).map(|b| json(&KeyConfig::of(b)));
        item(k.tenants.single(), format!("API key {}", k.name), before, Some(json(&KeyConfig::of(k))));
    }
    out
}

fn warn(path: String, message: String) -> ConfigError {
    ConfigError { path, message }
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub numbers: Vec<SmsNumber>,
    #[serde(default)]
    pub tenants: Vec<Tenant>,
    #[serde(default)]
    pub extensions: Vec<ExtensionRecord>,
    #[serde(default)]
    pub api_keys: Vec<KeyConfig>,
}

/// A problem at a JSON path of a configuration file: why it was refused,
/// or (from [`Config::warnings`]) what it writes that will not qualify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

/// A configuration ready to write.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub snapshot: Snapshot,
    /// Stored keys replaced by a key of the same name with a new secret.
    pub delete_keys: Vec<KeyHash>,
    /// Secrets generated for keys the file gave none for: shown once.
    pub generated: Vec<(String, ApiKeySecret)>,
}

impl Config {
    pub fn from_json(text: &str) -> Result<Config, ConfigError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            ConfigError {
                path: if path == "." { "$".to_owned() } else { format!("$.{path}") },
                message: e.into_inner().to_string(),
            }
        })?;
        config.check()?;
        Ok(config)
    }

    /// What a file must hold beyond its values' own checks: nothing named
    /// twice, key names of 1 to 128 characters.
    pub fn check(&self) -> Result<(), ConfigError> {
        fn first_dup<T: Eq + std::hash::Hash>(items: impl Iterator<Item = T>, what: &str) -> Result<(), ConfigError> {
            let mut seen = HashSet::new();
            for (i, item) in items.enumerate() {
                if !seen.insert(item) {
                    return Err(ConfigError { path: format!("$.{what}[{i}]"), message: "listed twice".to_owned() });
                }
            }
            Ok(())
        }
        first_dup(self.numbers.iter().map(|n| &n.number), "numbers")?;
        first_dup(self.tenants.iter().map(|t| &t.id), "tenants")?;
        first_dup(self.extensions.iter().map(|e| (&e.tenant, &e.extension)), "extensions")?;
        first_dup(self.api_keys.iter().map(|k| &k.name), "api_keys")?;
        for (i, k) in self.api_keys.iter().enumerate() {
            if k.name.trim().is_empty() || k.name.len() > 128 {
                return Err(ConfigError {
                    path: format!("$.api_keys[{i}].name"),
                    message: "expected a name of 1 to 128 characters".to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Well-formed references that do not qualify: written, but worth a word.
    /// `stored` tells what the store already knows of a number the file does
    /// not list.
    pub fn warnings(&self, stored: &BTreeMap<E164, SmsNumber>) -> Vec<ConfigError> {
        let mut out = Vec::new();
        let known: HashSet<&TenantId> = self.tenants.iter().map(|t| &t.id).collect();
        for (i, t) in self.tenants.iter().enumerate() {
            let Some(sender) = &t.sender_number else {
                out.push(warn(format!("$.tenants[{i}]"), format!("tenant {} has no sender number yet", t.id)));
                continue;
            };
            let entry = self.numbers.iter().find(|n| &n.number == sender).or_else(|| stored.get(sender));
            match entry {
                None => out.push(warn(
                    format!("$.tenants[{i}].sender_number"),
                    format!("{sender} is not in the number registry"),
                )),
                Some(n) if !n.sms_enabled => {
                    out.push(warn(format!("$.tenants[{i}].sender_number"), format!("{sender} is not SMS-enabled")));
                }
                Some(n) if !n.tenant.allows(&t.id) => {
                    out.push(warn(
                        format!("$.tenants[{i}].sender_number"),
                        format!("{sender} belongs to tenant {}", n.tenant.as_str()),
                    ));
                }
                Some(_) => {}
            }
        }
        for (i, e) in self.extensions.iter().enumerate() {
            if !known.contains(&e.tenant) {
                out.push(warn(
                    format!("$.extensions[{i}]"),
                    format!("tenant {} is not in this file (it must exist in the store)", e.tenant),
                ));
            }
            if e.sms_number.is_none() {
                out.push(warn(format!("$.extensions[{i}]"), format!("extension {} has no SMS number", e.extension)));
            }
        }
        for (i, n) in self.numbers.iter().enumerate() {
            if let Owner::Tenant(t) = &n.tenant
                && !known.contains(t)
            {
                out.push(warn(format!("$.numbers[{i}]"), format!("tenant {t} is not in this file")));
            }
        }
        out
    }

    /// Resolves keys against those stored: a key named again keeps its hash
    /// unless the file gives a new secret; a new key without a secret gets
    /// a generated one.
    pub fn plan(&self, stored_keys: &[ApiKey], now: i64) -> Plan {
        let mut plan = Plan {
            snapshot: Snapshot {
                numbers: self.numbers.clone(),
                tenants: self.tenants.clone(),
                extensions: self.extensions.clone(),
                keys: Vec::new(),
            },
            ..Plan::default()
        };
        for k in &self.api_keys {
            let existing = stored_keys.iter().find(|s| s.name == k.name);
            let hash = match (&k.secret, existing) {
                (Some(secret), _) => secret.hash(),
                (None, Some(e)) => e.hash.clone(),
                (None, None) => {
                    let secret = ApiKeySecret::generate();
                    let hash = secret.hash();
                    plan.generated.push((k.name.clone(), secret));
                    hash
                }
            };
            if let Some(e) = existing
                && e.hash != hash
            {
                plan.delete_keys.push(e.hash.clone());
            }
            plan.snapshot.keys.push(ApiKey {
                name: k.name.clone(),
                hash,
                tenants: k.tenants.clone(),
                permissions: k.permissions.clone(),
                enabled: k.enabled,
                created_at: existing.map_or(now, |e| e.created_at),
            });
        }
        plan
    }
}

impl From<Snapshot> for Config {
    /// The exported file: everything but secrets, which the store never had.
    fn from(s: Snapshot) -> Config {
        Config {
            numbers: s.numbers,
            tenants: s.tenants,
            extensions: s.extensions,
            api_keys: s
                .keys
                .into_iter()
                .map(|k| KeyConfig {
                    name: k.name,
                    secret: None,
                    tenants: k.tenants,
                    permissions: k.permissions,
                    enabled: k.enabled,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
      "numbers":    [{"number": "+14165550000", "tenant": "59", "sms_enabled": true}],
      "tenants":    [{"id": "59", "active": true, "sender_number": "+14165550000",
                      "api_enabled": true, "voicemail_notifications": true,
                      "voicemail_template": "New voicemail on {extension} from {caller_id}"}],
      "extensions": [{"tenant": "59", "extension": "1001",
                      "sms_notifications": true, "sms_number": "+14165551234"}],
      "api_keys":   [{"name": "pbx-integration", "secret": "test-key-59-abcdef",
                      "tenants": ["59"], "permissions": ["sms"], "enabled": true}]
    }"#;

    /// The error without serde's " at line L column C" tail.
    fn err(text: &str) -> String {
        let e = Config::from_json(text).unwrap_err().to_string();
        match e.find(" at line ") {
            Some(i) => e[..i].to_owned(),
            None => e,
        }
    }

    #[test]
    fn the_contract_example_parses_without_warnings() {
        let c = Config::from_json(EXAMPLE).unwrap();
        assert_eq!(c.tenants[0].id.as_str(), "59");
        assert!(c.warnings(&BTreeMap::new()).is_empty());
        let plan = c.plan(&[], 1);
        assert_eq!(plan.snapshot.keys[0].hash, KeyHash::of("test-key-59-abcdef"));
        assert!(plan.generated.is_empty());
    }

    #[test]
    fn malformed_values_name_their_path() {
        let bad_number = EXAMPLE.replace("\"+14165551234\"", "\"4165551234\"");
        assert_eq!(err(&bad_number), "$.extensions[0].sms_number: expected a phone number in +E.164 format");
        let bad_tenant = EXAMPLE.replace("\"id\": \"59\"", "\"id\": \"5x\"");
        assert_eq!(err(&bad_tenant), "$.tenants[0].id: expected a tenant id of 1 to 10 digits");
        let unknown = EXAMPLE.replace("\"active\": true", "\"active\": true, \"colour\": 1");
        assert!(err(&unknown).starts_with("$.tenants[0].colour: unknown field `colour`"), "{}", err(&unknown));
        let wrong_type = EXAMPLE.replace("\"sms_enabled\": true", "\"sms_enabled\": \"yes\"");
        assert!(err(&wrong_type).starts_with("$.numbers[0].sms_enabled: invalid type"));
        let bad_template = EXAMPLE.replace("{caller_id}", "{caller}");
        assert!(err(&bad_template).starts_with("$.tenants[0].voicemail_template: unknown placeholder {caller}"));
        let bad_ext = EXAMPLE.replace("\"1001\"", "\"1001#EXT#1\"");
        assert_eq!(err(&bad_ext), "$.extensions[0].extension: expected an extension number of 1 to 15 digits");
        let dup = EXAMPLE.replace(
            r#""tenants":    [{"#,
            r#""tenants": [{"id": "59", "active": false, "api_enabled": false, "voicemail_notifications": false}, {"#,
        );
        assert_eq!(err(&dup), "$.tenants[1]: listed twice");
        let bad_country =
            EXAMPLE.replace("\"active\": true", "\"active\": true, \"allowed_countries\": [\"CA\", \"usa\"]");
        assert_eq!(
            err(&bad_country),
            "$.tenants[0].allowed_countries[1]: expected an ISO 3166 country code such as \"CA\""
        );
        let bad_limits = EXAMPLE
            .replace("\"active\": true", "\"active\": true, \"rate_limits\": {\"per_minute\": -1, \"per_day\": 5}");
        assert!(
            err(&bad_limits).starts_with("$.tenants[0].rate_limits.per_minute: invalid value"),
            "{}",
            err(&bad_limits)
        );
        let with = |json: &str| EXAMPLE.replace("\"active\": true", &format!("\"active\": true, {json}"));
        assert_eq!(
            err(&with(r#""transcription": {"provider": "aws", "language": "english"}"#)),
            "$.tenants[0].transcription.language: expected \"auto\" or a language code such as \"en-US\""
        );
        assert!(
            err(&with(r#""transcription": {"provider": "gcp", "language": "auto"}"#))
                .starts_with("$.tenants[0].transcription.provider: unknown variant `gcp`")
        );
        assert_eq!(
            err(&with(r#""max_segments": 11"#)),
            "$.tenants[0].max_segments: expected a whole number from 1 to 10"
        );
        let ok =
            Config::from_json(&with(r#""transcription": {"provider": "aws", "language": "auto"}, "max_segments": 6"#));
        assert!(ok.is_ok(), "{ok:?}");
        assert!(err("[").starts_with("$: "));
    }

    #[test]
    fn quiet_hours_are_read_with_their_paths_and_written_back_as_given() {
        let quiet = r#""quiet_hours": {"time_zone": "America/Toronto", "from": "22:00", "to": "07:00", "days": ["mon", "fri"]}"#;
        let text = EXAMPLE
            .replace("\"active\": true", &format!("\"active\": true, {quiet}"))
            .replace("\"sms_number\": \"+14165551234\"", "\"sms_number\": \"+14165551234\", \"quiet_hours\": false");
        let config = Config::from_json(&text).unwrap();
        let back = serde_json::to_value(&config).unwrap();
        assert_eq!(
            back["tenants"][0]["quiet_hours"],
            serde_json::json!({"time_zone": "America/Toronto", "from": "22:00", "to": "07:00", "days": ["mon", "fri"]})
        );
        assert_eq!(back["extensions"][0]["quiet_hours"], false);
        let tenant = |q: &str| EXAMPLE.replace("\"active\": true", &format!("\"active\": true, \"quiet_hours\": {q}"));
        assert_eq!(
            err(&tenant(r#"{"time_zone": "Mars/Base", "from": "22:00", "to": "07:00"}"#)),
            "$.tenants[0].quiet_hours.time_zone: expected an IANA time zone such as \"America/Toronto\""
        );
        assert_eq!(
            err(&tenant(r#"{"time_zone": "Europe/London", "from": "7:00", "to": "07:00"}"#)),
            "$.tenants[0].quiet_hours.from: expected a time as HH:MM, such as \"22:00\""
        );
        assert_eq!(
            err(&tenant(
                r#"{"time_zone": "Europe/London", "from": "22:00", "to": "07:00", "days": ["mon", "funday"]}"#
            )),
            "$.tenants[0].quiet_hours.days[1]: expected days among \"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\""
        );
        let extension = EXAMPLE
            .replace("\"sms_number\": \"+14165551234\"", "\"sms_number\": \"+14165551234\", \"quiet_hours\": true");
        assert_eq!(
            err(&extension),
            "$.extensions[0].quiet_hours: expected false or quiet hours {\"time_zone\", \"from\", \"to\"}"
        );
    }

    #[test]
    fn well_formed_references_that_do_not_qualify_warn() {
        let c = Config::from_json(
            &EXAMPLE.replace("\"tenant\": \"59\", \"sms_enabled\": true", "\"tenant\": \"60\", \"sms_enabled\": false"),
        )
        .unwrap();
        let w: Vec<String> = c.warnings(&BTreeMap::new()).iter().map(ToString::to_string).collect();
        assert!(w.contains(&"$.tenants[0].sender_number: +14165550000 is not SMS-enabled".to_owned()), "{w:?}");
        let c = Config::from_json(
            &EXAMPLE
                .replace("\"sms_enabled\": true", "\"sms_enabled\": true, \"x\": 1")
                .replace(", \"x\": 1", "")
                .replace("\"tenant\": \"59\",", "\"tenant\": \"60\","),
        )
        .unwrap();
        assert!(
            c.warnings(&BTreeMap::new())
                .iter()
                .any(|w| w.to_string() == "$.tenants[0].sender_number: +14165550000 belongs to tenant 60")
        );
    }

    #[test]
    fn keys_keep_their_hash_and_generate_once() {
        let c = Config::from_json(&EXAMPLE.replace("\"secret\": \"test-key-59-abcdef\",", "")).unwrap();
        let first = c.plan(&[], 1);
        assert_eq!(first.generated.len(), 1);
        let again = c.plan(&first.snapshot.keys, 2);
        assert!(again.generated.is_empty() && again.delete_keys.is_empty());
        assert_eq!(again.snapshot.keys, first.snapshot.keys);
        let rotated = Config::from_json(EXAMPLE).unwrap().plan(&first.snapshot.keys, 3);
        assert_eq!(rotated.delete_keys, vec![first.snapshot.keys[0].hash.clone()]);
    }
}
