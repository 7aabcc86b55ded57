//! package.json, as npm reads it.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::value::RawValue;

use super::Found;

/// The sections npm installs in a production install, which is what an image holds:
/// `devDependencies` are not installed and `peerDependencies` are declared by whoever depends on
/// the package.
const NPM_SECTIONS: [&str; 2] = ["dependencies", "optionalDependencies"];

/// A JSON object, each key once: the last of the same key wins, as in JavaScript's
/// `JSON.parse` (keys are compared unescaped). The values are the text they are written as.
type Object<'a> = HashMap<JsonString, &'a RawValue>;

/// The dependencies of a package.json's `NPM_SECTIONS`, each at its key. serde_json reads the
/// document; each value's place in the text is that of the slice serde_json borrows for it, and
/// its key is written just before it. A document that is not JSON declares nothing: npm refuses
/// it.
pub(super) fn read(text: &str) -> Vec<Found> {
    let Ok(manifest) = serde_json::from_str::<Object>(text) else {
        return Vec::new();
    };
    let sections = NPM_SECTIONS
        .iter()
        .filter_map(|section| manifest.get(*section))
        .filter_map(|section| serde_json::from_str::<Object>(section.get()).ok());
    sections
        .flatten()
        .filter_map(|(JsonString(key), value)| {
            let JsonString(spec) = serde_json::from_str(value.get()).ok()?;
            let value_at = offset_in(text, value.get())?;
            let at = key_start(text, value_at)?;
            let (name, spec) = npm_target(&key, &spec);
            let written = text.get(at..value_at + value.get().len())?;
            Some(Found::new(at, name.to_string(), npm_pin(spec), written))
        })
        .collect()
}

/// Where `part`, a slice of `text`, starts in it.
fn offset_in(text: &str, part: &str) -> Option<usize> {
    let at = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    (at + part.len() <= text.len()).then_some(at)
}

/// Where the key of the value at `value_at` starts: its opening quote, the last `"` before
/// `"key" :` that no odd run of backslashes escapes.
fn key_start(text: &str, value_at: usize) -> Option<usize> {
    let before = text.get(..value_at)?.trim_end();
    let key = before.strip_suffix(':')?.trim_end().strip_suffix('"')?;
    let mut end = key.len();
    loop {
        let quote = key[..end].rfind('"')?;
        let backslashes = quote - key[..quote].trim_end_matches('\\').len();
        if backslashes % 2 == 0 {
            return Some(quote);
        }
        end = quote;
    }
}

/// The package a dependency installs and its spec: an alias (`"my-lodash": "npm:lodash@4"`)
/// installs the package it names, which is the one policies are about.
fn npm_target<'a>(key: &'a str, spec: &'a str) -> (&'a str, &'a str) {
    let Some(alias) = spec.trim().strip_prefix("npm:") else {
        return (key, spec);
    };
    // A scoped name starts with `@`; the version's `@` comes after it.
    match alias.char_indices().skip(1).find(|&(_, c)| c == '@') {
        Some((at, _)) => (&alias[..at], &alias[at + 1..]),
        None => (alias, ""),
    }
}

/// The version an npm spec pins: a whole semver version, which npm's loose reading allows
/// after `v`s, `=`s and spaces; not a range, tag, URL, path or git spec.
fn npm_pin(spec: &str) -> Option<String> {
    let version = spec
        .trim()
        .trim_start_matches(|c: char| c == 'v' || c == '=' || c.is_whitespace());
    // nodejs_semver reads a version at the start of its input and ignores the rest
    // (`1.2.3 - 2.0.0`): only one written exactly as it prints is whole.
    let parsed = nodejs_semver::Version::parse(version).ok()?;
    (parsed.to_string() == version).then(|| version.to_string())
}

/// A JSON string, unescaped, with a lone surrogate escape (`"\ud800"`) read as U+FFFD as
/// JavaScript would keep it, where serde_json refuses the document.
#[derive(PartialEq, Eq, Hash)]
struct JsonString(String);

impl std::borrow::Borrow<str> for JsonString {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for JsonString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Lossy;
        impl Visitor<'_> for Lossy {
            type Value = JsonString;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<JsonString, E> {
                Ok(JsonString(String::from_utf8_lossy(bytes).into_owned()))
            }
        }
        // serde_json hands a string's bytes unescaped but unchecked.
        deserializer.deserialize_bytes(Lossy)
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest::declared;
    use crate::manifest::tests::{dep, pins, read, texts};
    use crate::model::Language;
    use crate::model::catalog::Ecosystem;

    #[test]
    fn package_json_dependencies_are_read_at_their_keys() {
        let manifest = r#"{
  "name": "app",
  "devDependencies": {
    "lodash": "4.17.21",
    "jest": "29.0.0"
  },
  "dependencies": {
    "lodash": "4.17.20",
    "@types/node": "=20.1.0",
    "express": "^4.18.2"
  },
  "optionalDependencies": { "fsevents": "v2.3.2" },
  "peerDependencies": { "react": "18.2.0" }
}
"#;
        assert_eq!(
            read(Language::Nodejs, manifest),
            vec![
                dep("lodash", Some("4.17.20"), 8, 5),
                dep("@types/node", Some("20.1.0"), 9, 5),
                dep("express", None, 10, 5),
                dep("fsevents", Some("2.3.2"), 12, 29),
            ]
        );
        assert_eq!(
            texts(Language::Nodejs, manifest),
            [
                r#""lodash": "4.17.20""#,
                r#""@types/node": "=20.1.0""#,
                r#""express": "^4.18.2""#,
                r#""fsevents": "v2.3.2""#,
            ]
        );
        assert!(
            declared(Language::Nodejs, manifest)
                .iter()
                .all(|d| d.ecosystem == Ecosystem::Npm)
        );
    }

    #[test]
    fn only_an_exact_npm_version_pins() {
        let specs = [
            ("1.2.3", Some("1.2.3")),
            ("=1.2.3", Some("1.2.3")),
            ("v1.2.3", Some("1.2.3")),
            ("= v1.2.3 ", Some("1.2.3")),
            ("1.2.3-beta.1+build.5", Some("1.2.3-beta.1+build.5")),
            ("^1.2.3", None),
            ("~1.2.3", None),
            (">=1.2.3", None),
            (">=1.0.0 <2.0.0", None),
            ("1.2.x", None),
            ("1.2", None),
            ("*", None),
            ("", None),
            ("latest", None),
            ("1.2.3 - 2.0.0", None),
            ("1.2.3 || 2.0.0", None),
            ("1.2.3-", None),
            ("file:../local", None),
            ("git+https://github.com/o/r.git#v1.2.3", None),
            ("https://example.com/p-1.2.3.tgz", None),
            ("github:o/r", None),
        ];
        for (spec, pinned) in specs {
            let manifest = format!(
                r#"{{"dependencies": {{"p": {}}}}}"#,
                serde_json::json!(spec)
            );
            let found = declared(Language::Nodejs, &manifest);
            assert_eq!(found.len(), 1, "{spec}");
            assert_eq!(found[0].pinned.as_deref(), pinned, "{spec}");
        }
    }

    #[test]
    fn an_npm_alias_declares_the_package_it_installs() {
        let manifest = r#"{"dependencies": {
            "old-lodash": "npm:lodash@4.17.20",
            "scoped": "npm:@scope/pkg@^1.0.0",
            "bare": "npm:left-pad"
        }}"#;
        assert_eq!(
            pins(Language::Nodejs, manifest),
            [
                ("lodash".to_string(), Some("4.17.20".to_string())),
                ("@scope/pkg".to_string(), None),
                ("left-pad".to_string(), None),
            ]
        );
    }

    #[test]
    fn package_json_keys_are_located_past_escapes_and_duplicates() {
        let manifest = "{\"description\": \"\\\"dependencies\\\": {\\\"x\\\": \\\"1.0.0\\\"}\",\n\
                        \"dependencies\": {\"odd\\\\\": \"1.0.0\", \"q\\\"uote\": \"2.0.0\",\n\
                        \"\\u0061bc\"  :\n  \"3.0.0\", \"dup\": \"1.0.0\", \"dup\": \"2.0.0\"}}";
        assert_eq!(
            read(Language::Nodejs, manifest),
            vec![
                dep("odd\\", Some("1.0.0"), 2, 18),
                dep("q\"uote", Some("2.0.0"), 2, 36),
                dep("abc", Some("3.0.0"), 3, 1),
                // The last of a key wins, as in JSON.parse.
                dep("dup", Some("2.0.0"), 4, 28),
            ]
        );
    }

    #[test]
    fn the_last_dependencies_section_wins() {
        let manifest = r#"{"dependencies": {"a": "1.0.0"}, "dependencies": {"b": "1.0.0"}}"#;
        assert_eq!(
            read(Language::Nodejs, manifest),
            vec![dep("b", Some("1.0.0"), 1, 51)]
        );
    }

    #[test]
    fn package_json_accepts_crlf_a_bom_and_a_lone_surrogate() {
        let manifest = "\u{feff}{\r\n  \"description\": \"\\ud800\",\r\n  \"dependencies\": {\r\n    \"lodash\": \"4.17.20\"\r\n  }\r\n}\r\n";
        assert_eq!(
            read(Language::Nodejs, manifest),
            vec![dep("lodash", Some("4.17.20"), 4, 5)]
        );
    }

    #[test]
    fn package_json_that_is_not_json_or_not_shaped_as_expected_declares_what_it_can() {
        for manifest in [
            "",
            "[]",
            "{\"dependencies\": {\"a\": \"1.0.0\",}}",
            "{\"dependencies\": {\"a\": \"1.0.0\"}",
            "{\"dependencies\": [\"a\"]}",
            "not json at all",
        ] {
            assert_eq!(read(Language::Nodejs, manifest), vec![], "{manifest}");
        }
        let mixed =
            r#"{"dependencies": {"a": 1, "b": {"version": "1.0.0"}, "c": "1.0.0", "d": null}}"#;
        assert_eq!(
            read(Language::Nodejs, mixed),
            vec![dep("c", Some("1.0.0"), 1, 54)]
        );
    }
}
