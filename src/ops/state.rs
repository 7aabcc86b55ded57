//! The state as the user asks about it (`get`, `state list`), edits it by hand (`state rm`) or
//! moves it (`state push`, `state pull`).

use std::path::Path;

use super::{Error, Interaction, Workspace};
use crate::config::BackendConfig;
use crate::model::{Address, Kind};
use crate::state::local::LocalBackend;
use crate::state::{Backend, ResourceState, State};

/// The resources of `kind`, or the one named `name`.
pub fn get(ws: &Workspace, kind: Kind, name: Option<&str>) -> Result<Vec<ResourceState>, Error> {
    select(&ws.recorded()?, kind, name)
}

/// The resources of `kind` in `state`, or the one named `name`.
pub(super) fn select(
    state: &State,
    kind: Kind,
    name: Option<&str>,
) -> Result<Vec<ResourceState>, Error> {
    match name {
        Some(name) => {
            let address = Address::new(kind, name);
            match state.resources.get(&address) {
                Some(r) => Ok(vec![r.clone()]),
                None => Err(Error::NotFound(address)),
            }
        }
        None => Ok(state
            .resources
            .values()
            .filter(|r| r.resource.kind() == kind)
            .cloned()
            .collect()),
    }
}

/// Forgets `addresses` without touching any image; all of them or none.
pub fn rm(ws: &Workspace, ui: &dyn Interaction, addresses: &[Address]) -> Result<(), Error> {
    let lock = ws.lock(ui)?;
    let mut state = ws.backend.load()?.ok_or(Error::NoState)?;
    for address in addresses {
        if state.resources.remove(address).is_none() {
            return Err(Error::NotInState(address.clone()));
        }
    }
    lock.save(&mut state)?;
    Ok(())
}

/// Which way `state push` and `state pull` copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    /// The local file to the configured backend.
    Push,
    /// The configured backend to the local file.
    Pull,
}

/// Copies the whole state between the local file `file` and the configured backend, keeping
/// its lineage; the serial continues the destination's. A destination that holds another
/// lineage is overwritten only when `force`. Returns how many resources were copied.
pub fn copy(
    ws: &Workspace,
    ui: &dyn Interaction,
    direction: Copy,
    file: &Path,
    force: bool,
) -> Result<usize, Error> {
    if ws.config.backend == BackendConfig::Local {
        return Err(Error::LocalOnly(ws.backend.location()));
    }
    let local = LocalBackend::new(file);
    let (from, to): (&dyn Backend, &dyn Backend) = match direction {
        Copy::Push => (&local, ws.backend.as_ref()),
        Copy::Pull => (ws.backend.as_ref(), &local),
    };
    let lock = ws.lock_on(to, ui)?;
    let mut state = from
        .load()?
        .ok_or_else(|| Error::NothingToCopy(from.location()))?;
    if let Some(there) = to.load()? {
        if there.lineage != state.lineage && !force {
            return Err(Error::Lineage {
                from: from.location(),
                to: to.location(),
                lineage: state.lineage,
                found: there.lineage,
            });
        }
        state.serial = there.serial;
    } else {
        state.serial = 0;
    }
    lock.save(&mut state)?;
    Ok(state.resources.len())
}
