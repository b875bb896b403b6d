//! Signing in with an operator key, and the sessions it opens: a random
//! 256-bit token the store knows only by its hash, ended by signing out,
//! by an idle time, by an absolute time, or by its key losing `admin`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::super::{Error, Result, Service};
use crate::domain::{ApiKey, KeyHash, Permission, TenantId, TenantScope, sha256_hex};
use crate::ports::{Lookup, Session};

/// A session ends after this long without a request.
pub const SESSION_IDLE_SECS: i64 = 30 * 60;
/// And this long after it began, whatever happens.
pub const SESSION_MAX_SECS: i64 = 12 * 3600;
/// Failed sign-ins from one address per window before it must wait.
const SIGN_IN_FAILURES: u32 = 10;
const SIGN_IN_WINDOW_SECS: i64 = 15 * 60;
/// A session's last use is written at most this often (a write per page
/// view would double the console's writes for nothing).
const TOUCH_EVERY_SECS: i64 = 60;

/// Who is signed in: their key's name and scope.
#[derive(Debug, Clone)]
pub struct Operator {
    pub name: String,
    pub tenants: TenantScope,
    session: KeyHash,
}

impl Operator {
    pub fn may(&self, tenant: &TenantId) -> bool {
        self.tenants.allows(tenant)
    }

    /// An operator of every tenant (`"*"`): the number registry is theirs.
    pub fn of_every_tenant(&self) -> bool {
        self.tenants == TenantScope::All
    }

    pub(super) fn check(&self, tenant: &TenantId) -> Result<()> {
        if self.may(tenant) { Ok(()) } else { Err(Error::NotYours) }
    }

    /// A key's scope is within this operator's: theirs to manage.
    pub fn covers_scope(&self, scope: &TenantScope) -> bool {
        match scope {
            TenantScope::All => self.of_every_tenant(),
            TenantScope::Only(ids) => ids.iter().all(|t| self.may(t)),
        }
    }
}

/// A session just opened: its token goes to the browser, once.
pub struct SignedIn {
    pub token: String,
    pub operator: Operator,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn").field("operator", &self.operator).finish_non_exhaustive()
    }
}

/// The token every form of a session carries: derived from the session's
/// own token, so the store keeps nothing more and a page of another
/// session (or another site) cannot forge it.
pub fn csrf_token(session_token: &str) -> String {
    sha256_hex(format!("csrf\0{session_token}").as_bytes())[..32].to_owned()
}

impl Service {
    /// Opens a session for an enabled key with the `admin` right. Failed
    /// attempts are counted per source address; past the limit every
    /// attempt from it is refused unchecked until its window ends.
    pub async fn sign_in(&self, secret: &str, source: &str) -> Result<SignedIn> {
        let (admin, now) = (self.admin()?, self.now());
        if admin.sign_in_failures(source, now, SIGN_IN_WINDOW_SECS).await? >= SIGN_IN_FAILURES {
            return Err(too_many(now));
        }
        let Some(key) = self.operator_key(KeyHash::of_presented(secret.trim()).as_ref()).await? else {
            admin.failed_sign_in(source, now, SIGN_IN_WINDOW_SECS).await?;
            tracing::warn!(source, "console sign-in refused");
            return Err(Error::SignInRefused);
        };
        let token = new_token();
        let hash = KeyHash::of(&token);
        let session = Session {
            hash: hash.clone(),
            key: key.hash,
            created_at: now,
            seen_at: now,
            expires_at: now + SESSION_MAX_SECS,
        };
        admin.open_session(&session).await?;
        tracing::info!(operator = %key.name, "console sign-in");
        Ok(SignedIn { token, operator: Operator { name: key.name, tenants: key.tenants, session: hash } })
    }

    /// The operator a session token stands for, while the session and its
    /// key last.
    pub async fn operator(&self, token: &str) -> Result<Operator> {
        let (admin, now) = (self.admin()?, self.now());
        let hash = KeyHash::of_presented(token).ok_or(Error::NotSignedIn)?;
        let session = admin.session(&hash).await?.ok_or(Error::NotSignedIn)?;
        let key = match now < session.expires_at && now - session.seen_at < SESSION_IDLE_SECS {
            true => self.operator_key(Some(&session.key)).await?,
            false => None,
        };
        let Some(key) = key else {
            admin.close_session(&hash).await?;
            return Err(Error::NotSignedIn);
        };
        if now - session.seen_at >= TOUCH_EVERY_SECS {
            admin.touch_session(&hash, now).await?;
        }
        Ok(Operator { name: key.name, tenants: key.tenants, session: hash })
    }

    pub async fn sign_out(&self, operator: &Operator) -> Result<()> {
        self.admin()?.close_session(&operator.session).await?;
        tracing::info!(operator = %operator.name, "console sign-out");
        Ok(())
    }

    async fn operator_key(&self, hash: Option<&KeyHash>) -> Result<Option<ApiKey>> {
        let Some(hash) = hash else { return Ok(None) };
        let found = self.store.lookup(Lookup { key: Some(hash), ..Lookup::default() }).await?;
        Ok(found.key.filter(|k| k.enabled && k.hash.matches(hash) && k.allows(Permission::Admin)))
    }
}

/// 256 bits from the thread's CSPRNG, URL-safe.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn too_many(now: i64) -> Error {
    let left = SIGN_IN_WINDOW_SECS - now.rem_euclid(SIGN_IN_WINDOW_SECS);
    Error::TooManySignIns { minutes: (left + 59) / 60 }
}
