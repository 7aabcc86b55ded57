//! The names dispatch gives the images it builds: `<destination>/<repository>:<digest>`, the
//! repository derived from the resource's name; whether a reference lives under the
//! destination (pushed there), and whether a destination from `dispatch.toml` makes valid
//! references at all.

use crate::model::reference::{ImageRef, ReferenceError};

/// A `destination` in `dispatch.toml` that does not make valid image references.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// It parses, but as a reference by digest.
    #[error(
        "invalid registry destination {0:?}: expected [registry/]path, e.g. 127.0.0.1:5000/functions"
    )]
    Digest(String),
    #[error(
        "invalid registry destination {destination:?}: {reason}; expected [registry/]path, e.g. 127.0.0.1:5000/functions"
    )]
    Invalid {
        destination: String,
        reason: ReferenceError,
    },
}

/// `<destination>/<repository>:<first 32 hex of digest>`, or `dispatch/<repository>:<...>` with
/// no destination, the repository being [`repository`] of the name.
///
/// Panics when the destination does not make a valid reference: check it with
/// [`check_destination`] when the settings are read.
pub fn image_reference(destination: Option<&str>, name: &str, digest: &str) -> ImageRef {
    let text = reference_text(destination, name, digest);
    ImageRef::parse(&text).unwrap_or_else(|e| {
        panic!("image reference {text:?} is invalid ({e}): check_destination was not called")
    })
}

/// The repository path component a resource's name gives its image. Names follow the original
/// Dispatch's rule (letters of both cases, digits, `_`, `-`, a leading `_`), which is wider than
/// a repository component's (`[a-z0-9]+` joined by `_`, `__` or runs of `-`); the original named
/// its images by id and never met this. So the name is lowercased, separators at either end
/// are dropped, and a run of separators no component allows (`___`, `_-`) becomes as many `-`;
/// a name of separators alone (`_`) gives `_`'s stand-in, `x`. A name that is a valid component
/// already is kept as it is. Two names may give one repository (`My_App`, `my_app`): their
/// images still differ by tag, the digest of their inputs, and an image shared by two
/// resources is already handled as such.
pub fn repository(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    let separator = |c: char| c == '_' || c == '-';
    let name = name.trim_matches(separator);
    if name.is_empty() {
        return "x".into();
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(start) = rest.find(separator) {
        out.push_str(&rest[..start]);
        let run = &rest[start..];
        let end = run.find(|c| !separator(c)).unwrap_or(run.len());
        let run = &run[..end];
        let allowed = matches!(run, "_" | "__") || run.bytes().all(|b| b == b'-');
        if allowed {
            out.push_str(run);
        } else {
            out.extend(std::iter::repeat_n('-', run.len()));
        }
        rest = &rest[start + end..];
    }
    out.push_str(rest);
    out
}

/// Whether `reference`, an image dispatch built, lives under `destination`: pushed there, so
/// that the registry, not the engine, says whether it exists.
pub fn under_destination(destination: Option<&str>, reference: &str) -> bool {
    destination.is_some_and(|d| {
        reference
            .strip_prefix(d.trim_end_matches('/'))
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// Whether `destination` (`[registry/]path`, from `dispatch.toml`) makes valid image references.
pub fn check_destination(destination: Option<&str>) -> Result<(), DestinationError> {
    let text = reference_text(destination, "x", &"0".repeat(64));
    let destination = destination.unwrap_or_default().to_string();
    match ImageRef::parse(&text) {
        Ok(reference) if reference.digest.is_none() => Ok(()),
        Ok(_) => Err(DestinationError::Digest(destination)),
        Err(reason) => Err(DestinationError::Invalid {
            destination,
            reason,
        }),
    }
}

fn reference_text(destination: Option<&str>, name: &str, digest: &str) -> String {
    let destination = destination.unwrap_or("dispatch").trim_end_matches('/');
    let name = repository(name);
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    let tag = &hex[..hex.len().min(32)];
    format!("{destination}/{name}:{tag}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_reference_is_lowercase_destination_name_and_digest() {
        let digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let r = image_reference(Some("127.0.0.1:5000/functions/"), "My-Image", digest);
        assert_eq!(
            r.as_str(),
            "127.0.0.1:5000/functions/my-image:0123456789abcdef0123456789abcdef"
        );
        assert_eq!(r.domain.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(r.tag.as_deref(), Some("0123456789abcdef0123456789abcdef"));
        let r = image_reference(None, "PANDAS", &format!("sha256:{digest}"));
        assert_eq!(
            r.as_str(),
            "dispatch/pandas:0123456789abcdef0123456789abcdef"
        );
        // A name ending in `-` is valid for dispatch, not for a repository.
        let r = image_reference(None, "a--", digest);
        assert_eq!(r.path, "dispatch/a");
    }

    #[test]
    fn every_valid_name_gives_a_valid_repository() {
        for (name, repository) in [
            ("my-python-base", "my-python-base"),
            ("my_py_base", "my_py_base"),
            ("my__py", "my__py"),
            ("my---py", "my---py"),
            ("My_Py_Base", "my_py_base"),
            ("_private", "private"),
            ("trailing_", "trailing"),
            ("a___b", "a---b"),
            ("a_-b", "a--b"),
            ("a-_-b", "a---b"),
            ("_", "x"),
            ("_-_", "x"),
            ("9", "9"),
        ] {
            assert!(crate::model::valid_name(name), "{name:?}");
            assert_eq!(super::repository(name), repository, "{name:?}");
            let reference = image_reference(Some("reg.lan:5000/fn"), name, &"0".repeat(64));
            assert_eq!(reference.path, format!("fn/{repository}"), "{name:?}");
        }
        // Every name of up to three characters from the alphabet that matters.
        let alphabet = ['a', 'Z', '0', '_', '-'];
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let name: String = [a, b, c].iter().collect();
                    if crate::model::valid_name(&name) {
                        let text = reference_text(None, &name, &"0".repeat(64));
                        assert!(ImageRef::parse(&text).is_ok(), "{name:?} gives {text:?}");
                    }
                }
            }
        }
        let longest = "A_".repeat(64);
        assert!(ImageRef::parse(&reference_text(Some("reg.lan:5000/a/b"), &longest, "0")).is_ok());
    }

    #[test]
    fn images_under_the_destination_are_pushed_ones() {
        let destination = Some("127.0.0.1:5000/functions/");
        assert!(under_destination(
            destination,
            "127.0.0.1:5000/functions/a:1"
        ));
        assert!(!under_destination(
            destination,
            "127.0.0.1:5000/functions-b/a:1"
        ));
        assert!(!under_destination(destination, "dispatch/a:1"));
        assert!(!under_destination(None, "dispatch/a:1"));
    }

    #[test]
    fn destinations_are_checked() {
        assert_eq!(check_destination(None), Ok(()));
        assert_eq!(check_destination(Some("127.0.0.1:5000/functions")), Ok(()));
        assert_eq!(check_destination(Some("registry.lan/a/b/")), Ok(()));
        for bad in [
            "Registry.LAN/UPPER",
            "",
            "a b",
            "reg/x@sha256",
            "reg:99999/x",
        ] {
            let err = check_destination(Some(bad)).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }
}
