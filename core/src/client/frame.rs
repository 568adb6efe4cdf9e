//! Framing on the client port: `int length` + payload, and four-letter words.
//!
//! The first frame of a connection is a bare ConnectRequest; every later one is a
//! RequestHeader + body. Instead of a first frame a client may send a four-letter word (e.g.
//! `ruok`): its four ASCII bytes, read as the length, equal a known command.

use alloc::vec::Vec;
use core::fmt;

use super::jute::{JuteRecord, JuteWriter, DEFAULT_MAX_BUFFER};

/// Bytes of the length prefix.
pub(crate) const LENGTH_BYTES: usize = 4;

/// Appends `payload` with its 4-byte big-endian length prefix.
pub fn encode_frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = i32::try_from(payload.len()).unwrap_or(i32::MAX);
    out.reserve(LENGTH_BYTES + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Appends one frame whose payload `body` writes; the length prefix is filled in afterwards.
pub fn encode_frame_with(out: &mut Vec<u8>, body: impl FnOnce(&mut JuteWriter<'_>)) {
    let start = out.len();
    out.extend_from_slice(&[0; LENGTH_BYTES]);
    body(&mut JuteWriter::new(out));
    let len = out.len() - start - LENGTH_BYTES;
    let len = i32::try_from(len).unwrap_or(i32::MAX);
    out[start..start + LENGTH_BYTES].copy_from_slice(&len.to_be_bytes());
}

/// Appends one frame holding a single record (ConnectRequest / ConnectResponse).
pub fn encode_record_frame<R: JuteRecord>(record: &R, out: &mut Vec<u8>) {
    encode_frame_with(out, |w| record.encode(w));
}

/// The four-letter admin commands recognised in place of a first frame (§5.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FourLetterWord {
    /// Liveness: answers `imok`.
    Ruok,
    /// Server summary.
    Srvr,
    /// Server summary with connections.
    Stat,
    /// Metrics, tab separated.
    Mntr,
    /// Configuration.
    Conf,
    /// Connection details.
    Cons,
    /// Environment.
    Envi,
    /// Watch summary.
    Wchs,
    /// Watches by session.
    Wchc,
    /// Watches by path.
    Wchp,
    /// Sessions and ephemerals.
    Dump,
    /// Read-only or read-write.
    Isro,
    /// Reset connection statistics.
    Crst,
    /// Reset server statistics.
    Srst,
    /// Data directory sizes.
    Dirs,
    /// Get the trace mask.
    Gtmk,
    /// Set the trace mask (followed by an 8-byte mask).
    Stmk,
    /// Digest history.
    Hash,
}

impl FourLetterWord {
    /// Every command.
    pub const ALL: &'static [FourLetterWord] = &[
        FourLetterWord::Ruok,
        FourLetterWord::Srvr,
        FourLetterWord::Stat,
        FourLetterWord::Mntr,
        FourLetterWord::Conf,
        FourLetterWord::Cons,
        FourLetterWord::Envi,
        FourLetterWord::Wchs,
        FourLetterWord::Wchc,
        FourLetterWord::Wchp,
        FourLetterWord::Dump,
        FourLetterWord::Isro,
        FourLetterWord::Crst,
        FourLetterWord::Srst,
        FourLetterWord::Dirs,
        FourLetterWord::Gtmk,
        FourLetterWord::Stmk,
        FourLetterWord::Hash,
    ];

    /// The command's name, e.g. `"ruok"` (as the whitelist spells it).
    pub const fn as_str(self) -> &'static str {
        match self {
            FourLetterWord::Ruok => "ruok",
            FourLetterWord::Srvr => "srvr",
            FourLetterWord::Stat => "stat",
            FourLetterWord::Mntr => "mntr",
            FourLetterWord::Conf => "conf",
            FourLetterWord::Cons => "cons",
            FourLetterWord::Envi => "envi",
            FourLetterWord::Wchs => "wchs",
            FourLetterWord::Wchc => "wchc",
            FourLetterWord::Wchp => "wchp",
            FourLetterWord::Dump => "dump",
            FourLetterWord::Isro => "isro",
            FourLetterWord::Crst => "crst",
            FourLetterWord::Srst => "srst",
            FourLetterWord::Dirs => "dirs",
            FourLetterWord::Gtmk => "gtmk",
            FourLetterWord::Stmk => "stmk",
            FourLetterWord::Hash => "hash",
        }
    }

    /// The four bytes on the wire.
    pub fn as_bytes(self) -> [u8; 4] {
        let b = self.as_str().as_bytes();
        [b[0], b[1], b[2], b[3]]
    }

    /// The command spelled by four bytes, if any.
    pub fn from_bytes(bytes: [u8; 4]) -> Option<FourLetterWord> {
        FourLetterWord::ALL
            .iter()
            .copied()
            .find(|w| w.as_bytes() == bytes)
    }

    /// The command spelled by a name (whitelist entries), if any.
    pub fn from_name(name: &str) -> Option<FourLetterWord> {
        FourLetterWord::ALL
            .iter()
            .copied()
            .find(|w| w.as_str() == name)
    }
}

impl fmt::Display for FourLetterWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One unit read from the client port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// The first frame: a bare ConnectRequest.
    Connect(&'a [u8]),
    /// A later frame: RequestHeader + body.
    Packet(&'a [u8]),
    /// A four-letter word sent instead of a first frame; answer in plain text and close.
    FourLetter(FourLetterWord),
}

/// Why the client stream was rejected; the caller closes that connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientFrameError {
    /// The length prefix is negative (e.g. telnet's close sequence `fff4fffd`).
    NegativeLength(i32),
    /// The length prefix exceeds `jute.maxbuffer`.
    TooLong {
        /// The length announced.
        len: usize,
        /// The limit in force.
        max: usize,
    },
}

impl fmt::Display for ClientFrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientFrameError::NegativeLength(len) => write!(f, "negative frame length {len}"),
            ClientFrameError::TooLong { len, max } => {
                write!(f, "frame length {len} above jute.maxbuffer {max}")
            }
        }
    }
}

impl core::error::Error for ClientFrameError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No frame yet: a four-letter word is possible.
    AwaitConnect,
    /// The ConnectRequest was returned; only packets follow.
    Session,
    /// A four-letter word was returned; only stmk's argument is still buffered.
    FourLetter,
    /// An error was returned; everything is ignored.
    Failed,
}

/// Reassembles client-port frames from bytes delivered in arbitrary pieces.
///
/// A length above the limit is an error before its payload is buffered, so the decoder holds
/// at most one frame plus whatever the caller pushed beyond it ([`buffered`](Self::buffered)
/// lets an adapter stop reading the socket while it holds frames back, e.g. during session
/// creation). "Initialised" is tracked here: a four-letter word is recognised only before the
/// first frame, exactly as the Java server checks it only on a connection that has not read a
/// ConnectRequest. After a four-letter word or an error the decoder yields nothing more.
#[derive(Debug)]
pub struct ClientFrameDecoder {
    buf: Vec<u8>,
    start: usize,
    max: usize,
    state: State,
}

impl Default for ClientFrameDecoder {
    fn default() -> ClientFrameDecoder {
        ClientFrameDecoder::new(DEFAULT_MAX_BUFFER)
    }
}

impl ClientFrameDecoder {
    /// A decoder accepting payloads of at most `max_buffer` bytes (`jute.maxbuffer`).
    pub fn new(max_buffer: usize) -> ClientFrameDecoder {
        ClientFrameDecoder {
            buf: Vec::new(),
            start: 0,
            max: max_buffer,
            state: State::AwaitConnect,
        }
    }

    /// Buffers bytes read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        match self.state {
            State::Failed => return,
            // Only stmk's 8-byte argument is ever read after a command.
            State::FourLetter => {
                let room = 8usize.saturating_sub(self.buffered());
                let take = room.min(bytes.len());
                self.buf.extend_from_slice(&bytes[..take]);
                return;
            }
            State::AwaitConnect | State::Session => {}
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

    /// Bytes buffered but not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether the ConnectRequest frame has been returned.
    pub fn is_initialised(&self) -> bool {
        self.state == State::Session
    }

    /// The trace mask following a `stmk` command, once its 8 bytes have arrived.
    pub fn four_letter_argument(&self) -> Option<i64> {
        if self.state != State::FourLetter {
            return None;
        }
        let rest = &self.buf[self.start..];
        let bytes: [u8; 8] = rest.get(..8)?.try_into().ok()?;
        Some(i64::from_be_bytes(bytes))
    }

    /// The next frame; `None` when more bytes are needed (or the stream has ended).
    pub fn next_frame(&mut self) -> Option<Result<Frame<'_>, ClientFrameError>> {
        let initialised = match self.state {
            State::AwaitConnect => false,
            State::Session => true,
            State::FourLetter | State::Failed => return None,
        };
        let avail = &self.buf[self.start..];
        let prefix: [u8; LENGTH_BYTES] = avail.get(..LENGTH_BYTES)?.try_into().ok()?;
        if !initialised {
            if let Some(word) = FourLetterWord::from_bytes(prefix) {
                self.state = State::FourLetter;
                self.start += LENGTH_BYTES;
                let keep = self.buffered().min(8);
                self.buf.truncate(self.start + keep);
                return Some(Ok(Frame::FourLetter(word)));
            }
        }
        let raw = i32::from_be_bytes(prefix);
        let Ok(len) = usize::try_from(raw) else {
            self.state = State::Failed;
            return Some(Err(ClientFrameError::NegativeLength(raw)));
        };
        if len > self.max {
            self.state = State::Failed;
            return Some(Err(ClientFrameError::TooLong { len, max: self.max }));
        }
        if avail.len() < LENGTH_BYTES + len {
            return None;
        }
        let from = self.start + LENGTH_BYTES;
        self.start = from + len;
        let payload = &self.buf[from..from + len];
        if initialised {
            Some(Ok(Frame::Packet(payload)))
        } else {
            self.state = State::Session;
            Some(Ok(Frame::Connect(payload)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    #[test]
    fn four_letter_words_are_big_endian_ints() {
        assert_eq!(
            i32::from_be_bytes(FourLetterWord::Ruok.as_bytes()),
            0x7275_6F6B
        );
        for &w in FourLetterWord::ALL {
            assert_eq!(FourLetterWord::from_bytes(w.as_bytes()), Some(w));
            assert_eq!(FourLetterWord::from_name(w.as_str()), Some(w));
            // None of them could be mistaken for a frame of up to 1 GiB.
            assert!(i32::from_be_bytes(w.as_bytes()) > 0x4000_0000);
        }
        assert_eq!(FourLetterWord::from_bytes(*b"kill"), None);
    }

    #[test]
    fn four_letter_word_only_before_the_first_frame() {
        let mut d = ClientFrameDecoder::new(DEFAULT_MAX_BUFFER);
        d.push(b"mntr");
        assert_eq!(
            d.next_frame(),
            Some(Ok(Frame::FourLetter(FourLetterWord::Mntr)))
        );
        assert_eq!(d.next_frame(), None);
        assert!(!d.is_initialised());

        // After a ConnectRequest the same four bytes are a (too long) length.
        let mut d = ClientFrameDecoder::new(DEFAULT_MAX_BUFFER);
        let mut stream = Vec::new();
        encode_frame(b"conn", &mut stream);
        stream.extend_from_slice(b"mntr");
        d.push(&stream);
        assert_eq!(d.next_frame(), Some(Ok(Frame::Connect(b"conn"))));
        assert!(d.is_initialised());
        assert_eq!(
            d.next_frame(),
            Some(Err(ClientFrameError::TooLong {
                len: 0x6d6e_7472,
                max: DEFAULT_MAX_BUFFER
            }))
        );
        assert_eq!(d.next_frame(), None);
    }

    #[test]
    fn stmk_argument_is_available_once_buffered() {
        let mut d = ClientFrameDecoder::default();
        d.push(b"stmk\x00\x00\x00");
        assert_eq!(
            d.next_frame(),
            Some(Ok(Frame::FourLetter(FourLetterWord::Stmk)))
        );
        assert_eq!(d.four_letter_argument(), None);
        d.push(&[0, 0, 0, 0, 0x12, 0xff, 0xff]);
        assert_eq!(d.four_letter_argument(), Some(0x12));
        assert!(d.buffered() <= 8);
        assert_eq!(d.next_frame(), None);
    }

    #[test]
    fn bad_lengths_close_the_connection() {
        let mut d = ClientFrameDecoder::new(16);
        d.push(&[0xff, 0xf4, 0xff, 0xfd]);
        assert_eq!(
            d.next_frame(),
            Some(Err(ClientFrameError::NegativeLength(
                0xfff4_fffd_u32 as i32
            )))
        );
        assert_eq!(d.next_frame(), None);
        d.push(&[0, 0, 0, 0]);
        assert_eq!(d.next_frame(), None);

        let mut d = ClientFrameDecoder::new(16);
        d.push(&[0, 0, 0, 17]);
        assert_eq!(
            d.next_frame(),
            Some(Err(ClientFrameError::TooLong { len: 17, max: 16 }))
        );
        let mut d = ClientFrameDecoder::new(16);
        d.push(&[0, 0, 0, 16]);
        assert_eq!(d.next_frame(), None, "exactly max_buffer is allowed");
        d.push(&[1; 16]);
        assert_eq!(d.next_frame(), Some(Ok(Frame::Connect(&[1; 16]))));
    }

    #[test]
    fn default_limit_is_jute_maxbuffer() {
        let mut d = ClientFrameDecoder::default();
        d.push(&0x10_0000i32.to_be_bytes());
        assert_eq!(
            d.next_frame(),
            Some(Err(ClientFrameError::TooLong {
                len: 0x10_0000,
                max: 0xF_FFFF
            }))
        );
    }

    #[test]
    fn empty_frames_are_frames() {
        let mut d = ClientFrameDecoder::default();
        d.push(&[0; 8]);
        assert_eq!(d.next_frame(), Some(Ok(Frame::Connect(&[]))));
        assert_eq!(d.next_frame(), Some(Ok(Frame::Packet(&[]))));
        assert_eq!(d.next_frame(), None);
    }

    #[test]
    fn encode_frame_prefixes_the_length() {
        let mut out = vec![9];
        encode_frame(b"abc", &mut out);
        assert_eq!(out, [9, 0, 0, 0, 3, b'a', b'b', b'c']);
    }

    proptest! {
        #[test]
        fn frames_survive_any_split(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..8),
            cut in 1usize..40,
        ) {
            let mut stream = Vec::new();
            for p in &payloads { encode_frame(p, &mut stream); }
            let mut d = ClientFrameDecoder::new(256);
            let mut got = Vec::new();
            for chunk in stream.chunks(cut) {
                d.push(chunk);
                while let Some(f) = d.next_frame() {
                    match f.unwrap() {
                        Frame::Connect(p) => { prop_assert!(got.is_empty()); got.push(p.to_vec()) }
                        Frame::Packet(p) => { prop_assert!(!got.is_empty()); got.push(p.to_vec()) }
                        Frame::FourLetter(w) => prop_assert!(false, "unexpected {}", w),
                    }
                }
            }
            prop_assert_eq!(got, payloads);
            prop_assert_eq!(d.buffered(), 0);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024), cut in 1usize..64) {
            let mut d = ClientFrameDecoder::new(128);
            let mut frames = 0;
            for chunk in bytes.chunks(cut) {
                d.push(chunk);
                while let Some(r) = d.next_frame() {
                    frames += 1;
                    prop_assert!(frames <= bytes.len() / 4 + 1);
                    if let Ok(Frame::Connect(p) | Frame::Packet(p)) = r {
                        prop_assert!(p.len() <= 128);
                    }
                }
                prop_assert!(d.buffered() <= bytes.len());
            }
            let _ = d.four_letter_argument();
        }
    }
}
