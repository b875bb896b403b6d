//! Text from outside (events, object metadata, request bodies) that people
//! will read: what is invisible, what is cleaned away, how it is shown.

use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory};
use icu_properties::{CodePointMapData, CodePointSetData};

/// Characters that draw nothing yet change what a reader sees or a terminal
/// does, from Unicode's own tables (ICU4X's `icu_properties`, already in
/// every build through `url`): C0/C1 controls; every Default_Ignorable_Code_Point
/// (zero-width and format characters, bidi embeddings, overrides and
/// isolates, the BOM, soft hyphen, fillers, variation selectors, tag
/// characters, the combining grapheme joiner, shorthand format controls);
/// the line and paragraph separators; and the braille blank, a pattern of
/// no dots.
pub fn is_invisible(c: char) -> bool {
    // ASCII, most of every text: only its controls are invisible.
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    c.is_control()
        || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || matches!(
            CodePointMapData::<GeneralCategory>::new().get(c),
            GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator
        )
        || c == '\u{2800}'
}

/// A mark that draws on the character before it (an accent, an enclosing
/// circle): alone, it shows nothing of its own.
fn is_combining(c: char) -> bool {
    matches!(
        CodePointMapData::<GeneralCategory>::new().get(c),
        GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark
    )
}

/// A short field for a template (caller id, a time): invisible characters
/// dropped, runs of whitespace made one space, trimmed, at most `max`
/// characters. `None` when nothing readable is left.
pub fn clean_field(raw: &str, max: usize) -> Option<String> {
    let mut out = String::with_capacity(raw.len().min(max * 4));
    let mut count = 0;
    let mut space = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if is_invisible(c) {
            continue;
        }
        if space {
            if count + 1 >= max {
                break;
            }
            out.push(' ');
            count += 1;
            space = false;
        }
        if count >= max {
            break;
        }
        out.push(c);
        count += 1;
    }
    (!out.is_empty()).then_some(out)
}

/// A message's text as it may reach a phone: a tab becomes a space, CR LF
/// and a lone CR a newline, every other control character (NUL, ESC, DEL,
/// the C1 range) is dropped. Format characters stay (joiners and direction
/// marks are part of emoji and of some scripts); a text of nothing else is
/// empty by [`is_blank`].
pub fn without_controls(text: String) -> String {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push(' '),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => out.push('\n'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Nothing a reader would see: whitespace, invisible characters and marks
/// with nothing to draw on only.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || is_invisible(c) || is_combining(c))
}

/// The text on one line, safe for a terminal or a log: backslash, newline,
/// tab and every invisible character written as an escape (`\n`, `\t`,
/// `\u{202e}`), so nothing can start a forged line or send an escape
/// sequence.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_invisible(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_known() {
        for c in ['\0', '\u{1b}', '\u{7f}', '\u{85}', '\u{200b}', '\u{202e}', '\u{2066}', '\u{2028}', '\u{feff}'] {
            assert!(is_invisible(c), "{:x}", c as u32);
        }
        for c in ['a', ' ', 'é', '€', 'ж', '😀', '\u{3000}'] {
            assert!(!is_invisible(c), "{c}");
        }
    }

    #[test]
    fn fields_are_cleaned_and_bounded() {
        assert_eq!(clean_field("  +1 416\t555\n0100 ", 64).as_deref(), Some("+1 416 555 0100"));
        assert_eq!(clean_field("Bob\u{1b}[2J\u{202e}evil", 64).as_deref(), Some("Bob[2Jevil"));
        assert_eq!(clean_field("\u{200b}\u{0}\n", 64), None);
        assert_eq!(clean_field(&"x".repeat(100), 10).map(|s| s.chars().count()), Some(10));
        assert_eq!(clean_field("ab cd", 3).as_deref(), Some("ab"));
    }

    #[test]
    fn controls_are_dropped_but_newlines_and_format_characters_kept() {
        let clean = |t: &str| without_controls(t.to_owned());
        assert_eq!(clean("a\r\nb\rc\td"), "a\nb\nc d");
        assert_eq!(clean("\u{0}x\u{1b}[2J\u{7}\u{7f}\u{85}y"), "x[2Jy");
        assert_eq!(clean("👨\u{200d}👩 \u{200f}שלום"), "👨\u{200d}👩 \u{200f}שלום");
        for blank in ["", " \n", "\u{200b}\u{feff}", "\u{202e}\u{2066}\u{2028}", "\u{3164}\u{00ad}"] {
            assert!(is_blank(blank), "{blank:?}");
        }
        assert!(!is_blank("\u{200b}.") && !is_blank("😀"));
    }

    #[test]
    fn texts_of_nothing_visible_are_blank_whatever_unicode_hides_them_in() {
        let tags: String = ('\u{e0020}'..='\u{e007f}').collect();
        let selectors: String = ('\u{fe00}'..='\u{fe0f}').chain('\u{e0100}'..='\u{e01ef}').collect();
        for blank in [
            tags.as_str(),
            selectors.as_str(),
            "\u{34f}",
            "\u{2800}\u{2800}",
            "\u{1bca0}\u{1bca1}\u{1bca2}\u{1bca3}",
            "\u{301}",
            " \u{20dd}\u{301} ",
            "\u{2029}\u{180e}",
        ] {
            assert!(is_blank(blank), "{blank:?}");
        }
        // Marks on a letter, emoji sequences and other scripts are text.
        for text in [
            "e\u{301}",
            "🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}",
            "❤\u{fe0f}",
            "ש\u{5b8}",
            "\u{2801}",
        ] {
            assert!(!is_blank(text), "{text:?}");
        }
        assert_eq!(escape("a\u{e0041}\u{e007f}b"), "a\\u{e0041}\\u{e007f}b", "tags are shown, escaped");
    }

    #[test]
    fn escapes_keep_one_line() {
        assert_eq!(escape("a\nb\\c\u{1b}]0;x\u{7}"), "a\\nb\\\\c\\u{1b}]0;x\\u{7}");
        assert_eq!(escape("ok\u{2028}\u{202e}"), "ok\\u{2028}\\u{202e}");
        assert_eq!(escape("Grüße 😀"), "Grüße 😀");
    }
}
