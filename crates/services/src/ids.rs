//! AWS-style identifiers and credentials: unique ids (`AIDA…`), access key ids
//! (`AKIA…`, `ASIA…`), secret access keys, session tokens and account ids, all from
//! the OS CSPRNG.

use rand::Rng;
use rand::distr::Alphanumeric;

/// The alphabet AWS uses after the four-letter prefix of unique ids and key ids.
const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The four-letter prefix that says what kind of entity an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdPrefix {
    User,
    Group,
    Role,
    Policy,
    InstanceProfile,
    AccessKey,
    TemporaryAccessKey,
}

impl IdPrefix {
    fn as_str(self) -> &'static str {
        match self {
            IdPrefix::User => "AIDA",
            IdPrefix::Group => "AGPA",
            IdPrefix::Role => "AROA",
            IdPrefix::Policy => "ANPA",
            IdPrefix::InstanceProfile => "AIPA",
            IdPrefix::AccessKey => "AKIA",
            IdPrefix::TemporaryAccessKey => "ASIA",
        }
    }
}

/// A new id: the prefix then characters of AWS's alphabet (21 in all for unique ids,
/// 20 for access key ids, as AWS issues them).
pub fn new_id(prefix: IdPrefix) -> String {
    let len = match prefix {
        IdPrefix::AccessKey | IdPrefix::TemporaryAccessKey => 16,
        _ => 17,
    };
    let mut rng = rand::rng();
    let mut id = String::with_capacity(4 + len);
    id.push_str(prefix.as_str());
    id.extend((0..len).map(|_| ID_ALPHABET[rng.random_range(0..ID_ALPHABET.len())] as char));
    id
}

/// A new 40-character secret access key.
pub fn new_secret_access_key() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect()
}

/// A new session token: 96 random bytes, Base64 (AWS's are opaque strings of this
/// order of length).
pub fn new_session_token() -> String {
    use base64::Engine;
    let bytes: [u8; 96] = std::array::from_fn(|_| rand::rng().random());
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A new Organizations id: `prefix` then `len` lowercase letters and digits
/// (`o-` and 10 for organizations, `ou-ROOT-` and 8 for OUs, `p-` and 8 for
/// policies, ...), as Organizations issues them.
pub fn new_org_id(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    id.extend((0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char));
    id
}

/// A new 12-digit account id that does not start with 0 (000000000000 is the dev default).
pub fn new_account_id() -> String {
    let mut rng = rand::rng();
    let first = rng.random_range(1..=9u8);
    let mut id = first.to_string();
    id.extend((0..11).map(|_| char::from(b'0' + rng.random_range(0..10u8))));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_aws_shape() {
        let user = new_id(IdPrefix::User);
        assert_eq!(user.len(), 21);
        assert!(user.starts_with("AIDA"));
        assert!(user[4..].bytes().all(|b| ID_ALPHABET.contains(&b)));
        let key = new_id(IdPrefix::AccessKey);
        assert_eq!(key.len(), 20);
        assert!(key.starts_with("AKIA"));
        assert_ne!(new_id(IdPrefix::AccessKey), key);
    }

    #[test]
    fn secrets_and_accounts_have_aws_shape() {
        let secret = new_secret_access_key();
        assert_eq!(secret.len(), 40);
        assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric()));
        let account = new_account_id();
        assert_eq!(account.len(), 12);
        assert!(account.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(&account[..1], "0");
    }
}
