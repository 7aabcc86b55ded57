//! Image references (`registry/repo:tag@sha256:...`), checked against the grammar of the
//! distribution project so that a typo fails validation instead of a pull.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A parsed, valid image reference. The original spelling is kept for display and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageRef {
    text: String,
    /// Registry host (with port), or `None` for Docker Hub.
    pub domain: Option<String>,
    /// Repository path inside the registry, e.g. `library/busybox`.
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// Why a text is not an image reference; each says what the grammar wants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("an image reference cannot be empty")]
    Empty,
    #[error("image reference is too long")]
    TooLong,
    #[error("repository name must not be longer than 255 characters")]
    NameTooLong,
    #[error("repository name is missing")]
    NoRepository,
    #[error("invalid tag {0:?}: a tag is 1-128 of [A-Za-z0-9_.-] and cannot start with `.` or `-`")]
    Tag(String),
    #[error("invalid digest {0:?}: expected `sha256:<64 hex digits>`")]
    DigestForm(String),
    #[error("invalid digest {0:?}: expected `sha256:<64 lowercase hex digits>`")]
    Digest(String),
    #[error("invalid registry port in {0:?}")]
    Port(String),
    #[error("invalid registry host {0:?}")]
    Host(String),
    #[error("repository path has an empty component (`//` or a trailing `/`)")]
    EmptyComponent,
    #[error("repository name {0:?} must be lowercase")]
    Uppercase(String),
    #[error(
        "invalid repository name {0:?}: use lowercase letters and digits, separated by `.`, `_`, `__` or `-`"
    )]
    Component(String),
}

impl ImageRef {
    pub fn parse(text: &str) -> Result<ImageRef, ReferenceError> {
        if text.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if text.len() > 255 + 128 + 72 {
            return Err(ReferenceError::TooLong);
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(parse_digest(digest)?)),
            None => (text, None),
        };
        // A `:` after the last `/` starts the tag; one before it belongs to a registry port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            check_tag(tag)?;
        }
        if name.len() > 255 {
            return Err(ReferenceError::NameTooLong);
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => {
                check_domain(first)?;
                (Some(first.to_string()), path)
            }
            _ => (None, name),
        };
        if path.is_empty() {
            return Err(ReferenceError::NoRepository);
        }
        for component in path.split('/') {
            check_path_component(component)?;
        }
        Ok(ImageRef {
            text: text.to_string(),
            domain,
            path: path.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `[domain/]path`: the reference without tag or digest, as the engine names repositories.
    pub fn repository(&self) -> String {
        match &self.domain {
            Some(domain) => format!("{domain}/{}", self.path),
            None => self.path.clone(),
        }
    }
}

fn check_tag(tag: &str) -> Result<(), ReferenceError> {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok
        || tag.len() > 128
        || !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Err(ReferenceError::Tag(tag.into()));
    }
    Ok(())
}

fn parse_digest(digest: &str) -> Result<String, ReferenceError> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(ReferenceError::DigestForm(digest.into()));
    };
    let hex_ok = hex
        .chars()
        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    let len_ok = match algorithm {
        "sha256" => hex.len() == 64,
        "sha512" => hex.len() == 128,
        _ => false,
    };
    if !hex_ok || !len_ok {
        return Err(ReferenceError::Digest(digest.into()));
    }
    Ok(digest.to_string())
}

fn check_domain(domain: &str) -> Result<(), ReferenceError> {
    let (host, port) = match domain.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || domain.starts_with('[') => (host, Some(port)),
        _ => (domain, None),
    };
    if let Some(port) = port
        && (port.is_empty()
            || !port.chars().all(|c| c.is_ascii_digit())
            || port.parse::<u16>().is_err())
    {
        return Err(ReferenceError::Port(domain.into()));
    }
    let valid_label = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let ipv6 = host.starts_with('[') && host.ends_with(']');
    if !ipv6 && !host.split('.').all(valid_label) {
        return Err(ReferenceError::Host(host.into()));
    }
    Ok(())
}

fn check_path_component(component: &str) -> Result<(), ReferenceError> {
    if component.is_empty() {
        return Err(ReferenceError::EmptyComponent);
    }
    if component.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(ReferenceError::Uppercase(component.into()));
    }
    // path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | [-]+
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    let mut previous_separator: Option<&[u8]> = Some(b"");
    while i < bytes.len() {
        if alnum(bytes[i]) {
            previous_separator = None;
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &bytes[start..i];
        let valid =
            matches!(separator, b"_" | b"." | b"__") || separator.iter().all(|&b| b == b'-');
        if !valid || previous_separator.is_some() || i == bytes.len() {
            return Err(ReferenceError::Component(component.into()));
        }
    }
    Ok(())
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for ImageRef {
    type Error = ReferenceError;
    fn try_from(text: String) -> Result<Self, ReferenceError> {
        ImageRef::parse(&text)
    }
}

impl From<ImageRef> for String {
    fn from(reference: ImageRef) -> String {
        reference.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_forms() {
        for ok in [
            "busybox",
            "berndtj/my-python-base:0.0.1",
            "127.0.0.1:5000/base/python3:1",
            "localhost/a_b__c.d-e---f:v1.2_3",
            "ghcr.io/org/repo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "reg.example:443/x:tag@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            ImageRef::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let r = ImageRef::parse("127.0.0.1:5000/base/python3:1").unwrap();
        assert_eq!(r.domain.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(r.path, "base/python3");
        assert_eq!(r.tag.as_deref(), Some("1"));
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "",
            "Berndtj/base:1",
            "base:",
            "base:-x",
            "a//b",
            "a/",
            "-a",
            "a--",
            "a_-b",
            "a@sha256:123",
            "a@md5:0123",
            "reg:99999/a",
            "a b",
            "base:tag with space",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} should be invalid");
        }
    }
}
