//! `dispatch`: parse the command line, run one command, map the outcome to an exit code.

mod cli;
mod commands;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;

use cli::{Cli, Command, GetArgs, GetWhat, Output, PlanArgs, Source, StateCommand};
use dispatch::diag::Diagnostics;
use dispatch::model::Kind;
use dispatch::plan::{self, Observations, Plan};
use dispatch::planfile::SavedPlan;
use dispatch::render::{self, TextOptions};
use dispatch::settings::Settings;
use dispatch::state::{State, StateStore};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.no_color {
        anstream::ColorChoice::Never.write_global();
    }
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            // One buffered write: a directory can have many thousands of problems.
            let mut report = String::new();
            if let Some(diagnostics) = err.downcast_ref::<Diagnostics>() {
                for d in &diagnostics.0 {
                    report.push_str(&format!("{d}\n"));
                }
            }
            report.push_str(&format!("{}: {err:#}\n", error_label()));
            let _ = anstream::stderr().lock().write_all(report.as_bytes());
            ExitCode::from(1)
        }
    }
}

fn error_label() -> String {
    let style = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Red.into()));
    format!("{style}error{style:#}")
}

/// What every command needs: the settings and where the state is.
pub struct Session {
    settings: Settings,
    store: StateStore,
    color: bool,
}

fn run(cli: Cli) -> Result<ExitCode> {
    let settings = Settings::load(Path::new("."))?;
    let state_path = cli
        .state
        .clone()
        .or_else(|| settings.state.clone())
        .unwrap_or_else(|| PathBuf::from(".dispatch/state.json"));
    let color = anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
    let cx = Session {
        settings,
        store: StateStore::new(state_path),
        color,
    };
    match cli.command {
        Command::Validate { source } => validate(&cx, &source),
        Command::Plan(args) => plan_command(&cx, &args),
        Command::Show { file, output } => {
            let saved = SavedPlan::load(&file)?;
            print_plan(&cx, &saved.plan, &output)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Apply(args) => commands::apply::apply(&cx, &args),
        Command::Create(args) => commands::imperative::create(&cx, &args),
        Command::Update { file, run } => commands::imperative::update(&cx, &file, &run),
        Command::Delete(args) => commands::imperative::delete(&cx, &args),
        Command::Get(GetArgs {
            what: GetWhat::BaseImage { name, format },
        }) => commands::get::get(&cx, Kind::BaseImage, name.as_deref(), &format),
        Command::Get(GetArgs {
            what: GetWhat::Image { name, format },
        }) => commands::get::get(&cx, Kind::Image, name.as_deref(), &format),
        Command::State(StateCommand::List { json }) => state_list(&cx, json),
        Command::State(StateCommand::Rm {
            addresses,
            lock_timeout,
        }) => {
            let timeout = lock_timeout
                .or(cx.settings.lock_timeout)
                .unwrap_or(Duration::ZERO);
            let lock = cx.store.lock(timeout, &command_line())?;
            let mut state = cx
                .store
                .load()?
                .context("there is no state yet; nothing to remove")?;
            for address in &addresses {
                if state.resources.remove(address).is_none() {
                    bail!(
                        "{address} is not in the state\n  hint: `dispatch state list` shows what is"
                    );
                }
            }
            lock.save(&mut state)?;
            for address in &addresses {
                println!("Removed {address} from the state (its image was left alone).");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn validate(cx: &Session, source: &Source) -> Result<ExitCode> {
    let declarations = cx.load(&source.path, source.allow_outside_refs)?;
    let count = |kind| {
        declarations
            .resources
            .keys()
            .filter(|a| a.kind == kind)
            .count()
    };
    println!(
        "The declarations are valid: {} base image{}, {} image{}.",
        count(Kind::BaseImage),
        plural(count(Kind::BaseImage)),
        count(Kind::Image),
        plural(count(Kind::Image)),
    );
    Ok(ExitCode::SUCCESS)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn plan_command(cx: &Session, args: &PlanArgs) -> Result<ExitCode> {
    let declarations = cx.load(&args.source.path, args.source.allow_outside_refs)?;
    let state = cx.store.load()?;
    let observations = if args.refresh {
        let empty = State::new();
        let state = state.as_ref().unwrap_or(&empty);
        commands::apply::runtime()?.block_on(async {
            // The engine is only asked about images dispatch built; a state without any needs none.
            let built = state
                .resources
                .values()
                .any(|r| r.observed.as_ref().is_some_and(|o| o.reference.is_some()));
            let engine = if built {
                Some(cx.engine().await?)
            } else {
                None
            };
            commands::apply::refreshed(cx, &declarations, state, engine.as_ref()).await
        })?
    } else {
        Observations::default()
    };
    let plan = plan::plan(&declarations, state.as_ref(), &observations, &args.targets)?;
    print_plan(cx, &plan, &args.output)?;
    if let Some(out) = &args.out {
        SavedPlan::new(plan.clone(), state.as_ref()).save(out)?;
        if !args.output.json {
            println!("\nSaved the plan to: {}", out.display());
        }
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_plan(cx: &Session, plan: &Plan, output: &Output) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    if output.json {
        serde_json::to_writer_pretty(&mut stdout, &render::json(plan))?;
        writeln!(stdout)?;
    } else {
        let text = render::text(
            plan,
            TextOptions {
                color: cx.color,
                compact: output.compact,
            },
        );
        stdout.write_all(text.as_bytes())?;
    }
    Ok(())
}

fn state_list(cx: &Session, json: bool) -> Result<ExitCode> {
    let state = cx.store.load()?.unwrap_or_else(State::new);
    if json {
        let resources: Vec<_> = state.resources.values().collect();
        println!("{}", serde_json::to_string_pretty(&resources)?);
    } else {
        for (address, resource) in &state.resources {
            println!("{address}\t{}", resource.status);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The command line as typed, recorded in the lock so a second writer can name the holder.
pub fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}
