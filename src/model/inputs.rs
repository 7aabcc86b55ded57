//! What an image is built from besides its declaration: the Dockerfile template `[templates]`
//! names for its language, and the `[build.args]` declared part of its identity. Kept in the
//! state with each built image, as digests (no build arg's value is written down), so that a
//! plan can say which of them changed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// The template dispatch.toml names; `None`: the built-in Dockerfile, or the base image's
    /// own template (which its digest, part of the identity already, decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateInput>,
    /// Each build arg of `[build] identity-args` that `[build.args]` sets: the digest of its
    /// value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
}

/// A Dockerfile template: where dispatch.toml says it is, and the digest of its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateInput {
    pub path: String,
    pub digest: String,
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

impl Inputs {
    /// Why an image built from `self` must be built again from `declared`: one reason per input
    /// that changed, none when they are the same. A template that only moved (the same text
    /// under another path) changes nothing the build reads.
    pub fn changes(&self, declared: &Inputs) -> Vec<String> {
        let mut reasons = Vec::new();
        match (&self.template, &declared.template) {
            (Some(old), Some(new)) if old.digest != new.digest => {
                reasons.push(format!("template {} changed", new.path));
            }
            (None, Some(new)) => reasons.push(format!("template {} added", new.path)),
            (Some(old), None) => reasons.push(format!("template {} removed", old.path)),
            _ => {}
        }
        let names: BTreeSet<&String> = self.args.keys().chain(declared.args.keys()).collect();
        for name in names {
            let how = match (self.args.get(name), declared.args.get(name)) {
                (Some(old), Some(new)) if old != new => "changed",
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                _ => continue,
            };
            reasons.push(format!("build arg {name} {how}"));
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(template: Option<(&str, &str)>, args: &[(&str, &str)]) -> Inputs {
        Inputs {
            template: template.map(|(path, text)| TemplateInput {
                path: path.into(),
                digest: digest(text.as_bytes()),
            }),
            args: args
                .iter()
                .map(|(k, v)| (k.to_string(), digest(v.as_bytes())))
                .collect(),
        }
    }

    #[test]
    fn each_input_that_changed_is_named() {
        let py = "templates/python3.Dockerfile";
        let old = inputs(Some((py, "FROM a")), &[("A", "1"), ("B", "1")]);
        assert_eq!(old.changes(&old.clone()), Vec::<String>::new());
        let new = inputs(Some((py, "FROM b")), &[("A", "2"), ("C", "1")]);
        assert_eq!(
            old.changes(&new),
            [
                "template templates/python3.Dockerfile changed",
                "build arg A changed",
                "build arg B removed",
                "build arg C added",
            ]
        );
        assert_eq!(
            inputs(None, &[]).changes(&inputs(Some((py, "x")), &[])),
            ["template templates/python3.Dockerfile added"]
        );
        assert_eq!(
            inputs(Some((py, "x")), &[]).changes(&inputs(None, &[])),
            ["template templates/python3.Dockerfile removed"]
        );
        // The same text elsewhere builds the same image.
        let moved = inputs(
            Some(("t/py.Dockerfile", "FROM a")),
            &[("A", "1"), ("B", "1")],
        );
        assert!(old.changes(&moved).is_empty());
    }

    #[test]
    fn the_state_keeps_digests_only_and_omits_what_is_empty() {
        let recorded = inputs(Some(("t", "FROM a")), &[("TOKEN", "s3cret")]);
        let json = serde_json::to_string(&recorded).unwrap();
        assert!(!json.contains("s3cret"), "{json}");
        assert!(!json.contains("FROM a"), "{json}");
        assert_eq!(serde_json::to_string(&Inputs::default()).unwrap(), "{}");
        let read: Inputs = serde_json::from_str(&json).unwrap();
        assert_eq!(read, recorded);
    }
}
