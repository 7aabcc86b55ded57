//! Declarations: every `*.yaml`/`*.yml` of a [`Source`], validated, with `@file` references
//! resolved, every problem reported at its `file:line:col`. Pure over the source: no
//! filesystem of its own.

mod policy;
mod refs;
mod schema;
pub mod seed;
pub mod yaml;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::diag::{Diagnostic, Diagnostics, Location, Pos, suggest};
use crate::model::inputs::Inputs;
use crate::model::policy::{Policy, Violation};
use crate::model::{Address, Kind, Resource};
use crate::source::{Located, Source};

/// Declarations files and `@file` manifests larger than this are refused unread.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Options that change what counts as valid.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Let `@path` name files outside the declarations directory (absolute or via `..`).
    pub allow_outside_refs: bool,
    /// Base images in the state, which images may name without declaring them (created
    /// earlier with `dispatch create base-image`, say). `plan` and `create -f` accept the same
    /// files: the planner keeps such a base for the images built on it.
    pub known_bases: Vec<String>,
}

/// A validated resource and where it was declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub resource: Resource,
    /// The resource's digest ([`Resource::digest`]), taken once.
    pub digest: String,
    /// Where its document starts.
    pub origin: Location,
    /// Where each of its document's fields has its value, by name (`dockerUrl`, say): a
    /// handful, kept in a list rather than a map (100,000 resources are read at once).
    pub fields: Vec<(&'static str, Pos)>,
    /// The file its manifest was read from (`@requirements.txt` names `requirements.txt`).
    pub manifest: Option<String>,
    /// For an image: what the settings add to what it is built from (the template, the build
    /// args of its identity), shared by the images of one language; `None` where not known.
    pub build_inputs: Option<Arc<Inputs>>,
}

impl Declared {
    /// `resource`, declared at `origin` (no fields known: made by a command, not read).
    pub fn new(resource: Resource, origin: Location) -> Self {
        Declared {
            digest: resource.digest(),
            resource,
            origin,
            fields: Vec::new(),
            manifest: None,
            build_inputs: None,
        }
    }

    /// Where the value of `field` is, or where the document starts if it has none.
    pub fn at(&self, field: &str) -> Location {
        match self.fields.iter().find(|(name, _)| *name == field) {
            Some((_, pos)) => Location {
                file: self.origin.file.clone(),
                pos: *pos,
            },
            None => self.origin.clone(),
        }
    }
}

/// Every resource declared under one directory, keyed and ordered by address, and the
/// policies declared beside them.
#[derive(Debug, Clone, Default)]
pub struct Declarations {
    pub resources: BTreeMap<Address, Declared>,
    pub policies: Vec<Policy>,
    /// The policy rules they break with a warning, once checked.
    pub warnings: Vec<Violation>,
}

impl Declarations {
    pub fn get(&self, address: &Address) -> Option<&Resource> {
        self.resources.get(address).map(|d| &d.resource)
    }

    /// How many resources of `kind` are declared.
    pub fn count(&self, kind: Kind) -> usize {
        self.resources.keys().filter(|a| a.kind == kind).count()
    }
}

/// The policies of `source`, which holds nothing else: a file or folder kept apart from the
/// declarations (`--policy`).
pub fn load_policies(source: &dyn Source) -> Result<Vec<Policy>, Diagnostics> {
    let loaded = load(source, LoadOptions::default())?;
    let strays: Vec<Diagnostic> = loaded
        .resources
        .values()
        .map(|d| {
            Diagnostic::new(
                d.origin.clone(),
                format!("{} in a policy file", d.resource.address()),
            )
            .with_hint("a file or folder given as a policy holds only `kind: Policy` documents")
        })
        .collect();
    if strays.is_empty() {
        Ok(loaded.policies)
    } else {
        Err(Diagnostics(strays))
    }
}

/// Loads every `*.yaml`/`*.yml` of `source` (or the file it is).
pub fn load(source: &dyn Source, options: LoadOptions) -> Result<Declarations, Diagnostics> {
    let (declarations, problems) = salvage(source, options);
    if problems.is_empty() {
        Ok(declarations)
    } else {
        Err(Diagnostics(problems))
    }
}

/// What `source` soundly declares (the first of two duplicates, an image whatever its base),
/// and the problems of the rest: for a revision that is only compared against, a diff's base,
/// whose problems are not the change's.
pub fn salvage(source: &dyn Source, options: LoadOptions) -> (Declarations, Vec<Diagnostic>) {
    let mut loader = Loader::new(source, &options);
    let files = loader.files();
    // Reading, parsing and checking each file, most of the work, run on every core; what the
    // files declare is then gathered in file order, so that the first of two duplicates is the
    // one in the earlier file. Diagnostics are sorted in the end.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let (checked, diagnostics) = check_files(source, &options, &files, workers);
    loader.diagnostics.extend(diagnostics);
    let mut named = Vec::with_capacity(checked.iter().map(|file| file.named.len()).sum());
    for file in checked {
        named.extend(file.named);
        loader.policies.extend(file.policies);
    }
    loader.cross_check(named)
}

/// Where a problem is, what it is, and how to fix it, before it is pinned to a file.
type Problem = (Pos, String, Option<String>);

/// What one file declares.
#[derive(Default)]
struct Checked {
    named: Vec<Named>,
    policies: Vec<Policy>,
}

/// The stack of a checking thread: the full YAML parser recurses once a level, and a document
/// may nest [`yaml::MAX_DEPTH`] levels (a debug build takes tens of KiB a level).
pub const PARSER_STACK: usize = 64 << 20;

/// Reads, parses and checks `files` on up to `workers` threads, each taking the next file not
/// taken yet. Returns what each file declares, in the order of `files`, and the diagnostics.
fn check_files(
    source: &dyn Source,
    options: &LoadOptions,
    files: &[PathBuf],
    workers: usize,
) -> (Vec<Checked>, Vec<Diagnostic>) {
    let workers = workers.min(files.len()).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let worker = || {
        let mut loader = Loader::new(source, options);
        let mut checked = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(file) = files.get(i) else { break };
            let named = loader.load_file(file);
            let policies = std::mem::take(&mut loader.policies);
            checked.push((i, Checked { named, policies }));
        }
        (checked, loader.diagnostics)
    };
    let results: Vec<_> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..workers)
            .map(|_| {
                std::thread::Builder::new()
                    .stack_size(PARSER_STACK)
                    .spawn_scoped(scope, worker)
                    .expect("a checking thread starts")
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    // Back in file order.
    let mut by_file: Vec<Checked> = files.iter().map(|_| Checked::default()).collect();
    let mut diagnostics = Vec::new();
    for (checked, found) in results {
        for (i, file) in checked {
            by_file[i] = file;
        }
        diagnostics.extend(found);
    }
    (by_file, diagnostics)
}

/// A document with a valid kind and name. It takes part in the checks across documents even
/// when the rest of it is invalid, so that one mistake is not reported again as a missing
/// base image or hidden duplicate.
struct Named {
    address: Address,
    origin: Location,
    /// The base image an Image names, and where in the document's file.
    base: Option<(String, Pos)>,
    /// With its digest; `None` when some field is invalid (and already reported).
    resource: Option<(String, Resource)>,
    /// Where each top-level field has its value.
    fields: Vec<(&'static str, Pos)>,
    /// The file the manifest was read from.
    manifest: Option<String>,
}

/// One load, or one thread's share of it: the source, the rules, and everything found wrong
/// so far.
struct Loader<'s> {
    source: &'s dyn Source,
    options: &'s LoadOptions,
    diagnostics: Vec<Diagnostic>,
    /// `@file` contents by path, read once however many documents name them.
    /// Each `@file` read once: its text, or why not (and what to do).
    manifests: HashMap<PathBuf, Result<String, (String, Option<String>)>>,
    /// Where each `@file` named in each folder leads.
    located: HashMap<PathBuf, HashMap<String, Located>>,
    /// The `@file` the document being read took its manifest from.
    manifest_ref: Option<String>,
    policies: Vec<Policy>,
}

/// Declarations files: YAML, not hidden.
pub fn is_declarations_file(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with('.'));
    !hidden
        && path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
}

impl<'s> Loader<'s> {
    fn new(source: &'s dyn Source, options: &'s LoadOptions) -> Self {
        Loader {
            source,
            options,
            diagnostics: Vec::new(),
            manifests: HashMap::new(),
            located: HashMap::new(),
            manifest_ref: None,
            policies: Vec::new(),
        }
    }

    fn error(&mut self, file: &Path, pos: Pos, message: impl Into<String>) -> &mut Diagnostic {
        let location = Location {
            file: file.to_path_buf(),
            pos,
        };
        self.diagnostics.push(Diagnostic::new(location, message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    /// The declarations files, in a stable sorted order.
    fn files(&mut self) -> Vec<PathBuf> {
        let root = self.source.root().to_path_buf();
        let not_hidden = |name: &str| !name.starts_with('.');
        let Some(listing) = self.source.list(&is_declarations_file, &not_hidden) else {
            self.error(&root, Pos::FILE, "no such file or directory")
                .set_hint("pass the directory that holds your *.yaml declarations");
            return Vec::new();
        };
        for (path, reason) in &listing.unreadable {
            self.error(path, Pos::FILE, format!("cannot read: {reason}"));
        }
        let mut files = listing.files;
        if self.options.allow_outside_refs {
            files.extend(listing.outside);
            files.sort();
        } else {
            for path in &listing.outside {
                self.error(
                    path,
                    Pos::FILE,
                    "is a symlink that points outside the declarations directory",
                )
                .set_hint("keep declarations inside the directory, or pass --allow-outside-refs");
            }
        }
        if files.is_empty() && self.diagnostics.is_empty() {
            self.error(&root, Pos::FILE, "no *.yaml or *.yml files found")
                .set_hint(
                    "declarations are YAML files with `kind: BaseImage` or `kind: Image` documents",
                );
        }
        files
    }

    /// Reads, parses and checks one file; its documents are dropped once checked.
    fn load_file(&mut self, file: &Path) -> Vec<Named> {
        let parsed = refs::read_text(self.source, file).and_then(|text| {
            let documents = yaml::parse_stream(&text)
                .map_err(|err| (err.pos, format!("invalid YAML: {}", err.message), err.hint))?;
            let mut named = Vec::with_capacity(documents.len());
            named.extend(
                documents
                    .iter()
                    .filter_map(|document| self.document(file, document)),
            );
            Ok(named)
        });
        parsed.unwrap_or_else(|(pos, message, hint)| {
            self.error(file, pos, message).hint = hint;
            Vec::new()
        })
    }

    /// Checks that span documents and files: unique names, and every base image declared.
    fn cross_check(mut self, named: Vec<Named>) -> (Declarations, Vec<Diagnostic>) {
        // Hashed, not ordered: comparing names in natural order is what costs most here.
        let mut first: HashMap<&Address, &Location> = HashMap::with_capacity(named.len());
        for item in &named {
            let Some(origin) = first.get(&item.address) else {
                first.insert(&item.address, &item.origin);
                continue;
            };
            let message = format!("duplicate {}: already declared at {origin}", item.address);
            self.diagnostics
                .push(
                    Diagnostic::new(item.origin.clone(), message).with_hint(format!(
                        "names are unique per kind; rename one of the two {}s",
                        item.address.kind
                    )),
                );
        }
        let mut bases: Vec<&Address> = first
            .keys()
            .filter(|a| a.kind == Kind::BaseImage)
            .copied()
            .collect();
        bases.sort();
        let bases: Vec<&str> = bases.iter().map(|a| a.name.as_str()).collect();
        let declared: HashSet<&str> = bases.iter().copied().collect();
        for item in &named {
            let Some((base, pos)) = &item.base else {
                continue;
            };
            if declared.contains(base.as_str()) || self.options.known_bases.contains(base) {
                continue;
            }
            let at = Location {
                file: item.origin.file.clone(),
                pos: *pos,
            };
            let hint = suggest(base, bases.iter().copied())
                .unwrap_or_else(|| format!("declare a BaseImage named `{base}` in this directory"));
            let message = format!(
                "Image `{}` names base image `{base}`, which is not declared",
                item.address.name
            );
            self.diagnostics
                .push(Diagnostic::new(at, message).with_hint(hint));
        }
        for (i, policy) in self.policies.iter().enumerate() {
            if let Some(first) = self.policies[..i].iter().find(|p| p.name == policy.name) {
                let message = format!(
                    "duplicate Policy `{}`: already declared at {}",
                    policy.name, first.origin
                );
                self.diagnostics.push(
                    Diagnostic::new(policy.origin.clone(), message)
                        .with_hint("policy names are unique; rename one of the two"),
                );
            }
        }
        self.diagnostics.sort();
        self.diagnostics.dedup();
        // Only where there are problems can there be duplicates to drop (the later ones).
        let mut seen = HashSet::new();
        let resources = named
            .into_iter()
            .filter(|item| self.diagnostics.is_empty() || seen.insert(item.address.clone()))
            .filter_map(|item| {
                let (digest, resource) = item.resource?;
                let declared = Declared {
                    resource,
                    digest,
                    origin: item.origin,
                    fields: item.fields,
                    manifest: item.manifest,
                    build_inputs: None,
                };
                Some((item.address, declared))
            })
            .collect();
        let declarations = Declarations {
            resources,
            policies: self.policies,
            warnings: Vec::new(),
        };
        (declarations, self.diagnostics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::memory::MemorySource;

    const BASE: &str = "kind: BaseImage\nname: b\ndockerUrl: x/y:1\nlanguage: python3\n";

    /// `line:col: message` of every problem in a directory holding `files`.
    fn problems(files: &[(&str, &str)]) -> Vec<String> {
        match load(&MemorySource::new(files), LoadOptions::default()) {
            Ok(_) => Vec::new(),
            Err(diagnostics) => diagnostics
                .0
                .iter()
                .map(|d| {
                    format!(
                        "{}:{}: {}",
                        d.location.pos.line, d.location.pos.col, d.message
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn a_base_says_whether_its_images_may_be_rebased() {
        let policy = |text: &str| {
            let files = [("b.yaml", text)];
            let loaded = load(&MemorySource::new(&files), LoadOptions::default()).unwrap();
            let address = Address::new(crate::model::Kind::BaseImage, "b");
            match &loaded.resources[&address].resource.spec {
                crate::model::Spec::BaseImage(base) => base.rebase,
                _ => unreachable!(),
            }
        };
        use crate::model::RebasePolicy;
        assert_eq!(policy(BASE), RebasePolicy::Auto);
        assert_eq!(
            policy(&format!("{BASE}rebase: never\n")),
            RebasePolicy::Never
        );
        assert_eq!(
            policy(&format!("{BASE}rebase: always\n")),
            RebasePolicy::Always
        );
        assert_eq!(
            problems(&[("b.yaml", &format!("{BASE}rebase: [never]\n"))]),
            ["5:9: `rebase` must be a string, found a list"]
        );
    }

    #[test]
    fn misspelled_field_is_not_also_missing() {
        let image = "kind: Image\nnmae: x\nbaseImageName: b\n";
        assert_eq!(
            problems(&[("b.yaml", BASE), ("i.yaml", image)]),
            ["2:1: unknown field `nmae` in Image"]
        );
    }

    #[test]
    fn duplicate_field_names_the_first() {
        let base = format!("{BASE}name: c\n");
        assert_eq!(
            problems(&[("b.yaml", &base)]),
            ["5:1: duplicate field `name`: it is already set at line 2"]
        );
    }

    #[test]
    fn merged_fields_are_not_duplicates() {
        let base = "kind: BaseImage\n<<: {name: a, language: java}\nname: b\ndockerUrl: x/y:1\n";
        assert!(problems(&[("b.yaml", base)]).is_empty());
    }

    #[test]
    fn invalid_base_image_is_not_reported_again_as_missing() {
        let base = BASE.replace("python3", "cobol");
        let image = "kind: Image\nname: i\nbaseImageName: b\n";
        let found = problems(&[("b.yaml", &base), ("i.yaml", image)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("4:11: unsupported language"));
    }

    #[test]
    fn image_fields_are_checked_without_a_base_image_name() {
        let image = "kind: Image\nname: i\ntags: [{key: a}]\n";
        assert_eq!(
            problems(&[("i.yaml", image)]),
            [
                "1:1: missing field `baseImageName` in Image",
                "3:8: missing field `value` in tag",
            ]
        );
    }

    #[test]
    fn hidden_files_and_folders_and_other_extensions_are_not_declarations() {
        let broken = "kind: [";
        assert!(
            problems(&[
                ("b.yaml", BASE),
                (".hidden.yaml", broken),
                (".git/x.yaml", broken),
                ("notes.yaml.txt", broken),
            ])
            .is_empty()
        );
        assert_eq!(
            problems(&[("sub/x.yml", broken)]).len(),
            1,
            "a .yml in a folder is read"
        );
    }

    #[test]
    fn references_resolve_next_to_their_file_and_stay_inside() {
        let image =
            "kind: Image\nname: i\nbaseImageName: b\nruntimeDependencies:\n  manifest: '@r.txt'\n";
        let loaded = load(
            &MemorySource::new(&[
                ("b.yaml", BASE),
                ("team/i.yaml", image),
                ("team/r.txt", "x==1\n"),
            ]),
            LoadOptions::default(),
        )
        .unwrap();
        let Some(crate::model::Spec::Image(spec)) =
            loaded.get(&Address::new(Kind::Image, "i")).map(|r| &r.spec)
        else {
            panic!("no image")
        };
        assert_eq!(
            spec.runtime_dependencies.as_ref().unwrap().manifest,
            "x==1\n"
        );
        let outside = image.replace("@r.txt", "@../../r.txt");
        assert_eq!(
            problems(&[("b.yaml", BASE), ("team/i.yaml", &outside)]),
            ["5:13: `@../../r.txt` points outside the declarations directory"]
        );
    }
}
