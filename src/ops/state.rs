//! The state as the user asks about it (`get`, `state list`) or edits it by hand (`state rm`).

use super::{Error, Workspace};
use crate::model::{Address, Kind};
use crate::state::ResourceState;

/// The resources of `kind`, or the one named `name`.
pub fn get(ws: &Workspace, kind: Kind, name: Option<&str>) -> Result<Vec<ResourceState>, Error> {
    let mut state = ws.state()?;
    match name {
        Some(name) => {
            let address = Address::new(kind, name);
            match state.resources.remove(&address) {
                Some(r) => Ok(vec![r]),
                None => Err(Error::NotFound(address)),
            }
        }
        None => Ok(state
            .resources
            .into_values()
            .filter(|r| r.resource.kind() == kind)
            .collect()),
    }
}

/// Forgets `addresses` without touching any image; all of them or none.
pub fn rm(ws: &Workspace, addresses: &[Address]) -> Result<(), Error> {
    let lock = ws.lock()?;
    let mut state = ws.backend.load()?.ok_or(Error::NoState)?;
    for address in addresses {
        if state.resources.remove(address).is_none() {
            return Err(Error::NotInState(address.clone()));
        }
    }
    lock.save(&mut state)?;
    Ok(())
}
