//! The commands that talk to the engine: apply, the original Dispatch commands, get.

pub mod apply;
pub mod get;
pub mod imperative;
