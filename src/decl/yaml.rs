//! A YAML stream as a tree of nodes that remember where they came from.
//!
//! serde-saphyr does the parsing (a real YAML stream parser with limits against alias bombs,
//! deep nesting and oversized input); this module only keeps every node's position, so that
//! validation can report every problem at its own `line:col` instead of stopping at the first
//! serde error. Duplicate keys are kept too: the loader reports them with both positions.
//! Files written in the plain block style of declarations are read by [`fast`] instead, to the
//! same nodes, several times faster.

pub mod fast;

use crate::model::text::{code_point, is_hazard};
use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::ErrorKind;
use serde_saphyr::options::AliasLimits;
use serde_saphyr::{
    Budget, DuplicateKeyPolicy, Error, ExternalMessageSource, MergeKeyPolicy, Options, Spanned,
};

use crate::model::diag::Pos;

/// A YAML node and the position of its first character. Its strings borrow from the text
/// where they can (`'a`).
#[derive(Debug, Clone, PartialEq)]
pub struct Node<'a> {
    pub value: Value<'a>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Seq(Vec<Node<'a>>),
    Map(Vec<(Node<'a>, Node<'a>)>),
}

impl Value<'_> {
    /// What the user wrote, in the words an error message needs ("a string", "a list").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A syntax error (or a breached input limit) with its position in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

// A document declares one resource: small and shallow. These bounds hold for each document,
// so a file may hold as many documents as its size allows (README.md, "Declarations"), while
// hostile input is cheap to reject.
pub const MAX_DEPTH: usize = 64;
pub const MAX_NODES: usize = 50_000;
pub const MAX_ALIASES: usize = 1_000;
/// Events aliases may replay in a whole file: far more than sharing tags in every document of
/// the largest file takes, and fatal to an alias bomb in milliseconds.
pub const MAX_REPLAYED_EVENTS: usize = 1_000_000;

/// Parses a YAML stream into one node per non-empty document, each held to the limits above.
pub fn parse_stream(text: &str) -> Result<Vec<Node<'_>>, SyntaxError> {
    match fast::parse(text) {
        Some(documents) => Ok(documents),
        None => parse_fully(text),
    }
}

/// [`parse_stream`] by serde-saphyr, whatever the text holds: what the fast path is checked
/// against.
pub fn parse_fully(text: &str) -> Result<Vec<Node<'static>>, SyntaxError> {
    let mut reader = text.as_bytes();
    let mut documents = Vec::new();
    // The reader iterator enforces the budget per document; after an error it stops.
    for document in serde_saphyr::read_with_options::<_, Node>(&mut reader, options()) {
        documents.push(document.map_err(|e| explain(&e, text))?);
    }
    Ok(documents)
}

fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.flow_nesting_limit = MAX_DEPTH;
    budget.max_nodes = MAX_NODES;
    budget.max_aliases = MAX_ALIASES;
    let mut alias_limits = AliasLimits::default();
    alias_limits.max_total_replayed_events = MAX_REPLAYED_EVENTS;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.alias_limits = alias_limits;
    options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
    options.merge_keys = MergeKeyPolicy::Merge;
    // YAML 1.2: `no`, `on` and `y` are strings, not booleans (the "Norway problem").
    options.strict_booleans = true;
    options
}

/// A parse error in our words, with a hint for the mistakes people make most.
fn explain(err: &Error, text: &str) -> SyntaxError {
    let pos = err
        .location()
        .map(|l| Pos::new(l.line(), l.column()))
        .unwrap_or_default();
    let mut err = err;
    while let Error::WithSnippet { error, .. } | Error::AliasError { error, .. } = err {
        err = error;
    }
    let error = |message: String, hint: Option<&str>| SyntaxError {
        pos,
        message,
        hint: hint.map(str::to_string),
    };
    let too_deep = || {
        error(
            format!("nesting is deeper than {MAX_DEPTH} levels"),
            Some("declarations need only a few levels; look for brackets that are never closed"),
        )
    };
    let too_big = |what: String| {
        error(
            format!("the document is too large for a declaration ({what})"),
            Some("a document declares one resource; split what it holds into several documents"),
        )
    };
    match err {
        Error::Budget {
            breach: BudgetBreach::Depth { .. },
            ..
        } => too_deep(),
        Error::Budget {
            breach: BudgetBreach::Nodes { .. },
            ..
        } => error(
            format!(
                "the document is too large for a declaration (more than {MAX_NODES} values, counting what aliases repeat)"
            ),
            Some(
                "a document declares one resource: split it into several documents, and share values with anchors (`&name`) and aliases (`*name`) rather than multiply them",
            ),
        ),
        Error::Budget {
            breach: BudgetBreach::Aliases { .. },
            ..
        } => too_big(format!("more than {MAX_ALIASES} aliases")),
        Error::Budget {
            breach: BudgetBreach::AliasAnchorRatio { aliases, anchors },
            ..
        } => error(
            format!("{aliases} aliases repeat only {anchors} anchors (an alias bomb?)"),
            Some(
                "use anchors (`&name`) and aliases (`*name`) to share a value, not to multiply it",
            ),
        ),
        Error::Budget { breach, .. } => too_big(format!("{breach:?}")),
        Error::AliasReplayLimitExceeded { .. }
        | Error::AliasExpansionLimitExceeded { .. }
        | Error::AliasReplayStackDepthExceeded { .. } => error(
            "aliases expand to too much data (an alias bomb?)".into(),
            Some(
                "use anchors (`&name`) and aliases (`*name`) to share a value, not to multiply it",
            ),
        ),
        Error::ExternalMessage { source, msg, .. } => {
            let ExternalMessageSource::Parser(scan) = source.as_ref() else {
                return error(clean_message(msg), None);
            };
            match scan.kind() {
                ErrorKind::RecursionLimitExceeded => too_deep(),
                ErrorKind::TabNotAllowed
                | ErrorKind::TabInBlockIndentation
                | ErrorKind::TabInIndentation
                | ErrorKind::TabInPlainScalar
                | ErrorKind::TabAtBlockScalarStart => match tab_in_indentation(text, pos) {
                    Some(pos) => SyntaxError {
                        pos,
                        message: "a tab in the indentation".into(),
                        hint: Some("indent with spaces; YAML does not allow tabs there".into()),
                    },
                    None => error(clean_message(msg), None),
                },
                ErrorKind::UnexpectedCharacter { character } if is_hazard(*character) => error(
                    format!("unexpected character {}", code_point(*character)),
                    Some(
                        "remove it: YAML allows control characters only as escapes in double-quoted strings (\"\\a\")",
                    ),
                ),
                ErrorKind::UnexpectedCharacter { character } => error(
                    format!("unexpected character `{character}`"),
                    (*character == '@').then_some(
                        "quote a value that starts with `@`, e.g. manifest: '@requirements.txt'",
                    ),
                ),
                ErrorKind::InvalidColonPlacement => error(
                    clean_message(msg),
                    Some(
                        "this line is still inside a `[` or `{` opened earlier; is its closing bracket missing?",
                    ),
                ),
                ErrorKind::MappingValueNotAllowed => error(
                    clean_message(msg),
                    Some(
                        "check the indentation of this line, and quote a value that contains `: `",
                    ),
                ),
                _ => error(clean_message(msg), None),
            }
        }
        other => error(clean_message(&other.to_string()), None),
    }
}

/// The first tab in the indentation of the line at `from` or below. The scanner may notice a
/// tab late, e.g. at the start of the plain scalar that the tab's line would continue.
fn tab_in_indentation(text: &str, from: Pos) -> Option<Pos> {
    let skip = (from.line as usize).saturating_sub(1);
    text.lines().enumerate().skip(skip).find_map(|(i, line)| {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let col = line[..indent].find('\t')?;
        Some(Pos::new(i as u64 + 1, col as u64 + 1))
    })
}

/// serde-saphyr appends "at line L, column C" to its messages; we print the position first.
/// A character one cannot see is named by its code point (`U+0007`), not quoted raw.
fn clean_message(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message).trim();
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(c) = rest.chars().next() {
        let quoted = rest.strip_prefix('`').and_then(|r| {
            let c = r.chars().next().filter(|&c| is_hazard(c))?;
            r[c.len_utf8()..].starts_with('`').then_some(c)
        });
        match quoted {
            Some(hidden) => {
                out.push_str(&code_point(hidden));
                rest = &rest[2 + hidden.len_utf8()..];
            }
            None if is_hazard(c) => {
                out.push_str(&code_point(c));
                rest = &rest[c.len_utf8()..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

impl<'de> Deserialize<'de> for Node<'static> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        let at = spanned.referenced;
        Ok(Node {
            value: spanned.value,
            pos: Pos::new(at.line(), at.column()),
        })
    }
}

impl<'de> Deserialize<'de> for Value<'static> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'static>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Self::Value, E> {
        Ok(Value::Float(v as f64))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Self::Value, E> {
        Ok(Value::Float(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Value::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Value::Str(Cow::Owned(v)))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        Ok(Value::Str(Cow::Owned(
            String::from_utf8_lossy(v).into_owned(),
        )))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(node) = seq.next_element::<Node<'static>>()? {
            items.push(node);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(entry) = map.next_entry::<Node<'static>, Node<'static>>()? {
            entries.push(entry);
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value<'_> {
        Value::Str(Cow::Borrowed(text))
    }

    #[test]
    fn keeps_positions_and_skips_empty_documents() {
        let docs = parse_stream("---\n---\nkind: Image\nname: x\n---\n").unwrap();
        assert_eq!(docs.len(), 1);
        let Value::Map(entries) = &docs[0].value else {
            panic!("not a map")
        };
        assert_eq!(entries[1].0.value, s("name"));
        assert_eq!(entries[1].1.pos, Pos { line: 4, col: 7 });
    }

    #[test]
    fn document_marker_inside_block_scalar_is_text() {
        let docs = parse_stream("manifest: |\n  a\n  ---\n  b\n").unwrap();
        assert_eq!(docs.len(), 1);
        let Value::Map(entries) = &docs[0].value else {
            panic!("not a map")
        };
        assert_eq!(entries[0].1.value, s("a\n---\nb\n"));
    }

    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let docs = parse_stream("a: no\nb: true\n").unwrap();
        let Value::Map(entries) = &docs[0].value else {
            panic!("not a map")
        };
        assert_eq!(entries[0].1.value, s("no"));
        assert_eq!(entries[1].1.value, Value::Bool(true));
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_stream("a:\n  b: [1, 2\n  c: 3\n").unwrap_err();
        assert_eq!(err.pos.line, 3);
        assert!(!err.message.contains("at line"), "{}", err.message);
    }

    #[test]
    fn duplicate_keys_are_kept_for_the_loader_to_report() {
        let docs = parse_stream("a: 1\na: 2\n").unwrap();
        let Value::Map(entries) = &docs[0].value else {
            panic!("not a map")
        };
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].0.pos, Pos { line: 2, col: 1 });
    }

    #[test]
    fn alias_bomb_is_rejected() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            text += &format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            );
        }
        let err = parse_stream(&text).unwrap_err();
        assert!(
            err.message.contains("counting what aliases repeat"),
            "{}",
            err.message
        );
    }

    #[test]
    fn aliases_that_share_a_value_are_fine() {
        let text = "a: &tags [{key: role, value: docs}]\nb: *tags\nc: *tags\n";
        assert_eq!(parse_stream(text).unwrap().len(), 1);
    }

    #[test]
    fn deep_nesting_is_rejected() {
        for text in [
            "[".repeat(10_000) + &"]".repeat(10_000),
            "{a: ".repeat(10_000) + &"}".repeat(10_000),
        ] {
            let err = parse_stream(&text).unwrap_err();
            assert_eq!(err.message, "nesting is deeper than 64 levels");
        }
    }

    /// A document `depth` levels deep (the document's mapping counts as one).
    fn nested(depth: usize) -> String {
        let mut text = "x".to_string();
        for _ in 1..depth {
            text = format!("[{text}]");
        }
        format!("a: {text}\n")
    }

    #[test]
    fn every_limit_holds_per_document_on_both_sides() {
        // Depth, on a stack like the loader's parsing threads have.
        let depth = |n| {
            std::thread::Builder::new()
                .stack_size(crate::decl::PARSER_STACK)
                .spawn(move || parse_stream(&nested(n)).map(|_| ()))
                .unwrap()
                .join()
                .unwrap()
        };
        assert!(depth(MAX_DEPTH).is_ok());
        let err = depth(MAX_DEPTH + 1).unwrap_err();
        assert_eq!(err.message, "nesting is deeper than 64 levels");
        // Values: the mapping and its key count as two.
        let values = |n: usize| format!("a: [{}]\n", vec!["1"; n].join(", "));
        assert!(parse_stream(&values(MAX_NODES - 3)).is_ok());
        let err = parse_stream(&values(MAX_NODES)).unwrap_err();
        assert!(
            err.message.contains("more than 50000 values"),
            "{}",
            err.message
        );
        // Aliases.
        // Ten aliases to each anchor: as many as an anchor may have before it looks like a bomb.
        let aliases = |n: usize| {
            let anchors: Vec<String> = (0..n.div_ceil(10))
                .map(|i| format!("a{i}: &a{i} 1\n"))
                .collect();
            let used: Vec<String> = (0..n).map(|i| format!("*a{}", i / 10)).collect();
            format!("{}b: [{}]\n", anchors.concat(), used.join(", "))
        };
        let at_limit = aliases(MAX_ALIASES);
        let at_limit = parse_stream(&at_limit);
        assert!(at_limit.is_ok(), "{at_limit:?}");
        let err = parse_stream(&aliases(MAX_ALIASES + 1)).unwrap_err();
        assert!(
            err.message.contains("more than 1000 aliases"),
            "{}",
            err.message
        );
        // Each document has its own allowance: many documents at the limit are fine.
        let many = (0..5)
            .map(|_| aliases(MAX_ALIASES))
            .collect::<Vec<_>>()
            .join("---\n");
        assert_eq!(parse_stream(&many).unwrap().len(), 5);
    }

    #[test]
    fn a_file_may_hold_many_thousand_documents() {
        let doc = "kind: Image\nname: i\ntags: &t [{key: a, value: b}]\nmore: *t\n";
        let text = vec![doc; 10_000].join("---\n");
        assert_eq!(parse_stream(&text).unwrap().len(), 10_000);
    }

    #[test]
    fn tab_is_reported_where_it_is() {
        // The scanner notices this tab at `BaseImage`, the scalar line 2 would continue.
        let err = parse_stream("kind: BaseImage\n\tname: x\n").unwrap_err();
        assert_eq!(
            (err.pos, err.message.as_str()),
            (Pos::new(2, 1), "a tab in the indentation")
        );
        let err = parse_stream("a:\n  b:\n  \t c: 1\n").unwrap_err();
        assert_eq!(err.pos, Pos::new(3, 3));
    }

    #[test]
    fn characters_one_cannot_see_are_named_by_code_point() {
        for (text, named) in [
            ("kind: Base\u{7}Image\n", "U+0007"),
            ("name: \u{0}\n", "U+0000"),
            ("a: 1\n\u{1b}[2K: 2\n", "U+001B"),
        ] {
            let err = parse_stream(text).unwrap_err();
            assert!(err.message.contains(named), "{text:?}: {}", err.message);
            assert!(!err.message.chars().any(is_hazard), "{:?}", err.message);
        }
    }

    #[test]
    fn unquoted_at_gets_a_hint() {
        let err = parse_stream("manifest: @requirements.txt\n").unwrap_err();
        assert_eq!(err.message, "unexpected character `@`");
        assert!(err.hint.unwrap().contains("'@requirements.txt'"));
    }
}
