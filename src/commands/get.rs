//! `dispatch get base-image|image [NAME]`: a table, or the objects as JSON or YAML, as the
//! original Dispatch CLI printed them.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};

use dispatch::model::Kind;
use dispatch::ops::{self, Workspace};
use dispatch::report::get::{Object, object, table};

use super::flags::{Format, Output};
use crate::console;
use crate::views::json;

/// Show resources: `get base-image [NAME]`, `get image [NAME]`
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  dispatch get images
  dispatch get image pandas -o json | jq .reason")]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// List base images, or show one
    #[command(
        visible_alias = "base-images",
        after_help = "Examples:
  dispatch get base-images
  dispatch get base-image python3 -o yaml"
    )]
    BaseImage(Which),
    /// List images, or show one
    #[command(
        visible_alias = "images",
        after_help = "Examples:
  dispatch get images -o json | jq length
  dispatch get image pandas"
    )]
    Image(Which),
}

#[derive(Debug, clap::Args)]
struct Which {
    /// The resource's name; all of them without it
    #[arg(value_parser = super::flags::name)]
    name: Option<String>,
    #[command(flatten)]
    output: Output<Shape>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Shape {
    Table,
    /// The table, the commit each was applied from and how many packages it holds
    Wide,
    /// An object for one resource, an array for a list
    Json,
    Yaml,
}

impl Format for Shape {
    const JSON: Self = Shape::Json;
    const DEFAULT: &'static str = "table";
}

pub fn run(ws: &Workspace, args: &Args) -> Result<ExitCode> {
    let (kind, which) = match &args.what {
        What::BaseImage(which) => (Kind::BaseImage, which),
        What::Image(which) => (Kind::Image, which),
    };
    let (name, shape) = (which.name.as_deref(), which.output.format());
    // The catalogs are read only for the formats that show them.
    let found = match shape {
        Shape::Table => ops::state::get(ws, kind, name).map(|selected| (selected, None)),
        _ => ops::catalog::get(ws, kind, name).map(|(selected, shelf)| (selected, Some(shelf))),
    };
    let (selected, shelf) = match found {
        // Nothing applied here: no rows, and why, as kubectl says "No resources found".
        Err(ops::Error::NoStateAt(location)) if name.is_none() => {
            console::eprint(&format!(
                "No state at {location}: nothing has been applied here yet.\n"
            ));
            if matches!(shape, Shape::Table | Shape::Wide) {
                return Ok(ExitCode::SUCCESS);
            }
            (Vec::new(), None)
        }
        found => found?,
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
    let text = match (shape, name) {
        (Shape::Json, Some(_)) => json(&objects[0])?,
        (Shape::Json, None) => json(&objects)?,
        (Shape::Yaml, Some(_)) => serde_saphyr::to_string(&objects[0])?,
        (Shape::Yaml, None) => serde_saphyr::to_string(&objects)?,
        (Shape::Table, _) => table(kind, &objects, false),
        (Shape::Wide, _) => table(kind, &objects, true),
    };
    console::print(&text)?;
    Ok(ExitCode::SUCCESS)
}
