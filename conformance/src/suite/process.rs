//! The suite's harness for an adapter's binary as real processes: a `serve` process per
//! member from its own zoo.cfg and data directory (as an operator runs them), kill -9 by PID,
//! SIGSTOP / SIGCONT, restart from the same data directory; clients on real sockets
//! ([`super::live::LiveHarness`]).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::live::{Host, Launch, LiveHarness, Running};
use super::Unsupported;

/// Runs members as processes of an adapter's server binary.
#[derive(Debug)]
pub struct ProcessHost {
    bin: PathBuf,
}

/// The harness of an adapter's binary as processes.
pub struct ProcessHarness;

impl ProcessHarness {
    /// A harness for the server binary `bin` (e.g. `env!("CARGO_BIN_EXE_conclave")`).
    #[allow(clippy::new_ret_no_self)]
    pub fn new(bin: &str) -> LiveHarness {
        LiveHarness::new(ProcessHost {
            bin: PathBuf::from(bin),
        })
    }
}

impl Host for ProcessHost {
    fn describe(&self) -> String {
        let bin = self.bin.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        format!("{bin} processes")
    }

    fn launch(&self, member: Launch<'_>) -> Result<Box<dyn Running>, String> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(member.log)
            .map_err(|e| format!("{}: {e}", member.log.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        // `ip netns exec` execs the server in the namespace: the PID is the server's.
        let mut cmd = match member.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&self.bin);
                c
            }
            None => Command::new(&self.bin),
        };
        let child = cmd
            .arg("serve")
            .arg(member.cfg)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("{}: {e}", self.bin.display()))?;
        Ok(Box::new(Process(child)))
    }
}

/// A member process.
struct Process(Child);

impl Process {
    fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .arg(signal)
            .arg(self.0.id().to_string())
            .status();
    }
}

impl Running for Process {
    fn kill(mut self: Box<Self>) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    fn pause(&mut self) -> Result<(), Unsupported> {
        self.signal("-STOP");
        Ok(())
    }

    fn resume(&mut self) {
        self.signal("-CONT");
    }
}
