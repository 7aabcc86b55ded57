//! Images as a registry holds them: manifests (an image's, or an index of one per platform),
//! the descriptors they point at, and an image's config. Plain data read from and written to
//! JSON, keeping every field dispatch does not read, so that an image rebased is the image it
//! was with only its base changed.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use super::inputs::digest;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Every manifest type a registry is asked for.
pub const MANIFEST_TYPES: [&str; 4] = [DOCKER_MANIFEST, OCI_MANIFEST, DOCKER_LIST, OCI_INDEX];

/// The most a manifest or config may hold: a few kilobytes in practice.
pub const JSON_LIMIT: u64 = 4 << 20;

/// A manifest as a registry holds it: its bytes are what its digest names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawManifest {
    pub media_type: String,
    pub digest: String,
    pub bytes: Vec<u8>,
}

impl RawManifest {
    /// A manifest of `media_type` with these bytes, its digest taken.
    pub fn new(media_type: &str, bytes: Vec<u8>) -> Self {
        RawManifest {
            media_type: media_type.to_string(),
            digest: digest(&bytes),
            bytes,
        }
    }
}

/// What a manifest points at: a blob, or an image's manifest in an index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// An image's manifest: its config and its layers, base layers first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// The platform an index's entry is for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(variant) => write!(f, "/{variant}"),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Entry {
    #[serde(flatten)]
    descriptor: Descriptor,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Index {
    manifests: Vec<Entry>,
}

/// What a manifest is.
#[derive(Debug, Clone, PartialEq)]
pub enum Manifest {
    Image(ImageManifest),
    /// One manifest per platform: the digest of each, and its platform.
    Index(Vec<(Descriptor, Option<Platform>)>),
}

/// Why a registry's answer is not an image dispatch can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OciError {
    #[error("its manifest is not valid JSON of its kind ({0})")]
    Manifest(String),
    #[error("its config is not valid JSON of an image config ({0})")]
    Config(String),
    #[error("it has no manifest for {0}")]
    NoPlatform(String),
    #[error("its manifest is a {0}, not an image's")]
    MediaType(String),
}

impl Manifest {
    /// `raw` read as what its media type says it is.
    pub fn parse(raw: &RawManifest) -> Result<Manifest, OciError> {
        let invalid = |e: serde_json::Error| OciError::Manifest(e.to_string());
        let kind = kind_of(raw);
        match kind.as_str() {
            DOCKER_LIST | OCI_INDEX => {
                let index: Index = serde_json::from_slice(&raw.bytes).map_err(invalid)?;
                let entries = index.manifests.into_iter();
                Ok(Manifest::Index(
                    entries.map(|e| (e.descriptor, e.platform)).collect(),
                ))
            }
            DOCKER_MANIFEST | OCI_MANIFEST => Ok(Manifest::Image(
                serde_json::from_slice(&raw.bytes).map_err(invalid)?,
            )),
            other => Err(OciError::MediaType(other.to_string())),
        }
    }

    /// The entry of an index for `platform` (the first for it, variants aside).
    pub fn for_platform(
        entries: &[(Descriptor, Option<Platform>)],
        platform: &Platform,
    ) -> Result<Descriptor, OciError> {
        entries
            .iter()
            .find(|(_, p)| {
                p.as_ref().is_some_and(|p| {
                    p.os == platform.os
                        && p.architecture == platform.architecture
                        && (platform.variant.is_none() || p.variant == platform.variant)
                })
            })
            .map(|(d, _)| d.clone())
            .ok_or_else(|| OciError::NoPlatform(platform.to_string()))
    }
}

/// The media type of `raw`: as the registry said, else as its `mediaType` field says.
fn kind_of(raw: &RawManifest) -> String {
    if MANIFEST_TYPES.contains(&raw.media_type.as_str()) {
        return raw.media_type.clone();
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Kind {
        media_type: Option<String>,
        manifests: Option<Value>,
    }
    match serde_json::from_slice::<Kind>(&raw.bytes) {
        Ok(Kind {
            media_type: Some(kind),
            ..
        }) => kind,
        Ok(Kind {
            manifests: Some(_), ..
        }) => OCI_INDEX.to_string(),
        _ => OCI_MANIFEST.to_string(),
    }
}

impl ImageManifest {
    /// Its bytes, as pushed: compact JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serializes")
    }

    /// The media type it is pushed as.
    pub fn kind(&self) -> &str {
        self.media_type.as_deref().unwrap_or(OCI_MANIFEST)
    }
}

/// An image's config: JSON whose every field is kept; what dispatch reads has accessors.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageConfig(pub Map<String, Value>);

impl ImageConfig {
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig, OciError> {
        let config: Map<String, Value> =
            serde_json::from_slice(bytes).map_err(|e| OciError::Config(e.to_string()))?;
        let diff_ids = config.get("rootfs").and_then(|r| r.get("diff_ids"));
        if !diff_ids.is_some_and(Value::is_array) {
            return Err(OciError::Config("no rootfs.diff_ids".into()));
        }
        Ok(ImageConfig(config))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).expect("a config always serializes")
    }

    fn text(&self, key: &str) -> String {
        (self.0.get(key).and_then(Value::as_str))
            .unwrap_or_default()
            .to_string()
    }

    pub fn platform(&self) -> Platform {
        Platform {
            os: self.text("os"),
            architecture: self.text("architecture"),
            variant: self
                .0
                .get("variant")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    /// `rootfs.diff_ids`: each layer's digest, uncompressed.
    pub fn diff_ids(&self) -> Vec<String> {
        (self.0.get("rootfs").and_then(|r| r.get("diff_ids")))
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| id.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The history entries, each the step that made a layer (or none: `empty_layer`).
    pub fn history(&self) -> Vec<Value> {
        (self.0.get("history").and_then(Value::as_array))
            .cloned()
            .unwrap_or_default()
    }

    /// The runtime settings (`config`: Env, Labels, Cmd, ...).
    pub fn settings(&self) -> Map<String, Value> {
        (self.0.get("config").and_then(Value::as_object))
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":3,"digest":"sha256:c"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":10,"digest":"sha256:l1","urls":["x"]}]}"#;

    #[test]
    fn an_image_manifest_keeps_what_it_does_not_read() {
        let raw = RawManifest::new("", IMAGE.as_bytes().to_vec());
        let Manifest::Image(image) = Manifest::parse(&raw).unwrap() else {
            panic!("an image manifest");
        };
        assert_eq!(image.layers[0].digest, "sha256:l1");
        assert_eq!(image.kind(), DOCKER_MANIFEST);
        let again: Value = serde_json::from_slice(&image.to_bytes()).unwrap();
        let first: Value = serde_json::from_str(IMAGE).unwrap();
        assert_eq!(again, first);
    }

    #[test]
    fn an_index_gives_the_manifest_of_a_platform() {
        let index = r#"{"schemaVersion":2,"manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":"sha256:arm","platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":"sha256:amd","platform":{"os":"linux","architecture":"amd64"}}]}"#;
        let raw = RawManifest::new(OCI_INDEX, index.as_bytes().to_vec());
        let Manifest::Index(entries) = Manifest::parse(&raw).unwrap() else {
            panic!("an index");
        };
        let amd64 = Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        };
        assert_eq!(
            Manifest::for_platform(&entries, &amd64).unwrap().digest,
            "sha256:amd"
        );
        let s390x = Platform {
            architecture: "s390x".into(),
            ..amd64
        };
        assert_eq!(
            Manifest::for_platform(&entries, &s390x)
                .unwrap_err()
                .to_string(),
            "it has no manifest for linux/s390x"
        );
        // By its field when the registry did not say.
        let untyped = RawManifest::new("", index.as_bytes().to_vec());
        assert!(matches!(Manifest::parse(&untyped), Ok(Manifest::Index(_))));
        let garbage = RawManifest::new(OCI_MANIFEST, b"{".to_vec());
        assert!(Manifest::parse(&garbage).is_err());
    }

    #[test]
    fn a_config_names_its_platform_layers_and_settings() {
        let config = ImageConfig::parse(
            br#"{"os":"linux","architecture":"amd64","config":{"Env":["A=1"]},"rootfs":{"type":"layers","diff_ids":["sha256:a","sha256:b"]},"history":[{"created_by":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(config.platform().to_string(), "linux/amd64");
        assert_eq!(config.diff_ids(), ["sha256:a", "sha256:b"]);
        assert_eq!(config.history().len(), 1);
        assert_eq!(config.settings()["Env"][0], "A=1");
        assert!(ImageConfig::parse(br#"{"os":"linux"}"#).is_err());
    }
}
