//! Orders to a member's loop from other threads — run, freeze, stop, kill — for adapters that
//! run a member on a loop of their own (conclave-mio; an embedder's loop). The loop checks
//! [`Control::next`] once per turn; a freeze blocks it there, as SIGSTOP would the process.

use std::sync::{Condvar, Mutex};

/// What a member's loop is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Go on.
    Run,
    /// Freeze in place until `Run` (or `Kill`).
    Freeze,
    /// Stop cleanly.
    Stop,
    /// End at once, as a crash: nothing more is written.
    Kill,
}

/// The order a loop obeys, set from any thread.
#[derive(Debug)]
pub struct Control {
    order: Mutex<Order>,
    changed: Condvar,
}

impl Default for Control {
    fn default() -> Control {
        Control {
            order: Mutex::new(Order::Run),
            changed: Condvar::new(),
        }
    }
}

impl Control {
    /// Gives `order`. A kill is final; a stop is final unless a kill follows. The caller
    /// wakes the loop (its poller's waker) so that it sees the order.
    pub fn order(&self, order: Order) {
        let mut now = self.order.lock().unwrap_or_else(|e| e.into_inner());
        if *now != Order::Kill && (*now != Order::Stop || order == Order::Kill) {
            *now = order;
        }
        self.changed.notify_all();
    }

    /// The order to obey now, blocking while it is `Freeze` (the freezer thaws or kills).
    pub fn next(&self) -> Order {
        let mut now = self.order.lock().unwrap_or_else(|e| e.into_inner());
        while *now == Order::Freeze {
            now = self.changed.wait(now).unwrap_or_else(|e| e.into_inner());
        }
        *now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn kill_is_final_stop_yields_only_to_kill_and_a_freeze_blocks_until_thawed() {
        let c = Control::default();
        assert_eq!(c.next(), Order::Run);
        c.order(Order::Stop);
        c.order(Order::Run);
        assert_eq!(c.next(), Order::Stop, "a stop is not undone");
        c.order(Order::Kill);
        c.order(Order::Stop);
        assert_eq!(c.next(), Order::Kill, "a kill is final");

        let c = Arc::new(Control::default());
        c.order(Order::Freeze);
        let waiter = {
            let c = c.clone();
            std::thread::spawn(move || c.next())
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!waiter.is_finished(), "a frozen loop waits");
        c.order(Order::Run);
        assert_eq!(waiter.join().unwrap(), Order::Run);
    }
}
