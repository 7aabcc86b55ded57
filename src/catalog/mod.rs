//! The catalog of the software in each image: read from its files after a pull or a build
//! ([`scan`]), kept content-addressed by image id beside the state ([`Catalogs`]), and asked
//! about by `dispatch catalog`.

pub mod layers;
pub mod query;
pub mod rpmdb;
pub mod scan;

use crate::engine::{Engine, EngineError};
use crate::model::catalog::{Catalog, Filled};
use crate::model::oci::ImageManifest;
use crate::model::reference::ImageRef;
use crate::registry::{Registry, RegistryError};
use crate::state::{Catalogs, State, StateError};
use query::recorded;

/// The catalogs of an image and of its base, as [`ensure`] finds or takes them.
#[derive(Debug, Clone)]
pub struct Taken {
    pub image: Catalog,
    pub base: Option<Catalog>,
    /// How many of the two had to be read from the engine (none when both were recorded).
    pub read: usize,
}

impl Taken {
    pub fn entries(&self) -> Vec<crate::model::catalog::Entry> {
        self.image.entries(self.base.as_ref())
    }
}

/// Why an image's catalog could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Recorded(StateError),
    #[error("cannot read what image {image} holds: {error}")]
    Read { image: String, error: EngineError },
    #[error("cannot catalogue image {image}: {error}")]
    Scan {
        image: String,
        error: rpmdb::RpmdbError,
    },
    #[error("cannot record the catalog of image {image}: {error}")]
    Record { image: String, error: StateError },
    #[error("cannot read what image {image} holds from its registry: {error}")]
    Registry { image: String, error: RegistryError },
    #[error("what {image} and its base hold is not recorded")]
    NotRecorded { image: String },
    #[error("cannot read what image {image} holds from its registry: {error}")]
    Layer {
        image: String,
        error: layers::LayerError,
    },
}

/// The most a layer read from a registry may weigh, compressed.
const LAYER_LIMIT: u64 = 1 << 30;

/// What the image `manifest` describes holds, read from its layers in the repository of
/// `reference` (one at a time, the files the scan reads kept): what a pull would catalogue,
/// without the engine.
pub async fn from_registry<R: Registry>(
    registry: &R,
    reference: &ImageRef,
    manifest: &ImageManifest,
) -> Result<scan::Scanned, CatalogError> {
    let image = reference.to_string();
    let mut stack = layers::Stack::default();
    for layer in &manifest.layers {
        let blob =
            (registry.blob(reference, &layer.digest, LAYER_LIMIT).await).map_err(|error| {
                CatalogError::Registry {
                    image: image.clone(),
                    error,
                }
            })?;
        (stack.lay(&layer.digest, &layer.media_type, &blob)).map_err(|error| {
            CatalogError::Layer {
                image: image.clone(),
                error,
            }
        })?;
    }
    scan::scan(&stack.files()).map_err(|error| CatalogError::Scan { image, error })
}

/// The catalog of engine image `image` over that of `base` (an engine image id too): the
/// recorded ones, or else read from the engine (without running anything) and recorded. An
/// image that is never rebuilt is read once, and once more when the catalog recorded for it was
/// read by an older scan ([`scan::VERSION`]): that one is kept only when the engine cannot
/// give it again.
pub async fn ensure<E: Engine>(
    engine: &E,
    store: &dyn Catalogs,
    image: &str,
    base: Option<&str>,
) -> Result<Taken, CatalogError> {
    let ids: Vec<String> = std::iter::once(image)
        .chain(base)
        .map(str::to_string)
        .collect();
    let mut found = store.catalogs(&ids).map_err(CatalogError::Recorded)?;
    let mut read = 0;
    let base = match base {
        None => None,
        Some(id) => Some(match found.remove(id) {
            Some(catalog) if current(&catalog) => catalog,
            recorded => {
                read += 1;
                again(take(engine, store, id, None).await, recorded)?
            }
        }),
    };
    let image = match found.remove(image) {
        Some(catalog) if current(&catalog) => catalog,
        recorded => {
            read += 1;
            let over = base
                .as_ref()
                .zip(ids.get(1))
                .map(|(c, id)| (id.as_str(), c));
            again(take(engine, store, image, over).await, recorded)?
        }
    };
    Ok(Taken { image, base, read })
}

/// Whether the current scan read `catalog`.
fn current(catalog: &Catalog) -> bool {
    catalog.scan >= scan::VERSION
}

/// The catalog just read, or the one an older scan recorded if it could not be read again.
fn again(
    taken: Result<Catalog, CatalogError>,
    recorded: Option<Catalog>,
) -> Result<Catalog, CatalogError> {
    match (taken, recorded) {
        (Ok(catalog), _) => Ok(catalog),
        (Err(_), Some(recorded)) => Ok(recorded),
        (Err(e), None) => Err(e),
    }
}

async fn take<E: Engine>(
    engine: &E,
    store: &dyn Catalogs,
    image: &str,
    base: Option<(&str, &Catalog)>,
) -> Result<Catalog, CatalogError> {
    let files = engine
        .select(image, scan::ROOTS, scan::wanted, scan::LIMITS)
        .await
        .map_err(|error| CatalogError::Read {
            image: image.into(),
            error,
        })?;
    let scanned = scan::scan(&files).map_err(|error| CatalogError::Scan {
        image: image.into(),
        error,
    })?;
    let catalog = scanned.catalog(base);
    store
        .put_catalog(image, &catalog)
        .map_err(|error| CatalogError::Record {
            image: image.into(),
            error,
        })?;
    Ok(catalog)
}

/// Takes the catalogs missing for the images `state` records (one written by an older
/// dispatch, or not taken when its image was made), and again those an older scan read, from
/// the engine, rebuilding nothing.
pub async fn fill<E: Engine>(engine: &E, store: &dyn Catalogs, state: &State) -> Filled {
    let recorded = recorded(state);
    let ids: Vec<String> = recorded.iter().map(|r| r.image.clone()).collect();
    let mut filled = Filled::default();
    let have = match store.catalogs(&ids) {
        Ok(have) => have,
        Err(e) => {
            filled.failed.push(e.to_string());
            return filled;
        }
    };
    for r in recorded.iter() {
        let old = match have.get(&r.image) {
            Some(catalog) if current(catalog) => continue,
            Some(_) => true,
            None => false,
        };
        match engine.inspect(&r.image).await {
            Ok(Some(_)) => {}
            // An older scan's catalog stays as it is until its image is at hand.
            Ok(None) if old => continue,
            Ok(None) => {
                filled.absent += 1;
                continue;
            }
            Err(e) => {
                filled.failed.push(format!("{}: {e}", r.address));
                continue;
            }
        }
        match ensure(engine, store, &r.image, r.base.as_deref()).await {
            Ok(taken) if old => filled.again += taken.read.min(1),
            Ok(taken) => filled.read += taken.read.min(1),
            Err(e) => filled.failed.push(format!("{}: {e}", r.address)),
        }
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::FakeEngine;
    use crate::model::catalog::{Ecosystem, Package};
    use crate::model::reference::ImageRef;
    use crate::model::{BaseImageSpec, Language, Resource, Spec};
    use crate::state::memory::MemoryBackend;
    use crate::state::{Observed, ResourceState};

    fn run<F: std::future::Future>(future: F) -> F::Output {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(future)
    }

    /// What a dispatch before sources and the operating system recorded.
    fn older() -> Catalog {
        Catalog::layered(
            vec![Package::plain(Ecosystem::Deb, "libssl3", "3.0.11-1")],
            None,
        )
    }

    #[test]
    fn a_catalog_an_older_scan_read_is_read_again_where_the_image_is_at_hand() {
        let engine = FakeEngine::default().holding("base:1");
        let store = MemoryBackend::default();
        store.put_catalog("base:1", &older()).unwrap();
        store.put_catalog("gone:1", &older()).unwrap();
        let taken = run(ensure(&engine, &store, "base:1", None)).unwrap();
        assert_eq!((taken.read, taken.image.scan), (1, scan::VERSION));
        assert!(
            taken.image.packages.is_empty(),
            "as the image's files say now"
        );
        let stored = store.catalogs(&["base:1".into()]).unwrap();
        assert_eq!(stored["base:1"], taken.image);
        assert_eq!(
            run(ensure(&engine, &store, "base:1", None)).unwrap().read,
            0,
            "read again once"
        );
        // Where the engine cannot give it again, the older one is kept.
        let kept = run(ensure(&engine, &store, "gone:1", None)).unwrap();
        assert_eq!(kept.image, older());
    }

    #[test]
    fn fill_reads_again_what_an_older_scan_read_of_the_images_the_engine_holds() {
        let engine = FakeEngine::default().holding("held:1").holding("new:1");
        let store = MemoryBackend::default();
        store.put_catalog("held:1", &older()).unwrap();
        store.put_catalog("gone:1", &older()).unwrap();
        let mut state = State::new();
        for (name, id) in [("held", "held:1"), ("gone", "gone:1"), ("new", "new:1")] {
            let spec = Spec::BaseImage(BaseImageSpec {
                docker_url: ImageRef::parse(&format!("127.0.0.1:5000/base/{name}:1")).unwrap(),
                language: Language::Python3,
                tags: vec![],
                rebase: Default::default(),
            });
            let resource = Resource {
                name: name.into(),
                spec,
            };
            let mut entry = ResourceState::applied(resource, "2026-11-25T08:00:00Z");
            entry.observed = Some(Observed {
                image_id: Some(id.into()),
                ..Default::default()
            });
            state.resources.insert(entry.resource.address(), entry);
        }
        let filled = run(fill(&engine, &store, &state));
        assert_eq!(
            (
                filled.read,
                filled.again,
                filled.absent,
                filled.failed.len()
            ),
            (1, 1, 0, 0),
            "new:1 read, held:1 read again, gone:1 left as it was"
        );
        let ids: Vec<String> = ["held:1", "gone:1", "new:1"].map(String::from).into();
        let stored = store.catalogs(&ids).unwrap();
        assert_eq!(stored["held:1"].scan, scan::VERSION);
        assert_eq!(stored["gone:1"], older());
        assert_eq!(stored["new:1"].scan, scan::VERSION);
        assert_eq!(run(fill(&engine, &store, &state)), Filled::default());
    }
}
