//! The flag groups several commands share; each command's own flags are beside it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgAction, Args, ValueEnum};

use dispatch::config::Overrides;
use dispatch::model::{Address, NAME_RULE, valid_name};
use dispatch::ops::Input;

use crate::views::{Github, Gitlab, Human, Json, Markdown, PlanView};

/// A resource's name on the command line, held to the rule names follow everywhere (clap
/// names the argument and the value).
pub fn name(text: &str) -> anyhow::Result<String> {
    anyhow::ensure!(valid_name(text), NAME_RULE);
    Ok(text.to_string())
}

/// Where declarations are in the work tree, and the repository they belong to.
#[derive(Debug, Args)]
pub struct Declarations {
    /// Directory (searched recursively for *.yaml and *.yml) or single file of declarations
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Allow `@path` references to files outside the declarations directory
    #[arg(long)]
    pub allow_outside_refs: bool,

    /// The git repository [default: the one the declarations are in]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<PathBuf>,
}

impl Declarations {
    /// These declarations as they are at `revision` (`None`: in the work tree).
    pub fn at(&self, path: &Path, revision: Option<String>) -> Input {
        Input {
            path: path.to_path_buf(),
            revision,
            repo: self.repo.clone(),
            allow_outside_refs: self.allow_outside_refs,
        }
    }
}

/// Declarations in the work tree, or as they are at a commit.
#[derive(Debug, Args)]
pub struct Source {
    #[command(flatten)]
    pub declarations: Declarations,

    /// Read the declarations as they are at REV (a branch, tag, HEAD~2, a sha), through git:
    /// no checkout, the work tree untouched
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
}

impl Source {
    pub fn input(&self) -> Input {
        self.declarations
            .at(&self.declarations.path, self.revision.clone())
    }
}

/// What `plan` and `apply` plan.
#[derive(Debug, Args)]
pub struct Planning {
    /// Ask the registries and the engine what really exists (false: plan against the state
    /// alone)
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set)]
    pub refresh: bool,

    /// Limit it to ADDRESS (e.g. Image/my-pandas) and what that is built on; repeatable
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<Address>,

    /// Build the images whose base was patched in place, rather than rebase them (a saved
    /// plan's rebases too)
    #[arg(long)]
    pub rebuild: bool,
}

/// Flags of a command that runs a batch of pulls and builds under the state lock.
#[derive(Debug, Args)]
pub struct Batch {
    #[command(flatten)]
    pub writing: Writing,
    #[command(flatten)]
    pub parallel: Parallel,
    #[command(flatten)]
    pub network: Network,
}

/// Flags of a command that writes the state.
#[derive(Debug, Args)]
pub struct Writing {
    /// Wait this long for another run's state lock (e.g. 30s, 5m)
    #[arg(
        long,
        env = "DISPATCH_LOCK_TIMEOUT",
        value_name = "DURATION",
        value_parser = humantime::parse_duration
    )]
    pub lock_timeout: Option<Duration>,
}

/// Flags of a command that runs many pulls and builds.
#[derive(Debug, Args)]
pub struct Parallel {
    /// How many pulls and builds run at once [default: `parallelism` in dispatch.toml, else 4]
    #[arg(
        long,
        env = "DISPATCH_PARALLELISM",
        value_name = "N",
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    pub parallelism: Option<u16>,
}

/// Flags of a command that may remove images.
#[derive(Debug, Args)]
pub struct Keep {
    /// Leave built images in the engine when their resource is deleted or replaced
    #[arg(long)]
    pub keep_images: bool,
}

/// Flags of a command that talks to registries and the engine.
#[derive(Debug, Args)]
pub struct Network {
    /// Give up on a registry or engine request after this long, retries included (e.g. 30s)
    /// [default: `timeout` in dispatch.toml, else 2m]
    #[arg(
        long,
        env = "DISPATCH_TIMEOUT",
        value_name = "DURATION",
        value_parser = humantime::parse_duration
    )]
    pub timeout: Option<Duration>,
}

/// Flags of a command that holds declarations or images to the policies.
#[derive(Debug, Args)]
pub struct Policies {
    /// A file or folder of `kind: Policy` documents to check besides any among the
    /// declarations (repeatable; adds to `policies` in dispatch.toml)
    #[arg(
        long = "policy",
        env = "DISPATCH_POLICY",
        value_name = "PATH",
        value_delimiter = ',',
        global = true
    )]
    pub paths: Vec<PathBuf>,
}

/// The settings a command's flags give, for the config to put above dispatch.toml.
#[derive(Debug, Default, Clone, Copy)]
pub struct Given<'a> {
    pub writing: Option<&'a Writing>,
    pub parallel: Option<&'a Parallel>,
    pub network: Option<&'a Network>,
    pub policies: Option<&'a Policies>,
}

impl<'a> Given<'a> {
    pub fn batch(batch: &'a Batch) -> Self {
        Given {
            writing: Some(&batch.writing),
            parallel: Some(&batch.parallel),
            network: Some(&batch.network),
            policies: None,
        }
    }

    pub fn overrides(&self, state: Option<PathBuf>) -> Overrides {
        Overrides {
            state,
            parallelism: self.parallel.and_then(|p| p.parallelism).map(usize::from),
            lock_timeout: self.writing.and_then(|w| w.lock_timeout),
            timeout: self.network.and_then(|n| n.timeout),
            policies: (self.policies.iter())
                .flat_map(|p| p.paths.iter().cloned())
                .collect(),
        }
    }
}

/// An output format: the values of one command's `-o`.
pub trait Format: ValueEnum + Clone + Copy + std::fmt::Debug + Send + Sync + 'static {
    /// What `--json` stands for.
    const JSON: Self;
    /// The value `-o` takes when not given. A name, not a value: clap's `default_value_t`
    /// keeps the default of a generic argument in one static for every instance.
    const DEFAULT: &'static str;
}

/// `-o FORMAT`, and `--json` for `-o json`, in any command that prints a result.
#[derive(Debug, Args)]
pub struct Output<F: Format> {
    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value = F::DEFAULT)]
    pub output: F,

    /// The same as `-o json`
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
}

impl<F: Format> Output<F> {
    pub fn format(&self) -> F {
        if self.json { F::JSON } else { self.output }
    }
}

/// How a plan is printed: for people, for programs, or for a CI system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// The plan, terraform style
    Text,
    /// The versioned JSON document (README.md, "JSON plan format")
    Json,
    /// GitHub Actions: the text, annotations, and a summary in $GITHUB_STEP_SUMMARY
    Github,
    /// A Markdown summary for a pull request comment
    Markdown,
    /// GitLab: a code quality report of the problems on stdout, the text on stderr
    Gitlab,
}

impl Format for PlanFormat {
    const JSON: Self = PlanFormat::Json;
    const DEFAULT: &'static str = "text";
}

/// How `plan`, `diff` and `show` print a plan.
#[derive(Debug, Args)]
pub struct PlanOutput {
    #[command(flatten)]
    output: Output<PlanFormat>,

    /// One line per change
    #[arg(long, conflicts_with_all = ["json"])]
    compact: bool,
}

impl PlanOutput {
    pub fn format(&self) -> PlanFormat {
        self.output.format()
    }

    /// The view `-o` chose.
    pub fn view(&self) -> Box<dyn PlanView> {
        let human = Human {
            compact: self.compact,
        };
        match self.format() {
            PlanFormat::Text => Box::new(human),
            PlanFormat::Json => Box::new(Json::default()),
            PlanFormat::Github => Box::new(Github { human }),
            PlanFormat::Markdown => Box::new(Markdown),
            PlanFormat::Gitlab => Box::new(Gitlab { human }),
        }
    }
}
