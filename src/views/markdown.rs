//! For a pull request's comment.

use anyhow::Result;

use dispatch::plan::Plan;
use dispatch::report::markdown;

use super::{PlanView, View};
use crate::console;

/// A Markdown summary of the plan, sized for a comment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

impl View for Markdown {}

impl PlanView for Markdown {
    fn plan(&self, plan: &Plan) -> Result<()> {
        Ok(console::print(&markdown::summary(
            plan,
            markdown::COMMENT_LIMIT,
        ))?)
    }
}
