//! What a plan needs to choose between rebasing and rebuilding an image whose base moved:
//! the platform, layers and packages of the base it was built on and of the base it moves to,
//! and the image's own layers and system packages. Asked of the registries (and of the
//! recorded catalogs, which a base's catalog read from its layers joins) only for images that
//! are in a registry and whose base moved.

use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt};

use crate::catalog;
use crate::decl::Declarations;
use crate::model::oci::Platform;
use crate::model::rebase::{self, BaseFacts, ImageFacts, Known, RebasePolicy, Unknown};
use crate::model::reference::ImageRef;
use crate::model::{Address, Kind, Spec};
use crate::plan::short;
use crate::registry::{self, Registry};
use crate::state::{Catalogs, ResourceState, State, Status};

/// How many images are asked about at once.
const CONCURRENCY: usize = 16;

/// What refresh found out for the rebase decisions.
#[derive(Debug, Default)]
pub struct Asked {
    pub bases: BTreeMap<String, Known<BaseFacts>>,
    pub images: BTreeMap<Address, Known<ImageFacts>>,
}

/// An image whose base moved: what to ask about it.
struct Wanted<'a> {
    address: Address,
    entry: &'a ResourceState,
    /// The base's reference (`dockerUrl`), whose repository holds both its digests.
    base: &'a ImageRef,
    from: String,
    onto: String,
    /// Whether the bases' catalogs are needed (not for `rebase: always`).
    catalogs: bool,
}

/// The images of `state` (declared, pushed, READY) whose base is to be at another digest than
/// the one they were built on: `digests` is what each base's reference points at now.
fn wanted<'a>(
    declarations: &Declarations,
    state: &'a State,
    digests: &BTreeMap<Address, String>,
) -> Vec<Wanted<'a>> {
    let ready =
        |address: &Address| (state.resources.get(address)).filter(|r| r.status == Status::Ready);
    let mut wanted = Vec::new();
    for (address, entry) in state.resources.iter() {
        let Some(built) = entry.observed.as_ref().filter(|o| o.digest.is_some()) else {
            continue;
        };
        let declared = declarations.get(address).map(|r| &r.spec);
        let (Some(Spec::Image(image)), Some(_)) = (declared, ready(address)) else {
            continue;
        };
        let base_address = Address::new(Kind::BaseImage, image.base_image_name.as_str());
        let Some(base_entry) = ready(&base_address) else {
            continue;
        };
        let declared_base = declarations
            .get(&base_address)
            .unwrap_or(&base_entry.resource);
        let (Spec::BaseImage(base), Spec::BaseImage(recorded_base)) =
            (&declared_base.spec, &base_entry.resource.spec)
        else {
            continue;
        };
        // Another reference is another base: built on, never rebased onto.
        if base.rebase == RebasePolicy::Never || base.docker_url != recorded_base.docker_url {
            continue;
        }
        let Some(recorded) = base_entry
            .observed
            .as_ref()
            .and_then(|o| o.digest.as_deref())
        else {
            continue;
        };
        let now = digests.get(&base_address).map_or(recorded, String::as_str);
        let Some((from, onto)) = rebase::moving(built.base.as_deref(), recorded, now) else {
            continue;
        };
        wanted.push(Wanted {
            address: address.clone(),
            entry,
            base: &recorded_base.docker_url,
            from,
            onto,
            catalogs: base.rebase != RebasePolicy::Always,
        });
    }
    wanted
}

/// Asks what each image whose base moved is, and what its old and new bases are.
pub async fn ask<R: Registry>(
    declarations: &Declarations,
    state: &State,
    digests: &BTreeMap<Address, String>,
    registries: &R,
    catalogs: Option<&dyn Catalogs>,
) -> Asked {
    let wanted = wanted(declarations, state, digests);
    let images: BTreeMap<Address, Known<(ImageFacts, Platform)>> = stream::iter(&wanted)
        .map(|w| async {
            (
                w.address.clone(),
                image(registries, catalogs, declarations, w).await,
            )
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut asked = Asked::default();
    for w in &wanted {
        // The platform of the image picks a base's manifest from an index.
        let platform = match images.get(&w.address) {
            Some(Ok((_, platform))) => platform.clone(),
            _ => Platform {
                os: "linux".into(),
                architecture: "amd64".into(),
                variant: None,
            },
        };
        for digest in [&w.from, &w.onto] {
            // Asked once a base, but again for its catalog when an image needs it.
            let done = asked.bases.get(digest).is_some_and(|known| match known {
                Ok(facts) => facts.packages.is_some() || !w.catalogs,
                Err(_) => true,
            });
            if !done {
                let facts = base(registries, catalogs, w.base, digest, &platform, w.catalogs);
                asked.bases.insert(digest.clone(), facts.await);
            }
        }
    }
    asked.images = (images.into_iter())
        .map(|(address, facts)| (address, facts.map(|(facts, _)| facts)))
        .collect();
    asked
}

/// `repository@digest`.
fn pinned(repository: &ImageRef, digest: &str) -> Known<ImageRef> {
    ImageRef::parse(&format!("{}@{digest}", repository.repository()))
        .map_err(|e| Unknown(e.to_string()))
}

/// What the pushed image `w` is: its layers and platform from the registry, its own system
/// packages from its recorded catalog (or, without one, its declaration).
async fn image<R: Registry>(
    registries: &R,
    catalogs: Option<&dyn Catalogs>,
    declarations: &Declarations,
    w: &Wanted<'_>,
) -> Known<(ImageFacts, Platform)> {
    let observed = w.entry.observed.as_ref();
    let (Some(reference), Some(digest)) = (
        observed.and_then(|o| o.reference.as_deref()),
        observed.and_then(|o| o.digest.as_deref()),
    ) else {
        return Err(Unknown("it was never pushed".into()));
    };
    let repository = ImageRef::parse(reference).map_err(|e| Unknown(e.to_string()))?;
    let pushed = pinned(&repository, digest)?;
    let (_, _, config) = (registry::image(registries, &pushed, None).await).map_err(|e| {
        Unknown(format!(
            "what image {pushed} is could not be read from its registry: {e}"
        ))
    })?;
    let recorded = match (catalogs, observed.and_then(|o| o.image_id.clone())) {
        (Some(store), Some(id)) => store
            .catalogs(std::slice::from_ref(&id))
            .ok()
            .and_then(|mut c| c.remove(&id)),
        _ => None,
    };
    let system_packages = match recorded {
        Some(catalog) => ImageFacts::own_system_packages(&catalog),
        None => match declarations.get(&w.address).map(|r| &r.spec) {
            Some(Spec::Image(spec)) => (spec.system_dependencies.iter())
                .flat_map(|s| &s.packages)
                .map(|p| p.to_string())
                .collect(),
            _ => Vec::new(),
        },
    };
    let facts = ImageFacts {
        diff_ids: config.diff_ids(),
        system_packages,
    };
    Ok((facts, config.platform()))
}

/// What the base at `digest` of `repository` is; its packages when `with_catalog`, from the
/// recorded catalog of its config (the engine's id for it) or else read from its layers, and
/// recorded so that neither a later plan nor its pull reads them again.
async fn base<R: Registry>(
    registries: &R,
    catalogs: Option<&dyn Catalogs>,
    repository: &ImageRef,
    digest: &str,
    platform: &Platform,
    with_catalog: bool,
) -> Known<BaseFacts> {
    let unreadable = |e: String| {
        Unknown(format!(
            "what base {} holds could not be read: {e}",
            short(digest)
        ))
    };
    let reference = pinned(repository, digest)?;
    let (reference, manifest, config) = registry::image(registries, &reference, Some(platform))
        .await
        .map_err(|e| unreadable(e.to_string()))?;
    let id = manifest.config.digest.clone();
    let packages = match with_catalog {
        false => None,
        true => {
            let recorded = catalogs.and_then(|store| {
                let mut found = store.catalogs(std::slice::from_ref(&id)).ok()?;
                found.remove(&id)
            });
            Some(match recorded {
                Some(catalog) => catalog.packages,
                None => {
                    let scanned = catalog::from_registry(registries, &reference, &manifest)
                        .await
                        .map_err(|e| unreadable(e.to_string()))?;
                    let catalog = scanned.catalog(None);
                    if let Some(store) = catalogs {
                        // Kept by content: a failure here only costs a read next time.
                        let _ = store.put_catalog(&id, &catalog);
                    }
                    catalog.packages
                }
            })
        }
    };
    let platform = config.platform();
    Ok(BaseFacts {
        os: platform.os,
        architecture: platform.architecture,
        diff_ids: config.diff_ids(),
        packages,
    })
}
