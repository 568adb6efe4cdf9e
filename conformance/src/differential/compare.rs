//! What of a reply must be equal between two servers: the error code, data, children (as a
//! set: ZooKeeper lists them in hash order), ACLs and Stat fields except times and ids
//! (czxid, mzxid, pzxid, ctime, mtime differ by design; an ephemeral owner is compared as the
//! session slot it names), and the notifications that preceded the reply.

use std::fmt::Write;

use conclave_core::client::{ErrorCode, MultiResult, Request, Response, Stat, WatcherEvent};

use super::wire::Reply;

/// Maps a server's session ids to the run's names for them (`s<slot>.<generation>`).
pub(crate) trait SessionNames {
    /// The name of `session_id` on this server, if it is one of the run's sessions.
    fn name(&self, session_id: i64) -> Option<String>;
}

/// The comparable text of a reply.
pub(crate) fn render(reply: &Reply, names: &dyn SessionNames) -> String {
    let mut s = String::new();
    let _ = write!(s, "{}", code(reply.err));
    if let Some(body) = &reply.body {
        s.push(' ');
        response(&mut s, body, names);
    }
    s
}

/// The comparable text of the notifications that preceded a reply, as a multiset: one txn
/// can fire several (a closeSession deletes its ephemerals), and ZooKeeper orders those by
/// hash, so only which events arrived before the reply is comparable.
pub(crate) fn render_events(events: &[WatcherEvent]) -> String {
    let mut v: Vec<String> = events
        .iter()
        .map(|e| format!("{:?}:{}", e.event_type, e.path))
        .collect();
    v.sort();
    v.join(" ")
}

/// A divergence kept on purpose (each is explained in docs/compatibility.md), recognised so
/// that a run reports it apart instead of failing on it.
pub(crate) fn kept(request: &Request, zk: &str, cc: &str) -> Option<&'static str> {
    match request {
        // WatchManager.containsWatcher (3.8) answers true at the path when any connection
        // watches it there.
        Request::CheckWatches { .. } if zk == "OK" && cc == "NOWATCHER" => Some(
            "checkWatches: ZooKeeper 3.8 answers OK when any session watches the path; \
             Conclave looks at the caller's own watches",
        ),
        // Its walk over the path's parents fails on a path without a leading slash.
        Request::CheckWatches { path, .. }
            if !path.starts_with('/')
                && zk == "MARSHALLINGERROR"
                && (cc == "NOWATCHER" || cc == "OK") =>
        {
            Some(
                "checkWatches of a relative path: ZooKeeper 3.8 MARSHALLINGERROR, Conclave \
                 answers from the session's watches",
            )
        }
        _ => None,
    }
}

/// A short class of a rendered reply (its code and body kind), to group divergences.
pub(crate) fn class(rendered: &str) -> &str {
    let end = rendered
        .char_indices()
        .filter(|(_, c)| *c == ' ' || *c == '{' || *c == '(')
        .nth(1)
        .map_or(rendered.len(), |(i, _)| i);
    &rendered[..end]
}

fn code(err: i32) -> String {
    match ErrorCode::from_i32(err) {
        Some(c) => c.name().to_string(),
        None => format!("err{err}"),
    }
}

fn stat(s: &mut String, st: &Stat, names: &dyn SessionNames) {
    let owner = match st.ephemeral_owner {
        0 => "0".to_string(),
        o => names.name(o).unwrap_or_else(|| format!("{o:#x}")),
    };
    let _ = write!(
        s,
        "{{v{} cv{} av{} len{} nc{} owner {}}}",
        st.version, st.cversion, st.aversion, st.data_length, st.num_children, owner
    );
}

fn data(s: &mut String, d: &Option<Vec<u8>>) {
    match d {
        None => s.push_str("null"),
        Some(d) => {
            s.push('"');
            for b in d {
                let _ = write!(s, "{b:02x}");
            }
            s.push('"');
        }
    }
}

fn names_sorted(s: &mut String, names: &[String]) {
    let mut v: Vec<&String> = names.iter().collect();
    v.sort();
    let _ = write!(s, "{v:?}");
}

fn response(s: &mut String, r: &Response, names: &dyn SessionNames) {
    match r {
        Response::Empty => s.push_str("empty"),
        Response::Create { path } => {
            let _ = write!(s, "create {path}");
        }
        Response::Create2 { path, stat: st } => {
            let _ = write!(s, "create2 {path} ");
            stat(s, st, names);
        }
        Response::Stat(st) => {
            s.push_str("stat ");
            stat(s, st, names);
        }
        Response::GetData { data: d, stat: st } => {
            s.push_str("data ");
            data(s, d);
            s.push(' ');
            stat(s, st, names);
        }
        Response::GetAcl { acl, stat: st } => {
            // As a set: ZooKeeper expands an `auth` entry in its hash-set order of the
            // session's identities.
            let mut v: Vec<String> = acl
                .iter()
                .map(|a| format!("{}:{}:{}", a.perms, a.id.scheme, a.id.id))
                .collect();
            v.sort();
            let _ = write!(s, "acl {v:?} ");
            stat(s, st, names);
        }
        Response::GetChildren { children } => {
            s.push_str("children ");
            names_sorted(s, children);
        }
        Response::GetChildren2 { children, stat: st } => {
            s.push_str("children2 ");
            names_sorted(s, children);
            s.push(' ');
            stat(s, st, names);
        }
        Response::GetAllChildrenNumber { total } => {
            let _ = write!(s, "total {total}");
        }
        Response::Sync { path } => {
            let _ = write!(s, "sync {path:?}");
        }
        Response::GetEphemerals { paths } => {
            s.push_str("ephemerals ");
            names_sorted(s, paths);
        }
        Response::WhoAmI { clients } => {
            let mut v: Vec<String> = clients
                .iter()
                .map(|c| format!("{}:{}", c.auth_scheme, c.user))
                .collect();
            v.sort();
            let _ = write!(s, "whoami {v:?}");
        }
        Response::AddWatch => s.push_str("addWatch"),
        Response::Sasl { .. } => s.push_str("sasl"),
        Response::Multi(results) => {
            s.push_str("multi [");
            for m in results {
                multi_result(s, m, names);
                s.push_str(", ");
            }
            s.push(']');
        }
    }
}

fn multi_result(s: &mut String, m: &MultiResult, names: &dyn SessionNames) {
    match m {
        MultiResult::Create { path } => {
            let _ = write!(s, "create {path}");
        }
        MultiResult::Create2 { path, stat: st } => {
            let _ = write!(s, "create2 {path} ");
            stat(s, st, names);
        }
        MultiResult::Delete => s.push_str("delete"),
        MultiResult::SetData { stat: st } => {
            s.push_str("setData ");
            stat(s, st, names);
        }
        MultiResult::Check => s.push_str("check"),
        MultiResult::GetData { data: d, stat: st } => {
            s.push_str("getData ");
            data(s, d);
            s.push(' ');
            stat(s, st, names);
        }
        MultiResult::GetChildren { children } => {
            s.push_str("getChildren ");
            names_sorted(s, children);
        }
        MultiResult::Error(c) => {
            let _ = write!(s, "error {}", c.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Two;
    impl SessionNames for Two {
        fn name(&self, id: i64) -> Option<String> {
            (id == 77).then(|| "s1.0".to_string())
        }
    }

    fn stat_with(version: i32, owner: i64, czxid: i64) -> Stat {
        Stat {
            czxid,
            mzxid: czxid,
            pzxid: czxid,
            ctime: czxid * 3,
            mtime: czxid * 5,
            version,
            ephemeral_owner: owner,
            data_length: 2,
            ..Stat::default()
        }
    }

    #[test]
    fn times_and_zxids_are_left_out_and_owners_are_named() {
        let a = Reply {
            err: 0,
            body: Some(Response::Stat(stat_with(3, 77, 10))),
            events: Vec::new(),
        };
        let b = Reply {
            err: 0,
            body: Some(Response::Stat(stat_with(3, 77, 99))),
            events: Vec::new(),
        };
        assert_eq!(render(&a, &Two), render(&b, &Two));
        assert_eq!(render(&a, &Two), "OK stat {v3 cv0 av0 len2 nc0 owner s1.0}");
        let c = Reply {
            err: 0,
            body: Some(Response::Stat(stat_with(4, 77, 10))),
            events: Vec::new(),
        };
        assert_ne!(render(&a, &Two), render(&c, &Two));
    }

    #[test]
    fn children_compare_as_sets_and_codes_by_name() {
        let a = Reply {
            err: 0,
            body: Some(Response::GetChildren {
                children: vec!["b".into(), "a".into()],
            }),
            events: Vec::new(),
        };
        let b = Reply {
            err: 0,
            body: Some(Response::GetChildren {
                children: vec!["a".into(), "b".into()],
            }),
            events: Vec::new(),
        };
        assert_eq!(render(&a, &Two), render(&b, &Two));
        let e = Reply {
            err: -101,
            body: None,
            events: Vec::new(),
        };
        assert_eq!(render(&e, &Two), "NONODE");
        assert_eq!(class("NONODE"), "NONODE");
        assert_eq!(class("OK stat {v3 cv0}"), "OK stat");
    }
}
