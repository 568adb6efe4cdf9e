//! The random operations of a differential run: every request kind a client sends, aimed at
//! a small tree so that requests collide (existing and missing nodes, children, versions that
//! match and do not, ACLs that allow and refuse), with bad input mixed in.

use conclave_core::client::{
    perms, Acl, AddWatchMode, CheckVersionRequest, CreateKind, CreateRequest, CreateTtlRequest,
    DeleteRequest, Id, MultiOp, MultiReadOp, Request, SetDataRequest, WatcherType,
};
use conclave_core::rng::Prng;
use conclave_core::tree::digest_id;

/// The root every generated path lives under (created before the run).
pub(crate) const ROOT: &str = "/x";

/// Names a node can take; few, so creates and deletes collide.
const NAMES: [&str; 3] = ["a", "b", "c"];

/// Paths no valid request names, or that ZooKeeper treats specially.
const ODD_PATHS: [&str; 11] = [
    "",
    "x",
    "/x/",
    "/x//a",
    "/x/a/.",
    "/x/./a",
    "/x/a/..",
    "/",
    "/zookeeper",
    "/zookeeper/quota",
    "/x/a\u{1}",
];

/// The users a session may authenticate as (`addauth digest user:password`).
const USERS: [&str; 2] = ["alice:a", "bob:b"];

/// Deepest path the generator builds.
const MAX_DEPTH: usize = 5;

/// Paths remembered from successful creates.
const KNOWN_PATHS: usize = 256;

/// Draws requests for `sessions` session slots.
pub(crate) struct Generator {
    rng: Prng,
    sessions: usize,
    known: Vec<String>,
}

impl Generator {
    /// A generator whose whole sequence is fixed by `seed` (and by what it learns).
    pub(crate) fn new(seed: u64, sessions: usize) -> Generator {
        Generator {
            rng: Prng::new(seed),
            sessions: sessions.max(1),
            known: vec![ROOT.to_string()],
        }
    }

    /// Remembers a node the reference server created, so later requests aim at it.
    pub(crate) fn learn_created(&mut self, path: &str) {
        if self.known.iter().any(|p| p == path) {
            return;
        }
        if self.known.len() >= KNOWN_PATHS {
            let i = 1 + self.rng.below(self.known.len() as u64 - 1) as usize;
            self.known.swap_remove(i);
        }
        self.known.push(path.to_string());
    }

    /// The next request and the session slot that sends it.
    pub(crate) fn next(&mut self) -> (usize, Request) {
        let slot = self.rng.below(self.sessions as u64) as usize;
        let r = self.rng.below(1000);
        let request = match r {
            0..=179 => Request::Create(self.create()),
            180..=209 => Request::CreateTtl(self.create_ttl()),
            210..=299 => Request::Delete(DeleteRequest {
                path: self.deletable_path(),
                version: self.version(),
            }),
            300..=389 => Request::SetData(SetDataRequest {
                path: self.path(),
                data: self.data(),
                version: self.version(),
            }),
            390..=459 => Request::GetData {
                path: self.path(),
                watch: self.rng.chance(500_000),
            },
            460..=519 => Request::Exists {
                path: self.path(),
                watch: self.rng.chance(500_000),
            },
            520..=569 => Request::GetChildren {
                path: self.path(),
                watch: self.rng.chance(500_000),
            },
            570..=599 => Request::GetChildren2 {
                path: self.path(),
                watch: self.rng.chance(500_000),
            },
            600..=619 => Request::GetAcl { path: self.path() },
            620..=659 => Request::SetAcl {
                path: self.settable_path(),
                acl: self.acl(),
                version: self.version(),
            },
            660..=739 => Request::Multi(self.multi()),
            740..=759 => Request::MultiRead(self.multi_read()),
            // No check (13) outside a multi: ZooKeeper 3.8 never answers a successful one (its
            // reply has no Stat to write), so the session would wait for ever.
            760..=799 => Request::Sync { path: self.path() },
            800..=824 => self.auth(),
            825..=849 => Request::AddWatch {
                path: self.path(),
                mode: if self.rng.chance(500_000) {
                    AddWatchMode::Persistent
                } else {
                    AddWatchMode::PersistentRecursive
                },
            },
            850..=879 => {
                let path = self.path();
                let watcher_type = self.watcher_type();
                if self.rng.chance(500_000) {
                    Request::RemoveWatches { path, watcher_type }
                } else {
                    Request::CheckWatches { path, watcher_type }
                }
            }
            880..=899 => Request::GetAllChildrenNumber { path: self.path() },
            900..=919 => Request::GetEphemerals {
                prefix: if self.rng.chance(300_000) {
                    "/".into()
                } else {
                    self.path()
                },
            },
            920..=939 => Request::WhoAmI,
            940..=954 => Request::CloseSession,
            _ => Request::Create(self.create()),
        };
        (slot, request)
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.rng.below(items.len() as u64) as usize]
    }

    /// A path: mostly one that exists or existed, sometimes a fresh one, now and then odd.
    fn path(&mut self) -> String {
        match self.rng.below(100) {
            0..=59 => {
                let i = self.rng.below(self.known.len() as u64) as usize;
                self.known[i].clone()
            }
            60..=94 => {
                let depth = 1 + self.rng.below(3) as usize;
                let mut p = ROOT.to_string();
                for _ in 0..depth {
                    p.push('/');
                    p.push_str(self.pick(&NAMES));
                }
                p
            }
            _ => self.pick(&ODD_PATHS).to_string(),
        }
    }

    /// A path whose ACL may be replaced: never the root of the run, so the tree stays usable.
    fn settable_path(&mut self) -> String {
        let p = self.path();
        if p == ROOT || p == "/" {
            format!("{ROOT}/{}", self.pick(&NAMES))
        } else {
            p
        }
    }

    /// A path to delete: never the root of the run, which would end the run's tree.
    fn deletable_path(&mut self) -> String {
        let p = self.path();
        if p == ROOT {
            format!("{ROOT}/{}", self.pick(&NAMES))
        } else {
            p
        }
    }

    /// Where a create goes: a child of a path (sequential names keep the suffix out).
    fn child_path(&mut self) -> String {
        let mut parent = self.path();
        if parent.matches('/').count() >= MAX_DEPTH || parent.is_empty() {
            parent = ROOT.to_string();
        }
        if self.rng.chance(30_000) {
            return self.pick(&ODD_PATHS).to_string();
        }
        let sep = if parent.ends_with('/') { "" } else { "/" };
        format!("{parent}{sep}{}", self.pick(&NAMES))
    }

    fn version(&mut self) -> i32 {
        match self.rng.below(10) {
            0..=3 => -1,
            4..=6 => 0,
            7 => 1,
            8 => 2,
            _ => self.rng.below(6) as i32 - 2,
        }
    }

    fn data(&mut self) -> Option<Vec<u8>> {
        if self.rng.chance(50_000) {
            return None;
        }
        let n = self.rng.below(24) as usize;
        Some((0..n).map(|_| self.rng.below(256) as u8).collect())
    }

    fn acl(&mut self) -> Vec<Acl> {
        let entry = |perms: i32, scheme: &str, id: &str| Acl {
            perms,
            id: Id {
                scheme: scheme.into(),
                id: id.into(),
            },
        };
        match self.rng.below(100) {
            0..=54 => vec![Acl::open_unsafe()],
            55..=62 => vec![entry(perms::READ, "world", "anyone")],
            63..=69 => {
                let user = self.pick(&USERS);
                vec![entry(perms::ALL, "digest", &digest_id(user))]
            }
            70..=76 => vec![entry(perms::ALL, "auth", "")],
            77..=81 => vec![entry(perms::ALL, "ip", "127.0.0.1")],
            82..=85 => vec![
                entry(perms::READ | perms::WRITE, "ip", "10.0.0.0/8"),
                entry(
                    perms::READ | perms::CREATE | perms::DELETE,
                    "world",
                    "anyone",
                ),
            ],
            86..=88 => Vec::new(),
            89..=90 => vec![entry(perms::ALL, "foo", "bar")],
            91..=92 => vec![entry(perms::ALL, "digest", "alice")],
            93..=94 => vec![entry(perms::ALL, "ip", "300.1.1.1")],
            95..=96 => vec![entry(0, "world", "anyone"), Acl::open_unsafe()],
            _ => vec![entry(perms::ALL | 64, "world", "anyone")],
        }
    }

    fn create(&mut self) -> CreateRequest {
        let kind = match self.rng.below(10) {
            0..=4 => CreateKind::Create,
            5..=7 => CreateKind::Create2,
            _ => CreateKind::Container,
        };
        let flags = match (kind, self.rng.below(20)) {
            (CreateKind::Container, 0) => 0,
            (CreateKind::Container, _) => 4,
            (_, 0..=5) => 0,
            (_, 6..=9) => 1,
            (_, 10..=13) => 2,
            (_, 14..=17) => 3,
            (_, 18) => 4 + self.rng.below(3) as i32,
            _ => [7, -1, 100][self.rng.below(3) as usize],
        };
        CreateRequest {
            kind,
            path: self.child_path(),
            data: self.data(),
            acl: self.acl(),
            flags,
        }
    }

    fn create_ttl(&mut self) -> CreateTtlRequest {
        let flags = match self.rng.below(10) {
            0..=4 => 5,
            5..=8 => 6,
            _ => self.rng.below(5) as i32,
        };
        // Long enough never to expire during a run; now and then out of range.
        let mut ttl = match self.rng.below(10) {
            0 => 0,
            1 => -5,
            2 => 1 << 41,
            _ => 3_600_000 + self.rng.below(1000) as i64,
        };
        if ttl < 0 && !(5..=6).contains(&flags) {
            // ZooKeeper 3.8 logs such a request when its checks pass, then dies applying it
            // ("Severe unrecoverable error"); Conclave refuses it (BADARGUMENTS). Not sent:
            // the reference would be gone.
            ttl = 3_600_000;
        }
        CreateTtlRequest {
            path: self.child_path(),
            data: self.data(),
            acl: self.acl(),
            flags,
            ttl,
        }
    }

    fn multi(&mut self) -> Vec<MultiOp> {
        let n = self.rng.below(5) as usize;
        (0..n)
            .map(|_| match self.rng.below(10) {
                0..=3 => MultiOp::Create(CreateRequest {
                    kind: match self.rng.below(10) {
                        0..=5 => CreateKind::Create,
                        6..=8 => CreateKind::Create2,
                        _ => CreateKind::Container,
                    },
                    path: self.child_path(),
                    data: self.data(),
                    acl: self.acl(),
                    flags: match self.rng.below(40) {
                        0 => 7,
                        1 => 5,
                        2 => 6,
                        3..=5 => 4,
                        x => x as i32 % 4,
                    },
                }),
                4 => MultiOp::CreateTtl(self.create_ttl()),
                5..=6 => MultiOp::Delete(DeleteRequest {
                    path: self.deletable_path(),
                    version: self.version(),
                }),
                7..=8 => MultiOp::SetData(SetDataRequest {
                    path: self.path(),
                    data: self.data(),
                    version: self.version(),
                }),
                _ => MultiOp::Check(CheckVersionRequest {
                    path: self.path(),
                    version: self.version(),
                }),
            })
            .collect()
    }

    fn multi_read(&mut self) -> Vec<MultiReadOp> {
        let n = self.rng.below(4) as usize;
        (0..n)
            .map(|_| {
                let path = self.path();
                if self.rng.chance(500_000) {
                    MultiReadOp::GetData { path, watch: false }
                } else {
                    MultiReadOp::GetChildren { path, watch: false }
                }
            })
            .collect()
    }

    fn auth(&mut self) -> Request {
        let (scheme, auth) = match self.rng.below(20) {
            0..=13 => ("digest", self.pick(&USERS).to_string()),
            14..=16 => ("ip", "127.0.0.1".to_string()),
            17 => ("digest", "nocolon".to_string()),
            18 => ("world", "anyone".to_string()),
            _ => ("foo", "bar".to_string()),
        };
        Request::Auth {
            auth_type: 0,
            scheme: scheme.into(),
            auth: auth.into_bytes(),
        }
    }

    /// Children, Data or Any: ZooKeeper 3.8 cannot name persistent watches here (types 4
    /// and 5 are 3.9's; it answers MARSHALLINGERROR, Conclave removes them as 3.9 does).
    fn watcher_type(&mut self) -> WatcherType {
        match self.rng.below(3) {
            0 => WatcherType::Children,
            1 => WatcherType::Data,
            _ => WatcherType::Any,
        }
    }
}
