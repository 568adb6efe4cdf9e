//! **Linearizable writes**, checked on a client history after the run: every operation on a
//! znode appears to take effect at one instant between its call and its reply, in an order
//! that respects real time and ZooKeeper's semantics for that znode (create, setData and delete
//! with their version checks, reads).
//!
//! Source: ZooKeeper Programmer's Guide, *Consistency guarantees* ("Linearizable writes: all
//! requests that update the state of ZooKeeper are serializable and respect precedence").
//! Plain reads are *not* linearizable in ZooKeeper (a follower answers from its own, possibly
//! older, state), so a history fed to this checker holds writes, and reads only where the
//! caller knows they must be linearizable.
//!
//! The search is Wing & Gong's, with Lowe's memoisation of (linearized set, state), one znode
//! at a time (linearizability is local: a history is linearizable iff each object's is). An
//! operation without a reply may have taken effect or not: it is placed anywhere after its
//! call, or never. The search is bounded by a step budget; past it the verdict is
//! [`Verdict::Unknown`], never a pass.
//!
//! [`check_znode_sessions`] adds ZooKeeper's other guarantee, FIFO client order: when each
//! `client` is one session, a session's requests take effect in the order it sent them, so an
//! operation without a reply took effect before the session's next answered operation did, or
//! never. Histories with many lost replies (partitions, kills) are decided far more often.

use std::collections::{BTreeMap, HashSet};

/// What a client asked of one znode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZnodeOp {
    /// `create` with this data.
    Create(Vec<u8>),
    /// `setData` with this data, if the version is `version` (-1: any).
    SetData(Vec<u8>, i32),
    /// `delete`, if the version is `version` (-1: any).
    Delete(i32),
    /// `getData`.
    Read,
}

/// What the server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `create` succeeded.
    Created,
    /// `setData` succeeded; the znode's new version.
    Set(i32),
    /// `delete` succeeded.
    Deleted,
    /// `getData` succeeded: data and version.
    Data(Vec<u8>, i32),
    /// NONODE.
    NoNode,
    /// NODEEXISTS.
    NodeExists,
    /// BADVERSION.
    BadVersion,
}

/// One operation of the history. `reply: None` means no answer ever came (connection lost,
/// the run ended): the operation may or may not have happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// Who issued it (for reports).
    pub client: u64,
    /// When it was sent.
    pub call: u64,
    /// When its answer arrived, and the answer.
    pub reply: Option<(u64, Answer)>,
    /// What it asked.
    pub op: ZnodeOp,
}

/// The checker's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some order explains every answer.
    Linearizable,
    /// No order does; the text names the operation that cannot be placed.
    Violation(String),
    /// The step budget ran out first.
    Unknown,
}

/// A znode as the sequential specification sees it: data (interned) and version.
type State = Option<(u32, i32)>;

/// Interned data, so that states are small and cheap to remember.
#[derive(Default)]
struct Interner(BTreeMap<Vec<u8>, u32>);

impl Interner {
    fn id(&mut self, data: &[u8]) -> u32 {
        let next = self.0.len() as u32;
        *self.0.entry(data.to_vec()).or_insert(next)
    }
}

/// The operation with its data interned.
#[derive(Clone, Copy, Debug)]
enum Op {
    Create(u32),
    SetData(u32, i32),
    Delete(i32),
    Read,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Out {
    Created,
    Set(i32),
    Deleted,
    Data(u32, i32),
    NoNode,
    NodeExists,
    BadVersion,
}

/// ZooKeeper's sequential semantics for one znode: the answer and the next state.
fn step(state: State, op: Op) -> (Out, State) {
    let version_ok = |want: i32, have: i32| want == -1 || want == have;
    match (op, state) {
        (Op::Create(_), Some(_)) => (Out::NodeExists, state),
        (Op::Create(d), None) => (Out::Created, Some((d, 0))),
        (Op::SetData(..) | Op::Delete(_) | Op::Read, None) => (Out::NoNode, None),
        (Op::SetData(d, want), Some((_, v))) if version_ok(want, v) => {
            let next = v.wrapping_add(1);
            (Out::Set(next), Some((d, next)))
        }
        (Op::Delete(want), Some((_, v))) if version_ok(want, v) => (Out::Deleted, None),
        (Op::SetData(..) | Op::Delete(_), Some(_)) => (Out::BadVersion, state),
        (Op::Read, Some((d, v))) => (Out::Data(d, v), state),
    }
}

struct Prepared {
    ops: Vec<Op>,
    /// The observed answer; `None`: unknown (any answer fits).
    outs: Vec<Option<Out>>,
    calls: Vec<u64>,
    /// Reply times; for an operation without one, `u64::MAX`, or with FIFO client order the
    /// reply time of its session's next answered operation (it took effect before, or never).
    rets: Vec<u64>,
    /// With FIFO client order: the unanswered operations of the same session that must be
    /// placed or dropped before this answered one takes effect.
    after_lost: Vec<Vec<usize>>,
}

impl Prepared {
    /// FIFO client order: bounds each unanswered operation by its client's next answered one.
    fn bound_by_sessions(&mut self, history: &[Operation]) {
        for i in 0..history.len() {
            if self.outs[i].is_some() {
                continue;
            }
            let next = (0..history.len())
                .filter(|&j| {
                    history[j].client == history[i].client
                        && self.outs[j].is_some()
                        && self.calls[j] > self.calls[i]
                })
                .min_by_key(|&j| self.calls[j]);
            if let Some(j) = next {
                self.rets[i] = self.rets[j];
                self.after_lost[j].push(i);
            }
        }
    }
}

fn prepare(history: &[Operation], initial: Option<(&[u8], i32)>) -> (Prepared, State) {
    let mut names = Interner::default();
    let state = initial.map(|(d, v)| (names.id(d), v));
    let mut p = Prepared {
        ops: Vec::new(),
        outs: Vec::new(),
        calls: Vec::new(),
        rets: Vec::new(),
        after_lost: vec![Vec::new(); history.len()],
    };
    for o in history {
        p.ops.push(match &o.op {
            ZnodeOp::Create(d) => Op::Create(names.id(d)),
            ZnodeOp::SetData(d, v) => Op::SetData(names.id(d), *v),
            ZnodeOp::Delete(v) => Op::Delete(*v),
            ZnodeOp::Read => Op::Read,
        });
        p.outs.push(o.reply.as_ref().map(|(_, a)| match a {
            Answer::Created => Out::Created,
            Answer::Set(v) => Out::Set(*v),
            Answer::Deleted => Out::Deleted,
            Answer::Data(d, v) => Out::Data(names.id(d), *v),
            Answer::NoNode => Out::NoNode,
            Answer::NodeExists => Out::NodeExists,
            Answer::BadVersion => Out::BadVersion,
        }));
        p.calls.push(o.call);
        // A reply at the very instant of a call is taken as concurrent with it.
        p.rets.push(o.reply.as_ref().map_or(u64::MAX, |(t, _)| *t));
    }
    (p, state)
}

const NIL: usize = usize::MAX;

/// Checks one znode's history, starting from `initial` (`None`: the znode does not exist),
/// within `budget` search steps.
pub fn check_znode(history: &[Operation], initial: Option<(&[u8], i32)>, budget: u64) -> Verdict {
    let (p, state) = prepare(history, initial);
    search(history, p, state, budget)
}

/// [`check_znode`] where each `client` is one ZooKeeper session, whose requests take effect in
/// the order it sent them (FIFO client order): an operation without a reply took effect before
/// its session's next answered operation, or never.
pub fn check_znode_sessions(
    history: &[Operation],
    initial: Option<(&[u8], i32)>,
    budget: u64,
) -> Verdict {
    let (mut p, state) = prepare(history, initial);
    p.bound_by_sessions(history);
    search(history, p, state, budget)
}

fn search(history: &[Operation], p: Prepared, mut state: State, budget: u64) -> Verdict {
    let n = p.ops.len();
    // Events: (time, is_return, op). Calls sort before returns at the same time, so equal
    // times count as overlapping (never as "finished before").
    let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * n);
    for i in 0..n {
        events.push((p.calls[i], false, i));
        events.push((p.rets[i], true, i));
    }
    events.sort_unstable();
    let len = events.len();
    let mut next: Vec<usize> = (1..=len).map(|i| if i == len { NIL } else { i }).collect();
    let mut prev: Vec<usize> = (0..len).map(|i| i.wrapping_sub(1)).collect();
    if len > 0 {
        prev[0] = NIL;
    }
    let mut ret_of = vec![0usize; n];
    for (e, &(_, is_ret, op)) in events.iter().enumerate() {
        if is_ret {
            ret_of[op] = e;
        }
    }
    let mut head = if len == 0 { NIL } else { 0 };

    // Unlinks an event; its neighbours keep pointing past it until it is relinked (events
    // are relinked in the reverse order of unlinking, so this is exact).
    fn unlink(e: usize, head: &mut usize, next: &mut [usize], prev: &mut [usize]) {
        let (p, q) = (prev[e], next[e]);
        if p == NIL {
            *head = q;
        } else {
            next[p] = q;
        }
        if q != NIL {
            prev[q] = p;
        }
    }
    fn relink(e: usize, head: &mut usize, next: &mut [usize], prev: &mut [usize]) {
        let (p, q) = (prev[e], next[e]);
        if p == NIL {
            *head = e;
        } else {
            next[p] = e;
        }
        if q != NIL {
            prev[q] = e;
        }
    }

    let words = n.div_ceil(64).max(1);
    let mut done = vec![0u64; words];
    let mut seen: HashSet<(Vec<u64>, State)> = HashSet::new();
    // (call event, state before, whether the operation was dropped: never took effect).
    let mut stack: Vec<(usize, State, bool)> = Vec::new();
    // The deepest the search got, and the answered operation it could not place there.
    let mut deepest = 0usize;
    let mut stuck = None;
    let mut entry = head;
    let mut steps = 0u64;
    while head != NIL {
        steps += 1;
        if steps > budget {
            return Verdict::Unknown;
        }
        if entry == NIL {
            // Every candidate at this depth failed: undo the latest choice.
            let Some((call_event, before, dropped)) = stack.pop() else {
                return violation(history, &p, stuck, deepest);
            };
            let op = events[call_event].2;
            state = before;
            done[op / 64] &= !(1 << (op % 64));
            relink(ret_of[op], &mut head, &mut next, &mut prev);
            relink(call_event, &mut head, &mut next, &mut prev);
            if dropped {
                // Dropping was the last choice at this call event.
                entry = next[call_event];
            } else if p.outs[op].is_none() && p.rets[op] != u64::MAX {
                // Placing failed; dropping it is still to try.
                done[op / 64] |= 1 << (op % 64);
                if seen.insert((done.clone(), state)) {
                    stack.push((call_event, state, true));
                    deepest = deepest.max(stack.len());
                    unlink(call_event, &mut head, &mut next, &mut prev);
                    unlink(ret_of[op], &mut head, &mut next, &mut prev);
                    entry = head;
                } else {
                    done[op / 64] &= !(1 << (op % 64));
                    entry = next[call_event];
                }
            } else {
                entry = next[call_event];
            }
            continue;
        }
        let (_, is_ret, op) = events[entry];
        if is_ret {
            // An operation that returned is still unplaced: nothing after this point can
            // come first. Backtrack.
            if stack.len() >= deepest {
                stuck = Some(op);
            }
            entry = NIL;
            continue;
        }
        // FIFO client order: the session's earlier lost requests are settled first.
        let ready = p.after_lost[op]
            .iter()
            .all(|&k| done[k / 64] & (1 << (k % 64)) != 0);
        let (out, after) = step(state, p.ops[op]);
        if ready && p.outs[op].is_none_or(|o| o == out) {
            done[op / 64] |= 1 << (op % 64);
            if seen.insert((done.clone(), after)) {
                stack.push((entry, state, false));
                deepest = deepest.max(stack.len());
                state = after;
                unlink(entry, &mut head, &mut next, &mut prev);
                unlink(ret_of[op], &mut head, &mut next, &mut prev);
                entry = head;
                continue;
            }
            done[op / 64] &= !(1 << (op % 64));
        }
        // A lost request bounded by its session's next one may also never have taken effect:
        // drop it here (the state stays as it is).
        if p.outs[op].is_none() && p.rets[op] != u64::MAX {
            done[op / 64] |= 1 << (op % 64);
            if seen.insert((done.clone(), state)) {
                stack.push((entry, state, true));
                deepest = deepest.max(stack.len());
                unlink(entry, &mut head, &mut next, &mut prev);
                unlink(ret_of[op], &mut head, &mut next, &mut prev);
                entry = head;
                continue;
            }
            done[op / 64] &= !(1 << (op % 64));
        }
        entry = next[entry];
    }
    Verdict::Linearizable
}

fn violation(history: &[Operation], p: &Prepared, stuck: Option<usize>, deepest: usize) -> Verdict {
    // The operation the deepest attempt could not place is the one to look at first.
    let stuck = stuck.unwrap_or(0);
    let o = &history[stuck];
    let mut text = format!(
        "no order of the {} operations explains them all (at most {deepest} placed); \
         client {} {:?} called at {} answered {:?}; around it:",
        history.len(),
        o.client,
        o.op,
        o.call,
        o.reply
    );
    // Its neighbourhood: what overlapped it, and what finished just before it was called.
    let (from, until) = (o.call, p.rets[stuck]);
    let mut near: Vec<&Operation> = history
        .iter()
        .filter(|h| h.call <= until && h.reply.as_ref().is_none_or(|(t, _)| *t >= from))
        .collect();
    let mut before: Vec<&Operation> = history
        .iter()
        .filter(|h| h.reply.as_ref().is_some_and(|(t, _)| *t < from))
        .collect();
    before.sort_by_key(|h| h.reply.as_ref().map(|(t, _)| *t));
    near.extend(before.iter().rev().take(4));
    near.sort_by_key(|h| h.call);
    for h in near.iter().take(16) {
        text.push_str(&format!(
            "\n  client {} {:?} called at {} answered {:?}",
            h.client, h.op, h.call, h.reply
        ));
    }
    Verdict::Violation(text)
}

/// Checks a history of many znodes, each from its initial state, `budget` steps per znode.
/// The first violation wins; otherwise any znode out of budget makes the verdict unknown.
pub fn check<'a>(
    znodes: impl IntoIterator<Item = (&'a str, &'a [Operation], Option<(&'a [u8], i32)>)>,
    budget: u64,
) -> (Verdict, usize) {
    let mut unknown = 0;
    for (path, history, initial) in znodes {
        match check_znode(history, initial, budget) {
            Verdict::Linearizable => {}
            Verdict::Unknown => unknown += 1,
            Verdict::Violation(why) => {
                return (Verdict::Violation(format!("{path}: {why}")), unknown)
            }
        }
    }
    let verdict = if unknown == 0 {
        Verdict::Linearizable
    } else {
        Verdict::Unknown
    };
    (verdict, unknown)
}

/// The same question answered by brute force, for tiny histories only (every order of every
/// subset of the unanswered operations): the oracle the search is tested against.
pub fn brute_force(history: &[Operation], initial: Option<(&[u8], i32)>) -> bool {
    let (p, state) = prepare(history, initial);
    brute(&p, state)
}

/// [`brute_force`] with FIFO client order ([`check_znode_sessions`]'s question).
pub fn brute_force_sessions(history: &[Operation], initial: Option<(&[u8], i32)>) -> bool {
    let (mut p, state) = prepare(history, initial);
    p.bound_by_sessions(history);
    brute(&p, state)
}

fn brute(p: &Prepared, state: State) -> bool {
    let n = p.ops.len();
    assert!(n <= 10, "brute force is for tiny histories");
    fn go(p: &Prepared, placed: &mut Vec<bool>, state: State) -> bool {
        let n = p.ops.len();
        // Done when every answered operation is placed (the others may never have happened).
        if (0..n).all(|i| placed[i] || p.outs[i].is_none()) {
            return true;
        }
        for i in 0..n {
            if placed[i] {
                continue;
            }
            // i may go next only if no unplaced operation finished before i was called, and
            // (FIFO client order) its session's earlier lost requests are settled.
            if (0..n).any(|j| !placed[j] && j != i && p.rets[j] < p.calls[i])
                || p.after_lost[i].iter().any(|&k| !placed[k])
            {
                continue;
            }
            let (out, after) = step(state, p.ops[i]);
            placed[i] = true;
            if p.outs[i].is_none_or(|o| o == out) && go(p, placed, after) {
                return true;
            }
            // An unanswered operation may also never have taken effect.
            if p.outs[i].is_none() && go(p, placed, state) {
                return true;
            }
            placed[i] = false;
        }
        false
    }
    go(p, &mut vec![false; n], state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use conclave_core::rng::Prng;

    fn op(client: u64, call: u64, ret: Option<u64>, op: ZnodeOp, answer: Answer) -> Operation {
        Operation {
            client,
            call,
            reply: ret.map(|t| (t, answer)),
            op,
        }
    }

    fn set(d: &str) -> ZnodeOp {
        ZnodeOp::SetData(d.as_bytes().to_vec(), -1)
    }

    #[test]
    fn concurrent_writes_in_either_order_pass_and_real_time_is_respected() {
        // Two overlapping writes may take versions 1 and 2 in either order.
        let h = [
            op(1, 0, Some(10), set("a"), Answer::Set(2)),
            op(2, 1, Some(9), set("b"), Answer::Set(1)),
        ];
        assert_eq!(
            check_znode(&h, Some((b"", 0)), 1_000),
            Verdict::Linearizable
        );
        // Once the first has returned before the second is called, it must come first.
        let h = [
            op(1, 0, Some(5), set("a"), Answer::Set(2)),
            op(2, 6, Some(9), set("b"), Answer::Set(1)),
        ];
        assert!(matches!(
            check_znode(&h, Some((b"", 0)), 1_000),
            Verdict::Violation(_)
        ));
    }

    #[test]
    fn a_lost_acknowledged_write_is_a_violation() {
        // Both acknowledged, then a read sees only the first: the second was lost.
        let h = [
            op(1, 0, Some(1), set("a"), Answer::Set(1)),
            op(1, 2, Some(3), set("b"), Answer::Set(2)),
            op(2, 4, Some(5), ZnodeOp::Read, Answer::Data(b"a".to_vec(), 1)),
        ];
        assert!(matches!(
            check_znode(&h, Some((b"", 0)), 1_000),
            Verdict::Violation(_)
        ));
    }

    #[test]
    fn an_unanswered_write_may_have_happened_or_not() {
        let pending = op(1, 0, None, set("x"), Answer::Created);
        let happened = [
            pending.clone(),
            op(2, 5, Some(6), ZnodeOp::Read, Answer::Data(b"x".to_vec(), 1)),
        ];
        let not = [
            pending,
            op(2, 5, Some(6), ZnodeOp::Read, Answer::Data(b"".to_vec(), 0)),
        ];
        for h in [&happened[..], &not[..]] {
            assert_eq!(check_znode(h, Some((b"", 0)), 1_000), Verdict::Linearizable);
        }
    }

    #[test]
    fn versions_creates_and_deletes_follow_zookeeper() {
        let h = [
            op(
                1,
                0,
                Some(1),
                ZnodeOp::Create(b"a".to_vec()),
                Answer::Created,
            ),
            op(
                1,
                2,
                Some(3),
                ZnodeOp::Create(b"b".to_vec()),
                Answer::NodeExists,
            ),
            op(
                1,
                4,
                Some(5),
                ZnodeOp::SetData(b"c".to_vec(), 3),
                Answer::BadVersion,
            ),
            op(
                1,
                6,
                Some(7),
                ZnodeOp::SetData(b"c".to_vec(), 0),
                Answer::Set(1),
            ),
            op(1, 8, Some(9), ZnodeOp::Delete(0), Answer::BadVersion),
            op(1, 10, Some(11), ZnodeOp::Delete(1), Answer::Deleted),
            op(1, 12, Some(13), ZnodeOp::Read, Answer::NoNode),
        ];
        assert_eq!(check_znode(&h, None, 1_000), Verdict::Linearizable);
    }

    #[test]
    fn an_exhausted_budget_is_unknown_never_a_pass() {
        // Many overlapping unanswered writes and a read no order explains.
        let mut h: Vec<Operation> = (0..40)
            .map(|i| op(i, i, None, set(&format!("w{i}")), Answer::Created))
            .collect();
        h.push(op(
            99,
            100,
            Some(101),
            ZnodeOp::Read,
            Answer::Data(b"never".to_vec(), 7),
        ));
        assert_eq!(check_znode(&h, Some((b"", 0)), 10_000), Verdict::Unknown);
    }

    /// A random tiny history: `clients` sequential clients run random operations whose
    /// effects happen at random instants inside their intervals (so the true history is
    /// linearizable), some answers are dropped, and with `corrupt` one answer is altered
    /// (which may or may not break linearizability). With `vanish`, some operations without a
    /// reply never took effect at all (a request lost with its connection), as in a session's
    /// history.
    fn random_history_with(
        rng: &mut Prng,
        corrupt: bool,
        vanish: bool,
    ) -> (Vec<Operation>, Option<(Vec<u8>, i32)>) {
        let initial = if rng.chance(500_000) {
            Some((b"i".to_vec(), 0))
        } else {
            None
        };
        let n = 1 + rng.below(7) as usize;
        let clients = 1 + rng.below(3);
        let mut free_at = vec![0u64; clients as usize];
        // (linearization instant, index) decides the true order.
        let mut ops: Vec<(u64, Operation)> = Vec::new();
        for _ in 0..n {
            let c = rng.below(clients) as usize;
            let call = free_at[c] + rng.below(4);
            let at = call + rng.below(6);
            let ret = at + rng.below(6);
            free_at[c] = ret + 1;
            let data = vec![b'a' + rng.below(3) as u8];
            let version = rng.below(4) as i32 - 1;
            let z = match rng.below(4) {
                0 => ZnodeOp::Create(data),
                1 => ZnodeOp::SetData(data, version),
                2 => ZnodeOp::Delete(version),
                _ => ZnodeOp::Read,
            };
            ops.push((
                at,
                Operation {
                    client: c as u64,
                    call,
                    reply: Some((ret, Answer::Created)),
                    op: z,
                },
            ));
        }
        ops.sort_by_key(|(at, o)| (*at, o.call));
        let mut state: Option<(Vec<u8>, i32)> = initial.clone();
        for (_, o) in ops.iter_mut() {
            if vanish && rng.chance(100_000) {
                o.reply = None;
                continue;
            }
            let answer = match (&o.op, &state) {
                (ZnodeOp::Create(_), Some(_)) => Answer::NodeExists,
                (ZnodeOp::Create(d), None) => {
                    state = Some((d.clone(), 0));
                    Answer::Created
                }
                (_, None) => Answer::NoNode,
                (ZnodeOp::SetData(d, want), Some((_, v))) if *want == -1 || want == v => {
                    let v = v + 1;
                    state = Some((d.clone(), v));
                    Answer::Set(v)
                }
                (ZnodeOp::Delete(want), Some((_, v))) if *want == -1 || want == v => {
                    state = None;
                    Answer::Deleted
                }
                (ZnodeOp::SetData(..) | ZnodeOp::Delete(_), Some(_)) => Answer::BadVersion,
                (ZnodeOp::Read, Some((d, v))) => Answer::Data(d.clone(), *v),
            };
            if let Some((_, a)) = o.reply.as_mut() {
                *a = answer;
            }
            if rng.chance(150_000) {
                o.reply = None;
            }
        }
        let mut history: Vec<Operation> = ops.into_iter().map(|(_, o)| o).collect();
        if corrupt {
            let i = rng.below(history.len() as u64) as usize;
            if let Some((_, a)) = history[i].reply.as_mut() {
                *a = match rng.below(4) {
                    0 => Answer::Set(rng.below(4) as i32),
                    1 => Answer::Data(vec![b'a' + rng.below(3) as u8], rng.below(3) as i32),
                    2 => Answer::NoNode,
                    _ => Answer::BadVersion,
                };
            }
        }
        (history, initial)
    }

    type Oracle = fn(&[Operation], Option<(&[u8], i32)>) -> bool;
    type Search = fn(&[Operation], Option<(&[u8], i32)>, u64) -> Verdict;

    /// Runs `search` and `oracle` on 6 000 random tiny histories (every other one corrupted)
    /// and fails on any disagreement; how many the oracle rejected, and the lost replies.
    fn agreement(seed: u64, vanish: bool, oracle: Oracle, search: Search) -> (usize, usize) {
        let mut rng = Prng::new(seed);
        let (mut rejected, mut lost) = (0, 0);
        for case in 0..6_000 {
            let corrupt = case % 2 == 1;
            let (h, initial) = random_history_with(&mut rng, corrupt, vanish);
            let init = initial.as_ref().map(|(d, v)| (d.as_slice(), *v));
            let truth = oracle(&h, init);
            assert!(
                truth || corrupt,
                "seed {seed} case {case}: a true history must pass the oracle: {h:?}"
            );
            match search(&h, init, 1_000_000) {
                Verdict::Linearizable => assert!(truth, "seed {seed} case {case}: {h:?}"),
                Verdict::Violation(_) => assert!(!truth, "seed {seed} case {case}: {h:?}"),
                Verdict::Unknown => panic!("seed {seed} case {case}: budget on a tiny history"),
            }
            // FIFO order only ever refuses more: what it accepts, plain order accepts.
            assert!(
                !truth || brute_force(&h, init),
                "seed {seed} case {case}: accepted, but not linearizable at all: {h:?}"
            );
            rejected += usize::from(!truth);
            lost += h.iter().filter(|o| o.reply.is_none()).count();
        }
        (rejected, lost)
    }

    #[test]
    fn the_search_agrees_with_brute_force_on_thousands_of_tiny_histories() {
        let (rejected, _) = agreement(0x11_2026, false, brute_force, check_znode);
        // The generator must exercise both verdicts, or the agreement proves little.
        assert!(rejected > 600, "only {rejected} of 6 000 rejected");
    }

    /// FIFO client order, against its brute-force oracle, on histories where requests are
    /// lost with their replies: some took effect, some never did.
    #[test]
    fn the_session_search_agrees_with_brute_force_on_thousands_of_tiny_histories() {
        let (rejected, lost) =
            agreement(0x12_2026, true, brute_force_sessions, check_znode_sessions);
        assert!(rejected > 600, "only {rejected} of 6 000 rejected");
        assert!(lost > 1_500, "only {lost} lost replies in 6 000 histories");
    }

    /// A lost write its session's next answered operation did not see cannot have taken
    /// effect after it: plain linearizability lets it float to the end, FIFO order does not.
    #[test]
    fn fifo_order_refuses_a_lost_write_that_lands_after_the_sessions_next_one() {
        let h = vec![
            op(1, 0, None, set("x"), Answer::Set(0)),
            op(
                1,
                10,
                Some(20),
                ZnodeOp::Read,
                Answer::Data(b"".to_vec(), 0),
            ),
            op(
                2,
                30,
                Some(40),
                ZnodeOp::Read,
                Answer::Data(b"x".to_vec(), 1),
            ),
        ];
        assert_eq!(
            check_znode(&h, Some((b"", 0)), 1_000),
            Verdict::Linearizable
        );
        assert!(matches!(
            check_znode_sessions(&h, Some((b"", 0)), 1_000),
            Verdict::Violation(_)
        ));
        // Never taking effect is allowed: the same history without the late read passes.
        assert_eq!(
            check_znode_sessions(&h[..2], Some((b"", 0)), 1_000),
            Verdict::Linearizable
        );
    }
}
