//! Refresh: ask the registries and the engine, concurrently, what really exists, and turn the
//! answers into observations for the planner: drift, or diagnostics when a base image is gone.

use futures_util::stream::{self, StreamExt};

use crate::declarations::Declarations;
use crate::diag::{Diagnostic, Diagnostics};
use crate::engine::Engine;
use crate::model::{Address, Spec};
use crate::plan::{Drift, Observations};
use crate::reference::ImageRef;
use crate::registry::{Registries, RegistryError};
use crate::state::{State, Status};

/// How many registry and engine requests are in flight at once.
const CONCURRENCY: usize = 16;

/// What a refresh may ask.
pub struct Sources<'a> {
    pub registries: &'a Registries,
    /// Asked whether built images still exist; `None` when no built image is recorded.
    pub engine: Option<&'a Engine>,
    /// With a destination registry, a built image that is there counts as present.
    pub destination: Option<&'a str>,
}

/// Checks every declared base image against its registry, and every built image recorded in
/// the state against the engine (and the destination registry). A base image that does not
/// exist is an error at its declaration: a typo fails the plan, not the apply.
pub async fn refresh(
    declarations: &Declarations,
    state: Option<&State>,
    sources: &Sources<'_>,
) -> Result<Observations, RefreshError> {
    let bases = declarations
        .resources
        .values()
        .filter_map(|d| match &d.resource.spec {
            Spec::BaseImage(spec) => Some(Check::Base {
                address: d.resource.address(),
                url: &spec.docker_url,
                origin: d,
            }),
            Spec::Image(_) => None,
        });
    let built = state
        .into_iter()
        .flat_map(|s| s.resources.iter())
        .filter_map(|(address, r)| {
            let reference = r.observed.as_ref()?.reference.as_deref()?;
            (r.status == Status::Ready).then(|| Check::Built {
                address: address.clone(),
                reference: reference.to_string(),
            })
        });
    let checks: Vec<Check<'_>> = bases.chain(built).collect();
    let answers: Vec<Answer> = stream::iter(checks)
        .map(|check| check.run(sources))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    let mut observations = Observations::default();
    let mut problems = Vec::new();
    for answer in answers {
        match answer {
            Answer::BaseDigest {
                address,
                url,
                digest,
            } => {
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
            Answer::BaseProblem(diagnostic) => problems.push(diagnostic),
            Answer::BuiltMissing { address, detail } => {
                observations
                    .drift
                    .insert(address, Drift::Missing { detail });
            }
            Answer::BuiltPresent => {}
            Answer::EngineProblem(message) => return Err(RefreshError::Engine(message)),
        }
    }
    if problems.is_empty() {
        Ok(observations)
    } else {
        problems.sort();
        Err(RefreshError::Declarations(Diagnostics(problems)))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Declared base images that do not exist or cannot be asked about.
    #[error(transparent)]
    Declarations(Diagnostics),
    #[error("{0}\n  hint: pass --refresh=false to plan against the state alone")]
    Engine(String),
}

enum Check<'a> {
    Base {
        address: Address,
        url: &'a ImageRef,
        origin: &'a crate::declarations::Declared,
    },
    Built {
        address: Address,
        reference: String,
    },
}

enum Answer {
    BaseDigest {
        address: Address,
        url: ImageRef,
        digest: String,
    },
    BaseProblem(Diagnostic),
    BuiltPresent,
    BuiltMissing {
        address: Address,
        detail: String,
    },
    EngineProblem(String),
}

impl Check<'_> {
    async fn run(self, sources: &Sources<'_>) -> Answer {
        match self {
            Check::Base {
                address,
                url,
                origin,
            } => match sources.registries.digest(url).await {
                Ok(digest) => Answer::BaseDigest {
                    address,
                    url: url.clone(),
                    digest,
                },
                Err(err) => {
                    let hint = match err {
                        RegistryError::NotFound { .. } => {
                            "check `dockerUrl`, or push the image before applying"
                        }
                        RegistryError::Denied { .. } => {
                            "log in with `docker login REGISTRY`; credentials come from the docker config (DOCKER_CONFIG)"
                        }
                        RegistryError::Unreachable { .. } | RegistryError::Failed { .. } => {
                            "check that the registry is up, or pass --refresh=false to plan against the state alone"
                        }
                    };
                    let message = format!("{address}: {err}");
                    Answer::BaseProblem(
                        Diagnostic::new(origin.origin.clone(), message).with_hint(hint),
                    )
                }
            },
            Check::Built { address, reference } => {
                if let Some(engine) = sources.engine {
                    match engine.inspect(&reference).await {
                        Ok(Some(_)) => return Answer::BuiltPresent,
                        Ok(None) => {}
                        Err(message) => return Answer::EngineProblem(message),
                    }
                }
                if sources.destination.is_some()
                    && let Ok(parsed) = ImageRef::parse(&reference)
                    && sources.registries.digest(&parsed).await.is_ok()
                {
                    return Answer::BuiltPresent;
                }
                let place = if sources.destination.is_some() {
                    "the engine and the registry"
                } else {
                    "the engine"
                };
                Answer::BuiltMissing {
                    address,
                    detail: format!("image {reference} is gone from {place}"),
                }
            }
        }
    }
}
