//! ACL checks and validation (§4.13): `world`, `auth`, `digest`, `ip` (IPv4/IPv6 CIDR, hand
//! parsed), plus `sasl`/`x509` ids matched by equality; `super` bypasses every check.

use alloc::string::String;
use alloc::vec::Vec;

use crate::client::{perms, Acl, ErrorCode, Id};

/// Who is asking: the connection's authenticated ids (incl. its `ip` id) and the configured
/// super digest (`zookeeper.DigestAuthenticationProvider.superDigest`, `super:<hash>`).
#[derive(Clone, Copy, Debug)]
pub struct Caller<'a> {
    /// Authenticated ids.
    pub auth: &'a [Id],
    /// The super user's digest id, if configured.
    pub super_digest: Option<&'a str>,
}

impl Caller<'_> {
    /// Whether the caller is the super user (`super` scheme, or the super digest).
    pub fn is_super(&self) -> bool {
        self.auth.iter().any(|id| {
            id.scheme == "super"
                || (id.scheme == "digest" && self.super_digest == Some(id.id.as_str()))
        })
    }
}

/// Checks that `caller` holds one of the `perm` bits on a node with `acl`; NOAUTH otherwise.
pub fn check_acl(acl: &[Acl], perm: i32, caller: &Caller<'_>) -> Result<(), ErrorCode> {
    if acl.is_empty() || caller.is_super() {
        return Ok(());
    }
    for entry in acl {
        if entry.perms & perm == 0 {
            continue;
        }
        if entry.id.scheme == "world" && entry.id.id == "anyone" {
            return Ok(());
        }
        for id in caller.auth {
            if id.scheme == entry.id.scheme && matches(&id.scheme, &id.id, &entry.id.id) {
                return Ok(());
            }
        }
    }
    Err(ErrorCode::NoAuth)
}

fn matches(scheme: &str, id: &str, acl_expr: &str) -> bool {
    match scheme {
        "digest" | "sasl" | "x509" => id == acl_expr,
        "ip" => ip_matches(id, acl_expr),
        _ => false,
    }
}

/// Whether ids of `scheme` come from an authenticating provider (what `auth` expands to).
fn is_authenticated_scheme(scheme: &str) -> bool {
    matches!(scheme, "digest" | "sasl" | "x509")
}

/// Whether `id` is well formed for `scheme` (`AuthenticationProvider.isValid`).
pub(crate) fn is_valid_id(scheme: &str, id: &str) -> bool {
    match scheme {
        "world" => id == "anyone",
        "digest" => {
            // Java `id.split(":").length == 2` (trailing empty parts dropped).
            let parts: Vec<&str> = id.split(':').collect();
            let mut n = parts.len();
            while n > 0 && parts[n - 1].is_empty() {
                n -= 1;
            }
            n == 2
        }
        "ip" => parse_cidr(id).is_some(),
        "sasl" | "x509" => !id.is_empty(),
        _ => false,
    }
}

/// `fixupACL`: dedups, expands `auth` into the caller's authenticated ids and validates;
/// INVALIDACL for an empty list, an unknown scheme, a malformed id, or `auth` without ids.
pub fn fixup_acl(acl: &[Acl], auth: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
    if acl.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut out: Vec<Acl> = Vec::with_capacity(acl.len());
    let push = |a: Acl, out: &mut Vec<Acl>| {
        if !out.contains(&a) {
            out.push(a);
        }
    };
    for entry in acl {
        if entry.id.scheme == "auth" {
            let mut any = false;
            for id in auth.iter().filter(|id| is_authenticated_scheme(&id.scheme)) {
                any = true;
                push(
                    Acl {
                        perms: entry.perms,
                        id: id.clone(),
                    },
                    &mut out,
                );
            }
            if !any {
                return Err(ErrorCode::InvalidAcl);
            }
        } else if is_valid_id(&entry.id.scheme, &entry.id.id) {
            push(entry.clone(), &mut out);
        } else {
            return Err(ErrorCode::InvalidAcl);
        }
    }
    Ok(out)
}

/// getACL for a caller without ADMIN: digest ids become `user:x`.
pub(crate) fn mask_digests(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| {
            let mut a = a.clone();
            if a.id.scheme == "digest" {
                if let Some(i) = a.id.id.find(':') {
                    a.id.id.truncate(i);
                    a.id.id.push_str(":x");
                }
            }
            a
        })
        .collect()
}

/// Whether the caller may read the full ACL (holds ADMIN).
pub(crate) fn has_admin(acl: &[Acl], caller: &Caller<'_>) -> bool {
    check_acl(acl, perms::ADMIN, caller).is_ok()
}

/// The user name `whoAmI` reports for an identity, as ZooKeeper's authentication providers
/// name it (`getUserName`): a digest id's user (before the `:`), an address or SASL name as
/// is, and nothing for schemes without a provider (`super`).
pub(crate) fn user_name(id: &Id) -> String {
    match id.scheme.as_str() {
        "digest" => id.id.split(':').next().unwrap_or("").into(),
        "ip" | "sasl" | "x509" => id.id.clone(),
        _ => String::new(),
    }
}

/// The digest id stored for `user:password`: `user:base64(sha1("user:password"))`.
pub fn digest_id(user_password: &str) -> String {
    use sha1::{Digest, Sha1};
    let user = user_password.split(':').next().unwrap_or("");
    let hash = Sha1::digest(user_password.as_bytes());
    let mut s = String::from(user);
    s.push(':');
    s.push_str(&base64_encode(&hash));
    s
}

/// Standard base64 with padding (RFC 4648 §4).
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IpAddr {
    /// IPv4.
    V4([u8; 4]),
    /// IPv6.
    V6([u8; 16]),
}

impl IpAddr {
    fn bytes(&self) -> &[u8] {
        match self {
            IpAddr::V4(b) => b,
            IpAddr::V6(b) => b,
        }
    }
}

/// Parses an IPv4 dotted quad or an IPv6 address (with `::`, optional trailing IPv4).
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    parse_v4(s)
        .map(IpAddr::V4)
        .or_else(|| parse_v6(s).map(IpAddr::V6))
}

fn parse_v4(s: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for b in &mut out {
        let p = parts.next()?;
        let digits = p.strip_prefix('+').unwrap_or(p);
        if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        *b = u8::try_from(digits.parse::<u64>().ok()?).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(out)
}

fn parse_v6(s: &str) -> Option<[u8; 16]> {
    let s = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(s);
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    let (head, tail) = match s.find("::") {
        Some(i) => (&s[..i], Some(&s[i + 2..])),
        None => (s, None),
    };
    let mut groups: Vec<u16> = Vec::with_capacity(8);
    let mut tail_groups: Vec<u16> = Vec::with_capacity(8);
    let parse_side = |side: &str, out: &mut Vec<u16>, last_side: bool| -> Option<()> {
        if side.is_empty() {
            return Some(());
        }
        let parts: Vec<&str> = side.split(':').collect();
        for (i, p) in parts.iter().enumerate() {
            if last_side && i + 1 == parts.len() && p.contains('.') {
                let v4 = parse_v4(p)?;
                out.push(u16::from_be_bytes([v4[0], v4[1]]));
                out.push(u16::from_be_bytes([v4[2], v4[3]]));
            } else {
                if p.is_empty() || p.len() > 4 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u16::from_str_radix(p, 16).ok()?);
            }
        }
        Some(())
    };
    match tail {
        Some(t) => {
            if t.contains("::") {
                return None;
            }
            parse_side(head, &mut groups, false)?;
            parse_side(t, &mut tail_groups, true)?;
            if groups.len() + tail_groups.len() > 7 {
                return None;
            }
            groups.resize(8 - tail_groups.len(), 0);
            groups.extend_from_slice(&tail_groups);
        }
        None => {
            parse_side(head, &mut groups, true)?;
            if groups.len() != 8 {
                return None;
            }
        }
    }
    let mut out = [0u8; 16];
    for (i, g) in groups.iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&g.to_be_bytes());
    }
    Some(out)
}

/// Parses `addr` or `addr/bits`; bits must be in `[0, 32]` (IPv4) or `[0, 128]` (IPv6).
pub(crate) fn parse_cidr(s: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let ip = parse_ip(addr)?;
    let max = (ip.bytes().len() * 8) as u32;
    let bits = match bits {
        None => max,
        Some(b) => {
            let d = b.strip_prefix('+').unwrap_or(b);
            if d.is_empty() || d.len() > 10 || !d.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let v = d.parse::<u64>().ok()?;
            if v > u64::from(max) {
                return None;
            }
            v as u32
        }
    };
    Some((ip, bits))
}

/// Whether the client address `client` falls in the ACL's `addr[/bits]`.
pub(crate) fn ip_matches(client: &str, acl_expr: &str) -> bool {
    let Some((net, bits)) = parse_cidr(acl_expr) else {
        return false;
    };
    let Some(ip) = parse_ip(client) else {
        return false;
    };
    let (a, b) = (net.bytes(), ip.bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut left = bits;
    for (x, y) in a.iter().zip(b) {
        let m: u8 = match left {
            0 => 0,
            1..=7 => 0xFFu8 << (8 - left),
            _ => 0xFF,
        };
        if x & m != y & m {
            return false;
        }
        left = left.saturating_sub(8);
    }
    true
}
