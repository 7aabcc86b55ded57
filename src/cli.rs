//! The command line: flags and help text only; the work is in the library.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

use dispatch::config::Overrides;
use dispatch::model::Address;

#[derive(Debug, Parser)]
#[command(
    name = "dispatch",
    version,
    about = "Declarative reconciler for container images",
    max_term_width = 100
)]
pub struct Cli {
    /// State file [default: `state` in dispatch.toml, else .dispatch/state.json]
    #[arg(long, global = true, env = "DISPATCH_STATE", value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// Never colour the output (NO_COLOR=1 does the same)
    #[arg(long, global = true)]
    pub no_color: bool,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The settings the command line gives, for the config to put above dispatch.toml.
    pub fn overrides(&self) -> Overrides {
        let run = match &self.command {
            Command::Apply(args) => Some(&args.run),
            Command::Create(args) => Some(match &args.what {
                Some(CreateWhat::BaseImage { run, .. } | CreateWhat::Image { run, .. }) => run,
                None => &args.run,
            }),
            Command::Update { run, .. } => Some(run),
            Command::Delete(args) => Some(match &args.what {
                Some(DeleteWhat::BaseImage { run, .. } | DeleteWhat::Image { run, .. }) => run,
                None => &args.run,
            }),
            _ => None,
        };
        let lock_timeout = match &self.command {
            Command::State(StateCommand::Rm { lock_timeout, .. }) => *lock_timeout,
            _ => run.and_then(|r| r.lock_timeout),
        };
        Overrides {
            state: self.state.clone(),
            parallelism: run.and_then(|r| r.parallelism).map(usize::from),
            lock_timeout,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a directory of declarations and report every problem
    Validate {
        #[command(flatten)]
        source: Source,
    },
    /// Show what apply would do to make the images match the declarations
    Plan(PlanArgs),
    /// Print a plan saved with `dispatch plan -o FILE`
    Show {
        /// The saved plan
        file: PathBuf,
        #[command(flatten)]
        output: Output,
    },
    /// Pull and build what the plan says, then record the outcome in the state
    Apply(ApplyArgs),
    /// Create resources (the original Dispatch commands): `create base-image`, `create image`, `create -f`
    Create(CreateArgs),
    /// Update resources declared in a file or directory that already exist
    Update {
        /// File or directory of declarations
        #[arg(short = 'f', long = "file", value_name = "PATH")]
        file: PathBuf,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Delete resources, and the images dispatch built for them
    Delete(DeleteArgs),
    /// Show resources: `get base-image [NAME]`, `get image [NAME]`
    Get(GetArgs),
    /// Inspect or edit the state
    #[command(subcommand)]
    State(StateCommand),
}

/// How a command that changes images runs.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// How many pulls and builds run at once [default: `parallelism` in dispatch.toml, else 4]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: Option<u16>,

    /// Print only the result, no progress
    #[arg(short, long)]
    pub quiet: bool,

    /// Leave built images in the engine when their resource is deleted or replaced
    #[arg(long)]
    pub keep_images: bool,

    /// Wait this long for another run's state lock (e.g. 30s, 5m)
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub lock_timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Directory or file of declarations, or a plan saved with `dispatch plan -o`
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Allow `@path` references to files outside the declarations directory
    #[arg(long)]
    pub allow_outside_refs: bool,

    /// Apply without asking for `yes`
    #[arg(long)]
    pub auto_approve: bool,

    /// Ask the registries and the engine what really exists before planning
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set)]
    pub refresh: bool,

    /// Limit the apply to ADDRESS and what it is built on; repeatable
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<Address>,

    #[command(flatten)]
    pub run: RunArgs,
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
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum CreateWhat {
    /// Pull a base image: `create base-image NAME URL --language L`
    BaseImage {
        name: String,
        /// The image reference to pull, e.g. 127.0.0.1:5000/base/python3:1
        url: String,
        #[arg(long)]
        language: String,
        /// KEY=VALUE; repeatable
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Build an image on a base image: `create image NAME BASE [--runtime-deps FILE]`
    Image {
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
        run: RunArgs,
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
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum DeleteWhat {
    /// Delete a base image from the state (a base image still used by an image cannot be deleted)
    BaseImage {
        name: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Delete an image from the state and its built image from the engine
    Image {
        name: String,
        #[command(flatten)]
        run: RunArgs,
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
    BaseImage {
        name: Option<String>,
        #[command(flatten)]
        format: GetFormat,
    },
    /// List images, or show one
    Image {
        name: Option<String>,
        #[command(flatten)]
        format: GetFormat,
    },
}

#[derive(Debug, Args)]
pub struct GetFormat {
    /// Print JSON (an object for one resource, an array for a list)
    #[arg(long, conflicts_with = "output")]
    pub json: bool,

    /// Output format
    #[arg(short = 'o', long = "output", value_enum)]
    pub output: Option<GetOutput>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GetOutput {
    Table,
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
}

#[derive(Debug, Args)]
pub struct Output {
    /// Print the versioned JSON format instead of text
    #[arg(long, conflicts_with = "compact")]
    pub json: bool,

    /// One line per change
    #[arg(long)]
    pub compact: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: Source,

    #[command(flatten)]
    pub output: Output,

    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Save the plan to FILE (mode 0600)
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Ask the registries what the declared base images point at (false: the state alone)
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set)]
    pub refresh: bool,

    /// Limit the plan to ADDRESS (e.g. Image/my-pandas) and what it is built on; repeatable
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<Address>,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the resources in the state
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Forget resources without touching any image
    Rm {
        /// Addresses such as BaseImage/my-python-base
        #[arg(required = true)]
        addresses: Vec<Address>,

        /// Wait this long for another run's state lock (e.g. 30s, 5m)
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        lock_timeout: Option<Duration>,
    },
}
