//! The tests that need nothing but this machine: the command line, the declarations'
//! checks and their messages, plans from states on disk, the layout's rules, git revisions.

#[path = "../common/mod.rs"]
mod common;

mod advisories;
mod blink;
mod broken_streams;
mod cli;
mod git;
mod identity;
mod layout;
mod original;
mod plan;
mod premerge;
mod validate;
