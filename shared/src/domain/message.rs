use std::fmt;

use serde::{Deserialize, Serialize};

use super::DomainError;
use super::text::{is_blank, without_controls};

/// The longest message accepted, in SMS segments. SNS refuses SMS over 1,600
/// bytes; ten segments (1,530 GSM-7 characters, 670 UCS-2) stay below it and
/// bound what one request can cost.
pub const MAX_SEGMENTS: usize = 10;

/// How the text travels over the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encoding {
    #[serde(rename = "GSM-7")]
    Gsm7,
    #[serde(rename = "UCS-2")]
    Ucs2,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        }
    }

    /// Units in one lone SMS, and in each part of a concatenated one (the
    /// user data header takes the difference).
    fn capacity(self) -> (usize, usize) {
        match self {
            Encoding::Gsm7 => (160, 153),
            Encoding::Ucs2 => (70, 67),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// GSM 03.38 default alphabet (one septet each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension table (escape + septet: two each).
const GSM7_EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// Septets a character takes in GSM-7, or None when GSM-7 cannot carry it.
fn gsm7_units(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// A message body that can be sent: not blank, at most [`MAX_SEGMENTS`]
/// segments, with its encoding and segment count worked out once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText {
    text: String,
    encoding: Encoding,
    segments: usize,
}

impl MessageText {
    /// Control characters are normalised away first (see
    /// [`without_controls`]); nothing visible left is `Message is empty`.
    pub fn new(text: impl Into<String>) -> Result<Self, DomainError> {
        let text = without_controls(text.into());
        if is_blank(&text) {
            return Err(DomainError::EmptyMessage);
        }
        // Units per character, in the cheapest encoding that carries them all.
        let gsm: Option<Vec<usize>> = text.chars().map(gsm7_units).collect();
        let (encoding, units) = match gsm {
            Some(units) => (Encoding::Gsm7, units),
            None => (Encoding::Ucs2, text.chars().map(char::len_utf16).collect()),
        };
        let segments = count_segments(encoding, &units);
        if segments > MAX_SEGMENTS {
            return Err(DomainError::MessageTooLong { segments, max: MAX_SEGMENTS });
        }
        Ok(MessageText { text, encoding, segments })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }
    pub fn segments(&self) -> usize {
        self.segments
    }
}

/// Segments as handsets count them: a character (an escape pair, a surrogate
/// pair) is never split across two parts.
fn count_segments(encoding: Encoding, units: &[usize]) -> usize {
    let (single, part) = encoding.capacity();
    if units.iter().sum::<usize>() <= single {
        return 1;
    }
    let mut segments = 1;
    let mut used = 0;
    for &u in units {
        if used + u > part {
            segments += 1;
            used = 0;
        }
        used += u;
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(s: &str) -> (Encoding, usize) {
        let m = MessageText::new(s).unwrap();
        (m.encoding(), m.segments())
    }

    #[test]
    fn gsm7_segments() {
        assert_eq!(seg("You have received a new voicemail."), (Encoding::Gsm7, 1));
        assert_eq!(seg(&"a".repeat(160)), (Encoding::Gsm7, 1));
        assert_eq!(seg(&"a".repeat(161)), (Encoding::Gsm7, 2));
        assert_eq!(seg(&"a".repeat(306)), (Encoding::Gsm7, 2));
        assert_eq!(seg(&"a".repeat(307)), (Encoding::Gsm7, 3));
        // Extension characters take two septets.
        assert_eq!(seg(&"€".repeat(80)), (Encoding::Gsm7, 1));
        assert_eq!(seg(&"€".repeat(81)), (Encoding::Gsm7, 2));
        // An escape pair is not split: 152 + a 2-septet char opens part two.
        assert_eq!(seg(&format!("{}€{}", "a".repeat(152), "a".repeat(150))), (Encoding::Gsm7, 2));
        assert_eq!(seg(&format!("{}€{}", "a".repeat(152), "a".repeat(153))), (Encoding::Gsm7, 3));
    }

    #[test]
    fn ucs2_segments() {
        assert_eq!(seg("Grüße aus Zürich – ok"), (Encoding::Ucs2, 1));
        assert_eq!(seg(&"ж".repeat(70)), (Encoding::Ucs2, 1));
        assert_eq!(seg(&"ж".repeat(71)), (Encoding::Ucs2, 2));
        assert_eq!(seg(&"ж".repeat(134)), (Encoding::Ucs2, 2));
        // An emoji is a surrogate pair: two units.
        assert_eq!(seg(&"😀".repeat(35)), (Encoding::Ucs2, 1));
        assert_eq!(seg(&"😀".repeat(36)), (Encoding::Ucs2, 2));
    }

    #[test]
    fn limits() {
        assert_eq!(MessageText::new("   \n").unwrap_err(), DomainError::EmptyMessage);
        assert_eq!(MessageText::new("").unwrap_err(), DomainError::EmptyMessage);
        assert!(MessageText::new("a".repeat(153 * 10)).is_ok());
        assert_eq!(
            MessageText::new("a".repeat(153 * 10 + 1)).unwrap_err(),
            DomainError::MessageTooLong { segments: 11, max: 10 }
        );
        assert_eq!(
            MessageText::new("ж".repeat(671)).unwrap_err().to_string(),
            "Message is too long: 11 SMS segments, at most 10 are allowed"
        );
    }
}
