//! `dispatch vulns [NAME] [--id ID]`.

use std::process::ExitCode;

use anyhow::Result;

use dispatch::model::words::agree;
use dispatch::ops::{self, Workspace};
use dispatch::report::advisories::{FindingJson, findings};

use super::advisories::Table;
use super::flags::Output;
use crate::console;
use crate::views::json;

/// List the known vulnerabilities of every recorded image, its base's packages included
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  dispatch vulns                             every recorded image
  dispatch vulns python-deps -o json         one image, for a program
  dispatch vulns --id CVE-2018-18074         which images this one affects

Answered offline from the catalogs kept beside the state and the advisories imported with
`dispatch advisories import`: each package of an image's whole catalog, in its ecosystem's own
order of versions. The exit code is 0 whatever is found.")]
pub struct Args {
    /// The image or base image (`NAME`, or `Image/NAME` and `BaseImage/NAME` where both exist)
    name: Option<String>,

    /// Only this advisory, by its id or one of its aliases (CVE-..., GHSA-...)
    #[arg(long, value_name = "ID")]
    id: Option<String>,

    #[command(flatten)]
    output: Output<Table>,
}

pub fn run(ws: &Workspace, args: &Args) -> Result<ExitCode> {
    let scanned = ops::advisories::vulns(ws, args.name.as_deref(), args.id.as_deref())?;
    let found = scanned.findings();
    let text = match args.output.format() {
        Table::Json => json(&found.iter().map(FindingJson::new).collect::<Vec<_>>())?,
        Table::Table if scanned.advisories() == 0 => {
            console::warn("no advisories are loaded: `dispatch advisories import PATH` reads them");
            String::new()
        }
        Table::Table if found.is_empty() => {
            let n = scanned.advisories();
            console::warn(&format!(
                "no recorded image is affected by the {n} {} loaded for their packages",
                agree(n, "advisory", "advisories")
            ));
            String::new()
        }
        Table::Table => findings(&found),
    };
    console::print(&text)?;
    Ok(ExitCode::SUCCESS)
}
