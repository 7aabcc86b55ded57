//! The original Dispatch's seed images (`dispatch create seed-images`): the base images of its
//! four languages and an image on each, as the original's CLI carried them, pulled from a
//! registry the user names instead of Docker Hub's `dispatchframework`.

use crate::model::reference::{ImageRef, ReferenceError};

/// The name the seed declarations go by in messages, and a good name to write them to.
pub const FILE: &str = "seed-images.yaml";

/// The declarations, `{registry}` standing for where the base images are.
const TEMPLATE: &str = include_str!("seed.yaml");

/// A registry that does not make valid image references.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid seed registry {registry:?}: {reason}")]
pub struct SeedError {
    pub registry: String,
    pub reason: ReferenceError,
}

/// The seed declarations with their base images at `registry` (`HOST[:PORT][/PATH]`, e.g.
/// `127.0.0.1:5000/dispatchframework`; `dispatchframework` alone is the original's Docker Hub
/// organization). The registry is checked as part of an image reference first, so that what
/// goes into the YAML is a plain scalar and nothing else.
pub fn declarations(registry: &str) -> Result<String, SeedError> {
    let registry = registry.trim_end_matches('/');
    let invalid = |reason| SeedError {
        registry: registry.to_string(),
        reason,
    };
    ImageRef::parse(&format!("{registry}/nodejs-base:0.0.12")).map_err(invalid)?;
    Ok(TEMPLATE.replace("{registry}", registry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decl::{LoadOptions, load};
    use crate::model::{Kind, Spec};
    use crate::source::memory::MemorySource;

    #[test]
    fn the_seed_list_is_the_originals_at_the_registry_named() {
        let text = declarations("127.0.0.1:5000/dispatchframework/").unwrap();
        let source = MemorySource::new(&[(FILE, &text)]);
        let loaded = load(&source, LoadOptions::default()).unwrap();
        let urls: Vec<String> = loaded
            .resources
            .values()
            .filter_map(|d| match &d.resource.spec {
                Spec::BaseImage(b) => Some(format!("{} {}", b.language, b.docker_url)),
                Spec::Image(_) => None,
            })
            .collect();
        assert_eq!(
            urls,
            [
                "java 127.0.0.1:5000/dispatchframework/java-base:0.0.13",
                "nodejs 127.0.0.1:5000/dispatchframework/nodejs-base:0.0.12",
                "powershell 127.0.0.1:5000/dispatchframework/powershell-base:0.0.13",
                "python3 127.0.0.1:5000/dispatchframework/python3-base:0.0.13",
            ]
        );
        assert_eq!(loaded.count(Kind::Image), 4);
        for (image, base) in [
            ("nodejs", "nodejs-base"),
            ("python3", "python3-base"),
            ("powershell", "powershell-base"),
            ("java", "java-base"),
        ] {
            let address = crate::model::Address::new(Kind::Image, image);
            let resource = loaded.get(&address).unwrap();
            let Spec::Image(spec) = &resource.spec else {
                unreachable!()
            };
            assert_eq!(spec.base_image_name, base);
            let manifest = spec
                .runtime_dependencies
                .as_ref()
                .map(|r| r.manifest.as_str());
            assert_eq!(manifest, (image == "python3").then_some("requests"));
        }
        // The original's own, on Docker Hub.
        assert!(declarations("dispatchframework").is_ok());
    }

    #[test]
    fn a_registry_that_makes_no_reference_is_refused() {
        for bad in [
            "",
            "/",
            "Registry.lan/UPPER",
            "reg.lan/a b",
            "reg.lan/x\nkind: Image",
            "reg.lan/x # comment",
            "reg.lan:99999/x",
            "reg.lan/x@sha256",
            "reg.lan/x:1",
        ] {
            let err = declarations(bad).unwrap_err();
            assert!(
                err.to_string().starts_with("invalid seed registry"),
                "{bad:?}: {err}"
            );
        }
    }
}
