//! What affects the recorded images: every package of each image's catalog, its base's
//! included, against the advisories. A base's packages are matched once however many images
//! are built on it, and a package found in many images once.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use super::index::{Hit, Index};
use super::severity::{self, Level};
use crate::catalog::query::{self, Recorded};
use crate::model::advisory::Advisory;
use crate::model::catalog::{Catalog, Origin, Package};
use crate::model::policy::Vulnerable;
use crate::model::{Address, Kind};

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

/// An advisory imported after the image it affects was applied: nothing in the plan changes
/// because of it, but the plan says so (the image was built without knowing of it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Newly {
    pub address: Address,
    #[serde(flatten)]
    pub vulnerable: Vulnerable,
}

/// The findings whose advisory was imported after their image was applied (`applied`: when
/// each was last applied, RFC 3339; an address it lacks is not applied), by image, package
/// and advisory. A package an image's base holds is the base's news, told once.
pub fn newly(findings: &[Finding<'_>], applied: &HashMap<Address, String>) -> Vec<Newly> {
    (findings.iter())
        .filter(|f| f.address.kind == Kind::BaseImage || f.origin == Origin::Image)
        .filter(|f| (applied.get(f.address)).is_some_and(|since| f.advisory.imported_after(since)))
        .map(|f| Newly {
            address: f.address.clone(),
            vulnerable: Vulnerable::new(f.package, f.advisory, f.severity, f.fixed.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalog::Ecosystem;

    #[test]
    fn only_advisories_imported_after_their_image_was_applied_are_news() {
        let record = |id: &str, imported: Option<&str>| {
            let json = serde_json::json!({"id": id, "modified": "2024-01-01T00:00:00Z"});
            Advisory {
                imported: imported.map(str::to_string),
                ..serde_json::from_value(json).unwrap()
            }
        };
        let (api, web) = (
            Address::new(Kind::Image, "api"),
            Address::new(Kind::Image, "web"),
        );
        let idna = Package::plain(Ecosystem::Pypi, "idna", "3.6");
        let (new, old, unstamped) = (
            record("NEW-1", Some("2024-06-01T00:00:01Z")),
            record("OLD-1", Some("2024-05-31T23:59:59Z")),
            record("NONE-1", None),
        );
        let finding = |address, advisory| Finding {
            address,
            package: &idna,
            origin: Origin::Image,
            advisory,
            severity: Level::Unknown,
            fixed: vec!["3.7".into()],
        };
        let from_base = Finding {
            origin: Origin::Base,
            ..finding(&api, &new)
        };
        let findings = [
            finding(&api, &new),
            finding(&api, &old),
            finding(&api, &unstamped),
            finding(&web, &new),
            from_base,
        ];
        let applied = HashMap::from([(api.clone(), "2024-06-01T00:00:00Z".to_string())]);
        let news = newly(&findings, &applied);
        let named: Vec<(&str, &str)> = (news.iter())
            .map(|n| (n.address.name.as_str(), n.vulnerable.id.as_str()))
            .collect();
        assert_eq!(
            named,
            [("api", "NEW-1")],
            "web is not applied; what api's base holds is its base's news"
        );
        assert_eq!(news[0].vulnerable.package, "idna");
        assert_eq!(news[0].vulnerable.ecosystem, Ecosystem::Pypi);
        assert_eq!(news[0].vulnerable.fixed, ["3.7"]);
    }
}
