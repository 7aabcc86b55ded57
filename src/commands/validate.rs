//! `dispatch validate [DIR|FILE]`.

use std::process::ExitCode;

use anyhow::Result;
use clap::ValueEnum;

use dispatch::ops::Workspace;

use super::flags::{Format, Output, Policies, Source};
use crate::views::{Github, Gitlab, Human, Json, Markdown, VerdictView};

/// Check a directory of declarations and report every problem
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  dispatch validate                      every *.yaml under the current folder
  dispatch validate images/base.yaml     one file
  dispatch validate -o json | jq .valid  for a program")]
pub struct Args {
    #[command(flatten)]
    source: Source,
    #[command(flatten)]
    output: Output<Verdict>,
    #[command(flatten)]
    pub policies: Policies,
}

/// How `validate` says its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Verdict {
    Text,
    /// Shaped as `terraform validate -json`
    Json,
    /// GitHub Actions annotations
    Github,
    /// A GitLab code quality report
    Gitlab,
    /// A Markdown verdict for a pull request comment
    Markdown,
}

impl Format for Verdict {
    const JSON: Self = Verdict::Json;
    const DEFAULT: &'static str = "text";
}

impl Verdict {
    fn view(self) -> Box<dyn VerdictView> {
        match self {
            Verdict::Text => Box::new(Human::default()),
            Verdict::Json => Box::new(Json { verdict: true }),
            Verdict::Github => Box::new(Github::default()),
            Verdict::Gitlab => Box::new(Gitlab::default()),
            Verdict::Markdown => Box::new(Markdown),
        }
    }
}

pub fn run(ws: &Workspace, args: &Args) -> Result<ExitCode> {
    let view = args.output.format().view();
    let loaded = ws.declarations(&args.source.input(), None);
    match super::viewed(view.as_ref(), loaded)? {
        Ok(declarations) => {
            view.valid(&declarations)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(code) => Ok(code),
    }
}
