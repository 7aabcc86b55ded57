//! The files the catalog reads, taken from an image's layers as a registry holds them (tars,
//! gzipped or not) rather than from the engine: stacked in order as the engine stacks them, a
//! whiteout in an upper layer hiding what the lower ones had. Pure: the blobs come from the
//! registry; every read is bounded.

use std::collections::BTreeMap;
use std::io::Read;

use super::scan;

/// The most a layer may come to uncompressed: gzip can grow a thousandfold, and what is
/// never read must not take forever either.
const UNCOMPRESSED: u64 = 16 << 30;
/// The most entries one layer may hold.
const ENTRIES: usize = 2_000_000;

/// Why a layer cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayerError {
    #[error("layer {digest} is a {media_type}, which dispatch does not read")]
    MediaType { digest: String, media_type: String },
    #[error("layer {digest} cannot be read: {detail}")]
    Unreadable { digest: String, detail: String },
    #[error("layer {digest} {what}, more than dispatch reads")]
    TooLarge { digest: String, what: String },
    #[error("the image's package records come to more than {} MiB", scan::LIMITS.total >> 20)]
    Records,
}

/// What the layers stacked so far hold of the files the catalog reads.
#[derive(Debug, Default)]
pub struct Stack {
    files: BTreeMap<String, Vec<u8>>,
}

/// `path` of a tar entry as an absolute path: `./usr/x` and `usr/x` are `/usr/x`.
fn absolute(path: &str) -> String {
    let trimmed = path.trim_start_matches("./").trim_start_matches('/');
    format!("/{}", trimmed.trim_end_matches('/'))
}

/// Whether `path` is `dir` or under it.
fn under(path: &str, dir: &str) -> bool {
    path == dir || (path.starts_with(dir) && path[dir.len()..].starts_with('/')) || dir == "/"
}

impl Stack {
    /// Lays the layer `blob` (of `media_type`, whose digest is `digest`) over what is there.
    pub fn lay(&mut self, digest: &str, media_type: &str, blob: &[u8]) -> Result<(), LayerError> {
        let unreadable = |e: std::io::Error| LayerError::Unreadable {
            digest: digest.to_string(),
            detail: e.to_string(),
        };
        let reader: Box<dyn Read + '_> = if media_type.ends_with("gzip") {
            Box::new(flate2::read::GzDecoder::new(blob))
        } else if media_type.ends_with(".tar") || media_type.ends_with("tar") {
            Box::new(blob)
        } else {
            return Err(LayerError::MediaType {
                digest: digest.to_string(),
                media_type: media_type.to_string(),
            });
        };
        let mut bounded = reader.take(UNCOMPRESSED + 1);
        let mut archive = tar::Archive::new(&mut bounded);
        let mut hidden: Vec<String> = Vec::new();
        let mut laid: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let entries = archive.entries().map_err(unreadable)?;
        for (count, entry) in entries.enumerate() {
            if count >= ENTRIES {
                return Err(LayerError::TooLarge {
                    digest: digest.to_string(),
                    what: format!("holds over {ENTRIES} files"),
                });
            }
            let mut entry = entry.map_err(unreadable)?;
            let path = absolute(&String::from_utf8_lossy(&entry.path_bytes()));
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
            let dir = if dir.is_empty() { "/" } else { dir };
            if name == ".wh..wh..opq" {
                hidden.push(dir.to_string());
                continue;
            }
            if let Some(gone) = name.strip_prefix(".wh.") {
                hidden.push(format!("{}/{gone}", dir.trim_end_matches('/')));
                continue;
            }
            let regular = entry.header().entry_type().is_file();
            let size = entry.header().size().map_err(unreadable)?;
            if !regular || size > scan::LIMITS.file || !scan::wanted(&path) {
                continue;
            }
            let mut content = Vec::with_capacity(size as usize);
            entry.read_to_end(&mut content).map_err(unreadable)?;
            laid.insert(path, content);
        }
        if bounded.limit() == 0 {
            return Err(LayerError::TooLarge {
                digest: digest.to_string(),
                what: format!("comes to over {} GiB uncompressed", UNCOMPRESSED >> 30),
            });
        }
        // What this layer hides of the lower ones goes before what it adds.
        self.files
            .retain(|path, _| !hidden.iter().any(|dir| under(path, dir)));
        self.files.extend(laid);
        let total: u64 = self.files.values().map(|c| c.len() as u64).sum();
        if total > scan::LIMITS.total {
            return Err(LayerError::Records);
        }
        Ok(())
    }

    /// The files the stack holds, for [`scan::scan`].
    pub fn files(self) -> Vec<(String, Vec<u8>)> {
        self.files.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::fake::layer;

    const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
    const GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    fn names(stack: Stack) -> Vec<String> {
        stack
            .files()
            .into_iter()
            .map(|(p, c)| format!("{p}={}", String::from_utf8_lossy(&c)))
            .collect()
    }

    #[test]
    fn upper_layers_replace_and_hide_what_lower_ones_hold() {
        let mut stack = Stack::default();
        let (lower, _) = layer(
            &[
                ("/var/lib/dpkg/status", b"old"),
                ("/usr/lib/os-release", b"ID=debian"),
                (
                    "/usr/local/lib/python3.11/site-packages/a-1.dist-info/METADATA",
                    b"a",
                ),
                (
                    "/usr/local/lib/python3.11/site-packages/b-1.dist-info/METADATA",
                    b"b",
                ),
                ("/usr/bin/python3", b"not read"),
            ],
            true,
        );
        stack.lay("sha256:1", GZIP, &lower).unwrap();
        let (upper, _) = layer(
            &[
                ("./var/lib/dpkg/status", b"new"),
                (
                    "/usr/local/lib/python3.11/site-packages/.wh.a-1.dist-info",
                    b"",
                ),
                ("/usr/lib/.wh..wh..opq", b""),
            ],
            false,
        );
        stack.lay("sha256:2", TAR, &upper).unwrap();
        assert_eq!(
            names(stack),
            [
                "/usr/local/lib/python3.11/site-packages/b-1.dist-info/METADATA=b",
                "/var/lib/dpkg/status=new",
            ]
        );
    }

    #[test]
    fn what_cannot_be_read_is_refused_saying_why() {
        let mut stack = Stack::default();
        let zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
        assert_eq!(
            stack.lay("sha256:z", zstd, b"x").unwrap_err().to_string(),
            "layer sha256:z is a application/vnd.oci.image.layer.v1.tar+zstd, which dispatch does not read"
        );
        let err = stack.lay("sha256:g", GZIP, b"not gzip").unwrap_err();
        assert!(
            err.to_string().starts_with("layer sha256:g cannot be read"),
            "{err}"
        );
    }
}
