//! How guessable an operator's own secret is. A key is looked up by its
//! unsalted SHA-256, which only a secret this hard to guess makes safe to
//! store; generated secrets always are.
//!
//! zxcvbn finds what people choose (dictionary words and names, keyboard
//! walks, repeats, sequences, dates, l33t) and prices each; it cannot count
//! past 2^64 guesses and reads 100 characters, so what it calls brute force
//! (and anything past those 100) is priced here, per character, by the
//! alphabet the secret spans. Linked into `smsctl` only: the functions
//! never judge secrets.

use shared::domain::ApiKeySecret;
use shared::service::config::Config;
use zxcvbn::matching::patterns::MatchPattern;

use crate::fail::{Fail, Result};

/// Below this estimate an operator's secret is flagged as weak.
pub const STRONG_SECRET_BITS: u32 = 128;

/// What zxcvbn reads of a secret.
const ZXCVBN_CHARS: usize = 100;

/// Estimated entropy in bits of a secret.
pub fn estimated_bits(secret: &ApiKeySecret) -> u32 {
    let text = secret.reveal();
    let pool = f64::from(alphabet(text)).log2();
    let read: String = text.chars().take(ZXCVBN_CHARS).collect();
    let patterns: f64 = zxcvbn::zxcvbn(&read, &[])
        .sequence()
        .iter()
        .map(|m| match m.pattern {
            MatchPattern::BruteForce => informative(&m.token) as f64 * pool,
            _ => (m.guesses.unwrap_or(1).max(1) as f64).log2(),
        })
        .sum();
    let rest = &text[read.len()..];
    (patterns + informative(rest) as f64 * pool) as u32
}

/// The alphabet a secret's character classes span (lower case, upper
/// case, digits, symbols).
fn alphabet(text: &str) -> u32 {
    let bytes = text.as_bytes();
    type Class = (u32, fn(&u8) -> bool);
    let classes: [Class; 4] = [
        (26, u8::is_ascii_lowercase),
        (26, u8::is_ascii_uppercase),
        (10, u8::is_ascii_digit),
        (32, u8::is_ascii_punctuation),
    ];
    classes.iter().filter(|(_, class)| bytes.iter().any(class)).map(|(n, _)| n).sum::<u32>().max(1)
}

/// Characters that add something: one that repeats the one before or goes
/// on a run (`aaa`, `abc`, `321`) adds nothing.
fn informative(text: &str) -> usize {
    let bytes = text.as_bytes();
    let step = |i: usize| i32::from(bytes[i]) - i32::from(bytes[i - 1]);
    let predictable = |i: usize| (i >= 1 && step(i) == 0) || (i >= 2 && step(i).abs() == 1 && step(i) == step(i - 1));
    (0..bytes.len()).filter(|&i| !predictable(i)).count()
}

/// What is said of a weak secret, naming its key, never the secret.
pub fn weak_secret(name: &str, bits: u32) -> String {
    format!(
        "API key {name:?}: its secret has about {bits} bits of estimated entropy, under {STRONG_SECRET_BITS}; \
         leave the secret out to have one generated"
    )
}

/// A secret the operator chose, if it is weak: what to say of it.
pub fn judge(name: &str, secret: &ApiKeySecret) -> Option<String> {
    let bits = estimated_bits(secret);
    (bits < STRONG_SECRET_BITS).then(|| weak_secret(name, bits))
}

/// A configuration file's weak secrets, with where they are.
pub fn weak_in(config: &Config) -> Vec<String> {
    config
        .api_keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| Some(format!("$.api_keys[{i}].secret: {}", judge(&k.name, k.secret.as_ref()?)?)))
        .collect()
}

/// Weak secrets are warned about, or refused when `strict`; the message
/// names the key, never the secret.
pub fn refuse_or_warn(weak: &[String], strict: bool) -> Result {
    if strict && !weak.is_empty() {
        return Err(Fail::usage(format!("refused (--strict): {}", weak.join("; "))));
    }
    for w in weak {
        eprintln!("warning: {w}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(s: &str) -> u32 {
        estimated_bits(&ApiKeySecret::parse(s).unwrap())
    }

    #[test]
    fn human_choices_are_weak_and_patterns_count_for_little() {
        // The contract's example and other human choices.
        assert!(bits("test-key-59-abcdef") < STRONG_SECRET_BITS, "{}", bits("test-key-59-abcdef"));
        assert!(bits("demo-key-59-abcdef0123") < STRONG_SECRET_BITS);
        assert!(bits("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") < 20);
        assert!(bits("abcdefghijklmnopqrstuvwxyzabcdefghijklmn") < 40);
        assert!(bits("0123456789876543210123456789") < 40);
    }

    #[test]
    fn a_dictionary_passphrase_is_weak_however_long_it_looks() {
        // About 170 bits by its characters alone; four common words and a
        // suffix to zxcvbn.
        let phrase = bits("CorrectHorseBatteryStaple1!");
        assert!(phrase < 80, "{phrase}");
        assert!(bits("Password123!Password123!Password123!") < STRONG_SECRET_BITS);
        assert!(bits("qwertyuiopasdfghjklzxcvbnm1234567890") < STRONG_SECRET_BITS);
    }

    #[test]
    fn random_secrets_are_strong() {
        assert!(bits("Vq8#rT2m!xL9pK4w@zN7cB1f") >= STRONG_SECRET_BITS, "{}", bits("Vq8#rT2m!xL9pK4w@zN7cB1f"));
        assert!((0..200).all(|_| estimated_bits(&ApiKeySecret::generate()) >= STRONG_SECRET_BITS));
        // Past what zxcvbn reads, characters still count.
        assert!(bits(&"Vq8#rT2m!xL9pK4w@zN7cB1f".repeat(10)) > bits("Vq8#rT2m!xL9pK4w@zN7cB1f"));
    }

    #[test]
    fn a_weak_secret_is_named_by_its_key_only() {
        let config = Config::from_json(
            r#"{"api_keys": [{"name": "pbx-integration", "secret": "test-key-59-abcdef", "tenants": ["59"], "permissions": ["sms"]}]}"#,
        )
        .unwrap();
        let weak = weak_in(&config);
        assert_eq!(weak.len(), 1);
        assert!(
            weak[0].starts_with("$.api_keys[0].secret: API key \"pbx-integration\": its secret has about "),
            "{weak:?}"
        );
        assert!(!weak[0].contains("test-key"), "{weak:?}");
    }
}
