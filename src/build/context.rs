//! From an `Image` declaration to a reproducible Docker build context: the Dockerfile (built in,
//! overridden in `dispatch.toml`, or carried by the base image), the files it copies, the build
//! args it needs, a deterministic tar of it all and the digest that names the result.
//!
//! Reproducible means: equal [`BuildInputs`] give byte-identical tars and the same digest, so an
//! image's tag (`<destination>/<name>:<digest>`) changes exactly when something it is built from
//! changes. Build args from `dispatch.toml` (package index URLs, say) are not inputs: the caller
//! adds them with [`BuildContext::with_args`], and they never change the digest.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use crate::model::reference::ImageRef;
use crate::model::{ImageSpec, Language, Package};

/// The image label naming the directory, inside a base image, that holds its build template.
pub const TEMPLATE_LABEL: &str = "io.dispatchframework.imageTemplate";

/// Build arg: the base image, pinned by digest.
pub const ARG_BASE_IMAGE: &str = "BASE_IMAGE";
/// Build arg: the context path of the system packages file (one `name[ version]` a line).
pub const ARG_SYSTEM_PACKAGES_FILE: &str = "SYSTEM_PACKAGES_FILE";
/// Build arg: the context path of the language manifest (empty when there is none).
pub const ARG_PACKAGES_FILE: &str = "PACKAGES_FILE";

/// Where a template build finds the system packages, and the language manifest (the names the
/// original Dispatch base images default to).
pub const SYSTEM_PACKAGES_FILE: &str = "system-packages.txt";
pub const PACKAGES_FILE: &str = "packages.txt";

/// Where the built-in Dockerfiles put the manifest and install its dependencies.
pub const FUNCTION_DIR: &str = "/function";

/// Package-index settings the language tools read from the environment. Every built-in
/// Dockerfile with a manifest declares them as `ARG`s, so build args from `dispatch.toml`
/// reach the install step without being part of the image's identity.
pub const INDEX_ARGS: [&str; 7] = [
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_NO_INDEX",
    "PIP_TRUSTED_HOST",
    "NPM_CONFIG_REGISTRY",
    "MAVEN_OPTS",
];

/// Bump when the context layout or a built-in Dockerfile changes meaning, so every image's
/// digest (and so its tag) changes with it.
const FORMAT: &str = "dispatch-build-context/1";

/// Everything an image is built from. Two equal `BuildInputs` give byte-identical contexts and
/// the same digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInputs<'a> {
    /// The base image pinned by digest, `repo@sha256:...`, or an image id `sha256:...` when the
    /// base has no registry digest.
    pub base: &'a str,
    pub language: Language,
    /// `runtimeDependencies.manifest` and `systemDependencies.packages`.
    pub image: &'a ImageSpec,
    /// Where the Dockerfile comes from.
    pub template: Template,
}

/// Where the Dockerfile comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template {
    /// dispatch's own Dockerfile for the language ([`dockerfile`]).
    BuiltIn,
    /// Dockerfile text from `dispatch.toml`; it takes the build args `BASE_IMAGE`,
    /// `SYSTEM_PACKAGES_FILE` and `PACKAGES_FILE`.
    Override(String),
    /// The files of the template directory found in the base image (see
    /// [`super::recipe::carried_template`]), paths relative to it, with a `Dockerfile` that
    /// takes the same three build args.
    FromBase(Vec<(String, Vec<u8>)>),
}

/// A build context ready for the engine to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildContext {
    /// The context as a deterministic tar, `Dockerfile` at its root.
    pub tar: Vec<u8>,
    /// Hex sha256 over all inputs: base, language, every context file (the Dockerfile, the
    /// manifest, the packages) and the build args below.
    pub digest: String,
    /// The build args the Dockerfile needs (empty for the built-in Dockerfiles, which name the
    /// base literally).
    pub build_args: HashMap<String, String>,
}

impl BuildContext {
    /// The build args to build with: `extra` (from `dispatch.toml`) plus this context's own,
    /// which win, so a stray `BASE_IMAGE` in the settings cannot swap the base.
    pub fn with_args(&self, extra: &HashMap<String, String>) -> HashMap<String, String> {
        let mut args = extra.clone();
        args.extend(self.build_args.clone());
        args
    }
}

/// Builds the context for `inputs`: deterministic, and named by a digest of everything in it.
pub fn context(inputs: &BuildInputs) -> BuildContext {
    let manifest = manifest_text(inputs.image);
    let packages = packages(inputs.image);
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut build_args = HashMap::new();
    match &inputs.template {
        Template::BuiltIn => {
            files.insert(
                "Dockerfile".into(),
                dockerfile(inputs.base, inputs.language, packages, manifest).into_bytes(),
            );
            if let Some(manifest) = manifest {
                files.insert(
                    inputs.language.facts().manifest.into(),
                    manifest.as_bytes().to_vec(),
                );
            }
        }
        Template::Override(_) | Template::FromBase(_) => {
            match &inputs.template {
                Template::Override(text) => {
                    files.insert("Dockerfile".into(), text.as_bytes().to_vec());
                }
                Template::FromBase(template) => {
                    for (path, content) in template {
                        if let Some(path) = clean_path(path) {
                            files.insert(path, content.clone());
                        }
                    }
                }
                Template::BuiltIn => unreachable!(),
            }
            // Ours win over a template file of the same name.
            files.insert(
                SYSTEM_PACKAGES_FILE.into(),
                system_packages_file(packages).into_bytes(),
            );
            files.insert(
                PACKAGES_FILE.into(),
                manifest.unwrap_or_default().as_bytes().to_vec(),
            );
            build_args.insert(ARG_BASE_IMAGE.to_string(), inputs.base.to_string());
            build_args.insert(
                ARG_SYSTEM_PACKAGES_FILE.to_string(),
                SYSTEM_PACKAGES_FILE.to_string(),
            );
            build_args.insert(ARG_PACKAGES_FILE.to_string(), PACKAGES_FILE.to_string());
        }
    }
    let digest = digest(inputs, &files, &build_args);
    BuildContext {
        tar: tar(&files),
        digest,
        build_args,
    }
}

/// `<destination>/<name lowercased>:<first 32 hex of digest>`, or `dispatch/<name>:<...>` with
/// no destination. Trailing `-` of the name are dropped (a repository name cannot end in one).
///
/// Panics when the destination does not make a valid reference: check it with
/// [`check_destination`] when the settings are read.
pub fn image_reference(destination: Option<&str>, name: &str, digest: &str) -> ImageRef {
    let text = reference_text(destination, name, digest);
    ImageRef::parse(&text).unwrap_or_else(|e| {
        panic!("image reference {text:?} is invalid ({e}): check_destination was not called")
    })
}

/// Whether `reference`, an image dispatch built, lives under `destination`: pushed there, so
/// that the registry, not the engine, says whether it exists.
pub fn under_destination(destination: Option<&str>, reference: &str) -> bool {
    destination.is_some_and(|d| {
        reference
            .strip_prefix(d.trim_end_matches('/'))
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// Whether `destination` (`[registry/]path`, from `dispatch.toml`) makes valid image references.
pub fn check_destination(destination: Option<&str>) -> Result<(), String> {
    let text = reference_text(destination, "x", &"0".repeat(64));
    match ImageRef::parse(&text) {
        Ok(reference) if reference.digest.is_none() => Ok(()),
        Ok(_) => Err(format!(
            "invalid registry destination {:?}: expected [registry/]path, e.g. 127.0.0.1:5000/functions",
            destination.unwrap_or_default()
        )),
        Err(e) => Err(format!(
            "invalid registry destination {:?}: {e}; expected [registry/]path, e.g. 127.0.0.1:5000/functions",
            destination.unwrap_or_default()
        )),
    }
}

fn reference_text(destination: Option<&str>, name: &str, digest: &str) -> String {
    let destination = destination.unwrap_or("dispatch").trim_end_matches('/');
    let name = name.to_ascii_lowercase();
    let name = name.trim_end_matches('-');
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    let tag = &hex[..hex.len().min(32)];
    format!("{destination}/{name}:{tag}")
}

/// The built-in Dockerfile: `FROM` the pinned base; one `RUN` installing the system packages
/// with whichever package manager the image has (failing if none); then the manifest, copied to
/// [`FUNCTION_DIR`] and installed with the language's tool.
pub fn dockerfile(
    base: &str,
    language: Language,
    packages: &[Package],
    manifest: Option<&str>,
) -> String {
    let mut out = String::from("# Generated by dispatch.\n");
    out.push_str(&format!("FROM {base}\n"));
    if !packages.is_empty() {
        out.push_str(&system_packages_step(packages));
    }
    if manifest.is_some() {
        let facts = language.facts();
        let file = facts.manifest;
        out.push_str(&format!("ARG {}\n", INDEX_ARGS.join(" ")));
        out.push_str(&format!("COPY {file} {FUNCTION_DIR}/{file}\n"));
        out.push_str(&format!(
            "RUN set -e; cd {FUNCTION_DIR}; {}\n",
            facts.install
        ));
    }
    out
}

/// One `RUN` that installs `packages` with apt-get, apk, dnf, tdnf, yum or microdnf, whichever
/// comes first in the image, and fails naming the packages when there is none.
fn system_packages_step(packages: &[Package]) -> String {
    // apt and apk pin with `name=version`, the rpm family with `name-version`.
    let pinned = |separator: &str| {
        packages
            .iter()
            .map(|p| match &p.version {
                Some(version) => quote(&format!("{}{separator}{version}", p.name)),
                None => quote(&p.name),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let deb = pinned("=");
    let rpm = pinned("-");
    let listed = packages
        .iter()
        .map(Package::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    let missing = quote(&format!(
        "dispatch: cannot install the system packages {listed}: the base image has none of apt-get, apk, dnf, tdnf, yum, microdnf"
    ));
    let lines = [
        "RUN set -e; \\".to_string(),
        "    if command -v apt-get >/dev/null 2>&1; then \\".into(),
        "        apt-get update; \\".into(),
        format!(
            "        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {deb}; \\"
        ),
        "        rm -rf /var/lib/apt/lists/*; \\".into(),
        "    elif command -v apk >/dev/null 2>&1; then \\".into(),
        format!("        apk add --no-cache {deb}; \\"),
        "    elif command -v dnf >/dev/null 2>&1; then \\".into(),
        format!("        dnf install -y {rpm}; \\"),
        "        dnf clean all; \\".into(),
        "    elif command -v tdnf >/dev/null 2>&1; then \\".into(),
        format!("        tdnf install -y {rpm}; \\"),
        "        tdnf clean all; \\".into(),
        "    elif command -v yum >/dev/null 2>&1; then \\".into(),
        format!("        yum install -y --setopt=skip_missing_names_on_install=False {rpm}; \\"),
        "        yum clean all; \\".into(),
        "    elif command -v microdnf >/dev/null 2>&1; then \\".into(),
        format!("        microdnf install -y {rpm}; \\"),
        "        microdnf clean all; \\".into(),
        "    else \\".into(),
        format!("        echo {missing} >&2; \\"),
        "        exit 1; \\".into(),
        "    fi".into(),
    ];
    let mut step = lines.join("\n");
    step.push('\n');
    step
}

/// The system packages file of a template build: one `name[ version]` a line, the format the
/// original Dispatch wrote and its base images' templates read (they turn it into `name-version`
/// for their package manager with `sed 's/ /-/'`).
pub fn system_packages_file(packages: &[Package]) -> String {
    packages
        .iter()
        .map(|p| match &p.version {
            Some(version) => format!("{} {version}\n", p.name),
            None => format!("{}\n", p.name),
        })
        .collect()
}

/// A single-quoted shell word.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn manifest_text(image: &ImageSpec) -> Option<&str> {
    image
        .runtime_dependencies
        .as_ref()
        .map(|r| r.manifest.as_str())
        .filter(|m| !m.trim().is_empty())
}

fn packages(image: &ImageSpec) -> &[Package] {
    image
        .system_dependencies
        .as_ref()
        .map_or(&[], |s| s.packages.as_slice())
}

/// A template path as a relative `a/b` path, or `None` for one that would leave the context.
fn clean_path(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Hex sha256 over an unambiguous (length-prefixed) encoding of every input.
fn digest(
    inputs: &BuildInputs,
    files: &BTreeMap<String, Vec<u8>>,
    build_args: &HashMap<String, String>,
) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(FORMAT.as_bytes());
    field(inputs.language.as_str().as_bytes());
    field(inputs.base.as_bytes());
    field(
        match inputs.template {
            Template::BuiltIn => "built-in",
            Template::Override(_) => "override",
            Template::FromBase(_) => "from-base",
        }
        .as_bytes(),
    );
    field(&(files.len() as u64).to_le_bytes());
    for (path, content) in files {
        field(path.as_bytes());
        field(content);
    }
    let args: BTreeMap<_, _> = build_args.iter().collect();
    field(&(args.len() as u64).to_le_bytes());
    for (key, value) in args {
        field(key.as_bytes());
        field(value.as_bytes());
    }
    format!("{:x}", hasher.finalize())
}

/// A tar of `files` that depends on nothing else: entries sorted by path, mode 0644, mtime 0,
/// uid/gid 0, no user or group names.
fn tar(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        builder
            .append_data(&mut header, path, content.as_slice())
            .expect("writing a tar to memory cannot fail for a clean relative path");
    }
    builder
        .into_inner()
        .expect("writing a tar to memory cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RuntimeDependencies, SystemDependencies};

    const BASE: &str = "127.0.0.1:5000/base/python3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn spec(packages: &[(&str, Option<&str>)], manifest: Option<&str>) -> ImageSpec {
        ImageSpec {
            base_image_name: "base".into(),
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

    fn inputs<'a>(image: &'a ImageSpec, language: Language, template: Template) -> BuildInputs<'a> {
        BuildInputs {
            base: BASE,
            language,
            image,
            template,
        }
    }

    /// A tar entry: (path, mode, mtime, uid, gid, user, group, content).
    type Entry = (String, u32, u64, u64, u64, String, String, Vec<u8>);

    fn entries(tar: &[u8]) -> Vec<Entry> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut content = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut content).unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    String::from_utf8_lossy(h.username_bytes().unwrap_or_default()).into_owned(),
                    String::from_utf8_lossy(h.groupname_bytes().unwrap_or_default()).into_owned(),
                    content,
                )
            })
            .collect()
    }

    #[test]
    fn built_in_dockerfile_per_language() {
        let image = spec(
            &[("libxml2", Some("2.9.14")), ("curl", None)],
            Some("x==1\n"),
        );
        for language in Language::ALL {
            let text = dockerfile(BASE, language, packages(&image), manifest_text(&image));
            insta::assert_snapshot!(format!("dockerfile_{language}"), text);
        }
    }

    #[test]
    fn built_in_dockerfile_without_dependencies_is_just_the_base() {
        let image = spec(&[], None);
        let text = dockerfile(BASE, Language::Python3, packages(&image), None);
        assert_eq!(text, format!("# Generated by dispatch.\nFROM {BASE}\n"));
        // An empty manifest installs nothing either.
        let image = spec(&[], Some("  \n"));
        assert_eq!(manifest_text(&image), None);
    }

    #[test]
    fn built_in_dockerfile_with_only_packages_or_only_a_manifest() {
        let only_packages = spec(&[("curl", Some("7.88.1-10+deb12u5"))], None);
        insta::assert_snapshot!(
            "dockerfile_only_packages",
            dockerfile(BASE, Language::Nodejs, packages(&only_packages), None)
        );
        let only_manifest = spec(&[], Some("{}"));
        insta::assert_snapshot!(
            "dockerfile_only_manifest",
            dockerfile(
                BASE,
                Language::Nodejs,
                packages(&only_manifest),
                manifest_text(&only_manifest)
            )
        );
    }

    #[test]
    fn built_in_context_holds_the_dockerfile_and_the_manifest() {
        let image = spec(&[("curl", None)], Some("requests==2.31.0\n"));
        let ctx = context(&inputs(&image, Language::Python3, Template::BuiltIn));
        let files: Vec<_> = entries(&ctx.tar)
            .into_iter()
            .map(|e| (e.0, String::from_utf8(e.7).unwrap()))
            .collect();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].0, "Dockerfile");
        assert!(files[0].1.contains(&format!("FROM {BASE}\n")));
        assert_eq!(
            files[1],
            ("requirements.txt".into(), "requests==2.31.0\n".into())
        );
        assert!(ctx.build_args.is_empty());
        assert_eq!(ctx.digest.len(), 64);
    }

    #[test]
    fn template_contexts_add_the_two_files_and_the_three_args() {
        let image = spec(&[("curl", Some("7.88")), ("git", None)], Some("x==1\n"));
        let template = Template::FromBase(vec![
            (
                "Dockerfile".into(),
                b"ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n".to_vec(),
            ),
            ("scripts/install.sh".into(), b"echo hi\n".to_vec()),
            ("./packages.txt".into(), b"from the template\n".to_vec()),
            ("../escape".into(), b"no\n".to_vec()),
        ]);
        let ctx = context(&inputs(&image, Language::Python3, template));
        let files: Vec<_> = entries(&ctx.tar)
            .into_iter()
            .map(|e| (e.0, String::from_utf8(e.7).unwrap()))
            .collect();
        assert_eq!(
            files,
            [
                ("Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n"),
                ("packages.txt", "x==1\n"),
                ("scripts/install.sh", "echo hi\n"),
                ("system-packages.txt", "curl 7.88\ngit\n"),
            ]
            .map(|(p, c)| (p.to_string(), c.to_string()))
        );
        let args: BTreeMap<_, _> = ctx.build_args.iter().collect();
        assert_eq!(
            format!("{args:?}"),
            format!(
                r#"{{"BASE_IMAGE": "{BASE}", "PACKAGES_FILE": "packages.txt", "SYSTEM_PACKAGES_FILE": "system-packages.txt"}}"#
            )
        );

        let ctx = context(&inputs(
            &image,
            Language::Python3,
            Template::Override("FROM ${BASE_IMAGE}\n".into()),
        ));
        let paths: Vec<_> = entries(&ctx.tar).into_iter().map(|e| e.0).collect();
        assert_eq!(paths, ["Dockerfile", "packages.txt", "system-packages.txt"]);
        assert_eq!(ctx.build_args.len(), 3);
    }

    #[test]
    fn tar_is_deterministic() {
        let image = spec(&[("curl", None)], Some("x==1\n"));
        let long = format!("{}/file", "d".repeat(150));
        let template = Template::FromBase(vec![
            ("z".into(), b"last".to_vec()),
            ("Dockerfile".into(), b"FROM ${BASE_IMAGE}\n".to_vec()),
            (long.clone(), b"long path".to_vec()),
        ]);
        let a = context(&inputs(&image, Language::Python3, template.clone()));
        let b = context(&inputs(&image, Language::Python3, template));
        assert_eq!(a, b);
        let entries = entries(&a.tar);
        let paths: Vec<_> = entries.iter().map(|e| e.0.clone()).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted);
        assert!(paths.contains(&long));
        for (path, mode, mtime, uid, gid, user, group, _) in entries {
            assert_eq!(
                (mode, mtime, uid, gid, user.as_str(), group.as_str()),
                (0o644, 0, 0, 0, "", ""),
                "{path}"
            );
        }
        // Pinned bytes: a change here means every image's context (not its digest) changed.
        let built_in = context(&inputs(&image, Language::Python3, Template::BuiltIn));
        insta::assert_snapshot!(
            "built_in_tar_sha256",
            format!("{:x}", Sha256::digest(&built_in.tar))
        );
    }

    #[test]
    fn digest_changes_with_each_input() {
        let image = spec(&[("curl", Some("1"))], Some("x==1\n"));
        let start = context(&inputs(&image, Language::Python3, Template::BuiltIn)).digest;
        let mut seen = vec![start.clone()];
        let mut differs = |what: &str, digest: String| {
            assert!(!seen.contains(&digest), "{what} did not change the digest");
            seen.push(digest);
        };

        let mut other = inputs(&image, Language::Python3, Template::BuiltIn);
        other.base = "127.0.0.1:5000/base/python3@sha256:1111111111111111111111111111111111111111111111111111111111111111";
        differs("base", context(&other).digest);
        differs(
            "language",
            context(&inputs(&image, Language::Nodejs, Template::BuiltIn)).digest,
        );
        let manifest = spec(&[("curl", Some("1"))], Some("x==2\n"));
        differs(
            "manifest",
            context(&inputs(&manifest, Language::Python3, Template::BuiltIn)).digest,
        );
        let version = spec(&[("curl", Some("2"))], Some("x==1\n"));
        differs(
            "package version",
            context(&inputs(&version, Language::Python3, Template::BuiltIn)).digest,
        );
        let extra = spec(&[("curl", Some("1")), ("git", None)], Some("x==1\n"));
        differs(
            "packages",
            context(&inputs(&extra, Language::Python3, Template::BuiltIn)).digest,
        );
        let override_a = Template::Override("FROM ${BASE_IMAGE}\n".into());
        differs(
            "override template",
            context(&inputs(&image, Language::Python3, override_a)).digest,
        );
        let override_b = Template::Override("FROM ${BASE_IMAGE}\nRUN true\n".into());
        differs(
            "override text",
            context(&inputs(&image, Language::Python3, override_b)).digest,
        );
        let from_base = |content: &[u8]| {
            Template::FromBase(vec![
                ("Dockerfile".into(), b"FROM ${BASE_IMAGE}\n".to_vec()),
                ("helper.sh".into(), content.to_vec()),
            ])
        };
        differs(
            "base template",
            context(&inputs(&image, Language::Python3, from_base(b"a"))).digest,
        );
        differs(
            "base template file",
            context(&inputs(&image, Language::Python3, from_base(b"b"))).digest,
        );
        let mut template_base = inputs(&image, Language::Python3, from_base(b"b"));
        template_base.base =
            "sha256:2222222222222222222222222222222222222222222222222222222222222222";
        differs("base of a template build", context(&template_base).digest);
        // Moving bytes between fields is a different input, not the same concatenation.
        let a = Template::FromBase(vec![("ab".into(), b"c".to_vec())]);
        let b = Template::FromBase(vec![("a".into(), b"bc".to_vec())]);
        assert_ne!(
            context(&inputs(&image, Language::Python3, a)).digest,
            context(&inputs(&image, Language::Python3, b)).digest
        );

        // Not inputs: the build args from dispatch.toml.
        let ctx = context(&inputs(&image, Language::Python3, Template::BuiltIn));
        let user_args = HashMap::from([
            (
                "PIP_INDEX_URL".to_string(),
                "http://127.0.0.1:1/simple".to_string(),
            ),
            ("BASE_IMAGE".to_string(), "evil".to_string()),
        ]);
        let args = ctx.with_args(&user_args);
        assert_eq!(args["PIP_INDEX_URL"], "http://127.0.0.1:1/simple");
        assert_eq!(ctx.digest, start);
        // The context's own args win over the settings'.
        let template_ctx = context(&inputs(
            &image,
            Language::Python3,
            Template::Override("FROM ${BASE_IMAGE}\n".into()),
        ));
        assert_eq!(template_ctx.with_args(&user_args)["BASE_IMAGE"], BASE);
    }

    #[test]
    fn built_in_dockerfiles_declare_the_index_args() {
        let image = spec(&[], Some("x"));
        for language in Language::ALL {
            let text = dockerfile(BASE, language, &[], manifest_text(&image));
            for arg in INDEX_ARGS {
                assert!(text.contains(arg), "{language}: {arg}");
            }
            assert!(!text.contains("|| true"), "{language}");
        }
    }

    #[test]
    fn image_reference_is_lowercase_destination_name_and_digest() {
        let digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let r = image_reference(Some("127.0.0.1:5000/functions/"), "My-Image", digest);
        assert_eq!(
            r.as_str(),
            "127.0.0.1:5000/functions/my-image:0123456789abcdef0123456789abcdef"
        );
        assert_eq!(r.domain.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(r.tag.as_deref(), Some("0123456789abcdef0123456789abcdef"));
        let r = image_reference(None, "PANDAS", &format!("sha256:{digest}"));
        assert_eq!(
            r.as_str(),
            "dispatch/pandas:0123456789abcdef0123456789abcdef"
        );
        // A name ending in `-` is valid for dispatch, not for a repository.
        let r = image_reference(None, "a--", digest);
        assert_eq!(r.path, "dispatch/a");
    }

    #[test]
    fn images_under_the_destination_are_pushed_ones() {
        let destination = Some("127.0.0.1:5000/functions/");
        assert!(under_destination(
            destination,
            "127.0.0.1:5000/functions/a:1"
        ));
        assert!(!under_destination(
            destination,
            "127.0.0.1:5000/functions-b/a:1"
        ));
        assert!(!under_destination(destination, "dispatch/a:1"));
        assert!(!under_destination(None, "dispatch/a:1"));
    }

    #[test]
    fn destinations_are_checked() {
        assert_eq!(check_destination(None), Ok(()));
        assert_eq!(check_destination(Some("127.0.0.1:5000/functions")), Ok(()));
        assert_eq!(check_destination(Some("registry.lan/a/b/")), Ok(()));
        for bad in [
            "Registry.LAN/UPPER",
            "",
            "a b",
            "reg/x@sha256",
            "reg:99999/x",
        ] {
            let err = check_destination(Some(bad)).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn quotes_shell_words() {
        assert_eq!(quote("curl=7.88"), "'curl=7.88'");
        assert_eq!(quote("a'b"), r"'a'\''b'");
    }
}
