//! Text from outside (events, object metadata, request bodies) that people
//! will read: what is invisible, what is cleaned away, how it is shown.

/// Characters that draw nothing yet change what a reader sees or a terminal
/// does: C0/C1 controls, format characters (zero-width, bidi embeddings,
/// overrides and isolates, the BOM, soft hyphen) and the line and paragraph
/// separators.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
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

/// Nothing a reader would see: whitespace and invisible characters only.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || is_invisible(c))
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
    fn escapes_keep_one_line() {
        assert_eq!(escape("a\nb\\c\u{1b}]0;x\u{7}"), "a\\nb\\\\c\\u{1b}]0;x\\u{7}");
        assert_eq!(escape("ok\u{2028}\u{202e}"), "ok\\u{2028}\\u{202e}");
        assert_eq!(escape("Grüße 😀"), "Grüße 😀");
    }
}
