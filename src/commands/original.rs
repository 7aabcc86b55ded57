//! The original Dispatch CLI's flags (vmware/dispatch v0.1.24, and `--public` of earlier ones)
//! that dispatch does not take, each with the reason: a script written for the original learns
//! from the parser's error why, and what does that job here. The flags it does take are its
//! commands' own (`--language`, `--runtime-deps`, `--system-deps`, `-a`, `-f`).

/// A flag of the original CLI that dispatch does not take.
struct Refused {
    /// Its spellings (`--long`, `-s`).
    flags: &'static [&'static str],
    /// The commands it is refused on with this reason, by their words (`create base-image`);
    /// empty for the original's global flags, which every command had.
    commands: &'static [&'static str],
    /// Why not, and what does its job here.
    reason: &'static str,
}

const NO_SERVER: &str = "dispatch has no Dispatch server to talk to: it drives the Docker engine (`DOCKER_HOST`, `[engine] host`) and the registries itself, with the docker config's credentials";

const REFUSED: &[Refused] = &[
    Refused {
        flags: &["--public"],
        commands: &["create base-image"],
        reason: "dispatch pulls with the docker config's credentials for the registry when it has some and anonymously when not, so a public image needs no flag (the original itself dropped it in February 2018)",
    },
    Refused {
        flags: &["--work-dir", "-w"],
        commands: &["create"],
        reason: "an `@path` in a YAML file is read relative to that file's folder, and --runtime-deps and --system-deps relative to the folder dispatch runs in (`-C DIR` moves it)",
    },
    Refused {
        flags: &["--application", "-a"],
        commands: &["create", "create base-image", "get image"],
        reason: "dispatch takes it on `create image` alone, where it tags the image Application=APP as the original did; the original ignored it on `create -f` (declare the tag in the file instead) and filtered `get images` by it (`get images -o json` lists each image's tags)",
    },
    Refused {
        flags: &["--output", "-o", "--json"],
        commands: &[
            "create",
            "create base-image",
            "create image",
            "update",
            "delete",
            "delete base-image",
            "delete image",
        ],
        reason: "create, update and delete print their progress and a closing line, not the objects; `dispatch get image NAME -o json` prints the object the original's printed",
    },
    Refused {
        flags: &[
            "--host",
            "--port",
            "--scheme",
            "--token",
            "--service-account",
            "--jwt-private-key",
        ],
        commands: &[],
        reason: NO_SERVER,
    },
    Refused {
        flags: &["--organization"],
        commands: &[],
        reason: "dispatch keeps one state per workspace instead: `[backend] workspace` (or DISPATCH_WORKSPACE) with the state in PostgreSQL, or a state file of its own (--state)",
    },
    Refused {
        flags: &["--insecure"],
        commands: &[],
        reason: "dispatch speaks plain HTTP to loopback registries and to those `[registry] insecure` lists in dispatch.toml, and TLS to every other",
    },
    Refused {
        flags: &["--config"],
        commands: &[],
        reason: "dispatch reads dispatch.toml in the folder it runs in (`-C DIR`), and registry credentials from the docker config (DOCKER_CONFIG)",
    },
];

/// Why `flag` (`--public`, `-a`), which `command` (its words: `create base-image`) does not
/// take, is not supported, when it was the original's.
pub fn refused(command: &[String], flag: &str) -> Option<String> {
    let command = command.join(" ");
    REFUSED
        .iter()
        .find(|r| {
            r.flags.contains(&flag)
                && (r.commands.is_empty() || r.commands.contains(&command.as_str()))
        })
        .map(|r| {
            format!(
                "{flag} is the original Dispatch's; not supported here, because {}",
                r.reason
            )
        })
}

/// The words of the (sub)command `args` (the command line, program name first) runs in `cli`:
/// `["create", "base-image"]` for `dispatch -q create base-image b URL --public`.
pub fn command_path(cli: &clap::Command, args: &[String]) -> Vec<String> {
    let mut path = Vec::new();
    let mut command = cli;
    for arg in args.iter().skip(1).filter(|a| !a.starts_with('-')) {
        let Some(sub) = command.find_subcommand(arg) else {
            if command.has_subcommands() {
                // A flag's value (`-C DIR`): the subcommand is yet to come.
                continue;
            }
            break;
        };
        path.push(sub.get_name().to_string());
        command = sub;
    }
    path
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::commands::Cli;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn the_command_is_found_past_global_flags_and_aliases() {
        let cli = Cli::command();
        for (line, path) in [
            (
                "dispatch create base-image b u --public",
                "create base-image",
            ),
            ("dispatch -C dir create images x y", "create image"),
            ("dispatch --state s.json get base-images", "get base-image"),
            ("dispatch plan --target Image/x", "plan"),
            ("dispatch", ""),
        ] {
            assert_eq!(command_path(&cli, &words(line)).join(" "), path, "{line}");
        }
    }

    #[test]
    fn only_the_originals_flags_are_refused_with_a_reason() {
        let create = words("create base-image");
        assert!(
            refused(&create, "--public")
                .unwrap()
                .contains("anonymously")
        );
        assert!(
            refused(&create, "-o")
                .unwrap()
                .contains("get image NAME -o json")
        );
        assert!(
            refused(&words("plan"), "--host")
                .unwrap()
                .contains("no Dispatch server")
        );
        // Where the original had it not, or dispatch has it.
        assert_eq!(refused(&words("plan"), "--public"), None);
        assert_eq!(refused(&words("get image"), "-o"), None);
        assert_eq!(refused(&create, "--bogus"), None);
    }

    #[test]
    fn no_refused_flag_is_one_dispatch_takes_there() {
        let cli = Cli::command();
        let mut all = vec![(vec![], cli.clone())];
        let mut i = 0;
        while i < all.len() {
            let (path, command) = all[i].clone();
            for sub in command.get_subcommands() {
                let mut words = path.clone();
                words.push(sub.get_name().to_string());
                all.push((words, sub.clone()));
            }
            i += 1;
        }
        for (path, command) in &all {
            for arg in command.get_arguments() {
                let spellings = [
                    arg.get_long().map(|l| format!("--{l}")),
                    arg.get_short().map(|s| format!("-{s}")),
                ];
                for flag in spellings.into_iter().flatten() {
                    assert_eq!(refused(path, &flag), None, "{path:?} takes {flag}");
                }
            }
        }
    }
}
