//! The command line: flags and help text only; the work is in the library.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

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
    /// Inspect or edit the state
    #[command(subcommand)]
    State(StateCommand),
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
