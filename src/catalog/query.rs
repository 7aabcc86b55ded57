//! Asking the recorded catalogs: what one image holds, and which images hold a package.
//! Pure: the state and the catalogs come from the backend.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::model::Address;
use crate::model::catalog::{Catalog, Distro, Entry, Origin, Package};
use crate::state::State;

/// An image the state records, with the engine ids of it and of its base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub address: Address,
    pub image: String,
    pub base: Option<String>,
}

impl Recorded {
    /// The engine ids whose catalogs describe it.
    pub fn ids(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.image).chain(&self.base)
    }

    /// Its packages, if its catalog (and its base's, for an image) are in `catalogs`.
    pub fn entries(&self, catalogs: &BTreeMap<String, Catalog>) -> Option<Vec<Entry>> {
        let catalog = catalogs.get(&self.image)?;
        let base = match &catalog.base {
            Some(id) => Some(catalogs.get(id)?),
            None => None,
        };
        Some(catalog.entries(base))
    }

    /// Its operating system, if its catalog (or its base's) records one.
    pub fn os<'a>(&self, catalogs: &'a BTreeMap<String, Catalog>) -> Option<&'a Distro> {
        let catalog = catalogs.get(&self.image)?;
        catalog.os(catalog.base.as_ref().and_then(|id| catalogs.get(id)))
    }
}

/// The images `state` records an engine id for, bases first.
pub fn recorded(state: &State) -> Vec<Recorded> {
    let id = |address: &Address| {
        state
            .resources
            .get(address)?
            .observed
            .as_ref()?
            .image_id
            .clone()
    };
    let mut recorded: Vec<Recorded> = state
        .resources
        .iter()
        .filter_map(|(address, r)| {
            Some(Recorded {
                address: address.clone(),
                image: id(address)?,
                base: r.resource.depends_on().and_then(|base| id(&base)),
            })
        })
        .collect();
    recorded.sort_by_key(|r| r.base.is_some());
    recorded
}

/// A package found in an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found<'a> {
    #[serde(rename = "resource")]
    pub address: &'a Address,
    #[serde(flatten)]
    pub package: &'a Package,
    pub origin: Origin,
}

/// The packages `wanted` accepts in each of `recorded` whose catalog is in `catalogs`, by
/// resource. A base's packages are matched once, however many images are built on it.
pub fn find<'a>(
    recorded: &'a [Recorded],
    catalogs: &'a BTreeMap<String, Catalog>,
    wanted: impl Fn(&Package) -> bool,
) -> Vec<Found<'a>> {
    let mut in_base: HashMap<&str, Vec<&Package>> = HashMap::new();
    let mut found = Vec::new();
    for r in recorded {
        let Some(catalog) = catalogs.get(&r.image) else {
            continue;
        };
        let own = match catalog.base {
            Some(_) => Origin::Image,
            None => Origin::Base,
        };
        let mut here: Vec<Found<'a>> = catalog
            .packages
            .iter()
            .filter(|p| wanted(p))
            .map(|package| Found {
                address: &r.address,
                package,
                origin: own,
            })
            .collect();
        if let Some(base) = catalog
            .base
            .as_deref()
            .and_then(|id| catalogs.get_key_value(id))
        {
            let matched = in_base
                .entry(base.0)
                .or_insert_with(|| base.1.packages.iter().filter(|p| wanted(p)).collect());
            here.extend(
                matched
                    .iter()
                    .filter(|p| catalog.removed.binary_search(p).is_err())
                    .map(|package| Found {
                        address: &r.address,
                        package,
                        origin: Origin::Base,
                    }),
            );
        }
        here.sort_by(|a, b| a.package.cmp(b.package));
        found.extend(here);
    }
    found
}
