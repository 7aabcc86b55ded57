//! Advisories matched against the catalogs: OSV records read from files and archives
//! ([`read`], bounded), checked (`model::advisory`), indexed by package and evaluated as OSV
//! defines it in each ecosystem's order of versions ([`index`]), rated ([`severity`]), and
//! matched against every recorded image ([`find`]); with the counts an import and a status
//! show ([`tally`]). Pure: files, archives and the stored records come from the caller
//! (`ops::advisories`), and are kept by the state's backend (`state::Advisories`).

pub mod find;
pub mod index;
pub mod read;
pub mod severity;
pub mod tally;

pub use index::{Hit, Index};
pub use severity::Level;
