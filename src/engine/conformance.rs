//! The behaviour every [`Engine`] must have, as one suite that the fake's unit test and the
//! Docker engine's integration test both run, so that what the fast tests assume of an engine
//! is what dockerd does: inspect, pull, build with both builders (tags, labels, steps, failures
//! that name their step), push (the digest the registry then gives), remove, and reading files.
//! Everything it makes is named apart (`dispatch-conformance/<random>-...`) and removed at the end.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::{BuildRequest, Engine, EngineError, OnProgress};
use crate::conformance::Verdict;
use crate::model::image::{BuildFailure, Builder, Limits, Progress, Step};
use crate::model::reference::ImageRef;
use crate::registry::Registry;

/// An engine under test, and what the suite needs to know of the world around it.
pub trait Subject {
    type Engine: Engine;
    type Registry: Registry;

    fn engine(&self) -> &Self::Engine;

    /// The registries the engine pulls from and pushes to, asked as dispatch asks them.
    fn registry(&self) -> &Self::Registry;

    /// A tag of an image with a shell (`/bin/sh`), in a registry (`host:port/path:tag`) the
    /// engine may pull from and push to.
    fn base(&self) -> ImageRef;
}

/// Both builders: what one does, the other must.
const BUILDERS: [Builder; 2] = [Builder::BuildKit, Builder::Classic];

/// Runs every check against `subject`; panics naming those that failed, and why.
pub async fn run<S: Subject>(subject: &S) {
    let scratch = &Scratch::new(subject);
    let mut verdict = Verdict::new("engine");
    verdict
        .check_async(
            "inspect of a name or id the engine lacks is None",
            absent(subject, scratch),
        )
        .await;
    verdict
        .check_async(
            "a pull returns the image, which inspects by tag, id and digest",
            pull(subject),
        )
        .await;
    verdict
        .check_async(
            "a pull of a missing reference fails naming it",
            pull_missing(subject, scratch),
        )
        .await;
    verdict
        .check_async(
            "a build is tagged, labelled as asked and reports its steps",
            build(subject, scratch),
        )
        .await;
    verdict
        .check_async(
            "a build that fails names the failed step, and tags nothing",
            build_failed(subject, scratch),
        )
        .await;
    verdict
        .check_async(
            "files reads the files under a path, named relative to it",
            files(subject, scratch),
        )
        .await;
    verdict
        .check_async(
            "select keeps what keep accepts, within the limits, past a missing root",
            select(subject, scratch),
        )
        .await;
    verdict
        .check_async(
            "a push returns the digest the registry then gives, and pulls back the same",
            push(subject, scratch),
        )
        .await;
    verdict
        .check_async(
            "a push of a name the engine lacks fails naming it",
            push_missing(subject, scratch),
        )
        .await;
    verdict
        .check_async(
            "remove untags only the name given, and what is gone is fine",
            remove(subject, scratch),
        )
        .await;
    verdict
        .check_async(
            "everything the suite tagged is removed",
            scratch.clean(subject.engine()),
        )
        .await;
    verdict.finish();
}

/// The names this run of the suite uses, and the tags it made, to remove at the end.
struct Scratch {
    /// Unique to this run: the engine and registry may be shared with other runs.
    id: String,
    /// The registry of the base, which the suite pushes to.
    registry: String,
    made: Mutex<Vec<String>>,
}

impl Scratch {
    fn new<S: Subject>(subject: &S) -> Self {
        let base = subject.base();
        Scratch {
            id: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
            registry: base.domain.expect("the base names its registry"),
            made: Mutex::new(Vec::new()),
        }
    }

    /// A local name, `dispatch-conformance/<id>-<what>:1`.
    fn local(&self, what: &str) -> String {
        format!("dispatch-conformance/{}-{what}:1", self.id)
    }

    /// A name in the base's registry.
    fn remote(&self, what: &str) -> ImageRef {
        parse(&format!(
            "{}/dispatch-conformance/{}-{what}:1",
            self.registry, self.id
        ))
    }

    /// Builds `files` (a `Dockerfile` among them) as `tag` with `builder`.
    async fn build<E: Engine>(
        &self,
        engine: &E,
        tag: &str,
        builder: Builder,
        files: &[(&str, &[u8])],
    ) -> Result<String, BuildFailure> {
        let args = HashMap::new();
        self.run(engine, request(tag, builder, files, &args), &|_| {})
            .await
    }

    /// Runs `request`, reporting progress to `progress`; its tag is removed at the end.
    async fn run<E: Engine>(
        &self,
        engine: &E,
        request: BuildRequest<'_>,
        progress: OnProgress<'_>,
    ) -> Result<String, BuildFailure> {
        self.made.lock().unwrap().push(request.tag.to_string());
        engine.build(request, progress).await
    }

    async fn clean<E: Engine>(&self, engine: &E) {
        let made = std::mem::take(&mut *self.made.lock().unwrap());
        for tag in made {
            engine.remove(&tag).await.unwrap();
            assert_eq!(engine.inspect(&tag).await.unwrap(), None, "{tag} is gone");
        }
    }
}

fn parse(text: &str) -> ImageRef {
    ImageRef::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A request to build `files` (a `Dockerfile` among them) as `tag`, with `args` and no labels.
fn request<'a>(
    tag: &'a str,
    builder: Builder,
    files: &[(&str, &[u8])],
    args: &'a HashMap<String, String>,
) -> BuildRequest<'a> {
    BuildRequest {
        context: context(files),
        tag,
        build_args: args,
        network: None,
        builder,
        base: None,
        labels: BTreeMap::new(),
    }
}

/// A build context: a tar of `files`.
fn context(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, path, *content).unwrap();
    }
    tar.into_inner().unwrap()
}

/// `sha256:` and 64 lowercase hex digits.
fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// The base, pulled, as `repository@digest`: what dispatch builds `FROM`.
async fn pinned<S: Subject>(subject: &S) -> String {
    let base = subject.base();
    let pulled = subject.engine().pull(&base, &|_| {}).await.unwrap();
    let digest = pulled
        .digest_in(&base)
        .expect("a pulled image has a digest");
    format!("{}@{digest}", base.repository())
}

async fn absent<S: Subject>(subject: &S, scratch: &Scratch) {
    let engine = subject.engine();
    assert_eq!(engine.inspect(&scratch.local("absent")).await, Ok(None));
    let id = format!("sha256:{}", "0".repeat(64));
    assert_eq!(engine.inspect(&id).await, Ok(None));
}

async fn pull<S: Subject>(subject: &S) {
    let (engine, base) = (subject.engine(), subject.base());
    let pulled = engine.pull(&base, &|_| {}).await.unwrap();
    assert!(is_digest(&pulled.id), "the id {}", pulled.id);
    let digest = subject.registry().digest(&base).await.unwrap();
    assert_eq!(
        pulled.digest_in(&base).as_deref(),
        Some(digest.as_str()),
        "the digest the registry gives for {base}, in {:?}",
        pulled.repo_digests
    );
    let created = pulled.created.as_deref().expect("when the image was made");
    assert!(
        humantime::parse_rfc3339(created).is_ok(),
        "created {created} is RFC 3339"
    );
    let pinned = format!("{}@{digest}", base.repository());
    for name in [base.as_str(), &pulled.id, &pinned] {
        let found = engine.inspect(name).await.unwrap();
        assert_eq!(
            found.map(|i| i.id),
            Some(pulled.id.clone()),
            "inspect {name}"
        );
    }
    let again = engine.pull(&parse(&pinned), &|_| {}).await.unwrap();
    assert_eq!(again.id, pulled.id, "pulled again by digest");
}

async fn pull_missing<S: Subject>(subject: &S, scratch: &Scratch) {
    let missing = scratch.remote("missing");
    match subject.engine().pull(&missing, &|_| {}).await {
        Err(EngineError::Pull { reference, .. }) => assert_eq!(reference, missing.as_str()),
        other => panic!("{missing}: expected a Pull error, got {other:?}"),
    }
    let held = subject.engine().inspect(missing.as_str()).await.unwrap();
    assert_eq!(held, None, "{missing} is not held after the failed pull");
}

async fn build<S: Subject>(subject: &S, scratch: &Scratch) {
    let engine = subject.engine();
    // As dispatch's templates take their base: a build argument.
    let args = HashMap::from([("BASE".to_string(), pinned(subject).await)]);
    let dockerfile = "ARG BASE\nFROM ${BASE}\nLABEL conformance.dockerfile=\"yes, quoted\"\n\
        WORKDIR /dispatch-conformance\nCOPY data ./\n";
    let files: [(&str, &[u8]); 2] = [
        ("Dockerfile", dockerfile.as_bytes()),
        ("data/a.txt", b"a\n"),
    ];
    for builder in BUILDERS {
        let tag = scratch.local(&format!("built-{builder:?}").to_lowercase());
        let steps = Mutex::new(Vec::new());
        let progress = |p| {
            if let Progress::Step(step) = p {
                steps.lock().unwrap().push(step);
            }
        };
        let request = BuildRequest {
            labels: [("conformance.request".to_string(), "yes".to_string())].into(),
            ..request(&tag, builder, &files, &args)
        };
        let id = scratch
            .run(engine, request, &progress)
            .await
            .unwrap_or_else(|e| panic!("{builder:?}: {e:?}"));
        assert!(is_digest(&id), "{builder:?}: the id {id}");
        let image = engine.inspect(&tag).await.unwrap();
        let image = image.unwrap_or_else(|| panic!("{builder:?}: {tag} is not held"));
        assert_eq!(image.id, id, "{builder:?}: {tag} is the image built");
        for (label, value) in [
            ("conformance.dockerfile", "yes, quoted"),
            ("conformance.request", "yes"),
        ] {
            assert_eq!(
                image.labels.get(label).map(String::as_str),
                Some(value),
                "{builder:?}: label {label} of {:?}",
                image.labels
            );
        }
        assert_eq!(
            engine.files(&tag, "/dispatch-conformance/a.txt").await,
            Ok(vec![("a.txt".to_string(), b"a\n".to_vec())]),
            "{builder:?}: copied into the WORKDIR"
        );
        // Each step once, numbered out of the same count (the builders count differently).
        let steps = steps.into_inner().unwrap();
        let of = steps.first().map_or(0, |s| s.of);
        let mut numbers: Vec<u32> = steps.iter().map(|s| s.number).collect();
        numbers.sort();
        assert!(
            numbers == (1..=of).collect::<Vec<_>>() && steps.iter().all(|s| s.of == of),
            "{builder:?}: steps 1 to {of}: {steps:?}"
        );
        assert!(
            (steps.iter()).any(|s| s.text == "COPY data ./"),
            "{builder:?}: the COPY step: {steps:?}"
        );
    }
}

async fn build_failed<S: Subject>(subject: &S, scratch: &Scratch) {
    let from = format!("FROM {}\n", pinned(subject).await);
    for builder in BUILDERS {
        for (step, message) in [
            (
                "RUN exit 3",
                Some("the step's command returned a non-zero code: 3"),
            ),
            ("COPY absent /absent", None),
        ] {
            let tag = scratch.local("failed");
            let dockerfile = format!("{from}{step}\n");
            let failure = scratch
                .build(
                    subject.engine(),
                    &tag,
                    builder,
                    &[("Dockerfile", dockerfile.as_bytes())],
                )
                .await
                .expect_err(&format!("{builder:?}: {step} must fail"));
            let want = Step {
                number: 2,
                of: 2,
                text: step.into(),
            };
            assert_eq!(failure.step, Some(want), "{builder:?}: {failure:?}");
            if let Some(message) = message {
                assert_eq!(failure.message, message, "{builder:?}: {failure:?}");
            }
            let held = subject.engine().inspect(&tag).await.unwrap();
            assert_eq!(held, None, "{builder:?}: {step} tagged {tag}");
        }
    }
}

/// The tag and id of an image of the base with the context's `data/` (in `data`) copied to
/// `/dispatch-conformance/`.
async fn with_data<S: Subject>(
    subject: &S,
    scratch: &Scratch,
    what: &str,
    data: &[(&str, &[u8])],
) -> (String, String) {
    let tag = scratch.local(what);
    let dockerfile = format!(
        "FROM {}\nCOPY data /dispatch-conformance/\n",
        pinned(subject).await
    );
    let files: Vec<(&str, &[u8])> = [("Dockerfile", dockerfile.as_bytes())]
        .into_iter()
        .chain(data.iter().copied())
        .collect();
    let id = scratch
        .build(subject.engine(), &tag, Builder::default(), &files)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    (tag, id)
}

async fn files<S: Subject>(subject: &S, scratch: &Scratch) {
    let engine = subject.engine();
    let (tag, id) = with_data(
        subject,
        scratch,
        "files",
        &[("data/a.txt", b"a\n"), ("data/sub/b.txt", b"b\n")],
    )
    .await;
    let owned = |files: &[(&str, &[u8])]| -> Vec<(String, Vec<u8>)> {
        files
            .iter()
            .map(|(path, content)| (path.to_string(), content.to_vec()))
            .collect()
    };
    assert_eq!(
        engine.files(&tag, "/dispatch-conformance").await,
        Ok(owned(&[("a.txt", b"a\n"), ("sub/b.txt", b"b\n")])),
        "a directory, by tag"
    );
    assert_eq!(
        engine.files(&id, "/dispatch-conformance/a.txt").await,
        Ok(owned(&[("a.txt", b"a\n")])),
        "a file, by id"
    );
    let path = "/dispatch-conformance/absent";
    match engine.files(&tag, path).await {
        Err(EngineError::Files { detail }) => assert!(detail.contains(path), "{detail}"),
        other => panic!("{path}: expected a Files error, got {other:?}"),
    }
}

/// What [`select`] keeps: package records, say.
fn records(path: &str) -> bool {
    path.ends_with(".rec")
}

async fn select<S: Subject>(subject: &S, scratch: &Scratch) {
    let (ten, hundred) = (b"0123456789".as_slice(), [b'x'; 100]);
    let (tag, _) = with_data(
        subject,
        scratch,
        "select",
        &[
            ("data/keep/a.rec", ten),
            ("data/keep/big.rec", &hundred),
            ("data/keep/b.txt", ten),
            ("data/other/c.rec", ten),
        ],
    )
    .await;
    let roots = [
        "/dispatch-conformance/keep",
        "/dispatch-conformance/absent",
        "/dispatch-conformance/other",
    ];
    let limits = |total| Limits { file: 50, total };
    let selected = subject
        .engine()
        .select(&tag, &roots, records, limits(1 << 20))
        .await;
    let selected: BTreeMap<String, Vec<u8>> = selected.unwrap().into_iter().collect();
    let want: BTreeMap<String, Vec<u8>> = [
        ("/dispatch-conformance/keep/a.rec".to_string(), ten.to_vec()),
        (
            "/dispatch-conformance/other/c.rec".to_string(),
            ten.to_vec(),
        ),
    ]
    .into();
    assert_eq!(
        selected, want,
        "by absolute path, too big a file passed over"
    );
    // The total counts across roots: 20 bytes kept in all.
    let over = subject
        .engine()
        .select(&tag, &roots, records, limits(15))
        .await;
    assert!(
        matches!(over, Err(EngineError::Files { .. })),
        "more than the total: {over:?}"
    );
}

async fn push<S: Subject>(subject: &S, scratch: &Scratch) {
    let engine = subject.engine();
    let target = scratch.remote("pushed");
    let dockerfile = format!(
        "FROM {}\nLABEL conformance.check=push\n",
        pinned(subject).await
    );
    let id = scratch
        .build(
            engine,
            target.as_str(),
            Builder::default(),
            &[("Dockerfile", dockerfile.as_bytes())],
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let digest = engine.push(&target, &|_| {}).await.unwrap();
    assert!(is_digest(&digest), "the digest {digest}");
    let registered = subject.registry().digest(&target).await;
    assert_eq!(registered.as_ref(), Ok(&digest), "what the registry gives");
    let held = engine.inspect(target.as_str()).await.unwrap().unwrap();
    assert_eq!(
        held.digest_in(&target).as_deref(),
        Some(digest.as_str()),
        "the engine records the push: {:?}",
        held.repo_digests
    );
    let again = engine.push(&target, &|_| {}).await.unwrap();
    assert_eq!(again, digest, "pushed again");
    engine.remove(target.as_str()).await.unwrap();
    let pulled = engine.pull(&target, &|_| {}).await.unwrap();
    assert_eq!(pulled.id, id, "pulled back");
    assert_eq!(pulled.digest_in(&target), Some(digest));
}

async fn push_missing<S: Subject>(subject: &S, scratch: &Scratch) {
    let never = scratch.remote("never-built");
    match subject.engine().push(&never, &|_| {}).await {
        Err(EngineError::Push { reference, .. }) => assert_eq!(reference, never.as_str()),
        other => panic!("{never}: expected a Push error, got {other:?}"),
    }
}

async fn remove<S: Subject>(subject: &S, scratch: &Scratch) {
    let engine = subject.engine();
    let dockerfile = format!(
        "FROM {}\nLABEL conformance.check=remove\n",
        pinned(subject).await
    );
    let files: [(&str, &[u8]); 1] = [("Dockerfile", dockerfile.as_bytes())];
    let (first, second) = (scratch.local("remove-1"), scratch.local("remove-2"));
    for tag in [&first, &second] {
        let built = scratch.build(engine, tag, Builder::default(), &files).await;
        built.unwrap_or_else(|e| panic!("{tag}: {e:?}"));
    }
    engine.remove(&first).await.unwrap();
    assert_eq!(engine.inspect(&first).await, Ok(None), "{first} is gone");
    let kept = engine.inspect(&second).await.unwrap();
    assert!(kept.is_some(), "{second}, the same image, is still there");
    engine.remove(&first).await.expect("removed again");
    let never = scratch.local("never-held");
    engine.remove(&never).await.expect("never held");
}
