//! `serve --demo`: a configuration to try the APIs with at once, and the
//! guide's examples as curl lines against the local server.

use std::net::SocketAddr;

use shared::domain::{ApiKey, ApiKeySecret, KeyHash, Permission, TenantScope};
use shared::ports::{Admin, Clock};
use shared::service::config::Config;

use crate::fail::{Fail, Result};
use crate::output::say;

const CONFIG: &str = include_str!("../../demo-config.json");

/// The guide's action API example, with `{key}` for the API key.
const ACTION_EXAMPLE: &str = concat!(
    "/?apikey={key}&action=pbxware.sms.send_message&server=59&to_number=%2B14165551234",
    "&body=WW91IGhhdmUgcmVjZWl2ZWQgYSBuZXcgdm9pY2VtYWlsLg=="
);

/// The demo's operator key: made afresh at each start (its secret is
/// printed, never published), gone at the stop.
const OPERATOR: &str = "demo-operator";

pub struct Demo {
    pub config: Config,
    key: String,
    operator: Option<ApiKeySecret>,
}

impl Demo {
    pub fn load() -> Result<Self> {
        let config = Config::from_json(CONFIG).map_err(|e| Fail::new(format!("the demo configuration: {e}")))?;
        let key = config
            .api_keys
            .iter()
            .find_map(|k| k.secret.as_ref())
            .ok_or_else(|| Fail::new("the demo configuration has no API key secret"))?
            .reveal()
            .to_owned();
        Ok(Demo { config, key, operator: None })
    }

    pub fn print(&self, addr: SocketAddr) {
        let base = format!("http://{addr}");
        let key = &self.key;
        say!("demo configuration (cli/demo-config.json):\n{}", CONFIG.trim_end());
        say!();
        say!("# The guide's action API example:");
        say!("curl '{base}{}'", ACTION_EXAMPLE.replace("{key}", key));
        say!("# Send an SMS (REST):");
        say!(
            "curl -X POST {base}/api/sms/send -H \"X-API-Key: {key}\" -H \"Content-Type: application/json\" \
             -d '{{ \"to\": \"+14165551234\", \"message\": \"Test SMS notification\" }}'"
        );
        say!("# Voicemail notification (REST):");
        say!(
            "curl -X POST {base}/api/sms/notifications/voicemail -H \"X-API-Key: {key}\" \
             -H \"Content-Type: application/json\" \
             -d '{{ \"extension\": \"1001\", \"message\": \"New voicemail received\" }}'"
        );
        if let Some(operator) = &self.operator {
            say!("# The operator console (signs in with a fresh operator key, {OPERATOR}):");
            say!("{base}/console/sign-in#key={}", operator.reveal());
        }
        say!();
    }
}

/// With `demo`, the demo configuration applied (to print once listening);
/// without, a demo key that a `serve --demo` which did not stop cleanly
/// left behind removed.
pub async fn prepare(admin: &dyn Admin, demo: bool) -> Result<Option<Demo>> {
    if demo {
        let mut demo = Demo::load()?;
        crate::apply::write(admin, &demo.config).await?;
        let secret = ApiKeySecret::generate();
        admin.put_key(&operator_key(&secret)).await?;
        demo.operator = Some(secret);
        return Ok(Some(demo));
    }
    if remove_key(admin).await? {
        say!("removed the demo API key that a `serve --demo` which did not stop cleanly left behind");
    }
    Ok(None)
}

/// At the stop: the demo key's secret is public, it goes with the demo.
pub async fn finish(admin: &dyn Admin, demo: bool) -> Result {
    if demo && remove_key(admin).await? {
        say!("removed the demo API key");
    }
    Ok(())
}

fn operator_key(secret: &ApiKeySecret) -> ApiKey {
    ApiKey {
        name: OPERATOR.to_owned(),
        hash: secret.hash(),
        tenants: TenantScope::All,
        permissions: vec![Permission::Admin],
        enabled: true,
        created_at: shared::adapters::clock::SystemClock.now(),
    }
}

/// Removes the demo key, whose secret is public (README, docs/cli.md), and
/// the demo's operator key from the store; true when one was there.
pub async fn remove_key(admin: &dyn Admin) -> Result<bool> {
    let hash = KeyHash::of(&Demo::load()?.key);
    let demo_keys: Vec<KeyHash> =
        admin.keys().await?.into_iter().filter(|k| k.hash == hash || k.name == OPERATOR).map(|k| k.hash).collect();
    for hash in &demo_keys {
        admin.delete_key(hash).await?;
    }
    Ok(!demo_keys.is_empty())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn the_demo_configuration_qualifies_as_it_is() {
        let demo = Demo::load().expect("the demo configuration parses");
        assert!(demo.config.warnings(&BTreeMap::new()).is_empty());
        assert_eq!(demo.key, "demo-key-59-abcdef0123");
    }
}
