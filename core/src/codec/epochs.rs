//! The epoch files `acceptedEpoch` and `currentEpoch` (protocol reference §2.2).
//!
//! Like ZooKeeper, each holds one decimal number and a newline. They are replaced atomically:
//! the adapter writes `<name>.tmp`, syncs it, and renames it over `<name>`.

use alloc::format;
use alloc::vec::Vec;
use core::fmt;

/// The file holding acceptedEpoch: the last epoch this server promised (ZAB's f.p).
pub const ACCEPTED_EPOCH_FILE: &str = "acceptedEpoch";

/// The file holding currentEpoch: the last epoch whose leader's history was adopted (f.a).
pub const CURRENT_EPOCH_FILE: &str = "currentEpoch";

/// The temporary sibling written before the rename onto [`ACCEPTED_EPOCH_FILE`].
pub const ACCEPTED_EPOCH_TMP_FILE: &str = "acceptedEpoch.tmp";

/// The temporary sibling written before the rename onto [`CURRENT_EPOCH_FILE`].
pub const CURRENT_EPOCH_TMP_FILE: &str = "currentEpoch.tmp";

/// Why the content of an epoch file is not an epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EpochError {
    /// Nothing but whitespace.
    Empty,
    /// A byte that is neither a decimal digit nor surrounding whitespace.
    InvalidByte {
        /// Its offset in the file.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// A number larger than the largest epoch (`u32::MAX`).
    TooLarge,
}

impl fmt::Display for EpochError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EpochError::Empty => write!(f, "epoch file holds no number"),
            EpochError::InvalidByte { offset, byte } => write!(
                f,
                "epoch file has byte {byte:#04x} at offset {offset}; expected one decimal number"
            ),
            EpochError::TooLarge => {
                write!(f, "epoch is larger than the largest epoch {}", u32::MAX)
            }
        }
    }
}

impl core::error::Error for EpochError {}

/// The content of an epoch file: the decimal number and a newline.
pub fn encode_epoch(epoch: u32) -> Vec<u8> {
    format!("{epoch}\n").into_bytes()
}

/// Parses an epoch file: one unsigned decimal number, optionally surrounded by ASCII whitespace.
pub fn parse_epoch(bytes: &[u8]) -> Result<u32, EpochError> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or(EpochError::Empty)?;
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    let digits = &bytes[start..end];
    if let Some(i) = digits.iter().position(|b| !b.is_ascii_digit()) {
        return Err(EpochError::InvalidByte {
            offset: start + i,
            byte: digits[i],
        });
    }
    let mut value: u32 = 0;
    for &d in digits {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u32::from(d - b'0')))
            .ok_or(EpochError::TooLarge)?;
    }
    Ok(value)
}

#[cfg(test)]
#[path = "epochs_tests.rs"]
mod tests;
