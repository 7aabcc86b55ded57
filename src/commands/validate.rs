//! `dispatch validate [DIR|FILE]`.

use std::process::ExitCode;

use anyhow::Result;

use dispatch::console;
use dispatch::decl::LoadOptions;
use dispatch::model::Kind;
use dispatch::ops::{Error, Workspace};
use dispatch::report;

use crate::cli::{Format, Source};

pub fn run(ws: &Workspace, source: &Source, format: Format) -> Result<ExitCode> {
    let options = LoadOptions {
        allow_outside_refs: source.allow_outside_refs,
        ..LoadOptions::default()
    };
    let loaded = ws.declarations(&source.path, options, None);
    match (format, loaded) {
        (Format::Text, loaded) => {
            let declarations = loaded?;
            console::print(&report::text::validated(
                declarations.count(Kind::BaseImage),
                declarations.count(Kind::Image),
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        // A program reads the whole verdict, problems included, from stdout.
        (Format::Json, Ok(declarations)) => {
            let counts = (
                declarations.count(Kind::BaseImage),
                declarations.count(Kind::Image),
            );
            console::print(&super::json(&report::json::validation(&[], Some(counts)))?)?;
            Ok(ExitCode::SUCCESS)
        }
        (Format::Json, Err(Error::Declarations(diagnostics))) => {
            console::print(&super::json(&report::json::validation(
                &diagnostics.0,
                None,
            ))?)?;
            Ok(ExitCode::from(1))
        }
        (Format::Json, Err(other)) => Err(other.into()),
    }
}
