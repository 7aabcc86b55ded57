//! `dispatch validate [DIR|FILE]`.

use std::process::ExitCode;

use anyhow::Result;

use dispatch::console;
use dispatch::model::Kind;
use dispatch::model::diag::Diagnostic;
use dispatch::model::policy::Violation;
use dispatch::ops::{Error, Workspace};
use dispatch::report;

use crate::cli::{Source, Verdict};

pub fn run(ws: &Workspace, source: &Source, format: Verdict) -> Result<ExitCode> {
    let loaded = ws.declarations(&source.input(), None);
    match (format, loaded) {
        // A program reads the whole verdict, problems included, from stdout.
        (Verdict::Json, Ok(declarations)) => {
            let counts = (
                declarations.count(Kind::BaseImage),
                declarations.count(Kind::Image),
            );
            let warnings = diagnostics(&declarations.warnings);
            let verdict = report::json::validation(&[], &warnings, Some(counts));
            console::print(&super::json(&verdict)?)?;
            Ok(ExitCode::SUCCESS)
        }
        (Verdict::Json, Err(Error::Declarations(diagnostics))) => {
            console::print(&super::json(&report::json::validation(
                &diagnostics.0,
                &[],
                None,
            ))?)?;
            Ok(ExitCode::from(1))
        }
        (format, loaded) => {
            let declarations =
                super::for_ci(loaded, format == Verdict::Github, format == Verdict::Gitlab)?;
            let valid = report::text::validated(
                declarations.count(Kind::BaseImage),
                declarations.count(Kind::Image),
            );
            for warning in &declarations.warnings {
                console::warn(&warning.diagnostic().to_string());
            }
            if format == Verdict::Github {
                let warnings = report::github::Annotation::warnings(&declarations.warnings);
                console::print(&report::github::annotations(&warnings))?;
            }
            if format == Verdict::Gitlab {
                console::print(&super::json(&report::gitlab::advice(
                    &declarations.warnings,
                ))?)?;
                eprint!("{valid}");
            } else {
                console::print(&valid)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn diagnostics(violations: &[Violation]) -> Vec<Diagnostic> {
    violations.iter().map(Violation::diagnostic).collect()
}
