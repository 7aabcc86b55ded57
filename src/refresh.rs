//! Refresh: ask the registries, concurrently, what the declared base images really point at,
//! and turn the answers into observations for the planner (or diagnostics when they are gone).

use futures_util::stream::{self, StreamExt};

use crate::declarations::Declarations;
use crate::diag::{Diagnostic, Diagnostics};
use crate::model::Spec;
use crate::plan::Observations;
use crate::registry::{Registries, RegistryError};

/// How many registry requests are in flight at once.
const CONCURRENCY: usize = 16;

/// Checks every declared base image against its registry. A base image that does not exist,
/// or cannot be asked about, is an error at its declaration: a typo fails the plan, not the apply.
pub async fn refresh(
    declarations: &Declarations,
    insecure: &[String],
) -> Result<Observations, Diagnostics> {
    let bases: Vec<_> = declarations
        .resources
        .values()
        .filter_map(|d| match &d.resource.spec {
            Spec::BaseImage(spec) => Some((d, &spec.docker_url)),
            Spec::Image(_) => None,
        })
        .collect();
    let registries = Registries::new(
        bases.iter().filter_map(|(_, url)| url.domain.as_deref()),
        insecure,
    );
    let answers: Vec<_> = stream::iter(bases)
        .map(|(declared, url)| {
            let registries = &registries;
            async move { (declared, registries.digest(url).await) }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut problems = Vec::new();
    for (declared, answer) in answers {
        if let Err(err) = answer {
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
            let message = format!("{}: {err}", declared.resource.address());
            problems.push(Diagnostic::new(declared.origin.clone(), message).with_hint(hint));
        }
    }
    if problems.is_empty() {
        Ok(Observations::default())
    } else {
        problems.sort();
        Err(Diagnostics(problems))
    }
}
