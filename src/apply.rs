//! Apply: run a plan's changes against the engine and registries as a dependency graph (pulls
//! first, each build as soon as its base is ready), saving the state after every resource.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::build::{self, BuildInputs, Template};
use crate::engine::{BuildRequest, Builder, Engine};
use crate::model::{Address, Kind, Language, Resource, Spec};
use crate::plan::{Action, Change, Plan};
use crate::progress::{Outcome, Reporter};
use crate::reference::ImageRef;
use crate::registry::Registries;
use crate::state::{Observed, ResourceState, State, StateError, StateLock, Status, now};

/// How to apply, from flags and dispatch.toml.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub parallelism: usize,
    /// Leave built images in the engine when their resource is deleted or replaced.
    pub keep_images: bool,
    /// Registry path built images are pushed to; `None` keeps them in the engine only.
    pub destination: Option<String>,
    pub build_args: HashMap<String, String>,
    pub network: Option<String>,
    pub builder: Builder,
    /// Dockerfile templates that replace the built-in ones, by language.
    pub templates: HashMap<Language, String>,
}

/// What an apply did, for the closing line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub pulled: usize,
    pub built: usize,
    /// Images whose tag already existed, so nothing was built.
    pub reused: usize,
    pub updated: usize,
    pub deleted: usize,
    pub failed: usize,
    pub skipped: usize,
    pub not_started: usize,
}

impl Summary {
    /// `Apply complete! 3 pulled, 2 built, 0 deleted, 1 failed.` plus whatever else happened.
    pub fn line(&self) -> String {
        let mut parts = vec![
            format!("{} pulled", self.pulled),
            format!("{} built", self.built),
        ];
        for (count, what) in [(self.reused, "already built"), (self.updated, "updated")] {
            if count > 0 {
                parts.push(format!("{count} {what}"));
            }
        }
        parts.push(format!("{} deleted", self.deleted));
        parts.push(format!("{} failed", self.failed));
        for (count, what) in [(self.skipped, "skipped"), (self.not_started, "not started")] {
            if count > 0 {
                parts.push(format!("{count} {what}"));
            }
        }
        let head = if self.not_started > 0 {
            "Apply interrupted!"
        } else {
            "Apply complete!"
        };
        format!("{head} {}.", parts.join(", "))
    }

    pub fn succeeded(&self) -> bool {
        self.failed == 0 && self.skipped == 0 && self.not_started == 0
    }
}

/// Everything a step needs besides its own change.
pub struct Context<'a> {
    pub engine: &'a Engine,
    pub registries: &'a Registries,
    pub options: &'a Options,
    pub reporter: &'a dyn Reporter,
    /// Set on Ctrl-C: no new step starts; running ones finish.
    pub cancel: &'a AtomicBool,
}

/// What a successful step leaves behind.
enum Done {
    Pulled(Observed),
    Built(Observed),
    Reused(Observed),
    Updated,
    Deleted,
}

/// Runs every change of `plan` that is not a no-op, recording each result in `state`.
pub async fn apply(
    plan: &Plan,
    state: &mut State,
    lock: &StateLock,
    cx: &Context<'_>,
) -> Result<Summary, StateError> {
    let steps: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    let waits_for = dependencies(&steps);
    let mut summary = Summary::default();
    let mut pending: Vec<&Change> = steps.clone();
    let mut succeeded: HashSet<Address> = HashSet::new();
    let mut failed: HashSet<Address> = HashSet::new();
    let mut running = FuturesUnordered::new();
    let parallelism = cx.options.parallelism.max(1);
    loop {
        // Skip what can no longer run, then start what is ready, in plan order (bases first).
        let mut index = 0;
        while index < pending.len() {
            let change = pending[index];
            let waits = &waits_for[&change.address];
            if let Some(broken) = waits.iter().find(|a| failed.contains(*a)) {
                let message = format!("{broken} failed");
                cx.reporter
                    .finished(&change.address, Outcome::Skipped, &message);
                failed.insert(change.address.clone());
                summary.skipped += 1;
                pending.remove(index);
            } else if waits.iter().all(|a| succeeded.contains(a))
                && running.len() < parallelism
                && !cx.cancel.load(Ordering::SeqCst)
            {
                let inputs = StepInputs::from_state(change, state);
                running.push(async move { (change, run(change, inputs, cx).await) });
                pending.remove(index);
            } else {
                index += 1;
            }
        }
        let Some((change, result)) = running.next().await else {
            break;
        };
        match result {
            Ok(done) => {
                let message = record_success(state, change, done, &mut summary);
                cx.reporter
                    .finished(&change.address, Outcome::Done, &message);
                succeeded.insert(change.address.clone());
            }
            Err(reason) => {
                record_failure(state, change, &reason);
                cx.reporter
                    .finished(&change.address, Outcome::Failed, &reason);
                failed.insert(change.address.clone());
                summary.failed += 1;
            }
        }
        lock.save(state)?;
    }
    summary.not_started = pending.len();
    Ok(summary)
}

/// For each step, the steps it must wait for: a build waits for its base's pull; a base's
/// deletion waits for the images that were built on it.
fn dependencies(steps: &[&Change]) -> HashMap<Address, Vec<Address>> {
    let in_plan: HashMap<&Address, Action> = steps.iter().map(|c| (&c.address, c.action)).collect();
    let base_of = |r: &Option<Resource>| match r.as_ref().map(|r| &r.spec) {
        Some(Spec::Image(image)) => {
            Some(Address::new(Kind::BaseImage, image.base_image_name.clone()))
        }
        _ => None,
    };
    steps
        .iter()
        .map(|change| {
            let mut waits = Vec::new();
            if let Some(base) = base_of(&change.after)
                && in_plan.get(&base).is_some_and(|a| *a != Action::Delete)
            {
                waits.push(base);
            }
            if change.address.kind == Kind::BaseImage && change.action == Action::Delete {
                waits.extend(
                    steps
                        .iter()
                        .filter(|c| base_of(&c.before).as_ref() == Some(&change.address))
                        .map(|c| c.address.clone()),
                );
            }
            (change.address.clone(), waits)
        })
        .collect()
}

/// What a step reads from the state, copied when it starts.
struct StepInputs {
    /// What this resource had before (for replacements and deletions).
    previous: Option<Observed>,
    /// For an image: its base image's spec and what was pulled for it.
    base: Option<(Resource, Option<Observed>)>,
}

impl StepInputs {
    fn from_state(change: &Change, state: &State) -> Self {
        let previous = state
            .resources
            .get(&change.address)
            .and_then(|r| r.observed.clone());
        let base = change
            .after
            .as_ref()
            .and_then(Resource::depends_on)
            .and_then(|base| {
                state
                    .resources
                    .get(&base)
                    .map(|r| (r.resource.clone(), r.observed.clone()))
            });
        StepInputs { previous, base }
    }
}

async fn run(change: &Change, inputs: StepInputs, cx: &Context<'_>) -> Result<Done, String> {
    let address = &change.address;
    let progress = |p| cx.reporter.progress(address, &p);
    match (change.action, change.after.as_ref().map(|r| &r.spec)) {
        (Action::Delete, _) => {
            cx.reporter.started(address, "deleting");
            if let (Some(reference), false) = (
                inputs.previous.and_then(|o| o.reference),
                cx.options.keep_images,
            ) {
                cx.engine.remove(&reference).await?;
            }
            Ok(Done::Deleted)
        }
        (Action::Update, _) => {
            cx.reporter.started(address, "updating tags");
            Ok(Done::Updated)
        }
        (_, Some(Spec::BaseImage(base))) => {
            cx.reporter
                .started(address, &format!("pulling {}", base.docker_url));
            let image = cx.engine.pull(&base.docker_url, &progress).await?;
            let digest = base
                .docker_url
                .digest
                .clone()
                .or_else(|| image.digest_in(&base.docker_url));
            Ok(Done::Pulled(Observed {
                image_id: image.id,
                digest,
                reference: None,
            }))
        }
        (_, Some(Spec::Image(image))) => {
            let name = &change.address.name;
            let (base_resource, base_observed) = inputs.base.ok_or_else(|| {
                format!("base image {} is not in the state", image.base_image_name)
            })?;
            let (Spec::BaseImage(base_spec), Some(base_observed)) =
                (&base_resource.spec, base_observed)
            else {
                return Err(format!(
                    "base image {} has not been pulled",
                    image.base_image_name
                ));
            };
            let pinned = match &base_observed.digest {
                Some(digest) => format!("{}@{digest}", base_spec.docker_url.repository()),
                None => base_observed.image_id.clone(),
            };
            // The engine may have lost the base since it was pulled (a fresh CI runner, say),
            // and its template is read from the engine: pull it again, by digest.
            if base_observed.digest.is_some() && cx.engine.inspect(&pinned).await?.is_none() {
                cx.reporter
                    .started(address, &format!("pulling its base {pinned}"));
                cx.engine
                    .pull(&ImageRef::parse(&pinned)?, &progress)
                    .await?;
            }
            let template = match cx.options.templates.get(&base_spec.language) {
                Some(text) => Template::Override(text.clone()),
                None => match cx.engine.template_in(&pinned).await? {
                    Some(files) => Template::FromBase(files),
                    None => Template::BuiltIn,
                },
            };
            let context = build::context(&BuildInputs {
                name,
                base: &pinned,
                language: base_spec.language,
                image,
                template,
            });
            let reference =
                build::image_reference(cx.options.destination.as_deref(), name, &context.digest);
            let reuse = |image_id: String, digest| {
                Done::Reused(Observed {
                    image_id,
                    digest,
                    reference: Some(reference.to_string()),
                })
            };
            if let Some(existing) = cx.engine.inspect(reference.as_str()).await? {
                let digest = existing.digest_in(&reference);
                return Ok(reuse(existing.id, digest));
            }
            if cx.options.destination.is_some()
                && let Ok(digest) = cx.registries.digest(&reference).await
            {
                return Ok(reuse(String::new(), Some(digest)));
            }
            cx.reporter
                .started(address, &format!("building {reference}"));
            let build_args = context.with_args(&cx.options.build_args);
            let image_id = cx
                .engine
                .build(
                    BuildRequest {
                        context: context.tar,
                        tag: reference.as_str(),
                        build_args: &build_args,
                        network: cx.options.network.as_deref(),
                        // BuildKit cannot build `FROM` an image id.
                        builder: match base_observed.digest {
                            Some(_) => cx.options.builder,
                            None => Builder::Classic,
                        },
                        base: Some(&base_spec.docker_url),
                    },
                    &progress,
                )
                .await
                .map_err(|failure| {
                    let mut reason =
                        format!("error when building image {reference}: {}", failure.message);
                    if let Some(step) = &failure.step {
                        reason.push_str(&format!("\nfailed at {step}"));
                    }
                    for line in &failure.last_lines {
                        reason.push_str(&format!("\n  {line}"));
                    }
                    reason
                })?;
            let digest = match cx.options.destination {
                Some(_) => {
                    cx.reporter
                        .started(address, &format!("pushing {reference}"));
                    Some(cx.engine.push(&reference, &progress).await?)
                }
                None => None,
            };
            let old = inputs
                .previous
                .and_then(|o| o.reference)
                .filter(|old| *old != reference.as_str());
            if let (Some(old), false) = (old, cx.options.keep_images) {
                cx.engine.remove(&old).await?;
            }
            Ok(Done::Built(Observed {
                image_id,
                digest,
                reference: Some(reference.to_string()),
            }))
        }
        (_, None) => Err("nothing to create".into()),
    }
}

/// Records a finished step and says, in a few words, what it did.
fn record_success(state: &mut State, change: &Change, done: Done, summary: &mut Summary) -> String {
    let (observed, message) = match done {
        Done::Deleted => {
            state.resources.remove(&change.address);
            summary.deleted += 1;
            return "deleted".into();
        }
        Done::Updated => {
            summary.updated += 1;
            let kept = state
                .resources
                .get(&change.address)
                .and_then(|r| r.observed.clone());
            (kept, "tags updated".to_string())
        }
        Done::Pulled(observed) => {
            summary.pulled += 1;
            let message = format!(
                "pulled ({})",
                observed.digest.as_deref().unwrap_or(&observed.image_id)
            );
            (Some(observed), message)
        }
        Done::Built(observed) => {
            summary.built += 1;
            let message = format!(
                "built {}",
                observed.reference.as_deref().unwrap_or_default()
            );
            (Some(observed), message)
        }
        Done::Reused(observed) => {
            summary.reused += 1;
            let message = format!(
                "already built as {}",
                observed.reference.as_deref().unwrap_or_default()
            );
            (Some(observed), message)
        }
    };
    record(state, change, Status::Ready, Vec::new(), observed);
    message
}

fn record_failure(state: &mut State, change: &Change, reason: &str) {
    let reason = reason.lines().map(str::to_string).collect();
    record(state, change, Status::Error, reason, None);
}

fn record(
    state: &mut State,
    change: &Change,
    status: Status,
    reason: Vec<String>,
    observed: Option<Observed>,
) {
    let Some(resource) = change.after.clone().or_else(|| change.before.clone()) else {
        return;
    };
    let created_time = state
        .resources
        .get(&change.address)
        .map_or_else(now, |r| r.created_time.clone());
    let entry = ResourceState {
        spec_digest: resource.digest(),
        resource,
        status,
        reason,
        created_time,
        modified_time: now(),
        observed,
    };
    state.resources.insert(change.address.clone(), entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_names_what_happened() {
        let summary = Summary {
            pulled: 3,
            built: 2,
            failed: 1,
            ..Summary::default()
        };
        assert_eq!(
            summary.line(),
            "Apply complete! 3 pulled, 2 built, 0 deleted, 1 failed."
        );
        let summary = Summary {
            reused: 2,
            skipped: 1,
            not_started: 2,
            ..Summary::default()
        };
        assert_eq!(
            summary.line(),
            "Apply interrupted! 0 pulled, 0 built, 2 already built, 0 deleted, 0 failed, 1 skipped, 2 not started."
        );
    }
}
