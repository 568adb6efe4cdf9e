//! Transaction log segments: `log.<hex zxid>` files holding framed [`Txn`] records.
//!
//! ```text
//! file   := header record* zero-padding?
//! header := b"CNLG" | u8 version (1) | 0 0 0
//! record := u32 len | u32 crc32c(payload) | payload          (big-endian, codec::frame)
//! payload:= u8 version (1) | postcard(Txn)
//! ```
//!
//! The name is the zxid of the segment's first record in lowercase hex without padding, as in
//! ZooKeeper. A zero length field followed only by zeros is the end of the data (preallocated
//! space). [`scan_log`] is pure and never panics: any input gives records or a typed error.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::disk_error::{RecoveryError, TornTail};
use super::frame::{crc32c, encode_record_frame, FRAME_HEADER_BYTES};
use super::txn::Txn;
use crate::ids::Zxid;

/// Format version carried by the log file header and by every record payload.
pub const LOG_FORMAT_VERSION: u8 = 1;

/// Magic bytes that open every log segment.
pub const LOG_MAGIC: [u8; 4] = *b"CNLG";

/// The 8-byte header that opens every log segment: magic, version, three zero bytes.
pub const LOG_HEADER: [u8; 8] = [
    LOG_MAGIC[0],
    LOG_MAGIC[1],
    LOG_MAGIC[2],
    LOG_MAGIC[3],
    LOG_FORMAT_VERSION,
    0,
    0,
    0,
];

/// The smallest record [`encode_log_record`] writes: a frame header (length, crc32c) around
/// the version byte and at least one byte for each of the txn's six fields.
pub const MIN_RECORD_BYTES: usize = 8 + 1 + 6;

/// Prefix of every log segment's file name.
pub const LOG_FILE_PREFIX: &str = "log.";

/// The file name of the segment whose first record is `first`: `log.<lowercase hex>`.
pub fn log_file_name(first: Zxid) -> String {
    format!("{LOG_FILE_PREFIX}{:x}", first.0)
}

/// The first zxid named by a canonical log segment name, `None` for any other name.
pub fn parse_log_file_name(name: &str) -> Option<Zxid> {
    parse_hex_name(name, LOG_FILE_PREFIX)
}

/// Parses `<prefix><hex>` where hex is canonical: lowercase, no leading zeros, at most 16 digits.
pub(crate) fn parse_hex_name(name: &str, prefix: &str) -> Option<Zxid> {
    let hex = name.strip_prefix(prefix)?;
    let canonical = !hex.is_empty()
        && hex.len() <= 16
        && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && (hex == "0" || !hex.starts_with('0'));
    if !canonical {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(Zxid)
}

/// The header every log segment starts with (the same bytes as [`LOG_HEADER`]).
pub const fn encode_log_header() -> [u8; 8] {
    LOG_HEADER
}

/// Appends one framed record carrying `txn` to `out`.
pub fn encode_log_record(txn: &Txn, out: &mut Vec<u8>) {
    out.reserve(FRAME_HEADER_BYTES + 32 + txn.body.len());
    let encoded = encode_record_frame(LOG_FORMAT_VERSION, txn, out);
    debug_assert!(encoded, "postcard refused a txn");
}

/// One record read back from a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedRecord {
    /// The record's zxid.
    pub zxid: Zxid,
    /// The transaction, if the scan was asked to keep it (zxid above `keep_after`): recovery
    /// needs only what the snapshot does not hold, and keeping the rest would cost a
    /// recovering member the whole log in memory.
    pub txn: Option<Txn>,
    /// Offset just past this record's frame: truncating the file here keeps it and drops the rest.
    pub end_offset: u64,
}

/// The readable content of one segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedLog {
    /// The zxid in the segment's name (equal to the first record's zxid, if any).
    pub first_zxid: Zxid,
    /// Every valid record, in file order (zxids strictly increasing).
    pub records: Vec<ScannedRecord>,
    /// Length of the valid prefix: header plus records (0 if even the header is missing).
    pub valid_len: u64,
    /// The incomplete write found after the valid prefix of a last segment, if any.
    pub torn: Option<TornTail>,
}

/// Why a frame at some offset could not be read.
enum FrameFault {
    /// The bytes are consistent with an interrupted write or garbage.
    Bad(&'static str),
    /// The frame is intact (checksum matches) but its content is unacceptable.
    Intact(String),
}

/// Why no intact frame starts at some offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameFlaw {
    /// Fewer than 8 bytes remain.
    IncompleteHeader,
    /// A zero length field (in a log: with non-zero bytes somewhere after it).
    ZeroLength,
    /// The length field runs past the end of the file.
    PastEnd,
    /// The checksum does not match the payload.
    Checksum,
}

impl FrameFlaw {
    /// True when the file simply ends inside the frame.
    pub(crate) fn is_incomplete(self) -> bool {
        matches!(self, FrameFlaw::IncompleteHeader | FrameFlaw::PastEnd)
    }

    /// A short description for error messages.
    pub(crate) fn why(self) -> &'static str {
        match self {
            FrameFlaw::IncompleteHeader => "incomplete frame header",
            FrameFlaw::ZeroLength => "zero frame length",
            FrameFlaw::PastEnd => "frame length runs past the end of the file",
            FrameFlaw::Checksum => "frame checksum mismatch",
        }
    }
}

/// Reads the frame at `off`: `Ok((payload, end))` when its length fits and its checksum matches.
pub(crate) fn read_frame(bytes: &[u8], off: usize) -> Result<(&[u8], usize), FrameFlaw> {
    let rest = bytes.get(off..).unwrap_or(&[]);
    let Some(head) = rest.get(..FRAME_HEADER_BYTES) else {
        return Err(FrameFlaw::IncompleteHeader);
    };
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let crc = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if len == 0 {
        return Err(FrameFlaw::ZeroLength);
    }
    let Some(payload) = FRAME_HEADER_BYTES
        .checked_add(len)
        .and_then(|end| rest.get(FRAME_HEADER_BYTES..end))
    else {
        return Err(FrameFlaw::PastEnd);
    };
    if crc32c(payload) != crc {
        return Err(FrameFlaw::Checksum);
    }
    Ok((payload, off + FRAME_HEADER_BYTES + len))
}

/// The first offset at or after `from` where an intact frame (fitting length, matching
/// checksum) starts.
pub(crate) fn find_intact_frame(bytes: &[u8], from: usize) -> Option<usize> {
    let last_start = bytes.len().checked_sub(FRAME_HEADER_BYTES + 1)?;
    (from..=last_start).find(|&p| read_frame(bytes, p).is_ok())
}

/// True when `bytes[off..]` holds nothing but zeros (preallocated space, or nothing at all).
fn only_zeros_from(bytes: &[u8], off: usize) -> bool {
    bytes.get(off..).is_none_or(|r| r.iter().all(|&b| b == 0))
}

/// Offset just past the last non-zero byte of `bytes`.
fn non_zero_extent(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1)
}

/// Decodes a record payload (`version | postcard(Txn)`), demanding that nothing is left over.
fn decode_record(payload: &[u8]) -> Result<Txn, String> {
    let Some((&version, body)) = payload.split_first() else {
        return Err("empty record payload".to_string());
    };
    if version != LOG_FORMAT_VERSION {
        return Err(format!("unknown record format version {version}"));
    }
    match postcard::take_from_bytes::<Txn>(body) {
        Ok((txn, [])) => Ok(txn),
        Ok((_, extra)) => Err(format!(
            "intact record has {} bytes after the transaction",
            extra.len()
        )),
        Err(_) => Err("intact record does not decode as a transaction".to_string()),
    }
}

/// Reads one log segment.
///
/// `name` is the file name (it fixes the expected first zxid); `is_last_segment` says whether
/// this is the newest segment, the only one where an interrupted write is expected.
///
/// * Zero padding after the last record is the end of the data.
/// * A bad frame (incomplete, bad checksum, non-zero garbage) in the last segment is a torn
///   tail only if no intact frame starts anywhere after it; otherwise, and in any other
///   segment, it is [`RecoveryError::Corrupt`]. Data that looks valid is never dropped.
/// * An intact frame that does not decode, a first zxid different from the name, or a zxid
///   that does not increase is always `Corrupt`.
///
/// Every record is checked (checksum, decoding, order); only those with a zxid above
/// `keep_after` keep their transaction (`Zxid::ZERO` keeps all).
pub fn scan_log(
    name: &str,
    bytes: &[u8],
    is_last_segment: bool,
    keep_after: Zxid,
) -> Result<ScannedLog, RecoveryError> {
    let corrupt = |offset: usize, why: String| RecoveryError::Corrupt {
        file: name.to_string(),
        offset: offset as u64,
        why,
    };
    let Some(first_zxid) = parse_log_file_name(name) else {
        return Err(corrupt(0, "not a log segment name".to_string()));
    };
    let mut scanned = ScannedLog {
        first_zxid,
        records: Vec::new(),
        valid_len: 0,
        torn: None,
    };

    let header_len = LOG_HEADER.len();
    let mut off = 0usize;
    let mut fault: Option<FrameFault> = None;
    if bytes.get(..header_len) == Some(&LOG_HEADER[..]) {
        off = header_len;
    } else if bytes.get(..4) == Some(&LOG_MAGIC[..])
        && bytes
            .get(4)
            .is_some_and(|&v| v != 0 && v != LOG_FORMAT_VERSION)
    {
        // Another format, or the newest segment's header torn after its magic (a crash
        // before its first sync). Torn only when the file cannot hold even one record
        // (nothing in it was ever acknowledged) and the header is not well formed (a future
        // version's header keeps its reserved bytes zero, and is refused).
        let well_formed = bytes.get(5..header_len) == Some(&[0u8, 0, 0][..]);
        let torn = is_last_segment && bytes.len() < header_len + MIN_RECORD_BYTES && !well_formed;
        if !torn {
            let v = bytes[4];
            return Err(corrupt(4, format!("unsupported log format version {v}")));
        }
        fault = Some(FrameFault::Bad("log header torn after its magic"));
    } else if only_zeros_from(bytes, 0) && is_last_segment {
        // Created (perhaps preallocated) but the header never reached the disk.
        return Ok(scanned);
    } else {
        fault = Some(FrameFault::Bad("missing or damaged log header"));
    }

    while fault.is_none() {
        if only_zeros_from(bytes, off) {
            break;
        }
        let (payload, end) = match read_frame(bytes, off) {
            Ok(f) => f,
            Err(flaw) => {
                fault = Some(FrameFault::Bad(flaw.why()));
                break;
            }
        };
        let txn = match decode_record(payload) {
            Ok(t) => t,
            Err(why) => {
                fault = Some(FrameFault::Intact(why));
                break;
            }
        };
        let zxid = txn.header.zxid;
        match scanned.records.last() {
            None if zxid != first_zxid => {
                fault = Some(FrameFault::Intact(format!(
                    "first record has zxid {zxid} but the file name says {first_zxid}"
                )));
                break;
            }
            Some(prev) if zxid <= prev.zxid => {
                fault = Some(FrameFault::Intact(format!(
                    "zxid {zxid} does not increase (previous record {})",
                    prev.zxid
                )));
                break;
            }
            _ => {}
        }
        scanned.records.push(ScannedRecord {
            zxid,
            txn: (zxid > keep_after).then_some(txn),
            end_offset: end as u64,
        });
        off = end;
    }
    scanned.valid_len = off as u64;

    match fault {
        None => Ok(scanned),
        Some(FrameFault::Intact(why)) => Err(corrupt(off, why)),
        Some(FrameFault::Bad(why)) if !is_last_segment => {
            Err(corrupt(off, format!("{why} (not the last segment)")))
        }
        Some(FrameFault::Bad(why)) => {
            if let Some(at) = find_intact_frame(bytes, off) {
                return Err(corrupt(
                    off,
                    format!("{why}, but an intact frame follows at byte {at}"),
                ));
            }
            let dropped = non_zero_extent(bytes).saturating_sub(off);
            if dropped > 0 {
                scanned.torn = Some(TornTail {
                    file: name.to_string(),
                    offset: off as u64,
                    dropped_bytes: dropped as u64,
                });
            }
            Ok(scanned)
        }
    }
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
