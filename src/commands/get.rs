//! `dispatch get base-image|image [NAME]`: a table, or the objects as JSON or YAML, as the
//! original Dispatch CLI printed them.

use std::process::ExitCode;

use anyhow::Result;

use dispatch::console;
use dispatch::model::Kind;
use dispatch::ops::{self, Workspace};
use dispatch::report::get::{Object, object, table};

use crate::cli::{GetArgs, GetOutput, GetWhat};

pub fn run(ws: &Workspace, args: &GetArgs) -> Result<ExitCode> {
    let (kind, name, format) = match &args.what {
        GetWhat::BaseImage { name, format } => (Kind::BaseImage, name, format),
        GetWhat::Image { name, format } => (Kind::Image, name, format),
    };
    // The catalogs are read only for the formats that show them.
    let (selected, shelf) = match format.format() {
        GetOutput::Table => (ops::state::get(ws, kind, name.as_deref())?, None),
        _ => {
            let (selected, shelf) = ops::catalog::get(ws, kind, name.as_deref())?;
            (selected, Some(shelf))
        }
    };
    let objects: Vec<Object<'_>> = selected
        .iter()
        .map(|r| {
            let entries = shelf
                .as_ref()
                .and_then(|s| s.entries(&r.resource.address()));
            object(r, entries.as_deref())
        })
        .collect();
    let text = match (format.format(), name) {
        (GetOutput::Json, Some(_)) => super::json(&objects[0])?,
        (GetOutput::Json, None) => super::json(&objects)?,
        (GetOutput::Yaml, Some(_)) => serde_saphyr::to_string(&objects[0])?,
        (GetOutput::Yaml, None) => serde_saphyr::to_string(&objects)?,
        (GetOutput::Table, _) => table(kind, &objects, false),
        (GetOutput::Wide, _) => table(kind, &objects, true),
    };
    console::print(&text)?;
    Ok(ExitCode::SUCCESS)
}
