//! `dispatch create seed-images`: the original Dispatch's seed declarations ([`decl::seed`]),
//! at the registry `--registry` or `[registry] seed` names. They are created as `create -f`
//! creates a file's ([`super::change`]), or written out for the user to keep.

use std::path::Path;

use super::{Error, Workspace};
use crate::decl::{self, LoadOptions, seed};
use crate::model::Resource;
use crate::source::memory::MemorySource;

/// The seed declarations, their base images at `registry`, else at `[registry] seed`.
pub fn declarations(ws: &Workspace, registry: Option<&str>) -> Result<String, Error> {
    let registry = registry
        .or(ws.config.seed.as_deref())
        .ok_or(Error::NoSeedRegistry)?;
    Ok(seed::declarations(registry)?)
}

/// `create seed-images -O FILE`: writes the seed declarations to `path`, creating nothing, as
/// the original's `--output-file` did; returns the resources they declare.
pub fn write(ws: &Workspace, registry: Option<&str>, path: &Path) -> Result<Vec<Resource>, Error> {
    let text = declarations(ws, registry)?;
    let declared = resources(&text)?;
    std::fs::write(path, text).map_err(|error| Error::Write {
        path: path.display().to_string(),
        error,
    })?;
    Ok(declared)
}

/// The resources `text`, seed declarations, declare.
pub(super) fn resources(text: &str) -> Result<Vec<Resource>, Error> {
    let source = MemorySource::new(&[(seed::FILE, text)]);
    let declared = decl::load(&source, LoadOptions::default())?;
    Ok(declared
        .resources
        .into_values()
        .map(|d| d.resource)
        .collect())
}
