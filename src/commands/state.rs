//! `dispatch state list|rm|push|pull`, `dispatch force-unlock`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};

use dispatch::model::Address;
use dispatch::ops::state::Copy;
use dispatch::ops::{self, Workspace};

use super::flags::{Format, Given, Output, Writing};
use crate::console::{self, Terminal};
use crate::views::json;

/// Inspect, edit or move the state
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the resources in the state
    #[command(after_help = "Examples:
  dispatch state list
  dispatch state list -o json | jq -r '.[] | select(.status == \"ERROR\") | .name'")]
    List {
        #[command(flatten)]
        output: Output<Listing>,
    },
    /// Forget resources without touching any image
    #[command(after_help = "Examples:
  dispatch state rm Image/pandas BaseImage/python3")]
    Rm {
        /// Addresses such as BaseImage/my-python-base
        #[arg(required = true)]
        addresses: Vec<Address>,

        #[command(flatten)]
        writing: Writing,
    },
    /// Copy the local state file into the [backend] of dispatch.toml (a database)
    #[command(after_help = "Examples:
  dispatch state push                        .dispatch/state.json (or --state) to the database
  dispatch state push old/state.json --force over a state of another lineage")]
    Push(CopyArgs),
    /// Copy the state in the [backend] of dispatch.toml into a local file
    #[command(after_help = "Examples:
  dispatch state pull                   the database's state into .dispatch/state.json
  dispatch state pull backup.json")]
    Pull(CopyArgs),
}

#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// The local state file [default: --state, else `state` in dispatch.toml, else
    /// .dispatch/state.json]
    file: Option<PathBuf>,
    /// Overwrite a state of another lineage
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    writing: Writing,
}

/// Free the state lock left by a run that died
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  dispatch force-unlock 0b9c8f1e-7d3a-4c55-9e0f-2a6b1c4d8e77

The lock ID is in the message of the run that was refused (\"lock ID ...\"). Only that lock
is freed: if another run holds the lock by then, nothing changes.")]
pub struct UnlockArgs {
    /// The ID of the lock to free
    lock_id: String,
}

/// Text for people or JSON for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Listing {
    /// A line per resource: its address and status
    Text,
    /// The recorded resources
    Json,
}

impl Format for Listing {
    const JSON: Self = Listing::Json;
    const DEFAULT: &'static str = "text";
}

impl Command {
    /// The settings these flags give.
    pub fn given(&self) -> Given<'_> {
        match self {
            Command::List { .. } => Given::default(),
            Command::Rm { writing, .. }
            | Command::Push(CopyArgs { writing, .. })
            | Command::Pull(CopyArgs { writing, .. }) => Given {
                writing: Some(writing),
                ..Given::default()
            },
        }
    }
}

pub fn run(ws: &Workspace, command: &Command, quiet: bool) -> Result<ExitCode> {
    let terminal = Terminal::new(quiet);
    match command {
        Command::List { output } => {
            let state = ws.state()?;
            let text = match output.format() {
                Listing::Json => json(&state.resources.values().collect::<Vec<_>>())?,
                Listing::Text => state
                    .resources
                    .iter()
                    .map(|(address, resource)| format!("{address}\t{}\n", resource.status))
                    .collect(),
            };
            console::print(&text)?;
        }
        Command::Rm { addresses, .. } => {
            ops::state::rm(ws, &terminal, addresses)?;
            for address in addresses {
                console::print(&format!(
                    "Removed {address} from the state (its image was left alone).\n"
                ))?;
            }
        }
        Command::Push(args) | Command::Pull(args) => {
            let (direction, verb) = match command {
                Command::Push(_) => (Copy::Push, "Pushed"),
                _ => (Copy::Pull, "Pulled"),
            };
            let file = args.file.as_ref().unwrap_or(&ws.config.state);
            let count = ops::state::copy(ws, &terminal, direction, file, args.force)?;
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
pub fn force_unlock(ws: &Workspace, args: &UnlockArgs) -> Result<ExitCode> {
    ws.backend
        .force_unlock(&args.lock_id)
        .map_err(ops::Error::from)?;
    console::print(&format!(
        "Freed the lock {} on {}.\n",
        args.lock_id,
        ws.backend.location()
    ))?;
    Ok(ExitCode::SUCCESS)
}
