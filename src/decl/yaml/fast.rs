//! A fast path for the YAML that declarations are written in: block mappings and sequences of
//! plain, quoted and literal scalars, one per line. It builds the nodes the full parser
//! ([`super::parse_stream`]'s serde-saphyr) would, at the same positions, at a small fraction of
//! its cost: each line is looked at once, and scalars are borrowed from the text.
//!
//! Anything else in a file (flow collections, anchors, aliases, tags, merge keys, multi-line
//! plain or quoted scalars, escapes, folded scalars, tabs, carriage returns, directives, numbers
//! other than plain integers, any construct the full parser could reject) gives the whole file
//! up to the full parser, which also reports every error. `None` means "not sure", never
//! "invalid"; the tests compare both parsers on every input this one accepts.

use std::borrow::Cow;

use super::{Node, Value};
use crate::model::diag::Pos;

/// Deeper than a declaration nests; the full parser enforces the real bound.
const MAX_DEPTH: usize = 16;
/// More values in a document than a declaration has; the full parser enforces the real bound.
const MAX_NODES: usize = 10_000;
/// Longer keys are left to the full parser, which bounds implicit keys.
const MAX_KEY: usize = 128;
/// Comments between a key and its value on a later line: more are left to the full parser,
/// which holds 32 at most there.
const MAX_COMMENTS: usize = 16;

/// The documents of `text`, or `None` when the full parser should read it.
pub fn parse(text: &str) -> Option<Vec<Node<'_>>> {
    // Controls (but line breaks), DEL, and whether any byte is not ASCII, in one pass the
    // compiler can vectorize.
    let (mut control, mut wide) = (false, false);
    for chunk in text.as_bytes().chunks(64) {
        for &b in chunk {
            control |= b < b' ' && b != b'\n' || b == 0x7f;
            wide |= b >= 0x80;
        }
        if control {
            return None;
        }
    }
    if wide && !text.chars().all(printable) {
        return None;
    }
    let mut reader = Reader::new(text, !wide);
    let mut documents = Vec::new();
    loop {
        match reader.next_content()? {
            Next::End if reader.line.is_none() => return Some(documents),
            // A `---` line; documents without content (comments only) are skipped, as the
            // full parser skips null documents.
            Next::End => reader.advance(),
            Next::Line(0) => {
                reader.nodes = 0;
                documents.push(reader.map(0, 0)?);
            }
            Next::Line(_) => return None,
        }
    }
}

/// Characters YAML allows as they are, less those the full parser treats specially (C1 controls,
/// the Unicode line and paragraph separators, byte order marks, non-characters).
fn printable(c: char) -> bool {
    !matches!(
        c,
        '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}

/// What the next line that is neither blank nor a comment holds.
enum Next {
    /// The end of the text or a `---` line: the end of the document.
    End,
    /// Content, indented by this many spaces.
    Line(usize),
}

/// A cursor over the lines of a text.
struct Reader<'a> {
    text: &'a str,
    /// The current line, without its line break; `None` past the last one.
    line: Option<&'a str>,
    /// Where the current line starts in `text`.
    start: usize,
    /// The current line's number, from 1.
    number: u64,
    /// The text after the current line.
    rest: &'a str,
    /// Nodes in the current document.
    nodes: usize,
    /// Whether the text is all ASCII, a column then being a byte offset plus one.
    ascii: bool,
    /// Comments passed since this was last reset.
    comments: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, ascii: bool) -> Self {
        let mut reader = Reader {
            text,
            line: None,
            start: 0,
            number: 0,
            rest: text,
            nodes: 0,
            ascii,
            comments: 0,
        };
        reader.advance();
        reader
    }

    fn advance(&mut self) {
        self.number += 1;
        if self.rest.is_empty() {
            self.line = None;
            return;
        }
        self.start = self.text.len() - self.rest.len();
        let end = self.rest.find('\n').unwrap_or(self.rest.len());
        self.line = Some(&self.rest[..end]);
        self.rest = self.rest.get(end + 1..).unwrap_or("");
    }

    /// The current line ("" past the last one).
    fn line(&self) -> &'a str {
        self.line.unwrap_or("")
    }

    /// Skips blank and comment lines; `None` for a line only the full parser may read.
    fn next_content(&mut self) -> Option<Next> {
        loop {
            let Some(line) = self.line else {
                return Some(Next::End);
            };
            let indent = indent(line);
            let body = &line[indent..];
            if body.is_empty() || body.starts_with('#') {
                self.comments += usize::from(!body.is_empty());
                self.advance();
                continue;
            }
            if indent == 0 {
                if let Some(after) = line.strip_prefix("---") {
                    return trailing(after).then_some(Next::End);
                }
                if line.starts_with("...") || line.starts_with('%') {
                    return None;
                }
            }
            return Some(Next::Line(indent));
        }
    }

    /// The position of byte `at` of the current line.
    fn pos(&self, at: usize) -> Pos {
        let col = match self.ascii {
            true => at,
            false => self.line()[..at].chars().count(),
        };
        Pos::new(self.number, col as u64 + 1)
    }

    fn node(&mut self, value: Value<'a>, pos: Pos) -> Option<Node<'a>> {
        self.nodes += 1;
        (self.nodes <= MAX_NODES).then_some(Node { value, pos })
    }

    /// A block mapping whose keys are at column `indent`; the current line holds its first key.
    fn map(&mut self, indent: usize, depth: usize) -> Option<Node<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let pos = self.pos(indent);
        // Room for a declaration's fields, grown once at most.
        let mut entries = Vec::with_capacity(if depth == 0 { 8 } else { 2 });
        loop {
            let line = self.line();
            let len = key_len(&line[indent..])?;
            let colon = indent + len;
            let key = plain(&line[indent..colon])?;
            let key = self.node(key, self.pos(indent))?;
            let after = colon + 1;
            let value = match line[after..].find(|c| c != ' ') {
                Some(i) if line.as_bytes()[after + i] != b'#' => self.inline(after + i, indent)?,
                comment => {
                    let at = self.pos(colon);
                    self.comments = usize::from(comment.is_some());
                    self.advance();
                    self.block_value(indent, at, depth)?
                }
            };
            entries.push((key, value));
            match self.next_content()? {
                Next::Line(i) if i == indent => {}
                Next::Line(i) if i > indent => return None,
                _ => break,
            }
        }
        self.node(Value::Map(entries), pos)
    }

    /// What follows `key:` on the next lines, for a key at column `indent`; `colon` is where an
    /// empty value is.
    fn block_value(&mut self, indent: usize, colon: Pos, depth: usize) -> Option<Node<'a>> {
        let next = self.next_content()?;
        // The full parser holds the comments it meets while looking for a value, 32 at most
        // (serde-saphyr's budget), and fails on more.
        if self.comments > MAX_COMMENTS {
            return None;
        }
        match next {
            Next::Line(i) if i > indent && is_entry(&self.line()[i..]) => {
                self.seq(i, false, depth + 1)
            }
            Next::Line(i) if i > indent => self.map(i, depth + 1),
            // A sequence may sit at its key's column.
            Next::Line(i) if i == indent && is_entry(&self.line()[i..]) => {
                self.seq(i, true, depth + 1)
            }
            _ => self.node(Value::Null, colon),
        }
    }

    /// A block sequence whose `-` are at column `indent`; the current line holds the first.
    /// One at its key's column (`indentless`) is where the full parser places it: after its
    /// first `-`, where the first item starts.
    fn seq(&mut self, indent: usize, indentless: bool, depth: usize) -> Option<Node<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut pos = (!indentless).then(|| self.pos(indent));
        let mut items = Vec::with_capacity(2);
        loop {
            let line = self.line();
            let at = indent + 1 + line[indent + 1..].find(|c| c != ' ')?;
            let body = &line[at..];
            if body.starts_with('#') || is_entry(body) {
                return None;
            }
            pos.get_or_insert_with(|| self.pos(at));
            let item = if key_len(body).is_some() {
                self.map(at, depth + 1)?
            } else {
                self.inline(at, indent)?
            };
            items.push(item);
            match self.next_content()? {
                Next::Line(i) if i == indent && is_entry(&self.line()[i..]) => {}
                Next::Line(i) if i > indent || i == indent && !indentless => return None,
                _ => break,
            }
        }
        self.node(Value::Seq(items), pos?)
    }

    /// A scalar at byte `at` of the current line, in a block at column `indent`; moves past it.
    fn inline(&mut self, at: usize, indent: usize) -> Option<Node<'a>> {
        let line = self.line();
        let pos = self.pos(at);
        let text = &line[at..];
        let value = match text.as_bytes()[0] {
            b'"' => {
                let end = 1 + text[1..].find('"')?;
                let inner = &text[1..end];
                if inner.contains('\\') || !trailing(&text[end + 1..]) {
                    return None;
                }
                Value::Str(Cow::Borrowed(inner))
            }
            b'\'' => {
                let (inner, end) = single_quoted(&text[1..])?;
                if !trailing(&text[1 + end..]) {
                    return None;
                }
                Value::Str(inner)
            }
            b'|' => return self.literal(&text[1..], indent),
            b'-' if text.len() == 1 || text.as_bytes()[1] == b' ' => return None,
            _ => {
                let text = match text.find(" #") {
                    Some(comment) => &text[..comment],
                    None => text,
                };
                let text = text.trim_end_matches(' ');
                if text.contains(": ") || text.ends_with(':') {
                    return None;
                }
                plain(text)?
            }
        };
        self.advance();
        self.node(value, pos)
    }

    /// A literal block scalar (`|` or `|-`, `header` being what follows the `|`) in a block at
    /// column `indent`, whose content starts on the next line.
    fn literal(&mut self, header: &str, indent: usize) -> Option<Node<'a>> {
        let strip = match header.trim_end_matches(' ') {
            "" => false,
            "-" => true,
            _ => return None,
        };
        self.advance();
        let mut text = String::new();
        let mut blank = 0;
        let mut widest_blank = 0;
        while let Some(line) = self.line.filter(|l| l.bytes().all(|b| b == b' ')) {
            widest_blank = widest_blank.max(line.len());
            blank += 1;
            self.advance();
        }
        let content = self::indent(self.line?);
        if content <= indent || widest_blank > content {
            return None;
        }
        let pos = self.pos(content);
        text.extend(std::iter::repeat_n('\n', blank));
        blank = 0;
        let mut first = true;
        while let Some(line) = self.line {
            if line.bytes().all(|b| b == b' ') {
                if line.len() > content {
                    return None;
                }
                blank += 1;
            } else if self::indent(line) < content {
                break;
            } else {
                if !first {
                    text.extend(std::iter::repeat_n('\n', blank + 1));
                }
                text.push_str(&line[content..]);
                first = false;
                blank = 0;
            }
            self.advance();
        }
        if !strip {
            text.push('\n');
        }
        self.node(Value::Str(Cow::Owned(text)), pos)
    }
}

/// How many spaces start `line`.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Whether `body` (a line from its first non-space) is a sequence entry, `- ...` or `-`.
fn is_entry(body: &str) -> bool {
    body == "-" || body.starts_with("- ")
}

/// Whether what follows a scalar or a `---` on its line is nothing or a comment.
fn trailing(after: &str) -> bool {
    let rest = after.trim_start_matches(' ');
    rest.is_empty() || rest.starts_with('#') && rest.len() < after.len()
}

/// The length of the plain key that `body` starts with, if it is one (`name:` followed by a
/// space or the end of the line) of the characters keys are made of.
fn key_len(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    if !bytes.first()?.is_ascii_alphanumeric() && !matches!(bytes[0], b'_' | b'/') {
        return None;
    }
    let len = bytes
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'/' | b'.' | b'-')))?;
    let ends = bytes[len] == b':' && bytes.get(len + 1).is_none_or(|&b| b == b' ');
    (ends && len <= MAX_KEY).then_some(len)
}

/// The value of a plain scalar as the full parser resolves it (YAML 1.2 core schema, strict
/// booleans), for the spellings whose value is certain; `None` for the others.
fn plain(text: &str) -> Option<Value<'_>> {
    let first = text.chars().next()?;
    if first.is_ascii_digit() || matches!(first, '-' | '+' | '.') {
        // A number is made of digits, letters (`0x1f`, `1e3`, `.inf`), `.`, `+`, `-` and `_`,
        // with one `.` at most: anything else is a string (`1.2.3`, `127.0.0.1:5000/x`).
        let numeric = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-' | b'_');
        if !text.bytes().all(numeric) || text.bytes().filter(|&b| b == b'.').count() > 1 {
            return Some(Value::Str(Cow::Borrowed(text)));
        }
        // Integers as written: no sign but `-`, no leading zeros, no `_`, no radix, no overflow.
        let digits = text.strip_prefix('-').unwrap_or(text);
        let canonical = digits == "0" && digits.len() == text.len()
            || !digits.is_empty()
                && digits.len() <= 18
                && !digits.starts_with('0')
                && digits.bytes().all(|b| b.is_ascii_digit());
        return canonical.then(|| text.parse().ok().map(Value::Int))?;
    }
    if text == "~" {
        return Some(Value::Null);
    }
    if !(first.is_alphabetic() || first == '_' || first == '/') {
        return None;
    }
    let value = match text {
        "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        // Other spellings of those, and what a float parser might read (`inf`, `NaN`).
        _ if {
            let starts = |word| text.get(..3).is_some_and(|s| s.eq_ignore_ascii_case(word));
            match first.to_ascii_lowercase() {
                'n' => text.eq_ignore_ascii_case("null") || starts("nan"),
                't' => text.eq_ignore_ascii_case("true"),
                'f' => text.eq_ignore_ascii_case("false"),
                'i' => starts("inf"),
                _ => false,
            }
        } =>
        {
            return None;
        }
        _ => Value::Str(Cow::Borrowed(text)),
    };
    Some(value)
}

/// The text of a single-quoted scalar that `text` (after its opening quote) starts with, and
/// where its closing quote is; `None` if it does not close on this line.
fn single_quoted(text: &str) -> Option<(Cow<'_, str>, usize)> {
    let mut owned: Option<String> = None;
    let mut from = 0;
    loop {
        let quote = from + text[from..].find('\'')?;
        if text.as_bytes().get(quote + 1) == Some(&b'\'') {
            owned
                .get_or_insert_with(String::new)
                .push_str(&text[from..=quote]);
            from = quote + 2;
            continue;
        }
        return Some(match owned {
            Some(mut owned) => {
                owned.push_str(&text[from..quote]);
                (Cow::Owned(owned), quote + 1)
            }
            None => (Cow::Borrowed(&text[..quote]), quote + 1),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_fully;
    use super::*;

    /// Whether the fast path reads `text`; when it does, it must read what the full parser
    /// reads, at the same positions.
    fn agrees(text: &str) -> bool {
        let Some(fast) = parse(text) else {
            return false;
        };
        assert_eq!(Ok(fast), parse_fully(text), "{text:?}");
        true
    }

    #[test]
    fn reads_declarations_as_the_full_parser_does() {
        for text in [
            "kind: Image\nname: \"x\"\nk: 'a''b'\nempty:\nnull: ~\nn: -3\nz: 0\n",
            "# c\n---\na:\n  - key: a\n    value: b\n  - plain # c\n  - |\n    lit\n\n    x\n",
            "a:\n- a\n- b: 1\n  c: 2\nd: |-\n\n  after a blank\ne: 127.0.0.1:5000/x:1\n",
            "a:\n- |\n  indentless, at the bar\n---\n---   # empty\nb: é ü\nc: \"ü\"\n",
            "a: b\nc:",
            "a: # c\n# d\n\n# e\n  b: 1\n",
            "a: Iméage\nb: nñ\nc: ñ\n",
            "x:\n  y:\n    - a\n    -   k: v\n        w: x\n  z: 1.2.3\n",
        ] {
            assert!(agrees(text), "the fast path gave up on {text:?}");
        }
    }

    #[test]
    fn leaves_everything_else_to_the_full_parser() {
        for text in [
            "a: [1]\n",
            "a: &x 1\nb: *x\n",
            "a: !t x\n",
            "<<: {a: 1}\n",
            "a: b\n  c\n",
            "a: \"x\\ny\"\n",
            "a: >\n  folded\n",
            "a:\tb\n",
            "a: b\r\n",
            "a: 1.5\n",
            "a: 007\n",
            "a: yes: no\n",
            "- a\n",
            " a: b\n",
            "a: 'open\n  more'\n",
            "%YAML 1.2\n---\na: b\n",
            "a: b\n...\n",
            "a: True\nb: tRUE\n",
            "a: \u{85}\n",
        ] {
            assert!(parse(text).is_none(), "{text:?}");
        }
        // serde-saphyr fails on more than 32 comments between a key and a value below it.
        let comments = format!("a:\n{}b: 1\n", "# a comment\n".repeat(40));
        assert!(parse(&comments).is_none());
        assert!(parse_fully(&comments).is_err());
    }

    /// Declaration-like texts changed at random, as a fuzzer would: wherever the fast path
    /// reads one, it agrees with the full parser.
    #[test]
    fn agrees_with_the_full_parser_on_mutated_declarations() {
        let seeds = [
            "kind: BaseImage\nname: base\ndockerUrl: 127.0.0.1:5000/base/python3:1\nlanguage: python3\ntags:\n  - key: role\n    value: base\n",
            "# images\nkind: Image\nname: image-1\nbaseImageName: base\nruntimeDependencies:\n  manifest: |\n    numpy==1.26.4\n    requests>=2\nsystemDependencies:\n  packages:\n    - name: curl\n      version: \"7.88\"\n---\nkind: Image\nname: 'b'\ntags:\n- key: a\n  value: b\n",
        ];
        let pieces = [
            " ",
            "  ",
            "\n",
            "- ",
            "-",
            ":",
            ": ",
            "#",
            " #",
            "|",
            "|-",
            "'",
            "\"",
            "a",
            "1",
            "---\n",
            "x: y\n",
            "  - k: v\n",
            "\n  ",
            "é",
            "~",
            "[",
            "&a ",
            "\t",
            "\r",
            "true",
            "0",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut random = |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        let mut accepted = 0;
        for seed in seeds {
            for _ in 0..1_000 {
                let mut text = seed.to_string();
                for _ in 0..1 + random(3) {
                    let at = random(text.len() + 1);
                    let at = (0..=at)
                        .rev()
                        .find(|&i| text.is_char_boundary(i))
                        .unwrap_or(0);
                    let end = (at + 1..=text.len())
                        .find(|&i| text.is_char_boundary(i))
                        .unwrap_or(text.len());
                    match random(3) {
                        0 => text.insert_str(at, pieces[random(pieces.len())]),
                        1 => text.replace_range(at..end, ""),
                        _ => text.replace_range(at..end, pieces[random(pieces.len())]),
                    }
                }
                accepted += usize::from(agrees(&text));
            }
        }
        // Many small changes leave a file the fast path still reads (about 30%).
        assert!(accepted > 300, "{accepted}");
    }
}
