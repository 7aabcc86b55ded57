//! Refresh: ask the registries and the engine, concurrently, what really exists ([`ask`]), and
//! turn the answers into observations for the planner ([`observe`]): drift, or diagnostics when
//! a declared base image is gone.

pub mod ask;
pub mod observe;

use crate::decl::Declarations;
use crate::engine::Engine;
use crate::model::diag::{Diagnostics, Hint};
use crate::plan::Observations;
use crate::registry::Registry;
use crate::state::State;

/// What a refresh may ask.
pub struct Sources<'a, E, R> {
    pub registries: &'a R,
    /// Asked whether built images still exist; `None` when no built image is recorded.
    pub engine: Option<&'a E>,
    /// With a destination registry, a built image that is there counts as present.
    pub destination: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Declared base images that do not exist or cannot be asked about.
    #[error(transparent)]
    Declarations(Diagnostics),
    #[error("{0}")]
    Engine(String),
}

impl Hint for RefreshError {
    fn hint(&self) -> Option<String> {
        match self {
            RefreshError::Declarations(_) => None,
            RefreshError::Engine(_) => {
                Some("pass --refresh=false to plan against the state alone".into())
            }
        }
    }
}

/// Checks every declared base image against its registry, and every built image recorded in
/// the state against the engine (and the destination registry). A base image that does not
/// exist is an error at its declaration: a typo fails the plan, not the apply.
pub async fn refresh<E: Engine, R: Registry>(
    declarations: &Declarations,
    state: Option<&State>,
    sources: &Sources<'_, E, R>,
) -> Result<Observations, RefreshError> {
    let answers = ask::ask(declarations, state, sources).await;
    observe::observe(answers, state)
}
