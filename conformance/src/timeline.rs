//! A picture of one seed's run (`sim --timeline FILE`): an HTML page holding one SVG, one lane
//! per member. Each lane shows the member's role over time (coloured by role, labelled with
//! its epoch, the last zxid in the tooltip), the time it was down, the faults that hit it,
//! and beneath it the client writes it acknowledged (per 250 ms). The heal instant and a
//! violation, if any, are vertical lines. Hover anything for details.

use std::collections::BTreeMap;
use std::fmt::Write;

use conclave_core::{Role, ServerId, Zxid};

const MS: u64 = 1_000_000;
/// Width of a client-acknowledgement bucket, ns.
const BUCKET_NS: u64 = 250 * MS;

#[derive(Clone, Debug)]
struct Span {
    from: u64,
    to: Option<u64>,
    role: Option<Role>,
    epoch: u32,
    last_zxid: Zxid,
}

#[derive(Clone, Debug)]
struct Mark {
    at: u64,
    node: Option<ServerId>,
    text: String,
    kind: MarkKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MarkKind {
    Fault,
    Leader,
    Violation,
}

/// What the timeline records while a run goes.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    lanes: BTreeMap<ServerId, Vec<Span>>,
    marks: Vec<Mark>,
    /// (server, bucket) → client writes acknowledged there.
    acks: BTreeMap<(ServerId, u64), u32>,
    heal_at: u64,
    end: u64,
}

impl Timeline {
    /// An empty timeline for `ids`, healing at `heal_at` ns.
    pub fn new(ids: &[ServerId], heal_at: u64) -> Timeline {
        Timeline {
            lanes: ids.iter().map(|&id| (id, Vec::new())).collect(),
            heal_at,
            ..Timeline::default()
        }
    }

    fn close(&mut self, node: ServerId, at: u64, last_zxid: Zxid) {
        if let Some(s) = self.lanes.get_mut(&node).and_then(|l| l.last_mut()) {
            if s.to.is_none() {
                s.to = Some(at);
                s.last_zxid = last_zxid;
            }
        }
    }

    fn open(&mut self, node: ServerId, at: u64, role: Option<Role>, epoch: u32, last_zxid: Zxid) {
        self.close(node, at, last_zxid);
        if let Some(l) = self.lanes.get_mut(&node) {
            l.push(Span {
                from: at,
                to: None,
                role,
                epoch,
                last_zxid,
            });
        }
    }

    /// `node` started (looking) at `at`.
    pub fn started(&mut self, node: ServerId, at: u64, epoch: u32, last_zxid: Zxid) {
        self.open(node, at, Some(Role::Looking), epoch, last_zxid);
    }

    /// `node`'s role changed.
    pub fn role(&mut self, node: ServerId, at: u64, role: Role, epoch: u32, last_zxid: Zxid) {
        self.open(node, at, Some(role), epoch, last_zxid);
    }

    /// `node` went down (crash, halt).
    pub fn down(&mut self, node: ServerId, at: u64, last_zxid: Zxid, why: &str) {
        self.open(node, at, None, 0, last_zxid);
        self.fault(at, Some(node), why.to_string());
    }

    /// A fault (or any note worth a marker); `node` if it concerns one member.
    pub fn fault(&mut self, at: u64, node: Option<ServerId>, text: String) {
        self.marks.push(Mark {
            at,
            node,
            text,
            kind: MarkKind::Fault,
        });
    }

    /// `node` now serves in `epoch` (synced follower or observer): its span shows that epoch.
    pub fn synced(&mut self, node: ServerId, epoch: u32) {
        if let Some(s) = self.lanes.get_mut(&node).and_then(|l| l.last_mut()) {
            if s.to.is_none() {
                s.epoch = epoch;
            }
        }
    }

    /// `node` established leadership of `epoch`.
    pub fn established(&mut self, node: ServerId, at: u64, epoch: u32) {
        self.synced(node, epoch);
        self.marks.push(Mark {
            at,
            node: Some(node),
            text: format!("n{node} established epoch {epoch}"),
            kind: MarkKind::Leader,
        });
    }

    /// A client write was acknowledged by `node`.
    pub fn acked(&mut self, node: ServerId, at: u64) {
        *self.acks.entry((node, at / BUCKET_NS)).or_insert(0) += 1;
    }

    /// The run stopped on a violation.
    pub fn violation(&mut self, at: u64, node: Option<ServerId>, text: String) {
        self.marks.push(Mark {
            at,
            node,
            text,
            kind: MarkKind::Violation,
        });
    }

    /// The run ended at `at`.
    pub fn end(&mut self, at: u64) {
        self.end = self.end.max(at);
    }

    /// The page: `title` on top, the SVG below.
    pub fn html(&self, title: &str) -> String {
        let end = self
            .lanes
            .values()
            .flat_map(|l| l.iter().map(|s| s.to.unwrap_or(s.from)))
            .chain(self.marks.iter().map(|m| m.at))
            .chain([self.end, 1])
            .max()
            .unwrap_or(1);
        let (left, width, lane_h, top) = (70.0, 1400.0, 46.0, 30.0);
        let x = |t: u64| left + width * t as f64 / end as f64;
        let height = top + lane_h * self.lanes.len() as f64 + 40.0;
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" font-family="monospace" font-size="11">"#,
            left + width + 20.0
        );
        // Time axis: one tick per second (per 10 s past a minute).
        let step = if end > 60_000 * MS {
            10_000 * MS
        } else {
            1_000 * MS
        };
        let mut t = 0;
        while t <= end {
            let _ = write!(
                svg,
                r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="#ddd"/><text x="{0:.1}" y="{3}" text-anchor="middle" fill="#666">{4}s</text>"##,
                x(t),
                top - 8.0,
                height - 30.0,
                height - 15.0,
                t / (1_000 * MS)
            );
            t += step;
        }
        let row_of: BTreeMap<ServerId, f64> = self
            .lanes
            .keys()
            .enumerate()
            .map(|(i, &id)| (id, top + lane_h * i as f64))
            .collect();
        for (&id, spans) in &self.lanes {
            let y = row_of[&id];
            let _ = write!(
                svg,
                r##"<text x="8" y="{:.1}" fill="#222">n{id}</text>"##,
                y + 16.0
            );
            for s in spans {
                let to = s.to.unwrap_or(end);
                let (x0, x1) = (x(s.from), x(to).max(x(s.from) + 0.5));
                let (colour, name) = match s.role {
                    None => ("#bbb", "down"),
                    Some(Role::Looking) => ("#f2d16b", "LOOKING"),
                    Some(Role::Following) => ("#7fa7e0", "FOLLOWING"),
                    Some(Role::Leading) => ("#5cb85c", "LEADING"),
                    Some(Role::Observing) => ("#9ad0d0", "OBSERVING"),
                    Some(Role::Halted) => ("#d9534f", "HALTED"),
                };
                let _ = write!(
                    svg,
                    r#"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="20" fill="{colour}"><title>n{id} {name} epoch {} from {:.3}s to {:.3}s, last zxid {}</title></rect>"#,
                    y + 2.0,
                    x1 - x0,
                    s.epoch,
                    s.from as f64 / 1e9,
                    to as f64 / 1e9,
                    s.last_zxid
                );
                if s.role.is_some() && x1 - x0 > 34.0 {
                    let _ = write!(
                        svg,
                        r##"<text x="{:.1}" y="{:.1}" fill="#111">e{}</text>"##,
                        x0 + 3.0,
                        y + 16.0,
                        s.epoch
                    );
                }
            }
            // Client acknowledgements beneath the lane.
            let max = self.acks.values().copied().max().unwrap_or(1).max(1) as f64;
            for (&(node, bucket), &n) in self.acks.range((id, 0)..=(id, u64::MAX)) {
                debug_assert_eq!(node, id);
                let h = 14.0 * n as f64 / max;
                let _ = write!(
                    svg,
                    r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="#555"><title>n{id}: {n} client write(s) acknowledged in {:.2}–{:.2}s</title></rect>"##,
                    x(bucket * BUCKET_NS),
                    y + 38.0 - h,
                    (x((bucket + 1) * BUCKET_NS) - x(bucket * BUCKET_NS) - 0.5).max(0.5),
                    (bucket * BUCKET_NS) as f64 / 1e9,
                    ((bucket + 1) * BUCKET_NS) as f64 / 1e9
                );
            }
        }
        for m in &self.marks {
            let xm = x(m.at);
            let text = escape(&m.text);
            match (m.kind, m.node.and_then(|n| row_of.get(&n))) {
                (MarkKind::Violation, _) => {
                    let _ = write!(
                        svg,
                        r##"<line x1="{xm:.1}" y1="{}" x2="{xm:.1}" y2="{}" stroke="#c00" stroke-width="2"><title>VIOLATION {text}</title></line>"##,
                        top - 10.0,
                        height - 30.0
                    );
                }
                (MarkKind::Leader, Some(&y)) => {
                    let _ = write!(
                        svg,
                        r##"<circle cx="{xm:.1}" cy="{:.1}" r="3.5" fill="#1a6b1a"><title>{:.3}s {text}</title></circle>"##,
                        y + 12.0,
                        m.at as f64 / 1e9
                    );
                }
                (_, Some(&y)) => {
                    let _ = write!(
                        svg,
                        r##"<path d="M{xm:.1},{:.1} l-4,-7 h8 z" fill="#e07b00"><title>{:.3}s {text}</title></path>"##,
                        y + 2.0,
                        m.at as f64 / 1e9
                    );
                }
                (_, None) => {
                    let _ = write!(
                        svg,
                        r##"<path d="M{xm:.1},{:.1} l-4,-7 h8 z" fill="#a04000"><title>{:.3}s {text}</title></path>"##,
                        top - 2.0,
                        m.at as f64 / 1e9
                    );
                }
            }
        }
        if self.heal_at > 0 && self.heal_at <= end {
            let xh = x(self.heal_at);
            let _ = write!(
                svg,
                r##"<line x1="{xh:.1}" y1="{}" x2="{xh:.1}" y2="{}" stroke="#333" stroke-dasharray="4 3"><title>heal: faults stop at {:.3}s</title></line>"##,
                top - 10.0,
                height - 30.0,
                self.heal_at as f64 / 1e9
            );
        }
        svg.push_str("</svg>");
        format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body style=\"font-family:sans-serif\"><h3>{t}</h3>\
             <p>Lanes: <span style=\"background:#f2d16b\">LOOKING</span> \
             <span style=\"background:#7fa7e0\">FOLLOWING</span> \
             <span style=\"background:#5cb85c\">LEADING</span> \
             <span style=\"background:#9ad0d0\">OBSERVING</span> \
             <span style=\"background:#bbb\">down</span>; e<i>N</i> = epoch; \
             &#9660; fault (top row: ensemble-wide); &#9679; leadership established; \
             grey bars: client writes acknowledged per 250 ms; dashed: heal; red: violation. \
             Hover for details.</p>\n{svg}\n</body></html>\n",
            t = escape(title)
        )
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_shows_roles_faults_clients_and_the_violation() {
        let mut t = Timeline::new(&[1, 2], 2_000 * MS);
        t.started(1, 0, 0, Zxid::ZERO);
        t.started(2, 0, 0, Zxid::ZERO);
        t.role(1, 300 * MS, Role::Leading, 1, Zxid::ZERO);
        t.role(2, 300 * MS, Role::Following, 1, Zxid::ZERO);
        t.established(1, 310 * MS, 1);
        t.acked(1, 400 * MS);
        t.acked(1, 420 * MS);
        t.down(2, 1_000 * MS, Zxid::new(1, 7), "crash <machine>");
        t.violation(2_500 * MS, Some(1), "a & b".into());
        t.end(3_000 * MS);
        let html = t.html("seed 1");
        for needle in [
            "n1 LEADING epoch 1",
            "n2 FOLLOWING epoch 1",
            "n2 down",
            "last zxid 0x100000007",
            "crash &lt;machine&gt;",
            "2 client write(s)",
            "VIOLATION a &amp; b",
            "heal: faults stop at 2.000s",
        ] {
            assert!(html.contains(needle), "missing {needle}");
        }
    }
}
