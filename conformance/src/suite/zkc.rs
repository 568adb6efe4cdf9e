//! The suite's `zookeeper-client` family: the same scenarios with every session a client of the
//! `zookeeper-client` crate (Rust, crates.io; its own jute codec, its own session and watch
//! handling), so a bug our codec shares on both sides of the wire cannot hide. The clients run
//! on a tokio runtime of the family's own (its threads in the client namespace when there is
//! one); every call is bounded by [`CLIENT_WAIT`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use conclave_core::client::{
    CreateKind, ErrorCode, EventType, KeeperState, MultiOp, MultiResult, Request, Response, Stat,
    WatcherEvent,
};
use zookeeper_client as zk;

use super::live::Family;
use super::Answer;

/// How long a call may take before the connection counts as lost.
const CLIENT_WAIT: Duration = Duration::from_secs(10);

/// Notifications per handle, filled by the watcher tasks.
type Events = Arc<Mutex<Vec<Vec<WatcherEvent>>>>;

/// The runtime and the sessions (handles are indices).
pub struct Zkc {
    rt: tokio::runtime::Runtime,
    /// Each session's client and the member it was opened on.
    sessions: Vec<Option<(zk::Client, SocketAddr)>>,
    events: Events,
}

/// The ZooKeeper code of a client error; `None` when the library lost the connection or gave
/// up (the outcome unknown).
fn code(e: &zk::Error) -> Option<ErrorCode> {
    use zk::Error as E;
    Some(match e {
        E::NoNode => ErrorCode::NoNode,
        E::NoAuth => ErrorCode::NoAuth,
        E::BadVersion => ErrorCode::BadVersion,
        E::NoChildrenForEphemerals => ErrorCode::NoChildrenForEphemerals,
        E::NodeExists => ErrorCode::NodeExists,
        E::NotEmpty => ErrorCode::NotEmpty,
        E::SessionExpired => ErrorCode::SessionExpired,
        E::InvalidAcl => ErrorCode::InvalidAcl,
        E::AuthFailed => ErrorCode::AuthFailed,
        E::SessionMoved => ErrorCode::SessionMoved,
        E::NotReadOnly => ErrorCode::NotReadOnly,
        E::NoWatcher => ErrorCode::NoWatcher,
        E::QuotaExceeded => ErrorCode::QuotaExceeded,
        E::Throttled => ErrorCode::ThrottledOp,
        E::MarshallingError => ErrorCode::MarshallingError,
        E::Unimplemented => ErrorCode::Unimplemented,
        E::ConnectionLoss => ErrorCode::ConnectionLoss,
        E::ReconfigDisabled => ErrorCode::ReconfigDisabled,
        E::RuntimeInconsistent => ErrorCode::RuntimeInconsistency,
        E::BadArguments(_) => ErrorCode::BadArguments,
        E::UnexpectedErrorCode(c) => return ErrorCode::from_i32(*c),
        _ => return None,
    })
}

fn failed(e: &zk::Error) -> Result<Answer, String> {
    match code(e) {
        Some(c) => Ok(Answer {
            err: c.as_i32(),
            body: None,
        }),
        None => Err(format!("zookeeper-client: {e}")),
    }
}

fn ok(body: Response) -> Result<Answer, String> {
    Ok(Answer {
        err: 0,
        body: Some(body),
    })
}

fn mode(flags: i32) -> zk::CreateMode {
    match flags & 3 {
        1 => zk::CreateMode::Ephemeral,
        2 => zk::CreateMode::PersistentSequential,
        3 => zk::CreateMode::EphemeralSequential,
        _ => zk::CreateMode::Persistent,
    }
}

impl Family for Zkc {
    fn open(&mut self, addr: SocketAddr, timeout_ms: i32) -> Result<usize, String> {
        Zkc::open(self, addr, timeout_ms)
    }

    fn call(&mut self, h: usize, request: &Request) -> Result<Answer, String> {
        Zkc::call(self, h, request)
    }

    fn events(&mut self, h: usize, wait: Duration) -> Result<Vec<WatcherEvent>, String> {
        Zkc::events(self, h, wait)
    }

    fn close(&mut self, h: usize) {
        Zkc::close(self, h);
    }

    fn reconnect(&mut self, h: usize, addr: SocketAddr) -> Result<usize, String> {
        Zkc::reconnect(self, h, addr)
    }

    fn abandon(&mut self, h: usize) {
        Zkc::abandon(self, h);
    }
}

/// The comma-separated items of a reconfig argument.
fn items(list: &str) -> std::iter::Filter<std::str::Split<'_, char>, fn(&&str) -> bool> {
    list.split(',').filter(|s| !s.is_empty())
}

fn version(v: i32) -> Option<i32> {
    (v >= 0).then_some(v)
}

fn event_type(t: zk::EventType) -> Option<EventType> {
    Some(match t {
        zk::EventType::NodeCreated => EventType::NodeCreated,
        zk::EventType::NodeDeleted => EventType::NodeDeleted,
        zk::EventType::NodeDataChanged => EventType::NodeDataChanged,
        zk::EventType::NodeChildrenChanged => EventType::NodeChildrenChanged,
        _ => return None,
    })
}

impl Zkc {
    /// The family's runtime, built in network namespace `netns` when given.
    pub fn start(netns: Option<&str>) -> Result<Zkc, String> {
        let build = || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| format!("runtime: {e}"))
        };
        let rt = match netns {
            Some(ns) => super::netns::within(ns, build)??,
            None => build()?,
        };
        Ok(Zkc {
            rt,
            sessions: Vec::new(),
            events: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Runs `f` on a worker of the runtime (whose sockets are in the right namespace),
    /// bounded by [`CLIENT_WAIT`].
    fn run<T: Send + 'static>(
        &self,
        f: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Result<T, String> {
        let task = self.rt.spawn(f);
        self.rt
            .block_on(async { tokio::time::timeout(CLIENT_WAIT, task).await })
            .map_err(|_| format!("zookeeper-client: no answer in {CLIENT_WAIT:?}"))?
            .map_err(|e| format!("zookeeper-client task: {e}"))
    }

    fn connect(
        &mut self,
        addr: SocketAddr,
        timeout_ms: i32,
        session: Option<zk::SessionInfo>,
    ) -> Result<usize, String> {
        let timeout = Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(0));
        let client = self.run(async move {
            let mut c = zk::Client::connector()
                .with_session_timeout(timeout)
                .with_connection_timeout(Duration::from_secs(5))
                // Dropping a handle only drops its connection (a moved session); closing is
                // explicit, as for the other families.
                .with_detached();
            if let Some(s) = session {
                c = c.with_session(s);
            }
            c.connect(&addr.to_string()).await
        })?;
        let client = client.map_err(|e| format!("zookeeper-client: {e}"))?;
        self.sessions.push(Some((client, addr)));
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Vec::new());
        Ok(self.sessions.len() - 1)
    }

    /// A new session on `addr`; its handle.
    pub fn open(&mut self, addr: SocketAddr, timeout_ms: i32) -> Result<usize, String> {
        self.connect(addr, timeout_ms, None)
    }

    /// Handle `h`'s session on `addr` over a new connection (the old one dropped without
    /// closeSession); the new handle.
    pub fn reconnect(&mut self, h: usize, addr: SocketAddr) -> Result<usize, String> {
        let (old, _) = self
            .sessions
            .get_mut(h)
            .and_then(Option::take)
            .ok_or("the session is closed")?;
        let (info, timeout) = (old.session().clone(), old.session_timeout());
        let id = old.session_id();
        drop(old);
        let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let new = self.connect(addr, timeout_ms, Some(info))?;
        match self.sessions.get(new).and_then(Option::as_ref) {
            Some((c, _)) if c.session_id() == id => Ok(new),
            Some((c, _)) => Err(format!(
                "resumed as session {:?}, not {id:?}",
                c.session_id()
            )),
            None => Err("the resumed session is gone".into()),
        }
    }

    /// Drops handle `h`'s client without closeSession (it is detached): its session is left
    /// to expire.
    pub fn abandon(&mut self, h: usize) {
        if let Some(s) = self.sessions.get_mut(h) {
            s.take();
        }
    }

    /// closeSession on handle `h`: the library closes a session when its last client goes,
    /// unless detached, so the session is attached once more without detaching and dropped.
    pub fn close(&mut self, h: usize) {
        let Some((old, addr)) = self.sessions.get_mut(h).and_then(Option::take) else {
            return;
        };
        let info = old.session().clone();
        let hosts = addr.to_string();
        drop(old);
        let _ = self.run(async move {
            let closer = zk::Client::connector()
                .with_session(info)
                .with_connection_timeout(Duration::from_secs(5))
                .connect(&hosts)
                .await;
            drop(closer);
            // Let the closeSession go out before the task ends.
            tokio::time::sleep(Duration::from_millis(100)).await;
        });
    }

    /// Notifications that reached handle `h`, waiting up to `wait` for one.
    pub fn events(&mut self, h: usize, wait: Duration) -> Result<Vec<WatcherEvent>, String> {
        let deadline = Instant::now() + wait;
        // Bounded by the deadline.
        loop {
            let got = {
                let mut all = self.events.lock().unwrap_or_else(|e| e.into_inner());
                all.get_mut(h).map(std::mem::take).unwrap_or_default()
            };
            if !got.is_empty() || Instant::now() >= deadline {
                return Ok(got);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn watch(&self, h: usize, watcher: zk::OneshotWatcher) {
        let events = self.events.clone();
        self.rt.spawn(async move {
            let e = watcher.changed().await;
            if let Some(event_type) = event_type(e.event_type) {
                let mut all = events.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(queue) = all.get_mut(h) {
                    queue.push(WatcherEvent {
                        event_type,
                        state: KeeperState::SyncConnected,
                        path: e.path,
                    });
                }
            }
        });
    }

    /// `request` on handle `h`, as the `zookeeper-client` crate sends it; a `String` error
    /// when the connection was lost (the outcome unknown).
    pub fn call(&mut self, h: usize, request: &Request) -> Result<Answer, String> {
        let c = self
            .sessions
            .get(h)
            .and_then(Option::as_ref)
            .ok_or("the session is closed")?
            .0
            .clone();
        let result = self.call_on(h, c, request);
        if result.is_err() {
            self.sessions[h] = None;
        }
        result
    }

    fn call_on(&mut self, h: usize, c: zk::Client, request: &Request) -> Result<Answer, String> {
        let acl = zk::Acls::anyone_all();
        match request.clone() {
            Request::CloseSession => {
                self.close(h);
                ok(Response::Empty)
            }
            Request::Create(r) if r.kind == CreateKind::Create => {
                let data = r.data.unwrap_or_default();
                let sequential = r.flags & 2 != 0;
                let path = r.path;
                match self.run(async move {
                    let opts = mode(r.flags).with_acls(acl);
                    c.create(&path, &data, &opts).await.map(|(_, seq)| {
                        if sequential {
                            format!("{path}{seq}")
                        } else {
                            path
                        }
                    })
                })? {
                    Ok(path) => ok(Response::Create { path }),
                    Err(e) => failed(&e),
                }
            }
            Request::Delete(d) => {
                match self.run(async move { c.delete(&d.path, version(d.version)).await })? {
                    Ok(()) => ok(Response::Empty),
                    Err(e) => failed(&e),
                }
            }
            Request::Exists { path, watch } => {
                let got = self.run(async move {
                    if watch {
                        c.check_and_watch_stat(&path)
                            .await
                            .map(|(s, w)| (s, Some(w)))
                    } else {
                        c.check_stat(&path).await.map(|s| (s, None))
                    }
                })?;
                match got {
                    Ok((stat, w)) => {
                        if let Some(w) = w {
                            self.watch(h, w);
                        }
                        match stat {
                            Some(_) => ok(Response::Stat(Stat::default())),
                            None => Ok(Answer {
                                err: ErrorCode::NoNode.as_i32(),
                                body: None,
                            }),
                        }
                    }
                    Err(e) => failed(&e),
                }
            }
            Request::GetData { path, watch } => {
                let got = self.run(async move {
                    if watch {
                        c.get_and_watch_data(&path)
                            .await
                            .map(|(d, _, w)| (d, Some(w)))
                    } else {
                        c.get_data(&path).await.map(|(d, _)| (d, None))
                    }
                })?;
                match got {
                    Ok((data, w)) => {
                        if let Some(w) = w {
                            self.watch(h, w);
                        }
                        ok(Response::GetData {
                            data: Some(data),
                            stat: Stat::default(),
                        })
                    }
                    Err(e) => failed(&e),
                }
            }
            Request::GetChildren { path, watch: false } => {
                match self.run(async move { c.list_children(&path).await })? {
                    Ok(children) => ok(Response::GetChildren { children }),
                    Err(e) => failed(&e),
                }
            }
            Request::SetData(s) => match self.run(async move {
                let data = s.data.unwrap_or_default();
                c.set_data(&s.path, &data, version(s.version)).await
            })? {
                Ok(_) => ok(Response::Stat(Stat::default())),
                Err(e) => failed(&e),
            },
            Request::Sync { path } => match self.run(async move { c.sync(&path).await })? {
                Ok(()) => ok(Response::Empty),
                Err(e) => failed(&e),
            },
            Request::Auth { scheme, auth, .. } => {
                match self.run(async move { c.auth(&scheme, &auth).await })? {
                    Ok(()) => ok(Response::Empty),
                    Err(e) => failed(&e),
                }
            }
            Request::Reconfig(r) => {
                let got = self.run(async move {
                    let joining = r.joining_servers.unwrap_or_default();
                    let leaving = r.leaving_servers.unwrap_or_default();
                    let expected = (r.cur_config_id >= 0).then_some(r.cur_config_id);
                    match r.new_members {
                        Some(new) => {
                            let update = zk::EnsembleUpdate::New {
                                ensemble: items(&new),
                            };
                            c.update_ensemble(update, expected).await
                        }
                        None => {
                            let update = zk::EnsembleUpdate::Incremental {
                                joinings: items(&joining),
                                leavings: items(&leaving),
                            };
                            c.update_ensemble(update, expected).await
                        }
                    }
                })?;
                match got {
                    Ok((data, _)) => ok(Response::GetData {
                        data: Some(data),
                        stat: Stat::default(),
                    }),
                    Err(e) => failed(&e),
                }
            }
            Request::Multi(ops) => self.multi(c, ops),
            other => Err(format!(
                "the zookeeper-client family has no request {other:?}"
            )),
        }
    }

    fn multi(&mut self, c: zk::Client, ops: Vec<MultiOp>) -> Result<Answer, String> {
        let n = ops.len();
        let got = self.run(async move {
            let mut w = c.new_multi_writer();
            for op in &ops {
                let added = match op {
                    MultiOp::Create(r) if r.kind == CreateKind::Create => {
                        let opts = mode(r.flags).with_acls(zk::Acls::anyone_all());
                        w.add_create(&r.path, r.data.as_deref().unwrap_or_default(), &opts)
                    }
                    MultiOp::Delete(d) => w.add_delete(&d.path, version(d.version)),
                    MultiOp::Check(k) => w.add_check_version(&k.path, k.version),
                    MultiOp::SetData(s) => w.add_set_data(
                        &s.path,
                        s.data.as_deref().unwrap_or_default(),
                        version(s.version),
                    ),
                    other => {
                        return Err(Err(format!(
                            "the zookeeper-client family has no multi op {other:?}"
                        )))
                    }
                };
                added.map_err(|e| Err(e.to_string()))?;
            }
            w.commit().await.map_err(Ok)
        })?;
        match got {
            Ok(results) => ok(Response::Multi(
                results
                    .into_iter()
                    .map(|r| match r {
                        zk::MultiWriteResult::Check => Ok(MultiResult::Check),
                        zk::MultiWriteResult::Delete => Ok(MultiResult::Delete),
                        zk::MultiWriteResult::Create { path, .. } => {
                            Ok(MultiResult::Create { path })
                        }
                        zk::MultiWriteResult::SetData { .. } => Ok(MultiResult::SetData {
                            stat: Stat::default(),
                        }),
                        other => Err(format!("zookeeper-client: a multi result {other:?}")),
                    })
                    .collect::<Result<_, _>>()?,
            )),
            // The library keeps only the failing op's error; the others are what ZooKeeper
            // sends for them: 0 before the failing op, RUNTIMEINCONSISTENCY after it.
            Err(Ok(zk::MultiWriteError::OperationFailed { index, source })) => {
                let failing = code(&source).ok_or_else(|| format!("zookeeper-client: {source}"))?;
                ok(Response::Multi(
                    (0..n)
                        .map(|i| {
                            MultiResult::Error(match i.cmp(&index) {
                                core::cmp::Ordering::Less => ErrorCode::Ok,
                                core::cmp::Ordering::Equal => failing,
                                core::cmp::Ordering::Greater => ErrorCode::RuntimeInconsistency,
                            })
                        })
                        .collect(),
                ))
            }
            Err(Ok(zk::MultiWriteError::RequestFailed { source })) => failed(&source),
            Err(Err(why)) => Err(why),
        }
    }
}
