//! Busy-polling after activity (docs/decisions.md D38): for `busyPollMicros` after an event, a
//! member's event loop and disk thread look for the next one again instead of sleeping,
//! yielding the CPU between looks.
//!
//! Why: a lone write crosses about eight threads in series (client → follower → leader →
//! disk → …), and on a virtual machine every thread that sleeps may halt its vCPU; waking a
//! halted vCPU costs tens of microseconds, several times the work of the step itself. A
//! thread that is still polling when its next event arrives needs no wake-up at all. The cost
//! is CPU while a member is busy but not saturated; a thread stops polling early when a yield
//! shows another thread wanted its CPU ([`CONTENDED`]), so polling gives way to work.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::OnceLock;
use std::task::Poll;
use std::time::{Duration, Instant};

/// A yield that kept this thread off its CPU this long means another thread had work there:
/// polling stops until the next event. Far above a yield that finds the CPU free (~1 µs),
/// far below a thread's turn under load.
pub const CONTENDED: Duration = Duration::from_micros(100);

/// When a thread (or the threads of one runtime) should poll again instead of sleeping.
///
/// `&self` throughout, so one can be shared (`Arc` or `static`) by an executor's threads
/// and the member tasks they drive; a thread alone pays two relaxed atomics per look.
#[derive(Debug)]
pub struct BusyPoll {
    window_us: u64,
    /// Until when (µs on [`now_us`]'s clock) to poll; 0: sleep.
    until_us: AtomicU64,
}

impl Clone for BusyPoll {
    fn clone(&self) -> BusyPoll {
        BusyPoll::new(self.window())
    }
}

impl BusyPoll {
    /// Polling for `window` after each event ([`Duration::ZERO`]: never).
    pub const fn new(window: Duration) -> BusyPoll {
        BusyPoll {
            window_us: window.as_micros() as u64,
            until_us: AtomicU64::new(0),
        }
    }

    /// The window of `busyPollMicros`.
    pub fn from_config(busy_poll_us: u32) -> BusyPoll {
        BusyPoll::new(Duration::from_micros(u64::from(busy_poll_us)))
    }

    /// Never polls: every wait sleeps.
    pub const fn off() -> BusyPoll {
        BusyPoll::new(Duration::ZERO)
    }

    /// How long after an event this polls.
    pub fn window(&self) -> Duration {
        Duration::from_micros(self.window_us)
    }

    /// An event arrived: poll for the window after it.
    pub fn active(&self) {
        self.extend(self.window());
    }

    /// Polls for at least `window` from now (the members sharing one runtime each extend it
    /// by their own window).
    pub fn extend(&self, window: Duration) {
        if !window.is_zero() {
            let until = now_us().saturating_add(window.as_micros() as u64);
            self.until_us.fetch_max(until, Ordering::Relaxed);
        }
    }

    /// Whether to look for events once more rather than sleep: inside the window, and the
    /// yield this makes first found no other thread waiting for the CPU.
    pub fn again(&self) -> bool {
        let until = self.until_us.load(Ordering::Relaxed);
        if until == 0 {
            return false;
        }
        let start = now_us();
        if start < until {
            std::thread::yield_now();
            if now_us().saturating_sub(start) < CONTENDED.as_micros() as u64 {
                return true;
            }
        }
        // Over, or contended: sleep (unless an event extended the window meanwhile).
        let _ = self
            .until_us
            .compare_exchange(until, 0, Ordering::Relaxed, Ordering::Relaxed);
        false
    }

    /// Receives from `rx` as [`Receiver::recv`] does, polling first while [`BusyPoll::again`]
    /// says so; `None` once every sender is gone. The window runs from the call: for a thread
    /// whose work between receives is long (an fdatasync), the end of that work is what the
    /// next message follows closely, not the message before it.
    pub fn recv<T>(&self, rx: &Receiver<T>) -> Option<T> {
        self.active();
        loop {
            match rx.try_recv() {
                Ok(v) => return Some(v),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) if self.again() => {}
                Err(TryRecvError::Empty) => break,
            }
        }
        rx.recv().ok()
    }

    /// Drives `fut` as a runtime's `block_on` would, but while [`BusyPoll::again`] says so a
    /// pending `fut` wakes itself at once, so the runtime polls its reactor without sleeping
    /// (for runtimes whose loop the adapter does not own, like async-io's `block_on`).
    pub async fn drive<F: Future>(&self, fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(v),
            Poll::Pending => {
                if self.again() {
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            }
        })
        .await
    }
}

/// One [`BusyPoll`] for a process whose runtime threads serve every member's tasks (an
/// executor whose `block_on` the adapter does not own): each member's events extend it by
/// its own window, and each runtime thread is driven through [`BusyPoll::drive`] on it.
pub static SHARED: BusyPoll = BusyPoll::off();

/// Microseconds since the first call in this process.
fn now_us() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_micros() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn off_never_polls() {
        let b = BusyPoll::off();
        b.active();
        assert!(!b.again());
        assert!(!BusyPoll::from_config(0).again());
    }

    #[test]
    fn it_polls_only_after_an_event_and_within_the_window() {
        let b = BusyPoll::from_config(200_000);
        assert!(!b.again(), "no event yet: sleep");
        b.active();
        // A yield on an idle CPU is far below CONTENDED; on a busy machine one may not be
        // (then polling stops until the next event), so the test gives it many events.
        let polled = (0..1000).any(|_| {
            b.active();
            b.again()
        });
        assert!(polled, "inside the window, uncontended");
        let short = BusyPoll::new(Duration::from_micros(1));
        short.active();
        std::thread::sleep(Duration::from_millis(1));
        assert!(!short.again(), "the window is over");
        assert!(!short.again(), "and stays over until the next event");
    }

    #[test]
    fn the_longest_window_of_those_sharing_it_wins() {
        let b = BusyPoll::off();
        b.extend(Duration::from_secs(60));
        b.extend(Duration::from_micros(1));
        std::thread::sleep(Duration::from_millis(1));
        assert!(
            b.again()
                || (0..1000).any(|_| {
                    b.extend(Duration::from_secs(60));
                    b.extend(Duration::from_micros(1));
                    b.again()
                })
        );
    }

    #[test]
    fn recv_returns_what_is_sent_and_none_when_the_senders_are_gone() {
        let b = BusyPoll::from_config(500);
        let (tx, rx) = mpsc::channel();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(2));
            tx.send(7).unwrap();
        });
        assert_eq!(
            b.recv(&rx),
            Some(7),
            "slept past the window, then woke for it"
        );
        t.join().unwrap();
        assert_eq!(b.recv(&rx), None);
    }

    #[test]
    fn drive_returns_the_output() {
        let b = BusyPoll::from_config(200);
        b.active();
        let out = futures_lite_block_on(b.drive(async { 3 }));
        assert_eq!(out, 3);
    }

    /// A minimal `block_on` for the test (conclave-std has no runtime).
    fn futures_lite_block_on<F: Future>(fut: F) -> F::Output {
        use std::task::{Context, Wake, Waker};
        struct Noop;
        impl Wake for Noop {
            fn wake(self: std::sync::Arc<Self>) {}
        }
        let waker = Waker::from(std::sync::Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        for _ in 0..1000 {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
        }
        panic!("not ready after 1000 polls");
    }
}
