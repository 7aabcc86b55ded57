//! Text from declarations, registries and engines shown to people. A pull request may put
//! control characters in a tag, a manifest or a file name; shown raw, `\r`, `\e[2K`, `\e[1A` or
//! a newline rewrite or hide lines of the plan a reviewer reads. Like git and terraform, every
//! such character is shown as an escape instead (`\r`, `\n`, `\u001b`). JSON needs none of
//! this: it escapes them itself.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a reader as itself: C0 and C1 controls, DEL, and the
/// bidirectional marks and overrides that reorder what is shown ("Trojan Source").
pub fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every hazard escaped, line breaks included: for a value shown on one line.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_except(text, |_| false)
}

/// `text` with every hazard but line breaks and tabs escaped: for text shown as lines.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_except(text, |c| c == '\n' || c == '\t')
}

fn escape_except(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_hazard(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if keep(c) {
            out.push(c);
        } else {
            push_escaped(&mut out, c);
        }
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if is_hazard(c) => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => out.push(c),
    }
}

/// Output on its way to a terminal or log: line breaks and tabs kept, the colours this program
/// paints kept (SGR sequences of the codes [`SGR_CODES`] lists), every other hazard escaped. A
/// second line of defence: values are escaped where they are rendered.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_hazard(c) && c != '\n' && c != '\t') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && let Some(len) = own_colour(rest)
        {
            out.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        match c {
            '\n' | '\t' => out.push(c),
            c => push_escaped(&mut out, c),
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The SGR codes this program's painter writes: reset, bold, dim, italic, underline, their
/// resets, and the sixteen foreground colours. Not conceal (8), blink, or cursor movement.
const SGR_CODES: &[u8] = &[
    0, 1, 2, 3, 4, 22, 23, 24, 39, 30, 31, 32, 33, 34, 35, 36, 37, 90, 91, 92, 93, 94, 95, 96, 97,
];

/// The length of the colour sequence `text` starts with (`\e[1;32m`), if it is one of ours.
fn own_colour(text: &str) -> Option<usize> {
    let body = text.strip_prefix("\u{1b}[")?;
    let end = body.find('m')?;
    let params = &body[..end];
    let ours = params.is_empty()
        || params
            .split(';')
            .all(|p| p.parse::<u8>().is_ok_and(|code| SGR_CODES.contains(&code)));
    ours.then_some(2 + end + 1)
}

/// A character as Unicode names it, for messages about characters one cannot see: `U+0007`.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_show_every_control_character() {
        assert_eq!(escape("plain"), "plain");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(
            escape("a\rb\nc\td\u{1b}[2K\u{7}\u{7f}\u{9b}"),
            "a\\rb\\nc\\td\\u001b[2K\\u0007\\u007f\\u009b"
        );
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u202efed");
        assert_eq!(escape("ünïcödé ✓"), "ünïcödé ✓");
    }

    #[test]
    fn lines_keep_their_breaks() {
        assert_eq!(
            escape_lines("a==1\r\nb\u{1b}[8m==2\n"),
            "a==1\\r\nb\\u001b[8m==2\n"
        );
    }

    #[test]
    fn the_terminal_gets_our_colours_and_nothing_else() {
        let ours = "\u{1b}[1m\u{1b}[32m+\u{1b}[0m x\n";
        assert_eq!(for_terminal(ours), ours);
        assert_eq!(
            for_terminal("\u{1b}[1;32mok\u{1b}[0m\ttab"),
            "\u{1b}[1;32mok\u{1b}[0m\ttab"
        );
        assert_eq!(
            for_terminal("a\u{1b}[8mhidden\u{1b}[1Aup\u{1b}[2K\r\n"),
            "a\\u001b[8mhidden\\u001b[1Aup\\u001b[2K\\r\n"
        );
        assert_eq!(for_terminal("\u{1b}"), "\\u001b");
        assert_eq!(for_terminal("\u{1b}[999m"), "\\u001b[999m");
    }

    #[test]
    fn code_points_are_named() {
        assert_eq!(code_point('\u{7}'), "U+0007");
        assert_eq!(code_point('\0'), "U+0000");
        assert_eq!(code_point('\u{202e}'), "U+202E");
    }
}
