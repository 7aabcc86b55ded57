//! What can stop an operation, each failure with what the user can do about it (its hint).

use crate::build::naming::DestinationError;
use crate::config::SettingsError;
use crate::decl::seed::SeedError;
use crate::engine::EngineError;
use crate::model::diag::{Diagnostic, Diagnostics, Hint, io_reason};
use crate::model::language::UnknownLanguage;
use crate::model::policy::{Broken, Violation};
use crate::model::reference::ReferenceError;
use crate::model::words::agree;
use crate::model::{
    Address, Kind, NAME_RULE, PACKAGE_NAME_PUNCTUATION, PACKAGE_VERSION_PUNCTUATION,
};
use crate::plan::PlanError;
use crate::plan::saved::PlanFileError;
use crate::refresh::RefreshError;
use crate::source::git::GitError;
use crate::state::StateError;

use super::interact::ApprovalError;

/// Everything that can stop an operation, each with what the user can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Declarations(#[from] Diagnostics),
    #[error(transparent)]
    Policies(#[from] Broken),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    PlanFile(#[from] PlanFileError),
    #[error(transparent)]
    Refresh(#[from] RefreshError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
    #[error("dispatch.toml: {0}")]
    Destination(#[from] DestinationError),
    #[error("{path}: no such file or directory")]
    NoSuchPath { path: String, close: Option<String> },
    #[error("the policies at {0}: no such file or directory")]
    NoSuchPolicy(String),
    #[error("cannot read {path}: {}", io_reason(.error))]
    Read { path: String, error: std::io::Error },
    #[error("cannot write {path}: {}", io_reason(.error))]
    Write { path: String, error: std::io::Error },
    #[error("create seed-images needs the registry that holds the seed base images")]
    NoSeedRegistry,
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error("{} already exist{}", list(.0), agree(.0.len(), "s", ""))]
    AlreadyExist(Vec<Address>),
    #[error("{} do{} not exist", list(.0), agree(.0.len(), "es", ""))]
    DoNotExist(Vec<Address>),
    #[error("{0} does not exist")]
    NoSuch(Address),
    #[error("{0} not found")]
    NotFound(Address),
    #[error("no image or base image is called {name:?}")]
    Unnamed {
        name: String,
        close: Option<Address>,
    },
    #[error("{0} is not in the state")]
    NotInState(Address),
    #[error("there is no state yet; nothing to remove")]
    NoState,
    #[error("there is no state at {0}: nothing has been applied here yet")]
    NoStateAt(String),
    #[error("there is no state at {0} to copy")]
    NothingToCopy(String),
    #[error("the state is kept in the local file {0} already; there is nowhere to copy it")]
    LocalOnly(String),
    #[error(
        "{to} holds another state (lineage {found}) than {from} (lineage {lineage}); it was not overwritten"
    )]
    Lineage {
        from: String,
        to: String,
        lineage: uuid::Uuid,
        found: uuid::Uuid,
    },
    #[error("{address} is still used by {}", list(.users))]
    InUse {
        address: Address,
        users: Vec<Address>,
    },
    #[error("{address} names base image `{base}`, which does not exist")]
    BaseMissing { address: Address, base: String },
    #[error("invalid name {0:?}")]
    InvalidName(String),
    #[error("invalid tag {0:?}")]
    InvalidTag(String),
    #[error("invalid image reference {url:?}: {reason}")]
    InvalidReference { url: String, reason: ReferenceError },
    #[error("{0}")]
    InvalidLanguage(UnknownLanguage),
    #[error("{path}: {detail}")]
    Packages { path: String, detail: String },
    #[error("{path}: invalid package {package:?}")]
    InvalidPackage { path: String, package: String },
    #[error("{0} has no image yet")]
    NoImage(Address),
    #[error("{0} has no catalog")]
    NotCatalogued(Address),
    #[error("{0} is not empty")]
    NotEmpty(String),
    #[error("both {} and {} are named {name:?}", Address::new(Kind::BaseImage, .name), Address::new(Kind::Image, .name))]
    Ambiguous { name: String },
    #[error("{0}")]
    InvalidQuery(String),
    #[error(transparent)]
    Advisory(#[from] crate::advisory::read::ReadError),
}

impl Error {
    /// The problems found in the declarations, each at its place, when that is what failed.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Error::Policies(Broken { errors: d, .. })
            | Error::Declarations(d)
            | Error::Refresh(RefreshError::Declarations(d))
            | Error::Refresh(RefreshError::Registries { diagnostics: d, .. }) => &d.0,
            _ => &[],
        }
    }

    /// The policy warnings found beside the errors that stopped it.
    pub fn warnings(&self) -> &[Violation] {
        match self {
            Error::Policies(broken) => &broken.warnings,
            _ => &[],
        }
    }
}

/// What the registry `create seed-images` names must hold.
const SEEDS: &str = "it must hold nodejs-base:0.0.12, python3-base:0.0.13, powershell-base:0.0.13 and java-base:0.0.13, the original's base images (Docker Hub's dispatchframework/*)";

fn list(addresses: &[Address]) -> String {
    let names: Vec<String> = addresses.iter().map(Address::to_string).collect();
    names.join(", ")
}

impl Hint for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Declarations(_) | Error::Policies(_) => None,
            Error::Settings(e) => e.hint(),
            Error::State(e) => e.hint(),
            Error::Plan(e) => e.hint(),
            Error::PlanFile(e) => e.hint(),
            Error::Refresh(e) => e.hint(),
            Error::Engine(e) => e.hint(),
            Error::Approval(e) => e.hint(),
            Error::Git(e) => e.hint(),
            Error::NoSuchPath { close, .. } => Some(match close {
                Some(close) => format!("did you mean `{close}`?"),
                None => "pass the directory that holds your *.yaml declarations".into(),
            }),
            Error::NoSuchPolicy(_) => Some(
                "name a file or folder of `kind: Policy` documents (--policy, DISPATCH_POLICY, or `policies` in dispatch.toml)".into(),
            ),
            Error::AlreadyExist(_) => Some(
                "use `dispatch update -f FILE` or `dispatch apply` to change what exists".into(),
            ),
            Error::DoNotExist(addresses) => Some(format!(
                "create {} first with `dispatch create -f FILE`",
                agree(addresses.len(), "it", "them")
            )),
            Error::NoSuch(_) => {
                Some("`dispatch get base-image` and `dispatch get image` list what does".into())
            }
            Error::NotFound(address) => Some(format!(
                "`dispatch get {}` lists what exists",
                crate::report::get::noun(address.kind)
            )),
            Error::NoStateAt(_) => Some(
                "`dispatch apply` makes it; `-C DIR` or `--state PATH` looks elsewhere".into(),
            ),
            Error::Unnamed { close, .. } => Some(match close {
                Some(close) => format!("did you mean `{}` ({close})?", close.name),
                None => "`dispatch get images` and `dispatch get base-images` list what exists"
                    .into(),
            }),
            Error::NotInState(_) => Some("`dispatch state list` shows what is".into()),
            Error::NoImage(_) => Some("`dispatch apply` pulls or builds it".into()),
            Error::NotCatalogued(_) => Some(
                "`dispatch apply` catalogues every recorded image without a catalog that the engine still holds".into(),
            ),
            Error::NotEmpty(_) => Some(
                "name a new or empty folder, or pass --force to write into it (documents of the \
                 same names are replaced, other files left as they are)"
                    .into(),
            ),
            Error::Ambiguous { name } => Some(format!(
                "name one: `dispatch catalog BaseImage/{name}` or `dispatch catalog Image/{name}`"
            )),
            Error::InvalidQuery(_) => Some(
                "write NAME, NAME with a range in its ecosystem's syntax (`pandas<1.0`, `lodash@^4.17`), or ECOSYSTEM:NAME (`deb:openssl`)".into(),
            ),
            Error::Advisory(_) => Some(
                "each file is an OSV record or a list of them, in JSON or YAML, or osv.dev's \
                 all.zip of an ecosystem; nothing was imported"
                    .into(),
            ),
            Error::LocalOnly(_) => Some(
                "`state push` and `state pull` copy between the local file and the [backend] in dispatch.toml; set type = \"postgres\" there".into(),
            ),
            Error::Lineage { .. } => Some(
                "check that both name the same project; --force overwrites it (its history keeps the old one)".into(),
            ),
            Error::InUse { users, .. } => {
                Some(format!("delete {} first", agree(users.len(), "it", "them")))
            }
            Error::BaseMissing { base, .. } => Some(format!(
                "create it first with `dispatch create base-image {base} URL --language L`"
            )),
            Error::InvalidName(_) => Some(NAME_RULE.into()),
            Error::NoSeedRegistry => Some(format!(
                "name it: --registry HOST[:PORT][/PATH], or `[registry] seed` in dispatch.toml; {SEEDS}"
            )),
            Error::Seed(_) => Some(format!(
                "write HOST[:PORT][/PATH], e.g. 127.0.0.1:5000/dispatchframework; {SEEDS}"
            )),
            Error::InvalidTag(_) => Some("write --tag KEY=VALUE".into()),
            Error::Packages { .. } => {
                Some("write packages as `- name: curl` / `  version: 7.61.1`".into())
            }
            Error::InvalidPackage { .. } => Some(format!(
                "names are letters, digits and `{PACKAGE_NAME_PUNCTUATION}`, versions letters, digits and `{PACKAGE_VERSION_PUNCTUATION}`, each starting with a letter or digit"
            )),
            Error::Runtime(_)
            | Error::Output(_)
            | Error::Destination(_)
            | Error::Read { .. }
            | Error::Write { .. }
            | Error::NoState
            | Error::NothingToCopy(_)
            | Error::InvalidReference { .. }
            | Error::InvalidLanguage(_) => None,
        }
    }
}
