//! The store contract, written once and run against both stores: the
//! embedded SQLite store (a temp file) and the DynamoDB store on moto (a
//! fresh table). Each behaviour is a function over `&dyn Store` /
//! `&dyn Admin`; every test runs it against every store.

// A scenario reads best whole, however long: functions of test code may
// run past clippy.toml's 50 lines.
#![allow(clippy::too_many_lines)]

use std::collections::BTreeMap;
use std::sync::Arc;

use integration_tests::{moto, temp_path};
use shared::adapters::sqlite::SqliteStore;
use shared::domain::{
    ApiKey, CountryCode, E164, Extension, ExtensionRecord, KeyHash, MessageKind, MessageRecord, MessageStatus, Owner,
    Permission, RateLimits, SmsNumber, Tenant, TenantId, TenantScope, Window,
};
use shared::ports::{Admin, Begun, Claim, Closing, End, Finished, Held, Lookup, Start, Store};
use shared::ports::{AuditEntry, Change, Clock, DayCount, ListQuery, Session, Snapshot};
use shared::service::config::Config;

struct Under {
    name: &'static str,
    store: Arc<dyn Store>,
    admin: Arc<dyn Admin>,
}

/// Every store, fresh: SQLite always, DynamoDB when moto runs (required
/// under CI=true).
async fn stores() -> Vec<Under> {
    let sqlite = Arc::new(SqliteStore::open(&temp_path("contract")).expect("open SQLite"));
    let mut all = vec![Under { name: "sqlite", store: sqlite.clone(), admin: sqlite }];
    if let Some(m) = moto::connect().await {
        all.push(Under { name: "dynamodb", store: m.store.clone(), admin: m.store });
    }
    all
}

/// A realistic clock: on the minute and on the day, so that windows start here.
const NOW: i64 = 1_795_000_000 - 1_795_000_000 % 86_400;

fn tenant(id: &str) -> TenantId {
    TenantId::parse(id).expect("tenant id")
}

fn e164(n: &str) -> E164 {
    E164::parse(n).expect("E.164")
}

fn country(c: &str) -> CountryCode {
    CountryCode::parse(c).expect("country code")
}

fn key(name: &str, secret: &str, created_at: i64) -> ApiKey {
    ApiKey {
        name: name.to_owned(),
        hash: KeyHash::of(secret),
        tenants: TenantScope::Only(vec![tenant("59")]),
        permissions: vec![Permission::Sms],
        enabled: true,
        created_at,
    }
}

fn tenant59() -> Tenant {
    Tenant {
        id: tenant("59"),
        active: true,
        sender_number: Some(e164("+14165550000")),
        api_enabled: true,
        voicemail_notifications: true,
        voicemail_template: None,
        allowed_countries: vec![country("CA"), country("US")],
        rate_limits: Some(RateLimits { per_minute: 5, per_day: 50 }),
        voicemail_rate_limits: Some(RateLimits { per_minute: 7, per_day: 70 }),
        transcription: None,
        max_segments: None,
        quiet_hours: None,
    }
}

fn snapshot() -> Snapshot {
    Snapshot {
        numbers: vec![
            SmsNumber { number: e164("+14165550000"), tenant: Owner::Tenant(tenant("59")), sms_enabled: true },
            SmsNumber { number: e164("+14165550001"), tenant: Owner::System, sms_enabled: false },
        ],
        tenants: vec![
            tenant59(),
            Tenant {
                id: tenant("100"),
                active: false,
                sender_number: None,
                api_enabled: false,
                voicemail_notifications: false,
                voicemail_template: None,
                allowed_countries: vec![],
                rate_limits: None,
                voicemail_rate_limits: None,
                transcription: None,
                max_segments: None,
                quiet_hours: None,
            },
        ],
        extensions: vec![
            ExtensionRecord {
                tenant: tenant("59"),
                extension: Extension::parse("1001").expect("ext"),
                sms_notifications: true,
                sms_number: Some(e164("+14165551234")),
                quiet_hours: None,
            },
            ExtensionRecord {
                tenant: tenant("100"),
                extension: Extension::parse("7").expect("ext"),
                sms_notifications: false,
                sms_number: None,
                quiet_hours: None,
            },
        ],
        keys: vec![key("pbx-integration", "test-key-59-abcdef", 10)],
    }
}

/// Applies a configuration file the way `smsctl apply` does: keys resolved
/// against the stored ones (a new secret for a known name rotates it).
async fn apply_file(admin: &dyn Admin, json: &str, now: i64) {
    let plan = Config::from_json(json).expect("valid configuration").plan(&admin.keys().await.expect("keys"), now);
    admin.apply(&plan.snapshot, &plan.delete_keys).await.expect("apply");
}

// ---------------------------------------------------------------- lookup

async fn lookup_finds_every_kind_and_misses_cleanly(name: &str, store: &dyn Store, admin: &dyn Admin) {
    let s = snapshot();
    admin.apply(&s, &[]).await.expect("apply");
    let hash = KeyHash::of("test-key-59-abcdef");
    let (t59, x1001, sender) = (tenant("59"), Extension::parse("1001").expect("ext"), e164("+14165550000"));

    let all = store
        .lookup(Lookup {
            key: Some(&hash),
            tenant: Some(&t59),
            extension: Some(&x1001),
            number: Some(&sender),
            send_at: None,
        })
        .await
        .expect("lookup");
    assert_eq!(all.key.as_ref(), Some(&s.keys[0]), "{name}");
    assert_eq!(all.tenant.as_ref(), Some(&s.tenants[0]), "{name}");
    assert_eq!(all.extension.as_ref(), Some(&s.extensions[0]), "{name}");
    assert_eq!(all.number.as_ref(), Some(&s.numbers[0]), "{name}");

    // One at a time, each kind alone.
    let only_key = store.lookup(Lookup { key: Some(&hash), ..Lookup::default() }).await.expect("lookup");
    assert!(
        only_key.key.is_some()
            && only_key.tenant.is_none()
            && only_key.extension.is_none()
            && only_key.number.is_none(),
        "{name}"
    );
    let system = e164("+14165550001");
    let only_number = store.lookup(Lookup { number: Some(&system), ..Lookup::default() }).await.expect("lookup");
    assert_eq!(only_number.number.as_ref(), Some(&s.numbers[1]), "{name}");
    let t100 = tenant("100");
    let x7 = Extension::parse("7").expect("ext");
    let other =
        store.lookup(Lookup { tenant: Some(&t100), extension: Some(&x7), ..Lookup::default() }).await.expect("lookup");
    assert_eq!(
        (other.tenant.as_ref(), other.extension.as_ref()),
        (Some(&s.tenants[1]), Some(&s.extensions[1])),
        "{name}"
    );

    // Missing things are None, never errors.
    let (unknown_hash, t61, x9, nobody) =
        (KeyHash::of("no-such-key-0000000"), tenant("61"), Extension::parse("9").expect("ext"), e164("+14165559876"));
    let none = store
        .lookup(Lookup {
            key: Some(&unknown_hash),
            tenant: Some(&t61),
            extension: Some(&x1001),
            number: Some(&nobody),
            send_at: None,
        })
        .await
        .expect("lookup");
    assert!(
        none.key.is_none() && none.tenant.is_none() && none.extension.is_none() && none.number.is_none(),
        "{name}: {none:?}"
    );
    // A known tenant, an extension it does not have (nor another tenant's).
    let partial =
        store.lookup(Lookup { tenant: Some(&t59), extension: Some(&x9), ..Lookup::default() }).await.expect("lookup");
    assert!(partial.tenant.is_some() && partial.extension.is_none(), "{name}");
    let foreign =
        store.lookup(Lookup { tenant: Some(&t59), extension: Some(&x7), ..Lookup::default() }).await.expect("lookup");
    assert!(foreign.extension.is_none(), "{name}: tenant 100's extension 7 is not tenant 59's");
    // An extension means nothing without its tenant.
    let orphan = store.lookup(Lookup { extension: Some(&x1001), ..Lookup::default() }).await.expect("lookup");
    assert!(orphan.extension.is_none(), "{name}");
    let empty = store.lookup(Lookup::default()).await.expect("empty lookup");
    assert!(
        empty.key.is_none() && empty.tenant.is_none() && empty.extension.is_none() && empty.number.is_none(),
        "{name}"
    );
}

#[tokio::test]
async fn lookup_of_every_entity_kind() {
    for u in stores().await {
        lookup_finds_every_kind_and_misses_cleanly(u.name, &*u.store, &*u.admin).await;
    }
}

/// A tenant comes with its sender's registry entry, current after every
/// apply: of the number alone, of the tenant alone.
async fn a_tenant_brings_its_senders_entry(name: &str, store: &dyn Store, admin: &dyn Admin) {
    let s = snapshot();
    admin.apply(&s, &[]).await.expect("apply");
    let t59 = tenant("59");
    let sender =
        || async { store.lookup(Lookup { tenant: Some(&t59), ..Lookup::default() }).await.expect("lookup").sender };
    assert_eq!(sender().await, Some(s.numbers[0].clone()), "{name}");
    let off = SmsNumber { sms_enabled: false, ..s.numbers[0].clone() };
    admin.apply(&Snapshot { numbers: vec![off.clone()], ..Snapshot::default() }, &[]).await.expect("apply");
    assert_eq!(sender().await, Some(off), "{name}: the number changed alone");
    let moved = Tenant { sender_number: Some(e164("+14165550001")), ..tenant59() };
    admin.apply(&Snapshot { tenants: vec![moved], ..Snapshot::default() }, &[]).await.expect("apply");
    assert_eq!(sender().await, Some(s.numbers[1].clone()), "{name}: the tenant changed alone");
    let unregistered = Tenant { sender_number: Some(e164("+14165550999")), ..tenant59() };
    admin.apply(&Snapshot { tenants: vec![unregistered], ..Snapshot::default() }, &[]).await.expect("apply");
    assert_eq!(sender().await, None, "{name}: not in the registry");
    let registered = SmsNumber { number: e164("+14165550999"), tenant: Owner::Tenant(t59.clone()), sms_enabled: true };
    admin.apply(&Snapshot { numbers: vec![registered.clone()], ..Snapshot::default() }, &[]).await.expect("apply");
    assert_eq!(sender().await, Some(registered), "{name}: registered since");
}

#[tokio::test]
async fn a_tenant_is_read_with_its_senders_entry() {
    for u in stores().await {
        a_tenant_brings_its_senders_entry(u.name, &*u.store, &*u.admin).await;
    }
}

// ---------------------------------------------------------------- apply

async fn apply_is_idempotent_and_exports_what_it_wrote(name: &str, admin: &dyn Admin) {
    let s = snapshot();
    admin.apply(&s, &[]).await.expect("apply");
    let first = admin.export().await.expect("export");
    assert_eq!(first, s, "{name}: export is the snapshot, in order");
    admin.apply(&s, &[]).await.expect("apply again");
    assert_eq!(admin.export().await.expect("export"), first, "{name}: applying twice changes nothing");

    // Changing an item replaces it; what the snapshot leaves out stays.
    let mut changed = Snapshot { tenants: vec![Tenant { active: false, ..tenant59() }], ..Snapshot::default() };
    admin.apply(&changed, &[]).await.expect("apply change");
    let after = admin.export().await.expect("export");
    assert!(!after.tenants.iter().find(|t| t.id.as_str() == "59").expect("tenant 59").active, "{name}");
    assert_eq!(
        (after.numbers.len(), after.tenants.len(), after.extensions.len(), after.keys.len()),
        (2, 2, 2, 1),
        "{name}"
    );
    changed.tenants[0].active = true;
    admin.apply(&changed, &[]).await.expect("apply back");
    assert_eq!(admin.export().await.expect("export"), first, "{name}");
}

#[tokio::test]
async fn apply_twice_gives_the_same_export() {
    for u in stores().await {
        apply_is_idempotent_and_exports_what_it_wrote(u.name, &*u.admin).await;
    }
}

/// More items than one DynamoDB transaction holds (100), in an order the
/// export must restore (tenant ids compare as numbers).
fn large_snapshot() -> Snapshot {
    let mut s = Snapshot::default();
    for i in (0..70u32).rev() {
        let id = tenant(&(i * 7 + 1).to_string());
        s.tenants.push(Tenant {
            id: id.clone(),
            sender_number: Some(e164(&format!("+1416555{:04}", 2000 + i))),
            ..tenant59()
        });
        s.numbers.push(SmsNumber {
            number: e164(&format!("+1416555{:04}", 2000 + i)),
            tenant: Owner::Tenant(id.clone()),
            sms_enabled: true,
        });
        s.extensions.push(ExtensionRecord {
            tenant: id,
            extension: Extension::parse(&format!("{}", 100 + i)).expect("ext"),
            sms_notifications: true,
            sms_number: None,
            quiet_hours: None,
        });
    }
    s
}

async fn a_large_configuration_is_written_whole(name: &str, admin: &dyn Admin) {
    let s = large_snapshot();
    admin.apply(&s, &[]).await.expect("apply 210 items");
    let exported = admin.export().await.expect("export");
    let mut expected = s.clone();
    expected.numbers.sort_by(|a, b| a.number.cmp(&b.number));
    expected.tenants.sort_by_key(|t| t.id.as_str().parse::<u64>().expect("digits"));
    expected
        .extensions
        .sort_by_key(|x| (x.tenant.as_str().parse::<u64>().expect("digits"), x.extension.as_str().to_owned()));
    assert_eq!(exported, expected, "{name}");
    admin.apply(&s, &[]).await.expect("apply again");
    assert_eq!(admin.export().await.expect("export"), expected, "{name}");
}

#[tokio::test]
async fn apply_of_a_large_configuration() {
    for u in stores().await {
        a_large_configuration_is_written_whole(u.name, &*u.admin).await;
    }
}

/// All or nothing: an apply either writes every item or, refused, none.
/// A tenant item past DynamoDB's 400 KB item limit (90,000 allowed
/// countries) is refused there, the whole transaction with it; SQLite takes
/// it, and then all of it.
async fn apply_is_all_or_nothing(name: &str, admin: &dyn Admin) -> bool {
    admin.apply(&snapshot(), &[]).await.expect("apply");
    let before = admin.export().await.expect("export");
    let mut bad = large_snapshot();
    bad.tenants.truncate(20);
    bad.numbers.truncate(20);
    bad.extensions.clear();
    bad.tenants[19].allowed_countries = vec![country("CA"); 90_000];
    bad.keys.push(key("another", "another-secret-000000", 1));
    match admin.apply(&bad, &[]).await {
        Err(_) => {
            assert_eq!(admin.export().await.expect("export"), before, "{name}: a refused apply wrote something");
            false
        }
        Ok(()) => {
            let after = admin.export().await.expect("export");
            assert_eq!((after.tenants.len(), after.numbers.len(), after.keys.len()), (22, 22, 2), "{name}");
            true
        }
    }
}

#[tokio::test]
async fn apply_all_or_nothing() {
    for u in stores().await {
        let accepted = apply_is_all_or_nothing(u.name, &*u.admin).await;
        // Which way each store goes is known: make sure the refusal path ran.
        assert_eq!(accepted, u.name == "sqlite", "{}", u.name);
    }
}

// ---------------------------------------------------------------- keys

async fn keys_rotate_and_rename_through_apply(name: &str, store: &dyn Store, admin: &dyn Admin) {
    let file = |key_name: &str, secret: &str| {
        format!(
            r#"{{"api_keys": [{{"name": "{key_name}", "secret": "{secret}", "tenants": ["59"], "permissions": ["sms"]}}]}}"#
        )
    };
    let (a, b, c) = ("secret-a-0123456789", "secret-b-0123456789", "secret-c-0123456789");
    let found = |secret: &'static str| async move {
        let h = KeyHash::of(secret);
        store.lookup(Lookup { key: Some(&h), ..Lookup::default() }).await.expect("lookup").key
    };

    apply_file(admin, &file("pbx", a), 100).await;
    apply_file(admin, &file("pbx", a), 200).await;
    let keys = admin.keys().await.expect("keys");
    assert_eq!(keys.len(), 1, "{name}");
    assert_eq!((keys[0].name.as_str(), keys[0].created_at), ("pbx", 100), "{name}: applying again keeps the key");

    // Rotation: the same name with a new secret replaces the old hash.
    apply_file(admin, &file("pbx", b), 300).await;
    let keys = admin.keys().await.expect("keys");
    assert_eq!(
        keys.iter().map(|k| (k.name.as_str(), k.hash.clone())).collect::<Vec<_>>(),
        vec![("pbx", KeyHash::of(b))],
        "{name}"
    );
    assert!(found(a).await.is_none(), "{name}: the rotated-out secret still opens");
    assert!(found(b).await.is_some(), "{name}");

    // Rename: the same secret under a new name; the old name is free again.
    apply_file(admin, &file("pbx-renamed", b), 400).await;
    let names: Vec<String> = admin.keys().await.expect("keys").into_iter().map(|k| k.name).collect();
    assert_eq!(names, vec!["pbx-renamed"], "{name}");
    apply_file(admin, &file("pbx", c), 500).await;
    let keys = admin.keys().await.expect("keys");
    assert_eq!(
        keys.iter().map(|k| (k.name.as_str(), k.hash.clone())).collect::<Vec<_>>(),
        vec![("pbx", KeyHash::of(c)), ("pbx-renamed", KeyHash::of(b))],
        "{name}: a name freed by a rename is reusable without touching the renamed key"
    );
    assert!(found(b).await.is_some() && found(c).await.is_some(), "{name}");
}

#[tokio::test]
async fn key_rotation_and_rename_via_apply() {
    for u in stores().await {
        keys_rotate_and_rename_through_apply(u.name, &*u.store, &*u.admin).await;
    }
}

async fn put_key_keys_and_delete_key(name: &str, store: &dyn Store, admin: &dyn Admin) {
    let (x, y) = (key("zeta", "secret-zeta-0123456789", 1), key("alpha", "secret-alpha-0123456789", 2));
    admin.put_key(&x).await.expect("put");
    admin.put_key(&y).await.expect("put");
    assert_eq!(admin.keys().await.expect("keys"), vec![y.clone(), x.clone()], "{name}: sorted by name");

    // Same name, another hash: replaces it.
    let x2 = ApiKey { enabled: false, ..key("zeta", "secret-zeta-rotated-0123", 3) };
    admin.put_key(&x2).await.expect("put");
    assert_eq!(admin.keys().await.expect("keys"), vec![y.clone(), x2.clone()], "{name}");
    assert!(
        store.lookup(Lookup { key: Some(&x.hash), ..Lookup::default() }).await.expect("lookup").key.is_none(),
        "{name}"
    );

    admin.delete_key(&x2.hash).await.expect("delete");
    admin.delete_key(&KeyHash::of("never-stored-0123456789")).await.expect("deleting an unknown key is fine");
    assert_eq!(admin.keys().await.expect("keys"), vec![y.clone()], "{name}");
    assert!(
        store.lookup(Lookup { key: Some(&x2.hash), ..Lookup::default() }).await.expect("lookup").key.is_none(),
        "{name}"
    );
    // The deleted key's name is free.
    admin.put_key(&x).await.expect("put");
    assert_eq!(admin.keys().await.expect("keys"), vec![y, x], "{name}");
}

#[tokio::test]
async fn put_key_keys_delete_key() {
    for u in stores().await {
        put_key_keys_and_delete_key(u.name, &*u.store, &*u.admin).await;
    }
}

// ---------------------------------------------------------------- claims

use integration_tests::KEEP_LOG;

fn record(tenant_id: &str, at: i64, id: &str) -> MessageRecord {
    MessageRecord {
        id: id.to_owned(),
        tenant: tenant(tenant_id),
        kind: MessageKind::Api,
        extension: None,
        from: "+14165550000".to_owned(),
        to: "+14165551234".to_owned(),
        status: if id.ends_with('f') { MessageStatus::Failed } else { MessageStatus::Sent },
        provider_id: (!id.ends_with('f')).then(|| format!("p-{id}")),
        segments: 1,
        error: id.ends_with('f').then(|| "SNS Publish: throttled".to_owned()),
        at,
        attempts: 0,
        receipt: None,
        lease_until: None,
        key: None,
        digest: None,
        due: None,
    }
}

fn sending(id: &str, at: i64) -> MessageRecord {
    MessageRecord { status: MessageStatus::Sending, provider_id: None, error: None, ..record("59", at, id) }
}

fn claim<'a>(id: &'a str, fingerprint: &'a str, token: &'a str, lease_until: i64) -> Claim<'a> {
    Claim { id, fingerprint, token, lease_until, keep_secs: 1000 }
}

/// Starts `message` under a claim held by `token`, without a budget.
async fn take(store: &dyn Store, id: &str, fp: &str, token: &str, now: i64, lease_until: i64) -> Begun {
    let rec = sending("m-claimed", now);
    let start = Start {
        record: &rec,
        claim: Some(claim(id, fp, token, lease_until)),
        budget: None,
        now,
        log_keep_secs: KEEP_LOG,
        link: None,
    };
    store.begin(&start).await.expect("begin")
}

/// Ends `message` as `token`: finished with `result`, or released; whether
/// that wrote it now.
async fn close(store: &dyn Store, id: &str, token: &str, result: Option<&str>, now: i64) -> bool {
    ended(store, id, token, result, now).await == Finished::Done
}

async fn ended(store: &dyn Store, id: &str, token: &str, result: Option<&str>, now: i64) -> Finished {
    let rec = record("59", now, "m-claimed");
    let closing = Closing { id, token, result, keep_secs: 1000 };
    // One end per holder: its tries share a token.
    let end_token = format!("end-{token}");
    let end = End {
        record: &rec,
        claim: Some(closing),
        now,
        log_keep_secs: KEEP_LOG,
        token: &end_token,
        wait: None,
        members: &[],
        attempts: 0,
    };
    store.finish(&end).await.expect("finish")
}

async fn claims_follow_their_lifecycle(name: &str, store: &dyn Store) {
    let id = "vm#s3://pbx-voicemail/voicemail/59/1001/msg0001.wav#55AED6DCD90281E5";
    let pending = |fp: &str, lease_until| Begun::Held(Held::Pending { fingerprint: fp.to_owned(), lease_until });
    assert_eq!(take(store, id, "fp-1", "t1", NOW, NOW + 120).await, Begun::Started, "{name}: first wins");
    assert_eq!(
        take(store, id, "fp-2", "t2", NOW + 1, NOW + 200).await,
        pending("fp-1", NOW + 120),
        "{name}: second sees it"
    );
    assert_eq!(take(store, id, "fp-2", "t2", NOW + 119, NOW + 200).await, pending("fp-1", NOW + 120), "{name}");
    // The lease ran out: taken over by t3.
    assert_eq!(
        take(store, id, "fp-3", "t3", NOW + 120, NOW + 180).await,
        Begun::Started,
        "{name}: an expired lease is taken over"
    );
    // The old holder can neither finish nor release the new holder's claim.
    assert!(!close(store, id, "t1", Some("late"), NOW + 121).await, "{name}: a former holder finished the claim");
    assert!(!close(store, id, "t1", None, NOW + 121).await, "{name}: a former holder released the claim");
    assert_eq!(
        take(store, id, "fp-4", "t4", NOW + 122, NOW + 200).await,
        pending("fp-3", NOW + 180),
        "{name}: still t3's"
    );

    // Finished by its holder: Done with its result until kept no more. The
    // same end tried again (its answer lost) finds it done, writes nothing.
    assert!(close(store, id, "t3", Some("{\"id\":\"m-1\"}"), NOW + 130).await, "{name}");
    assert_eq!(ended(store, id, "t3", Some("{\"id\":\"m-1\"}"), NOW + 131).await, Finished::AlreadyDone, "{name}");
    assert_eq!(ended(store, id, "t1", Some("late"), NOW + 131).await, Finished::TakenOver, "{name}");
    let done = Begun::Held(Held::Done { fingerprint: "fp-3".to_owned(), result: "{\"id\":\"m-1\"}".to_owned() });
    assert_eq!(take(store, id, "fp-5", "t5", NOW + 500, NOW + 560).await, done, "{name}");
    // A finished claim cannot be released or finished again: redeliveries stay blocked.
    assert!(!close(store, id, "t3", None, NOW + 501).await, "{name}");
    assert!(!close(store, id, "t3", Some("again"), NOW + 501).await, "{name}");
    assert_eq!(take(store, id, "fp-5", "t5", NOW + 1129, NOW + 1200).await, done, "{name}");
    assert_eq!(
        take(store, id, "fp-6", "t6", NOW + 1130, NOW + 1200).await,
        Begun::Started,
        "{name}: kept 1000 s, then gone"
    );

    // Released while pending: claimable again at once.
    let other = "idem#59#abc";
    assert_eq!(take(store, other, "a", "ta", NOW, NOW + 120).await, Begun::Started, "{name}");
    assert!(close(store, other, "ta", None, NOW + 1).await, "{name}");
    assert_eq!(take(store, other, "b", "tb", NOW + 1, NOW + 120).await, Begun::Started, "{name}: released, claimable");
    // Finishing or releasing what was never claimed does nothing.
    assert!(!close(store, "never", "t", Some("x"), NOW).await, "{name}");
    assert!(!close(store, "never", "t", None, NOW).await, "{name}");
    assert_eq!(
        take(store, "never", "n", "tn", NOW, NOW + 10).await,
        Begun::Started,
        "{name}: finishing nothing created nothing"
    );

    // A start with a final record finishes the claim at once (a skipped voicemail).
    let skipped = MessageRecord {
        status: MessageStatus::Skipped,
        error: Some("Unknown extension: 9".to_owned()),
        ..sending("m-skip", NOW)
    };
    let start = Start {
        record: &skipped,
        claim: Some(claim("vm#skipped", "s", "ts", NOW + 60)),
        budget: None,
        now: NOW,
        log_keep_secs: KEEP_LOG,
        link: None,
    };
    assert_eq!(store.begin(&start).await.expect("begin"), Begun::Started, "{name}");
    let held = take(store, "vm#skipped", "s", "tx", NOW + 500, NOW + 560).await;
    assert_eq!(held, Begun::Held(Held::Done { fingerprint: "s".to_owned(), result: "skipped".to_owned() }), "{name}");
}

#[tokio::test]
async fn claim_semantics() {
    for u in stores().await {
        claims_follow_their_lifecycle(u.name, &*u.store).await;
    }
}

async fn one_of_concurrent_claims_wins(name: &str, store: Arc<dyn Store>) {
    for round in 0..3 {
        let id = format!("vm#concurrent-{round}");
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let (store, id) = (store.clone(), id.clone());
                tokio::spawn(
                    async move { take(&*store, &id, &format!("fp-{i}"), &format!("t{i}"), NOW, NOW + 120).await },
                )
            })
            .collect();
        let mut winners = 0;
        for t in tasks {
            match t.await.expect("task") {
                Begun::Started => winners += 1,
                Begun::Held(Held::Pending { lease_until, .. }) => assert_eq!(lease_until, NOW + 120, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(winners, 1, "{name}: round {round}: exactly one claim wins");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_have_one_winner() {
    for u in stores().await {
        one_of_concurrent_claims_wins(u.name, u.store.clone()).await;
    }
}

// ---------------------------------------------------------------- budgets

/// One API message of tenant `t` against `limits` of `budget`.
async fn charge(store: &dyn Store, t: &str, budget: MessageKind, limits: RateLimits, now: i64) -> Begun {
    let rec = MessageRecord { tenant: tenant(t), ..sending(&format!("r-{t}-{now}-{}", rand_id()), now) };
    let start =
        Start { record: &rec, claim: None, budget: Some((budget, limits)), now, log_keep_secs: KEEP_LOG, link: None };
    store.begin(&start).await.expect("begin")
}

fn rand_id() -> usize {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

async fn budget_windows_refuse_without_counting(name: &str, store: &dyn Store, admin: &dyn Admin) {
    // Budgets are their tenants': counted for stored tenants.
    let tenants = ["59", "60", "61", "62"].map(|id| Tenant { id: tenant(id), ..tenant59() }).to_vec();
    admin.apply(&Snapshot { tenants, ..Snapshot::default() }, &[]).await.expect("apply");
    let api = MessageKind::Api;
    let limited = |w| Begun::Limited(w);
    let small = RateLimits { per_minute: 2, per_day: 3 };
    assert_eq!(charge(store, "59", api, small, NOW).await, Begun::Started, "{name}");
    assert_eq!(charge(store, "59", api, small, NOW + 10).await, Begun::Started, "{name}");
    assert_eq!(charge(store, "59", api, small, NOW + 59).await, limited(Window::Minute), "{name}: minute full");
    assert_eq!(charge(store, "59", api, small, NOW + 59).await, limited(Window::Minute), "{name}");
    // The next minute: room again (the refusals counted nothing).
    assert_eq!(charge(store, "59", api, small, NOW + 60).await, Begun::Started, "{name}: the minute rolled over");
    assert_eq!(charge(store, "59", api, small, NOW + 61).await, limited(Window::Day), "{name}: day full at 3");
    let wider = RateLimits { per_minute: 2, per_day: 4 };
    assert_eq!(charge(store, "59", api, wider, NOW + 62).await, Begun::Started, "{name}");
    assert_eq!(charge(store, "59", api, wider, NOW + 63).await, limited(Window::Minute), "{name}");
    // Both full: the minute answers.
    assert_eq!(charge(store, "59", api, small, NOW + 64).await, limited(Window::Minute), "{name}");
    // The voicemails' budget is their own, as is another tenant's.
    assert_eq!(
        charge(store, "59", MessageKind::Voicemail, small, NOW + 64).await,
        Begun::Started,
        "{name}: voicemails not starved"
    );
    assert_eq!(charge(store, "60", api, small, NOW + 65).await, Begun::Started, "{name}");
    assert_eq!(charge(store, "59", api, small, NOW + 86_400).await, Begun::Started, "{name}: the day rolled over");
    // A zero limit refuses at once.
    assert_eq!(
        charge(store, "61", api, RateLimits { per_minute: 0, per_day: 10 }, NOW).await,
        limited(Window::Minute),
        "{name}"
    );
    assert_eq!(
        charge(store, "61", api, RateLimits { per_minute: 10, per_day: 0 }, NOW).await,
        limited(Window::Day),
        "{name}"
    );

    // A refused start wrote nothing: no claim, no log entry; a start refused
    // by its claim counted nothing.
    let one = RateLimits { per_minute: 1, per_day: 10 };
    let rec = sending("m-limited", NOW);
    let limited_start = Start {
        record: &rec,
        claim: Some(claim("vm#limited", "f", "t", NOW + 60)),
        budget: Some((api, one)),
        now: NOW,
        log_keep_secs: KEEP_LOG,
        link: None,
    };
    assert_eq!(charge(store, "62", api, one, NOW).await, Begun::Started, "{name}");
    let rec62 = MessageRecord { tenant: tenant("62"), ..rec.clone() };
    let limited_start = Start { record: &rec62, ..limited_start };
    assert_eq!(store.begin(&limited_start).await.expect("begin"), limited(Window::Minute), "{name}");
    assert_eq!(
        take(store, "vm#limited", "g", "u", NOW, NOW + 60).await,
        Begun::Started,
        "{name}: the refused start took no claim"
    );
    let held_start = Start {
        record: &rec62,
        claim: Some(claim("vm#limited", "f", "t", NOW + 60)),
        budget: Some((api, RateLimits { per_minute: 2, per_day: 10 })),
        now: NOW,
        log_keep_secs: KEEP_LOG,
        link: None,
    };
    assert!(matches!(store.begin(&held_start).await.expect("begin"), Begun::Held(_)), "{name}");
    assert_eq!(
        charge(store, "62", api, RateLimits { per_minute: 2, per_day: 10 }, NOW).await,
        Begun::Started,
        "{name}: the held start counted nothing"
    );
}

#[tokio::test]
async fn budget_windows() {
    for u in stores().await {
        budget_windows_refuse_without_counting(u.name, &*u.store, &*u.admin).await;
    }
}

// ---------------------------------------------------------------- log

/// Writes a log entry as it ends (no claim, no budget).
use integration_tests::log_entry as log;

async fn the_log_is_newest_first_per_tenant(name: &str, store: &dyn Store, admin: &dyn Admin) {
    let records = [
        record("59", NOW, "a"),
        record("59", NOW + 5, "b"),
        record("60", NOW + 3, "c"),
        record("59", NOW + 5, "d"),
        record("59", NOW + 2, "ef"),
        record("600", NOW + 9, "g"),
    ];
    for r in &records {
        log(store, r).await;
    }
    let ids = |v: Vec<MessageRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let t59 = tenant("59");
    assert_eq!(
        ids(admin.messages(Some(&t59), 10).await.expect("messages")),
        ["d", "b", "ef", "a"],
        "{name}: newest first, ties by id"
    );
    assert_eq!(ids(admin.messages(Some(&t59), 2).await.expect("messages")), ["d", "b"], "{name}: limited");
    assert_eq!(
        ids(admin.messages(Some(&tenant("60")), 10).await.expect("messages")),
        ["c"],
        "{name}: tenant 60 is not 600"
    );
    assert!(admin.messages(Some(&tenant("61")), 10).await.expect("messages").is_empty(), "{name}");
    assert_eq!(ids(admin.messages(None, 4).await.expect("messages")), ["g", "d", "b", "c"], "{name}: every tenant");
    assert!(admin.messages(None, 0).await.expect("messages").is_empty(), "{name}");
    // Records come back whole, failures with their cause.
    let all: BTreeMap<String, MessageRecord> =
        admin.messages(None, 100).await.expect("messages").into_iter().map(|r| (r.id.clone(), r)).collect();
    assert_eq!(all.len(), records.len(), "{name}");
    for r in &records {
        assert_eq!(all.get(&r.id), Some(r), "{name}");
    }
}

#[tokio::test]
async fn the_message_log_newest_first() {
    for u in stores().await {
        the_log_is_newest_first_per_tenant(u.name, &*u.store, &*u.admin).await;
    }
}

/// One entry per message: a retried voicemail moves through its statuses
/// in place, its attempts counted.
async fn an_entry_moves_through_its_statuses(name: &str, store: &dyn Store, admin: &dyn Admin) {
    let id = "vm-0123456789abcdef0123456789abcdef";
    let t70 = tenant("70");
    let entry = |status, at| MessageRecord { tenant: t70.clone(), status, ..sending(id, at) };
    let first = entry(MessageStatus::Sending, NOW);
    let c = claim("vm#moves", "f", "t1", NOW + 60);
    let start = Start { record: &first, claim: Some(c), budget: None, now: NOW, log_keep_secs: KEEP_LOG, link: None };
    assert_eq!(store.begin(&start).await.expect("begin"), Begun::Started);
    let failed =
        MessageRecord { error: Some("SNS Publish: timeout".to_owned()), ..entry(MessageStatus::Failed, NOW + 1) };
    let release = Closing { id: "vm#moves", token: "t1", result: None, keep_secs: 1000 };
    let end = End {
        record: &failed,
        claim: Some(release),
        now: NOW + 1,
        log_keep_secs: KEEP_LOG,
        token: "e1",
        wait: None,
        members: &[],
        attempts: 0,
    };
    assert_eq!(store.finish(&end).await.expect("finish"), Finished::Done);
    let log = admin.messages(Some(&t70), 10).await.expect("messages");
    assert_eq!((log.len(), log[0].status, log[0].attempts), (1, MessageStatus::Failed, 1), "{name}");

    let retry = entry(MessageStatus::Sending, NOW + 120);
    let c = claim("vm#moves", "f", "t2", NOW + 180);
    let start =
        Start { record: &retry, claim: Some(c), budget: None, now: NOW + 120, log_keep_secs: KEEP_LOG, link: None };
    assert_eq!(store.begin(&start).await.expect("begin"), Begun::Started, "{name}: released, so the retry takes it");
    let sent = MessageRecord { provider_id: Some("p-1".to_owned()), ..entry(MessageStatus::Sent, NOW + 121) };
    let finish = Closing { id: "vm#moves", token: "t2", result: Some("p-1"), keep_secs: 1000 };
    let end = End {
        record: &sent,
        claim: Some(finish),
        now: NOW + 121,
        log_keep_secs: KEEP_LOG,
        token: "e2",
        wait: None,
        members: &[],
        attempts: 0,
    };
    assert_eq!(store.finish(&end).await.expect("finish"), Finished::Done);
    assert_eq!(store.finish(&end).await.expect("finish"), Finished::AlreadyDone, "{name}: its try again");
    let log = admin.messages(Some(&t70), 10).await.expect("messages");
    assert_eq!(log, vec![MessageRecord { attempts: 2, ..sent }], "{name}: one entry, two attempts");
}

#[tokio::test]
async fn message_entries_move_in_place() {
    for u in stores().await {
        an_entry_moves_through_its_statuses(u.name, &*u.store, &*u.admin).await;
    }
}

// ---------------------------------------------------------------- console

/// UUIDv7-shaped ids: in the order of `n`, as time orders real ones.
fn audit_id(n: u32) -> String {
    format!("019a{n:04x}-7b2c-7000-8000-{n:012x}")
}

fn entry(n: u32, t: Option<&str>) -> AuditEntry {
    AuditEntry {
        id: audit_id(n),
        at: NOW + i64::from(n),
        who: "ops-console".to_owned(),
        tenant: t.map(tenant),
        what: format!("change {n}"),
        before: None,
        after: Some(format!(r#"{{"n":{n}}}"#)),
    }
}

/// A change and its audit entries land together: both, again the same
/// (idempotent), or, refused, neither. DynamoDB refuses a tenant item past
/// 400 KB (the whole transaction with it); SQLite takes it.
async fn a_change_lands_with_its_audit_entries(name: &str, admin: &dyn Admin) -> bool {
    let change = Change {
        snapshot: Snapshot { tenants: vec![tenant59()], ..Snapshot::default() },
        delete_keys: vec![],
        audit: vec![entry(1, Some("59")), entry(2, None)],
    };
    admin.record(&change).await.expect("record");
    admin.record(&change).await.expect("record again");
    assert_eq!(admin.export().await.expect("export").tenants, vec![tenant59()], "{name}");
    assert_eq!(admin.audit(Some(&tenant("59")), 10).await.expect("audit"), vec![entry(1, Some("59"))], "{name}");
    assert_eq!(admin.audit(None, 10).await.expect("audit"), vec![entry(2, None), entry(1, Some("59"))], "{name}");

    let huge = Tenant { id: tenant("60"), allowed_countries: vec![country("CA"); 90_000], ..tenant59() };
    let refused = Change {
        snapshot: Snapshot { tenants: vec![huge], ..Snapshot::default() },
        delete_keys: vec![],
        audit: vec![entry(3, Some("60"))],
    };
    let accepted = admin.record(&refused).await.is_ok();
    let (tenants, log) = (admin.export().await.expect("export").tenants, admin.audit(None, 10).await.expect("audit"));
    assert_eq!(tenants.len() == 2, accepted, "{name}: the change written: {accepted}");
    assert_eq!(log.first() == Some(&entry(3, Some("60"))), accepted, "{name}: its entry written: {accepted}");
    assert_eq!(log.len(), if accepted { 3 } else { 2 }, "{name}");
    accepted
}

#[tokio::test]
async fn record_writes_a_change_with_its_audit_entries() {
    for u in stores().await {
        let accepted = a_change_lands_with_its_audit_entries(u.name, &*u.admin).await;
        assert_eq!(accepted, u.name == "sqlite", "{}", u.name);
    }
}

async fn the_audit_log_is_newest_first(name: &str, admin: &dyn Admin) {
    for (n, t) in [(3, Some("59")), (1, Some("59")), (5, None), (2, Some("60")), (6, Some("59")), (4, Some("590"))] {
        admin.record(&Change { audit: vec![entry(n, t)], ..Change::default() }).await.expect("record");
    }
    let ids = |v: Vec<AuditEntry>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let expect = |ns: &[u32]| ns.iter().map(|n| audit_id(*n)).collect::<Vec<_>>();
    let audit = |t: Option<&'static str>, limit| async move {
        ids(admin.audit(t.map(tenant).as_ref(), limit).await.expect("audit"))
    };
    assert_eq!(audit(Some("59"), 10).await, expect(&[6, 3, 1]), "{name}: newest first");
    assert_eq!(audit(Some("59"), 2).await, expect(&[6, 3]), "{name}: limited");
    assert_eq!(audit(Some("60"), 10).await, expect(&[2]), "{name}");
    assert_eq!(audit(Some("5"), 10).await, expect(&[]), "{name}: tenant 5 is not 59 nor 590");
    assert_eq!(audit(None, 10).await, expect(&[6, 5, 4, 3, 2, 1]), "{name}: every tenant's, and none's");
    assert_eq!(audit(None, 3).await, expect(&[6, 5, 4]), "{name}");
    assert_eq!(audit(None, 0).await, expect(&[]), "{name}");
    assert_eq!(admin.audit(Some(&tenant("60")), 1).await.expect("audit"), vec![entry(2, Some("60"))], "{name}: whole");
}

#[tokio::test]
async fn audit_log_newest_first_per_tenant_and_all() {
    for u in stores().await {
        the_audit_log_is_newest_first(u.name, &*u.admin).await;
    }
}

async fn tenants_come_a_page_at_a_time(name: &str, admin: &dyn Admin) {
    let stored: Vec<Tenant> =
        ["591", "2", "59", "10", "590", "6"].into_iter().map(|id| Tenant { id: tenant(id), ..tenant59() }).collect();
    admin.apply(&Snapshot { tenants: stored.clone(), ..Snapshot::default() }, &[]).await.expect("apply");
    let page = |prefix: &'static str, after: Option<&'static str>, limit| async move {
        let page = admin.tenants(ListQuery { prefix, after, limit }).await.expect("tenants");
        page.into_iter().map(|t| t.id.as_str().to_owned()).collect::<Vec<_>>()
    };
    // Walked in pages of two, in numeric order.
    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let last = after.clone();
        let ids: Vec<String> = admin
            .tenants(ListQuery { prefix: "", after: last.as_deref(), limit: 2 })
            .await
            .expect("tenants")
            .into_iter()
            .map(|t| t.id.as_str().to_owned())
            .collect();
        let Some(next) = ids.last().cloned() else { break };
        assert!(ids.len() <= 2, "{name}");
        walked.extend(ids);
        after = Some(next);
    }
    assert_eq!(walked, ["2", "6", "10", "59", "590", "591"], "{name}");
    assert_eq!(page("59", None, 10).await, ["59", "590", "591"], "{name}: by prefix");
    assert_eq!(page("59", Some("59"), 1).await, ["590"], "{name}: after is exclusive");
    assert_eq!(page("59", Some("590"), 10).await, ["591"], "{name}");
    assert_eq!(page("5", None, 10).await, ["59", "590", "591"], "{name}");
    assert_eq!(page("", Some("10"), 10).await, ["59", "590", "591"], "{name}: after in numeric order");
    assert_eq!(page("1", None, 10).await, ["10"], "{name}");
    assert!(page("7", None, 10).await.is_empty() && page("", None, 0).await.is_empty(), "{name}");
    let whole = admin.tenants(ListQuery { prefix: "6", after: None, limit: 5 }).await.expect("tenants");
    assert_eq!(whole, vec![stored[5].clone()], "{name}: whole tenants");
}

#[tokio::test]
async fn tenants_by_page_prefix_and_after() {
    for u in stores().await {
        tenants_come_a_page_at_a_time(u.name, &*u.admin).await;
    }
}

fn ext(t: &str, x: &str) -> ExtensionRecord {
    ExtensionRecord {
        tenant: tenant(t),
        extension: Extension::parse(x).expect("ext"),
        sms_notifications: x.len().is_multiple_of(2),
        sms_number: None,
        quiet_hours: None,
    }
}

async fn extensions_come_a_page_at_a_time(name: &str, admin: &dyn Admin) {
    let mut numbers: Vec<String> = (100..350).map(|x: u32| x.to_string()).collect();
    numbers.extend(["1", "10", "1000"].map(str::to_owned));
    let mut extensions: Vec<ExtensionRecord> = numbers.iter().map(|x| ext("59", x)).collect();
    // Neighbouring partitions, with a number tenant 59 has too.
    extensions.extend([ext("5", "150"), ext("590", "150")]);
    let tenants = ["5", "59", "590"].map(|id| Tenant { id: tenant(id), ..tenant59() }).to_vec();
    admin.apply(&Snapshot { tenants, extensions, ..Snapshot::default() }, &[]).await.expect("apply");
    numbers.sort();
    let t59 = tenant("59");
    let page = |prefix: &'static str, after: Option<&'static str>, limit| {
        let t59 = t59.clone();
        async move {
            let page = admin.extensions(&t59, ListQuery { prefix, after, limit }).await.expect("extensions");
            assert!(page.iter().all(|x| x.tenant == t59), "{name}: another tenant's extension");
            page.into_iter().map(|x| x.extension.as_str().to_owned()).collect::<Vec<_>>()
        }
    };
    let mut walked: Vec<ExtensionRecord> = Vec::new();
    loop {
        let after = walked.last().map(|x| x.extension.as_str().to_owned());
        let query = ListQuery { prefix: "", after: after.as_deref(), limit: 100 };
        let got = admin.extensions(&t59, query).await.expect("extensions");
        if got.is_empty() {
            break;
        }
        walked.extend(got);
    }
    assert_eq!(walked, numbers.iter().map(|x| ext("59", x)).collect::<Vec<_>>(), "{name}: three pages, by number");
    let range = |from: u32, to: u32| (from..=to).map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(page("2", None, 1000).await, range(200, 299), "{name}");
    assert_eq!(page("2", Some("250"), 10).await, range(251, 260), "{name}: after is exclusive");
    let mut tens = vec!["10".to_owned(), "100".to_owned(), "1000".to_owned()];
    tens.extend(range(101, 109));
    assert_eq!(page("10", None, 100).await, tens, "{name}: as strings");
    assert_eq!(page("10", Some("100"), 3).await, ["1000", "101", "102"], "{name}");
    assert_eq!(page("10", Some("1005"), 100).await, range(101, 109), "{name}: after a number not stored");
    assert_eq!(page("", Some("1"), 2).await, ["10", "100"], "{name}");
    assert_eq!(page("34", None, 100).await, range(340, 349), "{name}");
    assert!(page("9", None, 10).await.is_empty(), "{name}");
    assert!(page("", Some("349"), 10).await.is_empty() && page("3", Some("4"), 10).await.is_empty(), "{name}");
    assert!(page("", None, 0).await.is_empty(), "{name}");

    let x = |x: &str| Extension::parse(x).expect("ext");
    assert_eq!(admin.extension(&t59, &x("1000")).await.expect("extension"), Some(ext("59", "1000")), "{name}");
    assert_eq!(admin.extension(&tenant("5"), &x("150")).await.expect("extension"), Some(ext("5", "150")), "{name}");
    assert_eq!(admin.extension(&t59, &x("9999")).await.expect("extension"), None, "{name}");
    assert_eq!(admin.extension(&tenant("6"), &x("150")).await.expect("extension"), None, "{name}");
}

#[tokio::test]
async fn extensions_by_page_prefix_and_after() {
    for u in stores().await {
        extensions_come_a_page_at_a_time(u.name, &*u.admin).await;
    }
}

async fn the_number_registry_in_order(name: &str, admin: &dyn Admin) {
    let mut s = snapshot();
    s.numbers.insert(0, SmsNumber { number: e164("+442071838750"), tenant: Owner::System, sms_enabled: true });
    s.numbers.push(SmsNumber { number: e164("+14165550002"), tenant: Owner::Tenant(tenant("100")), sms_enabled: true });
    admin.apply(&s, &[]).await.expect("apply");
    let mut expected = s.numbers.clone();
    expected.sort_by(|a, b| a.number.as_str().cmp(b.number.as_str()));
    assert_eq!(admin.numbers().await.expect("numbers"), expected, "{name}");
    assert_eq!(admin.export().await.expect("export").numbers, expected, "{name}: as the export");
}

#[tokio::test]
async fn numbers_are_the_whole_registry() {
    for u in stores().await {
        the_number_registry_in_order(u.name, &*u.admin).await;
    }
}

/// Sessions expire by the wall clock (DynamoDB's TTL reads it).
fn session(token: &str, created_at: i64, expires_at: i64) -> Session {
    let key = KeyHash::of("operator-secret-0123456789");
    Session { hash: KeyHash::of(token), key, created_at, seen_at: created_at, expires_at }
}

async fn sessions_open_touch_and_close(name: &str, admin: &dyn Admin) {
    let wall = shared::adapters::clock::SystemClock.now();
    let open = session("session-token-open-0123456789", wall, wall + 3600);
    admin.open_session(&open).await.expect("open");
    assert_eq!(admin.session(&open.hash).await.expect("session"), Some(open.clone()), "{name}");
    admin.touch_session(&open.hash, wall + 60).await.expect("touch");
    let touched = Session { seen_at: wall + 60, ..open.clone() };
    assert_eq!(admin.session(&open.hash).await.expect("session"), Some(touched), "{name}: seen again");
    assert_eq!(admin.session(&KeyHash::of("never-opened-0123456789")).await.expect("session"), None, "{name}");

    admin.close_session(&open.hash).await.expect("close");
    assert_eq!(admin.session(&open.hash).await.expect("session"), None, "{name}: closed");
    admin.touch_session(&open.hash, wall + 120).await.expect("touching a closed session is fine");
    assert_eq!(admin.session(&open.hash).await.expect("session"), None, "{name}: not brought back");
    admin.close_session(&open.hash).await.expect("closing twice is fine");

    // Past its expiry a store may forget it (DynamoDB's TTL, SQLite's purge,
    // which a finish runs); the service refuses it by its own clock either
    // way (operators.rs).
    let live = session("session-token-live-0123456789", wall, wall + 3600);
    admin.open_session(&live).await.expect("open");
    assert_eq!(admin.session(&live.hash).await.expect("session"), Some(live), "{name}");
}

#[tokio::test]
async fn sessions_open_get_touch_close_expire() {
    for u in stores().await {
        sessions_open_touch_and_close(u.name, &*u.admin).await;
    }
}

async fn failed_sign_ins_count_per_window(name: &str, admin: &dyn Admin) {
    const WINDOW: i64 = 300;
    let (source, other) = ("2001:db8::1", "198.51.100.7");
    let fail = |source: &'static str, at: i64| async move {
        admin.failed_sign_in(source, at, WINDOW).await.expect("failed sign-in")
    };
    let so_far = |source: &'static str, at: i64| async move {
        admin.sign_in_failures(source, at, WINDOW).await.expect("sign-in failures")
    };
    assert_eq!(so_far(source, NOW).await, 0, "{name}");
    assert_eq!([fail(source, NOW).await, fail(source, NOW + 20).await, fail(source, NOW + 299).await], [1, 2, 3]);
    assert_eq!(so_far(source, NOW + 100).await, 3, "{name}");
    assert_eq!(fail(other, NOW + 10).await, 1, "{name}: counted per source");
    assert_eq!(fail(source, NOW + WINDOW).await, 1, "{name}: the next window starts again");
    assert_eq!((so_far(source, NOW + WINDOW + 1).await, so_far(other, NOW + WINDOW).await), (1, 0), "{name}");
}

#[tokio::test]
async fn failed_sign_ins_per_source_and_window() {
    for u in stores().await {
        failed_sign_ins_count_per_window(u.name, &*u.admin).await;
    }
}

async fn messages_counted_per_day_and_status(name: &str, store: &dyn Store, admin: &dyn Admin) {
    const DAY: i64 = 86_400;
    for r in [
        record("59", NOW - 1, "before"),
        record("59", NOW, "a"),
        record("59", NOW + 20, "bf"),
        record("59", NOW + 30, "c"),
        record("59", NOW + DAY + 5, "d"),
        record("590", NOW + 40, "e"),
    ] {
        log(store, &r).await;
    }
    let counts = |since, until| async move {
        let mut counts = admin.daily_counts(&tenant("59"), since, until).await.expect("daily counts");
        counts.sort_by_key(|c| (c.day, c.status.as_str()));
        counts
    };
    let day = |day, status, count| DayCount { day, status, count };
    let (sent, failed) = (MessageStatus::Sent, MessageStatus::Failed);
    assert_eq!(
        counts(NOW, NOW + 2 * DAY).await,
        [day(NOW, failed, 1), day(NOW, sent, 2), day(NOW + DAY, sent, 1)],
        "{name}"
    );
    // Whole days: every day the range touches.
    assert_eq!(counts(NOW + 1, NOW + 20).await, [day(NOW, failed, 1), day(NOW, sent, 2)], "{name}: whole days");
    assert_eq!(counts(NOW - DAY, NOW - 1).await, [day(NOW - DAY, sent, 1)], "{name}");
    assert!(counts(NOW + 2 * DAY, NOW + 3 * DAY).await.is_empty(), "{name}");
}

#[tokio::test]
async fn daily_counts_per_day_and_status() {
    for u in stores().await {
        messages_counted_per_day_and_status(u.name, &*u.store, &*u.admin).await;
    }
}
