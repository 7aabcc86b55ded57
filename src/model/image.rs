//! Images as an engine holds and builds them: what is behind a name, how a transfer or build
//! is going, and how a build failed. Plain data, so that what decides and what reports need
//! no engine.

use std::collections::HashMap;
use std::fmt;

use super::reference::ImageRef;

/// What the engine holds under a name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalImage {
    /// The image id (`sha256:` of its config).
    pub id: String,
    /// `repo@sha256:...` for every registry it was pulled from or pushed to.
    pub repo_digests: Vec<String>,
    /// The labels of its config.
    pub labels: HashMap<String, String>,
    /// When it was made (RFC 3339), as its config says.
    pub created: Option<String>,
}

impl LocalImage {
    /// The registry digest of `reference`'s repository, as recorded by the engine.
    pub fn digest_in(&self, reference: &ImageRef) -> Option<String> {
        let repository = reference.repository();
        self.repo_digests.iter().find_map(|d| {
            d.strip_prefix(&repository)?
                .strip_prefix('@')
                .map(str::to_string)
        })
    }
}

/// Progress of one pull, build or push, for a progress bar or a log line.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Bytes transferred so far, summed over layers.
    Bytes { current: u64, total: u64 },
    /// A Dockerfile step started.
    Step(Step),
}

/// A numbered Dockerfile step: `Step N/M : TEXT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub number: u32,
    pub of: u32,
    /// The instruction, on one line.
    pub text: String,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Step {}/{} : {}", self.number, self.of, self.text)
    }
}

/// Which of the engine's builders runs a build (`[build] builder` in dispatch.toml).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    /// BuildKit (`POST /build?version=2`): no container and commit per step, so builds take
    /// a fraction of the classic builder's time, and more of them run well side by side.
    #[default]
    BuildKit,
    /// The engine's first builder: for engines without BuildKit, and for bases known only by
    /// image id, which BuildKit cannot build `FROM`.
    Classic,
}

impl Builder {
    /// Whether builds can run on `network`: BuildKit knows only the host network, none, and
    /// the default one; the classic builder any network the engine has.
    pub fn supports_network(self, network: &str) -> bool {
        self == Builder::Classic || matches!(network, "host" | "none" | "default")
    }
}

/// A failed build: why, the step that failed, and the last lines it printed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct BuildFailure {
    pub message: String,
    pub step: Option<Step>,
    pub last_lines: Vec<String>,
}

/// How much of an image `Engine::select` may hold: an image's files are whatever its
/// packages put there.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest file kept.
    pub file: u64,
    /// All the files kept, together.
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_digest_of_the_reference_repository() {
        let image = LocalImage {
            id: "sha256:1".into(),
            repo_digests: vec![
                "other/repo@sha256:aa".into(),
                "127.0.0.1:5000/base/x@sha256:bb".into(),
            ],
            ..LocalImage::default()
        };
        let reference = ImageRef::parse("127.0.0.1:5000/base/x:1").unwrap();
        assert_eq!(image.digest_in(&reference).as_deref(), Some("sha256:bb"));
    }
}
