//! For a person at a terminal or reading a log.

use std::collections::BTreeMap;

use anyhow::Result;

use dispatch::decl::Declarations;
use dispatch::model::diag::Location;
use dispatch::model::{Address, Kind};
use dispatch::plan::Plan;
use dispatch::report::{self, text::TextOptions};

use super::{ApplyView, PlanView, VerdictView, View};
use crate::console;

/// The plan terraform-style (or one line per change), the verdict in a sentence.
#[derive(Debug, Clone, Copy, Default)]
pub struct Human {
    pub compact: bool,
}

impl Human {
    /// The plan as this view writes it.
    pub fn text(&self, plan: &Plan) -> String {
        let options = TextOptions {
            color: console::stdout_color(),
            compact: self.compact,
        };
        report::text::plan(plan, options)
    }
}

/// `The declarations are valid: ...`.
pub fn validated(declarations: &Declarations) -> String {
    report::text::validated(
        declarations.count(Kind::BaseImage),
        declarations.count(Kind::Image),
    )
}

impl View for Human {}

impl PlanView for Human {
    fn plan(&self, plan: &Plan) -> Result<()> {
        Ok(console::print(&self.text(plan))?)
    }
}

impl VerdictView for Human {
    fn valid(&self, declarations: &Declarations) -> Result<()> {
        super::warn(declarations);
        Ok(console::print(&validated(declarations))?)
    }
}

impl ApplyView for Human {
    fn applied(
        &self,
        line: &str,
        _: &[(Address, String)],
        _: &BTreeMap<Address, Location>,
    ) -> Result<()> {
        Ok(console::print(&format!("\n{line}\n"))?)
    }
}
