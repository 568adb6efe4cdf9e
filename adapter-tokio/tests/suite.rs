//! The conformance suite every adapter passes (`conclave_conformance::suite`, issue 14), on
//! conclave (tokio) four ways: its binary as real processes, its members inside this test process
//! (each on a current-thread runtime of its own), and the processes again with kazoo, then with the
//! `zookeeper-client` crate, as every client (the client families). One test per scenario and
//! harness.

use std::sync::mpsc;
use std::thread::JoinHandle;

use conclave_conformance::suite::live::{Host, Launch, Running};
use conclave_conformance::suite::{netns, Unsupported};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

conclave_conformance::adapter_suites!(env!("CARGO_BIN_EXE_conclave"), InProcess);

/// Members of conclave-tokio in this process: a thread each (in the member's network
/// namespace when it has one) running a current-thread runtime, so that one blocking task
/// freezes the whole member as SIGSTOP would.
struct InProcess;

impl Host for InProcess {
    fn describe(&self) -> String {
        "conclave (tokio) members in the test process".into()
    }

    fn launch(&self, member: Launch<'_>) -> Result<Box<dyn Running>, String> {
        let cfg = member.cfg.to_path_buf();
        let ns = member.netns.map(str::to_string);
        let (ready_tx, ready_rx) = mpsc::channel();
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("suite-member".into())
            .spawn(move || {
                let runtime = ns.as_deref().map_or(Ok(()), netns::enter).and_then(|()| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| e.to_string())
                });
                let runtime = match runtime {
                    Ok(rt) => rt,
                    Err(e) => return drop(ready_tx.send(Err(e))),
                };
                runtime.block_on(async move {
                    match conclave_tokio::start_from_cfg(&cfg).await {
                        Ok(m) => {
                            let _ = ready_tx.send(Ok(Handle::current()));
                            let _ = kill_rx.await;
                            m.kill().await;
                        }
                        Err(e) => drop(ready_tx.send(Err(e))),
                    }
                });
                // Every task of the member goes with the runtime, its sockets with them.
                drop(runtime);
            })
            .map_err(|e| e.to_string())?;
        let handle = ready_rx
            .recv()
            .map_err(|_| "the member's thread ended".to_string())??;
        Ok(Box::new(TokioMember {
            handle,
            kill: Some(kill_tx),
            thread: Some(thread),
            thaw: None,
        }))
    }
}

struct TokioMember {
    handle: Handle,
    kill: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Held while frozen: dropping it thaws.
    thaw: Option<mpsc::Sender<()>>,
}

impl Running for TokioMember {
    fn kill(mut self: Box<Self>) {
        // A frozen member thaws straight into its death.
        self.thaw.take();
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn pause(&mut self) -> Result<(), Unsupported> {
        let (tx, rx) = mpsc::channel::<()>();
        // Blocks the runtime's only thread: no task of the member runs, no timer fires.
        self.handle.spawn(async move {
            let _ = rx.recv();
        });
        self.thaw = Some(tx);
        Ok(())
    }

    fn resume(&mut self) {
        self.thaw.take();
    }
}
