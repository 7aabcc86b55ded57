//! `dispatch catalog`: what a recorded image holds, and which images hold a package; read
//! offline from the state and the catalogs kept beside it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{Error, Workspace, advisories};
use crate::advisory::find::Finding;
use crate::catalog::query::{self, Recorded};
use crate::model::catalog::{Catalog, Distro, Entry};
use crate::model::diag::did_you_mean;
use crate::model::{Address, AddressError, Kind};
use crate::report::sbom::{self, Subject};
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

    /// The operating system of the image at `address`, if its catalog records one.
    pub fn os(&self, address: &Address) -> Option<&Distro> {
        self.recorded[*self.index.get(address)?].os(&self.catalogs)
    }
}

/// Every recorded image with its catalog.
pub fn all(ws: &Workspace) -> Result<Shelf, Error> {
    recorded_in(ws, &ws.recorded()?)
}

/// Every image `state` records, with its catalog: for a caller that has read the state.
pub fn recorded_in(ws: &Workspace, state: &State) -> Result<Shelf, Error> {
    Shelf::read(ws, query::recorded(state))
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

/// What `catalog -o cyclonedx|spdx` asks for.
pub struct SbomRequest<'a> {
    /// One image (`NAME` or `KIND/NAME`), or every recorded one.
    pub name: Option<&'a str>,
    pub format: sbom::Format,
    /// The folder to write one document per image into; `None`: the one image's document is
    /// returned.
    pub out: Option<&'a Path>,
    /// Write into a folder that is not empty, replacing the documents of the same names.
    pub force: bool,
}

/// What an SBOM request made.
pub enum Sboms {
    /// The one image's document.
    Document(String),
    /// The documents written, each with its image, and the recorded images left out because
    /// they have no catalog.
    Written {
        files: Vec<(Address, PathBuf)>,
        uncatalogued: Vec<Address>,
    },
}

/// The SBOMs of the image `request` names, or of every recorded one, with the operating
/// system, each package's source and license, and what the loaded advisories say affects
/// them: returned, or written one per image into a folder as [`sbom::file_names`] names them
/// (a folder that holds anything already is refused without `force`, before anything is
/// read; each document replaces its file in one step).
pub fn sboms(ws: &Workspace, request: &SbomRequest<'_>) -> Result<Sboms, Error> {
    if let Some(dir) = request.out {
        folder(dir, request.force)?;
    }
    let (resources, scanned) = described(ws, request.name)?;
    let shelf = scanned.shelf();
    let loaded = scanned.advisories() > 0;
    let mut findings: HashMap<Address, Vec<Finding<'_>>> = HashMap::new();
    for finding in scanned.findings() {
        (findings.entry(finding.address.clone()).or_default()).push(finding);
    }
    let (catalogued, uncatalogued): (Vec<&ResourceState>, Vec<&ResourceState>) =
        (resources.iter()).partition(|r| shelf.entries(&r.resource.address()).is_some());
    let mut subject = |resource: &'_ ResourceState| {
        let address = resource.resource.address();
        let entries = shelf.entries(&address).unwrap_or_default();
        let found = loaded.then(|| findings.remove(&address).unwrap_or_default());
        request
            .format
            .render(&Subject::new(resource, entries, shelf.os(&address), found))
    };
    let Some(dir) = request.out else {
        let one = (request.name.and(catalogued.first())).ok_or_else(|| {
            Error::InvalidQuery("every image's SBOM is written to a folder: --out DIR".into())
        })?;
        return Ok(Sboms::Document(subject(one)));
    };
    let addresses: Vec<Address> = catalogued.iter().map(|r| r.resource.address()).collect();
    let names = sbom::file_names(&addresses, request.format);
    let mut files = Vec::new();
    for ((resource, address), name) in catalogued.iter().zip(addresses).zip(names) {
        let path = dir.join(name);
        let document = subject(resource);
        crate::files::write_atomic(dir, &path, document.as_bytes()).map_err(|error| {
            Error::Write {
                path: path.display().to_string(),
                error,
            }
        })?;
        files.push((address, path));
    }
    Ok(Sboms::Written {
        files,
        uncatalogued: (uncatalogued.iter())
            .map(|r| r.resource.address())
            .collect(),
    })
}

/// Makes `dir` if it is missing; one that holds anything is refused without `force`.
fn folder(dir: &Path, force: bool) -> Result<(), Error> {
    let write = |error| Error::Write {
        path: dir.display().to_string(),
        error,
    };
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            Some(_) if !force => Err(Error::NotEmpty(dir.display().to_string())),
            _ => Ok(()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(write)
        }
        Err(e) => Err(write(e)),
    }
}

/// The recorded image `name` names (every recorded image, bases first, when `None`), and the
/// advisories that may affect them.
fn described(
    ws: &Workspace,
    name: Option<&str>,
) -> Result<(Vec<ResourceState>, advisories::Scanned), Error> {
    let (resources, shelf) = match name {
        Some(name) => {
            let (resource, shelf) = one(ws, name)?;
            (vec![resource], shelf)
        }
        None => {
            let state = ws.recorded()?;
            let shelf = Shelf::read(ws, query::recorded(&state))?;
            let resources = (shelf.recorded.iter())
                .filter_map(|r| state.resources.get(&r.address).cloned())
                .collect();
            (resources, shelf)
        }
    };
    Ok((resources, advisories::against(ws, shelf, None)?))
}
