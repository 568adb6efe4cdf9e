//! The `conclave` command line, shared by every adapter's binary: `serve <zoo.cfg>`,
//! `ensemble [--nodes N] [--dir D] [--base-port P] [--tick-time MS]`, `inspect <dataDir>`.

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;

/// The help text.
pub const USAGE: &str = "\
Conclave: a ZooKeeper-compatible coordination service.

Usage: conclave <COMMAND>

Commands:
  serve <ZOO_CFG>   Run one member from a zoo.cfg (a drop-in for ZooKeeper's QuorumPeerMain)
  ensemble          Write and run an ensemble on 127.0.0.1 in this process, until Ctrl-C.
                    Member i (1-based) listens for clients on base+i-1, for peers on
                    base+1000+i (quorum port base+2000+i is configured but unused), metrics on
                    base+3000+i and the admin server on base+4000+i. Files:
                    <dir>/member-<i>/zoo.cfg and <dir>/member-<i>/data; re-running keeps the data.
      --nodes <N>        Number of members [default: 3]
      --dir <DIR>        Where the members' configs and data live [default: ./conclave-data]
      --base-port <P>    The first client port [default: 2181]
      --tick-time <MS>   tickTime in ms [default: 2000]
  inspect <DATA_DIR> Print the log records, snapshots and epoch files of a data directory

Options:
  -h, --help     Print help
  -V, --version  Print version
";

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run one member from a `zoo.cfg`.
    Serve {
        /// The `zoo.cfg` path.
        zoo_cfg: String,
    },
    /// Write and run a local ensemble.
    Ensemble {
        /// Members.
        nodes: u16,
        /// Where configs and data live.
        dir: String,
        /// The first client port.
        base_port: u16,
        /// tickTime, ms.
        tick_time_ms: u32,
    },
    /// Print a data directory.
    Inspect {
        /// The data directory.
        data_dir: String,
    },
    /// Print [`USAGE`].
    Help,
    /// Print the version.
    Version,
}

/// A command line that cannot be run: print it with [`USAGE`] and exit with status 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for CliError {}

fn number<T: core::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, CliError> {
    let v = v.ok_or_else(|| CliError(format!("{flag} needs a value")))?;
    v.parse()
        .map_err(|_| CliError(format!("{flag}: `{v}` is not a valid number")))
}

/// Parses the arguments after the program name (`--flag value` or `--flag=value`).
pub fn parse_args<I, S>(args: I) -> Result<Command, CliError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut args = args.into_iter().map(|a| a.as_ref().to_string());
    let Some(cmd) = args.next() else {
        return Err(CliError(
            "a command is required: serve, ensemble or inspect".into(),
        ));
    };
    let one_path = |name: &str, mut rest: alloc::vec::IntoIter<String>| {
        let path = rest
            .next()
            .ok_or_else(|| CliError(format!("{name} needs a path")))?;
        if path.starts_with('-') && path != "-" {
            return Err(CliError(format!("{name}: unexpected option `{path}`")));
        }
        if let Some(extra) = rest.next() {
            return Err(CliError(format!("{name}: unexpected argument `{extra}`")));
        }
        Ok(path)
    };
    let rest: alloc::vec::Vec<String> = args.collect();
    if rest.iter().any(|a| a == "-h" || a == "--help") {
        return Ok(Command::Help);
    }
    match cmd.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "-V" | "--version" => Ok(Command::Version),
        "serve" => Ok(Command::Serve {
            zoo_cfg: one_path("serve", rest.into_iter())?,
        }),
        "inspect" => Ok(Command::Inspect {
            data_dir: one_path("inspect", rest.into_iter())?,
        }),
        "ensemble" => {
            let (mut nodes, mut dir, mut base_port, mut tick_time_ms) =
                (3u16, String::from("./conclave-data"), 2181u16, 2000u32);
            let mut it = rest.into_iter();
            while let Some(arg) = it.next() {
                let (flag, inline) = match arg.split_once('=') {
                    Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                    _ => (arg.clone(), None),
                };
                let mut value = || inline.clone().or_else(|| it.next());
                match flag.as_str() {
                    "--nodes" => nodes = number(&flag, value())?,
                    "--dir" => {
                        dir = value().ok_or_else(|| CliError("--dir needs a value".into()))?
                    }
                    "--base-port" => base_port = number(&flag, value())?,
                    "--tick-time" => tick_time_ms = number(&flag, value())?,
                    _ => return Err(CliError(format!("ensemble: unexpected argument `{arg}`"))),
                }
            }
            Ok(Command::Ensemble {
                nodes,
                dir,
                base_port,
                tick_time_ms,
            })
        }
        other => Err(CliError(format!(
            "unknown command `{other}` (expected serve, ensemble or inspect)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_parses_with_defaults_and_both_flag_forms() {
        assert_eq!(
            parse_args(["serve", "zoo.cfg"]),
            Ok(Command::Serve {
                zoo_cfg: "zoo.cfg".into()
            })
        );
        assert_eq!(
            parse_args(["ensemble"]),
            Ok(Command::Ensemble {
                nodes: 3,
                dir: "./conclave-data".into(),
                base_port: 2181,
                tick_time_ms: 2000
            })
        );
        assert_eq!(
            parse_args([
                "ensemble",
                "--nodes=5",
                "--dir",
                "/d",
                "--base-port",
                "3000",
                "--tick-time=100"
            ]),
            Ok(Command::Ensemble {
                nodes: 5,
                dir: "/d".into(),
                base_port: 3000,
                tick_time_ms: 100
            })
        );
        assert_eq!(
            parse_args(["inspect", "/data"]),
            Ok(Command::Inspect {
                data_dir: "/data".into()
            })
        );
        assert_eq!(parse_args(["--help"]), Ok(Command::Help));
        assert_eq!(parse_args(["serve", "--help"]), Ok(Command::Help));
        assert_eq!(parse_args(["-V"]), Ok(Command::Version));
    }

    #[test]
    fn bad_command_lines_are_refused_with_a_reason() {
        let none: [&str; 0] = [];
        for (args, why) in [
            (&none[..], "a command is required"),
            (&["serve"][..], "serve needs a path"),
            (&["serve", "a", "b"][..], "unexpected argument `b`"),
            (
                &["ensemble", "--nodes", "x"][..],
                "`x` is not a valid number",
            ),
            (&["ensemble", "--nodes"][..], "--nodes needs a value"),
            (
                &["ensemble", "--port", "1"][..],
                "unexpected argument `--port`",
            ),
            (&["start"][..], "unknown command `start`"),
        ] {
            let err = parse_args(args.iter().copied()).unwrap_err();
            assert!(err.0.contains(why), "{args:?}: {err}");
        }
    }
}
