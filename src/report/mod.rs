//! Renderers: each turns the same values (a plan, a tally, the state's resources, an error)
//! into text for one audience. Pure: they return strings; whoever holds stdout prints them.

pub mod advisories;
pub mod catalog;
pub mod error;
pub mod get;
pub mod github;
pub mod gitlab;
pub mod json;
pub mod markdown;
pub mod progress;
pub mod sbom;
pub mod text;

use anstyle::Style;

/// Paints text with a style on a terminal, leaves it plain elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct Painter {
    pub color: bool,
}

impl Painter {
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}
