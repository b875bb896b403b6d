//! One SMS for the voicemails quiet hours held: how many, then each one's
//! time and caller, as many as fit the tenant's segments, then how many
//! more.

use super::message::MessageText;

/// One held voicemail as a digest lists it: its local time (`Mon 22:41`)
/// and its caller (the caller id, or `unknown`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestLine {
    pub time: String,
    pub caller: String,
}

/// The digest of `lines` (the held voicemails of `extension`, oldest
/// first) in at most `max_segments`: the most lines that fit, the rest
/// counted as `and N more`. Its first line alone always goes (a template
/// cannot make it long).
pub fn digest(extension: &str, lines: &[DigestLine], max_segments: usize) -> Option<MessageText> {
    let n = lines.len();
    let render = |shown: usize| {
        let noun = if n == 1 { "voicemail" } else { "voicemails" };
        let mut text = format!("{n} new {noun} for {extension}:");
        for line in &lines[..shown] {
            text.push_str(&format!("\n{} from {}", line.time, line.caller));
        }
        if shown < n {
            text.push_str(&format!("\nand {} more", n - shown));
        }
        MessageText::new(text).ok()
    };
    // A line more never takes fewer segments, and never changes how many
    // the header says: the first count that fits, from all down, is best.
    (0..=n).rev().filter_map(render).find(|t| t.segments() <= max_segments).or_else(|| render(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Encoding;

    fn lines(n: usize, caller: &str) -> Vec<DigestLine> {
        (0..n).map(|i| DigestLine { time: format!("Mon 23:{:02}", i % 60), caller: caller.to_owned() }).collect()
    }

    #[test]
    fn lists_each_voicemail_when_all_fit() {
        let text = digest("1001", &lines(2, "+14165550100"), 1).unwrap();
        assert_eq!(
            text.as_str(),
            "2 new voicemails for 1001:\nMon 23:00 from +14165550100\nMon 23:01 from +14165550100"
        );
        assert_eq!((text.encoding(), text.segments()), (Encoding::Gsm7, 1));
    }

    /// The header is 26 characters, each line 28 (with its newline), the
    /// tail `\nand N more` 11: GSM-7 takes 160 in one segment.
    #[test]
    fn gsm7_boundary_cuts_to_and_n_more() {
        // 26 + 4 × 28 + 11 = 149 ≤ 160; 26 + 5 × 28 + 11 = 177.
        let text = digest("1001", &lines(9, "+14165550100"), 1).unwrap();
        assert_eq!(text.as_str().lines().count(), 1 + 4 + 1, "{}", text.as_str());
        assert!(text.as_str().ends_with("\nand 5 more"), "{}", text.as_str());
        assert!(text.as_str().starts_with("9 new voicemails for 1001:\n"));
        assert_eq!((text.encoding(), text.segments()), (Encoding::Gsm7, 1));
        // Exactly 160: two lines of a 51-character caller (26 + 2 × 67).
        let exact = digest("1001", &lines(2, &"a".repeat(51)), 1).unwrap();
        assert_eq!((exact.as_str().chars().count(), exact.segments()), (160, 1));
        assert_eq!(exact.as_str().lines().count(), 3, "both fit, no tail");
        // One character more: the second line goes, counted.
        let over = digest("1001", &lines(2, &"a".repeat(52)), 1).unwrap();
        assert!(over.as_str().ends_with("\nand 1 more"), "{}", over.as_str());
        assert_eq!(over.as_str().lines().count(), 3);
        // Two segments take them both.
        let two = digest("1001", &lines(2, &"a".repeat(52)), 2).unwrap();
        assert_eq!((two.as_str().chars().count(), two.segments()), (162, 2));
    }

    #[test]
    fn ucs2_boundary_counts_70_per_segment() {
        // A caller name only UCS-2 carries: 70 units in one segment.
        let name = "Жанна";
        let one = digest("7", &lines(3, name), 1).unwrap();
        assert_eq!(one.encoding(), Encoding::Ucs2);
        // Header "3 new voicemails for 7:" (23), each line "\nMon 23:0i from Жанна" (21):
        // 23 + 2 × 21 = 65, + "\nand 1 more" (11) = 76 > 70; 23 + 21 + 11 = 55.
        assert_eq!(one.as_str(), "3 new voicemails for 7:\nMon 23:00 from Жанна\nand 2 more");
        assert_eq!(one.segments(), 1);
        let two = digest("7", &lines(3, name), 2).unwrap();
        assert_eq!(two.as_str().lines().count(), 4, "all three in two segments: {}", two.as_str());
        assert_eq!((two.encoding(), two.segments()), (Encoding::Ucs2, 2));
    }

    #[test]
    fn a_header_alone_goes_when_nothing_fits() {
        let long = "x".repeat(150);
        let text = digest("1001", &lines(3, &long), 1).unwrap();
        assert_eq!(text.as_str(), "3 new voicemails for 1001:\nand 3 more");
    }
}
