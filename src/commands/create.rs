//! `dispatch create base-image|image ...`, `dispatch create -f PATH`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;
use clap::builder::PossibleValuesParser;

use dispatch::model::{Kind, Language};
use dispatch::ops::change::Request;
use dispatch::ops::{self, Workspace};
use dispatch::report;

use super::flags::{Batch, Given, Network, Policies, Writing};
use crate::console;

/// Create resources (the original Dispatch commands): `create base-image`, `create image`,
/// `create seed-images`, `create -f`
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:
  dispatch create base-image python3 127.0.0.1:5000/base/python3:1 --language python3
  dispatch create image pandas python3 --runtime-deps requirements.txt
  dispatch create seed-images --registry 127.0.0.1:5000/dispatchframework
  dispatch create -f images/"
)]
pub struct Args {
    #[command(subcommand)]
    what: Option<What>,

    /// Create everything declared in a file or directory
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    file: Option<PathBuf>,

    #[command(flatten)]
    batch: Batch,
    #[command(flatten)]
    pub policies: Policies,
}

/// The languages a base image can be for.
fn languages() -> PossibleValuesParser {
    PossibleValuesParser::new(Language::ALL.map(Language::as_str))
}

#[derive(Debug, Subcommand)]
enum What {
    /// Pull a base image: `create base-image NAME URL --language L`
    #[command(
        visible_alias = "base-images",
        after_help = "Examples:
  dispatch create base-image python3 127.0.0.1:5000/base/python3:1 --language python3 --tag team=ml"
    )]
    BaseImage {
        /// The base image's name, e.g. python3
        #[arg(value_parser = super::flags::name)]
        name: String,
        /// The image reference to pull, e.g. 127.0.0.1:5000/base/python3:1
        url: String,
        /// The language its images are written in
        #[arg(long, value_parser = languages())]
        language: String,
        #[command(flatten)]
        one: One,
    },
    /// Build an image on a base image: `create image NAME BASE [--runtime-deps FILE]`
    #[command(
        visible_alias = "images",
        after_help = "Examples:
  dispatch create image pandas python3 --runtime-deps requirements.txt --system-deps packages.yaml
  dispatch create image pandas python3 -a analytics      tagged Application=analytics"
    )]
    Image {
        /// The image's name, e.g. pandas
        #[arg(value_parser = super::flags::name)]
        name: String,
        /// The base image's name
        #[arg(value_parser = super::flags::name)]
        base: String,
        /// The language manifest, e.g. requirements.txt
        #[arg(long, value_name = "FILE")]
        runtime_deps: Option<PathBuf>,
        /// A YAML list of packages (`- name: curl` / `  version: 7.61.1`), or the original's
        /// JSON (`{"packages": [{"name": "curl", "version": "7.61.1"}]}`)
        #[arg(long, value_name = "FILE")]
        system_deps: Option<PathBuf>,
        /// Tag the image Application=APP, as the original did (`--tag Application=APP`)
        #[arg(short, long, value_name = "APP")]
        application: Option<String>,
        #[command(flatten)]
        one: One,
    },
    /// Create the original's seed base images and images (python3, nodejs, java, powershell)
    #[command(
        visible_alias = "seed",
        after_help = "Examples:
  dispatch create seed-images --registry 127.0.0.1:5000/dispatchframework
  dispatch create seed-images --registry registry.lan/dispatchframework -O seed.yaml   write them, create nothing

The base images are nodejs-base, python3-base, powershell-base and java-base, pulled from the
registry; the images nodejs, python3 (with `requests`), powershell and java are built on them."
    )]
    SeedImages(Seeds),
}

/// `create seed-images`: the original's command, with the registry its seeds are pulled from.
#[derive(Debug, clap::Args)]
struct Seeds {
    /// Where the seed base images are: HOST[:PORT][/PATH] holding nodejs-base:0.0.12,
    /// python3-base:0.0.13, powershell-base:0.0.13 and java-base:0.0.13 (the original's, from
    /// Docker Hub's dispatchframework) [default: `[registry] seed` in dispatch.toml]
    #[arg(long, value_name = "HOST[:PORT][/PATH]")]
    registry: Option<String>,
    /// Write the seed declarations to FILE and create nothing, as the original's did
    #[arg(short = 'O', long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    #[command(flatten)]
    batch: Batch,
}

/// The flags of creating one resource.
#[derive(Debug, clap::Args)]
struct One {
    /// KEY=VALUE; repeatable
    #[arg(long = "tag", visible_alias = "tags", value_name = "KEY=VALUE")]
    tags: Vec<String>,
    #[command(flatten)]
    writing: Writing,
    #[command(flatten)]
    network: Network,
}

impl Args {
    /// The settings these flags give.
    pub fn given(&self) -> Given<'_> {
        let given = match &self.what {
            Some(What::BaseImage { one, .. } | What::Image { one, .. }) => Given {
                writing: Some(&one.writing),
                network: Some(&one.network),
                ..Given::default()
            },
            Some(What::SeedImages(seeds)) => Given::batch(&seeds.batch),
            None => Given::batch(&self.batch),
        };
        Given {
            policies: Some(&self.policies),
            ..given
        }
    }
}

pub fn run(ws: &Workspace, args: Args, quiet: bool) -> Result<ExitCode> {
    let request = match (args.what, args.file) {
        (
            Some(What::SeedImages(Seeds {
                registry,
                output_file: Some(path),
                ..
            })),
            _,
        ) => {
            let declared = ops::seed::write(ws, registry.as_deref(), &path)?;
            let count = |kind| declared.iter().filter(|r| r.kind() == kind).count();
            let (bases, images) = (count(Kind::BaseImage), count(Kind::Image));
            let file = path.display().to_string();
            console::print(&report::text::seeds_written(bases, images, &file))?;
            return Ok(ExitCode::SUCCESS);
        }
        (Some(what), _) => request(what),
        (None, Some(file)) => Request::CreateFrom(file),
        (None, None) => bail!(
            "say what to create: `create base-image NAME URL --language L`, `create image NAME BASE`, `create seed-images`, or `create -f FILE`"
        ),
    };
    // Creating removes no image.
    super::change(ws, request, false, quiet)
}

fn request(what: What) -> Request {
    match what {
        What::BaseImage {
            name,
            url,
            language,
            one,
        } => Request::CreateBaseImage {
            name,
            url,
            language,
            tags: one.tags,
        },
        What::Image {
            name,
            base,
            runtime_deps,
            system_deps,
            application,
            one,
        } => Request::CreateImage {
            name,
            base,
            runtime_deps,
            system_deps,
            tags: (one.tags.into_iter())
                .chain(application.map(|app| format!("Application={app}")))
                .collect(),
        },
        What::SeedImages(seeds) => Request::CreateSeeds {
            registry: seeds.registry,
        },
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Request;
    use crate::commands::Cli;

    #[test]
    fn the_originals_flags_of_create_image_are_taken() {
        use clap::Parser;
        let cli = Cli::try_parse_from([
            "dispatch",
            "create",
            "image",
            "my_app",
            "my_py_base",
            "-a",
            "analytics",
            "--tags",
            "team=ml",
            "--runtime-deps",
            "requirements.txt",
            "--system-deps",
            "deps.json",
        ])
        .unwrap();
        let crate::commands::Command::Create(args) = cli.command else {
            panic!("not create")
        };
        let Request::CreateImage {
            name,
            base,
            runtime_deps,
            system_deps,
            tags,
        } = super::request(args.what.unwrap())
        else {
            panic!("not create image")
        };
        assert_eq!((name.as_str(), base.as_str()), ("my_app", "my_py_base"));
        assert_eq!(runtime_deps.unwrap().to_str(), Some("requirements.txt"));
        assert_eq!(system_deps.unwrap().to_str(), Some("deps.json"));
        assert_eq!(tags, ["team=ml", "Application=analytics"]);
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
