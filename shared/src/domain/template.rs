use std::fmt;

use serde::{Deserialize, Serialize};

use super::text::clean_field;
use super::{Extension, NO_TRANSCRIPT, Transcript};

/// The guide's voicemail text, used when a tenant has no template.
pub const DEFAULT_VOICEMAIL_TEXT: &str = "You have received a new voicemail.";

const PLACEHOLDERS: [&str; 6] = ["extension", "caller_id", "duration", "received_at", "recording_url", "transcript"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(&'static str),
}

/// A tenant's voicemail SMS template: text with `{extension}`, `{caller_id}`,
/// `{duration}`, `{received_at}`, `{recording_url}` and `{transcript}`; `{{`
/// and `}}` stand for braces. Parsed
/// when the configuration is applied, so a bad placeholder never reaches a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err("unclosed '{' (write '{{' for a brace)".to_owned());
                    }
                    let field = PLACEHOLDERS.iter().find(|p| **p == name).ok_or_else(|| {
                        format!(
                            "unknown placeholder {{{name}}}; known: {{extension}}, {{caller_id}}, {{duration}}, \
                                 {{received_at}}, {{recording_url}}, {{transcript}}"
                        )
                    })?;
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Field(field));
                }
                '}' => return Err("unmatched '}' (write '}}' for a brace)".to_owned()),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        if parts.is_empty() {
            return Err("the template is empty".to_owned());
        }
        Ok(Template { source: source.to_owned(), parts })
    }

    /// Uses what the object's metadata holds (caller, duration, time).
    pub fn needs_details(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Field(f) if matches!(*f, "caller_id" | "duration" | "received_at")))
    }

    /// Uses what the caller said.
    pub fn needs_transcript(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Field("transcript")))
    }

    /// Uses a link to the recording.
    pub fn needs_recording(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Field("recording_url")))
    }

    /// The text, `{transcript}` read from the details (or
    /// [`NO_TRANSCRIPT`]).
    pub fn render(&self, d: &VoicemailDetails) -> String {
        self.render_with(d, d.transcript.as_ref().map_or(NO_TRANSCRIPT, Transcript::as_str))
    }

    /// The text with this for `{transcript}` (a transcript cut to fit).
    pub fn render_with(&self, d: &VoicemailDetails, transcript: &str) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field("extension") => out.push_str(&d.extension),
                Part::Field("caller_id") => out.push_str(d.caller_id.as_deref().unwrap_or("unknown")),
                Part::Field("duration") => match d.duration_secs {
                    Some(s) => out.push_str(&format!("{}:{:02}", s / 60, s % 60)),
                    None => out.push_str("unknown"),
                },
                Part::Field("recording_url") => out.push_str(d.recording_url.as_deref().unwrap_or("unknown")),
                Part::Field("transcript") => out.push_str(transcript),
                Part::Field(_) => out.push_str(d.received_at.as_deref().unwrap_or("unknown")),
            }
        }
        out
    }
}

impl TryFrom<String> for Template {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Template::parse(&s)
    }
}

impl From<Template> for String {
    fn from(t: Template) -> String {
        t.source
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// What is known of a voicemail, for its template. The values come from
/// events and object metadata that whoever can upload a voicemail controls,
/// so each is cleaned when set: no invisible characters, bounded length, a
/// duration in a sane range; anything else reads `unknown`. Stored (as
/// JSON) with a voicemail waiting for its transcript.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoicemailDetails {
    extension: String,
    caller_id: Option<String>,
    duration_secs: Option<u64>,
    received_at: Option<String>,
    /// A link to the recording, made by the service, never taken from an
    /// event. Not stored: a link made again is a fresh one.
    #[serde(skip)]
    recording_url: Option<String>,
    /// What the caller said, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    transcript: Option<Transcript>,
}

impl VoicemailDetails {
    /// Longest caller id or time kept, in characters.
    pub const MAX_FIELD_CHARS: usize = 64;
    /// Longest plausible voicemail: a day.
    pub const MAX_DURATION_SECS: u64 = 86_400;

    pub fn new(extension: &Extension) -> Self {
        VoicemailDetails { extension: extension.to_string(), ..Self::default() }
    }

    pub fn caller_id(&self) -> Option<&str> {
        self.caller_id.as_deref()
    }

    pub fn duration_secs(&self) -> Option<u64> {
        self.duration_secs
    }

    pub fn received_at(&self) -> Option<&str> {
        self.received_at.as_deref()
    }

    /// Keeps a caller id already known; otherwise takes this one.
    pub fn or_caller_id(&mut self, raw: Option<&str>) {
        if self.caller_id.is_none() {
            self.caller_id = raw.and_then(|r| clean_field(r, Self::MAX_FIELD_CHARS));
        }
    }

    /// Keeps a duration already known; otherwise takes this one when sane.
    pub fn or_duration_secs(&mut self, secs: Option<u64>) {
        if self.duration_secs.is_none() {
            self.duration_secs = secs.filter(|s| *s <= Self::MAX_DURATION_SECS);
        }
    }

    pub fn transcript(&self) -> Option<&Transcript> {
        self.transcript.as_ref()
    }

    /// Keeps a transcript already known (the first source found wins).
    pub fn or_transcript(&mut self, transcript: Option<Transcript>) {
        if self.transcript.is_none() {
            self.transcript = transcript;
        }
    }

    pub fn set_recording_url(&mut self, url: String) {
        self.recording_url = Some(url);
    }

    /// Replaces the time when `raw` holds a readable one.
    pub fn set_received_at(&mut self, raw: Option<&str>) {
        if let Some(t) = raw.and_then(|r| clean_field(r, Self::MAX_FIELD_CHARS)) {
            self.received_at = Some(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_placeholder() {
        let t = Template::parse("VM on {extension} from {caller_id} ({duration}) at {received_at} {{ok}}").unwrap();
        let mut d = VoicemailDetails::new(&Extension::parse("1001").unwrap());
        d.or_caller_id(Some("+14165559999"));
        d.or_duration_secs(Some(75));
        d.set_received_at(Some("2026-11-26T10:00:00Z"));
        assert_eq!(t.render(&d), "VM on 1001 from +14165559999 (1:15) at 2026-11-26T10:00:00Z {ok}");
        assert!(t.needs_details());
        let only_ext = Template::parse("New voicemail on {extension}").unwrap();
        assert!(!only_ext.needs_details());
        assert_eq!(only_ext.render(&VoicemailDetails::new(&Extension::parse("7").unwrap())), "New voicemail on 7");
        assert_eq!(Template::parse("{caller_id}").unwrap().render(&VoicemailDetails::default()), "unknown");
    }

    #[test]
    fn hostile_details_are_cleaned_or_unknown() {
        let t = Template::parse("{caller_id}|{duration}|{received_at}").unwrap();
        let mut d = VoicemailDetails::new(&Extension::parse("1001").unwrap());
        d.or_caller_id(Some("\u{1b}]0;pwned\u{7}Bob\u{202e}\n"));
        d.or_duration_secs(Some(10 * 86_400));
        d.set_received_at(Some(&"9".repeat(500)));
        let out = t.render(&d);
        assert_eq!(out, format!("]0;pwnedBob|unknown|{}", "9".repeat(64)));
        // The first readable value wins; an unreadable one is no value.
        let mut d = VoicemailDetails::new(&Extension::parse("1").unwrap());
        d.or_caller_id(Some("\u{200b}"));
        d.or_caller_id(Some("+14165550100"));
        d.or_caller_id(Some("+19999999999"));
        assert_eq!(d.caller_id(), Some("+14165550100"));
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        assert_eq!(
            Template::parse("Hi {name}").unwrap_err(),
            "unknown placeholder {name}; known: {extension}, {caller_id}, {duration}, {received_at}, {recording_url}, \
             {transcript}"
        );
        assert!(Template::parse("open {extension").is_err());
        assert!(Template::parse("a } b").is_err());
        assert!(Template::parse("").is_err());
    }
}
