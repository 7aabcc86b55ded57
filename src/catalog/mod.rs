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
/// image that is never rebuilt is read once.
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
            Some(catalog) => catalog,
            None => {
                read += 1;
                take(engine, store, id, None).await?
            }
        }),
    };
    let image = match found.remove(image) {
        Some(catalog) => catalog,
        None => {
            read += 1;
            let over = base
                .as_ref()
                .zip(ids.get(1))
                .map(|(c, id)| (id.as_str(), c));
            take(engine, store, image, over).await?
        }
    };
    Ok(Taken { image, base, read })
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
    let catalog = Catalog::layered(scanned.packages, base).with_os(scanned.os);
    store
        .put_catalog(image, &catalog)
        .map_err(|error| CatalogError::Record {
            image: image.into(),
            error,
        })?;
    Ok(catalog)
}

/// Takes the catalogs missing for the images `state` records (one written by an older
/// dispatch, or not taken when its image was made), from the engine, rebuilding nothing.
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
    for r in recorded.iter().filter(|r| !have.contains_key(&r.image)) {
        match engine.inspect(&r.image).await {
            Ok(Some(_)) => {}
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
            Ok(taken) => filled.read += taken.read.min(1),
            Err(e) => filled.failed.push(format!("{}: {e}", r.address)),
        }
    }
    filled
}
