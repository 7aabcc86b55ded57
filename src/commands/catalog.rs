//! `dispatch catalog NAME`, `dispatch catalog --package QUERY` and `dispatch catalog --all
//! -o cyclonedx|spdx --out DIR`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::ValueEnum;

use dispatch::catalog::query;
use dispatch::model::versions::Query;
use dispatch::model::words::agree;
use dispatch::ops::catalog::{SbomRequest, Sboms};
use dispatch::ops::{self, Error, Workspace};
use dispatch::report::catalog::{Listing, found, table};
use dispatch::report::sbom;

use super::flags::{Format, Output};
use crate::console;
use crate::views::json;

/// Show the software an image holds, or find the images that hold a package
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  dispatch catalog pandas                      its packages: ecosystem, name, version, base or image
  dispatch catalog pandas -o cyclonedx > sbom.json
  dispatch catalog --all -o spdx --out sboms   one SPDX document per image, in sboms/
  dispatch catalog --package 'pandas<1.0'      every image holding pandas before 1.0
  dispatch catalog --package npm:lodash@<4.17.21 -o json

Catalogs are read after every pull and build, without running the image, and kept beside the
state: these questions are answered offline. A version range is written in its ecosystem's own
syntax: PEP 440 for pypi, npm's ranges for npm, an exact version or a prefix (`2.14.*`) for maven.
An SBOM names the image by its registry digest and holds its operating system, each package's
source and license, and (CycloneDX) what the imported advisories say affects it. With --out,
each image's document is KIND-NAME.cdx.json or KIND-NAME.spdx.json in DIR.")]
pub struct Args {
    /// The image or base image (`NAME`, or `Image/NAME` and `BaseImage/NAME` where both exist)
    #[arg(required_unless_present_any = ["package", "all"])]
    name: Option<String>,

    /// List the images holding a package: NAME, NAME with a version range, or ECOSYSTEM:NAME
    #[arg(long, value_name = "QUERY", conflicts_with_all = ["name", "all"])]
    package: Option<String>,

    /// Every recorded image's SBOM (-o cyclonedx or -o spdx), one document each, into --out
    #[arg(long, conflicts_with = "name", requires = "out")]
    all: bool,

    /// Write the SBOM of each image into the folder DIR (made if missing) instead of printing
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// With --out: write into a folder that is not empty, replacing documents of the same names
    #[arg(long, requires = "out")]
    force: bool,

    #[command(flatten)]
    output: Output<CatalogOutput>,
}

/// How a catalog is printed (cyclonedx and spdx for one image, or each image into --out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CatalogOutput {
    Table,
    Json,
    /// A CycloneDX 1.5 SBOM (JSON)
    Cyclonedx,
    /// An SPDX 2.3 SBOM (JSON)
    Spdx,
}

impl Format for CatalogOutput {
    const JSON: Self = CatalogOutput::Json;
    const DEFAULT: &'static str = "table";
}

impl CatalogOutput {
    fn sbom(self) -> Option<sbom::Format> {
        match self {
            CatalogOutput::Cyclonedx => Some(sbom::Format::Cyclonedx),
            CatalogOutput::Spdx => Some(sbom::Format::Spdx),
            CatalogOutput::Table | CatalogOutput::Json => None,
        }
    }
}

pub fn run(ws: &Workspace, args: &Args) -> Result<ExitCode> {
    let output = args.output.format();
    if let Some(format) = output.sbom() {
        if args.package.is_some() {
            bail!(
                "-o cyclonedx and -o spdx describe images: name one, or --all, instead of --package"
            )
        }
        return sboms(ws, args, format);
    }
    if args.all || args.out.is_some() {
        bail!("--all and --out write SBOMs: add -o cyclonedx or -o spdx")
    }
    let text = match (&args.name, &args.package) {
        (_, Some(package)) => {
            let wanted = Query::parse(package).map_err(|e| Error::InvalidQuery(e.to_string()))?;
            let shelf = ops::catalog::all(ws)?;
            let hits = query::find(&shelf.recorded, &shelf.catalogs, |p| wanted.matches(p));
            match output {
                CatalogOutput::Table if hits.is_empty() => {
                    console::warn(&format!("no recorded image holds {package}"));
                    String::new()
                }
                CatalogOutput::Table => found(&hits),
                _ => json(&hits)?,
            }
        }
        (Some(name), None) => {
            let shown = ops::catalog::show(ws, name)?;
            match output {
                CatalogOutput::Table => table(&shown.entries),
                _ => json(&Listing::new(&shown.resource, &shown.entries))?,
            }
        }
        (None, None) => unreachable!("clap requires a name, --package or --all"),
    };
    console::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The SBOM of the named image, printed or written into --out; or every recorded image's,
/// written into --out.
fn sboms(ws: &Workspace, args: &Args, format: sbom::Format) -> Result<ExitCode> {
    let request = SbomRequest {
        name: args.name.as_deref(),
        format,
        out: args.out.as_deref(),
        force: args.force,
    };
    match ops::catalog::sboms(ws, &request)? {
        Sboms::Document(text) => console::print(&text)?,
        Sboms::Written {
            files,
            uncatalogued,
        } => {
            for address in &uncatalogued {
                console::warn(&format!("{address} has no catalog: no document written"));
            }
            let n = files.len();
            let dir = args.out.as_deref().unwrap_or(".".as_ref()).display();
            console::print(&format!(
                "Wrote {n} {} {} to {dir}.\n",
                match format {
                    sbom::Format::Cyclonedx => "CycloneDX",
                    sbom::Format::Spdx => "SPDX",
                },
                agree(n, "document", "documents")
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
