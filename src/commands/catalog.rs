//! `dispatch catalog NAME` and `dispatch catalog --package QUERY`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use dispatch::catalog::query;
use dispatch::console;
use dispatch::model::versions::Query;
use dispatch::ops::{self, Error, Workspace};
use dispatch::report::catalog::{Listing, found, table};
use dispatch::report::sbom::{self, Subject};

use dispatch::state::ResourceState;
use sha2::{Digest, Sha256};

use crate::cli::{CatalogArgs, CatalogOutput};

pub fn run(ws: &Workspace, args: &CatalogArgs) -> Result<ExitCode> {
    let output = if args.json {
        CatalogOutput::Json
    } else {
        args.output
    };
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
                CatalogOutput::Json => super::json(&hits)?,
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
                CatalogOutput::Json => super::json(&Listing::new(resource, entries))?,
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
