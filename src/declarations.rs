//! Loads a directory (or one file) of declarations, validates it, and resolves `@file`
//! references, reporting every problem with its `file:line:col`.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::diag::{Diagnostic, Diagnostics, Location, Pos, did_you_mean};
use crate::model::{
    Address, BaseImageSpec, ImageSpec, Kind, NAME_RULE, Package, Resource, RuntimeDependencies,
    Spec, SystemDependencies, Tag, valid_name,
};
use crate::reference::ImageRef;
use crate::yaml::{self, Node, Value};

/// Declarations files and `@file` manifests larger than this are refused unread.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Options that change what counts as valid.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Let `@path` name files outside the declarations directory (absolute or via `..`).
    pub allow_outside_refs: bool,
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
    let mut declared = Vec::new();
    for file in files {
        loader.load_file(&file, &mut declared);
    }
    loader.cross_check(declared)
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
            root.parent().unwrap_or(Path::new("."))
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

    fn load_file(&mut self, file: &Path, out: &mut Vec<Declared>) {
        let text = match read_text(file) {
            Ok(text) => text,
            Err((pos, message, hint)) => {
                let d = self.error(file, pos, message);
                if let Some(hint) = hint {
                    d.hint = Some(hint);
                }
                return;
            }
        };
        let documents = match yaml::parse_stream(&text) {
            Ok(documents) => documents,
            Err(err) => {
                self.error(file, err.pos, format!("invalid YAML: {}", err.message));
                return;
            }
        };
        for document in documents {
            if let Some(resource) = self.resource(file, &document) {
                out.push(Declared {
                    resource,
                    origin: Location {
                        file: file.to_path_buf(),
                        pos: document.pos,
                    },
                });
            }
        }
    }

    /// Converts one document to a resource, recording every problem in it.
    fn resource(&mut self, file: &Path, doc: &Node) -> Option<Resource> {
        let mut fields = self.fields(file, doc, "a document")?;
        let kind = match fields.take("kind") {
            None => {
                self.error(file, doc.pos, "missing field `kind`")
                    .set_hint("start each document with `kind: BaseImage` or `kind: Image`");
                return None;
            }
            Some(node) => {
                let text = self.string(file, "kind", node)?;
                match Kind::ALL.into_iter().find(|k| k.as_str() == text) {
                    Some(kind) => kind,
                    None => {
                        let hint = match did_you_mean(&text, Kind::ALL.map(Kind::as_str)) {
                            Some(close) => format!("did you mean `{close}`?"),
                            None => "dispatch knows `BaseImage` and `Image`".to_string(),
                        };
                        self.error(file, node.pos, format!("unknown kind `{text}`"))
                            .hint = Some(hint);
                        return None;
                    }
                }
            }
        };
        let name = self
            .required(file, doc, &mut fields, "name", kind)
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
        let spec = match kind {
            Kind::BaseImage => self.base_image(file, doc, &mut fields).map(Spec::BaseImage),
            Kind::Image => self.image(file, doc, &mut fields).map(Spec::Image),
        };
        self.unknown_fields(file, fields, kind);
        Some(Resource {
            name: name?,
            spec: spec?,
        })
    }

    fn base_image(
        &mut self,
        file: &Path,
        doc: &Node,
        fields: &mut Fields<'_>,
    ) -> Option<BaseImageSpec> {
        let docker_url = self.required(file, doc, fields, "dockerUrl", Kind::BaseImage).and_then(|node| {
            let text = self.string(file, "dockerUrl", node)?;
            ImageRef::parse(&text)
                .map_err(|reason| {
                    self.error(file, node.pos, format!("invalid image reference {text:?}: {reason}")).hint =
                        Some("write it as [registry/]repository[:tag][@sha256:digest], e.g. 127.0.0.1:5000/base/python3:1".into());
                })
                .ok()
        });
        let language = self
            .required(file, doc, fields, "language", Kind::BaseImage)
            .and_then(|node| {
                let text = self.string(file, "language", node)?;
                text.parse()
                    .map_err(|message: String| self.error(file, node.pos, message))
                    .ok()
            });
        let tags = self.tags(file, fields);
        Some(BaseImageSpec {
            docker_url: docker_url?,
            language: language?,
            tags: tags?,
        })
    }

    fn image(&mut self, file: &Path, doc: &Node, fields: &mut Fields<'_>) -> Option<ImageSpec> {
        let base_image_name = self
            .required(file, doc, fields, "baseImageName", Kind::Image)
            .and_then(|node| self.string(file, "baseImageName", node));
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
        let mut fields = self.fields(file, node, "`runtimeDependencies`")?;
        let manifest = match fields.take("manifest") {
            None => {
                self.error(file, node.pos, "missing field `manifest` in `runtimeDependencies`").set_hint("set `manifest: '@requirements.txt'` (a file next to this YAML) or the text itself");
                None
            }
            Some(value) => self
                .string(file, "manifest", value)
                .and_then(|text| self.resolve_text(file, value.pos, text)),
        };
        self.unknown_in(file, fields, "runtimeDependencies", &["manifest"]);
        Some(RuntimeDependencies {
            manifest: manifest?,
        })
    }

    fn system_dependencies(&mut self, file: &Path, node: &Node) -> Option<SystemDependencies> {
        let mut fields = self.fields(file, node, "`systemDependencies`")?;
        let packages = match fields.take("packages") {
            None => Some(Vec::new()),
            Some(list) => self.list(file, "packages", list).and_then(|items| {
                let packages: Vec<_> = items.iter().map(|item| self.package(file, item)).collect();
                packages.into_iter().collect::<Option<Vec<_>>>()
            }),
        };
        self.unknown_in(file, fields, "systemDependencies", &["packages"]);
        Some(SystemDependencies {
            packages: packages?,
        })
    }

    fn package(&mut self, file: &Path, node: &Node) -> Option<Package> {
        let mut fields = self.fields(file, node, "a package")?;
        let name = match fields.take("name") {
            None => {
                self.error(file, node.pos, "missing field `name` in package").set_hint("write `- name: curl`");
                None
            }
            Some(value) => self.string(file, "name", value).and_then(|name| {
                self.checked(file, value.pos, name, "package name", valid_package_name, "a package name is letters, digits and `.+_:-`, starting with a letter or digit")
            }),
        };
        let version = match fields.take("version") {
            None => Some(None),
            Some(value) => self
                .string(file, "version", value)
                .and_then(|v| self.checked(file, value.pos, v, "package version", valid_package_version, "a version is letters, digits and `.+~:_-`, starting with a letter or digit"))
                .map(Some),
        };
        self.unknown_in(file, fields, "package", &["name", "version"]);
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
        let items = self.list(file, "tags", node)?;
        let tags: Vec<_> = items
            .iter()
            .map(|item| {
                let mut fields = self.fields(file, item, "a tag")?;
                let mut part = |this: &mut Self, key: &str| match fields.take(key) {
                    Some(value) => this.string(file, key, value),
                    None => {
                        this.error(file, item.pos, format!("missing field `{key}` in tag"))
                            .set_hint("write tags as `- key: role` / `  value: docs`");
                        None
                    }
                };
                let key = part(self, "key");
                let value = part(self, "value");
                self.unknown_in(file, fields, "tag", &["key", "value"]);
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
            self.error(
                file,
                pos,
                format!("`@{reference}` points outside the declarations directory"),
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
                self.error(file, pos, format!("cannot read `@{reference}` ({}): {message}", target.display())).set_hint("the path is relative to the folder of this YAML file; write `@@text` for a literal `@`");
                None
            }
        }
    }

    fn required<'n>(
        &mut self,
        file: &Path,
        doc: &Node,
        fields: &mut Fields<'n>,
        key: &str,
        kind: Kind,
    ) -> Option<&'n Node> {
        let node = fields.take(key);
        if node.is_none() {
            self.error(file, doc.pos, format!("missing field `{key}` in {kind}"))
                .set_hint(format!(
                    "a {kind} needs {}",
                    allowed_fields(kind).required.join(", ")
                ));
        }
        node
    }

    fn fields<'n>(&mut self, file: &Path, node: &'n Node, what: &str) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.error(
                file,
                node.pos,
                format!("{what} must be a mapping, found {}", node.value.kind()),
            );
            return None;
        };
        let mut fields = Fields {
            entries: Vec::with_capacity(entries.len()),
        };
        for (key, value) in entries {
            match &key.value {
                Value::Str(name) => fields.entries.push((name.as_str(), key.pos, Some(value))),
                other => {
                    self.error(
                        file,
                        key.pos,
                        format!("a field name must be a string, found {}", other.kind()),
                    );
                }
            }
        }
        Some(fields)
    }

    fn string(&mut self, file: &Path, key: &str, node: &Node) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            other => {
                let d = self.error(
                    file,
                    node.pos,
                    format!("`{key}` must be a string, found {}", other.kind()),
                );
                if matches!(other, Value::Int(_) | Value::Float(_) | Value::Bool(_)) {
                    d.hint = Some(format!("quote the value: {key}: \"...\""));
                }
                None
            }
        }
    }

    fn list<'n>(&mut self, file: &Path, key: &str, node: &'n Node) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            other => {
                self.error(
                    file,
                    node.pos,
                    format!("`{key}` must be a list, found {}", other.kind()),
                );
                None
            }
        }
    }

    fn unknown_fields(&mut self, file: &Path, fields: Fields<'_>, kind: Kind) {
        let allowed = allowed_fields(kind);
        let all: Vec<&str> = ["kind"]
            .iter()
            .chain(allowed.required)
            .chain(allowed.optional)
            .copied()
            .collect();
        self.unknown_in(file, fields, kind.as_str(), &all);
    }

    fn unknown_in(&mut self, file: &Path, fields: Fields<'_>, what: &str, allowed: &[&str]) {
        for (name, pos, _) in fields
            .entries
            .into_iter()
            .filter(|(_, _, value)| value.is_some())
        {
            let hint = match did_you_mean(name, allowed.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("{what} fields are: {}", allowed.join(", ")),
            };
            self.error(file, pos, format!("unknown field `{name}` in {what}"))
                .hint = Some(hint);
        }
    }

    /// Checks that span documents and files: unique names, and every base image declared.
    fn cross_check(mut self, declared: Vec<Declared>) -> Result<Declarations, Diagnostics> {
        let mut resources: BTreeMap<Address, Declared> = BTreeMap::new();
        for item in declared {
            let address = item.resource.address();
            if let Some(first) = resources.get(&address) {
                let message = format!("duplicate {address}: already declared at {}", first.origin);
                self.diagnostics
                    .push(
                        Diagnostic::new(item.origin.clone(), message).with_hint(format!(
                            "names are unique per kind; rename one of the two {}s",
                            address.kind
                        )),
                    );
                continue;
            }
            resources.insert(address, item);
        }
        let bases: Vec<&str> = resources
            .keys()
            .filter(|a| a.kind == Kind::BaseImage)
            .map(|a| a.name.as_str())
            .collect();
        for declared in resources.values() {
            let Some(base) = declared.resource.depends_on() else {
                continue;
            };
            if !resources.contains_key(&base) {
                let hint = match did_you_mean(&base.name, bases.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!(
                        "declare a BaseImage named `{}` in this directory",
                        base.name
                    ),
                };
                let message = format!(
                    "Image `{}` names base image `{}`, which is not declared",
                    declared.resource.name, base.name
                );
                self.diagnostics
                    .push(Diagnostic::new(declared.origin.clone(), message).with_hint(hint));
            }
        }
        if self.diagnostics.is_empty() {
            Ok(Declarations { resources })
        } else {
            self.diagnostics.sort();
            self.diagnostics.dedup();
            Err(Diagnostics(self.diagnostics))
        }
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
}

struct AllowedFields {
    required: &'static [&'static str],
    optional: &'static [&'static str],
}

fn allowed_fields(kind: Kind) -> AllowedFields {
    match kind {
        Kind::BaseImage => AllowedFields {
            required: &["name", "dockerUrl", "language"],
            optional: &["tags"],
        },
        Kind::Image => AllowedFields {
            required: &["name", "baseImageName"],
            optional: &["runtimeDependencies", "systemDependencies", "tags"],
        },
    }
}

/// Debian, Alpine and RPM package names; nothing a shell would interpret.
fn valid_package_name(name: &str) -> bool {
    name.len() <= 128
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+_:-".contains(c))
}

fn valid_package_version(version: &str) -> bool {
    version.len() <= 128
        && version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+~:_-".contains(c))
}

/// Whether `target` (which may not exist) resolves to a place outside `boundary`.
fn escapes(boundary: &Path, target: &Path) -> bool {
    let resolved = match fs::canonicalize(target) {
        Ok(path) => path,
        // A missing file: judge the path lexically, so `../x` is still reported as outside.
        Err(_) => {
            let mut path =
                fs::canonicalize(target.parent().unwrap_or(Path::new("."))).unwrap_or_default();
            for component in target
                .file_name()
                .map(Path::new)
                .into_iter()
                .flat_map(Path::components)
            {
                if let Component::Normal(part) = component {
                    path.push(part);
                }
            }
            path
        }
    };
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
                "file is {} bytes; the limit is {MAX_FILE_BYTES} bytes (8 MiB)",
                size
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
