//! `dispatch diff`: what merging would do. Declarations at two revisions (or one and the work
//! tree), compared: no state, no engine, no registry, so any CI runner can tell.

use super::{Error, Input, Workspace};
use crate::decl::Declarations;
use crate::plan::{self, Plan};
use crate::source::git::{Range, Repo};

/// Compares the declarations `input` names at the two sides of `range` (`None`: `HEAD`
/// against the work tree).
pub fn diff(ws: &Workspace, range: Option<&str>, input: &Input) -> Result<Plan, Error> {
    let range = Range::parse(range.unwrap_or("HEAD"));
    let open = || Repo::open(input.repo.as_deref(), &input.path);
    let at = |rev: &str| Input {
        revision: Some(rev.to_string()),
        ..input.clone()
    };
    let (before, after) = match &range {
        Range::Between(a, b) => (at(a), at(b)),
        Range::Merging(a, b) => {
            let repo = open()?;
            let base = repo.merge_base(a, b)?;
            // Named by its short sha in messages, as git shows a merge-base.
            let short = base.to_string()[..8].to_string();
            (at(&short), at(b))
        }
        Range::AgainstWorkTree(a) => (
            at(a),
            Input {
                revision: None,
                ..input.clone()
            },
        ),
    };
    // Each side is built from the settings and templates of its own revision.
    let identify = |input: &Input, declarations: &mut Declarations| -> Result<(), Error> {
        if let Some(rev) = &input.revision {
            ws.identity_at(input, rev)?.attach(declarations, None);
        }
        Ok(())
    };
    // The side merged into first in messages, but the change's own side decides: a broken
    // head is the error, a broken base only a note on what it was compared against.
    let mut head = ws.declarations(&after, None)?;
    identify(&after, &mut head)?;
    let (mut base, mut problems) = ws.salvage(&before)?;
    match identify(&before, &mut base) {
        Err(Error::Settings(broken)) => {
            // What the base builds from is not known: no template or build arg is compared.
            for declared in base.resources.values_mut() {
                declared.build_inputs = None;
            }
            problems.push(broken.diagnostic());
        }
        done => done?,
    }
    Ok(Plan {
        base_problems: problems,
        ..plan::between(&base, &head)
    })
}
