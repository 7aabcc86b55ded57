//! An image rebased onto its base patched in place, put together from what the registry holds:
//! the new base's layers, then the image's own; the image's config with the base's part of
//! its layers and history swapped, and the settings it inherited from the base (`Env`,
//! `Labels`, `Cmd`, ...) taken from the new base as a build on it would take them, what the
//! image set itself kept. Pure: the manifests and configs come in, the new ones go out.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::oci::{
    DOCKER_MANIFEST, Descriptor, ImageConfig, ImageManifest, OCI_MANIFEST, RawManifest, digest,
};

/// An image as its registry holds it: its manifest and config.
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    pub manifest: &'a ImageManifest,
    pub config: &'a ImageConfig,
}

/// What a rebase is made from.
#[derive(Debug, Clone, Copy)]
pub struct Parts<'a> {
    /// The image, as built on the old base.
    pub image: Held<'a>,
    /// The config of the base it was built on.
    pub old_base: &'a ImageConfig,
    /// The base it is rebased onto.
    pub new_base: Held<'a>,
    /// The labels a build on the new base would be given (`org.opencontainers.image.base.*`,
    /// the revision): they replace the image's.
    pub labels: &'a BTreeMap<String, String>,
}

/// The image rebased: its manifest (to push as its tag) and config (to upload first).
#[derive(Debug, Clone, PartialEq)]
pub struct Rebased {
    pub manifest: RawManifest,
    pub config: Vec<u8>,
    /// The layers of the new base, for the registry to hold under the image's repository.
    pub base_layers: Vec<Descriptor>,
}

/// Why an image cannot be rebased as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RebaseError {
    #[error("its first layers are not the layers of the base it was built on")]
    Layers,
    #[error("its manifest names {layers} layers and its config {diff_ids}")]
    Mismatch { layers: usize, diff_ids: usize },
}

/// `parts` put together as the rebased image.
pub fn rebase(parts: Parts<'_>) -> Result<Rebased, RebaseError> {
    let (image, old, new) = (parts.image, parts.old_base, parts.new_base);
    let old_ids = old.diff_ids();
    let image_ids = image.config.diff_ids();
    if image.manifest.layers.len() != image_ids.len() {
        return Err(RebaseError::Mismatch {
            layers: image.manifest.layers.len(),
            diff_ids: image_ids.len(),
        });
    }
    if old_ids.is_empty() || !image_ids.starts_with(&old_ids) {
        return Err(RebaseError::Layers);
    }
    let own = old_ids.len();
    let kind = image.manifest.kind().to_string();
    // A layer's bytes are the same whichever manifest family names them.
    let base_layers: Vec<Descriptor> = (new.manifest.layers.iter())
        .map(|layer| Descriptor {
            media_type: layer_type(&layer.media_type, &kind),
            ..layer.clone()
        })
        .collect();
    let mut config = image.config.0.clone();
    let mut ids = new.config.diff_ids();
    ids.extend_from_slice(&image_ids[own..]);
    config.insert(
        "rootfs".into(),
        serde_json::json!({ "type": "layers", "diff_ids": ids }),
    );
    let history = image.config.history();
    let inherited = old.history().len().min(history.len());
    let mut merged = new.config.history();
    merged.extend_from_slice(&history[inherited..]);
    config.insert("history".into(), Value::Array(merged));
    let settings = inherit(
        &old.settings(),
        &new.config.settings(),
        &image.config.settings(),
        parts.labels,
    );
    config.insert("config".into(), Value::Object(settings));
    let config = ImageConfig(config).to_bytes();
    let mut manifest = image.manifest.clone();
    manifest.config = Descriptor {
        digest: digest(&config),
        size: config.len() as u64,
        ..manifest.config
    };
    let mut layers = base_layers.clone();
    layers.extend_from_slice(&image.manifest.layers[own..]);
    manifest.layers = layers;
    if kind == OCI_MANIFEST {
        let annotations =
            (manifest.rest.entry("annotations")).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(annotations) = annotations {
            for (key, value) in parts.labels.iter().filter(|(k, _)| k.contains(".base.")) {
                annotations.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }
    Ok(Rebased {
        manifest: RawManifest::new(&kind, manifest.to_bytes()),
        config,
        base_layers,
    })
}

/// A layer's media type as the manifest family `kind` names it.
fn layer_type(media_type: &str, kind: &str) -> String {
    const PAIRS: [(&str, &str); 2] = [
        (
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.oci.image.layer.v1.tar+gzip",
        ),
        (
            "application/vnd.docker.image.rootfs.diff.tar",
            "application/vnd.oci.image.layer.v1.tar",
        ),
    ];
    let found = PAIRS
        .iter()
        .find(|(d, o)| media_type == *d || media_type == *o);
    match (found, kind) {
        (Some((docker, _)), DOCKER_MANIFEST) => docker.to_string(),
        (Some((_, oci)), OCI_MANIFEST) => oci.to_string(),
        _ => media_type.to_string(),
    }
}

/// The image's runtime settings on the new base, as a build on it would have them: what the
/// image had as its old base had it comes from the new base; what it set itself stays. `Env`
/// and `Labels` are weighed entry by entry; `labels` are set over the result.
fn inherit(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    image: &Map<String, Value>,
    labels: &BTreeMap<String, String>,
) -> Map<String, Value> {
    let mut keys: Vec<&String> = new.keys().chain(image.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut merged = Map::new();
    for key in keys {
        let (o, n, i) = (old.get(key), new.get(key), image.get(key));
        let value = match key.as_str() {
            "Env" => Some(env(o, n, i)),
            "Labels" => Some(label_map(o, n, i)),
            _ if i == o => n.cloned(),
            _ => i.cloned(),
        };
        if let Some(value) = value.filter(|v| !v.is_null()) {
            merged.insert(key.clone(), value);
        }
    }
    if !labels.is_empty() {
        let entry = merged
            .entry("Labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        if let Value::Object(map) = entry {
            for (key, value) in labels {
                map.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }
    merged
}

/// Three-way merge of entries keyed by name, in the new base's order, then the image's own.
fn three_way(
    old: &[(String, Value)],
    new: &[(String, Value)],
    image: &[(String, Value)],
) -> Vec<(String, Value)> {
    let find = |list: &[(String, Value)], key: &str| {
        list.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    let mut merged = Vec::new();
    let keys = new.iter().chain(image).map(|(k, _)| k.clone());
    let mut seen = Vec::new();
    for key in keys {
        if seen.contains(&key) {
            continue;
        }
        seen.push(key.clone());
        let (o, n, i) = (find(old, &key), find(new, &key), find(image, &key));
        let value = if i == o { n } else { i };
        if let Some(value) = value {
            merged.push((key, value));
        }
    }
    merged
}

/// `Env`, `KEY=VALUE` strings, merged by key.
fn env(old: Option<&Value>, new: Option<&Value>, image: Option<&Value>) -> Value {
    let entries = |value: Option<&Value>| -> Vec<(String, Value)> {
        (value.and_then(Value::as_array).into_iter().flatten())
            .filter_map(Value::as_str)
            .map(|e| {
                let key = e.split_once('=').map_or(e, |(k, _)| k);
                (key.to_string(), Value::String(e.to_string()))
            })
            .collect()
    };
    let merged = three_way(&entries(old), &entries(new), &entries(image));
    Value::Array(merged.into_iter().map(|(_, v)| v).collect())
}

/// `Labels`, an object, merged by key.
fn label_map(old: Option<&Value>, new: Option<&Value>, image: Option<&Value>) -> Value {
    let entries = |value: Option<&Value>| -> Vec<(String, Value)> {
        (value.and_then(Value::as_object).into_iter().flatten())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let merged = three_way(&entries(old), &entries(new), &entries(image));
    Value::Object(merged.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn descriptor(kind: &str, digest: &str) -> Descriptor {
        Descriptor {
            media_type: kind.into(),
            digest: digest.into(),
            size: 1,
            rest: Map::new(),
        }
    }

    const GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    const OCI_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

    fn manifest(kind: &str, layers: &[(&str, &str)]) -> ImageManifest {
        ImageManifest {
            schema_version: 2,
            media_type: Some(kind.into()),
            config: descriptor("application/vnd.docker.container.image.v1+json", "sha256:c"),
            layers: layers.iter().map(|(k, d)| descriptor(k, d)).collect(),
            rest: Map::new(),
        }
    }

    fn config(value: Value) -> ImageConfig {
        ImageConfig::parse(&serde_json::to_vec(&value).unwrap()).unwrap()
    }

    #[test]
    fn the_base_layers_history_and_inherited_settings_are_swapped() {
        let old_base = config(json!({
            "os": "linux", "architecture": "amd64",
            "config": {"Env": ["PATH=/usr/bin", "LANG=C.UTF-8", "GONE=1"], "Cmd": ["python3"], "Labels": {"vendor": "x", "version": "1"}},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:o1"]},
            "history": [{"created_by": "old base"}, {"created_by": "ENV", "empty_layer": true}],
        }));
        let image = config(json!({
            "os": "linux", "architecture": "amd64", "created": "2026-01-01T00:00:00Z",
            "config": {
                "Env": ["PATH=/usr/bin", "LANG=C.UTF-8", "GONE=1", "APP=1"],
                "Cmd": ["python3"], "WorkingDir": "/function",
                "Labels": {"vendor": "x", "version": "1", "org.opencontainers.image.base.digest": "sha256:old"},
            },
            "rootfs": {"type": "layers", "diff_ids": ["sha256:o1", "sha256:own"]},
            "history": [{"created_by": "old base"}, {"created_by": "ENV", "empty_layer": true}, {"created_by": "COPY ."}],
        }));
        let new_base = config(json!({
            "os": "linux", "architecture": "amd64",
            "config": {"Env": ["PATH=/usr/local/bin:/usr/bin", "LANG=C.UTF-8", "NEW=2"], "Cmd": ["python3", "-q"], "Labels": {"vendor": "x", "version": "2"}},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:n1", "sha256:n2"]},
            "history": [{"created_by": "new base"}, {"created_by": "patch"}],
        }));
        let image_manifest = manifest(
            DOCKER_MANIFEST,
            &[(GZIP, "sha256:O1"), (GZIP, "sha256:OWN")],
        );
        let new_manifest = manifest(
            OCI_MANIFEST,
            &[(OCI_GZIP, "sha256:N1"), (OCI_GZIP, "sha256:N2")],
        );
        let labels: BTreeMap<String, String> = [
            (
                "org.opencontainers.image.base.digest".to_string(),
                "sha256:new".to_string(),
            ),
            (
                "org.opencontainers.image.base.name".to_string(),
                "r/base:1".to_string(),
            ),
        ]
        .into();
        let rebased = rebase(Parts {
            image: Held {
                manifest: &image_manifest,
                config: &image,
            },
            old_base: &old_base,
            new_base: Held {
                manifest: &new_manifest,
                config: &new_base,
            },
            labels: &labels,
        })
        .unwrap();
        let written: Value = serde_json::from_slice(&rebased.manifest.bytes).unwrap();
        let layers: Vec<(&str, &str)> = (written["layers"].as_array().unwrap().iter())
            .map(|l| {
                (
                    l["mediaType"].as_str().unwrap(),
                    l["digest"].as_str().unwrap(),
                )
            })
            .collect();
        // The new base's layers named as the image's manifest names layers, then its own.
        assert_eq!(
            layers,
            [
                (GZIP, "sha256:N1"),
                (GZIP, "sha256:N2"),
                (GZIP, "sha256:OWN")
            ]
        );
        assert_eq!(rebased.manifest.media_type, DOCKER_MANIFEST);
        assert_eq!(written["config"]["digest"], digest(&rebased.config));
        assert!(
            written.get("annotations").is_none(),
            "a Docker manifest has none"
        );
        let config: Value = serde_json::from_slice(&rebased.config).unwrap();
        assert_eq!(
            config["rootfs"]["diff_ids"],
            json!(["sha256:n1", "sha256:n2", "sha256:own"])
        );
        let history: Vec<&str> = (config["history"].as_array().unwrap().iter())
            .map(|h| h["created_by"].as_str().unwrap())
            .collect();
        assert_eq!(history, ["new base", "patch", "COPY ."]);
        assert_eq!(config["created"], "2026-01-01T00:00:00Z");
        let settings = &config["config"];
        // Inherited values follow the base, the image's own stay, the base's new ones come.
        assert_eq!(
            settings["Env"],
            json!([
                "PATH=/usr/local/bin:/usr/bin",
                "LANG=C.UTF-8",
                "NEW=2",
                "APP=1"
            ])
        );
        assert_eq!(settings["Cmd"], json!(["python3", "-q"]));
        assert_eq!(settings["WorkingDir"], "/function");
        assert_eq!(
            settings["Labels"],
            json!({
                "vendor": "x", "version": "2",
                "org.opencontainers.image.base.digest": "sha256:new",
                "org.opencontainers.image.base.name": "r/base:1",
            })
        );

        // An OCI image keeps the OCI names, and is annotated with its base too.
        let oci = manifest(
            OCI_MANIFEST,
            &[(OCI_GZIP, "sha256:O1"), (OCI_GZIP, "sha256:OWN")],
        );
        let rebased = rebase(Parts {
            image: Held {
                manifest: &oci,
                config: &image,
            },
            old_base: &old_base,
            new_base: Held {
                manifest: &new_manifest,
                config: &new_base,
            },
            labels: &labels,
        })
        .unwrap();
        let written: Value = serde_json::from_slice(&rebased.manifest.bytes).unwrap();
        assert_eq!(written["layers"][0]["mediaType"], OCI_GZIP);
        assert_eq!(
            written["annotations"]["org.opencontainers.image.base.digest"],
            "sha256:new"
        );
        assert_eq!(rebased.base_layers.len(), 2);
    }

    #[test]
    fn an_image_not_on_the_old_base_is_refused() {
        let base = config(json!({"rootfs": {"type": "layers", "diff_ids": ["sha256:o1"]}}));
        let other =
            config(json!({"rootfs": {"type": "layers", "diff_ids": ["sha256:x", "sha256:own"]}}));
        let two = manifest(DOCKER_MANIFEST, &[(GZIP, "sha256:X"), (GZIP, "sha256:OWN")]);
        let one = manifest(DOCKER_MANIFEST, &[(GZIP, "sha256:X")]);
        let none = BTreeMap::new();
        let parts = |manifest, config| Parts {
            image: Held { manifest, config },
            old_base: &base,
            new_base: Held {
                manifest: &one,
                config: &base,
            },
            labels: &none,
        };
        assert_eq!(
            rebase(parts(&two, &other)).unwrap_err(),
            RebaseError::Layers
        );
        assert_eq!(
            rebase(parts(&one, &other)).unwrap_err().to_string(),
            "its manifest names 1 layers and its config 2"
        );
    }
}
