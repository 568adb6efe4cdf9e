//! Values of single keys: strict decimal and hex numbers, ranges, ports, booleans.

#[allow(unused_imports)]
use super::*;

/// Why a string did not parse as a strict decimal number.
pub(super) enum NumError {
    /// Empty, or a character other than an ASCII digit.
    NotNumber,
    /// Only digits, but more than `u64` holds.
    TooLarge,
}

/// Parses plain ASCII decimal digits (no sign, no spaces) into a `u64` without overflow.
pub(super) fn parse_decimal(text: &str) -> Result<u64, NumError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumError::NotNumber);
    }
    let mut acc: u64 = 0;
    for b in text.bytes() {
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_add(u64::from(b.wrapping_sub(b'0'))))
            .ok_or(NumError::TooLarge)?;
    }
    Ok(acc)
}

/// Parses `0x`/`0X` hexadecimal digits into a `u64` without overflow.
pub(super) fn parse_hex(digits: &str) -> Result<u64, NumError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NumError::NotNumber);
    }
    let mut acc: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(16).ok_or(NumError::NotNumber)?;
        acc = acc
            .checked_mul(16)
            .and_then(|a| a.checked_add(u64::from(d)))
            .ok_or(NumError::TooLarge)?;
    }
    Ok(acc)
}

/// Range text for `u32` keys that must be positive.
pub(super) const WHY_POSITIVE_U32: &str = "must be 1-4294967295";
/// Range text for `u32` keys that may be zero.
pub(super) const WHY_U32: &str = "must be 0-4294967295";
/// Range text for port keys.
pub(super) const WHY_PORT: &str = "must be a port 1-65535";
/// Why a `busyPollMicros` value was refused.
pub(super) const WHY_BUSY_POLL: &str = "must be 0 (off) to 10000 microseconds";

/// Checks a parsed number against `min..=max`, mapping failures to the key's error.
pub(super) fn check_range(
    line: usize,
    key: &str,
    value: &str,
    parsed: Result<u64, NumError>,
    min: u64,
    max: u64,
    why: &'static str,
) -> Result<u64, ConfigError> {
    let out_of_range = || {
        ConfigError::new(
            line,
            ConfigErrorKind::OutOfRange {
                key: key.to_string(),
                value: value.to_string(),
                why,
            },
        )
    };
    match parsed {
        Ok(n) if n >= min && n <= max => Ok(n),
        Ok(_) | Err(NumError::TooLarge) => Err(out_of_range()),
        Err(NumError::NotNumber) => Err(ConfigError::new(
            line,
            ConfigErrorKind::BadNumber {
                key: key.to_string(),
                value: value.to_string(),
            },
        )),
    }
}

/// Parses a decimal `u32` key, at least `min` (0 or 1).
pub(super) fn u32_key(line: usize, key: &str, value: &str, min: u64) -> Result<u32, ConfigError> {
    let why = if min == 0 { WHY_U32 } else { WHY_POSITIVE_U32 };
    let n = check_range(
        line,
        key,
        value,
        parse_decimal(value),
        min,
        u64::from(u32::MAX),
        why,
    )?;
    u32::try_from(n).map_err(|_| {
        ConfigError::new(
            line,
            ConfigErrorKind::OutOfRange {
                key: key.to_string(),
                value: value.to_string(),
                why,
            },
        )
    })
}

/// Parses `busyPollMicros`: 0 (never poll instead of sleeping) to [`MAX_BUSY_POLL_US`].
pub(super) fn busy_poll_key(line: usize, key: &str, value: &str) -> Result<u32, ConfigError> {
    let max = u64::from(MAX_BUSY_POLL_US);
    let n = check_range(
        line,
        key,
        value,
        parse_decimal(value),
        0,
        max,
        WHY_BUSY_POLL,
    )?;
    // In range, so it fits.
    Ok(u32::try_from(n).unwrap_or(MAX_BUSY_POLL_US))
}

/// Parses a decimal port key (1..=65535).
pub(super) fn port_key(line: usize, key: &str, value: &str) -> Result<u16, ConfigError> {
    let n = check_range(
        line,
        key,
        value,
        parse_decimal(value),
        1,
        u64::from(u16::MAX),
        WHY_PORT,
    )?;
    u16::try_from(n).map_err(|_| {
        ConfigError::new(
            line,
            ConfigErrorKind::OutOfRange {
                key: key.to_string(),
                value: value.to_string(),
                why: WHY_PORT,
            },
        )
    })
}

/// Parses `jute.maxbuffer`: decimal or `0x` hex (as Java's `Integer.decode` reads it), > 0.
///
/// A multi-digit decimal with a leading 0 is refused: Java would read it as octal.
pub(super) fn jute_key(line: usize, key: &str, value: &str) -> Result<u32, ConfigError> {
    let parsed = if let Some(hex) = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        parse_hex(hex)
    } else if value.len() > 1 && value.starts_with('0') {
        Err(NumError::NotNumber)
    } else {
        parse_decimal(value)
    };
    let n = check_range(
        line,
        key,
        value,
        parsed,
        1,
        u64::from(u32::MAX),
        WHY_POSITIVE_U32,
    )?;
    u32::try_from(n).map_err(|_| {
        ConfigError::new(
            line,
            ConfigErrorKind::OutOfRange {
                key: key.to_string(),
                value: value.to_string(),
                why: WHY_POSITIVE_U32,
            },
        )
    })
}

/// Parses a boolean key: true/false/yes/no, case-insensitively.
pub(super) fn bool_key(line: usize, key: &str, value: &str) -> Result<bool, ConfigError> {
    if value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("yes") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") || value.eq_ignore_ascii_case("no") {
        Ok(false)
    } else {
        Err(ConfigError::new(
            line,
            ConfigErrorKind::BadBool {
                key: key.to_string(),
                value: value.to_string(),
            },
        ))
    }
}

/// A key whose value must not be empty (paths, addresses).
pub(super) fn non_empty_key(line: usize, key: &str, value: &str) -> Result<String, ConfigError> {
    if value.is_empty() {
        Err(ConfigError::new(
            line,
            ConfigErrorKind::EmptyValue(key.to_string()),
        ))
    } else {
        Ok(value.to_string())
    }
}
