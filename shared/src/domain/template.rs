use std::fmt;

use serde::{Deserialize, Serialize};

/// The guide's voicemail text, used when a tenant has no template.
pub const DEFAULT_VOICEMAIL_TEXT: &str = "You have received a new voicemail.";

const PLACEHOLDERS: [&str; 4] = ["extension", "caller_id", "duration", "received_at"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(&'static str),
}

/// A tenant's voicemail SMS template: text with `{extension}`, `{caller_id}`,
/// `{duration}` and `{received_at}`; `{{` and `}}` stand for braces. Parsed
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
                    let field = PLACEHOLDERS
                        .iter()
                        .find(|p| **p == name)
                        .ok_or_else(|| {
                            format!(
                                "unknown placeholder {{{name}}}; known: {{extension}}, {{caller_id}}, {{duration}}, {{received_at}}"
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
        Ok(Template {
            source: source.to_owned(),
            parts,
        })
    }

    pub fn needs_details(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Field(f) if *f != "extension"))
    }

    pub fn render(&self, d: &VoicemailDetails) -> String {
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

/// What is known of a voicemail, for its template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoicemailDetails {
    pub extension: String,
    pub caller_id: Option<String>,
    pub duration_secs: Option<u64>,
    pub received_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_placeholder() {
        let t = Template::parse("VM on {extension} from {caller_id} ({duration}) at {received_at} {{ok}}").unwrap();
        let d = VoicemailDetails {
            extension: "1001".into(),
            caller_id: Some("+14165559999".into()),
            duration_secs: Some(75),
            received_at: Some("2026-11-26T10:00:00Z".into()),
        };
        assert_eq!(t.render(&d), "VM on 1001 from +14165559999 (1:15) at 2026-11-26T10:00:00Z {ok}");
        assert!(t.needs_details());
        let only_ext = Template::parse("New voicemail on {extension}").unwrap();
        assert!(!only_ext.needs_details());
        assert_eq!(
            only_ext.render(&VoicemailDetails { extension: "7".into(), ..Default::default() }),
            "New voicemail on 7"
        );
        assert_eq!(
            Template::parse("{caller_id}").unwrap().render(&VoicemailDetails::default()),
            "unknown"
        );
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        assert_eq!(
            Template::parse("Hi {name}").unwrap_err(),
            "unknown placeholder {name}; known: {extension}, {caller_id}, {duration}, {received_at}"
        );
        assert!(Template::parse("open {extension").is_err());
        assert!(Template::parse("a } b").is_err());
        assert!(Template::parse("").is_err());
    }
}
