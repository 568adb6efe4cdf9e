//! The virtual clock's agenda: events ordered by (time, insertion order), nothing else.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::events::Event;

struct Scheduled {
    at: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    // Reversed: `BinaryHeap` is a max-heap and we want the earliest (then the oldest) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A min-heap of events keyed by (nanosecond time, insertion sequence): ties at the same
/// instant come out in the order they were scheduled, so the run never depends on anything
/// but the seed.
#[derive(Default)]
pub(crate) struct EventQueue {
    heap: BinaryHeap<Scheduled>,
    next_seq: u64,
}

impl EventQueue {
    /// Schedules `event` at `at` (ns).
    pub(crate) fn push(&mut self, at: u64, event: Event) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Scheduled { at, seq, event });
    }

    /// When the next event is due.
    pub(crate) fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|s| s.at)
    }

    /// The next event and its time.
    pub(crate) fn pop(&mut self) -> Option<(u64, Event)> {
        self.heap.pop().map(|s| (s.at, s.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_then_insertion_order() {
        let mut q = EventQueue::default();
        q.push(5, Event::Chaos);
        q.push(3, Event::Heal);
        q.push(5, Event::LivenessDeadline);
        q.push(3, Event::Chaos);
        let order: Vec<(u64, Event)> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![
                (3, Event::Heal),
                (3, Event::Chaos),
                (5, Event::Chaos),
                (5, Event::LivenessDeadline)
            ]
        );
    }
}
