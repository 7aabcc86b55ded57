//! The questions a refresh asks, concurrently, and the answers as plain data.

use futures_util::stream::{self, StreamExt};

use super::Sources;
use super::observe::{Answer, Unanswered};
use crate::decl::{Declarations, Declared};
use crate::engine::Engine;
use crate::model::reference::ImageRef;
use crate::model::{Address, Spec};
use crate::registry::{Registry, RegistryError};
use crate::state::{State, Status};

/// How many registry and engine requests are in flight at once.
const CONCURRENCY: usize = 16;

enum Check<'a> {
    /// What a declared base image's reference points at.
    Base {
        address: Address,
        url: &'a ImageRef,
        origin: &'a Declared,
    },
    /// Whether an image dispatch built is still there.
    Built { address: Address, reference: String },
}

/// Asks about every declared base image and every image the state says was built.
pub async fn ask<E: Engine, R: Registry>(
    declarations: &Declarations,
    state: Option<&State>,
    sources: &Sources<'_, E, R>,
) -> Vec<Answer> {
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
    stream::iter(checks)
        .map(|check| check.run(sources))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

impl Check<'_> {
    async fn run<E: Engine, R: Registry>(self, sources: &Sources<'_, E, R>) -> Answer {
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
                Err(err) => Answer::BaseUnanswered {
                    why: match err {
                        RegistryError::NotFound { .. } => Unanswered::NotFound,
                        RegistryError::Denied { .. } => Unanswered::Denied,
                        RegistryError::Unreachable { .. } | RegistryError::Failed { .. } => {
                            Unanswered::Failed
                        }
                    },
                    address,
                    cause: err.to_string(),
                    at: origin.at("dockerUrl"),
                },
            },
            Check::Built { address, reference } => {
                // Pushed images are asked of the registry they were pushed to: an image in
                // the engine alone was never pushed.
                let pushed = Some(&reference)
                    .filter(|r| crate::build::naming::under_destination(sources.destination, r))
                    .and_then(|r| ImageRef::parse(r).ok());
                let present = match &pushed {
                    Some(parsed) => sources.registries.digest(parsed).await.is_ok(),
                    None => match sources.engine {
                        Some(engine) => match engine.inspect(&reference).await {
                            Ok(found) => found.is_some(),
                            Err(err) => return Answer::EngineFailed(err.to_string()),
                        },
                        None => true,
                    },
                };
                if present {
                    Answer::BuiltPresent
                } else {
                    Answer::BuiltMissing {
                        address,
                        reference,
                        asked_registry: pushed.is_some(),
                    }
                }
            }
        }
    }
}
