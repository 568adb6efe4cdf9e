//! Why a data directory cannot be recovered, and the torn tail a crash may leave: the types
//! the log scanner and recovery share. They live beside the decoders so that recovery depends
//! on the codecs and never the other way round.

use alloc::string::String;
use core::fmt;

use crate::codec::epochs::{
    EpochError, ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE, CURRENT_EPOCH_TMP_FILE,
};

/// An interrupted write at the end of the newest log segment, dropped by recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// The segment's file name.
    pub file: String,
    /// Where the valid data ends and the torn write begins (the segment's valid length).
    pub offset: u64,
    /// Bytes from `offset` up to the last non-zero byte (zero padding after it is not counted).
    pub dropped_bytes: u64,
}

/// Why the data directory cannot be recovered; the server must not start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecoveryError {
    /// A file is damaged or inconsistent where no crash could have left it so.
    Corrupt {
        /// The file.
        file: String,
        /// Byte offset of the damage in the file.
        offset: u64,
        /// What is wrong.
        why: String,
    },
    /// Log segments exist but no snapshot is valid: starting would silently empty the database.
    LogsWithoutSnapshot {
        /// The oldest log segment.
        log: String,
        /// How many snapshot files were present but unreadable.
        unreadable_snapshots: usize,
    },
    /// Snapshots of a non-empty state exist (no logs), but none of them is valid.
    NoValidSnapshot {
        /// The newest snapshot file.
        file: String,
        /// Why it could not be used.
        why: String,
    },
    /// The last logged zxid belongs to an epoch after currentEpoch and acceptedEpoch, and no
    /// `.tmp` rescues it.
    EpochBehindLog {
        /// currentEpoch as recorded.
        current: u32,
        /// Epoch of the last durable zxid.
        log_epoch: u32,
    },
    /// acceptedEpoch is below currentEpoch: the promise is older than the adopted history.
    AcceptedBelowCurrent {
        /// acceptedEpoch as recorded (or derived).
        accepted: u32,
        /// currentEpoch as recorded (or rescued from `.tmp`).
        current: u32,
    },
    /// An epoch file does not hold an epoch.
    BadEpochFile {
        /// The file.
        file: String,
        /// What is wrong with its content.
        error: EpochError,
    },
    /// The adapter listed the same file name twice.
    DuplicateFile {
        /// The file.
        file: String,
    },
}

impl fmt::Display for RecoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecoveryError::Corrupt { file, offset, why } => {
                write!(f, "{file} is corrupt at byte {offset}: {why}")
            }
            RecoveryError::LogsWithoutSnapshot {
                log,
                unreadable_snapshots,
            } => write!(
                f,
                "log segment {log} exists but no snapshot is valid ({unreadable_snapshots} \
                 unreadable); refusing to start from an empty database"
            ),
            RecoveryError::NoValidSnapshot { file, why } => write!(
                f,
                "no snapshot is valid (newest, {file}: {why}); refusing to start from an empty \
                 database"
            ),
            RecoveryError::EpochBehindLog { current, log_epoch } => write!(
                f,
                "{CURRENT_EPOCH_FILE} is {current} but the last logged zxid is in epoch \
                 {log_epoch}, and {CURRENT_EPOCH_TMP_FILE} does not hold {log_epoch} or more"
            ),
            RecoveryError::AcceptedBelowCurrent { accepted, current } => write!(
                f,
                "{ACCEPTED_EPOCH_FILE} {accepted} is below {CURRENT_EPOCH_FILE} {current}"
            ),
            RecoveryError::BadEpochFile { file, error } => write!(f, "{file}: {error}"),
            RecoveryError::DuplicateFile { file } => {
                write!(f, "the data directory listing names {file} twice")
            }
        }
    }
}

impl core::error::Error for RecoveryError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            RecoveryError::BadEpochFile { error, .. } => Some(error),
            _ => None,
        }
    }
}
