//! `dispatch plan`: declarations, state and (unless told not to) a refresh, planned; the plan
//! optionally saved for a later apply.

use std::path::Path;

use super::{Error, Input, Workspace, runtime};
use crate::decl::Declarations;
use crate::engine::Engine;
use crate::model::Address;
use crate::plan::saved::SavedPlan;
use crate::plan::{self, Observations, Plan};
use crate::refresh::{self, Sources};
use crate::state::State;

pub struct PlanRequest<'a> {
    /// The declarations.
    pub input: Input,
    /// Ask the registries and the engine what really exists.
    pub refresh: bool,
    /// Limit the plan to these and what they are built on.
    pub targets: &'a [Address],
    /// Save the plan here.
    pub out: Option<&'a Path>,
}

pub fn plan(ws: &Workspace, request: &PlanRequest<'_>) -> Result<Plan, Error> {
    let state = ws.backend.load()?;
    let declarations = ws.declarations(&request.input, state.as_ref())?;
    let observations = if request.refresh {
        let empty = State::new();
        let state = state.as_ref().unwrap_or(&empty);
        runtime()?.block_on(async {
            // The engine is only asked about images dispatch built and did not push: a state
            // without any needs none, and a runner without an engine can plan.
            let destination = ws.config.destination.as_deref();
            let in_engine_only = state.resources.values().any(|r| {
                let reference = r.observed.as_ref().and_then(|o| o.reference.as_deref());
                reference.is_some_and(|r| !crate::build::naming::under_destination(destination, r))
            });
            let engine = if in_engine_only {
                Some(ws.engine().await?)
            } else {
                None
            };
            refreshed(ws, &declarations, state, engine.as_ref()).await
        })?
    } else {
        Observations::default()
    };
    let plan = plan::plan(
        &declarations,
        state.as_ref(),
        &observations,
        request.targets,
    )?;
    if let Some(out) = request.out {
        let saved = SavedPlan::new(plan.clone(), state.as_ref(), crate::host::now());
        crate::planfile::save(out, &saved)?;
    }
    Ok(plan)
}

/// Refresh with the workspace's registries and `engine`.
pub(super) async fn refreshed<E: Engine>(
    ws: &Workspace,
    declarations: &Declarations,
    state: &State,
    engine: Option<&E>,
) -> Result<Observations, Error> {
    let recorded = state.resources.values().map(|r| &r.resource);
    let registries =
        ws.registries(recorded.chain(declarations.resources.values().map(|d| &d.resource)));
    let sources = Sources {
        registries: &registries,
        engine,
        destination: ws.config.destination.as_deref(),
    };
    Ok(refresh::refresh(declarations, Some(state), &sources).await?)
}
