//! `dispatch apply`: plan under the state lock (or take a saved plan), ask for approval, run,
//! and report.

use std::collections::BTreeMap;
use std::path::Path;

use super::prepare::{LazyEngine, Planning, prepare};
use super::{Error, Input, Interaction, Workspace, runtime};
use crate::advisory::Index;
use crate::apply::record::{self, Tally};
use crate::apply::{self, Context, Member};
use crate::catalog;
use crate::engine::docker::DockerEngine;
use crate::model::Address;
use crate::model::catalog::Filled;
use crate::model::diag::Location;
use crate::model::policy::Policy;
use crate::model::words::{agree, count};
use crate::plan::Plan;
use crate::plan::saved::{PlanFileError, SavedPlan};
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
    /// Build the images whose base moved rather than rebase them, a saved plan's too.
    pub rebuild: bool,
    /// Leave replaced and deleted images in the engine.
    pub keep_images: bool,
    /// A saved plan the state has moved past is planned again, and applied if it does what
    /// was reviewed.
    pub replan_if_stale: bool,
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
        let lock = ws.lock(ui)?;
        let loaded = ws.backend.load()?;
        let saved = if request.input.revision.is_none() && is_saved_plan(&request.input.path) {
            let saved = crate::planfile::load(&request.input.path)?;
            Some(match request.rebuild {
                true => SavedPlan {
                    plan: saved.plan.rebuilt(),
                    ..saved
                },
                false => saved,
            })
        } else {
            None
        };
        // A stale plan is refused before anything else, unless it is to be planned again.
        let checked = match saved.map(|saved| (saved.check_current(loaded.as_ref()), saved)) {
            Some((Err(PlanFileError::Stale { why }), saved)) if request.replan_if_stale => {
                Some((Some(why), saved))
            }
            Some((Err(stale), _)) => return Err(stale.into()),
            Some((Ok(()), saved)) => Some((None, saved)),
            None => None,
        };
        // Nothing can be applied without the engine: say so before planning.
        let pool = ws.pool(ui).await?;
        let lazy = LazyEngine::holding(ws, pool[0].engine.clone());
        let engine = lazy.get().await?;
        let mut state = loaded.unwrap_or_default();
        let saved = match checked {
            Some((None, saved)) => Some(saved),
            Some((Some(why), saved)) => {
                let input = replanned(&saved, request, why.clone())?;
                ui.notice(&format!("the saved plan is stale: {why}; planning again"));
                let planning = Planning {
                    input: &input,
                    refresh: true,
                    targets: request.targets,
                    rebuild: request.rebuild,
                    provenance: true,
                };
                let prepared = prepare(ws, &planning, Some(&state), &lazy).await?;
                ui.show(&prepared.plan).map_err(Error::Output)?;
                saved.same_as(&prepared.plan, why)?;
                ui.notice("planned again, it does what was reviewed: applying it");
                Some(SavedPlan {
                    plan: prepared.plan,
                    ..saved
                })
            }
            None => None,
        };
        let (plan, policies, origins, provenance) = match saved {
            // A saved plan's declarations were checked when it was made; what images hold is
            // checked against the policies kept apart from them.
            Some(saved) => (
                saved.plan,
                ws.policies()?,
                BTreeMap::new(),
                ws.provenance(&request.input),
            ),
            None => {
                let planning = Planning {
                    input: &request.input,
                    refresh: request.refresh,
                    targets: request.targets,
                    rebuild: request.rebuild,
                    provenance: true,
                };
                let prepared = prepare(ws, &planning, Some(&state), &lazy).await?;
                ui.show(&prepared.plan).map_err(Error::Output)?;
                if !prepared.plan.has_changes() {
                    adopt_inputs(ws, &prepared.plan, &mut state, lock.as_ref(), ui)?;
                    let filled = catalog::fill(engine, ws.backend.as_ref(), &state).await;
                    return Ok(Applied::NoChanges { filled });
                }
                if !request.auto_approve {
                    ui.approve()?;
                }
                let declared = prepared.declarations;
                let origins = (declared.resources.iter())
                    .map(|(a, d)| (a.clone(), d.origin.clone()))
                    .collect();
                (
                    prepared.plan,
                    declared.policies,
                    origins,
                    prepared.provenance,
                )
            }
        };
        adopt_inputs(ws, &plan, &mut state, lock.as_ref(), ui)?;
        let advisories = gate(ws, &policies)?;
        let planned = plan
            .changes
            .iter()
            .flat_map(|c| c.after.iter().chain(&c.before));
        let registries =
            ws.registries(state.resources.values().map(|r| &r.resource).chain(planned));
        let run = Run {
            pool: &pool,
            registries: &registries,
            lock: lock.as_ref(),
            keep_images: request.keep_images,
            ui,
            provenance,
            policies: &policies,
            advisories: advisories.as_ref(),
        };
        let tally = execute(ws, &plan, &mut state, &run).await?;
        let filled = catalog::fill(engine, ws.backend.as_ref(), &state).await;
        Ok(Applied::Ran {
            tally,
            origins,
            filled,
        })
    })
}

/// Every stored advisory, indexed, when a policy has a `vulnerabilities` rule to hold the
/// built images to: read once, whatever the ecosystems of what is built.
pub(super) fn gate(ws: &Workspace, policies: &[Policy]) -> Result<Option<Index>, Error> {
    if !policies.iter().any(|p| p.vulnerabilities.is_some()) {
        return Ok(None);
    }
    Ok(Some(Index::new(ws.backend.advisories(None)?)))
}

/// What `saved` was made from, to plan again because the state moved (`why`).
fn replanned(saved: &SavedPlan, request: &ApplyRequest<'_>, why: String) -> Result<Input, Error> {
    let path = (saved.declarations.clone()).ok_or(PlanFileError::NoDeclarations { why })?;
    Ok(Input {
        path,
        revision: None,
        ..request.input.clone()
    })
}

/// Records what the images `plan` leaves alone are built from, where the state was written by
/// a dispatch that did not record it (README, "State"), and says so: nothing is rebuilt.
fn adopt_inputs(
    ws: &Workspace,
    plan: &Plan,
    state: &mut State,
    lock: &dyn StateLock,
    ui: &dyn Interaction,
) -> Result<(), Error> {
    let adopted = record::adopt_inputs(state, plan, &ws.identity()).len();
    if adopted > 0 {
        lock.save(state)?;
        ui.notice(&format!(
            "recorded the build inputs (template, identity args) of {} built by an earlier dispatch, which did not record them: {} taken as built from the current ones, not rebuilt",
            count(adopted, "image"),
            agree(adopted, "it is", "they are")
        ));
    }
    Ok(())
}

/// Whether `path` names a saved plan: a file that is not declarations (`*.yaml`, `*.yml`).
/// Such a file must then read as a plan: it never falls through to being parsed as YAML.
fn is_saved_plan(path: &Path) -> bool {
    path.is_file() && !crate::decl::is_declarations_file(path)
}

/// What running a plan takes besides the plan and the state.
pub(super) struct Run<'a> {
    /// The engines that answered, the first of which plans.
    pub pool: &'a [Member<DockerEngine>],
    pub registries: &'a Registries,
    pub lock: &'a dyn StateLock,
    pub keep_images: bool,
    pub ui: &'a dyn Interaction,
    /// Where the declarations came from, if from git.
    pub provenance: Option<Provenance>,
    pub policies: &'a [Policy],
    /// What a `vulnerabilities` rule holds each built image to.
    pub advisories: Option<&'a Index>,
}

/// Runs `plan`; once the user asks to stop, what has not started does not.
pub(super) async fn execute(
    ws: &Workspace,
    plan: &Plan,
    state: &mut State,
    run: &Run<'_>,
) -> Result<Tally, Error> {
    let options = ws.apply_options(run.keep_images, run.provenance.clone())?;
    let cx = Context {
        engine: &run.pool[0].engine,
        pool: run.pool,
        named: ws.config.engines.len() > 1
            || ws.config.engine().name != crate::config::engines::DEFAULT_NAME,
        registries: run.registries,
        options: &options,
        catalogs: ws.backend.as_ref(),
        policies: run.policies,
        advisories: run.advisories,
        reporter: run.ui.reporter(),
        cancel: run.ui.cancel(),
    };
    Ok(apply::run(plan, state, run.lock, &cx).await?)
}
