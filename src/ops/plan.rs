//! `dispatch plan`: declarations, state and (unless told not to) a refresh, planned; the plan
//! optionally saved for a later apply.

use std::path::Path;

use super::prepare::{LazyEngine, Planning, prepare};
use super::{Error, Input, Workspace, runtime};
use crate::model::Address;
use crate::plan::Plan;
use crate::plan::saved::SavedPlan;

pub struct PlanRequest<'a> {
    /// The declarations.
    pub input: Input,
    /// Ask the registries and the engine what really exists.
    pub refresh: bool,
    /// Limit the plan to these and what they are built on.
    pub targets: &'a [Address],
    /// Build rather than rebase.
    pub rebuild: bool,
    /// Save the plan here.
    pub out: Option<&'a Path>,
}

pub fn plan(ws: &Workspace, request: &PlanRequest<'_>) -> Result<Plan, Error> {
    let state = ws.backend.load()?;
    let planning = Planning {
        input: &request.input,
        refresh: request.refresh,
        targets: request.targets,
        rebuild: request.rebuild,
        provenance: false,
    };
    let prepared = runtime()?
        .block_on(async { prepare(ws, &planning, state.as_ref(), &LazyEngine::new(ws)).await })?;
    if let Some(out) = request.out {
        let saved = SavedPlan::new(prepared.plan.clone(), state.as_ref(), crate::host::now())
            .made_from(&request.input.path);
        crate::planfile::save(out, &saved)?;
    }
    Ok(prepared.plan)
}
