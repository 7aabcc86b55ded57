//! What `plan` and `apply` both do before anything runs: the declarations loaded and held to
//! the policies, what really exists asked for when wanted, and the plan.

use tokio::sync::OnceCell;

use super::{Error, Input, Workspace};
use crate::decl::Declarations;
use crate::engine::docker::DockerEngine;
use crate::model::Address;
use crate::plan::{self, Observations, Plan};
use crate::refresh::{self, Sources};
use crate::source::git::Provenance;
use crate::state::State;

/// What to plan.
pub struct Planning<'a> {
    /// The declarations.
    pub input: &'a Input,
    /// Ask the registries and the engine what really exists.
    pub refresh: bool,
    /// Limit the plan to these and what they are built on.
    pub targets: &'a [Address],
    /// Build the images whose base moved rather than rebase them.
    pub rebuild: bool,
    /// Find out which commit the declarations came from (apply records it).
    pub provenance: bool,
}

/// A plan and what it was made from.
pub struct Prepared {
    pub declarations: Declarations,
    pub plan: Plan,
    pub provenance: Option<Provenance>,
}

/// The engine, connected the first time something needs it, then shared.
pub struct LazyEngine<'w> {
    ws: &'w Workspace,
    cell: OnceCell<DockerEngine>,
}

impl<'w> LazyEngine<'w> {
    pub fn new(ws: &'w Workspace) -> Self {
        LazyEngine {
            ws,
            cell: OnceCell::new(),
        }
    }

    /// Already connected to `engine`.
    pub fn holding(ws: &'w Workspace, engine: DockerEngine) -> Self {
        LazyEngine {
            ws,
            cell: OnceCell::new_with(Some(engine)),
        }
    }

    pub async fn get(&self) -> Result<&DockerEngine, Error> {
        self.cell.get_or_try_init(|| self.ws.engine()).await
    }
}

/// Loads, refreshes (the engine only where [`refresh::needs_engine`] says) and plans against
/// `state`.
pub async fn prepare(
    ws: &Workspace,
    request: &Planning<'_>,
    state: Option<&State>,
    engine: &LazyEngine<'_>,
) -> Result<Prepared, Error> {
    let loaded = ws.load(request.input, state, request.provenance)?;
    let observations = if request.refresh {
        let empty = State::new();
        let recorded = state.unwrap_or(&empty);
        let engine = match refresh::needs_engine(recorded, ws.config.destination.as_deref()) {
            true => Some(engine.get().await?),
            false => None,
        };
        let resources = (recorded.resources.values().map(|r| &r.resource))
            .chain(loaded.declarations.resources.values().map(|d| &d.resource));
        let sources = Sources {
            registries: &ws.registries(resources),
            engine,
            destination: ws.config.destination.as_deref(),
            catalogs: Some(ws.backend.as_ref()),
            rebases: !request.rebuild,
        };
        refresh::refresh(&loaded.declarations, Some(recorded), &sources).await?
    } else {
        Observations::default()
    };
    let observations = Observations {
        rebuild: request.rebuild,
        ..observations
    };
    let plan = plan::plan(&loaded.declarations, state, &observations, request.targets)?;
    let mut plan = if request.rebuild {
        plan.rebuilt()
    } else {
        plan
    };
    plan.advisories = super::advisories::notes(ws, state, &crate::host::now())?;
    Ok(Prepared {
        declarations: loaded.declarations,
        plan,
        provenance: loaded.provenance,
    })
}
