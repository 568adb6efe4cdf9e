//! The suite's kazoo client family: the same scenarios, but every session is a kazoo client
//! (Python, PyPI) rather than the core's jute codec, so a bug our codec shares on both sides
//! of the wire cannot hide. One agent process ([`AGENT`], kazoo_agent.py) holds the sessions
//! and runs one command per line; this module turns the suite's requests into those commands
//! and the answers back into [`Answer`]s.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use conclave_core::client::{
    CreateKind, EventType, KeeperState, MultiOp, MultiResult, Request, Response, Stat, WatcherEvent,
};

use super::live::Family;
use super::{Answer, Unsupported};

/// The agent's source, written next to the ensemble's files when the family starts.
pub const AGENT: &str = include_str!("kazoo_agent.py");

/// Why kazoo cannot run here, if it cannot.
pub fn unavailable() -> Option<String> {
    let found = Command::new("python3")
        .args(["-c", "import kazoo"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (!found).then(|| "python3 with kazoo not found (pip install kazoo)".to_string())
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".into();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(word: &str) -> Result<Vec<u8>, String> {
    if word == "-" {
        return Ok(Vec::new());
    }
    (0..word.len())
        .step_by(2)
        .map(|i| {
            word.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| format!("the agent sent bad hex {word:?}"))
        })
        .collect()
}

fn text(word: &str) -> Result<String, String> {
    String::from_utf8(unhex(word)?).map_err(|e| e.to_string())
}

/// A session the agent holds: what resuming it elsewhere needs.
#[derive(Clone, Debug)]
pub struct KazooSession {
    /// The session id.
    pub id: i64,
    /// Its password.
    pub passwd: Vec<u8>,
    /// The negotiated timeout.
    pub timeout_ms: i32,
}

/// The agent process and its sessions (handles are indices).
pub struct Kazoo {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    sessions: Vec<Option<KazooSession>>,
}

impl Drop for Kazoo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Kazoo {
    /// Starts the agent (in network namespace `netns` when given), its script under `dir`.
    pub fn start(dir: &Path, netns: Option<&str>) -> Result<Kazoo, Unsupported> {
        if let Some(why) = unavailable() {
            return Err(Unsupported(why));
        }
        let script = dir.join("kazoo_agent.py");
        let fail = |e: String| Unsupported(format!("kazoo agent: {e}"));
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        std::fs::write(&script, AGENT).map_err(|e| fail(e.to_string()))?;
        let log = std::fs::File::create(dir.join("kazoo.log")).map_err(|e| fail(e.to_string()))?;
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "python3"]);
                c
            }
            None => Command::new("python3"),
        };
        let mut child = cmd
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| fail(e.to_string()))?;
        let stdin = child.stdin.take().ok_or_else(|| fail("no stdin".into()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| fail("no stdout".into()))?;
        Ok(Kazoo {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            sessions: Vec::new(),
        })
    }

    /// One command, one answer line (the agent bounds every call in time).
    fn ask(&mut self, line: &str) -> Result<String, String> {
        writeln!(self.stdin, "{line}").map_err(|e| format!("kazoo agent: {e}"))?;
        self.stdin
            .flush()
            .map_err(|e| format!("kazoo agent: {e}"))?;
        let mut out = String::new();
        match self.stdout.read_line(&mut out) {
            Ok(0) => Err("the kazoo agent exited (see kazoo.log)".into()),
            Ok(_) => Ok(out.trim_end().to_string()),
            Err(e) => Err(format!("kazoo agent: {e}")),
        }
    }

    fn session_answer(&mut self, out: &str) -> Result<usize, String> {
        let w: Vec<&str> = out.split_whitespace().collect();
        match w.as_slice() {
            ["session", id, passwd, timeout] => {
                let s = KazooSession {
                    id: id.parse().map_err(|_| format!("bad session id {id}"))?,
                    passwd: unhex(passwd)?,
                    timeout_ms: timeout
                        .parse()
                        .map_err(|_| format!("bad timeout {timeout}"))?,
                };
                self.sessions.push(Some(s));
                Ok(self.sessions.len() - 1)
            }
            ["lost", why] => Err(format!("kazoo: {}", text(why)?)),
            _ => Err(format!("kazoo agent: {out}")),
        }
    }

    /// A new session on `addr`; its handle.
    pub fn open(&mut self, addr: SocketAddr, timeout_ms: i32) -> Result<usize, String> {
        let h = self.sessions.len();
        let out = self.ask(&format!("open {h} {addr} {timeout_ms}"))?;
        self.session_answer(&out)
    }

    /// Session `s` resumed on `addr` over a new connection; its new handle.
    pub fn resume(&mut self, addr: SocketAddr, s: &KazooSession) -> Result<usize, String> {
        let h = self.sessions.len();
        let out = self.ask(&format!(
            "resume {h} {addr} {} {} {}",
            s.timeout_ms,
            s.id,
            hex(&s.passwd)
        ))?;
        let new = self.session_answer(&out)?;
        match self.sessions.get(new).and_then(Option::as_ref) {
            Some(got) if got.id == s.id => Ok(new),
            Some(got) => Err(format!("resumed as session {:#x}, not {:#x}", got.id, s.id)),
            None => Err("the resumed session is gone".into()),
        }
    }

    /// Drops handle `h`'s connection without closing its session; the session.
    pub fn drop_connection(&mut self, h: usize) -> Result<KazooSession, String> {
        let s = self
            .sessions
            .get_mut(h)
            .and_then(Option::take)
            .ok_or("the session is closed")?;
        self.ask(&format!("drop {h}"))?;
        Ok(s)
    }

    /// closeSession on handle `h`.
    pub fn close(&mut self, h: usize) {
        if self.sessions.get_mut(h).and_then(Option::take).is_some() {
            let _ = self.ask(&format!("close {h}"));
        }
    }

    /// Notifications that reached handle `h`, waiting up to `wait` for one.
    pub fn events(&mut self, h: usize, wait: Duration) -> Result<Vec<WatcherEvent>, String> {
        let out = self.ask(&format!("events {h} {}", wait.as_millis()))?;
        out.split_whitespace()
            .skip(1)
            .map(|e| {
                let f: Vec<&str> = e.split(':').collect();
                let [kind, state, path] = f.as_slice() else {
                    return Err(format!("kazoo agent: bad event {e}"));
                };
                let kind = kind.parse().ok().and_then(EventType::from_i32);
                let state = state.parse().ok().and_then(KeeperState::from_i32);
                match (kind, state) {
                    (Some(event_type), Some(state)) => Ok(WatcherEvent {
                        event_type,
                        state,
                        path: text(path)?,
                    }),
                    _ => Err(format!("kazoo agent: bad event {e}")),
                }
            })
            .collect()
    }

    /// `request` on handle `h`, as kazoo sends it; a `String` error when the connection was
    /// lost (the outcome unknown), as the harness's contract says.
    pub fn call(&mut self, h: usize, request: &Request) -> Result<Answer, String> {
        if self.sessions.get(h).is_none_or(Option::is_none) {
            return Err("the session is closed".into());
        }
        if let Request::CloseSession = request {
            self.close(h);
            return Ok(Answer {
                err: 0,
                body: Some(Response::Empty),
            });
        }
        let command = command(request)?;
        let out = self.ask(&format!("call {h} {command}"))?;
        let result = answer(&out);
        if result.is_err() {
            // As a lost socket: the session's connection is gone for the harness.
            self.sessions[h] = None;
        }
        result
    }
}

impl Family for Kazoo {
    fn open(&mut self, addr: SocketAddr, timeout_ms: i32) -> Result<usize, String> {
        Kazoo::open(self, addr, timeout_ms)
    }

    fn call(&mut self, h: usize, request: &Request) -> Result<Answer, String> {
        Kazoo::call(self, h, request)
    }

    fn events(&mut self, h: usize, wait: Duration) -> Result<Vec<WatcherEvent>, String> {
        Kazoo::events(self, h, wait)
    }

    fn close(&mut self, h: usize) {
        Kazoo::close(self, h);
    }

    fn reconnect(&mut self, h: usize, addr: SocketAddr) -> Result<usize, String> {
        let session = self.drop_connection(h)?;
        self.resume(addr, &session)
    }

    fn abandon(&mut self, h: usize) {
        let _ = self.drop_connection(h);
    }
}

fn flag(watch: bool) -> &'static str {
    if watch {
        "1"
    } else {
        "0"
    }
}

/// The agent's command for `request`.
fn command(request: &Request) -> Result<String, String> {
    let p = |path: &str| hex(path.as_bytes());
    Ok(match request {
        Request::Create(c) if c.kind == CreateKind::Create => format!(
            "create {} {} {}",
            p(&c.path),
            hex(c.data.as_deref().unwrap_or_default()),
            c.flags
        ),
        Request::Delete(d) => format!("delete {} {}", p(&d.path), d.version),
        Request::Exists { path, watch } => format!("exists {} {}", p(path), flag(*watch)),
        Request::GetData { path, watch } => format!("get {} {}", p(path), flag(*watch)),
        Request::GetChildren { path, watch: false } => format!("children {}", p(path)),
        Request::SetData(s) => format!(
            "set {} {} {}",
            p(&s.path),
            hex(s.data.as_deref().unwrap_or_default()),
            s.version
        ),
        Request::Sync { path } => format!("sync {}", p(path)),
        Request::Auth { scheme, auth, .. } => format!("auth {} {}", p(scheme), hex(auth)),
        Request::Reconfig(r) => {
            let o = |s: &Option<String>| hex(s.as_deref().unwrap_or_default().as_bytes());
            format!(
                "reconfig {} {} {} {}",
                o(&r.joining_servers),
                o(&r.leaving_servers),
                o(&r.new_members),
                r.cur_config_id
            )
        }
        Request::Multi(ops) => {
            let ops: Vec<String> = ops
                .iter()
                .map(|op| match op {
                    MultiOp::Create(c) if c.kind == CreateKind::Create => Ok(format!(
                        "c:{}:{}:{}",
                        p(&c.path),
                        hex(c.data.as_deref().unwrap_or_default()),
                        c.flags
                    )),
                    MultiOp::Delete(d) => Ok(format!("d:{}:{}", p(&d.path), d.version)),
                    MultiOp::Check(k) => Ok(format!("k:{}:{}", p(&k.path), k.version)),
                    MultiOp::SetData(s) => Ok(format!(
                        "s:{}:{}:{}",
                        p(&s.path),
                        hex(s.data.as_deref().unwrap_or_default()),
                        s.version
                    )),
                    other => Err(format!("the kazoo family has no multi op {other:?}")),
                })
                .collect::<Result<_, String>>()?;
            format!("multi {}", ops.join(" "))
        }
        other => return Err(format!("the kazoo family has no request {other:?}")),
    })
}

/// The agent's answer as the suite's [`Answer`].
fn answer(out: &str) -> Result<Answer, String> {
    let w: Vec<&str> = out.split_whitespace().collect();
    let ok = |body| Ok(Answer { err: 0, body });
    match w.as_slice() {
        ["ok"] => ok(Some(Response::Empty)),
        ["stat"] => ok(Some(Response::Stat(Stat::default()))),
        ["created", path] => ok(Some(Response::Create { path: text(path)? })),
        ["data", data] => ok(Some(Response::GetData {
            data: Some(unhex(data)?),
            stat: Stat::default(),
        })),
        ["children", list] => {
            let children = if *list == "-" {
                Vec::new()
            } else {
                list.split(',').map(text).collect::<Result<_, _>>()?
            };
            ok(Some(Response::GetChildren { children }))
        }
        ["multi", list] => {
            let results = list
                .split(',')
                .map(|r| match r.split_once(':') {
                    Some(("created", path)) => Ok(MultiResult::Create { path: text(path)? }),
                    _ if r == "ok" => Ok(MultiResult::Check),
                    _ if r == "stat" => Ok(MultiResult::SetData {
                        stat: Stat::default(),
                    }),
                    _ => r
                        .parse::<i32>()
                        .ok()
                        .and_then(conclave_core::client::ErrorCode::from_i32)
                        .map(MultiResult::Error)
                        .ok_or_else(|| format!("kazoo agent: bad multi result {r}")),
                })
                .collect::<Result<_, String>>()?;
            ok(Some(Response::Multi(results)))
        }
        ["err", code] => Ok(Answer {
            err: code.parse().map_err(|_| format!("bad code {code}"))?,
            body: None,
        }),
        ["lost", why] => Err(format!("kazoo: {}", text(why)?)),
        _ => Err(format!("kazoo agent: {out}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conclave_core::client::ErrorCode;

    #[test]
    fn answers_become_the_suites_answers() {
        // A failed multi: ops before the failing one answer 0 (kazoo's RolledBackError),
        // the ones after it RUNTIMEINCONSISTENCY, as ZooKeeper sends them.
        let a = answer("multi 0,-110,-2").unwrap();
        assert_eq!(
            a.body,
            Some(Response::Multi(vec![
                MultiResult::Error(ErrorCode::Ok),
                MultiResult::Error(ErrorCode::NodeExists),
                MultiResult::Error(ErrorCode::RuntimeInconsistency),
            ]))
        );
        assert!(answer("multi x").is_err());
        let a = answer("children 61,6262").unwrap();
        assert_eq!(
            a.body,
            Some(Response::GetChildren {
                children: vec!["a".into(), "bb".into()]
            })
        );
        assert_eq!(answer("err -101").unwrap().err, -101);
        assert!(answer("lost 7878").is_err());
        assert_eq!(
            command(&Request::Sync { path: "/a".into() }).unwrap(),
            "sync 2f61"
        );
    }
}
