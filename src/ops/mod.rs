//! Operations: one library call per command (cargo's `ops`). Each wires the pieces — the
//! declarations' source, the state backend, the engine and registries — around the pure core:
//! load, refresh, plan, apply, record. None touches the terminal: what a person should see or
//! answer goes through [`Interaction`].

pub mod advisories;
pub mod apply;
pub mod catalog;
pub mod change;
pub mod diff;
mod error;
mod interact;
pub mod plan;
mod prepare;
pub mod seed;
pub mod state;
mod workspace;

pub use error::Error;
pub use interact::{ApprovalError, Interaction};
pub use workspace::{Input, Loaded, Workspace};

/// A single-threaded runtime: the work is waiting on the engine and registries, not CPU.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}
