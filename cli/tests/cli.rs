//! `smsctl` end to end: the binary against a SQLite file in a temporary
//! folder, and `serve` spoken to over plain HTTP/1.1.

// A scenario reads best whole, however long: functions of test code may
// run past clippy.toml's 50 lines.
#![allow(clippy::too_many_lines)]

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use common::{DEMO_KEY, Env};

const GUIDE_TEXT: &str = "You have received a new voicemail.";

/// The contract's example, plus a key whose secret is left to `apply`.
const CONFIG: &str = r#"{
  "numbers":    [{"number": "+14165550000", "tenant": "59", "sms_enabled": true}],
  "tenants":    [{"id": "59", "active": true, "sender_number": "+14165550000",
                  "api_enabled": true, "voicemail_notifications": true,
                  "voicemail_template": "New voicemail on {extension} from {caller_id}"}],
  "extensions": [{"tenant": "59", "extension": "1001",
                  "sms_notifications": true, "sms_number": "+14165551234"}],
  "api_keys":   [{"name": "pbx-integration", "secret": "test-key-59-abcdef",
                  "tenants": ["59"], "permissions": ["sms"], "enabled": true},
                 {"name": "generated", "tenants": ["*"], "permissions": ["sms"]}]
}"#;

/// The secret in `API key "<name>": <secret> (shown once; store it now)`.
fn secret_of(stdout: &str, name: &str) -> String {
    let prefix = format!("API key \"{name}\": ");
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with(&prefix)).collect();
    assert_eq!(lines.len(), 1, "the secret of {name} once in:\n{stdout}");
    let secret = lines[0][prefix.len()..].split(' ').next().unwrap().to_owned();
    assert!(lines[0].ends_with("(shown once; store it now)"));
    secret
}

#[test]
fn apply_writes_once_and_export_never_shows_a_secret() {
    let env = Env::new("apply");
    let first = env.apply(CONFIG);
    assert!(first.starts_with("applied: 1 number(s), 1 tenant(s), 1 extension(s), 2 API key(s)"), "{first}");
    let generated = secret_of(&first, "generated");
    assert!(!first.contains("test-key-59-abcdef"), "a given secret is not echoed:\n{first}");

    let exported = env.ok(&["export"]);
    let config: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(config["tenants"][0]["id"], "59");
    assert_eq!(config["api_keys"].as_array().unwrap().len(), 2);
    for secret in ["test-key-59-abcdef", generated.as_str(), "\"secret\""] {
        assert!(!exported.contains(secret), "export shows {secret}:\n{exported}");
    }

    // Idempotent: the same file again changes nothing and generates nothing.
    let second = env.apply(CONFIG);
    assert!(!second.contains("API key \""), "no secret the second time:\n{second}");
    assert_eq!(env.ok(&["export"]), exported);

    // The export is itself a configuration that applies to the same state.
    env.apply(&exported);
    assert_eq!(env.ok(&["export"]), exported);
}

#[test]
fn apply_and_keys_record_their_changes_in_the_audit_log_without_secrets() {
    let env = Env::new("audit");
    let generated = secret_of(&env.apply(CONFIG), "generated");
    let first = env.json(&["audit", "--json"]);
    let entries = first.as_array().unwrap();
    // Each item once: a number, a tenant, an extension, two keys.
    assert_eq!(entries.len(), 5, "{first:#}");
    assert!(entries.iter().all(|e| e["who"] == "smsctl apply" && e["before"].is_null()), "{first:#}");
    let tenant = entries.iter().find(|e| e["what"] == "tenant settings").unwrap();
    assert_eq!(tenant["tenant"], "59");
    assert!(tenant["after"].as_str().unwrap().contains("\"sender_number\":\"+14165550000\""));
    // The same file again changes nothing, so says nothing.
    env.apply(CONFIG);
    assert_eq!(env.json(&["audit", "--json"]).as_array().unwrap().len(), 5);
    env.ok(&["keys", "disable", "pbx-integration"]);
    env.ok(&["keys", "rotate", "generated"]);
    let log = env.json(&["audit", "--json"]);
    let (disabled, rotated) = (&log[1], &log[0]);
    assert_eq!(
        (disabled["who"].as_str(), disabled["what"].as_str()),
        (Some("smsctl keys"), Some("API key pbx-integration"))
    );
    assert!(disabled["before"].as_str().unwrap().contains("\"enabled\":true"), "{disabled:#}");
    assert!(disabled["after"].as_str().unwrap().contains("\"enabled\":false"), "{disabled:#}");
    assert_eq!(rotated["what"], "API key generated: a new secret");
    let text = env.ok(&["audit", "--tenant", "59"]);
    assert!(text.contains("pbx-integration") && !text.contains("generated"), "{text}");
    let everything = log.to_string();
    for secret in
        ["test-key-59-abcdef", generated.as_str(), &shared::domain::KeyHash::of("test-key-59-abcdef").as_str()[..16]]
    {
        assert!(!everything.contains(secret), "the audit log shows {secret}");
    }
}

#[test]
fn a_malformed_file_is_refused_with_its_path_and_writes_nothing() {
    let env = Env::new("malformed");
    env.apply(CONFIG);
    let before = env.ok(&["export"]);

    // The tenant switched off (well-formed), and a malformed number further down.
    let bad = CONFIG
        .replace("\"active\": true", "\"active\": false")
        .replace("\"sms_number\": \"+14165551234\"", "\"sms_number\": \"4165551234\"");
    let path = env.file("bad.json", &bad);
    let out = env.run(&["apply", &path]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: {path}: $.extensions[0].sms_number: expected a phone number in +E.164 format"
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert_eq!(env.ok(&["export"]), before, "nothing was written");

    let unknown =
        env.file("unknown.json", &CONFIG.replace("\"sms_enabled\": true", "\"sms_enabled\": true, \"colour\": 1"));
    let out = env.run(&["apply", &unknown]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("$.numbers[0].colour: unknown field"));

    // Into an empty store: still nothing.
    let empty = Env::new("malformed-empty");
    assert_eq!(empty.run(&["apply", &path]).status.code(), Some(1));
    let config = empty.json(&["export"]);
    for list in ["numbers", "tenants", "extensions", "api_keys"] {
        assert_eq!(config[list], serde_json::json!([]), "{list}");
    }
}

#[test]
fn keys_are_listed_without_secrets_and_refused_once_disabled_or_rotated() {
    let env = Env::new("keys");
    env.apply(CONFIG);
    let created = env.ok(&["keys", "create", "--name", "ops", "--tenants", "59,60"]);
    let secret = secret_of(&created, "ops");
    let again = env.run(&["keys", "create", "--name", "ops", "--tenants", "59"]);
    assert_eq!(again.status.code(), Some(1), "a name is taken once");

    let table = env.ok(&["keys", "list"]);
    let listed = env.json(&["keys", "list", "--json"]);
    for output in [&table, &listed.to_string()] {
        assert!(!output.contains(&secret) && !output.contains("test-key-59-abcdef"), "{output}");
    }
    let ops = listed.as_array().unwrap().iter().find(|k| k["name"] == "ops").unwrap();
    assert_eq!(ops["tenants"], serde_json::json!(["59", "60"]));
    assert_eq!(ops["permissions"], serde_json::json!(["sms"]));
    assert_eq!(ops["enabled"], true);
    let prefix = ops["hash_prefix"].as_str().unwrap();
    assert_eq!(prefix.len(), 8);
    assert!(table.lines().any(|l| l.starts_with("ops ") && l.contains(prefix) && l.contains("59,60")), "{table}");

    let server = env.serve(&[]);
    let (status, body) = server.guide_example(&secret);
    assert_eq!((status, &body["success"]), (200, &Value::from("SMS message sent")), "{body}");

    env.ok(&["keys", "disable", "ops"]);
    assert_eq!(server.guide_example(&secret).1["error"], "Invalid API key.");
    let (status, body) =
        server.post("/api/sms/send", &secret, r#"{"to": "+14165551234", "message": "hi", "server": "59"}"#);
    assert_eq!((status, &body["error"]), (401, &Value::from("Invalid API key.")));
    env.ok(&["keys", "enable", "ops"]);
    assert_eq!(server.guide_example(&secret).0, 200);
    assert!(server.guide_example(&secret).1["success"].is_string());

    let rotated = secret_of(&env.ok(&["keys", "rotate", "ops"]), "ops");
    assert_ne!(rotated, secret);
    assert_eq!(server.guide_example(&secret).1["error"], "Invalid API key.");
    assert!(server.guide_example(&rotated).1["success"].is_string());
    let listed = env.json(&["keys", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().iter().filter(|k| k["name"] == "ops").count(), 1);

    env.ok(&["keys", "delete", "ops"]);
    assert_eq!(server.guide_example(&rotated).1["error"], "Invalid API key.");
    assert_eq!(env.run(&["keys", "delete", "ops"]).status.code(), Some(1));
}

#[test]
fn serve_demo_answers_the_guides_examples_and_keeps_what_it_sent() {
    let env = Env::new("demo");
    let server = env.serve(&["--demo"]);

    let (status, body) = server.guide_example(DEMO_KEY);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], "SMS message sent");
    let echoed = server.wait_for(|l| l.starts_with("[outbox]"));
    assert!(echoed.ends_with(GUIDE_TEXT) && echoed.contains("+14165550000 -> +14165551234"), "{echoed}");

    let outbox = env.json(&["outbox", "--json"]);
    assert_eq!(outbox[0]["text"], GUIDE_TEXT);
    assert_eq!(outbox[0]["to"], "+14165551234");
    assert_eq!(outbox[0]["id"], body["id"]);
    assert!(env.ok(&["outbox"]).lines().nth(1).unwrap().ends_with(GUIDE_TEXT));
    let messages = env.json(&["messages", "--tenant", "59", "--json"]);
    assert_eq!((&messages[0]["status"], &messages[0]["kind"]), (&Value::from("sent"), &Value::from("api")));
    assert!(env.ok(&["messages"]).lines().nth(1).unwrap().contains("sent"));
    assert_eq!(env.json(&["messages", "--tenant", "60", "--json"]), serde_json::json!([]));

    // The guide's REST examples.
    let (status, body) =
        server.post("/api/sms/send", DEMO_KEY, r#"{ "to": "+14165551234", "message": "Test SMS notification" }"#);
    assert_eq!((status, &body["encoding"]), (200, &Value::from("GSM-7")), "{body}");
    let (status, body) = server.post(
        "/api/sms/notifications/voicemail",
        DEMO_KEY,
        r#"{ "extension": "1001", "message": "New voicemail received" }"#,
    );
    assert_eq!((status, &body["to"]), (200, &Value::from("+14165551234")), "{body}");
    let texts: Vec<Value> =
        env.json(&["outbox", "--json", "--limit", "2"]).as_array().unwrap().iter().map(|e| e["text"].clone()).collect();
    assert_eq!(texts, ["New voicemail received", "Test SMS notification"]);

    // Opted out at the (local) provider: refused, and logged as such.
    env.ok(&["outbox", "opt-out", "+14165551234"]);
    assert_eq!(server.guide_example(DEMO_KEY).1["error"], "Destination has opted out of SMS");
    assert_eq!(env.json(&["messages", "--json", "--limit", "1"])[0]["status"], "opted_out");
    env.ok(&["outbox", "opt-in", "+14165551234"]);
    assert!(server.guide_example(DEMO_KEY).1["success"].is_string());

    // A route with another method is 405, what is no route 404.
    let (status, body) = server.get("/api/sms/send");
    assert_eq!((status, &body["error"]), (405, &Value::from("Method not allowed")));
    let (status, body) = server.get("/api/sms/nope");
    assert_eq!((status, &body["error"]), (404, &Value::from("Not found")));
}

#[test]
fn serve_refuses_oversize_bodies_with_413() {
    let env = Env::new("oversize");
    let server = env.serve(&["--demo"]);
    let limit = 16 * 1024;
    let expected = format!("Request body is too large: the limit is {limit} bytes");

    // Declared too long: answered before the body is sent at all.
    let (status, body) = server.raw(
        format!(
            "POST /api/sms/send HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nX-API-Key: {DEMO_KEY}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            server.addr,
            limit + 1
        )
        .as_bytes(),
    );
    assert_eq!(status, 413);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], expected.as_str());

    // Not declared (chunked): read up to the limit, no further.
    let chunk = "a".repeat(limit + 100);
    let (status, body) = server.raw(
        format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\r\n{:x}\r\n{chunk}\r\n",
            server.addr,
            chunk.len()
        )
        .as_bytes(),
    );
    assert_eq!(status, 413);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], expected.as_str());
    assert_eq!(env.json(&["outbox", "--json"]), serde_json::json!([]));
}

#[test]
fn a_voicemail_dropped_in_the_watch_folder_sends_one_sms() {
    let env = Env::new("watch");
    let drop_dir = env.dir.join("bucket");
    std::fs::create_dir_all(drop_dir.join("voicemail/59/1001")).unwrap();
    let old = drop_dir.join("voicemail/59/1001/old.wav");
    std::fs::write(&old, b"there before").unwrap();
    let server = env.serve(&["--demo", "--watch", drop_dir.to_str().unwrap()]);

    // A name S3 would URL-encode, and a file that is not audio.
    std::fs::write(drop_dir.join("voicemail/59/1001/greeting.txt"), b"text").unwrap();
    std::fs::write(drop_dir.join("voicemail/59/1001/msg 0001+a.wav"), b"RIFF....WAVE").unwrap();
    // A name that would forge a line and retitle the terminal, printed escaped.
    std::fs::write(drop_dir.join("voicemail/59/1001/evil\u{1b}]0;x\u{7}\n[outbox] forged.txt"), b"x").unwrap();
    let mut reported = Vec::new();
    while reported.len() < 3 {
        reported.push(server.wait_for(|l| l.starts_with("[watch] ")));
    }
    reported.sort();
    assert_eq!(
        reported,
        [
            r#"[watch] voicemail/59/1001/evil\u{1b}]0;x\u{7}\n[outbox] forged.txt: {"sent":0,"skipped":1,"duplicates":0}"#,
            r#"[watch] voicemail/59/1001/greeting.txt: {"sent":0,"skipped":1,"duplicates":0}"#,
            r#"[watch] voicemail/59/1001/msg 0001+a.wav: {"sent":1,"skipped":0,"duplicates":0}"#,
        ]
    );
    let outbox = env.json(&["outbox", "--json"]);
    assert_eq!(outbox.as_array().unwrap().len(), 1, "one SMS, for the .wav only: {outbox}");
    assert_eq!((&outbox[0]["kind"], &outbox[0]["to"]), (&Value::from("voicemail"), &Value::from("+14165551234")));

    // Nothing more comes of the files already handled, or of the one that
    // was there before the server started.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(env.json(&["outbox", "--json"]).as_array().unwrap().len(), 1);
    assert!(old.exists());

    // A template with the recording's link: the link serves the file.
    env.apply(&CONFIG.replace("from {caller_id}", "from {caller_id}: {recording_url}"));
    std::fs::write(drop_dir.join("voicemail/59/1001/msg0002.wav"), b"RIFF-second").unwrap();
    server.wait_for(|l| l.starts_with("[watch] voicemail/59/1001/msg0002.wav"));
    let text = env.json(&["outbox", "--json"])[0]["text"].as_str().unwrap().to_owned();
    let url = text.rsplit(' ').next().unwrap().to_owned();
    let path = url.split_once("/r/").map(|(_, t)| format!("/r/{t}")).unwrap_or_else(|| panic!("{text}"));
    assert!(url.starts_with(&format!("http://{}/r/", server.addr)), "{text}");
    let (status, body) =
        server.raw(format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.addr).as_bytes());
    assert_eq!((status, body.as_str()), (200, "RIFF-second"));
}

fn s3_event(key: &str, sequencer: &str) -> String {
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"}, "requestParameters": {"sourceIPAddress": "203.0.113.20"},
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": "pbx-voicemail"},
               "object": {"key": key, "size": 1024, "sequencer": sequencer}}
    }]})
    .to_string()
}

#[test]
fn trigger_feeds_event_files_through_the_function() {
    let env = Env::new("trigger");
    env.apply(CONFIG);
    let s3 = env.file("s3.json", &s3_event("voicemail/59/1001/msg0001.wav", "0A1"));
    assert_eq!(env.ok(&["trigger", &s3]).trim(), r#"{"sent":1,"skipped":0,"duplicates":0}"#);
    // Delivered again: not sent again.
    assert_eq!(env.ok(&["trigger", &s3]).trim(), r#"{"sent":0,"skipped":0,"duplicates":1}"#);

    let sqs = env.file(
        "sqs.json",
        &serde_json::json!({"Records": [{
            "messageId": "m-1", "eventSource": "aws:sqs",
            "body": s3_event("voicemail/59/1001/msg0002.wav", "0B2"),
        }]})
        .to_string(),
    );
    let bridge = env.file(
        "eventbridge.json",
        &serde_json::json!({
            "id": "evt-1", "detail-type": "New Voicemail", "source": "pbx", "time": "2026-01-01T00:00:00Z",
            "detail": {"tenant": "59", "extension": "1001", "caller_id": "+14165559999"},
        })
        .to_string(),
    );
    let out = env.ok(&["trigger", &sqs, &bridge]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, [r#"{"batchItemFailures":[]}"#, r#"{"sent":1,"skipped":0,"duplicates":0}"#]);
    let texts: Vec<Value> =
        env.json(&["outbox", "--json"]).as_array().unwrap().iter().map(|e| e["text"].clone()).collect();
    assert_eq!(texts[0], "New voicemail on 1001 from +14165559999");
    assert_eq!(texts.len(), 3);

    // A voicemail that does not qualify is in the message log, with why.
    let skipped = env.file("skipped.json", &s3_event("voicemail/59/1009/msg0003.wav", "0C3"));
    assert_eq!(env.ok(&["trigger", &skipped]).trim(), r#"{"sent":0,"skipped":1,"duplicates":0}"#);
    let log = env.ok(&["messages", "--tenant", "59"]);
    let first = log.lines().nth(1).unwrap_or_default();
    assert!(first.contains("skipped") && first.ends_with("Unknown extension: 1009"), "{log}");

    let broken = env.file("broken.json", "{ not json");
    let out = env.run(&["trigger", &broken]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with(&format!("error: {broken}: not JSON")));
}

#[test]
fn the_outbox_writes_receipts_that_reach_the_message_log() {
    let env = Env::new("receipts");
    env.apply(CONFIG);
    let s3 = env.file("s3.json", &s3_event("voicemail/59/1001/msg0001.wav", "0A1"));
    env.ok(&["trigger", &s3]);
    assert_eq!(env.json(&["messages", "--json"])[0]["status"], "sent");
    // The receipt goes through the delivery-status function, as SNS's would.
    assert_eq!(env.ok(&["receipts"]).trim(), r#"{"applied":1,"unknown":0,"repeated":0,"malformed":0}"#);
    let m = env.json(&["messages", "--json"]);
    assert_eq!(
        (&m[0]["status"], &m[0]["receipt"]["response"]),
        (&json!("delivered"), &json!("Message has been accepted by phone carrier"))
    );
    assert_eq!(env.ok(&["receipts"]).trim(), "", "handed out once");

    // A destination that opted out, sent to anyway (no opt-out check): its
    // receipt says it failed.
    env.ok(&["outbox", "opt-out", "+14165551234"]);
    let again = env.file("s3b.json", &s3_event("voicemail/59/1001/msg0002.wav", "0B2"));
    let out = env.command().env("SMS_CHECK_OPT_OUT", "false").args(["trigger", &again]).output().unwrap();
    assert!(out.status.success());
    env.ok(&["receipts"]);
    let m = env.json(&["messages", "--json"]);
    assert_eq!((&m[0]["status"], &m[0]["error"]), (&json!("failed"), &json!("Phone number is opted out")));
    let table = env.ok(&["messages"]);
    assert!(table.lines().next().unwrap_or_default().contains("RECEIPT"), "{table}");
}

#[test]
fn usage_errors_are_one_line_and_exit_2() {
    let env = Env::new("usage");
    let config = env.file("config.json", CONFIG);
    for args in [
        &["keys", "create", "--name", "x", "--tenants", "5a"][..],
        &["keys", "create", "--name", "x", "--tenants", "59", "--permissions", "fax"],
        &["messages", "--tenant", "../59"],
        &["outbox", "opt-out", "4165551234"],
        &["serve", "--addr", "0.0.0.0:3000"],
        &["apply", "--create-table", &config],
        &["outbox", "--table", "sms-table"],
    ] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "), "{args:?}");
    }
    let missing = env.run(&["apply", "no-such-file.json"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&missing.stderr).lines().count(), 1);
}

/// Built without the `aws` feature (the default), `--table` says how to get it.
#[cfg(not(feature = "aws"))]
#[test]
fn dynamodb_needs_the_aws_feature() {
    let env = Env::new("no-aws");
    let out = env.run(&["--table", "sms", "export"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cargo build -p smsctl --features aws"), "{stderr}");
}

/// The same commands against DynamoDB on moto (`scripts/with-moto.sh` sets
/// MOTO_ENDPOINT; under CI=true it must be there), with the `aws` feature
/// (the test command builds with every feature).
#[cfg(feature = "aws")]
#[test]
fn apply_export_and_keys_work_against_dynamodb() {
    let Some(endpoint) = std::env::var("MOTO_ENDPOINT").ok().filter(|e| !e.is_empty()) else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "MOTO_ENDPOINT is required under CI=true");
        eprintln!("MOTO_ENDPOINT is not set: skipping smsctl against DynamoDB");
        return;
    };
    let env = Env::new("dynamodb");
    let table = format!("smsctl-test-{}", env.dir.file_name().unwrap().to_string_lossy());
    let file = env.dir.join("config.json");
    std::fs::write(&file, CONFIG).unwrap();
    let dynamo = |args: &[&str]| {
        let out = env
            .command()
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .arg("--table")
            .arg(&table)
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "smsctl --table {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        stdout
    };
    let first = dynamo(&["apply", "--create-table", file.to_str().unwrap()]);
    let generated = secret_of(&first, "generated");
    let export = dynamo(&["export"]);
    assert!(!export.contains("test-key-59-abcdef") && !export.contains(&generated));
    // Idempotent: the table exists, the generated key keeps its hash.
    let again = dynamo(&["apply", "--create-table", file.to_str().unwrap()]);
    assert!(!again.contains("shown once"), "{again}");
    assert_eq!(dynamo(&["export"]), export);
    let created = dynamo(&["keys", "create", "--name", "crm", "--tenants", "59"]);
    let secret = secret_of(&created, "crm");
    dynamo(&["keys", "disable", "crm"]);
    let rotated = dynamo(&["keys", "rotate", "crm"]);
    assert_ne!(secret_of(&rotated, "crm"), secret);
    let list = dynamo(&["keys", "list", "--json"]);
    let keys: Value = serde_json::from_str(&list).unwrap();
    let names: Vec<&str> = keys.as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["crm", "generated", "pbx-integration"]);
    assert!(!list.contains(&secret) && !list.contains(&generated));
}

#[test]
fn weak_secrets_are_flagged_naming_the_key_and_refused_when_strict() {
    let env = Env::new("weak");
    let path = env.file("config.json", CONFIG);
    // The contract's example secret applies, with a warning that names its
    // key and never shows the secret.
    let out = env.run(&["apply", &path]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: $.api_keys[0].secret: API key \"pbx-integration\": its secret has about 49 bits of estimated entropy, under 128; leave the secret out to have one generated"),
        "{stderr}"
    );
    assert!(!stderr.contains("test-key-59-abcdef") && !stderr.contains("\"generated\""), "{stderr}");
    // --strict refuses it, and writes nothing.
    let strict = Env::new("weak-strict");
    let path = strict.file("config.json", CONFIG);
    let out = strict.run(&["apply", "--strict", &path]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused (--strict): $.api_keys[0].secret: API key \"pbx-integration\""), "{stderr}");
    assert!(!stderr.contains("test-key-59-abcdef"));
    assert_eq!(strict.json(&["keys", "list", "--json"]), serde_json::json!([]));

    // `keys` takes an operator's secret from standard input only: judged
    // the same way, not echoed.
    let keys = |args: &[&str], stdin: &str| {
        let mut child = env
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let weak = keys(
        &["keys", "create", "--name", "pbx2", "--tenants", "59", "--secret-stdin", "--strict"],
        "password-12345678\n",
    );
    assert_eq!(weak.status.code(), Some(2), "{}", String::from_utf8_lossy(&weak.stderr));
    // A passphrase of dictionary words: long and varied to the eye, weak to
    // an attacker with a word list.
    let phrase = keys(
        &["keys", "create", "--name", "pbx2", "--tenants", "59", "--secret-stdin", "--strict"],
        "CorrectHorseBatteryStaple1!\n",
    );
    let stderr = String::from_utf8_lossy(&phrase.stderr);
    assert_eq!(phrase.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refused (--strict): API key \"pbx2\": its secret has about") && !stderr.contains("Correct"),
        "{stderr}"
    );
    let strong = "Vq8#rT2m!xL9pK4w@zN7cB1f";
    let created = keys(
        &["keys", "create", "--name", "pbx2", "--tenants", "59", "--secret-stdin", "--strict"],
        &format!("{strong}\n"),
    );
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(created.status.success() && created.stderr.is_empty(), "{}", String::from_utf8_lossy(&created.stderr));
    assert_eq!(stdout.trim(), "API key \"pbx2\" created with the secret from standard input");
    let server = env.serve(&[]);
    let (status, _) = server.post("/api/sms/send", strong, r#"{"to": "+14165551234", "message": "hi"}"#);
    assert_eq!(status, 200, "the chosen secret works");
    let reused = keys(&["keys", "rotate", "pbx-integration", "--secret-stdin"], &format!("{strong}\n"));
    assert_eq!(reused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&reused.stderr).contains("is already API key \"pbx2\"'s"));
    let rotated = keys(&["keys", "rotate", "pbx-integration", "--secret-stdin"], "short-but-16-chars\n");
    let stderr = String::from_utf8_lossy(&rotated.stderr);
    assert!(
        rotated.status.success() && stderr.contains("warning: API key \"pbx-integration\": its secret has about"),
        "{stderr}"
    );
}
