//! SASL for clients as ZooKeeper configures it: `authProvider.N=...SASLAuthenticationProvider`
//! in zoo.cfg and a JAAS file whose `Server` section lists `DigestLoginModule` users
//! (`user_bob="secret"`). ZooKeeper finds the file through the JVM property
//! `java.security.auth.login.config`; Conclave reads the same name as a zoo.cfg key. The file
//! itself is read by the loader (the core touches no file) and parsed here.

#[allow(unused_imports)]
use super::*;
use alloc::format;

/// The provider class that turns SASL on.
pub const SASL_PROVIDER: &str = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider";
/// The zoo.cfg key naming the JAAS file (the JVM property's name).
pub const JAAS_KEY: &str = "java.security.auth.login.config";
/// The zoo.cfg key naming the JAAS section (ZooKeeper's `zookeeper.sasl.serverconfig`).
pub(super) const JAAS_SECTION_KEY: &str = "zookeeper.sasl.serverconfig";
/// The JAAS login module whose `user_<name>` options are the users.
pub(super) const DIGEST_LOGIN_MODULE: &str = "org.apache.zookeeper.server.auth.DigestLoginModule";

/// Where SASL's users come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaslConfig {
    /// The JAAS file.
    pub jaas_path: String,
    /// Its section (default `Server`).
    pub section: String,
    /// The users (name → password), once the loader has read the file.
    pub users: SaslUsers,
}

/// User names and passwords; `Debug` never prints a password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SaslUsers(pub BTreeMap<String, String>);

impl fmt::Debug for SaslUsers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// The SASL settings `other` (the keys zoo.cfg set that the parser keeps) ask for: `None`
/// without the SASL provider; an error (naming the key) when it is on without a JAAS file.
pub(super) fn sasl_config(other: &BTreeMap<String, String>) -> Result<Option<SaslConfig>, String> {
    let on = other
        .iter()
        .any(|(k, v)| k.starts_with("authProvider.") && v.trim() == SASL_PROVIDER);
    if !on {
        return Ok(None);
    }
    let jaas_path = other.get(JAAS_KEY).cloned().ok_or_else(|| {
        format!(
            "{SASL_PROVIDER} needs a JAAS file with DigestLoginModule users: set {JAAS_KEY}=<path> \
             in zoo.cfg (ZooKeeper reads it from the JVM property of that name)"
        )
    })?;
    Ok(Some(SaslConfig {
        jaas_path,
        section: other
            .get(JAAS_SECTION_KEY)
            .cloned()
            .unwrap_or_else(|| String::from("Server")),
        users: SaslUsers::default(),
    }))
}

/// Splits JAAS text into tokens: words, `=`, `;`, `{`, `}` and quoted strings (comments
/// `//` and `/* */` dropped). Quoted strings keep their quotes' contents only.
fn tokens(text: &str) -> Result<Vec<(bool, String)>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                let mut closed = false;
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        closed = true;
                        break;
                    }
                    last = c;
                }
                if !closed {
                    return Err(String::from("an unterminated /* comment"));
                }
            }
            '{' | '}' | ';' | '=' => out.push((false, c.to_string())),
            '"' => {
                let mut s = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => s.push(chars.next().unwrap_or('\\')),
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => s.push(c),
                    }
                }
                if !closed {
                    return Err(String::from("an unterminated quoted string"));
                }
                out.push((true, s));
            }
            c => {
                let mut s = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || "{};=\"".contains(n) {
                        break;
                    }
                    s.push(n);
                    chars.next();
                }
                out.push((false, s));
            }
        }
    }
    Ok(out)
}

/// The `user_<name>="<password>"` options of the `DigestLoginModule` entry in `section` of
/// JAAS `text`. Errors name what is wrong: no such section, no digest module (a Kerberos
/// section, say), no users, or a syntax error.
pub fn digest_users(text: &str, section: &str) -> Result<SaslUsers, String> {
    let toks = tokens(text)?;
    let mut i = 0;
    let word = |i: usize| toks.get(i).map(|(q, s)| (*q, s.as_str()));
    let mut found_section = false;
    let mut users = BTreeMap::new();
    let mut modules = Vec::new();
    // Bounded: every step advances `i`.
    while i < toks.len() {
        let (_, name) = word(i).ok_or("truncated")?;
        if word(i + 1) != Some((false, "{")) {
            return Err(format!("expected '{{' after the section name {name}"));
        }
        i += 2;
        let this = name == section;
        found_section |= this;
        // Entries: Module flag (key=value)* ;   until }
        loop {
            match word(i) {
                None => return Err(format!("section {name} is not closed with '}};'")),
                Some((false, "}")) => {
                    i += 1;
                    if word(i) == Some((false, ";")) {
                        i += 1;
                    }
                    break;
                }
                Some((_, module)) => {
                    let module = module.to_string();
                    i += 2; // the module and its flag (required, sufficient, ...)
                    let mut options = Vec::new();
                    loop {
                        match word(i) {
                            Some((false, ";")) => {
                                i += 1;
                                break;
                            }
                            Some((_, key)) if word(i + 1) == Some((false, "=")) => {
                                let (_, value) = word(i + 2)
                                    .ok_or_else(|| format!("option {key} has no value"))?;
                                options.push((key.to_string(), value.to_string()));
                                i += 3;
                            }
                            _ => {
                                return Err(format!(
                                    "in section {name}, module {module}: expected key=value or ';'"
                                ))
                            }
                        }
                    }
                    if this {
                        if module == DIGEST_LOGIN_MODULE {
                            for (k, v) in options {
                                if let Some(user) = k.strip_prefix("user_") {
                                    users.insert(user.to_string(), v);
                                }
                            }
                        }
                        modules.push(module);
                    }
                }
            }
        }
    }
    if !found_section {
        return Err(format!(
            "no section {section} (the server's; {JAAS_SECTION_KEY} names another)"
        ));
    }
    if !modules.iter().any(|m| m == DIGEST_LOGIN_MODULE) {
        return Err(format!(
            "section {section} has no {DIGEST_LOGIN_MODULE} (found: {}); only DIGEST-MD5 users \
             are supported, not Kerberos",
            modules.join(", ")
        ));
    }
    if users.is_empty() {
        return Err(format!(
            "section {section} lists no user_<name>=\"<password>\" option"
        ));
    }
    Ok(SaslUsers(users))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAAS: &str = r#"
// ZooKeeper's documented example, with a client section beside it.
Server {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_super="adminsecret"
       user_bob="bob\"secret";
};
/* the client's */
Client {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       username="bob"
       password="bobsecret";
};
"#;

    #[test]
    fn the_server_sections_digest_users_are_read() {
        let users = digest_users(JAAS, "Server").unwrap();
        let got: Vec<(&str, &str)> = users
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            got,
            alloc::vec![("bob", "bob\"secret"), ("super", "adminsecret")]
        );
        assert_eq!(format!("{users:?}"), r#"["bob", "super"]"#);
    }

    #[test]
    fn what_cannot_be_served_is_named() {
        let e = digest_users(JAAS, "Missing").unwrap_err();
        assert!(e.contains("no section Missing"), "{e}");
        let e = digest_users(JAAS, "Client").unwrap_err();
        assert!(e.contains("no user_"), "{e}");
        let krb =
            "Server { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true; };";
        let e = digest_users(krb, "Server").unwrap_err();
        assert!(
            e.contains("Krb5LoginModule") && e.contains("Kerberos"),
            "{e}"
        );
        for bad in [
            "Server {",
            "Server { m required user_a=\"x\" }",
            "Server { m required user_a=; };",
            "Server m required;",
            "Server { m required user_a=\"x; };",
            "/* Server",
            "Server { m required user_a }",
        ] {
            assert!(digest_users(bad, "Server").is_err(), "{bad}");
        }
    }

    #[test]
    fn sasl_is_on_only_with_its_provider_and_then_needs_a_jaas_file() {
        let mut other = BTreeMap::new();
        assert_eq!(sasl_config(&other), Ok(None));
        other.insert("authProvider.1".to_string(), SASL_PROVIDER.to_string());
        assert!(sasl_config(&other).unwrap_err().contains(JAAS_KEY));
        other.insert(JAAS_KEY.to_string(), "/etc/jaas.conf".to_string());
        let c = sasl_config(&other).unwrap().unwrap();
        assert_eq!(
            (c.jaas_path.as_str(), c.section.as_str()),
            ("/etc/jaas.conf", "Server")
        );
    }
}
