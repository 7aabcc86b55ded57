//! The tests against a real Docker engine and registries (`.ci/services` starts them):
//! pulls, builds, pushes, refresh, rebases, credentials, registries that blink, faults, secrets,
//! rpm bases, several engines.
//! Each is skipped, saying so, where those services are absent.

#[path = "../common/mod.rs"]
mod common;

mod build;
mod conformance;
mod e2e;
mod exact;
mod faults;
mod identity;
mod original;
mod pool;
mod rebase;
mod refresh;
mod registry;
mod registry_auth;
mod rpm;
mod secrets;
mod vulns;
