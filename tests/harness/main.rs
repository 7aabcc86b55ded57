//! The fault harnesses, against a real engine and registry: applies killed at random points
//! (`crash`) and simultaneous applies (`race`). Slow by design; skipped, saying so, where
//! the services are absent.

#[path = "../common/mod.rs"]
mod common;

mod crash;
mod race;
