//! dispatch: a declarative reconciler for container images.
//!
//! Data flows one way: declarations ([`decl`], desired), the [`state`] (recorded) and a
//! [`refresh`] (observed) feed the pure [`plan`], which a [`report`] renderer prints or
//! [`apply`] carries out through the [`engine`] and [`registry`], recording the outcome in the
//! state, and the [`catalog`] of what each image holds. The [`policy`] checks read the
//! dependencies each image's [`manifest`] declares; [`advisory`] matches known vulnerabilities
//! against the catalogs. [`ops`] holds one call per command;
//! [`model`] the light types everything shares.

pub mod advisory;
pub mod apply;
pub mod build;
pub mod catalog;
pub mod config;
#[cfg(any(test, feature = "testing"))]
pub mod conformance;
pub mod decl;
pub mod engine;
pub mod files;
pub mod host;
pub mod manifest;
pub mod model;
#[cfg(feature = "adapters")]
pub mod ops;
pub mod plan;
pub mod planfile;
pub mod policy;
pub mod refresh;
pub mod registry;
pub mod report;
pub mod retry;
pub mod source;
pub mod state;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
