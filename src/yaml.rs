//! A YAML stream as a tree of nodes that remember where they came from.
//!
//! serde-saphyr does the parsing (a real YAML stream parser with limits against alias bombs,
//! deep nesting and oversized input); this module only keeps every node's position, so that
//! validation can report every problem at its own `line:col` instead of stopping at the first
//! serde error.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Budget, DuplicateKeyPolicy, MergeKeyPolicy, Options, Spanned};

use crate::diag::Pos;

/// A YAML node and the position of its first character.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Value {
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
}

/// Parses a YAML stream into one node per non-empty document.
pub fn parse_stream(text: &str) -> Result<Vec<Node>, SyntaxError> {
    serde_saphyr::from_multiple_with_options::<Node>(text, options()).map_err(|e| {
        let pos = e
            .location()
            .map(|l| Pos::new(l.line(), l.column()))
            .unwrap_or_default();
        SyntaxError {
            pos,
            message: clean_message(&e.without_snippet().to_string()),
        }
    })
}

fn options() -> Options {
    let mut budget = Budget::default();
    // Declarations are small and shallow; these bounds keep hostile input cheap to reject.
    budget.max_depth = 64;
    budget.max_nodes = 250_000;
    budget.max_aliases = 1_000;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options.merge_keys = MergeKeyPolicy::Merge;
    // YAML 1.2: `no`, `on` and `y` are strings, not booleans (the "Norway problem").
    options.strict_booleans = true;
    options
}

/// serde-saphyr appends "at line L, column C" to its messages; we print the position first.
fn clean_message(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    let message = message.strip_prefix("budget breached: ").map_or_else(
        || message.to_string(),
        |rest| {
            format!("input exceeds a safety limit ({rest}); aliases, nesting or size are too large")
        },
    );
    message.trim().to_string()
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        let at = spanned.referenced;
        Ok(Node {
            value: spanned.value,
            pos: Pos::new(at.line(), at.column()),
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Float(v as f64))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(Value::Float(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(node) = seq.next_element::<Node>()? {
            items.push(node);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(entry) = map.next_entry::<Node, Node>()? {
            entries.push(entry);
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::Str(text.to_string())
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
    fn duplicate_keys_are_errors() {
        assert!(parse_stream("a: 1\na: 2\n").is_err());
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
        assert!(err.message.contains("limit"), "{}", err.message);
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(parse_stream(&text).is_err());
    }
}
