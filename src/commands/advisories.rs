//! `dispatch advisories import PATH...` and `dispatch advisories status`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};

use dispatch::model::advisory::MATCHED;
use dispatch::model::words::count;
use dispatch::ops::{self, Workspace};
use dispatch::report::advisories::{imported, status};

use super::flags::{Format, Given, Output, Writing};
use crate::console::{self, Terminal};
use crate::views::json;

fn import_help() -> String {
    format!(
        "Examples:
  dispatch advisories import advisory-database/vulns      a folder of OSV YAML or JSON
  dispatch advisories import PyPI-all.zip Debian-all.zip  osv.dev's per-ecosystem archives

Everything is read before anything is stored: a file that is not OSV, a range without events,
an archive too large or compressed too well, and nothing is imported. A record replaces the
one stored under its id only when its `modified` is later. Records of ecosystems dispatch does
not match are skipped and counted. It matches:
  {MATCHED}"
    )
}

/// Import known vulnerabilities (OSV advisories) and show what is loaded
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read OSV records from files, folders and osv.dev's all.zip into the state's backend
    #[command(after_help = import_help())]
    Import {
        /// OSV files (.json, .yaml, .yml: a record or a list), folders of them, zip archives
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,

        #[command(flatten)]
        output: Output<Table>,

        #[command(flatten)]
        writing: Writing,
    },
    /// What is loaded: per source and ecosystem, how many records and the newest `modified`
    #[command(after_help = "Examples:
  dispatch advisories status
  dispatch advisories status -o json | jq '.[] | select(.ecosystem == \"PyPI\")'")]
    Status {
        #[command(flatten)]
        output: Output<Table>,
    },
}

/// A table for people or JSON for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Table {
    Table,
    Json,
}

impl Format for Table {
    const JSON: Self = Table::Json;
    const DEFAULT: &'static str = "table";
}

impl Command {
    /// The settings these flags give.
    pub fn given(&self) -> Given<'_> {
        match self {
            Command::Import { writing, .. } => Given {
                writing: Some(writing),
                ..Given::default()
            },
            Command::Status { .. } => Given::default(),
        }
    }
}

pub fn run(ws: &Workspace, command: &Command, quiet: bool) -> Result<ExitCode> {
    let text = match command {
        Command::Import { paths, output, .. } => {
            let terminal = Terminal::new(quiet);
            let done = ops::advisories::import(ws, &terminal, paths)?;
            for note in &done.notes {
                console::warn(&format!("{note}: the range is left out"));
            }
            match output.format() {
                Table::Json => json(&done.tally)?,
                Table::Table => {
                    let total: usize = (done.tally.ecosystems.values())
                        .map(|c| c.new + c.updated + c.unchanged)
                        .sum();
                    format!(
                        "{}Imported {} from {}, kept beside the state at {}.\n",
                        imported(&done.tally),
                        count(total, "record"),
                        count(paths.len(), "path"),
                        ws.backend.location()
                    )
                }
            }
        }
        Command::Status { output } => {
            let loaded = ops::advisories::status(ws)?;
            match output.format() {
                Table::Json => json(&loaded)?,
                Table::Table if loaded.is_empty() => {
                    console::warn(
                        "no advisories are loaded: `dispatch advisories import PATH` reads them",
                    );
                    String::new()
                }
                Table::Table => status(&loaded),
            }
        }
    };
    console::print(&text)?;
    Ok(ExitCode::SUCCESS)
}
