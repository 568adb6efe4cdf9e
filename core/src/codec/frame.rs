//! The frame layer: `u32 length | u32 crc32c | payload`, big-endian.

use alloc::vec::Vec;
use core::fmt;

/// Bytes before the payload: length and checksum.
pub const FRAME_HEADER_BYTES: usize = 8;

/// Largest peer frame payload accepted (larger snapshots travel in chunks).
pub const MAX_PEER_FRAME_BYTES: usize = 1 << 20;

// Slice-by-16 tables: 16 KiB of statics buys ~4x the checksum throughput of slice-by-1.
const CRC32C: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

/// crc32c (Castagnoli) of `bytes`, the checksum of every Conclave frame and record: with
/// `std`, the CPU's crc32 instruction where it has one; the table otherwise (same values).
pub fn crc32c(bytes: &[u8]) -> u32 {
    #[cfg(feature = "std")]
    {
        ::crc32c::crc32c(bytes)
    }
    #[cfg(not(feature = "std"))]
    {
        crc32c_table(bytes)
    }
}

/// The table-driven crc32c, for the no_std build and to check the accelerated one.
#[cfg_attr(all(feature = "std", not(test)), allow(dead_code))]
fn crc32c_table(bytes: &[u8]) -> u32 {
    CRC32C.checksum(bytes)
}

/// Why a byte stream was rejected; the caller closes that one link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The length field is zero or above the limit.
    BadLength {
        /// The length the peer announced.
        len: u32,
        /// The limit in force.
        max: usize,
    },
    /// The checksum does not match the payload.
    Checksum {
        /// Checksum carried by the frame.
        expected: u32,
        /// Checksum of the bytes received.
        actual: u32,
    },
    /// The payload is not a valid record of the expected format.
    Malformed(&'static str),
    /// The payload's format version is not one this build understands.
    UnknownVersion(u8),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadLength { len, max } => {
                write!(f, "frame length {len} outside 1..={max}")
            }
            FrameError::Checksum { expected, actual } => {
                write!(
                    f,
                    "frame checksum mismatch: carried {expected:#010x}, computed {actual:#010x}"
                )
            }
            FrameError::Malformed(what) => write!(f, "malformed payload: {what}"),
            FrameError::UnknownVersion(v) => write!(f, "unknown format version {v}"),
        }
    }
}

impl core::error::Error for FrameError {}

/// Appends one frame carrying `payload` to `out`.
pub fn encode_frame(payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(FRAME_HEADER_BYTES + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32c(payload).to_be_bytes());
    out.extend_from_slice(payload);
}

/// Appends one frame carrying `version` and the postcard encoding of `record` to `out`,
/// serialised straight into `out` (no payload buffer: a peer message or log record used to
/// cost two allocations and a copy before it reached its stream). The header is written
/// last, over a placeholder. Returns false, leaving `out` as it was, if postcard refuses
/// the record (not possible for the records of this crate: no maps with non-string keys,
/// no sequences of unknown length).
pub fn encode_record_frame<T: serde::Serialize + ?Sized>(
    version: u8,
    record: &T,
    out: &mut Vec<u8>,
) -> bool {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
    out.push(version);
    if postcard::to_extend(record, Append(out)).is_err() {
        out.truncate(start);
        return false;
    }
    let payload = &out[start + FRAME_HEADER_BYTES..];
    let len = (payload.len() as u32).to_be_bytes();
    let crc = crc32c(payload).to_be_bytes();
    out[start..start + 4].copy_from_slice(&len);
    out[start + 4..start + FRAME_HEADER_BYTES].copy_from_slice(&crc);
    true
}

/// `out` as postcard's writer, so a record extends it in place.
struct Append<'a>(&'a mut Vec<u8>);

impl Extend<u8> for Append<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, bytes: I) {
        self.0.extend(bytes);
    }
}

/// Reassembles frames from a byte stream delivered in arbitrary pieces.
///
/// Memory is bounded by the frame limit: a length above it is an error before any payload
/// is buffered. After an error the decoder stays failed; the link must be closed.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
    max: usize,
    failed: bool,
}

impl FrameDecoder {
    /// A decoder that accepts payloads of at most `max` bytes.
    pub fn new(max: usize) -> FrameDecoder {
        FrameDecoder {
            buf: Vec::new(),
            start: 0,
            max,
            failed: false,
        }
    }

    /// Buffers bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed {
            return;
        }
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 4096 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete, checksum-verified payload, `None` if more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<&[u8], FrameError>> {
        if self.failed {
            return None;
        }
        let avail = &self.buf[self.start..];
        if avail.len() < FRAME_HEADER_BYTES {
            return None;
        }
        let len = u32::from_be_bytes([avail[0], avail[1], avail[2], avail[3]]);
        let expected = u32::from_be_bytes([avail[4], avail[5], avail[6], avail[7]]);
        if len == 0 || len as usize > self.max {
            self.failed = true;
            return Some(Err(FrameError::BadLength { len, max: self.max }));
        }
        let total = FRAME_HEADER_BYTES + len as usize;
        if avail.len() < total {
            return None;
        }
        let from = self.start + FRAME_HEADER_BYTES;
        let to = self.start + total;
        self.start = to;
        let payload = &self.buf[from..to];
        let actual = crc32c(payload);
        if actual != expected {
            self.failed = true;
            return Some(Err(FrameError::Checksum { expected, actual }));
        }
        Some(Ok(payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crc32c_check_value() {
        // The CRC-32C check value from the catalogue of parametrised CRC algorithms.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c_table(b"123456789"), 0xE306_9283);
    }

    proptest! {
        /// Whichever implementation the build uses gives the table's checksum, for lengths
        /// around the accelerated path's 8-byte steps and alignments.
        #[test]
        fn crc32c_matches_the_table(bytes in proptest::collection::vec(any::<u8>(), 0..300), skip in 0usize..8) {
            let b = &bytes[skip.min(bytes.len())..];
            prop_assert_eq!(crc32c(b), crc32c_table(b));
        }
    }

    #[test]
    fn frame_layout_is_exact() {
        let mut out = Vec::new();
        encode_frame(b"abc", &mut out);
        assert_eq!(&out[..4], &[0, 0, 0, 3]);
        assert_eq!(&out[4..8], &crc32c(b"abc").to_be_bytes());
        assert_eq!(&out[8..], b"abc");
    }

    #[test]
    fn a_record_framed_in_place_equals_one_framed_from_a_payload() {
        let record = (7u32, "znode", [1u8, 2, 3]);
        let mut payload = alloc::vec![9u8];
        payload.extend_from_slice(&postcard::to_allocvec(&record).unwrap());
        let mut expected = b"queued".to_vec();
        encode_frame(&payload, &mut expected);
        let mut out = b"queued".to_vec();
        assert!(encode_record_frame(9, &record, &mut out));
        assert_eq!(out, expected);
    }

    #[test]
    fn a_refused_record_leaves_the_stream_as_it_was() {
        struct Refused;
        impl serde::Serialize for Refused {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("refused"))
            }
        }
        let mut out = b"queued".to_vec();
        assert!(!encode_record_frame(1, &(5u64, Refused), &mut out));
        assert_eq!(out, b"queued");
    }

    #[test]
    fn oversize_and_zero_lengths_fail_before_buffering() {
        let mut d = FrameDecoder::new(16);
        d.push(&[0, 0, 0, 17, 0, 0, 0, 0]);
        assert_eq!(
            d.next_frame(),
            Some(Err(FrameError::BadLength { len: 17, max: 16 }))
        );
        assert_eq!(d.next_frame(), None);
        let mut d = FrameDecoder::new(16);
        d.push(&[0; 8]);
        assert!(matches!(
            d.next_frame(),
            Some(Err(FrameError::BadLength { len: 0, .. }))
        ));
    }

    #[test]
    fn corrupt_payload_is_rejected() {
        let mut out = Vec::new();
        encode_frame(b"hello", &mut out);
        out[9] ^= 1;
        let mut d = FrameDecoder::new(64);
        d.push(&out);
        assert!(matches!(
            d.next_frame(),
            Some(Err(FrameError::Checksum { .. }))
        ));
    }

    proptest! {
        #[test]
        fn frames_survive_any_split(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 1..8), cut in 1usize..50) {
            let mut stream = Vec::new();
            for p in &payloads { encode_frame(p, &mut stream); }
            let mut d = FrameDecoder::new(1024);
            let mut got = Vec::new();
            for chunk in stream.chunks(cut) {
                d.push(chunk);
                while let Some(f) = d.next_frame() { got.push(f.unwrap().to_vec()); }
            }
            prop_assert_eq!(got, payloads);
            prop_assert_eq!(d.buffered(), 0);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut d = FrameDecoder::new(512);
            d.push(&bytes);
            let mut n = 0;
            while let Some(r) = d.next_frame() {
                n += 1;
                prop_assert!(n <= bytes.len());
                if r.is_err() { break; }
            }
        }
    }
}
