//! `dispatch state list|rm|push|pull`, `dispatch force-unlock`.

use std::process::ExitCode;

use anyhow::Result;

use dispatch::console;
use dispatch::ops::state::Copy;
use dispatch::ops::{self, Workspace};

use crate::cli::{Format, StateCommand};

pub fn run(ws: &Workspace, command: &StateCommand) -> Result<ExitCode> {
    match command {
        StateCommand::List { output } => {
            let state = ws.state()?;
            let text = match output.format() {
                Format::Json => {
                    let resources: Vec<_> = state.resources.values().collect();
                    super::json(&resources)?
                }
                Format::Text => state
                    .resources
                    .iter()
                    .map(|(address, resource)| format!("{address}\t{}\n", resource.status))
                    .collect(),
            };
            console::print(&text)?;
        }
        StateCommand::Rm { addresses, .. } => {
            ops::state::rm(ws, addresses)?;
            for address in addresses {
                console::print(&format!(
                    "Removed {address} from the state (its image was left alone).\n"
                ))?;
            }
        }
        StateCommand::Push { file, force, .. } | StateCommand::Pull { file, force, .. } => {
            let (direction, verb) = match command {
                StateCommand::Push { .. } => (Copy::Push, "Pushed"),
                _ => (Copy::Pull, "Pulled"),
            };
            let file = file.as_ref().unwrap_or(&ws.config.state);
            let count = ops::state::copy(ws, direction, file, *force)?;
            let (from, to) = match direction {
                Copy::Push => (file.display().to_string(), ws.backend.location()),
                Copy::Pull => (ws.backend.location(), file.display().to_string()),
            };
            console::print(&format!(
                "{verb} the state ({count} resource{}) from {from} to {to}.\n",
                if count == 1 { "" } else { "s" }
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `dispatch force-unlock LOCK_ID`.
pub fn force_unlock(ws: &Workspace, id: &str) -> Result<ExitCode> {
    ws.backend.force_unlock(id).map_err(ops::Error::from)?;
    console::print(&format!(
        "Freed the lock {id} on {}.\n",
        ws.backend.location()
    ))?;
    Ok(ExitCode::SUCCESS)
}
