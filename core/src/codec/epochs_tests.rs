//! Epoch files: ZooKeeper's decimal-and-newline text.

use super::*;
use alloc::string::ToString;
use proptest::prelude::*;

#[test]
fn encodes_like_zookeeper() {
    assert_eq!(encode_epoch(0), b"0\n");
    assert_eq!(encode_epoch(42), b"42\n");
    assert_eq!(encode_epoch(u32::MAX), b"4294967295\n");
}

#[test]
fn accepts_surrounding_whitespace() {
    assert_eq!(parse_epoch(b"7"), Ok(7));
    assert_eq!(parse_epoch(b"7\n"), Ok(7));
    assert_eq!(parse_epoch(b"  \t 12 \r\n\n"), Ok(12));
    assert_eq!(parse_epoch(b"007\n"), Ok(7));
    assert_eq!(parse_epoch(b"4294967295\n"), Ok(u32::MAX));
}

#[test]
fn rejects_everything_else() {
    assert_eq!(parse_epoch(b""), Err(EpochError::Empty));
    assert_eq!(parse_epoch(b" \n"), Err(EpochError::Empty));
    assert_eq!(
        parse_epoch(b"-1\n"),
        Err(EpochError::InvalidByte {
            offset: 0,
            byte: b'-'
        })
    );
    assert_eq!(
        parse_epoch(b"+1"),
        Err(EpochError::InvalidByte {
            offset: 0,
            byte: b'+'
        })
    );
    assert_eq!(
        parse_epoch(b"1 2"),
        Err(EpochError::InvalidByte {
            offset: 1,
            byte: b' '
        })
    );
    assert_eq!(
        parse_epoch(b" 0x10"),
        Err(EpochError::InvalidByte {
            offset: 2,
            byte: b'x'
        })
    );
    assert_eq!(
        parse_epoch(b"5\0"),
        Err(EpochError::InvalidByte { offset: 1, byte: 0 })
    );
    // An invalid byte is reported even after an overflowing prefix.
    assert_eq!(
        parse_epoch(b"99999999999999999999x"),
        Err(EpochError::InvalidByte {
            offset: 20,
            byte: b'x'
        })
    );
}

#[test]
fn rejects_values_above_u32_max_clearly() {
    assert_eq!(parse_epoch(b"4294967296\n"), Err(EpochError::TooLarge));
    assert_eq!(
        parse_epoch(b"9223372036854775807"),
        Err(EpochError::TooLarge)
    );
    assert_eq!(
        EpochError::TooLarge.to_string(),
        "epoch is larger than the largest epoch 4294967295"
    );
    assert_eq!(
        EpochError::InvalidByte {
            offset: 3,
            byte: b'x'
        }
        .to_string(),
        "epoch file has byte 0x78 at offset 3; expected one decimal number"
    );
}

proptest! {
    #[test]
    fn round_trips(e in any::<u32>()) {
        prop_assert_eq!(parse_epoch(&encode_epoch(e)), Ok(e));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(e) = parse_epoch(&bytes) {
            let text = core::str::from_utf8(&bytes).unwrap();
            prop_assert_eq!(text.trim().parse::<u64>().ok(), Some(u64::from(e)));
        }
    }

    #[test]
    fn any_u64_text_parses_iff_it_fits(v in any::<u64>()) {
        let text = alloc::format!(" {v}\n");
        let expected = u32::try_from(v).map_err(|_| EpochError::TooLarge);
        prop_assert_eq!(parse_epoch(text.as_bytes()), expected);
    }
}
