//! `dispatch catalog NAME` and `dispatch catalog --package QUERY`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::ValueEnum;

use dispatch::catalog::query;
use dispatch::model::versions::Query;
use dispatch::ops::{self, Error, Workspace};
use dispatch::report::catalog::{Listing, found, table};
use dispatch::report::sbom::{self, Subject};

use dispatch::state::ResourceState;
use sha2::{Digest, Sha256};

use super::flags::{Format, Output};
use crate::console;
use crate::views::json;

/// Show the software an image holds, or find the images that hold a package
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  dispatch catalog pandas                      its packages: ecosystem, name, version, base or image
  dispatch catalog pandas -o cyclonedx > sbom.json
  dispatch catalog --package 'pandas<1.0'      every image holding pandas before 1.0
  dispatch catalog --package npm:lodash@<4.17.21 -o json

Catalogs are read after every pull and build, without running the image, and kept beside the
state: these questions are answered offline. A version range is written in its ecosystem's own
syntax: PEP 440 for pypi, npm's ranges for npm, an exact version or a prefix (`2.14.*`) for maven.")]
pub struct Args {
    /// The image or base image (`NAME`, or `Image/NAME` and `BaseImage/NAME` where both exist)
    #[arg(required_unless_present = "package")]
    name: Option<String>,

    /// List the images holding a package: NAME, NAME with a version range, or ECOSYSTEM:NAME
    #[arg(long, value_name = "QUERY", conflicts_with = "name")]
    package: Option<String>,

    #[command(flatten)]
    output: Output<CatalogOutput>,
}

/// How a catalog is printed (cyclonedx and spdx for one image).
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

pub fn run(ws: &Workspace, args: &Args) -> Result<ExitCode> {
    let output = args.output.format();
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
                CatalogOutput::Json => json(&hits)?,
                CatalogOutput::Cyclonedx | CatalogOutput::Spdx => {
                    bail!(
                        "-o cyclonedx and -o spdx describe one image: name it instead of --package"
                    )
                }
            }
        }
        (Some(name), None) => {
            let shown = ops::catalog::show(ws, name)?;
            let (resource, entries) = (&shown.resource, &shown.entries);
            let serial = serial(resource);
            let subject = || Subject {
                name: &resource.resource.name,
                reference: resource.image_reference(),
                image_id: resource
                    .observed
                    .as_ref()
                    .and_then(|o| o.image_id.as_deref()),
                entries,
                created: &resource.modified_time,
                serial: &serial,
            };
            match output {
                CatalogOutput::Table => table(entries),
                CatalogOutput::Json => json(&Listing::new(resource, entries))?,
                CatalogOutput::Cyclonedx => sbom::cyclonedx(&subject()),
                CatalogOutput::Spdx => sbom::spdx(&subject()),
            }
        }
        (None, None) => unreachable!("clap requires a name or --package"),
    };
    console::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The SBOM's serial number: the same for the same image applied at the same time, so that
/// writing it twice gives the same document.
fn serial(resource: &ResourceState) -> String {
    let seed = format!(
        "{}\n{}\n{}",
        resource.resource.address(),
        resource.spec_digest,
        resource.modified_time
    );
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}
