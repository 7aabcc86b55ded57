//! One function per action of a plan: delete, update, pull, build. Each asks the engine and
//! registries through their traits, takes its choices from [`crate::build::recipe`], and
//! returns what it did for [`super::record`] to write down.

use std::collections::HashMap;
use std::sync::Arc;

use super::Context;
use super::record::{self, Done};
use crate::build::context::{self, BuildContext, BuildInputs};
use crate::build::dockerfile::{TEMPLATE_LABEL, Template};
use crate::build::identity::Identity;
use crate::build::naming::image_reference;
use crate::build::rebase::RebaseError;
use crate::build::recipe::{self, Existing, NoDockerfile, NotPulled, Pin};
use crate::catalog::{self, CatalogError};
use crate::engine::{BuildRequest, Engine, EngineError};
use crate::model::image::{BuildFailure, Builder};
use crate::model::inputs::Inputs;
use crate::model::reference::{ImageRef, ReferenceError};
use crate::model::{Address, BaseImageSpec, ImageSpec, Language, Resource, Revision, Spec};
use crate::plan::{Action, Change};
use crate::policy::check::{self, Refused};
use crate::registry::Registry;
use crate::state::{Observed, State};

/// How to apply, resolved from flags and dispatch.toml.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Leave built images in the engine when their resource is deleted or replaced.
    pub keep_images: bool,
    /// Registry path built images are pushed to; `None` keeps them in the engine only.
    pub destination: Option<String>,
    pub build_args: HashMap<String, String>,
    pub network: Option<String>,
    pub builder: Builder,
    /// Dockerfile templates that replace the built-in ones, by language.
    pub templates: HashMap<Language, String>,
    /// What the settings add to each image's identity: those templates, the identity args.
    pub identity: Identity,
    /// The commit the declarations came from, recorded with every resource and on every image.
    pub revision: Option<Revision>,
    /// Where the declarations' repository lives (its remote's URL), labelled on every image.
    pub source_url: Option<String>,
}

/// What a step reads from the state, copied when it starts.
pub(super) struct Recorded {
    /// What this resource had before (for replacements, rebases and deletions).
    pub previous: Option<Observed>,
    /// For an image: its base image's spec and what was pulled for it.
    pub base: Option<(Resource, Option<Observed>)>,
}

impl Recorded {
    pub(super) fn from_state(change: &Change, state: &State) -> Self {
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
        Recorded { previous, base }
    }
}

/// A step that succeeded: what it did, and the image it leaves to remove once the state no
/// longer names it (the one a rebuild replaced, or a deleted resource's).
pub(super) struct Finished {
    pub done: Done,
    pub leftover: Option<String>,
    /// What went wrong that does not fail the step (a catalog that could not be taken).
    pub note: Option<String>,
    /// For an image built, pushed or found built: what it is built from besides its
    /// declaration.
    pub inputs: Option<Inputs>,
}

impl From<Done> for Finished {
    fn from(done: Done) -> Self {
        Finished {
            done,
            leftover: None,
            note: None,
            inputs: None,
        }
    }
}

/// Why a step failed: what it says is the reason recorded for the resource.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    NotPulled(#[from] NotPulled),
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    NoDockerfile(#[from] NoDockerfile),
    #[error(
        "{error}\nthe plan pulls {url} at {digest}, which the registry no longer has: make a new plan"
    )]
    PlannedGone {
        error: EngineError,
        url: String,
        digest: String,
    },
    #[error("base image {0} is not in the state")]
    BaseMissing(String),
    #[error("refused: the policies check what images hold, and this one could not be read: {0}")]
    Unreadable(CatalogError),
    #[error("{}", record::build_failure_reason(.reference, .failure))]
    Build {
        reference: String,
        failure: BuildFailure,
    },
    #[error("cannot read the template of image {0}: the engine does not hold it")]
    TemplateImageGone(String),
    #[error("cannot read the template of image {image} ({TEMPLATE_LABEL}={dir}): {error}")]
    TemplateFiles {
        image: String,
        dir: String,
        error: EngineError,
    },
    #[error("nothing to create")]
    Nothing,
    #[error("cannot rebase: {0}")]
    Rebase(#[from] RebaseError),
    #[error("cannot rebase: {what}: {error}")]
    Registry { what: String, error: String },
    #[error(
        "cannot rebase: its base was pulled at {pulled}, not at the {planned} the plan rebases onto: make a new plan"
    )]
    BaseElsewhere { planned: String, pulled: String },
    #[error("cannot rebase: it was never pushed, and a rebase is made in the registry")]
    NotPushed,
}

/// Runs the step for `change`; the error is the reason recorded for it.
pub(super) async fn run<E: Engine, R: Registry>(
    change: &Change,
    recorded: Recorded,
    cx: &Context<'_, E, R>,
) -> Result<Finished, StepError> {
    let address = &change.address;
    match (change.action, change.after.as_ref().map(|r| &r.spec)) {
        (Action::Delete, _) => {
            cx.reporter.started(address, "deleting");
            Ok(Finished {
                leftover: recipe::removed(recorded.previous.as_ref(), cx.options.keep_images),
                ..Done::Deleted.into()
            })
        }
        (Action::Update, _) => {
            cx.reporter.started(address, "updating tags");
            Ok(Done::Updated.into())
        }
        (Action::Rebase, Some(Spec::Image(image))) => {
            let rebase = change.rebase.as_ref().ok_or(StepError::Nothing)?;
            super::rebase::run(address, image, rebase, recorded, cx).await
        }
        (_, Some(Spec::BaseImage(base))) => pull(address, base, change.digest.as_deref(), cx).await,
        (_, Some(Spec::Image(image))) => build(address, image, recorded, cx).await,
        (_, None) => Err(StepError::Nothing),
    }
}

/// Pulls `base`: at `planned`, the digest the plan was made with, when there is one, so that
/// apply does what was reviewed even if the tag has moved since.
async fn pull<E: Engine, R: Registry>(
    address: &Address,
    base: &BaseImageSpec,
    planned: Option<&str>,
    cx: &Context<'_, E, R>,
) -> Result<Finished, StepError> {
    let url = &base.docker_url;
    let planned = planned.filter(|_| url.digest.is_none());
    let (reference, what) = match planned {
        None => (url.clone(), format!("pulling {url}")),
        Some(digest) => {
            let pinned = ImageRef::parse(&format!("{}@{digest}", url.repository()))?;
            let what = match cx.registries.digest(url).await {
                Ok(now) if now != digest => format!(
                    "pulling {url} at the planned {digest}: the tag has moved to {now} since"
                ),
                _ => format!("pulling {url}"),
            };
            (pinned, what)
        }
    };
    cx.reporter.started(address, &what);
    let progress = |p| cx.reporter.progress(address, &p);
    let image = cx
        .engine
        .pull(&reference, &progress)
        .await
        .map_err(|error| match planned {
            Some(digest) => StepError::PlannedGone {
                error,
                url: url.to_string(),
                digest: digest.to_string(),
            },
            None => error.into(),
        })?;
    let digest = url
        .digest
        .clone()
        .or_else(|| planned.map(str::to_string))
        .or_else(|| image.digest_in(url));
    let too_old = match &image.created {
        Some(created) => check::base_age(cx.policies, address, created, &crate::host::now()),
        None => Vec::new(),
    };
    let age = check::verdict(&too_old)?;
    let note = checked(cx, address, &image.id, None).await?;
    let note = age
        .into_iter()
        .chain(note)
        .reduce(|a, b| format!("{a}; {b}"));
    Ok(Finished {
        note,
        ..Done::Pulled(Observed {
            image_id: Some(image.id),
            digest,
            created: image.created,
            ..Observed::default()
        })
        .into()
    })
}

/// Catalogues engine image `image` over its `base` (found or taken), and checks what it
/// holds against the policies: the error is the reason it is refused for, the note its
/// warnings. Failing to take the catalog fails the step only when a policy needs it; else
/// that is the note.
pub(super) async fn checked<E: Engine, R: Registry>(
    cx: &Context<'_, E, R>,
    address: &Address,
    image: &str,
    base: Option<&str>,
) -> Result<Option<String>, StepError> {
    cx.reporter.started(address, "reading what it holds");
    match catalog::ensure(cx.engine, cx.catalogs, image, base).await {
        Ok(taken) => Ok(check::verdict(&check::catalog(
            cx.policies,
            cx.advisories,
            address,
            &taken.entries(),
            &crate::host::now(),
        ))?),
        Err(e) if check::checks_packages(cx.policies) => Err(StepError::Unreadable(e)),
        Err(e) => Ok(Some(format!("not catalogued: {e}"))),
    }
}

/// An image's build as it would be made now on its base as recorded: the base pinned (pulled
/// again should the engine have lost it: its template is read from it), the context, and the
/// tag its inputs name.
pub(super) struct Planned {
    pub base: BaseImageSpec,
    pub base_observed: Option<Observed>,
    pub pin: Pin,
    pub context: BuildContext,
    pub reference: ImageRef,
    pub identity: Arc<Inputs>,
}

pub(super) async fn planned<E: Engine, R: Registry>(
    address: &Address,
    image: &ImageSpec,
    base: Option<(Resource, Option<Observed>)>,
    cx: &Context<'_, E, R>,
) -> Result<Planned, StepError> {
    let progress = |p| cx.reporter.progress(address, &p);
    let base_name = &image.base_image_name;
    let (base_resource, base_observed) =
        base.ok_or_else(|| StepError::BaseMissing(base_name.clone()))?;
    let Spec::BaseImage(base) = base_resource.spec else {
        return Err(NotPulled(base_name.clone()).into());
    };
    let pin = recipe::pin(base_name, &base, base_observed.as_ref())?;
    // The engine may have lost the base since it was pulled (a fresh CI runner, say), and its
    // template is read from the engine: pull it again, by digest.
    if pin.by_digest && cx.engine.inspect(&pin.reference).await?.is_none() {
        cx.reporter
            .started(address, &format!("pulling its base {}", pin.reference));
        let pinned = ImageRef::parse(&pin.reference)?;
        cx.engine.pull(&pinned, &progress).await?;
    }
    let template = match recipe::override_template(&cx.options.templates, base.language) {
        Some(template) => template,
        None => match carried_template(cx.engine, &pin.reference).await? {
            Some(files) => Template::FromBase(files),
            None => Template::BuiltIn,
        },
    };
    let identity = cx.options.identity.inputs(base.language);
    let context = context::context(&BuildInputs {
        base: &pin.reference,
        language: base.language,
        image,
        template,
        identity_args: &identity.args,
    });
    let destination = cx.options.destination.as_deref();
    let reference = image_reference(destination, &address.name, &context.digest);
    Ok(Planned {
        base,
        base_observed,
        pin,
        context,
        reference,
        identity,
    })
}

async fn build<E: Engine, R: Registry>(
    address: &Address,
    image: &ImageSpec,
    recorded: Recorded,
    cx: &Context<'_, E, R>,
) -> Result<Finished, StepError> {
    let progress = |p| cx.reporter.progress(address, &p);
    let Planned {
        base,
        base_observed,
        pin,
        context,
        reference,
        identity,
    } = planned(address, image, recorded.base, cx).await?;
    let destination = cx.options.destination.as_deref();
    let local = cx.engine.inspect(reference.as_str()).await?;
    let remote = match destination {
        Some(_) => cx.registries.digest(&reference).await.ok(),
        None => None,
    };
    let existing = recipe::existing(&reference, destination.is_some(), local.as_ref(), remote);
    let image_id = match &existing {
        Existing::Reuse(observed) => observed.image_id.clone(),
        Existing::Push => local.map(|image| image.id),
        Existing::Build => {
            cx.reporter
                .started(address, &format!("building {reference}"));
            let build_args = context.with_args(&cx.options.build_args);
            let request = BuildRequest {
                context: context.tar,
                tag: reference.as_str(),
                build_args: &build_args,
                network: cx.options.network.as_deref(),
                builder: recipe::builder(cx.options.builder, &pin),
                base: Some(&base.docker_url),
                labels: recipe::labels(
                    cx.options.revision.as_ref(),
                    cx.options.source_url.as_deref(),
                    &base.docker_url,
                    &pin,
                ),
            };
            let id = cx
                .engine
                .build(request, &progress)
                .await
                .map_err(|failure| StepError::Build {
                    reference: reference.to_string(),
                    failure,
                })?;
            Some(id)
        }
    };
    // Catalogued before anything is pushed.
    let base_id = base_observed.as_ref().and_then(|o| o.image_id.as_deref());
    let note = match &image_id {
        Some(id) => checked(cx, address, id, base_id).await?,
        None => None,
    };
    // What it is built on, to see the base pulled again under it.
    let on = pin
        .by_digest
        .then(|| base_observed.as_ref()?.digest.clone())
        .flatten();
    let observed = |digest| Observed {
        image_id: image_id.clone(),
        digest,
        reference: Some(reference.to_string()),
        base: on.clone(),
        ..Observed::default()
    };
    let (done, leftover) = match existing {
        Existing::Reuse(observed) => (
            Done::Reused(Observed {
                base: on.clone(),
                ..observed
            }),
            None,
        ),
        Existing::Push => {
            cx.reporter
                .started(address, &format!("pushing {reference}, built earlier"));
            let digest = cx.engine.push(&reference, &progress).await?;
            (Done::Pushed(observed(Some(digest))), None)
        }
        Existing::Build => {
            let digest = match destination {
                Some(_) => {
                    cx.reporter
                        .started(address, &format!("pushing {reference}"));
                    Some(cx.engine.push(&reference, &progress).await?)
                }
                None => None,
            };
            let leftover = recipe::superseded(
                recorded.previous.as_ref(),
                reference.as_str(),
                cx.options.keep_images,
            );
            (Done::Built(observed(digest)), leftover)
        }
    };
    Ok(Finished {
        done,
        leftover,
        note,
        inputs: Some(Inputs::clone(&identity)),
    })
}

/// The build template a base image carries: the files of the directory its
/// [`TEMPLATE_LABEL`] label names (paths relative to it), or `None` without the label.
pub async fn carried_template<E: Engine>(
    engine: &E,
    image: &str,
) -> Result<Option<Vec<(String, Vec<u8>)>>, StepError> {
    let base =
        (engine.inspect(image).await?).ok_or_else(|| StepError::TemplateImageGone(image.into()))?;
    let Some(dir) = recipe::template_dir(&base) else {
        return Ok(None);
    };
    let files = (engine.files(image, &dir).await).map_err(|error| StepError::TemplateFiles {
        image: image.into(),
        dir: dir.clone(),
        error,
    })?;
    Ok(Some(recipe::carried_template(image, &dir, files)?))
}
