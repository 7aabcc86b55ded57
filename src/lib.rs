//! dispatch: a declarative reconciler for container images.
//!
//! Data flows one way: [`declarations`] (desired) and [`state`] (recorded) feed the pure
//! [`plan`], which [`render`] prints and a saved [`planfile`] keeps.

pub mod apply;
pub mod build;
pub mod credentials;
pub mod declarations;
pub mod diag;
pub mod engine;
pub mod model;
pub mod plan;
pub mod planfile;
pub mod progress;
pub mod reference;
pub mod refresh;
pub mod registry;
pub mod render;
pub mod settings;
pub mod state;
pub mod yaml;
