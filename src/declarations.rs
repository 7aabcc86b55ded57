//! Loads a directory (or one file) of declarations, validates it, and resolves `@file`
//! references, reporting every problem with its `file:line:col`.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::diag::{Diagnostic, Diagnostics, Location, Pos, did_you_mean, suggest};
use crate::model::{
    Address, BaseImageSpec, ImageSpec, Kind, Language, NAME_RULE, Package, Resource,
    RuntimeDependencies, Spec, SystemDependencies, Tag, valid_name, valid_package_name,
    valid_package_version,
};
use crate::reference::ImageRef;
use crate::yaml::{self, Node, Value};

/// Declarations files and `@file` manifests larger than this are refused unread.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Options that change what counts as valid.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Let `@path` name files outside the declarations directory (absolute or via `..`).
    pub allow_outside_refs: bool,
    /// Base images that exist already (in the state), so images may name them without
    /// declaring them: `dispatch create -f image.yaml` on a base created earlier.
    pub known_bases: Vec<String>,
}

/// A validated resource and where it was declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub resource: Resource,
    pub origin: Location,
}

/// Every resource declared under one directory, keyed and ordered by address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Declarations {
    pub resources: BTreeMap<Address, Declared>,
}

impl Declarations {
    pub fn get(&self, address: &Address) -> Option<&Resource> {
        self.resources.get(address).map(|d| &d.resource)
    }
}

/// Loads every `*.yaml`/`*.yml` under `root` (or the file `root` itself).
pub fn load(root: &Path, options: LoadOptions) -> Result<Declarations, Diagnostics> {
    let mut loader = Loader::new(root, options);
    let files = loader.files();
    let mut named = Vec::new();
    // Reading and parsing, most of the work, run on every core a few files at a time; the
    // documents are then checked in file order, so diagnostics keep a stable order.
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    for batch in files.chunks(workers * 4) {
        for (file, parsed) in batch.iter().zip(parse_files(batch, workers)) {
            loader.load_file(file, parsed, &mut named);
        }
    }
    loader.cross_check(named)
}

/// A file's YAML documents, or why it has none: where, what, and a hint.
type Parsed = Result<Vec<Node>, (Pos, String, Option<String>)>;

/// Reads and parses `files` on up to `workers` threads; the results are in the order of `files`.
fn parse_files(files: &[PathBuf], workers: usize) -> Vec<Parsed> {
    let workers = workers.min(files.len());
    if workers <= 1 {
        return files.iter().map(|file| parse_file(file)).collect();
    }
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..workers)
            .map(|worker| {
                scope.spawn(move || {
                    (files.iter().enumerate().skip(worker).step_by(workers))
                        .map(|(i, file)| (i, parse_file(file)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut parsed: Vec<Option<Parsed>> = files.iter().map(|_| None).collect();
        for thread in threads {
            let results = thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, result) in results {
                parsed[i] = Some(result);
            }
        }
        parsed
            .into_iter()
            .map(|p| p.expect("every file is parsed by one thread"))
            .collect()
    })
}

fn parse_file(file: &Path) -> Parsed {
    let text = read_text(file)?;
    yaml::parse_stream(&text)
        .map_err(|err| (err.pos, format!("invalid YAML: {}", err.message), err.hint))
}

/// A document with a valid kind and name. It takes part in the checks across documents even
/// when the rest of it is invalid, so that one mistake is not reported again as a missing
/// base image or hidden duplicate.
struct Named {
    address: Address,
    origin: Location,
    /// The base image an Image names, and where.
    base: Option<(String, Location)>,
    /// `None` when some field is invalid (and already reported).
    resource: Option<Resource>,
}

struct Loader {
    /// The directory `@path` references must stay inside (canonical when it exists).
    boundary: PathBuf,
    root: PathBuf,
    options: LoadOptions,
    diagnostics: Vec<Diagnostic>,
    manifests: HashMap<PathBuf, Result<String, String>>,
}

impl Loader {
    fn new(root: &Path, options: LoadOptions) -> Self {
        let dir = if root.is_file() {
            // `images.yaml` has the parent "", which would make every path "inside".
            root.parent()
                .filter(|parent| !parent.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
        } else {
            root
        };
        let boundary = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        Loader {
            boundary,
            root: root.to_path_buf(),
            options,
            diagnostics: Vec::new(),
            manifests: HashMap::new(),
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
        let root = self.root.clone();
        if root.is_file() {
            return vec![root];
        }
        if !root.is_dir() {
            self.error(&root, Pos::FILE, "no such file or directory")
                .set_hint("pass the directory that holds your *.yaml declarations");
            return Vec::new();
        }
        let mut files = Vec::new();
        let walker = walkdir::WalkDir::new(&root)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker {
            match entry {
                Ok(entry) => {
                    let path = entry.path();
                    let is_yaml = path
                        .extension()
                        .is_some_and(|ext| ext == "yaml" || ext == "yml");
                    if is_yaml && path.is_file() {
                        files.push(path.to_path_buf());
                    }
                }
                Err(err) => {
                    let path = err.path().unwrap_or(&root).to_path_buf();
                    self.error(
                        &path,
                        Pos::FILE,
                        format!("cannot read: {}", io_reason(&err)),
                    );
                }
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

    fn load_file(&mut self, file: &Path, parsed: Parsed, out: &mut Vec<Named>) {
        let documents = match parsed {
            Ok(documents) => documents,
            Err((pos, message, hint)) => {
                self.error(file, pos, message).hint = hint;
                return;
            }
        };
        for document in documents {
            out.extend(self.document(file, &document));
        }
    }

    /// Converts one document to a resource, recording every problem in it.
    fn document(&mut self, file: &Path, doc: &Node) -> Option<Named> {
        let mut fields = self.fields(file, doc, &DOCUMENT)?;
        let kind = match fields.take("kind") {
            None => {
                self.error(file, doc.pos, "missing field `kind`")
                    .set_hint(DOCUMENT.hint);
                return None;
            }
            Some(node) => {
                let text = self.string(file, "kind", node)?;
                match Kind::ALL.into_iter().find(|k| k.as_str() == text) {
                    Some(kind) => kind,
                    None => {
                        let hint =
                            suggest(&text, Kind::ALL.map(Kind::as_str)).unwrap_or_else(|| {
                                "dispatch knows `BaseImage` and `Image`".to_string()
                            });
                        self.error(file, node.pos, format!("unknown kind `{text}`"))
                            .hint = Some(hint);
                        return None;
                    }
                }
            }
        };
        let shape = shape(kind);
        let name = self
            .require(file, doc, &mut fields, "name", shape)
            .and_then(|node| {
                let name = self.string(file, "name", node)?;
                if valid_name(&name) {
                    Some(name)
                } else {
                    self.error(file, node.pos, format!("invalid name {name:?}"))
                        .hint = Some(NAME_RULE.to_string());
                    None
                }
            });
        // Read here rather than in `image`: the check that the base image exists needs it
        // even when the rest of the Image is invalid.
        let base = match kind {
            Kind::BaseImage => None,
            Kind::Image => self
                .require(file, doc, &mut fields, "baseImageName", shape)
                .and_then(|node| Some((self.string(file, "baseImageName", node)?, node.pos))),
        };
        let spec = match kind {
            Kind::BaseImage => self.base_image(file, doc, &mut fields).map(Spec::BaseImage),
            Kind::Image => {
                let base_image_name = base.as_ref().map(|(name, _)| name.clone());
                self.image(file, base_image_name, &mut fields)
                    .map(Spec::Image)
            }
        };
        self.unknown_fields(file, fields, shape);
        let name = name?;
        let at = |pos| Location {
            file: file.to_path_buf(),
            pos,
        };
        Some(Named {
            address: Address::new(kind, name.clone()),
            origin: at(doc.pos),
            base: base.map(|(base, pos)| (base, at(pos))),
            resource: spec.map(|spec| Resource { name, spec }),
        })
    }

    fn base_image(
        &mut self,
        file: &Path,
        doc: &Node,
        fields: &mut Fields<'_>,
    ) -> Option<BaseImageSpec> {
        let docker_url = self
            .require(file, doc, fields, "dockerUrl", &BASE_IMAGE)
            .and_then(|node| {
                let text = self.string(file, "dockerUrl", node)?;
                ImageRef::parse(&text)
                    .map_err(|reason| {
                        self.error(
                            file,
                            node.pos,
                            format!("invalid image reference {text:?}: {reason}"),
                        )
                        .set_hint(DOCKER_URL_HINT);
                    })
                    .ok()
            });
        let language = self
            .require(file, doc, fields, "language", &BASE_IMAGE)
            .and_then(|node| {
                let text = self.string(file, "language", node)?;
                text.parse()
                    .map_err(|message: String| {
                        self.error(file, node.pos, message).hint =
                            suggest(&text, Language::ALL.map(Language::as_str));
                    })
                    .ok()
            });
        let tags = self.tags(file, fields);
        Some(BaseImageSpec {
            docker_url: docker_url?,
            language: language?,
            tags: tags?,
        })
    }

    fn image(
        &mut self,
        file: &Path,
        base_image_name: Option<String>,
        fields: &mut Fields<'_>,
    ) -> Option<ImageSpec> {
        let runtime_dependencies = match fields.take("runtimeDependencies") {
            None => Some(None),
            Some(node) => self.runtime_dependencies(file, node).map(Some),
        };
        let system_dependencies = match fields.take("systemDependencies") {
            None => Some(None),
            Some(node) => self.system_dependencies(file, node).map(Some),
        };
        let tags = self.tags(file, fields);
        Some(ImageSpec {
            base_image_name: base_image_name?,
            runtime_dependencies: runtime_dependencies?,
            system_dependencies: system_dependencies?,
            tags: tags?,
        })
    }

    fn runtime_dependencies(&mut self, file: &Path, node: &Node) -> Option<RuntimeDependencies> {
        let mut fields = self.fields(file, node, &RUNTIME_DEPENDENCIES)?;
        let manifest = self
            .require(file, node, &mut fields, "manifest", &RUNTIME_DEPENDENCIES)
            .and_then(|value| {
                let text = self.string(file, "manifest", value)?;
                self.resolve_text(file, value.pos, text)
            });
        self.unknown_fields(file, fields, &RUNTIME_DEPENDENCIES);
        Some(RuntimeDependencies {
            manifest: manifest?,
        })
    }

    fn system_dependencies(&mut self, file: &Path, node: &Node) -> Option<SystemDependencies> {
        let mut fields = self.fields(file, node, &SYSTEM_DEPENDENCIES)?;
        let packages = match fields.take("packages") {
            None => Some(Vec::new()),
            Some(list) => self
                .list(file, "packages", list, &PACKAGE)
                .and_then(|items| {
                    let packages: Vec<_> =
                        items.iter().map(|item| self.package(file, item)).collect();
                    packages.into_iter().collect::<Option<Vec<_>>>()
                }),
        };
        self.unknown_fields(file, fields, &SYSTEM_DEPENDENCIES);
        Some(SystemDependencies {
            packages: packages?,
        })
    }

    fn package(&mut self, file: &Path, node: &Node) -> Option<Package> {
        let mut fields = self.fields(file, node, &PACKAGE)?;
        let name = self
            .require(file, node, &mut fields, "name", &PACKAGE)
            .and_then(|value| {
                let name = self.string(file, "name", value)?;
                self.checked(
                    file,
                    value.pos,
                    name,
                    "package name",
                    valid_package_name,
                    "a package name is letters, digits and `.+_:-`, starting with a letter or digit",
                )
            });
        let version = match fields.take("version") {
            None => Some(None),
            Some(value) => self
                .string(file, "version", value)
                .and_then(|v| {
                    self.checked(
                        file,
                        value.pos,
                        v,
                        "package version",
                        valid_package_version,
                        "a version is letters, digits and `.+~:_-`, starting with a letter or digit",
                    )
                })
                .map(Some),
        };
        self.unknown_fields(file, fields, &PACKAGE);
        Some(Package {
            name: name?,
            version: version?,
        })
    }

    fn checked(
        &mut self,
        file: &Path,
        pos: Pos,
        value: String,
        what: &str,
        valid: fn(&str) -> bool,
        rule: &str,
    ) -> Option<String> {
        if valid(&value) {
            return Some(value);
        }
        self.error(file, pos, format!("invalid {what} {value:?}"))
            .hint = Some(rule.to_string());
        None
    }

    fn tags(&mut self, file: &Path, fields: &mut Fields<'_>) -> Option<Vec<Tag>> {
        let Some(node) = fields.take("tags") else {
            return Some(Vec::new());
        };
        if node.value == Value::Null {
            return Some(Vec::new());
        }
        let items = self.list(file, "tags", node, &TAG)?;
        let tags: Vec<_> = items
            .iter()
            .map(|item| {
                let mut fields = self.fields(file, item, &TAG)?;
                let mut part = |this: &mut Self, key: &str| {
                    let value = this.require(file, item, &mut fields, key, &TAG)?;
                    this.string(file, key, value)
                };
                let key = part(self, "key");
                let value = part(self, "value");
                self.unknown_fields(file, fields, &TAG);
                Some(Tag {
                    key: key?,
                    value: value?,
                })
            })
            .collect();
        tags.into_iter().collect()
    }

    /// Resolves `@path` (relative to the folder of `file`) and `@@literal`.
    fn resolve_text(&mut self, file: &Path, pos: Pos, text: String) -> Option<String> {
        if let Some(literal) = text.strip_prefix("@@") {
            return Some(format!("@{literal}"));
        }
        let Some(reference) = text.strip_prefix('@') else {
            return Some(text);
        };
        let relative = Path::new(reference);
        let target = file.parent().unwrap_or(Path::new(".")).join(relative);
        let outside = relative.is_absolute() || escapes(&self.boundary, &target);
        if outside && !self.options.allow_outside_refs {
            // A symlink is the one way a plain-looking name leads outside; say so.
            let symlink = fs::symlink_metadata(&target).is_ok_and(|m| m.is_symlink());
            self.error(
                file,
                pos,
                format!(
                    "`@{reference}` points outside the declarations directory{}",
                    if symlink { " (it is a symlink)" } else { "" }
                ),
            )
            .set_hint(
                "keep manifests next to the YAML that names them, or pass --allow-outside-refs",
            );
            return None;
        }
        let loaded = self
            .manifests
            .entry(target.clone())
            .or_insert_with(|| read_text(&target).map_err(|(_, message, _)| message))
            .clone();
        match loaded {
            Ok(content) => Some(content),
            Err(message) => {
                self.error(
                    file,
                    pos,
                    format!("cannot read `@{reference}` ({}): {message}", target.display()),
                )
                .set_hint(
                    "the path is relative to the folder of this YAML file; write `@@text` for a literal `@`",
                );
                None
            }
        }
    }

    /// Takes `key` from the fields of `node`, or reports it missing. A misspelling of `key`
    /// among the fields is left to its "unknown field" error, which suggests `key`.
    fn require<'n>(
        &mut self,
        file: &Path,
        node: &Node,
        fields: &mut Fields<'n>,
        key: &str,
        shape: &Shape,
    ) -> Option<&'n Node> {
        let value = fields.take(key);
        if value.is_none() && !fields.misspells(key, shape.fields) {
            self.error(
                file,
                node.pos,
                format!("missing field `{key}` in {}", shape.name),
            )
            .set_hint(shape.hint);
        }
        value
    }

    fn fields<'n>(&mut self, file: &Path, node: &'n Node, shape: &Shape) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.error(
                file,
                node.pos,
                format!(
                    "{} must be a mapping, found {}",
                    shape.noun,
                    node.value.kind()
                ),
            )
            .set_hint(shape.hint);
            return None;
        };
        let mut fields = Fields {
            entries: Vec::with_capacity(entries.len()),
        };
        for (key, value) in entries {
            let Value::Str(name) = &key.value else {
                self.error(
                    file,
                    key.pos,
                    format!("a field name must be a string, found {}", key.value.kind()),
                );
                continue;
            };
            if let Some((_, first, _)) = fields.entries.iter().find(|(n, _, _)| n == name) {
                let message = format!(
                    "duplicate field `{name}`: it is already set at line {}",
                    first.line
                );
                self.error(file, key.pos, message)
                    .set_hint("a field may appear only once in a mapping; delete one of the two");
                continue;
            }
            fields.entries.push((name.as_str(), key.pos, Some(value)));
        }
        Some(fields)
    }

    fn string(&mut self, file: &Path, key: &str, node: &Node) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            other => {
                let hint = match other {
                    Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                        Some(format!("quote the value: {key}: \"...\""))
                    }
                    _ => string_hint(key).map(String::from),
                };
                self.error(
                    file,
                    node.pos,
                    format!("`{key}` must be a string, found {}", other.kind()),
                )
                .hint = hint;
                None
            }
        }
    }

    fn list<'n>(
        &mut self,
        file: &Path,
        key: &str,
        node: &'n Node,
        item: &Shape,
    ) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            other => {
                self.error(
                    file,
                    node.pos,
                    format!("`{key}` must be a list, found {}", other.kind()),
                )
                .set_hint(item.hint);
                None
            }
        }
    }

    /// Reports the fields nobody took.
    fn unknown_fields(&mut self, file: &Path, fields: Fields<'_>, shape: &Shape) {
        for (name, pos, _) in fields
            .entries
            .into_iter()
            .filter(|(_, _, value)| value.is_some())
        {
            let hint = suggest(name, shape.fields.iter().copied()).unwrap_or_else(|| {
                format!("{} fields are: {}", shape.name, shape.fields.join(", "))
            });
            self.error(
                file,
                pos,
                format!("unknown field `{name}` in {}", shape.name),
            )
            .hint = Some(hint);
        }
    }

    /// Checks that span documents and files: unique names, and every base image declared.
    fn cross_check(mut self, named: Vec<Named>) -> Result<Declarations, Diagnostics> {
        let mut first: BTreeMap<&Address, &Location> = BTreeMap::new();
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
        let bases: Vec<&str> = first
            .keys()
            .filter(|a| a.kind == Kind::BaseImage)
            .map(|a| a.name.as_str())
            .collect();
        for item in &named {
            let Some((base, at)) = &item.base else {
                continue;
            };
            if first.contains_key(&Address::new(Kind::BaseImage, base))
                || self.options.known_bases.contains(base)
            {
                continue;
            }
            let hint = suggest(base, bases.iter().copied())
                .unwrap_or_else(|| format!("declare a BaseImage named `{base}` in this directory"));
            let message = format!(
                "Image `{}` names base image `{base}`, which is not declared",
                item.address.name
            );
            self.diagnostics
                .push(Diagnostic::new(at.clone(), message).with_hint(hint));
        }
        if !self.diagnostics.is_empty() {
            self.diagnostics.sort();
            self.diagnostics.dedup();
            return Err(Diagnostics(self.diagnostics));
        }
        let resources = named
            .into_iter()
            .filter_map(|item| {
                let declared = Declared {
                    resource: item.resource?,
                    origin: item.origin,
                };
                Some((item.address, declared))
            })
            .collect();
        Ok(Declarations { resources })
    }
}

/// The fields of a mapping, taken one by one; what is left at the end is unknown.
struct Fields<'n> {
    entries: Vec<(&'n str, Pos, Option<&'n Node>)>,
}

impl<'n> Fields<'n> {
    fn take(&mut self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter_mut()
            .find(|(name, _, _)| *name == key)
            .and_then(|(_, _, value)| value.take())
    }

    /// Whether a field not taken yet is closer to `key` than to anything else in `allowed`.
    fn misspells(&self, key: &str, allowed: &[&str]) -> bool {
        self.entries.iter().any(|(name, _, value)| {
            value.is_some() && did_you_mean(name, allowed.iter().copied()) == Some(key)
        })
    }
}

/// A kind of mapping in the declarations: its name in messages, its fields, how to write it.
struct Shape {
    /// Names one in "... must be a mapping".
    noun: &'static str,
    /// Names one in "unknown field `x` in ...".
    name: &'static str,
    fields: &'static [&'static str],
    hint: &'static str,
}

const DOCUMENT: Shape = Shape {
    noun: "a document",
    name: "document",
    fields: &["kind"],
    hint: "start each document with `kind: BaseImage` or `kind: Image`, and separate documents with `---`",
};

const BASE_IMAGE: Shape = Shape {
    noun: "a BaseImage",
    name: "BaseImage",
    fields: &["kind", "name", "dockerUrl", "language", "tags"],
    hint: "a BaseImage needs `name`, `dockerUrl` and `language`, and may have `tags`",
};

const IMAGE: Shape = Shape {
    noun: "an Image",
    name: "Image",
    fields: &[
        "kind",
        "name",
        "baseImageName",
        "runtimeDependencies",
        "systemDependencies",
        "tags",
    ],
    hint: "an Image needs `name` and `baseImageName`, and may have `runtimeDependencies`, `systemDependencies` and `tags`",
};

const RUNTIME_DEPENDENCIES: Shape = Shape {
    noun: "`runtimeDependencies`",
    name: "runtimeDependencies",
    fields: &["manifest"],
    hint: "write `runtimeDependencies:` / `  manifest: '@requirements.txt'` (a file next to this YAML, or the text itself)",
};

const SYSTEM_DEPENDENCIES: Shape = Shape {
    noun: "`systemDependencies`",
    name: "systemDependencies",
    fields: &["packages"],
    hint: "write `systemDependencies:` / `  packages:` / `    - name: curl`",
};

const PACKAGE: Shape = Shape {
    noun: "a package",
    name: "package",
    fields: &["name", "version"],
    hint: "write packages as `- name: curl` items, each with an optional `version: \"7.88.1\"`",
};

const TAG: Shape = Shape {
    noun: "a tag",
    name: "tag",
    fields: &["key", "value"],
    hint: "write tags as `- key: role` / `  value: docs` items",
};

fn shape(kind: Kind) -> &'static Shape {
    match kind {
        Kind::BaseImage => &BASE_IMAGE,
        Kind::Image => &IMAGE,
    }
}

const DOCKER_URL_HINT: &str =
    "write it as [registry/]repository[:tag][@sha256:digest], e.g. 127.0.0.1:5000/base/python3:1";

/// How to write a string field whose name alone does not make that clear.
fn string_hint(key: &str) -> Option<&'static str> {
    match key {
        "kind" => Some(DOCUMENT.hint),
        "dockerUrl" => Some(DOCKER_URL_HINT),
        "manifest" => Some(RUNTIME_DEPENDENCIES.hint),
        _ => None,
    }
}

/// Whether `target` (which may not exist) resolves to a place outside `boundary`. Symlinks
/// are followed as far as the path exists; the missing rest cannot be opened through a
/// symlink, so it is judged lexically.
fn escapes(boundary: &Path, target: &Path) -> bool {
    let components: Vec<Component> = target.components().collect();
    let existing = (0..=components.len()).rev().find_map(|n| {
        let prefix: PathBuf = components[..n].iter().collect();
        let prefix = if n == 0 { PathBuf::from(".") } else { prefix };
        fs::canonicalize(prefix)
            .ok()
            .map(|path| (path, &components[n..]))
    });
    let Some((mut resolved, rest)) = existing else {
        return true;
    };
    for component in rest {
        match component {
            Component::ParentDir => {
                resolved.pop();
            }
            Component::Normal(part) => resolved.push(part),
            _ => {}
        }
    }
    !resolved.starts_with(boundary)
}

type ReadError = (Pos, String, Option<String>);

/// Reads a UTF-8 text file of bounded size, saying where it is not UTF-8.
fn read_text(path: &Path) -> Result<String, ReadError> {
    let size = fs::metadata(path)
        .map_err(|e| (Pos::FILE, io_reason(&e), None))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err((
            Pos::FILE,
            format!(
                "file is {size} bytes, over the limit of {} MiB",
                MAX_FILE_BYTES >> 20
            ),
            Some("split large declarations into several files".into()),
        ));
    }
    let bytes = fs::read(path).map_err(|e| (Pos::FILE, io_reason(&e), None))?;
    String::from_utf8(bytes).map_err(|err| {
        let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let col = String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count()
            + 1;
        (
            Pos::new(line as u64, col as u64),
            "file is not valid UTF-8".to_string(),
            Some("save the file as UTF-8".to_string()),
        )
    })
}

/// An I/O error in words, without the "(os error 2)" noise.
fn io_reason(err: &dyn std::error::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "kind: BaseImage\nname: b\ndockerUrl: x/y:1\nlanguage: python3\n";

    /// `line:col: message` of every problem in a directory holding `files`.
    fn problems(files: &[(&str, &str)]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        match load(dir.path(), LoadOptions::default()) {
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
    fn references_are_outside_only_when_they_lead_outside() {
        let dir = tempfile::tempdir().unwrap();
        let boundary = fs::canonicalize(dir.path()).unwrap();
        assert!(!escapes(&boundary, &dir.path().join("missing/dir/x.txt")));
        assert!(!escapes(&boundary, &dir.path().join("missing/../x.txt")));
        assert!(escapes(&boundary, &dir.path().join("../x.txt")));
        assert!(escapes(&boundary, &dir.path().join("missing/../../x.txt")));
    }

    #[test]
    fn a_file_named_without_a_folder_keeps_its_boundary() {
        let loader = Loader::new(Path::new("Cargo.toml"), LoadOptions::default());
        assert_eq!(loader.boundary, fs::canonicalize(".").unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_as_far_as_the_path_exists() {
        let dir = tempfile::tempdir().unwrap();
        let boundary = fs::canonicalize(dir.path()).unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
        assert!(escapes(&boundary, &dir.path().join("etc/missing.txt")));
    }
}
