//! `dispatch apply`, and the machinery every command that changes images shares: connect to
//! the engine, plan under the state lock, ask for approval, run, report.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use dispatch::apply::{self, Context, Options};
use dispatch::build;
use dispatch::declarations::Declarations;
use dispatch::engine::Engine;
use dispatch::plan::{self, Observations, Plan};
use dispatch::planfile::SavedPlan;
use dispatch::progress;
use dispatch::refresh::{self, RefreshError, Sources};
use dispatch::registry::Registries;
use dispatch::render::{self, TextOptions};
use dispatch::state::{State, StateLock};

use crate::Session;
use crate::cli::{ApplyArgs, RunArgs};

/// `dispatch apply [DIR | PLANFILE]`.
pub fn apply(session: &Session, args: &ApplyArgs) -> Result<ExitCode> {
    let runtime = runtime()?;
    runtime.block_on(async {
        let lock = session.lock(&args.run)?;
        let loaded = session.store.load()?;
        let engine = session.engine().await?;
        let saved = if args.path.is_file() {
            SavedPlan::load(&args.path).ok()
        } else {
            None
        };
        if let Some(saved) = &saved {
            saved.check_current(loaded.as_ref())?;
        }
        let mut state = loaded.unwrap_or_default();
        let registries = session.registries(&state, None);
        let plan = match saved {
            Some(saved) => saved.plan,
            None => {
                let declarations = session.load(&args.path, args.allow_outside_refs)?;
                let observations = if args.refresh {
                    refreshed(session, &declarations, &state, Some(&engine)).await?
                } else {
                    Observations::default()
                };
                let plan = plan::plan(&declarations, Some(&state), &observations, &args.targets)?;
                print!(
                    "{}",
                    render::text(
                        &plan,
                        TextOptions {
                            color: session.color,
                            compact: false
                        }
                    )
                );
                if !plan.has_changes() {
                    return Ok(ExitCode::SUCCESS);
                }
                if !args.auto_approve {
                    approve()?;
                }
                plan
            }
        };
        execute(
            session,
            &plan,
            &mut state,
            &lock,
            &engine,
            &registries,
            &args.run,
        )
        .await
    })
}

/// Runs `plan` and prints the closing line; exit 1 if anything failed.
pub async fn execute(
    session: &Session,
    plan: &Plan,
    state: &mut State,
    lock: &StateLock,
    engine: &Engine,
    registries: &Registries,
    run: &RunArgs,
) -> Result<ExitCode> {
    let options = session.apply_options(run)?;
    let reporter = progress::for_stdout(run.quiet);
    let cancel = watch_interrupts();
    let cx = Context {
        engine,
        registries,
        options: &options,
        reporter: reporter.as_ref(),
        cancel,
    };
    let summary = apply::apply(plan, state, lock, &cx).await?;
    println!("\n{}", summary.line());
    Ok(if summary.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Refresh with the session's registries and engine.
pub async fn refreshed(
    session: &Session,
    declarations: &Declarations,
    state: &State,
    engine: Option<&Engine>,
) -> Result<Observations> {
    let registries = session.registries(state, Some(declarations));
    let sources = Sources {
        registries: &registries,
        engine,
        destination: session.settings.registry.destination.as_deref(),
    };
    refresh::refresh(declarations, Some(state), &sources)
        .await
        .map_err(|e| match e {
            RefreshError::Declarations(diagnostics) => anyhow::Error::new(diagnostics),
            other => anyhow::Error::new(other),
        })
}

/// A single-threaded runtime: the work is waiting on the engine and registries, not CPU.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Asks for `yes` on a terminal; refuses to guess anywhere else.
fn approve() -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "apply needs approval and there is no terminal to ask\n  hint: pass --auto-approve, or apply a plan saved with `dispatch plan -o FILE`"
        );
    }
    print!(
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        bail!("apply cancelled");
    }
    Ok(())
}

/// First Ctrl-C: start nothing new and let running steps finish. Second: abort at once.
fn watch_interrupts() -> &'static AtomicBool {
    static CANCEL: AtomicBool = AtomicBool::new(false);
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            CANCEL.store(true, Ordering::SeqCst);
            eprintln!(
                "\nInterrupt received: waiting for running pulls and builds to finish (Ctrl-C again to abort)."
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("Aborted. The state holds every step that finished.");
                std::process::exit(130);
            }
        }
    });
    &CANCEL
}

impl Session {
    /// Connects to the engine named by DOCKER_HOST or `[engine] host`.
    pub async fn engine(&self) -> Result<Engine> {
        Ok(Engine::connect(self.settings.engine.host.as_deref()).await?)
    }

    /// A registry client for every registry the state and declarations name.
    pub fn registries(&self, state: &State, declarations: Option<&Declarations>) -> Registries {
        let from_state = state.resources.values().map(|r| &r.resource);
        let declared = declarations
            .into_iter()
            .flat_map(|d| d.resources.values().map(|d| &d.resource));
        let mut hosts: Vec<String> = from_state
            .chain(declared)
            .filter_map(|r| match &r.spec {
                dispatch::model::Spec::BaseImage(b) => b.docker_url.domain.clone(),
                dispatch::model::Spec::Image(_) => None,
            })
            .collect();
        if let Some(destination) = &self.settings.registry.destination {
            hosts.extend(destination.split('/').next().map(str::to_string));
        }
        Registries::new(
            hosts.iter().map(String::as_str),
            &self.settings.registry.insecure,
        )
    }

    pub fn lock(&self, run: &RunArgs) -> Result<StateLock> {
        let timeout = run
            .lock_timeout
            .or(self.settings.lock_timeout)
            .unwrap_or(Duration::ZERO);
        Ok(self.store.lock(timeout, &crate::command_line())?)
    }

    fn apply_options(&self, run: &RunArgs) -> Result<Options> {
        let mut templates = HashMap::new();
        for (language, path) in &self.settings.templates {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "cannot read the {language} template {} named in dispatch.toml",
                    path.display()
                )
            })?;
            templates.insert(*language, text);
        }
        build::check_destination(self.settings.registry.destination.as_deref())
            .map_err(|e| anyhow::anyhow!("dispatch.toml: {e}"))?;
        Ok(Options {
            parallelism: run
                .parallelism
                .map(usize::from)
                .or(self.settings.parallelism)
                .unwrap_or(4),
            keep_images: run.keep_images,
            destination: self.settings.registry.destination.clone(),
            build_args: self.settings.build.args.clone(),
            network: (self.settings.build.network.as_ref()).map(|n| n.get_ref().clone()),
            builder: self.settings.build.builder.unwrap_or_default(),
            templates,
        })
    }

    pub fn load(&self, path: &Path, allow_outside_refs: bool) -> Result<Declarations> {
        let options = dispatch::declarations::LoadOptions {
            allow_outside_refs,
            ..Default::default()
        };
        Ok(dispatch::declarations::load(path, options)?)
    }
}
