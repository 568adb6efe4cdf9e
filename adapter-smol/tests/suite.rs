//! The conformance suite every adapter passes (`conclave_conformance::suite`, issue 14), on
//! conclave-smol four ways: its binary as real processes, its members inside this test process
//! (each on an executor run by one thread of its own), and the processes again with kazoo, then
//! with the `zookeeper-client` crate, as every client (the client families). One test per scenario
//! and harness.

use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use async_executor::Executor;
use conclave_conformance::suite::live::{Host, Launch, Running};
use conclave_conformance::suite::{netns, Unsupported};

conclave_conformance::adapter_suites!(env!("CARGO_BIN_EXE_conclave-smol"), InProcess);

/// Members of conclave-smol in this process: a thread each (in the member's network namespace
/// when it has one) that alone runs the member's executor, so that one blocking task freezes
/// the whole member as SIGSTOP would.
struct InProcess;

impl Host for InProcess {
    fn describe(&self) -> String {
        "conclave-smol members in the test process".into()
    }

    fn launch(&self, member: Launch<'_>) -> Result<Box<dyn Running>, String> {
        let cfg = member.cfg.to_path_buf();
        let ns = member.netns.map(str::to_string);
        let ex = Arc::new(Executor::new());
        let (ready_tx, ready_rx) = mpsc::channel();
        let (kill_tx, kill_rx) = async_channel::bounded::<()>(1);
        let runs = ex.clone();
        let thread = std::thread::Builder::new()
            .name("suite-member".into())
            .spawn(move || {
                let started = ns
                    .as_deref()
                    .map_or(Ok(()), netns::enter)
                    .and_then(|()| conclave_smol::start_from_cfg(&cfg, &runs));
                let m = match started {
                    Ok(m) => m,
                    Err(e) => return drop(ready_tx.send(Err(e))),
                };
                let _ = ready_tx.send(Ok(()));
                futures_lite::future::block_on(runs.run(async move {
                    let _ = kill_rx.recv().await;
                    m.kill().await;
                }));
            })
            .map_err(|e| e.to_string())?;
        ready_rx
            .recv()
            .map_err(|_| "the member's thread ended".to_string())??;
        Ok(Box::new(SmolMember {
            ex,
            kill: Some(kill_tx),
            thread: Some(thread),
            thaw: None,
        }))
    }
}

struct SmolMember {
    ex: Arc<Executor<'static>>,
    kill: Option<async_channel::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Held while frozen: dropping it thaws.
    thaw: Option<mpsc::Sender<()>>,
}

impl Running for SmolMember {
    fn kill(mut self: Box<Self>) {
        // A frozen member thaws straight into its death.
        self.thaw.take();
        if let Some(kill) = self.kill.take() {
            let _ = kill.try_send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn pause(&mut self) -> Result<(), Unsupported> {
        let (tx, rx) = mpsc::channel::<()>();
        // Blocks the only thread that runs the executor: no task of the member runs.
        self.ex
            .spawn(async move {
                let _ = rx.recv();
            })
            .detach();
        self.thaw = Some(tx);
        Ok(())
    }

    fn resume(&mut self) {
        self.thaw.take();
    }
}
