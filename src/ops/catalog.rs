//! `dispatch catalog`: what a recorded image holds, and which images hold a package; read
//! offline from the state and the catalogs kept beside it.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{Error, Workspace};
use crate::catalog::query::{self, Recorded};
use crate::model::catalog::{Catalog, Entry};
use crate::model::diag::did_you_mean;
use crate::model::{Address, AddressError, Kind};
use crate::state::{ResourceState, State};

/// The recorded images and their catalogs, for the queries of [`query`].
pub struct Shelf {
    pub recorded: Vec<Recorded>,
    pub catalogs: BTreeMap<String, Catalog>,
    /// Where each address is in `recorded`.
    index: HashMap<Address, usize>,
}

impl Shelf {
    /// The catalogs of `recorded`, read in one request to the backend.
    fn read(ws: &Workspace, recorded: Vec<Recorded>) -> Result<Shelf, Error> {
        let mut ids: Vec<String> = recorded.iter().flat_map(Recorded::ids).cloned().collect();
        ids.sort();
        ids.dedup();
        let catalogs = ws.backend.catalogs(&ids)?;
        let index = (recorded.iter().enumerate())
            .map(|(i, r)| (r.address.clone(), i))
            .collect();
        Ok(Shelf {
            recorded,
            catalogs,
            index,
        })
    }

    /// The packages of the image at `address`, if it is catalogued.
    pub fn entries(&self, address: &Address) -> Option<Vec<Entry>> {
        self.recorded[*self.index.get(address)?].entries(&self.catalogs)
    }
}

/// Every recorded image with its catalog.
pub fn all(ws: &Workspace) -> Result<Shelf, Error> {
    Shelf::read(ws, query::recorded(&ws.recorded()?))
}

/// What `get` shows: the resources of `kind` (or the one named `name`), with the catalogs of
/// those that have an image, from one read of the state.
pub fn get(
    ws: &Workspace,
    kind: Kind,
    name: Option<&str>,
) -> Result<(Vec<ResourceState>, Shelf), Error> {
    let state = ws.recorded()?;
    let selected = super::state::select(&state, kind, name)?;
    let wanted: Vec<Address> = selected.iter().map(|r| r.resource.address()).collect();
    let shelf = shelf(ws, &state, &wanted)?;
    Ok((selected, shelf))
}

/// The catalogs of those of `wanted` that `state` records an image for.
fn shelf(ws: &Workspace, state: &State, wanted: &[Address]) -> Result<Shelf, Error> {
    let wanted: HashSet<&Address> = wanted.iter().collect();
    let recorded = query::recorded(state)
        .into_iter()
        .filter(|r| wanted.contains(&r.address))
        .collect();
    Shelf::read(ws, recorded)
}

/// One image and what it holds.
pub struct Shown {
    pub resource: ResourceState,
    pub entries: Vec<Entry>,
}

/// The image `name` names (`NAME`, or `KIND/NAME` where both kinds have one) and its packages.
pub fn show(ws: &Workspace, name: &str) -> Result<Shown, Error> {
    let (resource, shelf) = one(ws, name)?;
    let address = resource.resource.address();
    let entries = shelf
        .entries(&address)
        .ok_or_else(|| Error::NotCatalogued(address.clone()))?;
    Ok(Shown { resource, entries })
}

/// The image `name` names, as recorded, with its catalog and its base's: an image that has
/// none (never made, or not catalogued) is an error.
pub fn one(ws: &Workspace, name: &str) -> Result<(ResourceState, Shelf), Error> {
    let state = ws.recorded()?;
    let address = resolve(&state, name)?;
    let resource = state
        .resources
        .get(&address)
        .ok_or_else(|| Error::NotFound(address.clone()))?;
    let shelf = shelf(ws, &state, std::slice::from_ref(&address))?;
    if !shelf.recorded.iter().any(|r| r.address == address) {
        return Err(Error::NoImage(address));
    }
    if shelf.entries(&address).is_none() {
        return Err(Error::NotCatalogued(address));
    }
    Ok((resource.clone(), shelf))
}

/// The address `name` means: `KIND/NAME` as written, or the one resource of either kind called
/// `NAME`.
fn resolve(state: &State, name: &str) -> Result<Address, Error> {
    if name.contains('/') {
        return name
            .parse()
            .map_err(|e: AddressError| Error::InvalidQuery(e.to_string()));
    }
    let mut named = Kind::ALL
        .into_iter()
        .map(|kind| Address::new(kind, name))
        .filter(|address| state.resources.contains_key(address));
    match (named.next(), named.next()) {
        (Some(address), None) => Ok(address),
        (Some(_), Some(_)) => Err(Error::Ambiguous { name: name.into() }),
        (None, _) => {
            let names = state.resources.keys().map(|a| a.name.as_str());
            let close = did_you_mean(name, names)
                .and_then(|close| (state.resources.keys()).find(|a| a.name == close).cloned());
            Err(Error::Unnamed {
                name: name.into(),
                close,
            })
        }
    }
}
