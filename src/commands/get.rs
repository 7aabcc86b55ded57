//! `dispatch get base-image|image [NAME]`: a table, or the objects as JSON or YAML, as the
//! original Dispatch CLI printed them.

use std::process::ExitCode;

use anyhow::Result;

use dispatch::model::Kind;
use dispatch::ops::{self, Workspace};
use dispatch::report::get::{Object, object, table};

use crate::cli::{GetArgs, GetOutput, GetWhat};

pub fn run(ws: &Workspace, args: &GetArgs) -> Result<ExitCode> {
    let (kind, name, format) = match &args.what {
        GetWhat::BaseImage { name, format } => (Kind::BaseImage, name, format),
        GetWhat::Image { name, format } => (Kind::Image, name, format),
    };
    let selected = ops::state::get(ws, kind, name.as_deref())?;
    let output = if format.json {
        GetOutput::Json
    } else {
        format.output.unwrap_or(GetOutput::Table)
    };
    let objects: Vec<Object<'_>> = selected.iter().map(object).collect();
    match (output, name) {
        (GetOutput::Json, Some(_)) => println!("{}", serde_json::to_string_pretty(&objects[0])?),
        (GetOutput::Json, None) => println!("{}", serde_json::to_string_pretty(&objects)?),
        (GetOutput::Yaml, Some(_)) => print!("{}", serde_saphyr::to_string(&objects[0])?),
        (GetOutput::Yaml, None) => print!("{}", serde_saphyr::to_string(&objects)?),
        (GetOutput::Table, _) => print!("{}", table(kind, &objects)),
    }
    Ok(ExitCode::SUCCESS)
}
