//! `dispatch apply`: plan under the state lock (or take a saved plan), ask for approval, run,
//! and report.

use std::collections::BTreeMap;
use std::path::Path;

use super::plan::refreshed;
use super::{Error, Input, Workspace, runtime};
use crate::apply::record::Tally;
use crate::apply::{self, Context, Reporter};
use crate::catalog;
use crate::console::ApprovalError;
use crate::engine::docker::DockerEngine;
use crate::model::Address;
use crate::model::catalog::Filled;
use crate::model::diag::Location;
use crate::model::policy::Policy;
use crate::plan::{self, Observations, Plan};
use crate::registry::oci::Registries;
use crate::source::git::Provenance;
use crate::state::{State, StateLock};

pub struct ApplyRequest<'a> {
    /// The declarations, or (its path) a saved plan.
    pub input: Input,
    /// Apply without asking.
    pub auto_approve: bool,
    pub refresh: bool,
    pub targets: &'a [Address],
    /// Leave replaced and deleted images in the engine.
    pub keep_images: bool,
}

/// How an apply talks with the person running it.
pub trait Interaction {
    /// Shows the plan about to be applied (a saved plan was shown when it was made).
    fn show(&self, plan: &Plan) -> std::io::Result<()>;
    /// Asks whether to go on.
    fn approve(&self) -> Result<(), ApprovalError>;
    /// Receives the progress of every step.
    fn reporter(&self) -> &dyn Reporter;
}

/// How an apply ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The plan had no changes: nothing ran.
    NoChanges { filled: Filled },
    Ran {
        tally: Tally,
        /// Where each resource is declared (none for a saved plan), to point at a failure.
        origins: BTreeMap<Address, Location>,
        /// The catalogs taken for images recorded without one.
        filled: Filled,
    },
}

pub fn apply(
    ws: &Workspace,
    request: &ApplyRequest<'_>,
    ui: &dyn Interaction,
) -> Result<Applied, Error> {
    runtime()?.block_on(async {
        let lock = ws.lock()?;
        let loaded = ws.backend.load()?;
        let saved = if request.input.revision.is_none() && is_saved_plan(&request.input.path) {
            Some(crate::planfile::load(&request.input.path)?)
        } else {
            None
        };
        if let Some(saved) = &saved {
            saved.check_current(loaded.as_ref())?;
        }
        let engine = ws.engine().await?;
        let mut state = loaded.unwrap_or_default();
        let mut origins = BTreeMap::new();
        // A saved plan's declarations were checked when it was made; what images hold is
        // checked against the policies kept apart from them.
        let mut policies = ws.policies()?;
        let plan = match saved {
            Some(saved) => saved.plan,
            None => {
                let declarations = ws.declarations(&request.input, Some(&state))?;
                policies = declarations.policies.clone();
                origins = declarations
                    .resources
                    .iter()
                    .map(|(a, d)| (a.clone(), d.origin.clone()))
                    .collect();
                let observations = if request.refresh {
                    refreshed(ws, &declarations, &state, Some(&engine)).await?
                } else {
                    Observations::default()
                };
                let plan = plan::plan(&declarations, Some(&state), &observations, request.targets)?;
                ui.show(&plan).map_err(Error::Output)?;
                if !plan.has_changes() {
                    let filled = catalog::fill(&engine, ws.backend.as_ref(), &state).await;
                    return Ok(Applied::NoChanges { filled });
                }
                if !request.auto_approve {
                    ui.approve()?;
                }
                plan
            }
        };
        let planned = plan
            .changes
            .iter()
            .flat_map(|c| c.after.iter().chain(&c.before));
        let registries =
            ws.registries(state.resources.values().map(|r| &r.resource).chain(planned));
        let run = Run {
            engine: &engine,
            registries: &registries,
            lock: lock.as_ref(),
            keep_images: request.keep_images,
            reporter: ui.reporter(),
            provenance: ws.provenance(&request.input),
            policies: &policies,
        };
        let tally = execute(ws, &plan, &mut state, &run).await?;
        let filled = catalog::fill(&engine, ws.backend.as_ref(), &state).await;
        Ok(Applied::Ran {
            tally,
            origins,
            filled,
        })
    })
}

/// Whether `path` names a saved plan: a file that is not declarations (`*.yaml`, `*.yml`).
/// Such a file must then read as a plan: it never falls through to being parsed as YAML.
fn is_saved_plan(path: &Path) -> bool {
    path.is_file() && !crate::decl::is_declarations_file(path)
}

/// What running a plan takes besides the plan and the state.
pub(super) struct Run<'a> {
    pub engine: &'a DockerEngine,
    pub registries: &'a Registries,
    pub lock: &'a dyn StateLock,
    pub keep_images: bool,
    pub reporter: &'a dyn Reporter,
    /// Where the declarations came from, if from git.
    pub provenance: Option<Provenance>,
    pub policies: &'a [Policy],
}

/// Runs `plan`, Ctrl-C stopping what has not started.
pub(super) async fn execute(
    ws: &Workspace,
    plan: &Plan,
    state: &mut State,
    run: &Run<'_>,
) -> Result<Tally, Error> {
    let options = ws.apply_options(run.keep_images, run.provenance.clone())?;
    let cx = Context {
        engine: run.engine,
        registries: run.registries,
        options: &options,
        catalogs: ws.backend.as_ref(),
        policies: run.policies,
        reporter: run.reporter,
        cancel: crate::console::watch_interrupts(),
    };
    Ok(apply::run(plan, state, run.lock, &cx).await?)
}
