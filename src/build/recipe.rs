//! The decisions around a build, as pure functions of what the state and the engine said: how
//! the base is pinned, which builder builds, where the template comes from, whether an image
//! that exists can be reused, and which old image a rebuild leaves behind.

use std::collections::{BTreeMap, HashMap};

use super::dockerfile::{TEMPLATE_LABEL, Template};
use crate::model::image::{Builder, LocalImage};
use crate::model::reference::ImageRef;
use crate::model::{BaseImageSpec, Language, Revision};
use crate::state::Observed;

/// The base an image is built `FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// `repo@sha256:...`, or the image id when the base has no registry digest.
    pub reference: String,
    /// Whether `reference` names a registry digest (which BuildKit can build on, and which the
    /// engine can pull again should it lose the base).
    pub by_digest: bool,
}

/// A base image an image cannot be built on yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("base image {0} has not been pulled")]
pub struct NotPulled(pub String);

/// A base image whose template label names a folder without a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "image {image} names {dir} as its template ({TEMPLATE_LABEL}), but {dir}/Dockerfile is not in the image"
)]
pub struct NoDockerfile {
    pub image: String,
    pub dir: String,
}

/// Pins the base `name` as it was pulled: by registry digest, else by image id.
pub fn pin(name: &str, spec: &BaseImageSpec, pulled: Option<&Observed>) -> Result<Pin, NotPulled> {
    let not_pulled = || NotPulled(name.to_string());
    let pulled = pulled.ok_or_else(not_pulled)?;
    match (&pulled.digest, &pulled.image_id) {
        (Some(digest), _) => Ok(Pin {
            reference: format!("{}@{digest}", spec.docker_url.repository()),
            by_digest: true,
        }),
        (None, Some(id)) => Ok(Pin {
            reference: id.clone(),
            by_digest: false,
        }),
        (None, None) => Err(not_pulled()),
    }
}

/// The builder for a build on `pin`: BuildKit cannot build `FROM` an image id.
pub fn builder(configured: Builder, pin: &Pin) -> Builder {
    if pin.by_digest {
        configured
    } else {
        Builder::Classic
    }
}

/// The template dispatch.toml sets for `language`, if any; without one, the base is asked.
pub fn override_template(
    overrides: &HashMap<Language, String>,
    language: Language,
) -> Option<Template> {
    overrides
        .get(&language)
        .map(|text| Template::Override(text.clone()))
}

/// The directory a base image's [`TEMPLATE_LABEL`] names, as an absolute path in the image.
pub fn template_dir(base: &LocalImage) -> Option<String> {
    let dir = base.labels.get(TEMPLATE_LABEL)?;
    Some(format!("/{}", dir.trim().trim_matches('/')))
}

/// The template in `files`, read from `dir` of `image`: it must hold a Dockerfile.
pub fn carried_template(
    image: &str,
    dir: &str,
    files: Vec<(String, Vec<u8>)>,
) -> Result<Vec<(String, Vec<u8>)>, NoDockerfile> {
    if files.iter().any(|(path, _)| path == "Dockerfile") {
        Ok(files)
    } else {
        Err(NoDockerfile {
            image: image.into(),
            dir: dir.into(),
        })
    }
}

/// What to do about an image whose inputs name it `reference`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// It exists where it must: nothing to build or push.
    Reuse(Observed),
    /// Built, but not in the destination registry (a push that failed, say): push it.
    Push,
    Build,
}

/// Whether the image named `reference` exists already: in the engine (`local`), and with a
/// destination in its registry (`remote`, the digest there), which is what counts then.
pub fn existing(
    reference: &ImageRef,
    destination: bool,
    local: Option<&LocalImage>,
    remote: Option<String>,
) -> Existing {
    let observed = |image_id, digest| Observed {
        image_id,
        digest,
        reference: Some(reference.to_string()),
        ..Observed::default()
    };
    let id = local.map(|image| image.id.clone());
    match (destination, local, remote) {
        (false, Some(image), _) => Existing::Reuse(observed(id, image.digest_in(reference))),
        (false, None, _) => Existing::Build,
        (true, _, Some(digest)) => Existing::Reuse(observed(id, Some(digest))),
        (true, Some(_), None) => Existing::Push,
        (true, None, None) => Existing::Build,
    }
}

/// The image a rebuild as `reference` leaves behind, to remove unless images are kept.
pub fn superseded(
    previous: Option<&Observed>,
    reference: &str,
    keep_images: bool,
) -> Option<String> {
    let old = previous?.reference.as_ref()?;
    (old != reference && !keep_images).then(|| old.clone())
}

/// The OCI annotations an image is labelled with: the commit it was declared at, the
/// repository, and the base it is built on. Labels, not build inputs: a new commit with the
/// same inputs reuses the image.
pub fn labels(
    revision: Option<&Revision>,
    source: Option<&str>,
    base: &ImageRef,
    pin: &Pin,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut label = |key: &str, value: String| {
        labels.insert(format!("org.opencontainers.image.{key}"), value);
    };
    if let Some(revision) = revision {
        label("revision", revision.commit.clone());
    }
    if let Some(source) = source {
        label("source", source.to_string());
    }
    label("base.name", base.to_string());
    if let Some((_, digest)) = pin.reference.split_once('@') {
        label("base.digest", digest.to_string());
    }
    labels
}

/// The image a deletion removes, unless images are kept.
pub fn removed(previous: Option<&Observed>, keep_images: bool) -> Option<String> {
    previous?.reference.clone().filter(|_| !keep_images)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn base() -> BaseImageSpec {
        BaseImageSpec {
            docker_url: ImageRef::parse("127.0.0.1:5000/base/python3:1").unwrap(),
            language: Language::Python3,
            tags: vec![],
            rebase: Default::default(),
        }
    }

    fn observed(id: Option<&str>, digest: Option<&str>, reference: Option<&str>) -> Observed {
        Observed {
            image_id: id.map(str::to_string),
            digest: digest.map(str::to_string),
            reference: reference.map(str::to_string),
            created: None,
            ..Default::default()
        }
    }

    #[test]
    fn bases_are_pinned_by_digest_else_by_id() {
        let by_digest = pin(
            "b",
            &base(),
            Some(&observed(Some("sha256:id"), Some(DIGEST), None)),
        );
        let by_digest = by_digest.unwrap();
        assert_eq!(
            by_digest.reference,
            format!("127.0.0.1:5000/base/python3@{DIGEST}")
        );
        assert_eq!(builder(Builder::BuildKit, &by_digest), Builder::BuildKit);
        let by_id = pin("b", &base(), Some(&observed(Some("sha256:id"), None, None))).unwrap();
        assert_eq!(
            by_id,
            Pin {
                reference: "sha256:id".into(),
                by_digest: false
            }
        );
        assert_eq!(builder(Builder::BuildKit, &by_id), Builder::Classic);
        assert_eq!(
            pin("b", &base(), None).unwrap_err().to_string(),
            "base image b has not been pulled"
        );
        assert!(pin("b", &base(), Some(&observed(None, None, None))).is_err());
    }

    #[test]
    fn templates_come_from_settings_else_from_the_label() {
        let overrides = HashMap::from([(Language::Java, "FROM x".to_string())]);
        assert_eq!(
            override_template(&overrides, Language::Java),
            Some(Template::Override("FROM x".into()))
        );
        assert_eq!(override_template(&overrides, Language::Python3), None);
        let mut image = LocalImage::default();
        assert_eq!(template_dir(&image), None);
        image
            .labels
            .insert(TEMPLATE_LABEL.into(), " image-template/ ".into());
        assert_eq!(template_dir(&image).as_deref(), Some("/image-template"));
        let files = vec![("Dockerfile".to_string(), b"FROM x".to_vec())];
        assert!(carried_template("i", "/t", files).is_ok());
        assert_eq!(
            carried_template("i", "/t", vec![]).unwrap_err().to_string(),
            "image i names /t as its template (io.dispatchframework.imageTemplate), but /t/Dockerfile is not in the image"
        );
    }

    #[test]
    fn an_image_counts_as_existing_where_it_must_be() {
        let reference = ImageRef::parse("127.0.0.1:5000/f/i:abc").unwrap();
        let local = LocalImage {
            id: "sha256:id".into(),
            repo_digests: vec![format!("127.0.0.1:5000/f/i@{DIGEST}")],
            ..LocalImage::default()
        };
        let at = Some("127.0.0.1:5000/f/i:abc");
        // Without a destination, the engine is where it must be.
        assert_eq!(
            existing(&reference, false, Some(&local), None),
            Existing::Reuse(observed(Some("sha256:id"), Some(DIGEST), at))
        );
        assert_eq!(
            existing(&reference, false, None, Some(DIGEST.into())),
            Existing::Build
        );
        // With one, the registry: an image only in the engine was never pushed.
        assert_eq!(
            existing(&reference, true, Some(&local), Some("sha256:pushed".into())),
            Existing::Reuse(observed(Some("sha256:id"), Some("sha256:pushed"), at))
        );
        assert_eq!(
            existing(&reference, true, None, Some(DIGEST.into())),
            Existing::Reuse(observed(None, Some(DIGEST), at))
        );
        assert_eq!(
            existing(&reference, true, Some(&local), None),
            Existing::Push
        );
        assert_eq!(existing(&reference, true, None, None), Existing::Build);
    }

    #[test]
    fn images_are_labelled_with_where_they_come_from() {
        let revision = Revision {
            commit: "abc123".into(),
            dirty: false,
        };
        let base_ref = ImageRef::parse("127.0.0.1:5000/base/python3:1").unwrap();
        let pin = Pin {
            reference: format!("127.0.0.1:5000/base/python3@{DIGEST}"),
            by_digest: true,
        };
        let given = labels(
            Some(&revision),
            Some("https://example.invalid/r.git"),
            &base_ref,
            &pin,
        );
        let keys: Vec<(&str, &str)> = given
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("org.opencontainers.image.base.digest", DIGEST),
                (
                    "org.opencontainers.image.base.name",
                    "127.0.0.1:5000/base/python3:1"
                ),
                ("org.opencontainers.image.revision", "abc123"),
                (
                    "org.opencontainers.image.source",
                    "https://example.invalid/r.git"
                ),
            ]
        );
        let by_id = Pin {
            reference: "sha256:id".into(),
            by_digest: false,
        };
        assert_eq!(labels(None, None, &base_ref, &by_id).len(), 1);
    }

    #[test]
    fn old_images_are_removed_unless_kept_or_still_current() {
        let previous = observed(Some("sha256:id"), None, Some("dispatch/i:old"));
        assert_eq!(
            superseded(Some(&previous), "dispatch/i:new", false).as_deref(),
            Some("dispatch/i:old")
        );
        assert_eq!(superseded(Some(&previous), "dispatch/i:old", false), None);
        assert_eq!(superseded(Some(&previous), "dispatch/i:new", true), None);
        assert_eq!(superseded(None, "dispatch/i:new", false), None);
        assert_eq!(
            removed(Some(&previous), false).as_deref(),
            Some("dispatch/i:old")
        );
        assert_eq!(removed(Some(&previous), true), None);
    }
}
