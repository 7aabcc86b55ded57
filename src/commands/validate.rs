//! `dispatch validate [DIR|FILE]`.

use std::process::ExitCode;

use anyhow::Result;

use dispatch::decl::LoadOptions;
use dispatch::model::Kind;
use dispatch::ops::Workspace;
use dispatch::report;

use crate::cli::Source;

pub fn run(ws: &Workspace, source: &Source) -> Result<ExitCode> {
    let options = LoadOptions {
        allow_outside_refs: source.allow_outside_refs,
        ..LoadOptions::default()
    };
    let declarations = ws.declarations(&source.path, options)?;
    print!(
        "{}",
        report::text::validated(
            declarations.count(Kind::BaseImage),
            declarations.count(Kind::Image)
        )
    );
    Ok(ExitCode::SUCCESS)
}
