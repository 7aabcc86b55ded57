//! The command line: flags and help text only; the work is in the library.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::PossibleValuesParser;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use dispatch::config::Overrides;
use dispatch::model::{Address, Language};
use dispatch::ops::Input;

#[derive(Debug, Parser)]
#[command(
    name = "dispatch",
    version,
    about = "Declarative reconciler for container images",
    max_term_width = 100,
    after_help = "Examples:
  dispatch validate images/                 check the declarations
  dispatch plan --detailed-exitcode         what apply would do (exit 2 on changes)
  dispatch apply --auto-approve             pull and build it
  dispatch -C deploy get images -o json     the images, from another folder's state"
)]
pub struct Cli {
    /// Run as if started in DIR: dispatch.toml and the default state are found there
    #[arg(
        short = 'C',
        long = "chdir",
        global = true,
        env = "DISPATCH_CHDIR",
        value_name = "DIR"
    )]
    pub chdir: Option<PathBuf>,

    /// State file [default: `state` in dispatch.toml, else .dispatch/state.json]
    #[arg(long, global = true, env = "DISPATCH_STATE", value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// A file or folder of `kind: Policy` documents to check besides any among the
    /// declarations (repeatable; adds to `policies` in dispatch.toml)
    #[arg(
        long = "policy",
        global = true,
        env = "DISPATCH_POLICY",
        value_name = "PATH",
        value_delimiter = ','
    )]
    pub policies: Vec<PathBuf>,

    /// Never colour the output (NO_COLOR=1 does the same)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Print only the result, no progress (also after the command: `apply -q`)
    #[arg(short, long)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The settings the command line gives, for the config to put above dispatch.toml.
    pub fn overrides(&self) -> Overrides {
        let (writing, parallel, network) = self.command.flags();
        Overrides {
            state: self.state.clone(),
            parallelism: parallel.and_then(|p| p.parallelism).map(usize::from),
            lock_timeout: writing.and_then(|w| w.lock_timeout),
            timeout: network.and_then(|n| n.timeout),
            policies: self.policies.clone(),
        }
    }

    /// Whether progress is off, by the flag before or after the command.
    pub fn quiet(&self) -> bool {
        self.quiet || self.command.flags().0.is_some_and(|w| w.quiet)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a directory of declarations and report every problem
    #[command(after_help = "Examples:
  dispatch validate                      every *.yaml under the current folder
  dispatch validate images/base.yaml     one file
  dispatch validate -o json | jq .valid  for a program")]
    Validate {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        output: VerdictOutput,
    },
    /// Show what apply would do to make the images match the declarations
    #[command(after_help = "Examples:
  dispatch plan                                   every *.yaml under the current folder
  dispatch plan --detailed-exitcode images/       exit 0: no changes, 2: changes, 1: error
  dispatch plan --out release.plan                save it for `dispatch apply release.plan`
  dispatch plan -o json | jq '.resource_changes[].change.actions'")]
    Plan(PlanArgs),
    /// Print a plan saved with `dispatch plan --out FILE`
    #[command(after_help = "Examples:
  dispatch show release.plan
  dispatch show -o json release.plan")]
    Show {
        /// The saved plan
        file: PathBuf,
        #[command(flatten)]
        output: PlanOutput,
    },
    /// Show what merging would do: the declarations at two revisions compared (no state,
    /// engine or registry)
    #[command(after_help = "Examples:
  dispatch diff                          HEAD against the work tree
  dispatch diff main...feature images/   what merging feature into main changes
  dispatch diff v1.4..v1.5 -o json       one tag against another, for a program
  dispatch diff origin/main... -o markdown > comment.md")]
    Diff(DiffArgs),
    /// Pull and build what the plan says, then record the outcome in the state
    #[command(after_help = "Examples:
  dispatch apply                        plan, ask for yes, apply
  dispatch apply --auto-approve images/ in CI, after review
  dispatch apply release.plan           exactly what `plan --out release.plan` showed")]
    Apply(ApplyArgs),
    /// Create resources (the original Dispatch commands): `create base-image`, `create image`, `create -f`
    #[command(after_help = "Examples:
  dispatch create base-image python3 127.0.0.1:5000/base/python3:1 --language python3
  dispatch create image pandas python3 --runtime-deps requirements.txt
  dispatch create -f images/")]
    Create(CreateArgs),
    /// Update resources declared in a file or directory that already exist
    #[command(after_help = "Examples:
  dispatch update -f images/pandas.yaml")]
    Update {
        /// File or directory of declarations
        #[arg(short = 'f', long = "file", value_name = "PATH")]
        file: PathBuf,
        #[command(flatten)]
        batch: Batch,
        #[command(flatten)]
        keep: Keep,
    },
    /// Delete resources, and the images dispatch built for them
    #[command(after_help = "Examples:
  dispatch delete image pandas
  dispatch delete base-image python3 --keep-images
  dispatch delete -f images/")]
    Delete(DeleteArgs),
    /// Show resources: `get base-image [NAME]`, `get image [NAME]`
    #[command(after_help = "Examples:
  dispatch get images
  dispatch get image pandas -o json | jq .reason")]
    Get(GetArgs),
    /// Show the software an image holds, or find the images that hold a package
    #[command(after_help = "Examples:
  dispatch catalog pandas                      its packages: ecosystem, name, version, base or image
  dispatch catalog pandas -o cyclonedx > sbom.json
  dispatch catalog --package 'pandas<1.0'      every image holding pandas before 1.0
  dispatch catalog --package npm:lodash@<4.17.21 -o json

Catalogs are read after every pull and build, without running the image, and kept beside the
state: these questions are answered offline. A version range is written in its ecosystem's own
syntax: PEP 440 for pypi, npm's ranges for npm, an exact version or a prefix (`2.14.*`) for maven.")]
    Catalog(CatalogArgs),
    /// Inspect, edit or move the state
    #[command(subcommand)]
    State(StateCommand),
    /// Free the state lock left by a run that died
    #[command(after_help = "Examples:
  dispatch force-unlock 0b9c8f1e-7d3a-4c55-9e0f-2a6b1c4d8e77

The lock ID is in the message of the run that was refused (\"lock ID ...\"). Only that lock
is freed: if another run holds the lock by then, nothing changes.")]
    ForceUnlock {
        /// The ID of the lock to free
        lock_id: String,
    },
    /// Print a shell's completion script
    #[command(after_help = "Examples:
  dispatch completions bash > /etc/bash_completion.d/dispatch
  dispatch completions zsh > \"${fpath[1]}/_dispatch\"
  dispatch completions fish > ~/.config/fish/completions/dispatch.fish")]
    Completions {
        /// The shell to complete for
        shell: clap_complete::Shell,
    },
    /// Print the manual page, or write one page per command into a folder
    #[command(after_help = "Examples:
  dispatch man | man -l -
  dispatch man --out-dir /usr/local/share/man/man1")]
    Man {
        /// Write dispatch.1 and a page per command (dispatch-plan.1, ...) into DIR
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

impl Command {
    /// The flag groups this command has: writing the state, parallelism, network.
    fn flags(&self) -> (Option<&Writing>, Option<&Parallel>, Option<&Network>) {
        match self {
            Command::Plan(args) => (None, None, Some(&args.network)),
            Command::Apply(ApplyArgs { batch, .. }) | Command::Update { batch, .. } => {
                batch.flags()
            }
            Command::Create(args) => match &args.what {
                Some(CreateWhat::BaseImage {
                    writing, network, ..
                })
                | Some(CreateWhat::Image {
                    writing, network, ..
                }) => (Some(writing), None, Some(network)),
                None => args.batch.flags(),
            },
            Command::Delete(args) => match &args.what {
                Some(DeleteWhat::BaseImage {
                    writing, network, ..
                })
                | Some(DeleteWhat::Image {
                    writing, network, ..
                }) => (Some(writing), None, Some(network)),
                None => args.batch.flags(),
            },
            Command::State(
                StateCommand::Rm { writing, .. }
                | StateCommand::Push { writing, .. }
                | StateCommand::Pull { writing, .. },
            ) => (Some(writing), None, None),
            _ => (None, None, None),
        }
    }
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

impl Batch {
    fn flags(&self) -> (Option<&Writing>, Option<&Parallel>, Option<&Network>) {
        (
            Some(&self.writing),
            Some(&self.parallel),
            Some(&self.network),
        )
    }
}

/// Flags of a command that writes the state.
#[derive(Debug, Args)]
pub struct Writing {
    /// Print only the result, no progress
    #[arg(short, long)]
    pub quiet: bool,

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

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Directory or file of declarations (*.yaml, *.yml), or a plan saved with `plan --out`
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Allow `@path` references to files outside the declarations directory
    #[arg(long)]
    pub allow_outside_refs: bool,

    #[command(flatten)]
    pub revision: Revision,

    /// Apply without asking for `yes`
    #[arg(long)]
    pub auto_approve: bool,

    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Progress::Text)]
    pub output: Progress,

    /// Ask the registries and the engine what really exists before planning
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set)]
    pub refresh: bool,

    /// Limit the apply to ADDRESS and what it is built on; repeatable
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<Address>,

    #[command(flatten)]
    pub batch: Batch,
    #[command(flatten)]
    pub keep: Keep,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CreateArgs {
    #[command(subcommand)]
    pub what: Option<CreateWhat>,

    /// Create everything declared in a file or directory
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub batch: Batch,
}

/// The languages a base image can be for.
fn languages() -> PossibleValuesParser {
    PossibleValuesParser::new(Language::ALL.map(Language::as_str))
}

#[derive(Debug, Subcommand)]
pub enum CreateWhat {
    /// Pull a base image: `create base-image NAME URL --language L`
    #[command(
        visible_alias = "base-images",
        after_help = "Examples:
  dispatch create base-image python3 127.0.0.1:5000/base/python3:1 --language python3 --tag team=ml"
    )]
    BaseImage {
        /// The base image's name, e.g. python3
        name: String,
        /// The image reference to pull, e.g. 127.0.0.1:5000/base/python3:1
        url: String,
        /// The language its images are written in
        #[arg(long, value_parser = languages())]
        language: String,
        /// KEY=VALUE; repeatable
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
        #[command(flatten)]
        writing: Writing,
        #[command(flatten)]
        network: Network,
    },
    /// Build an image on a base image: `create image NAME BASE [--runtime-deps FILE]`
    #[command(
        visible_alias = "images",
        after_help = "Examples:
  dispatch create image pandas python3 --runtime-deps requirements.txt --system-deps packages.yaml"
    )]
    Image {
        /// The image's name, e.g. pandas
        name: String,
        /// The base image's name
        base: String,
        /// The language manifest, e.g. requirements.txt
        #[arg(long, value_name = "FILE")]
        runtime_deps: Option<PathBuf>,
        /// A YAML list of packages (`- name: curl` / `  version: 7.61.1`)
        #[arg(long, value_name = "FILE")]
        system_deps: Option<PathBuf>,
        /// KEY=VALUE; repeatable
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
        #[command(flatten)]
        writing: Writing,
        #[command(flatten)]
        network: Network,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DeleteArgs {
    #[command(subcommand)]
    pub what: Option<DeleteWhat>,

    /// Delete everything declared in a file or directory
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub batch: Batch,
    #[command(flatten)]
    pub keep: Keep,
}

#[derive(Debug, Subcommand)]
pub enum DeleteWhat {
    /// Delete a base image from the state (a base image still used by an image cannot be deleted)
    #[command(
        visible_alias = "base-images",
        after_help = "Examples:
  dispatch delete base-image python3"
    )]
    BaseImage {
        /// The base image's name
        name: String,
        #[command(flatten)]
        writing: Writing,
        #[command(flatten)]
        keep: Keep,
        #[command(flatten)]
        network: Network,
    },
    /// Delete an image from the state and its built image from the engine
    #[command(
        visible_alias = "images",
        after_help = "Examples:
  dispatch delete image pandas --keep-images"
    )]
    Image {
        /// The image's name
        name: String,
        #[command(flatten)]
        writing: Writing,
        #[command(flatten)]
        keep: Keep,
        #[command(flatten)]
        network: Network,
    },
}

#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(subcommand)]
    pub what: GetWhat,
}

#[derive(Debug, Subcommand)]
pub enum GetWhat {
    /// List base images, or show one
    #[command(
        visible_alias = "base-images",
        after_help = "Examples:
  dispatch get base-images
  dispatch get base-image python3 -o yaml"
    )]
    BaseImage {
        /// The base image's name; all of them without it
        name: Option<String>,
        #[command(flatten)]
        format: GetFormat,
    },
    /// List images, or show one
    #[command(
        visible_alias = "images",
        after_help = "Examples:
  dispatch get images -o json | jq length
  dispatch get image pandas"
    )]
    Image {
        /// The image's name; all of them without it
        name: Option<String>,
        #[command(flatten)]
        format: GetFormat,
    },
}

#[derive(Debug, Args)]
pub struct GetFormat {
    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value_t = GetOutput::Table)]
    pub output: GetOutput,

    /// Print JSON (an object for one resource, an array for a list); the same as `-o json`
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
}

impl GetFormat {
    pub fn format(&self) -> GetOutput {
        if self.json {
            GetOutput::Json
        } else {
            self.output
        }
    }
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// The image or base image (`NAME`, or `Image/NAME` and `BaseImage/NAME` where both exist)
    #[arg(required_unless_present = "package")]
    pub name: Option<String>,

    /// List the images holding a package: NAME, NAME with a version range, or ECOSYSTEM:NAME
    #[arg(long, value_name = "QUERY", conflicts_with = "name")]
    pub package: Option<String>,

    /// Output format (cyclonedx and spdx for one image)
    #[arg(short = 'o', long = "output", value_enum, default_value_t = CatalogOutput::Table)]
    pub output: CatalogOutput,

    /// The same as `-o json`
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CatalogOutput {
    Table,
    Json,
    /// A CycloneDX 1.5 SBOM (JSON)
    Cyclonedx,
    /// An SPDX 2.3 SBOM (JSON)
    Spdx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GetOutput {
    Table,
    /// The table, the commit each was applied from and how many packages it holds
    Wide,
    Json,
    Yaml,
}

#[derive(Debug, Args)]
pub struct Source {
    /// Directory (searched recursively for *.yaml and *.yml) or single file of declarations
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Allow `@path` references to files outside the declarations directory
    #[arg(long)]
    pub allow_outside_refs: bool,

    #[command(flatten)]
    pub revision: Revision,
}

impl Source {
    pub fn input(&self) -> Input {
        self.revision.input(&self.path, self.allow_outside_refs)
    }
}

/// Declarations as they are at a commit.
#[derive(Debug, Args)]
pub struct Revision {
    /// Read the declarations as they are at REV (a branch, tag, HEAD~2, a sha), through git:
    /// no checkout, the work tree untouched
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,

    /// The git repository [default: the one the declarations are in]
    #[arg(long, value_name = "PATH", requires = "revision")]
    pub repo: Option<PathBuf>,
}

impl Revision {
    pub fn input(&self, path: &std::path::Path, allow_outside_refs: bool) -> Input {
        Input {
            path: path.to_path_buf(),
            revision: self.revision.clone(),
            repo: self.repo.clone(),
            allow_outside_refs,
        }
    }
}

/// Text for people or JSON for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct Output {
    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub output: Format,

    /// The same as `-o json`
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
}

impl Output {
    pub fn format(&self) -> Format {
        if self.json { Format::Json } else { self.output }
    }
}

/// How a plan is printed: for people, for programs, or for a CI system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Report {
    /// The plan, terraform style
    Text,
    /// The versioned JSON document (README.md, "JSON plan format")
    Json,
    /// GitHub Actions: the text, error annotations, and a summary in $GITHUB_STEP_SUMMARY
    Github,
    /// A Markdown summary for a pull request comment
    Markdown,
    /// GitLab: a code quality report of the problems on stdout, the text on stderr
    Gitlab,
}

/// How a plan is printed.
#[derive(Debug, Args)]
pub struct PlanOutput {
    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Report::Text)]
    pub output: Report,

    /// The same as `-o json`
    #[arg(long, conflicts_with = "output")]
    pub json: bool,

    /// One line per change
    #[arg(long, conflicts_with_all = ["json"])]
    pub compact: bool,
}

impl PlanOutput {
    pub fn format(&self) -> Report {
        if self.json { Report::Json } else { self.output }
    }
}

/// How `validate` says its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Verdict {
    Text,
    /// Shaped as `terraform validate -json`
    Json,
    /// GitHub Actions error annotations
    Github,
    /// A GitLab code quality report
    Gitlab,
}

#[derive(Debug, Args)]
pub struct VerdictOutput {
    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Verdict::Text)]
    pub output: Verdict,

    /// The same as `-o json`
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
}

impl VerdictOutput {
    pub fn format(&self) -> Verdict {
        if self.json {
            Verdict::Json
        } else {
            self.output
        }
    }
}

/// How `apply` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// Bars on a terminal, timestamped lines elsewhere
    Text,
    /// As text, plus an error annotation per failure and a summary in $GITHUB_STEP_SUMMARY
    Github,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: Source,

    #[command(flatten)]
    pub output: PlanOutput,

    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Save the plan to FILE (mode 0600), for `dispatch apply FILE`
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Ask the registries what the declared base images point at (false: the state alone)
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set)]
    pub refresh: bool,

    /// Limit the plan to ADDRESS (e.g. Image/my-pandas) and what it is built on; repeatable
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<Address>,

    #[command(flatten)]
    pub network: Network,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// `A..B` (A against B), `A...B` (the merge-base of A and B against B: what a pull request
    /// from B into A changes), or `A` (A against the work tree) [default: HEAD]
    pub range: Option<String>,

    /// Directory (or file) of declarations in the repository
    #[arg(default_value = ".")]
    pub path: std::path::PathBuf,

    /// The git repository [default: the one the declarations are in]
    #[arg(long, value_name = "PATH")]
    pub repo: Option<std::path::PathBuf>,

    /// Allow `@path` references to files outside the declarations directory
    #[arg(long)]
    pub allow_outside_refs: bool,

    #[command(flatten)]
    pub output: PlanOutput,

    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the resources in the state
    #[command(after_help = "Examples:
  dispatch state list
  dispatch state list -o json | jq -r '.[] | select(.status == \"ERROR\") | .name'")]
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Forget resources without touching any image
    #[command(after_help = "Examples:
  dispatch state rm Image/pandas BaseImage/python3")]
    Rm {
        /// Addresses such as BaseImage/my-python-base
        #[arg(required = true)]
        addresses: Vec<Address>,

        #[command(flatten)]
        writing: Writing,
    },
    /// Copy the local state file into the [backend] of dispatch.toml (a database)
    #[command(after_help = "Examples:
  dispatch state push                        .dispatch/state.json (or --state) to the database
  dispatch state push old/state.json --force over a state of another lineage")]
    Push {
        /// The local state file [default: --state, else `state` in dispatch.toml, else
        /// .dispatch/state.json]
        file: Option<PathBuf>,
        /// Overwrite a state of another lineage
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        writing: Writing,
    },
    /// Copy the state in the [backend] of dispatch.toml into a local file
    #[command(after_help = "Examples:
  dispatch state pull                   the database's state into .dispatch/state.json
  dispatch state pull backup.json")]
    Pull {
        /// The local state file [default: --state, else `state` in dispatch.toml, else
        /// .dispatch/state.json]
        file: Option<PathBuf>,
        /// Overwrite a state of another lineage
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        writing: Writing,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command with its full name, `dispatch state rm` say.
    fn commands(command: &clap::Command, prefix: &str) -> Vec<(String, clap::Command)> {
        let name = format!("{prefix}{}", command.get_name());
        let mut all = vec![(name.clone(), command.clone())];
        for sub in command.get_subcommands() {
            all.extend(commands(sub, &format!("{name} ")));
        }
        all
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_an_example_and_described_arguments() {
        for (name, mut command) in commands(&Cli::command(), "") {
            if command.get_name() == "help" {
                continue;
            }
            let help = command.render_long_help().to_string();
            let runnable =
                !command.has_subcommands() || command.is_args_conflicts_with_subcommands_set();
            if runnable || name == "dispatch" {
                assert!(help.contains("Examples:"), "{name} has no example:\n{help}");
            }
            for arg in command.get_arguments().filter(|a| a.is_positional()) {
                assert!(
                    arg.get_help().is_some(),
                    "{name}: argument {} has no description",
                    arg.get_id()
                );
            }
        }
    }

    /// Every `dispatch` command line in `text` (shell lines of a CI configuration).
    fn invocations(value: &serde_json::Value, found: &mut Vec<Vec<String>>) {
        match value {
            serde_json::Value::String(script) => {
                for line in script.lines() {
                    let line = line.trim();
                    let Some(words) = line.strip_prefix("dispatch ").and_then(shlex::split) else {
                        continue;
                    };
                    // Redirections are the shell's, not dispatch's.
                    let words: Vec<String> = words.into_iter().take_while(|w| w != ">").collect();
                    found.push([vec!["dispatch".to_string()], words].concat());
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| invocations(v, found)),
            serde_json::Value::Object(map) => map.values().for_each(|v| invocations(v, found)),
            _ => {}
        }
    }

    #[test]
    fn the_ci_examples_use_only_flags_that_exist() {
        for (file, text) in [
            (
                "github-workflow.yml",
                include_str!("../examples/ci/github-workflow.yml"),
            ),
            (
                "gitlab-ci.yml",
                include_str!("../examples/ci/gitlab-ci.yml"),
            ),
        ] {
            let config: serde_json::Value = serde_saphyr::from_str(text).unwrap();
            let mut found = Vec::new();
            invocations(&config, &mut found);
            let commands: Vec<&str> = found.iter().map(|words| words[1].as_str()).collect();
            for expected in ["validate", "diff", "apply"] {
                assert!(
                    commands.contains(&expected),
                    "{file} runs no `dispatch {expected}`"
                );
            }
            for words in &found {
                if let Err(e) = Cli::try_parse_from(words) {
                    panic!("{file}: `{}` does not parse:\n{e}", words.join(" "));
                }
            }
        }
    }

    #[test]
    fn language_lists_its_values() {
        let mut command = Cli::command();
        let create = command.find_subcommand_mut("create").unwrap();
        let help = create
            .find_subcommand_mut("base-image")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(
            help.contains("python3, nodejs, java, powershell")
                || help.contains("[possible values: python3, nodejs, java, powershell]"),
            "{help}"
        );
    }
}
