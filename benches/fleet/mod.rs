//! A recorded fleet for the benchmarks: a local state of N images on N/100 base images, each
//! catalogued as `apply` leaves it (a base's catalog stored once, an image's over it).

use std::path::Path;
use std::time::Duration;

use dispatch::model::catalog::{Catalog, Package};
use dispatch::model::reference::ImageRef;
use dispatch::model::{BaseImageSpec, ImageSpec, Language, Resource, Spec};
use dispatch::state::local::LocalBackend;
use dispatch::state::{Backend, Catalogs, Observed, ResourceState, State, conformance};

fn id(kind: &str, i: usize) -> String {
    format!("sha256:{kind}{i:060}")
}

/// Writes `.dispatch/state.json` in `dir`: `size` images on `size / 100` bases, each base
/// holding `base`, image `i` its own `own(i)` over its base's.
pub fn write(dir: &Path, size: usize, base: Vec<Package>, own: impl Fn(usize) -> Vec<Package>) {
    let backend = LocalBackend::new(dir.join(".dispatch/state.json"));
    let bases = size.div_ceil(100);
    let base_catalog = Catalog::layered(base, None);
    let mut state = State::new();
    let mut record = |resource: Resource, image: String| {
        let mut entry = ResourceState::applied(resource, "2026-11-25T08:00:00Z");
        entry.observed = Some(Observed {
            image_id: Some(image),
            digest: None,
            reference: None,
            created: None,
            ..Default::default()
        });
        state.resources.insert(entry.resource.address(), entry);
    };
    for b in 0..bases {
        backend.put_catalog(&id("b", b), &base_catalog).unwrap();
        let spec = Spec::BaseImage(BaseImageSpec {
            docker_url: ImageRef::parse(&format!("127.0.0.1:5000/base/b{b}:1")).unwrap(),
            language: Language::Python3,
            tags: vec![],
            rebase: Default::default(),
        });
        let name = format!("b{b}");
        record(Resource { name, spec }, id("b", b));
    }
    for i in 0..size {
        let base = i % bases;
        // What the image holds: its base's packages and its own.
        let mut all = base_catalog.packages.clone();
        all.extend(own(i));
        let catalog = Catalog::layered(all, Some((&id("b", base), &base_catalog)));
        backend.put_catalog(&id("i", i), &catalog).unwrap();
        let spec = Spec::Image(ImageSpec {
            base_image_name: format!("b{base}"),
            runtime_dependencies: None,
            system_dependencies: None,
            tags: vec![],
        });
        record(
            Resource {
                name: format!("i{i}"),
                spec,
            },
            id("i", i),
        );
    }
    let lock = backend
        .lock(Duration::ZERO, &conformance::holder("bench"))
        .unwrap();
    lock.save(&mut state).unwrap();
}
