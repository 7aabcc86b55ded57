//! What affects the recorded images: every package of each image's catalog, its base's
//! included, against the advisories. A base's packages are matched once however many images
//! are built on it, and a package found in many images once.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use super::index::{Hit, Index};
use super::severity::{self, Level};
use crate::catalog::query::{self, Recorded};
use crate::model::Address;
use crate::model::advisory::Advisory;
use crate::model::catalog::{Catalog, Origin, Package};

/// An advisory affecting a package of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding<'a> {
    pub address: &'a Address,
    pub package: &'a Package,
    /// Whether the image's base holds the package, or its own layers.
    pub origin: Origin,
    pub advisory: &'a Advisory,
    pub severity: Level,
    /// The versions that fix it; empty when no fix is known.
    pub fixed: Vec<String>,
}

/// Whether `advisory` is the one `id` names, by its id or one of its aliases (any case).
pub fn named(advisory: &Advisory, id: &str) -> bool {
    std::iter::once(&advisory.id)
        .chain(&advisory.aliases)
        .any(|name| name.eq_ignore_ascii_case(id))
}

/// The advisories of `index` affecting each of `recorded` whose catalog is in `catalogs`, by
/// image (bases first), package and advisory id; only the one `only` names, when given.
pub fn find<'a>(
    recorded: &'a [Recorded],
    catalogs: &'a BTreeMap<String, Catalog>,
    index: &'a Index,
    only: Option<&str>,
) -> Vec<Finding<'a>> {
    let hits: RefCell<HashMap<Package, Vec<Hit<'a>>>> = RefCell::default();
    // `query::find` asks about each package once per base or image; the answers are kept.
    let found = query::find(recorded, catalogs, |package| {
        let mut hits = hits.borrow_mut();
        if let Some(known) = hits.get(package) {
            return !known.is_empty();
        }
        let mut found = index.affecting(package);
        found.retain(|hit| only.is_none_or(|id| named(hit.advisory, id)));
        let affected = !found.is_empty();
        hits.insert(package.clone(), found);
        affected
    });
    let hits = hits.into_inner();
    let mut levels: HashMap<&str, Level> = HashMap::new();
    let mut findings = Vec::new();
    for f in found {
        for hit in hits.get(f.package).into_iter().flatten() {
            let severity = *levels
                .entry(&hit.advisory.id)
                .or_insert_with(|| severity::of(hit.advisory));
            findings.push(Finding {
                address: f.address,
                package: f.package,
                origin: f.origin,
                advisory: hit.advisory,
                severity,
                fixed: hit.fixed.clone(),
            });
        }
    }
    findings
}
