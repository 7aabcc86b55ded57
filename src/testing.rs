//! Resources, declarations and states for tests: the library's own and, behind the `testing`
//! feature, those in tests/ and benches/.

use crate::decl::{Declarations, Declared};
use crate::model::diag::{Location, Pos};
use crate::model::reference::ImageRef;
use crate::model::{
    BaseImageSpec, ImageSpec, Language, Package, Resource, RuntimeDependencies, Spec,
    SystemDependencies,
};
use crate::state::{ResourceState, State};

/// An image on `base` with the system `packages` (name, version) and `manifest` given.
pub fn image_spec(
    base: &str,
    packages: &[(&str, Option<&str>)],
    manifest: Option<&str>,
) -> ImageSpec {
    ImageSpec {
        base_image_name: base.into(),
        runtime_dependencies: manifest.map(|m| RuntimeDependencies { manifest: m.into() }),
        system_dependencies: (!packages.is_empty()).then(|| SystemDependencies {
            packages: packages
                .iter()
                .map(|(name, version)| Package {
                    name: name.to_string(),
                    version: version.map(str::to_string),
                })
                .collect(),
        }),
        tags: vec![],
    }
}

/// A python3 base image pulled from `url`.
pub fn base(name: &str, url: &str) -> Resource {
    Resource {
        name: name.into(),
        spec: Spec::BaseImage(BaseImageSpec {
            docker_url: ImageRef::parse(url).unwrap(),
            language: Language::Python3,
            tags: vec![],
            rebase: Default::default(),
        }),
    }
}

/// An image on the base `base`, with `manifest` if any.
pub fn image(name: &str, base: &str, manifest: Option<&str>) -> Resource {
    Resource {
        name: name.into(),
        spec: Spec::Image(ImageSpec {
            base_image_name: base.into(),
            runtime_dependencies: manifest.map(|m| RuntimeDependencies { manifest: m.into() }),
            system_dependencies: None,
            tags: vec![],
        }),
    }
}

/// `resources`, declared in `x.yaml`.
pub fn declared(resources: &[Resource]) -> Declarations {
    let origin = Location {
        file: "x.yaml".into(),
        pos: Pos::FILE,
    };
    let declared = |r: &Resource| Declared::new(r.clone(), origin.clone());
    Declarations {
        resources: resources
            .iter()
            .map(|r| (r.address(), declared(r)))
            .collect(),
        policies: Vec::new(),
        warnings: Vec::new(),
    }
}

/// A state in which every one of `resources` has been applied.
pub fn applied(resources: &[Resource]) -> State {
    let mut state = State::new();
    state.resources = resources
        .iter()
        .map(|r| (r.address(), ResourceState::applied(r.clone(), "t")))
        .collect();
    state
}
