//! Snapshot files: `snapshot.<hex zxid>` holding the state machine's opaque bytes.
//!
//! ```text
//! file    := b"CNSN" | u8 version (1) | 0 0 0
//!            frame(version | postcard(SnapshotHeader))
//!            frame(version | postcard(chunk bytes))   × header.chunks
//!            frame(version | postcard(SnapshotTrailer))
//! frame   := u32 len | u32 crc32c(payload) | payload     (big-endian, codec::frame)
//! ```
//!
//! Every frame payload is at most [`MAX_PEER_FRAME_BYTES`] (1 MiB), so a snapshot can be
//! streamed to a peer frame by frame. A snapshot is valid only if it is complete: header,
//! every chunk, and a trailer whose checksum covers all the state bytes, then end of file.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::{Deserialize, Serialize, Serializer};

use super::frame::{crc32c, encode_record_frame, FRAME_HEADER_BYTES, MAX_PEER_FRAME_BYTES};
use super::log::{parse_hex_name, read_frame};
use crate::ids::Zxid;

/// Format version carried by the file header and by every frame payload.
pub const SNAPSHOT_FORMAT_VERSION: u8 = 1;

/// Magic bytes that open every snapshot file.
pub const SNAPSHOT_MAGIC: [u8; 4] = *b"CNSN";

/// The 8-byte header that opens every snapshot file: magic, version, three zero bytes.
pub const SNAPSHOT_HEADER: [u8; 8] = [
    SNAPSHOT_MAGIC[0],
    SNAPSHOT_MAGIC[1],
    SNAPSHOT_MAGIC[2],
    SNAPSHOT_MAGIC[3],
    SNAPSHOT_FORMAT_VERSION,
    0,
    0,
    0,
];

/// Prefix of every snapshot's file name.
pub const SNAPSHOT_FILE_PREFIX: &str = "snapshot.";

/// State bytes per chunk frame: the payload (version byte, 3-byte length varint, data) is
/// then exactly [`MAX_PEER_FRAME_BYTES`].
pub const SNAPSHOT_CHUNK_BYTES: usize = MAX_PEER_FRAME_BYTES - 4;

/// The first record of a snapshot: what it holds and how it is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// Every transaction up to and including this zxid is in the state.
    pub zxid: Zxid,
    /// Total number of state bytes.
    pub total_len: u64,
    /// Number of chunk frames that follow.
    pub chunks: u32,
}

/// The last record of a snapshot: its presence and checksum prove the write completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotTrailer {
    /// crc32c of all the state bytes, in order.
    pub crc32c: u32,
    /// Number of chunk frames (repeats the header's count).
    pub chunks: u32,
}

/// Why a snapshot file is not usable. Recovery skips such a file and tries an older one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// The file does not start with the snapshot header.
    NotASnapshot,
    /// A format version this build does not understand.
    UnsupportedVersion {
        /// Where the version byte is.
        offset: u64,
        /// The version found.
        version: u8,
    },
    /// The file ends before the snapshot is complete (an interrupted write).
    Truncated {
        /// Where the missing part starts.
        offset: u64,
    },
    /// A frame with a bad checksum, or a record that does not decode.
    BadFrame {
        /// Where the frame starts.
        offset: u64,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Intact records that contradict each other (lengths, counts, checksum, trailing bytes).
    Inconsistent {
        /// Where the offending record starts.
        offset: u64,
        /// The contradiction.
        why: String,
    },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::NotASnapshot => write!(f, "not a Conclave snapshot (bad header)"),
            SnapshotError::UnsupportedVersion { offset, version } => {
                write!(
                    f,
                    "unsupported snapshot format version {version} at byte {offset}"
                )
            }
            SnapshotError::Truncated { offset } => {
                write!(
                    f,
                    "snapshot incomplete: file ends inside the frame at byte {offset}"
                )
            }
            SnapshotError::BadFrame { offset, why } => write!(f, "{why} at byte {offset}"),
            SnapshotError::Inconsistent { offset, why } => write!(f, "{why} at byte {offset}"),
        }
    }
}

impl core::error::Error for SnapshotError {}

/// The file name of a snapshot of the state after `zxid`: `snapshot.<lowercase hex>`.
pub fn snapshot_file_name(zxid: Zxid) -> String {
    format!("{SNAPSHOT_FILE_PREFIX}{:x}", zxid.0)
}

/// The zxid named by a canonical snapshot name, `None` for any other name.
pub fn parse_snapshot_file_name(name: &str) -> Option<Zxid> {
    parse_hex_name(name, SNAPSHOT_FILE_PREFIX)
}

/// A byte slice serialised as a postcard byte string (varint length, then the bytes).
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

fn encode_record<T: Serialize>(record: &T, out: &mut Vec<u8>) {
    let encoded = encode_record_frame(SNAPSHOT_FORMAT_VERSION, record, out);
    debug_assert!(encoded, "postcard refused a snapshot record");
}

/// Appends the complete snapshot file for `state` after `zxid` to `out`.
pub fn encode_snapshot(zxid: Zxid, state: &[u8], out: &mut Vec<u8>) {
    let chunks = state.len().div_ceil(SNAPSHOT_CHUNK_BYTES) as u32;
    out.reserve(SNAPSHOT_HEADER.len() + 64 + state.len() + 12 * chunks as usize);
    out.extend_from_slice(&SNAPSHOT_HEADER);
    let header = SnapshotHeader {
        zxid,
        total_len: state.len() as u64,
        chunks,
    };
    encode_record(&header, out);
    for chunk in state.chunks(SNAPSHOT_CHUNK_BYTES) {
        encode_record(&Bytes(chunk), out);
    }
    let trailer = SnapshotTrailer {
        crc32c: crc32c(state),
        chunks,
    };
    encode_record(&trailer, out);
}

/// The snapshot file for `state` after `zxid`, framed in `state`'s own buffer: the same bytes
/// as [`encode_snapshot`] without a second copy of the state (a tree's state is most of a
/// member's memory, and a copy of it was the peak of every snapshot). Chunks move towards the
/// end, last first, to make room for the frame heads before them.
pub fn frame_snapshot(zxid: Zxid, mut state: Vec<u8>) -> Vec<u8> {
    let n = state.len();
    let chunks = n.div_ceil(SNAPSHOT_CHUNK_BYTES);
    let mut head = Vec::from(SNAPSHOT_HEADER);
    encode_record(
        &SnapshotHeader {
            zxid,
            total_len: n as u64,
            chunks: chunks as u32,
        },
        &mut head,
    );
    let mut tail = Vec::new();
    encode_record(
        &SnapshotTrailer {
            crc32c: crc32c(&state),
            chunks: chunks as u32,
        },
        &mut tail,
    );
    // Where each chunk's frame starts in the output, and its varint length prefix.
    let mut starts = Vec::with_capacity(chunks);
    let mut at = head.len();
    for i in 0..chunks {
        let len = SNAPSHOT_CHUNK_BYTES.min(n - i * SNAPSHOT_CHUNK_BYTES);
        let mut prefix = Vec::with_capacity(6);
        prefix.push(SNAPSHOT_FORMAT_VERSION);
        let mut v = len as u64;
        while v >= 0x80 {
            prefix.push((v as u8) | 0x80);
            v >>= 7;
        }
        prefix.push(v as u8);
        starts.push((at, prefix, len));
        at += FRAME_HEADER_BYTES + starts[i].1.len() + len;
    }
    state.resize(at + tail.len(), 0);
    for (i, (start, prefix, len)) in starts.iter().enumerate().rev() {
        let payload = start + FRAME_HEADER_BYTES;
        let data = payload + prefix.len();
        let src = i * SNAPSHOT_CHUNK_BYTES;
        state.copy_within(src..src + len, data);
        state[payload..data].copy_from_slice(prefix);
        let crc = crc32c(&state[payload..data + len]);
        let frame_len = (prefix.len() + len) as u32;
        state[*start..start + 4].copy_from_slice(&frame_len.to_be_bytes());
        state[start + 4..payload].copy_from_slice(&crc.to_be_bytes());
    }
    state[..head.len()].copy_from_slice(&head);
    state[at..].copy_from_slice(&tail);
    state
}

/// Reads the frame at `off` and decodes its `version | postcard(T)` payload.
fn decode_record<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    off: usize,
) -> Result<(T, usize), SnapshotError> {
    let at = off as u64;
    let (payload, end) = read_frame(bytes, off).map_err(|flaw| {
        if flaw.is_incomplete() {
            SnapshotError::Truncated { offset: at }
        } else {
            SnapshotError::BadFrame {
                offset: at,
                why: flaw.why(),
            }
        }
    })?;
    let (&version, body) = payload.split_first().ok_or(SnapshotError::BadFrame {
        offset: at,
        why: "empty frame payload",
    })?;
    if version != SNAPSHOT_FORMAT_VERSION {
        return Err(SnapshotError::UnsupportedVersion {
            offset: at + 8,
            version,
        });
    }
    match postcard::take_from_bytes::<T>(body) {
        Ok((value, [])) => Ok((value, end)),
        Ok(_) => Err(SnapshotError::BadFrame {
            offset: at,
            why: "record followed by stray bytes",
        }),
        Err(_) => Err(SnapshotError::BadFrame {
            offset: at,
            why: "undecodable snapshot record",
        }),
    }
}

/// Decodes a complete snapshot file into its zxid and state bytes.
///
/// Anything short of a complete, checksum-verified file is an error; the header's
/// `total_len` is checked against the file size before any allocation.
pub fn decode_snapshot(bytes: &[u8]) -> Result<(Zxid, Vec<u8>), SnapshotError> {
    let header_len = SNAPSHOT_HEADER.len();
    match bytes.get(..header_len) {
        Some(h) if h == SNAPSHOT_HEADER => {}
        Some(h) if h[..4] == SNAPSHOT_MAGIC && h[4] != SNAPSHOT_FORMAT_VERSION => {
            return Err(SnapshotError::UnsupportedVersion {
                offset: 4,
                version: h[4],
            })
        }
        None if SNAPSHOT_HEADER.starts_with(bytes) => {
            return Err(SnapshotError::Truncated { offset: 0 })
        }
        _ => return Err(SnapshotError::NotASnapshot),
    }
    let inconsistent = |offset: usize, why: String| SnapshotError::Inconsistent {
        offset: offset as u64,
        why,
    };

    let mut off = header_len;
    let (header, next) = decode_record::<SnapshotHeader>(bytes, off)?;
    // Every state byte occupies a byte of the file: a larger total is a lie, caught before
    // allocating. Every chunk holds at least one byte, and at most SNAPSHOT_CHUNK_BYTES.
    if header.total_len > bytes.len() as u64 {
        return Err(inconsistent(
            off,
            format!(
                "header claims {} state bytes in a {}-byte file",
                header.total_len,
                bytes.len()
            ),
        ));
    }
    let chunks = u64::from(header.chunks);
    if chunks > header.total_len
        || chunks.saturating_mul(SNAPSHOT_CHUNK_BYTES as u64) < header.total_len
    {
        return Err(inconsistent(
            off,
            format!(
                "{} state bytes cannot be split into {} chunks",
                header.total_len, header.chunks
            ),
        ));
    }
    off = next;
    // Bounded by the file length just above, so it also fits in usize.
    let total = header.total_len as usize;
    let mut state = Vec::with_capacity(total);
    for i in 0..header.chunks {
        let (chunk, next) = decode_record::<&[u8]>(bytes, off)?;
        if chunk.is_empty() || chunk.len() > SNAPSHOT_CHUNK_BYTES {
            return Err(inconsistent(
                off,
                format!("chunk {i} holds {} bytes", chunk.len()),
            ));
        }
        if chunk.len() > total - state.len() {
            return Err(inconsistent(
                off,
                format!("chunk {i} overruns the {total} state bytes of the header"),
            ));
        }
        state.extend_from_slice(chunk);
        off = next;
    }
    if state.len() != total {
        return Err(inconsistent(
            off,
            format!(
                "chunks hold {} state bytes, header says {total}",
                state.len()
            ),
        ));
    }
    let (trailer, next) = decode_record::<SnapshotTrailer>(bytes, off)?;
    if trailer.chunks != header.chunks {
        return Err(inconsistent(
            off,
            format!(
                "trailer counts {} chunks, header {}",
                trailer.chunks, header.chunks
            ),
        ));
    }
    let actual = crc32c(&state);
    if trailer.crc32c != actual {
        return Err(inconsistent(
            off,
            format!(
                "state checksum mismatch: trailer {:#010x}, computed {actual:#010x}",
                trailer.crc32c
            ),
        ));
    }
    if next != bytes.len() {
        return Err(inconsistent(
            next,
            format!("{} bytes after the trailer", bytes.len() - next),
        ));
    }
    Ok((header.zxid, state))
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
