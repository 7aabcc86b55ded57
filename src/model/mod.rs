//! The resources dispatch manages, as declared and as recorded in the state: light types with
//! no I/O, shared by every layer above.

pub mod advisory;
pub mod catalog;
pub mod diag;
pub mod image;
pub mod inputs;
pub mod language;
pub mod oci;
pub mod policy;
pub mod rebase;
pub mod reference;
pub mod text;
pub mod versions;
pub mod words;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use language::Language;
pub use rebase::RebasePolicy;
use reference::ImageRef;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    BaseImage,
    Image,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::BaseImage, Kind::Image];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::BaseImage => "BaseImage",
            Kind::Image => "Image",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Kind/name`, the identity of a resource in plans, state and `--target`. Ordered by kind
/// (base images first), then by name with numbers in numeric order (`img2` before `img10`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    pub kind: Kind,
    pub name: String,
}

impl Address {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        Address {
            kind,
            name: name.into(),
        }
    }
}

impl Ord for Address {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.kind
            .cmp(&other.kind)
            .then_with(|| natural_order(&self.name, &other.name))
    }
}

/// `a` against `b` in natural order (`alphanumeric_sort`), then byte by byte: natural order may
/// call `a01` and `a1` equal; names that differ never are. Every map of resources orders by it,
/// 100,000 names at a time, so the start two names share is skipped up to its last character
/// other than a digit (`image-` of `image-0041` and `image-0042`): natural order reads such a
/// start as it reads nothing, digits before it being compared as equal numbers.
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    let shared = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    if shared == a.len() && shared == b.len() {
        return std::cmp::Ordering::Equal;
    }
    let skip = a.as_bytes()[..shared]
        .iter()
        .rposition(|c| c.is_ascii() && !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    alphanumeric_sort::compare_str(&a[skip..], &b[skip..])
        .then_with(|| a.as_bytes()[shared..].cmp(&b.as_bytes()[shared..]))
}

impl PartialOrd for Address {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// Text that is no address, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("invalid address {0:?}: expected KIND/NAME, e.g. BaseImage/my-python-base")]
    Shape(String),
    #[error("invalid address {0:?}: kind must be BaseImage or Image")]
    Kind(String),
    #[error("invalid address {0:?}: {NAME_RULE}")]
    Name(String),
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, AddressError> {
        let (kind, name) = s
            .split_once('/')
            .ok_or_else(|| AddressError::Shape(s.to_string()))?;
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(kind))
            .ok_or_else(|| AddressError::Kind(s.to_string()))?;
        if !valid_name(name) {
            return Err(AddressError::Name(s.to_string()));
        }
        Ok(Address::new(kind, name))
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

pub const NAME_RULE: &str = "a name is an ASCII letter, digit or `_`, then letters, digits, `_` and `-`, at most 128 in all (the original Dispatch's `^[\\w\\d][\\w\\d\\-]*$`)";

/// The original Dispatch API's `^[\w\d][\w\d\-]*$` (Go's `\w` is ASCII: `[0-9A-Za-z_]`), at
/// most 128 characters: every name a resource or policy has, wherever it is read. What a name
/// becomes in an image reference is [`crate::build::naming`]'s.
pub fn valid_name(name: &str) -> bool {
    word(name, "_", "_-")
}

/// At most 128 characters: a letter, digit or one of `lead`, then letters, digits and
/// `punctuation`. The names and package strings that reach a Dockerfile or a shell are all of
/// this kind.
fn word(text: &str, lead: &str, punctuation: &str) -> bool {
    text.len() <= 128
        && text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || lead.contains(c))
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || punctuation.contains(c))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaseImageSpec {
    pub docker_url: ImageRef,
    pub language: Language,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Whether the images on it may be rebased when it is patched in place. Left out when
    /// `auto`, so that a resource's digest is the one it had before the field existed.
    #[serde(default, skip_serializing_if = "RebasePolicy::is_auto")]
    pub rebase: RebasePolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    pub base_image_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_dependencies: Option<RuntimeDependencies>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_dependencies: Option<SystemDependencies>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The language manifest (`requirements.txt`, `package.json`, ...), resolved to its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeDependencies {
    pub manifest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemDependencies {
    pub packages: Vec<Package>,
}

/// The punctuation a package name may hold besides letters and digits: Debian, Alpine and RPM
/// names, and nothing a shell would interpret.
pub const PACKAGE_NAME_PUNCTUATION: &str = ".+_:-";
/// The punctuation a package version may hold besides letters and digits.
pub const PACKAGE_VERSION_PUNCTUATION: &str = ".+~:_-";

pub fn valid_package_name(name: &str) -> bool {
    word(name, "", PACKAGE_NAME_PUNCTUATION)
}

pub fn valid_package_version(version: &str) -> bool {
    word(version, "", PACKAGE_VERSION_PUNCTUATION)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Package {
    /// Whether both parts follow their rules: nothing a shell would interpret reaches a
    /// Dockerfile, whichever way the package was declared.
    pub fn is_valid(&self) -> bool {
        valid_package_name(&self.name) && self.version.as_deref().is_none_or(valid_package_version)
    }
}

impl fmt::Display for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(version) => write!(f, "{}={version}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Spec {
    BaseImage(BaseImageSpec),
    Image(ImageSpec),
}

/// The commit declarations came from, and whether the work tree differed from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// The commit's full sha.
    pub commit: String,
    /// The declarations were read from a work tree with changes not committed.
    #[serde(default)]
    pub dirty: bool,
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = &self.commit[..self.commit.len().min(12)];
        write!(f, "{short}{}", if self.dirty { "-dirty" } else { "" })
    }
}

/// A resource with everything resolved (no `@file` left): what a plan compares and the state keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub name: String,
    #[serde(flatten)]
    pub spec: Spec,
}

impl Resource {
    pub fn kind(&self) -> Kind {
        match self.spec {
            Spec::BaseImage(_) => Kind::BaseImage,
            Spec::Image(_) => Kind::Image,
        }
    }

    pub fn address(&self) -> Address {
        Address::new(self.kind(), self.name.clone())
    }

    pub fn tags(&self) -> &[Tag] {
        match &self.spec {
            Spec::BaseImage(b) => &b.tags,
            Spec::Image(i) => &i.tags,
        }
    }

    /// The address of the resource this one is built on, if any.
    pub fn depends_on(&self) -> Option<Address> {
        match &self.spec {
            Spec::BaseImage(_) => None,
            Spec::Image(i) => Some(Address::new(Kind::BaseImage, i.base_image_name.clone())),
        }
    }

    /// `sha256:<hex>` of the canonical JSON of the resolved resource: equal digests, nothing to do.
    pub fn digest(&self) -> String {
        let json = serde_json::to_vec(self).expect("a resource always serializes");
        format!("sha256:{:x}", Sha256::digest(json))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_skipping_the_shared_start_is_natural_order() {
        let whole = |a: &str, b: &str| alphanumeric_sort::compare_str(a, b).then_with(|| a.cmp(b));
        let alphabet = [
            "a", "b", "-", ".", "0", "00", "1", "2", "9", "10", "é", "點", "Z",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut random = |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        let name = |random: &mut dyn FnMut(usize) -> usize| {
            (0..random(7))
                .map(|_| alphabet[random(alphabet.len())])
                .collect::<String>()
        };
        for _ in 0..20_000 {
            let a = name(&mut random);
            // Often a variant of `a`, to share a start with it.
            let b = match random(3) {
                0 => name(&mut random),
                _ => {
                    let cut = (0..=random(a.len() + 1).min(a.len()))
                        .rev()
                        .find(|&i| a.is_char_boundary(i))
                        .unwrap_or(0);
                    format!("{}{}", &a[..cut], name(&mut random))
                }
            };
            assert_eq!(natural_order(&a, &b), whole(&a, &b), "{a:?} {b:?}");
        }
    }

    #[test]
    fn address_round_trips() {
        let a: Address = "BaseImage/my-python-base".parse().unwrap();
        assert_eq!(a, Address::new(Kind::BaseImage, "my-python-base"));
        assert_eq!(a.to_string(), "BaseImage/my-python-base");
        assert_eq!("image/x".parse::<Address>().unwrap().kind, Kind::Image);
        assert!("Function/x".parse::<Address>().is_err());
        assert!("Image/-x".parse::<Address>().is_err());
        assert!("x".parse::<Address>().is_err());
    }

    #[test]
    fn addresses_sort_by_kind_then_naturally() {
        let mut addresses: Vec<Address> = [
            "Image/img10",
            "Image/img2",
            "BaseImage/z",
            "Image/a01",
            "Image/a1",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        addresses.sort();
        let names: Vec<String> = addresses.iter().map(Address::to_string).collect();
        assert_eq!(
            names,
            [
                "BaseImage/z",
                "Image/a1",
                "Image/a01",
                "Image/img2",
                "Image/img10"
            ]
        );
    }

    #[test]
    fn names_follow_the_original_rule() {
        // What the original's `^[\w\d][\w\d\-]*$` accepted.
        for name in [
            "my-python-base",
            "my_py_base",
            "A1",
            "_",
            "_x",
            "x_",
            "x-",
            "a__-_b",
            "9",
            &"a".repeat(128),
        ] {
            assert!(valid_name(name), "{name:?}");
        }
        // What it refused (`\w` is ASCII in Go), and dispatch's bound on length.
        for name in [
            "",
            "-a",
            "-",
            "a.b",
            "a b",
            "a/b",
            "a:b",
            "café",
            "a\n",
            "ä",
            &"a".repeat(129),
        ] {
            assert!(!valid_name(name), "{name:?}");
        }
        assert!("Image/my_py_base".parse::<Address>().is_ok());
        assert!("Image/-x".parse::<Address>().is_err());
    }

    #[test]
    fn digest_changes_with_any_field() {
        let base = Resource {
            name: "b".into(),
            spec: Spec::BaseImage(BaseImageSpec {
                docker_url: ImageRef::parse("x/y:1").unwrap(),
                language: Language::Python3,
                tags: vec![],
                rebase: RebasePolicy::Auto,
            }),
        };
        // The digest a base had before `rebase` existed: `auto` is left out.
        assert_eq!(
            serde_json::to_string(&base).unwrap(),
            r#"{"name":"b","kind":"BaseImage","dockerUrl":"x/y:1","language":"python3","tags":[]}"#
        );
        let mut never = base.clone();
        let Spec::BaseImage(spec) = &mut never.spec else {
            unreachable!()
        };
        spec.rebase = RebasePolicy::Never;
        assert_ne!(base.digest(), never.digest());
        let mut other = base.clone();
        let Spec::BaseImage(spec) = &mut other.spec else {
            unreachable!()
        };
        spec.tags.push(Tag {
            key: "k".into(),
            value: "v".into(),
        });
        assert_ne!(base.digest(), other.digest());
        assert_eq!(base.digest(), base.clone().digest());
        assert!(base.digest().starts_with("sha256:"));
    }
}
