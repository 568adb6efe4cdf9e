//! The ZooKeeper keys Conclave recognises but ignores (a warning, never an error).

#[allow(unused_imports)]
use super::*;

/// Keys of the Java server (3.5–3.9) that Conclave accepts and ignores.
pub(super) const RECOGNISED_KEYS: &[&str] = &[
    "autopurge.snapRetainCount",
    "autopurge.purgeInterval",
    "forceSync",
    "preAllocSize",
    "snapCount",
    "snapSizeLimitInKb",
    "commitLogCount",
    "txnLogSizeLimitInKb",
    "syncEnabled",
    "quorumListenOnAllIPs",
    "clientPortListenBacklog",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "globalOutstandingLimit",
    "maxCnxns",
    "electionPortBindRetry",
    "connectToLearnerMasterLimit",
    "fsync.warningthresholdms",
    "skipACL",
    "leaderServes",
    "cnxTimeout",
    "serverCnxnFactory",
    "portUnification",
    "sslQuorumReloadCertFiles",
    "client.portUnification",
    "oraclePath",
    "quorum.cnxn.threads.size",
    "flushDelay",
    "maxWriteQueuePollTime",
    "maxBatchSize",
    "enforceQuota",
    "watchManagerName",
    "extendedTypesEnabled",
    "emulate353TTLNodes",
    "closeSessionTxn.enabled",
    "largeRequestMaxBytes",
    "largeRequestThreshold",
    "outstandingHandshake.limit",
    "throttledOpWaitTime",
    "serializeLastProcessedZxid.enabled",
    "leaderConnectDelayDuringRetryMs",
    "sessionRequireClientSASLAuth",
    "superUser",
];

/// Key prefixes of the Java server that Conclave accepts and ignores.
pub(super) const RECOGNISED_PREFIXES: &[&str] = &[
    "ssl.",
    "authProvider.",
    "quorum.auth.",
    "zookeeper.",
    "admin.",
    "metricsProvider.",
    "jvm.pause.",
    "multiAddress.",
    "znode.container.",
    "autopurge.",
    "netty.",
    "nio.",
    "learner.",
    "requestThrottle",
    "kerberos.",
    "fastleader.",
    "audit.",
    "enforce.auth.",
    "snapshot.",
    "digest.",
    "jute.",
    "4lw.",
];

/// Whether the Java server knows `key` (so the warning can say it is merely ignored).
pub(super) fn is_recognised_zk_key(key: &str) -> bool {
    RECOGNISED_KEYS.contains(&key) || RECOGNISED_PREFIXES.iter().any(|p| key.starts_with(p))
}
