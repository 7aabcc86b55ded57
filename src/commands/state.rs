//! `dispatch state list`, `dispatch state rm ADDRESS...`.

use std::process::ExitCode;

use anyhow::Result;

use dispatch::ops::{self, Workspace};

use crate::cli::StateCommand;

pub fn run(ws: &Workspace, command: &StateCommand) -> Result<ExitCode> {
    match command {
        StateCommand::List { json } => {
            let state = ws.state()?;
            if *json {
                let resources: Vec<_> = state.resources.values().collect();
                println!("{}", serde_json::to_string_pretty(&resources)?);
            } else {
                for (address, resource) in &state.resources {
                    println!("{address}\t{}", resource.status);
                }
            }
        }
        StateCommand::Rm { addresses, .. } => {
            ops::state::rm(ws, addresses)?;
            for address in addresses {
                println!("Removed {address} from the state (its image was left alone).");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
