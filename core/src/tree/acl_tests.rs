//! ACL checks: world, digest, ip, auth, super, validation, masking.
use alloc::string::String;
use alloc::vec;

use super::acl::*;
use crate::client::{perms, Acl, ErrorCode, Id};

fn id(scheme: &str, id: &str) -> Id {
    Id {
        scheme: scheme.into(),
        id: id.into(),
    }
}

fn acl(p: i32, scheme: &str, i: &str) -> Acl {
    Acl {
        perms: p,
        id: id(scheme, i),
    }
}

fn caller(auth: &[Id]) -> Caller<'_> {
    Caller {
        auth,
        super_digest: None,
    }
}

#[test]
fn digest_and_base64_vectors() {
    // Independently computed with sha1sum | base64.
    assert_eq!(
        digest_id("super:secret"),
        "super:lK75jTNcA+U9vtVEw5vB51mj/w4="
    );
    assert_eq!(digest_id("bob:pw"), "bob:ikIaKsbtGweaHnb/jKn7OHqbunM=");
    assert_eq!(base64_encode(b""), "");
    assert_eq!(base64_encode(b"a"), "YQ==");
    assert_eq!(base64_encode(b"ab"), "YWI=");
    assert_eq!(base64_encode(b"abc"), "YWJj");
}

#[test]
fn check_acl_rules() {
    let bob = id("digest", &digest_id("bob:pw"));
    let list = vec![
        acl(perms::READ, "world", "anyone"),
        acl(perms::WRITE | perms::ADMIN, "digest", &bob.id),
    ];
    assert_eq!(check_acl(&[], perms::ALL, &caller(&[])), Ok(()));
    assert_eq!(check_acl(&list, perms::READ, &caller(&[])), Ok(()));
    assert_eq!(
        check_acl(&list, perms::WRITE, &caller(&[])),
        Err(ErrorCode::NoAuth)
    );
    assert_eq!(
        check_acl(&list, perms::WRITE, &caller(core::slice::from_ref(&bob))),
        Ok(())
    );
    assert_eq!(
        check_acl(&list, perms::DELETE, &caller(core::slice::from_ref(&bob))),
        Err(ErrorCode::NoAuth)
    );
    assert_eq!(
        check_acl(&list, perms::DELETE, &caller(&[id("super", "")])),
        Ok(())
    );
    let sd = digest_id("super:secret");
    let c = Caller {
        auth: &[id("digest", &sd)],
        super_digest: Some(&sd),
    };
    assert_eq!(check_acl(&list, perms::DELETE, &c), Ok(()));
    // Scheme must match too.
    assert_eq!(
        check_acl(&list, perms::WRITE, &caller(&[id("ip", &bob.id)])),
        Err(ErrorCode::NoAuth)
    );
}

#[test]
fn ip_matching() {
    assert!(ip_matches("10.1.2.3", "10.1.2.3"));
    assert!(ip_matches("10.1.2.3", "10.0.0.0/8"));
    assert!(!ip_matches("11.1.2.3", "10.0.0.0/8"));
    assert!(ip_matches("10.1.2.3", "10.1.2.0/23"));
    assert!(ip_matches("1.2.3.4", "0.0.0.0/0"));
    assert!(!ip_matches("::1", "0.0.0.0/0"));
    assert!(ip_matches("2001:db8::1", "2001:db8::/32"));
    assert!(!ip_matches("2001:db9::1", "2001:db8::/32"));
    assert!(ip_matches("::ffff:10.0.0.1", "::ffff:10.0.0.0/120"));
    assert!(ip_matches("fe80:0:0:0:0:0:0:1", "fe80::1"));
    assert!(!ip_matches("garbage", "10.0.0.0/8"));
    let l = vec![acl(perms::READ, "ip", "192.168.0.0/16")];
    assert_eq!(
        check_acl(&l, perms::READ, &caller(&[id("ip", "192.168.7.7")])),
        Ok(())
    );
    assert_eq!(
        check_acl(&l, perms::READ, &caller(&[id("ip", "192.169.7.7")])),
        Err(ErrorCode::NoAuth)
    );
    for bad in [
        "10.0.0.0/33",
        "1.2.3",
        "1.2.3.4.5",
        "256.0.0.1",
        "::/129",
        "1::2::3",
        "x",
        "",
        "1.2.3.4/",
        "1.2.3.4/a",
    ] {
        assert!(!is_valid_id("ip", bad), "{bad}");
    }
    for good in [
        "10.0.0.0/8",
        "1.2.3.4",
        "::",
        "::1/128",
        "2001:db8::/32",
        "1:2:3:4:5:6:7:8",
    ] {
        assert!(is_valid_id("ip", good), "{good}");
    }
}

#[test]
fn fixup_and_validation() {
    let bob = id("digest", &digest_id("bob:pw"));
    assert_eq!(fixup_acl(&[], &[]), Err(ErrorCode::InvalidAcl));
    assert_eq!(
        fixup_acl(&[acl(31, "auth", "")], &[id("ip", "1.2.3.4")]),
        Err(ErrorCode::InvalidAcl)
    );
    assert_eq!(
        fixup_acl(
            &[acl(31, "auth", ""), acl(31, "auth", "")],
            &[id("ip", "1.2.3.4"), bob.clone()]
        ),
        Ok(vec![Acl {
            perms: 31,
            id: bob.clone()
        }])
    );
    assert_eq!(
        fixup_acl(&[acl(31, "world", "someone")], &[]),
        Err(ErrorCode::InvalidAcl)
    );
    assert_eq!(
        fixup_acl(&[acl(31, "unknown", "x")], &[]),
        Err(ErrorCode::InvalidAcl)
    );
    assert_eq!(
        fixup_acl(&[acl(31, "digest", "nocolon")], &[]),
        Err(ErrorCode::InvalidAcl)
    );
    assert_eq!(
        fixup_acl(&[acl(31, "digest", "a:b:c")], &[]),
        Err(ErrorCode::InvalidAcl)
    );
    assert_eq!(
        fixup_acl(&[acl(31, "ip", "10.0.0.0/40")], &[]),
        Err(ErrorCode::InvalidAcl)
    );
    let ok = [
        acl(1, "world", "anyone"),
        acl(1, "world", "anyone"),
        acl(2, "digest", "u:h"),
        acl(4, "ip", "::1"),
    ];
    assert_eq!(fixup_acl(&ok, &[]).map(|v| v.len()), Ok(3));
}

#[test]
fn masking() {
    let l = vec![acl(1, "digest", "bob:HASH="), acl(1, "ip", "1.2.3.4")];
    let m = mask_digests(&l);
    assert_eq!(m[0].id.id, String::from("bob:x"));
    assert_eq!(m[1], l[1]);
}
