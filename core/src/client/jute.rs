//! Jute, ZooKeeper's binary record encoding, read and written by hand.
//!
//! Big-endian integers, one-byte booleans, and length-prefixed buffers, strings and vectors in
//! which a length of −1 means null. [`JuteReader`] checks every length and count against the
//! bytes that remain and against a `max_buffer` limit (ZooKeeper's `jute.maxbuffer`) before it
//! allocates anything, so hostile input costs at most memory proportional to its own size.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// ZooKeeper's default `jute.maxbuffer` (0xFFFFF bytes): the largest frame and the largest
/// buffer or string a reader accepts.
pub const DEFAULT_MAX_BUFFER: usize = 0xF_FFFF;

/// Why bytes could not be read as a jute record; never a panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JuteError {
    /// The input ended before the record did.
    Truncated {
        /// Bytes the next field needs.
        needed: usize,
        /// Bytes left in the input.
        remaining: usize,
    },
    /// A length or count below −1 (−1 itself means null).
    NegativeLength(i32),
    /// A length or count above the `max_buffer` limit.
    TooLong {
        /// The length the input announced.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// A `ustring` whose bytes are not UTF-8.
    BadUtf8,
    /// A null (−1) where the record requires a value.
    UnexpectedNull,
    /// A field whose value is outside its enumeration (watch mode, watcher type, multi op …).
    Invalid {
        /// The field that was out of range.
        field: &'static str,
        /// The value read.
        value: i32,
    },
    /// Bytes left over after a record that must fill its input exactly.
    TrailingBytes(usize),
}

impl fmt::Display for JuteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JuteError::Truncated { needed, remaining } => {
                write!(f, "truncated: need {needed} bytes, {remaining} remain")
            }
            JuteError::NegativeLength(len) => write!(f, "negative length {len}"),
            JuteError::TooLong { len, max } => write!(f, "length {len} above the limit {max}"),
            JuteError::BadUtf8 => f.write_str("string is not UTF-8"),
            JuteError::UnexpectedNull => f.write_str("null where a value is required"),
            JuteError::Invalid { field, value } => write!(f, "invalid {field} {value}"),
            JuteError::TrailingBytes(n) => write!(f, "{n} trailing bytes after the record"),
        }
    }
}

impl core::error::Error for JuteError {}

/// A cursor over one jute-encoded payload.
#[derive(Clone, Debug)]
pub struct JuteReader<'a> {
    buf: &'a [u8],
    pos: usize,
    max_buffer: usize,
}

impl<'a> JuteReader<'a> {
    /// A reader over `buf` that rejects any length or count above `max_buffer`.
    pub fn new(buf: &'a [u8], max_buffer: usize) -> JuteReader<'a> {
        JuteReader {
            buf,
            pos: 0,
            max_buffer,
        }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unread bytes themselves (e.g. a request body after its header).
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// The limit lengths and counts are checked against.
    pub fn max_buffer(&self) -> usize {
        self.max_buffer
    }

    /// Succeeds only if every byte was read; for records that must fill their input exactly.
    pub fn finish(&self) -> Result<(), JuteError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(JuteError::TrailingBytes(n)),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], JuteError> {
        let remaining = self.remaining();
        if n > remaining {
            return Err(JuteError::Truncated {
                needed: n,
                remaining,
            });
        }
        let bytes = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], JuteError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A jute `byte`.
    pub fn read_u8(&mut self) -> Result<u8, JuteError> {
        Ok(self.take_array::<1>()?[0])
    }

    /// A jute `boolean`; any non-zero byte is true, as in Java's `DataInput.readBoolean`.
    pub fn read_bool(&mut self) -> Result<bool, JuteError> {
        Ok(self.read_u8()? != 0)
    }

    /// A jute `int` (4 bytes, big-endian).
    pub fn read_i32(&mut self) -> Result<i32, JuteError> {
        Ok(i32::from_be_bytes(self.take_array()?))
    }

    /// A jute `long` (8 bytes, big-endian).
    pub fn read_i64(&mut self) -> Result<i64, JuteError> {
        Ok(i64::from_be_bytes(self.take_array()?))
    }

    /// A length prefix: `None` for −1 (null), else a length checked against the limit.
    fn read_len(&mut self) -> Result<Option<usize>, JuteError> {
        let len = self.read_i32()?;
        if len == -1 {
            return Ok(None);
        }
        let len = usize::try_from(len).map_err(|_| JuteError::NegativeLength(len))?;
        if len > self.max_buffer {
            return Err(JuteError::TooLong {
                len,
                max: self.max_buffer,
            });
        }
        Ok(Some(len))
    }

    /// A jute `buffer`, borrowed; `None` when null (length −1).
    pub fn read_buffer(&mut self) -> Result<Option<&'a [u8]>, JuteError> {
        match self.read_len()? {
            None => Ok(None),
            Some(len) => self.take(len).map(Some),
        }
    }

    /// A jute `buffer`, owned; `None` when null.
    pub fn read_buffer_vec(&mut self) -> Result<Option<Vec<u8>>, JuteError> {
        Ok(self.read_buffer()?.map(<[u8]>::to_vec))
    }

    /// A jute `buffer` where null and empty mean the same thing (passwords, auth tokens).
    pub fn read_bytes(&mut self) -> Result<Vec<u8>, JuteError> {
        Ok(self.read_buffer_vec()?.unwrap_or_default())
    }

    /// A jute `ustring`, borrowed and UTF-8 checked; `None` when null.
    pub fn read_str(&mut self) -> Result<Option<&'a str>, JuteError> {
        match self.read_buffer()? {
            None => Ok(None),
            Some(bytes) => core::str::from_utf8(bytes)
                .map(Some)
                .map_err(|_| JuteError::BadUtf8),
        }
    }

    /// A jute `ustring`, owned and UTF-8 checked; `None` when null.
    pub fn read_ustring(&mut self) -> Result<Option<String>, JuteError> {
        Ok(self.read_str()?.map(String::from))
    }

    /// A jute `ustring` the record requires: null is [`JuteError::UnexpectedNull`].
    pub fn read_string(&mut self) -> Result<String, JuteError> {
        self.read_ustring()?.ok_or(JuteError::UnexpectedNull)
    }

    /// A jute `vector<T>`; `None` when null.
    ///
    /// `min_size` is the fewest bytes one element can occupy: a count that cannot fit in the
    /// remaining bytes fails before anything is allocated, so the capacity reserved is always
    /// bounded by the input's own size.
    pub fn read_vec<T>(
        &mut self,
        min_size: usize,
        mut read: impl FnMut(&mut JuteReader<'a>) -> Result<T, JuteError>,
    ) -> Result<Option<Vec<T>>, JuteError> {
        let Some(count) = self.read_len()? else {
            return Ok(None);
        };
        let needed = count.saturating_mul(min_size.max(1));
        let remaining = self.remaining();
        if needed > remaining {
            return Err(JuteError::Truncated { needed, remaining });
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(read(self)?);
        }
        Ok(Some(items))
    }

    /// A jute `vector<T>` where null and empty mean the same thing.
    pub fn read_list<T>(
        &mut self,
        min_size: usize,
        read: impl FnMut(&mut JuteReader<'a>) -> Result<T, JuteError>,
    ) -> Result<Vec<T>, JuteError> {
        Ok(self.read_vec(min_size, read)?.unwrap_or_default())
    }

    /// A jute `vector<ustring>` where null and empty mean the same thing.
    pub fn read_string_list(&mut self) -> Result<Vec<String>, JuteError> {
        self.read_list(4, JuteReader::read_string)
    }
}

/// Appends jute encodings to a byte vector.
#[derive(Debug)]
pub struct JuteWriter<'a> {
    out: &'a mut Vec<u8>,
}

/// A length as a jute `int`. Records never approach 2 GiB (frames are capped by
/// `jute.maxbuffer`); an impossible larger length saturates instead of panicking.
fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

impl<'a> JuteWriter<'a> {
    /// A writer appending to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> JuteWriter<'a> {
        JuteWriter { out }
    }

    /// Bytes in the underlying vector (including any written before this writer).
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether the underlying vector is empty.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// A jute `byte`.
    pub fn write_u8(&mut self, v: u8) {
        self.out.push(v);
    }

    /// A jute `boolean` (1 or 0).
    pub fn write_bool(&mut self, v: bool) {
        self.out.push(u8::from(v));
    }

    /// A jute `int`.
    pub fn write_i32(&mut self, v: i32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// A jute `long`.
    pub fn write_i64(&mut self, v: i64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// A jute `buffer`; `None` is written as null (length −1).
    pub fn write_buffer(&mut self, v: Option<&[u8]>) {
        match v {
            None => self.write_i32(-1),
            Some(bytes) => self.write_bytes(bytes),
        }
    }

    /// A non-null jute `buffer`.
    pub fn write_bytes(&mut self, v: &[u8]) {
        self.write_i32(len_i32(v.len()));
        self.out.extend_from_slice(v);
    }

    /// A jute `ustring`; `None` is written as null.
    pub fn write_ustring(&mut self, v: Option<&str>) {
        self.write_buffer(v.map(str::as_bytes));
    }

    /// A non-null jute `ustring`.
    pub fn write_str(&mut self, v: &str) {
        self.write_bytes(v.as_bytes());
    }

    /// A non-null jute `vector<T>`, each element written by `write`.
    pub fn write_vec<T>(&mut self, items: &[T], mut write: impl FnMut(&mut JuteWriter<'a>, &T)) {
        self.write_i32(len_i32(items.len()));
        for item in items {
            write(self, item);
        }
    }

    /// A non-null jute `vector<ustring>`.
    pub fn write_string_list(&mut self, items: &[String]) {
        self.write_vec(items, |w, s| w.write_str(s));
    }
}

/// A jute record: a fixed sequence of fields with no tag, length or padding.
pub trait JuteRecord: Sized {
    /// Appends this record's fields.
    fn encode(&self, w: &mut JuteWriter<'_>);

    /// Reads one record, leaving any following bytes unread.
    fn decode(r: &mut JuteReader<'_>) -> Result<Self, JuteError>;

    /// This record's encoding as a new vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut JuteWriter::new(&mut out));
        out
    }

    /// Reads a record that must fill `bytes` exactly (strict; for tests and tooling).
    fn from_bytes(bytes: &[u8], max_buffer: usize) -> Result<Self, JuteError> {
        let mut r = JuteReader::new(bytes, max_buffer);
        let record = Self::decode(&mut r)?;
        r.finish()?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    fn reader(bytes: &[u8]) -> JuteReader<'_> {
        JuteReader::new(bytes, DEFAULT_MAX_BUFFER)
    }

    #[test]
    fn integers_are_big_endian() {
        let mut out = Vec::new();
        let mut w = JuteWriter::new(&mut out);
        w.write_i32(-2);
        w.write_i64(0x0102_0304_0506_0708);
        w.write_bool(true);
        w.write_u8(7);
        assert_eq!(
            out,
            [0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 1, 7].to_vec()
        );
        let mut r = reader(&out);
        assert_eq!(r.read_i32(), Ok(-2));
        assert_eq!(r.read_i64(), Ok(0x0102_0304_0506_0708));
        assert_eq!(r.read_bool(), Ok(true));
        assert_eq!(r.read_u8(), Ok(7));
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn any_nonzero_byte_is_true() {
        assert_eq!(reader(&[0x80]).read_bool(), Ok(true));
        assert_eq!(reader(&[0]).read_bool(), Ok(false));
    }

    #[test]
    fn null_is_distinct_from_empty() {
        let mut out = Vec::new();
        let mut w = JuteWriter::new(&mut out);
        w.write_buffer(None);
        w.write_buffer(Some(&[]));
        w.write_ustring(None);
        w.write_ustring(Some(""));
        assert_eq!(
            out,
            vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]
        );
        let mut r = reader(&out);
        assert_eq!(r.read_buffer(), Ok(None));
        assert_eq!(r.read_buffer(), Ok(Some(&[][..])));
        assert_eq!(r.read_ustring(), Ok(None));
        assert_eq!(r.read_ustring(), Ok(Some(String::new())));
    }

    #[test]
    fn required_string_rejects_null() {
        assert_eq!(
            reader(&[0xff; 4]).read_string(),
            Err(JuteError::UnexpectedNull)
        );
    }

    #[test]
    fn lengths_below_minus_one_are_rejected() {
        assert_eq!(
            reader(&(-2i32).to_be_bytes()).read_buffer(),
            Err(JuteError::NegativeLength(-2))
        );
        assert_eq!(
            reader(&i32::MIN.to_be_bytes()).read_vec(1, JuteReader::read_u8),
            Err(JuteError::NegativeLength(i32::MIN))
        );
    }

    #[test]
    fn lengths_above_max_buffer_are_rejected() {
        let mut bytes = 11i32.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[b'a'; 11]);
        let mut r = JuteReader::new(&bytes, 10);
        assert_eq!(
            r.read_ustring(),
            Err(JuteError::TooLong { len: 11, max: 10 })
        );
        let mut r = JuteReader::new(&bytes, 11);
        assert_eq!(r.read_ustring(), Ok(Some("aaaaaaaaaaa".into())));
        let mut r = JuteReader::new(&bytes, 10);
        assert_eq!(
            r.read_vec(1, JuteReader::read_u8),
            Err(JuteError::TooLong { len: 11, max: 10 })
        );
    }

    #[test]
    fn buffer_longer_than_input_is_truncated() {
        let bytes = [0, 0, 0, 5, 1, 2];
        assert_eq!(
            reader(&bytes).read_buffer(),
            Err(JuteError::Truncated {
                needed: 5,
                remaining: 2
            })
        );
    }

    #[test]
    fn huge_count_without_bytes_fails_before_allocating() {
        // 2^31 - 1 elements announced, nothing behind: must fail on the count alone. With an
        // unlimited max_buffer only the remaining-bytes check stands between the count and
        // `Vec::with_capacity`.
        let bytes = i32::MAX.to_be_bytes();
        let mut calls = 0;
        let got = JuteReader::new(&bytes, usize::MAX).read_vec(4, |r| {
            calls += 1;
            r.read_i32()
        });
        assert_eq!(
            got,
            Err(JuteError::Truncated {
                needed: (i32::MAX as usize).saturating_mul(4),
                remaining: 0
            })
        );
        assert_eq!(calls, 0);
        assert!(matches!(
            reader(&bytes).read_string_list(),
            Err(JuteError::TooLong { .. })
        ));
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let bytes = [0, 0, 0, 2, 0xc3, 0x28];
        assert_eq!(reader(&bytes).read_ustring(), Err(JuteError::BadUtf8));
    }

    #[test]
    fn finish_reports_trailing_bytes() {
        let bytes = [0, 0, 0, 1, 9];
        let mut r = reader(&bytes);
        r.read_i32().unwrap();
        assert_eq!(r.finish(), Err(JuteError::TrailingBytes(1)));
        assert_eq!(r.rest(), &[9]);
    }

    proptest! {
        #[test]
        fn primitives_round_trip(
            a in any::<i32>(),
            b in any::<i64>(),
            c in any::<bool>(),
            d in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            e in proptest::option::of("\\PC{0,12}"),
            f in proptest::collection::vec("\\PC{0,6}", 0..6),
        ) {
            let mut out = Vec::new();
            let mut w = JuteWriter::new(&mut out);
            w.write_i32(a);
            w.write_i64(b);
            w.write_bool(c);
            w.write_buffer(d.as_deref());
            w.write_ustring(e.as_deref());
            w.write_string_list(&f);
            let mut r = reader(&out);
            prop_assert_eq!(r.read_i32(), Ok(a));
            prop_assert_eq!(r.read_i64(), Ok(b));
            prop_assert_eq!(r.read_bool(), Ok(c));
            prop_assert_eq!(r.read_buffer_vec(), Ok(d));
            prop_assert_eq!(r.read_ustring(), Ok(e));
            prop_assert_eq!(r.read_string_list(), Ok(f));
            prop_assert_eq!(r.finish(), Ok(()));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), max in 0usize..64) {
            let mut r = JuteReader::new(&bytes, max);
            let _ = r.read_string_list();
            let mut r = JuteReader::new(&bytes, max);
            let _ = r.read_buffer();
            let _ = r.read_ustring();
            let _ = r.read_vec(12, |r| { r.read_i32()?; r.read_string() });
            prop_assert!(r.remaining() <= bytes.len());
        }
    }
}
