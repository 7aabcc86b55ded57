//! From a refresh's answers to the planner's observations: a moved tag or a missing image is
//! drift; a declared base image that cannot be found is a diagnostic at its declaration.

use crate::model::Address;
use crate::model::Spec;
use crate::model::diag::{Diagnostic, Diagnostics, Hint, Location};
use crate::model::reference::ImageRef;
use crate::plan::{Drift, Observations};
use crate::state::{State, Status};

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Declared base images that do not exist: mistakes in the declarations.
    #[error(transparent)]
    Declarations(Diagnostics),
    /// Registries that could not be asked (down, failing, refusing the credentials): no
    /// mistake in the declarations, but each is reported where a declaration needed it.
    #[error("{summary}")]
    Registries {
        diagnostics: Diagnostics,
        summary: String,
    },
    #[error("{0}")]
    Engine(String),
}

impl Hint for RefreshError {
    fn hint(&self) -> Option<String> {
        match self {
            RefreshError::Declarations(_) | RefreshError::Registries { .. } => None,
            RefreshError::Engine(_) => {
                Some("pass --refresh=false to plan against the state alone".into())
            }
        }
    }
}

/// What one question found.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The digest a declared base image's reference points at.
    BaseDigest {
        address: Address,
        url: ImageRef,
        digest: String,
    },
    /// A declared base image the registry did not answer for.
    BaseUnanswered {
        why: Unanswered,
        address: Address,
        /// The registry's error.
        cause: String,
        /// Where the reference is declared.
        at: Location,
    },
    BuiltPresent,
    BuiltMissing {
        address: Address,
        reference: String,
        /// Whether the destination registry was asked (rather than the engine).
        asked_registry: bool,
    },
    /// The engine could not be asked.
    EngineFailed(String),
}

/// Why a registry gave no digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unanswered {
    NotFound,
    Denied,
    Failed,
}

impl Unanswered {
    fn hint(self) -> &'static str {
        match self {
            Unanswered::NotFound => "check `dockerUrl`, or push the image before applying",
            Unanswered::Denied => {
                "log in with `docker login REGISTRY`; credentials come from the docker config (DOCKER_CONFIG)"
            }
            Unanswered::Failed => {
                "check that the registry is up, or pass --refresh=false to plan against the state alone"
            }
        }
    }
}

/// The observations in `answers`, measured against what `state` recorded.
pub fn observe(answers: Vec<Answer>, state: Option<&State>) -> Result<Observations, RefreshError> {
    let mut observations = Observations::default();
    let mut problems = Vec::new();
    let mut unreachable = Vec::new();
    for answer in answers {
        match answer {
            Answer::BaseDigest {
                address,
                url,
                digest,
            } => {
                observations.digests.insert(address.clone(), digest.clone());
                // Only the same tag can move; a changed dockerUrl is the planner's business.
                let recorded = state
                    .and_then(|s| s.resources.get(&address))
                    .filter(|r| r.status == Status::Ready)
                    .filter(
                        |r| matches!(&r.resource.spec, Spec::BaseImage(b) if b.docker_url == url),
                    )
                    .and_then(|r| r.observed.as_ref()?.digest.clone());
                if let Some(recorded) = recorded.filter(|recorded| *recorded != digest) {
                    observations.drift.insert(
                        address,
                        Drift::Moved {
                            recorded,
                            current: digest,
                        },
                    );
                }
            }
            Answer::BaseUnanswered {
                why,
                address,
                cause,
                at,
            } => {
                let diagnostic =
                    Diagnostic::new(at, format!("{address}: {cause}")).with_hint(why.hint());
                match why {
                    Unanswered::NotFound => problems.push(diagnostic),
                    Unanswered::Denied | Unanswered::Failed => {
                        unreachable.push((cause, diagnostic))
                    }
                }
            }
            Answer::BuiltMissing {
                address,
                reference,
                asked_registry,
            } => {
                let place = if asked_registry {
                    "the registry"
                } else {
                    "the engine"
                };
                let detail = format!("image {reference} is gone from {place}");
                observations
                    .drift
                    .insert(address, Drift::Missing { reference, detail });
            }
            Answer::BuiltPresent => {}
            Answer::EngineFailed(message) => return Err(RefreshError::Engine(message)),
        }
    }
    if !problems.is_empty() {
        problems.sort();
        return Err(RefreshError::Declarations(Diagnostics(problems)));
    }
    if !unreachable.is_empty() {
        unreachable.sort_by(|a, b| a.1.cmp(&b.1));
        let mut causes: Vec<&String> = unreachable.iter().map(|(cause, _)| cause).collect();
        causes.sort();
        causes.dedup();
        let summary = match causes.len() {
            1 => causes[0].clone(),
            n => format!("{} (and {} more)", causes[0], n - 1),
        };
        let diagnostics = unreachable.into_iter().map(|(_, d)| d).collect();
        return Err(RefreshError::Registries {
            diagnostics: Diagnostics(diagnostics),
            summary,
        });
    }
    Ok(observations)
}
