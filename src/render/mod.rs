//! Rendering a finished [`Report`](crate::report::Report): text for people, JSON for machines.
//!
//! Renderers see only the report, never the stream, and write to any
//! `io::Write`. Anything that came from a log is escaped before it reaches
//! a terminal: control characters and bidirectional overrides in a log
//! line could otherwise rewrite what the reader sees.

pub mod gate;
pub mod json;
pub mod text;

use std::borrow::Cow;

/// Output formats of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable report.
    Text,
    /// The JSON contract.
    Json,
}

/// Escapes what must not reach a terminal raw: C0 and C1 control
/// characters, DEL, and Unicode bidi and invisible format characters.
/// Tabs become `\t`; everything else is shown as `\xNN` or `\u{NNNN}`.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if c == '\t' {
            out.push_str("\\t");
        } else if (c as u32) < 0x80 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'   // zero-width, LRM, RLM
            | '\u{2028}'..='\u{202e}' // line and paragraph separators; LRE, RLE, PDF, LRO, RLO
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{206f}' // LRI, RLI, FSI, PDI; deprecated format controls
            | '\u{061c}'              // ALM
            | '\u{00ad}'              // soft hyphen
            | '\u{180e}'              // Mongolian vowel separator
            | '\u{feff}'              // zero-width no-break space (BOM)
            | '\u{fff9}'..='\u{fffb}' // interlinear annotation
            | '\u{e0000}'..='\u{e007f}') // tag characters (invisible ASCII look-alikes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_tricks() {
        assert_eq!(escape("plain / text"), "plain / text");
        assert_eq!(escape("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(escape("x\u{202e}gnp.exe"), "x\\u{202e}gnp.exe");
        assert_eq!(escape("tab\there\r\n"), "tab\\there\\x0d\\x0a");
        assert_eq!(escape("c1\u{9b}"), "c1\\u{009b}");
        assert_eq!(escape("ok é ü 日本"), "ok é ü 日本");
    }

    /// Issue 5: invisible format characters other than the bidi controls
    /// reached the terminal raw (found by tests/props.rs).
    #[test]
    fn escapes_invisible_format_characters() {
        assert_eq!(escape("a\u{2028}b\u{2029}"), "a\\u{2028}b\\u{2029}");
        assert_eq!(
            escape("\u{2060}\u{206a}\u{ad}"),
            "\\u{2060}\\u{206a}\\u{00ad}"
        );
        // Tag characters spell hidden ASCII ("ASCII smuggling").
        assert_eq!(escape("x\u{e0041}\u{e007f}"), "x\\u{e0041}\\u{e007f}");
        assert_eq!(escape("\u{fff9}"), "\\u{fff9}");
    }
}
