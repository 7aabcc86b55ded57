//! `dispatch state list`, `dispatch state rm ADDRESS...`.

use std::process::ExitCode;

use anyhow::Result;

use dispatch::console;
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
    }
    Ok(ExitCode::SUCCESS)
}
