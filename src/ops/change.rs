//! The original Dispatch commands (`create`, `update`, `delete`), on the same state and the
//! same planner as `apply`: each edits the desired set, plans the difference, and runs it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::apply::{Run, execute, gate};
use super::{Error, Input, Interaction, Workspace, runtime};
use crate::apply::record::Tally;
use crate::decl::{Declarations, Declared};
use crate::model::diag::{Location, Pos};
use crate::model::reference::ImageRef;
use crate::model::{
    Address, BaseImageSpec, ImageSpec, Kind, Language, Resource, RuntimeDependencies, Spec,
    SystemDependencies, Tag, valid_name,
};
use crate::plan::{self, Observations};
use crate::report::text::Verb;
use crate::state::State;

/// What the user asked for, as the original commands take it.
pub enum Request {
    /// `create base-image NAME URL --language L [--tag K=V]...`
    CreateBaseImage {
        name: String,
        url: String,
        language: String,
        tags: Vec<String>,
    },
    /// `create image NAME BASE [--runtime-deps FILE] [--system-deps FILE] [--tag K=V]...`
    CreateImage {
        name: String,
        base: String,
        runtime_deps: Option<PathBuf>,
        system_deps: Option<PathBuf>,
        tags: Vec<String>,
    },
    /// `create -f PATH`
    CreateFrom(PathBuf),
    /// `create seed-images [--registry R]`: the original's seed images, as `create -f` of them.
    CreateSeeds { registry: Option<String> },
    /// `update -f PATH`
    UpdateFrom(PathBuf),
    /// `delete base-image|image NAME`
    Delete(Address),
    /// `delete -f PATH`
    DeleteFrom(PathBuf),
}

impl Request {
    /// The file or folder of declarations the request names, if any.
    fn file(&self) -> Option<&Path> {
        match self {
            Request::CreateFrom(path) | Request::UpdateFrom(path) | Request::DeleteFrom(path) => {
                Some(path)
            }
            _ => None,
        }
    }

    /// What the request sets out to do, for its closing line.
    pub fn verb(&self) -> Verb {
        match self {
            Request::CreateBaseImage { .. }
            | Request::CreateImage { .. }
            | Request::CreateFrom(_)
            | Request::CreateSeeds { .. } => Verb::Create,
            Request::UpdateFrom(_) => Verb::Update,
            Request::Delete(_) | Request::DeleteFrom(_) => Verb::Delete,
        }
    }
}

/// What a request does to the desired set.
enum Edit {
    Create(Vec<Resource>),
    Update(Vec<Resource>),
    Delete(Vec<Address>),
}

/// Carries out `request`: plans the difference it makes for the touched resources (and the
/// images built on them), and runs it.
pub fn change(
    ws: &Workspace,
    request: Request,
    keep_images: bool,
    ui: &dyn Interaction,
) -> Result<Tally, Error> {
    let provenance = request.file().and_then(|path| {
        ws.provenance(&Input {
            path: path.to_path_buf(),
            ..Input::default()
        })
    });
    let edit = edit(ws, request)?;
    runtime()?.block_on(async {
        let lock = ws.lock(ui)?;
        let mut state = ws.state()?;
        let origin = Location {
            file: PathBuf::from(ws.backend.location()),
            pos: Pos::FILE,
        };
        let mut desired = Declarations {
            resources: state
                .resources
                .iter()
                .map(|(a, r)| {
                    let declared = Declared::new(r.resource.clone(), origin.clone());
                    (a.clone(), declared)
                })
                .collect(),
            policies: Vec::new(),
            warnings: Vec::new(),
        };
        let targets = apply_edit(&mut desired, &origin, edit, &state)?;
        ws.identity().attach(&mut desired, Some(&state));
        let plan = plan::plan(&desired, Some(&state), &Observations::default(), &targets)?;
        let pool = ws.pool(ui).await?;
        let registries = ws.registries(
            state
                .resources
                .values()
                .map(|r| &r.resource)
                .chain(desired.resources.values().map(|d| &d.resource)),
        );
        let policies = ws.policies()?;
        let advisories = gate(ws, &policies)?;
        let run = Run {
            pool: &pool,
            registries: &registries,
            lock: lock.as_ref(),
            keep_images,
            ui,
            provenance,
            policies: &policies,
            advisories: advisories.as_ref(),
        };
        execute(ws, &plan, &mut state, &run).await
    })
}

/// The edit `request` asks for, with its arguments checked and its files read.
fn edit(ws: &Workspace, request: Request) -> Result<Edit, Error> {
    Ok(match request {
        Request::CreateBaseImage {
            name,
            url,
            language,
            tags,
        } => {
            let docker_url = ImageRef::parse(&url).map_err(|reason| Error::InvalidReference {
                url: url.clone(),
                reason,
            })?;
            let language: Language = language.parse().map_err(Error::InvalidLanguage)?;
            let spec = Spec::BaseImage(BaseImageSpec {
                docker_url,
                language,
                tags: parse_tags(&tags)?,
                rebase: Default::default(),
            });
            Edit::Create(vec![resource(name, spec)?])
        }
        Request::CreateImage {
            name,
            base,
            runtime_deps,
            system_deps,
            tags,
        } => {
            let runtime_dependencies = match runtime_deps {
                Some(path) => Some(RuntimeDependencies {
                    manifest: read(&path)?,
                }),
                None => None,
            };
            let system_dependencies = match system_deps {
                Some(path) => Some(parse_packages(&path)?),
                None => None,
            };
            let spec = Spec::Image(ImageSpec {
                base_image_name: base,
                runtime_dependencies,
                system_dependencies,
                tags: parse_tags(&tags)?,
            });
            Edit::Create(vec![resource(name, spec)?])
        }
        Request::CreateFrom(path) => Edit::Create(from_file(ws, &path)?),
        Request::CreateSeeds { registry } => Edit::Create(super::seed::resources(
            &super::seed::declarations(ws, registry.as_deref())?,
        )?),
        Request::UpdateFrom(path) => Edit::Update(from_file(ws, &path)?),
        Request::Delete(address) => Edit::Delete(vec![address]),
        Request::DeleteFrom(path) => Edit::Delete(
            from_file(ws, &path)?
                .iter()
                .map(Resource::address)
                .collect(),
        ),
    })
}

/// Applies `edit` to `desired`; returns the addresses to plan: the edited resources and the
/// images built on an edited base.
fn apply_edit(
    desired: &mut Declarations,
    origin: &Location,
    edit: Edit,
    state: &State,
) -> Result<Vec<Address>, Error> {
    let exists = |address: &Address| state.resources.contains_key(address);
    let mut targets: BTreeSet<Address> = BTreeSet::new();
    match edit {
        Edit::Create(resources) => {
            let existing: Vec<Address> = resources
                .iter()
                .map(Resource::address)
                .filter(exists)
                .collect();
            if !existing.is_empty() {
                return Err(Error::AlreadyExist(existing));
            }
            insert(desired, &mut targets, origin, resources, state)?;
        }
        Edit::Update(resources) => {
            let missing: Vec<Address> = resources
                .iter()
                .map(Resource::address)
                .filter(|a| !exists(a))
                .collect();
            if !missing.is_empty() {
                return Err(Error::DoNotExist(missing));
            }
            insert(desired, &mut targets, origin, resources, state)?;
        }
        Edit::Delete(addresses) => {
            for address in &addresses {
                if !exists(address) {
                    return Err(Error::NoSuch(address.clone()));
                }
                desired.resources.remove(address);
            }
            for address in addresses.iter().filter(|a| a.kind == Kind::BaseImage) {
                let users: Vec<Address> = desired
                    .resources
                    .values()
                    .filter(|d| d.resource.depends_on().as_ref() == Some(address))
                    .map(|d| d.resource.address())
                    .collect();
                if !users.is_empty() {
                    return Err(Error::InUse {
                        address: address.clone(),
                        users,
                    });
                }
            }
            targets.extend(addresses);
        }
    }
    Ok(targets.into_iter().collect())
}

/// Puts `resources` into the desired set; targets them and the images built on them.
fn insert(
    desired: &mut Declarations,
    targets: &mut BTreeSet<Address>,
    origin: &Location,
    resources: Vec<Resource>,
    state: &State,
) -> Result<(), Error> {
    for resource in resources {
        if let Some(base) = resource.depends_on()
            && !desired.resources.contains_key(&base)
        {
            return Err(Error::BaseMissing {
                address: resource.address(),
                base: base.name,
            });
        }
        let address = resource.address();
        if address.kind == Kind::BaseImage {
            targets.extend(
                state
                    .resources
                    .values()
                    .map(|r| &r.resource)
                    .filter(|r| r.depends_on().as_ref() == Some(&address))
                    .map(Resource::address),
            );
        }
        targets.insert(address.clone());
        desired
            .resources
            .insert(address, Declared::new(resource, origin.clone()));
    }
    Ok(())
}

/// The resources declared in `path`, held to the same rules as `plan` holds them.
fn from_file(ws: &Workspace, path: &Path) -> Result<Vec<Resource>, Error> {
    let state = ws.backend.load()?;
    let input = Input {
        path: path.to_path_buf(),
        ..Input::default()
    };
    Ok(ws
        .declarations(&input, state.as_ref())?
        .resources
        .into_values()
        .map(|d| d.resource)
        .collect())
}

fn resource(name: String, spec: Spec) -> Result<Resource, Error> {
    if !valid_name(&name) {
        return Err(Error::InvalidName(name));
    }
    Ok(Resource { name, spec })
}

fn parse_tags(tags: &[String]) -> Result<Vec<Tag>, Error> {
    tags.iter()
        .map(|t| match t.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok(Tag {
                key: key.into(),
                value: value.into(),
            }),
            _ => Err(Error::InvalidTag(t.clone())),
        })
        .collect()
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|error| Error::Read {
        path: path.display().to_string(),
        error,
    })
}

/// `--system-deps FILE`: a YAML list of packages, or a mapping with `packages:`, held to the
/// same rules as packages in declarations.
fn parse_packages(path: &Path) -> Result<SystemDependencies, Error> {
    let text = read(path)?;
    let parsed = serde_saphyr::from_str::<SystemDependencies>(&text)
        .or_else(|_| serde_saphyr::from_str(&text).map(|packages| SystemDependencies { packages }))
        .map_err(|e| Error::Packages {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
    if let Some(package) = parsed.packages.iter().find(|p| !p.is_valid()) {
        return Err(Error::InvalidPackage {
            path: path.display().to_string(),
            package: package.to_string(),
        });
    }
    Ok(parsed)
}
