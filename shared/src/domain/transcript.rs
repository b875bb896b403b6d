//! What the caller said: a transcript as it reaches a voicemail SMS, the
//! tenant's choice of transcription, and Amazon Transcribe's output file.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::message::MessageText;
use super::text::clean_field;

/// What `{transcript}` reads when there is none (no source, a failed job,
/// a completion that did not come in time).
pub const NO_TRANSCRIPT: &str = "(no transcript)";

/// Marks a transcript cut to fit the SMS. Three dots, not `…`: GSM-7 has
/// no ellipsis, and one would turn a whole Latin text into UCS-2.
pub const CUT_MARK: &str = "...";

/// The longest transcript kept, in characters: well past what ten
/// segments carry, so a cut is always a fit, never this bound.
const MAX_CHARS: usize = 2_000;

/// A transcript, cleaned like every other value from outside: invisible
/// and control characters dropped, whitespace runs one space, bounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Transcript(String);

impl Transcript {
    /// `None` when nothing readable is left.
    pub fn clean(raw: &str) -> Option<Transcript> {
        clean_field(raw, MAX_CHARS).map(Transcript)
    }

    /// Amazon Transcribe's output (`results.transcripts[0].transcript`),
    /// also a sidecar's `.json` form.
    pub fn from_transcribe_json(bytes: &[u8]) -> Option<Transcript> {
        #[derive(Deserialize)]
        struct Output {
            results: Results,
        }
        #[derive(Deserialize)]
        struct Results {
            transcripts: Vec<Text>,
        }
        #[derive(Deserialize)]
        struct Text {
            transcript: String,
        }
        let output: Output = serde_json::from_slice(bytes).ok()?;
        output.results.transcripts.first().and_then(|t| Self::clean(&t.transcript))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Transcript {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::clean(&s).ok_or("a transcript with nothing readable")
    }
}

impl From<Transcript> for String {
    fn from(t: Transcript) -> String {
        t.0
    }
}

/// The text whose `{transcript}` is the longest start of `transcript` that
/// keeps the whole SMS within `max_segments`: cut after a word, with
/// [`CUT_MARK`] (or inside a word, for scripts written without spaces).
/// `render` fills the template with a given transcript text; the encoding
/// and the count are those of the final text. `None` when not even the
/// mark alone fits (the template's own text is too long).
pub fn fit(transcript: &str, max_segments: usize, render: impl Fn(&str) -> String) -> Option<MessageText> {
    let fits = |t: &str| MessageText::new(render(t)).ok().filter(|m| m.segments() <= max_segments);
    if let Some(whole) = fits(transcript) {
        return Some(whole);
    }
    let cut = |end: usize| format!("{}{CUT_MARK}", transcript[..end].trim_end());
    let words: Vec<usize> = transcript.char_indices().filter(|(_, c)| *c == ' ').map(|(i, _)| i).collect();
    let chars: Vec<usize> = transcript.char_indices().map(|(i, _)| i).skip(1).collect();
    // The longer text never takes fewer segments: the last cut that fits is
    // found by bisection, among word ends first.
    for ends in [words, chars] {
        let fitting = ends.partition_point(|&end| fits(&cut(end)).is_some());
        if fitting > 0 {
            return fits(&cut(ends[fitting - 1]));
        }
    }
    fits(CUT_MARK)
}

/// The tenant's `transcription` setting: who transcribes, in which
/// language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcription {
    pub provider: Provider,
    pub language: Language,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Amazon Transcribe.
    Aws,
}

/// A language code as Transcribe takes them (`en-US`, `fr-CA`), or `auto`
/// for its language identification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Language {
    Auto,
    Code(String),
}

impl Language {
    pub const EXPECTED: &'static str = "\"auto\" or a language code such as \"en-US\"";

    pub fn parse(s: &str) -> Option<Language> {
        if s == "auto" {
            return Some(Language::Auto);
        }
        let (lang, region) = s.split_once('-')?;
        let shaped = (2..=3).contains(&lang.len())
            && lang.bytes().all(|b| b.is_ascii_lowercase())
            && region.len() == 2
            && region.bytes().all(|b| b.is_ascii_uppercase());
        shaped.then(|| Language::Code(s.to_owned()))
    }
}

impl TryFrom<String> for Language {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Language::parse(&s).ok_or_else(|| format!("expected {}", Language::EXPECTED))
    }
}

impl From<Language> for String {
    fn from(l: Language) -> String {
        l.to_string()
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Language::Auto => f.write_str("auto"),
            Language::Code(c) => f.write_str(c),
        }
    }
}

/// The tenant's `max_segments`: how long a voicemail SMS with a transcript
/// may grow, 1 to [`super::MAX_SEGMENTS`], 4 when not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct MaxSegments(u8);

impl MaxSegments {
    pub const DEFAULT: MaxSegments = MaxSegments(4);
    pub const EXPECTED: &'static str = "a whole number from 1 to 10";

    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

impl TryFrom<u64> for MaxSegments {
    type Error = String;
    fn try_from(n: u64) -> Result<Self, String> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=super::MAX_SEGMENTS).contains(&usize::from(*n)))
            .map(MaxSegments)
            .ok_or_else(|| format!("expected {}", Self::EXPECTED))
    }
}

impl From<MaxSegments> for u64 {
    fn from(m: MaxSegments) -> u64 {
        u64::from(m.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Encoding;

    fn sms(prefix: &str) -> impl Fn(&str) -> String + '_ {
        move |t| format!("{prefix}{t}")
    }

    #[test]
    fn a_transcript_that_fits_is_whole() {
        let m = fit("call me back", 1, sms("VM: ")).unwrap();
        assert_eq!((m.as_str(), m.segments(), m.encoding()), ("VM: call me back", 1, Encoding::Gsm7));
    }

    #[test]
    fn a_long_one_is_cut_after_a_word_at_the_segment_boundary() {
        // 160 GSM-7 characters are one segment; 161 are two (153 each).
        let words = "word ".repeat(40);
        let m = fit(words.trim_end(), 1, sms("")).unwrap();
        assert_eq!(m.segments(), 1);
        assert!(m.as_str().ends_with("word..."), "{}", m.as_str());
        assert!(m.as_str().chars().count() <= 160);
        assert!(m.as_str().chars().count() > 160 - 5 - 3, "as long as fits: {}", m.as_str().len());
        let exact = "a".repeat(160);
        assert_eq!(fit(&exact, 1, sms("")).unwrap().as_str(), exact, "exactly one segment is whole");
        let m = fit(&"word ".repeat(200), 4, sms("Voicemail from +14165550100: ")).unwrap();
        assert_eq!(m.segments(), 4);
        assert!(m.as_str().len() > 153 * 4 - 8);
    }

    #[test]
    fn another_script_is_ucs2_and_cut_to_its_smaller_segments() {
        let cyrillic = "перезвоните мне пожалуйста ".repeat(10);
        let m = fit(cyrillic.trim_end(), 2, sms("VM: ")).unwrap();
        assert_eq!((m.encoding(), m.segments()), (Encoding::Ucs2, 2));
        assert!(m.as_str().chars().count() <= 134 && m.as_str().ends_with("..."), "{}", m.as_str());
        // Written without spaces: cut inside, still within the segments.
        let m = fit(&"请给我回电话".repeat(30), 1, sms("")).unwrap();
        assert_eq!((m.encoding(), m.segments(), m.as_str().chars().count()), (Encoding::Ucs2, 1, 70));
        // A GSM-7 text becomes UCS-2 with one emoji in the transcript.
        assert_eq!(fit("ok 👍", 1, sms("VM: ")).unwrap().encoding(), Encoding::Ucs2);
    }

    #[test]
    fn a_template_too_long_for_any_transcript_is_none() {
        assert!(fit("hello", 1, sms(&"x".repeat(200))).is_none());
    }

    #[test]
    fn transcripts_are_cleaned_and_read_from_transcribe_output() {
        assert_eq!(Transcript::clean("  Hi\u{200b} there,\n\tcall\u{1b} me ").unwrap().as_str(), "Hi there, call me");
        assert!(Transcript::clean("\u{202e}\u{200b} ").is_none());
        let json = br#"{"jobName":"j","accountId":"1","status":"COMPLETED",
            "results":{"transcripts":[{"transcript":"Call me back."}],"items":[]}}"#;
        assert_eq!(Transcript::from_transcribe_json(json).unwrap().as_str(), "Call me back.");
        assert!(Transcript::from_transcribe_json(br#"{"results":{"transcripts":[]}}"#).is_none());
        assert!(Transcript::from_transcribe_json(b"not json").is_none());
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(Language::parse("en-US"), Some(Language::Code("en-US".into())));
        assert_eq!(Language::parse("auto"), Some(Language::Auto));
        for bad in ["en", "EN-us", "english-US", "en-USA", ""] {
            assert_eq!(Language::parse(bad), None, "{bad}");
        }
        assert_eq!(MaxSegments::try_from(10).unwrap().get(), 10);
        assert!(MaxSegments::try_from(0).is_err() && MaxSegments::try_from(11).is_err());
        let t: Transcription = serde_json::from_str(r#"{"provider":"aws","language":"auto"}"#).unwrap();
        assert_eq!(t.language, Language::Auto);
        assert!(serde_json::from_str::<Transcription>(r#"{"provider":"gcp","language":"auto"}"#).is_err());
    }
}
