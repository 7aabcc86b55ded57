//! The original Dispatch commands (`create`, `update`, `delete`), on the same state and the
//! same planner as `apply`: each edits the desired set, plans the difference, and runs it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};

use dispatch::declarations::{Declarations, Declared, LoadOptions};
use dispatch::diag::{Location, Pos};
use dispatch::model::{
    Address, BaseImageSpec, ImageSpec, Kind, Language, NAME_RULE, Resource, RuntimeDependencies,
    Spec, SystemDependencies, Tag, valid_name, valid_package_name, valid_package_version,
};
use dispatch::plan::{self, Observations};
use dispatch::reference::ImageRef;
use dispatch::state::State;

use super::apply::{execute, runtime};
use crate::Session;
use crate::cli::{CreateArgs, CreateWhat, DeleteArgs, DeleteWhat, RunArgs};

pub fn create(session: &Session, args: &CreateArgs) -> Result<ExitCode> {
    match (&args.what, &args.file) {
        (
            Some(CreateWhat::BaseImage {
                name,
                url,
                language,
                tags,
                run,
            }),
            _,
        ) => {
            let docker_url = ImageRef::parse(url)
                .map_err(|e| anyhow::anyhow!("invalid image reference {url:?}: {e}"))?;
            let language: Language = language.parse().map_err(anyhow::Error::msg)?;
            let spec = Spec::BaseImage(BaseImageSpec {
                docker_url,
                language,
                tags: parse_tags(tags)?,
            });
            change(session, run, Edit::Create(vec![resource(name, spec)?]))
        }
        (
            Some(CreateWhat::Image {
                name,
                base,
                runtime_deps,
                system_deps,
                tags,
                run,
            }),
            _,
        ) => {
            let runtime_dependencies = match runtime_deps {
                Some(path) => Some(RuntimeDependencies {
                    manifest: read(path)?,
                }),
                None => None,
            };
            let system_dependencies = match system_deps {
                Some(path) => Some(parse_packages(path)?),
                None => None,
            };
            let spec = Spec::Image(ImageSpec {
                base_image_name: base.clone(),
                runtime_dependencies,
                system_dependencies,
                tags: parse_tags(tags)?,
            });
            change(session, run, Edit::Create(vec![resource(name, spec)?]))
        }
        (None, Some(file)) => {
            let state = session.store.load()?.unwrap_or_default();
            change(session, &args.run, Edit::Create(from_file(&state, file)?))
        }
        (None, None) => bail!(
            "say what to create: `create base-image NAME URL --language L`, `create image NAME BASE`, or `create -f FILE`"
        ),
    }
}

pub fn update(session: &Session, file: &Path, run: &RunArgs) -> Result<ExitCode> {
    let state = session.store.load()?.unwrap_or_default();
    change(session, run, Edit::Update(from_file(&state, file)?))
}

pub fn delete(session: &Session, args: &DeleteArgs) -> Result<ExitCode> {
    match (&args.what, &args.file) {
        (Some(DeleteWhat::BaseImage { name, run }), _) => change(
            session,
            run,
            Edit::Delete(vec![Address::new(Kind::BaseImage, name.clone())]),
        ),
        (Some(DeleteWhat::Image { name, run }), _) => change(
            session,
            run,
            Edit::Delete(vec![Address::new(Kind::Image, name.clone())]),
        ),
        (None, Some(file)) => {
            let state = session.store.load()?.unwrap_or_default();
            let addresses = from_file(&state, file)?
                .iter()
                .map(Resource::address)
                .collect();
            change(session, &args.run, Edit::Delete(addresses))
        }
        (None, None) => bail!(
            "say what to delete: `delete base-image NAME`, `delete image NAME`, or `delete -f FILE`"
        ),
    }
}

/// What an imperative command does to the desired set.
enum Edit {
    Create(Vec<Resource>),
    Update(Vec<Resource>),
    Delete(Vec<Address>),
}

/// Applies `edit` to the state's resources, plans the difference for the touched resources
/// (and the images built on them), and runs it.
fn change(session: &Session, run: &RunArgs, edit: Edit) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let lock = session.lock(run)?;
        let mut state = session.store.load()?.unwrap_or_default();
        let origin = Location { file: session.store.path().to_path_buf(), pos: Pos::FILE };
        let mut desired: Declarations = Declarations {
            resources: state
                .resources
                .iter()
                .map(|(a, r)| (a.clone(), Declared { resource: r.resource.clone(), origin: origin.clone() }))
                .collect(),
        };
        let mut targets: BTreeSet<Address> = BTreeSet::new();
        match edit {
            Edit::Create(resources) => {
                let existing: Vec<String> =
                    resources.iter().map(Resource::address).filter(|a| state.resources.contains_key(a)).map(|a| a.to_string()).collect();
                if !existing.is_empty() {
                    bail!("{} already exist{}\n  hint: use `dispatch update -f FILE` or `dispatch apply` to change what exists", existing.join(", "), if existing.len() == 1 { "s" } else { "" });
                }
                insert(&mut desired, &mut targets, &origin, resources, &state)?;
            }
            Edit::Update(resources) => {
                let missing: Vec<String> =
                    resources.iter().map(Resource::address).filter(|a| !state.resources.contains_key(a)).map(|a| a.to_string()).collect();
                if !missing.is_empty() {
                    bail!("{} do{} not exist\n  hint: create {} first with `dispatch create -f FILE`", missing.join(", "), if missing.len() == 1 { "es" } else { "" }, if missing.len() == 1 { "it" } else { "them" });
                }
                insert(&mut desired, &mut targets, &origin, resources, &state)?;
            }
            Edit::Delete(addresses) => {
                for address in &addresses {
                    if !state.resources.contains_key(address) {
                        bail!("{address} does not exist\n  hint: `dispatch get base-image` and `dispatch get image` list what does");
                    }
                    desired.resources.remove(address);
                }
                for address in addresses.iter().filter(|a| a.kind == Kind::BaseImage) {
                    let users: Vec<String> = desired
                        .resources
                        .values()
                        .filter(|d| d.resource.depends_on().as_ref() == Some(address))
                        .map(|d| d.resource.address().to_string())
                        .collect();
                    if !users.is_empty() {
                        bail!("{address} is still used by {}\n  hint: delete {} first", users.join(", "), if users.len() == 1 { "it" } else { "them" });
                    }
                }
                targets.extend(addresses);
            }
        }
        let targets: Vec<Address> = targets.into_iter().collect();
        let plan = plan::plan(&desired, Some(&state), &Observations::default(), &targets)?;
        let engine = session.engine().await?;
        let registries = session.registries(&state, Some(&desired));
        execute(session, &plan, &mut state, &lock, &engine, &registries, run).await
    })
}

/// Puts `resources` into the desired set; targets them and the images built on them.
fn insert(
    desired: &mut Declarations,
    targets: &mut BTreeSet<Address>,
    origin: &Location,
    resources: Vec<Resource>,
    state: &State,
) -> Result<()> {
    for resource in resources {
        if let Some(base) = resource.depends_on() {
            let declared = desired.resources.contains_key(&base);
            if !declared {
                bail!(
                    "{} names base image `{}`, which does not exist\n  hint: create it first with `dispatch create base-image {} URL --language L`",
                    resource.address(),
                    base.name,
                    base.name
                );
            }
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
        desired.resources.insert(
            address,
            Declared {
                resource,
                origin: origin.clone(),
            },
        );
    }
    Ok(())
}

/// The resources declared in `file`, which may name base images that already exist.
fn from_file(state: &State, file: &Path) -> Result<Vec<Resource>> {
    let known_bases = state
        .resources
        .keys()
        .filter(|a| a.kind == Kind::BaseImage)
        .map(|a| a.name.clone())
        .collect();
    let declarations = dispatch::declarations::load(
        file,
        LoadOptions {
            known_bases,
            ..Default::default()
        },
    )?;
    Ok(declarations
        .resources
        .into_values()
        .map(|d| d.resource)
        .collect())
}

fn resource(name: &str, spec: Spec) -> Result<Resource> {
    if !valid_name(name) {
        bail!("invalid name {name:?}\n  hint: {NAME_RULE}");
    }
    Ok(Resource {
        name: name.to_string(),
        spec,
    })
}

fn parse_tags(tags: &[String]) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|t| match t.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok(Tag {
                key: key.into(),
                value: value.into(),
            }),
            _ => bail!("invalid tag {t:?}\n  hint: write --tag KEY=VALUE"),
        })
        .collect()
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// `--system-deps FILE`: a YAML list of packages, or a mapping with `packages:`.
fn parse_packages(path: &Path) -> Result<SystemDependencies> {
    let text = read(path)?;
    let parsed = serde_saphyr::from_str::<SystemDependencies>(&text)
        .or_else(|_| serde_saphyr::from_str(&text).map(|packages| SystemDependencies { packages }))
        .map_err(|e| {
            anyhow::anyhow!(
                "{}: {e}\n  hint: write packages as `- name: curl` / `  version: 7.61.1`",
                path.display()
            )
        })?;
    // The same rules as in declarations: nothing a shell would interpret reaches a Dockerfile.
    for package in &parsed.packages {
        let version_ok = package.version.as_deref().is_none_or(valid_package_version);
        if !valid_package_name(&package.name) || !version_ok {
            bail!(
                "{}: invalid package {:?}\n  hint: names are letters, digits and `.+_:-`, versions letters, digits and `.+~:_-`, each starting with a letter or digit",
                path.display(),
                package.to_string()
            );
        }
    }
    Ok(parsed)
}
