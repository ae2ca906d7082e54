//! JSON and times written byte for byte as Alertmanager (Go's `encoding/json`) writes them,
//! so receivers that compare or sign bodies see no difference.

use std::io;

use perfkit_core::Timestamp;
use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

/// Go's zero `time.Time`, which Alertmanager sends as the `endsAt` of a firing alert.
pub(crate) const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A time as Go's RFC 3339 with nanoseconds: fraction trimmed of trailing zeros, and no dot
/// when it is whole seconds (`2024-05-01T12:00:00Z`, `2024-05-01T12:00:00.12Z`).
pub(crate) fn go_time(time: Option<Timestamp>) -> String {
    let Some(time) = time else { return GO_ZERO_TIME.to_owned() };
    let text = time.to_string(); // 2024-05-01T12:00:00.120Z
    match text.rsplit_once('.') {
        Some((seconds, fraction)) => {
            let digits = fraction.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() { format!("{seconds}Z") } else { format!("{seconds}.{digits}Z") }
        }
        None => text,
    }
}

/// Go escapes `<`, `>`, `&`, U+2028 and U+2029 in strings (HTML-safe JSON), and writes
/// backspace and form feed as `\u0008` / `\u000c`.
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (index, c) in fragment.char_indices() {
            let escape = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..index])?;
            writer.write_all(escape.as_bytes())?;
            start = index + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        match char_escape {
            CharEscape::Backspace => writer.write_all(b"\\u0008"),
            CharEscape::FormFeed => writer.write_all(b"\\u000c"),
            other => CompactFormatter.write_char_escape(writer, other),
        }
    }
}

/// `value` as Go's `json.NewEncoder(w).Encode(value)` writes it: compact, HTML-escaped,
/// ending in a newline.
pub(crate) fn to_go_json<T: Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut body = Vec::with_capacity(512);
    let mut serializer = serde_json::Serializer::with_formatter(&mut body, GoFormatter);
    value.serialize(&mut serializer)?;
    body.push(b'\n');
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_like_go() {
        assert_eq!(go_time(None), "0001-01-01T00:00:00Z");
        assert_eq!(
            go_time(Some(Timestamp::from_unix_millis(1_700_000_000_000))),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            go_time(Some(Timestamp::from_unix_millis(1_700_000_000_120))),
            "2023-11-14T22:13:20.12Z"
        );
        assert_eq!(
            go_time(Some(Timestamp::from_unix_millis(1_700_000_000_001))),
            "2023-11-14T22:13:20.001Z"
        );
    }

    #[test]
    fn strings_escape_like_go() {
        let body = to_go_json(&"a<b>&c\u{2028}\u{8}\u{c}\n\"\\é").unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "\"a\\u003cb\\u003e\\u0026c\\u2028\\u0008\\u000c\\n\\\"\\\\é\"\n"
        );
    }
}
