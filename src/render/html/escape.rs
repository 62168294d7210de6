//! Escaping for the page: text from a log into HTML text and attribute
//! values, and the report's JSON into a `<script type="application/json">`
//! block.
//!
//! Log text first goes through [`crate::bytes::escape`], as on a terminal,
//! so control characters (ESC, NUL) and bidirectional overrides (RLO) are
//! shown as `\x1b`, `\x00`, `\u{202e}` instead of acting on the page; then
//! `& < > " '` become entities, so no log line can open a tag or leave an
//! attribute.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` as HTML text or a double- or single-quoted attribute value.
pub(crate) fn html(s: &str) -> Cow<'_, str> {
    let s = crate::bytes::escape(s);
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// JSON text made safe inside `<script type="application/json">`: `<`,
/// `>` and `&` as `\u003c`, `\u003e`, `\u0026` (so neither `</script>` nor
/// `<!--` can end or change the block), U+2028 / U+2029 as `\u2028`,
/// `\u2029`, and the bidi and invisible characters a terminal is kept from
/// (RLO, zero-width ...) as `\uXXXX` too, so that viewing the page's source
/// shows them for what they are. JSON has these characters only inside
/// strings, where the escapes mean the same characters, so `JSON.parse`
/// gives back the same value.
pub(crate) fn json_in_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 64);
    json_in_script_into(json, &mut out);
    out
}

/// ASCII bytes copied as they are: all but `< > &`, C0 controls and DEL.
const PLAIN: [bool; 128] = {
    let mut t = [true; 128];
    let mut i = 0;
    while i < 0x20 {
        t[i] = false;
        i += 1;
    }
    t[b'<' as usize] = false;
    t[b'>' as usize] = false;
    t[b'&' as usize] = false;
    t[0x7f] = false;
    t
};

/// [`json_in_script`] appended to `out`: runs of plain ASCII (all of a
/// report's JSON but what a log put in its strings) are copied whole.
fn json_in_script_into(json: &str, out: &mut String) {
    let bytes = json.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (len, escape) = if b < 0x80 {
            if !PLAIN[b as usize] {
                (1, true)
            } else {
                // The run of plain ASCII up to the next byte to look at.
                i += bytes[i..]
                    .iter()
                    .position(|&b| b >= 0x80 || !PLAIN[b as usize])
                    .unwrap_or(bytes.len() - i);
                continue;
            }
        } else {
            let c = json[i..].chars().next().unwrap_or('\u{fffd}');
            (c.len_utf8(), crate::bytes::needs_escape(c))
        };
        if escape {
            out.push_str(&json[start..i]);
            let c = json[i..].chars().next().unwrap_or('\u{fffd}');
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
            start = i + len;
        }
        i += len;
    }
    out.push_str(&json[start..]);
}

/// [`json_in_script`] as a writer: what serde_json writes into it goes out
/// escaped, without the whole text held in memory. A character split
/// between two writes is held until its end arrives.
pub(crate) struct ScriptWriter<'a> {
    out: &'a mut dyn std::io::Write,
    pending: Vec<u8>,
}

impl<'a> ScriptWriter<'a> {
    /// A writer into `out`.
    pub(crate) fn new(out: &'a mut dyn std::io::Write) -> Self {
        ScriptWriter {
            out,
            pending: Vec::new(),
        }
    }

    /// Writes what is held (bytes that were never valid UTF-8, lossily).
    pub(crate) fn finish(mut self) -> std::io::Result<()> {
        let rest = std::mem::take(&mut self.pending);
        let text = String::from_utf8_lossy(&rest);
        self.out.write_all(json_in_script(&text).as_bytes())
    }
}

impl std::io::Write for ScriptWriter<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(b);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) => e.valid_up_to(),
        };
        let text = std::str::from_utf8(&self.pending[..valid]).unwrap_or("");
        let mut escaped = String::with_capacity(text.len() + 64);
        json_in_script_into(text, &mut escaped);
        self.out.write_all(escaped.as_bytes())?;
        self.pending.drain(..valid);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_log_text_stays_text() {
        let hostile = "</script><svg onload=alert(1)> \"a\" 'b' & \u{202e}evil\u{1b}[31m\0end";
        let got = html(hostile);
        assert_eq!(
            got,
            "&lt;/script&gt;&lt;svg onload=alert(1)&gt; &quot;a&quot; &#39;b&#39; &amp; \
             \\u{202e}evil\\x1b[31m\\x00end"
        );
        assert!(!got.contains(['<', '>', '"', '\'', '\u{202e}', '\u{1b}', '\0']));
        assert_eq!(html("plain /api/users/:id"), "plain /api/users/:id");
        assert!(matches!(html("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_cannot_close_its_script_block() {
        let value = serde_json::json!({
            "text": "</script><script>alert(1)</script> <!-- & \u{2028}\u{2029} \u{202e} \u{e0041} \u{7f}"
        });
        let json = serde_json::to_string(&value).unwrap();
        let safe = json_in_script(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        assert!(!safe.contains(['\u{2028}', '\u{2029}', '\u{202e}', '\u{e0041}', '\u{7f}']));
        assert!(
            safe.contains("\\u2028\\u2029 \\u202e \\udb40\\udc41"),
            "{safe}"
        );
        assert!(!safe.to_ascii_lowercase().contains("</script"));
        // The same value when read back.
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
        // The same through the writer, in pieces that split characters.
        let mut out = Vec::new();
        let mut w = ScriptWriter::new(&mut out);
        for piece in json.as_bytes().chunks(2) {
            std::io::Write::write_all(&mut w, piece).unwrap();
        }
        w.finish().unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), safe);
    }
}
