//! Key material per key spec: generating it from the OS CSPRNG, deriving public keys
//! (DER SubjectPublicKeyInfo), signing and verifying (RSASSA-PSS, RSASSA-PKCS1-v1_5,
//! ECDSA with DER signatures), RSA-OAEP encryption, ECDH key agreement, and HMAC.
//!
//! Symmetric and HMAC material is raw bytes; asymmetric material is the PKCS#8 DER of
//! the private key. Nothing here logs or returns the material.

use hmac::{Hmac, Mac};
use rand::RngCore;
use rand_core::OsRng;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::{Oaep, Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use super::error;
use crate::error::ServiceError;

/// The key specs rampart creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spec {
    Symmetric,
    Hmac(usize),
    Rsa(usize),
    P256,
    P384,
    P521,
    K256,
}

impl Spec {
    pub fn parse(spec: &str) -> Option<Spec> {
        Some(match spec {
            "SYMMETRIC_DEFAULT" => Spec::Symmetric,
            "HMAC_224" => Spec::Hmac(224),
            "HMAC_256" => Spec::Hmac(256),
            "HMAC_384" => Spec::Hmac(384),
            "HMAC_512" => Spec::Hmac(512),
            "RSA_2048" => Spec::Rsa(2048),
            "RSA_3072" => Spec::Rsa(3072),
            "RSA_4096" => Spec::Rsa(4096),
            "ECC_NIST_P256" => Spec::P256,
            "ECC_NIST_P384" => Spec::P384,
            "ECC_NIST_P521" => Spec::P521,
            "ECC_SECG_P256K1" => Spec::K256,
            _ => return None,
        })
    }

    /// The key usages AWS allows for this spec.
    pub fn usages(self) -> &'static [&'static str] {
        match self {
            Spec::Symmetric => &["ENCRYPT_DECRYPT"],
            Spec::Hmac(_) => &["GENERATE_VERIFY_MAC"],
            Spec::Rsa(_) => &["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
            Spec::P256 | Spec::P384 | Spec::P521 => &["SIGN_VERIFY", "KEY_AGREEMENT"],
            Spec::K256 => &["SIGN_VERIFY"],
        }
    }

    /// The key agreement algorithms of a KEY_AGREEMENT key (the NIST curves).
    pub fn key_agreement_algorithms(self) -> &'static [&'static str] {
        match self {
            Spec::P256 | Spec::P384 | Spec::P521 => &["ECDH"],
            _ => &[],
        }
    }

    pub fn is_asymmetric(self) -> bool {
        matches!(
            self,
            Spec::Rsa(_) | Spec::P256 | Spec::P384 | Spec::P521 | Spec::K256
        )
    }

    /// The signing algorithms of a SIGN_VERIFY key.
    pub fn signing_algorithms(self) -> &'static [&'static str] {
        match self {
            Spec::Rsa(_) => &[
                "RSASSA_PSS_SHA_256",
                "RSASSA_PSS_SHA_384",
                "RSASSA_PSS_SHA_512",
                "RSASSA_PKCS1_V1_5_SHA_256",
                "RSASSA_PKCS1_V1_5_SHA_384",
                "RSASSA_PKCS1_V1_5_SHA_512",
            ],
            Spec::P256 | Spec::K256 => &["ECDSA_SHA_256"],
            Spec::P384 => &["ECDSA_SHA_384"],
            Spec::P521 => &["ECDSA_SHA_512"],
            _ => &[],
        }
    }

    /// The encryption algorithms of an ENCRYPT_DECRYPT key.
    pub fn encryption_algorithms(self) -> &'static [&'static str] {
        match self {
            Spec::Symmetric => &["SYMMETRIC_DEFAULT"],
            Spec::Rsa(_) => &["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"],
            _ => &[],
        }
    }

    /// The MAC algorithm of a GENERATE_VERIFY_MAC key.
    pub fn mac_algorithms(self) -> &'static [&'static str] {
        match self {
            Spec::Hmac(224) => &["HMAC_SHA_224"],
            Spec::Hmac(256) => &["HMAC_SHA_256"],
            Spec::Hmac(384) => &["HMAC_SHA_384"],
            Spec::Hmac(512) => &["HMAC_SHA_512"],
            _ => &[],
        }
    }
}

/// Fresh material for `spec`. An RSA key takes from milliseconds to a second or two and
/// runs through [`crate::cpu_bound::run`]: do not hold the view's lock across this.
pub fn generate(spec: Spec) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
    let internal = |e: String| ServiceError::Internal(format!("key generation: {e}"));
    Ok(match spec {
        Spec::Symmetric => random_bytes(32),
        Spec::Hmac(bits) => random_bytes(bits / 8),
        Spec::Rsa(bits) => {
            let key = crate::cpu_bound::run(|| RsaPrivateKey::new(&mut OsRng, bits))
                .map_err(|e| internal(e.to_string()))?;
            let der = key.to_pkcs8_der().map_err(|e| internal(e.to_string()))?;
            Zeroizing::new(der.as_bytes().to_vec())
        }
        Spec::P256 => ec_pkcs8::<p256::NistP256>()?,
        Spec::P384 => ec_pkcs8::<p384::NistP384>()?,
        Spec::P521 => ec_pkcs8::<p521::NistP521>()?,
        Spec::K256 => ec_pkcs8::<k256::Secp256k1>()?,
    })
}

fn ec_pkcs8<C>() -> Result<Zeroizing<Vec<u8>>, ServiceError>
where
    C: elliptic_curve::CurveArithmetic + elliptic_curve::pkcs8::AssociatedOid,
    elliptic_curve::AffinePoint<C>:
        elliptic_curve::sec1::FromEncodedPoint<C> + elliptic_curve::sec1::ToEncodedPoint<C>,
    elliptic_curve::FieldBytesSize<C>: elliptic_curve::sec1::ModulusSize,
{
    use elliptic_curve::pkcs8::EncodePrivateKey as _;
    let key = elliptic_curve::SecretKey::<C>::random(&mut OsRng);
    let der = key
        .to_pkcs8_der()
        .map_err(|e| ServiceError::Internal(format!("key generation: {e}")))?;
    Ok(Zeroizing::new(der.as_bytes().to_vec()))
}

/// `n` bytes from the OS CSPRNG.
pub fn random_bytes(n: usize) -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(vec![0u8; n]);
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn corrupt() -> ServiceError {
    ServiceError::Internal("stored key material does not parse".to_owned())
}

/// The DER SubjectPublicKeyInfo of an asymmetric key's private material.
pub fn public_key_der(spec: Spec, private: &[u8]) -> Result<Vec<u8>, ServiceError> {
    let der = match spec {
        Spec::Rsa(_) => {
            let key = RsaPrivateKey::from_pkcs8_der(private).map_err(|_| corrupt())?;
            RsaPublicKey::from(&key).to_public_key_der()
        }
        Spec::P256 => ec_public::<p256::NistP256>(private)?,
        Spec::P384 => ec_public::<p384::NistP384>(private)?,
        Spec::P521 => ec_public::<p521::NistP521>(private)?,
        Spec::K256 => ec_public::<k256::Secp256k1>(private)?,
        _ => return Err(ServiceError::Internal("not an asymmetric key".to_owned())),
    };
    der.map(|d| d.as_bytes().to_vec()).map_err(|_| corrupt())
}

fn ec_public<C>(private: &[u8]) -> Result<Result<spki::Document, spki::Error>, ServiceError>
where
    C: elliptic_curve::CurveArithmetic + elliptic_curve::pkcs8::AssociatedOid,
    elliptic_curve::AffinePoint<C>:
        elliptic_curve::sec1::FromEncodedPoint<C> + elliptic_curve::sec1::ToEncodedPoint<C>,
    elliptic_curve::FieldBytesSize<C>: elliptic_curve::sec1::ModulusSize,
{
    use elliptic_curve::pkcs8::DecodePrivateKey as _;
    use elliptic_curve::pkcs8::EncodePublicKey as _;
    let key = elliptic_curve::SecretKey::<C>::from_pkcs8_der(private).map_err(|_| corrupt())?;
    Ok(key.public_key().to_public_key_der())
}

/// The ECDH shared secret (the x-coordinate of the shared point, as SP 800-56A calls Z)
/// of the private key `private` (PKCS#8 DER) and the peer's public key `peer` (DER
/// SubjectPublicKeyInfo on the same curve). `None`: `peer` is not such a key.
pub fn derive_shared_secret(
    spec: Spec,
    private: &[u8],
    peer: &[u8],
) -> Result<Option<Zeroizing<Vec<u8>>>, ServiceError> {
    match spec {
        Spec::P256 => ecdh::<p256::NistP256>(private, peer),
        Spec::P384 => ecdh::<p384::NistP384>(private, peer),
        Spec::P521 => ecdh::<p521::NistP521>(private, peer),
        _ => Err(ServiceError::Internal("not a key agreement key".to_owned())),
    }
}

fn ecdh<C>(private: &[u8], peer: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, ServiceError>
where
    C: elliptic_curve::CurveArithmetic + elliptic_curve::pkcs8::AssociatedOid,
    elliptic_curve::AffinePoint<C>:
        elliptic_curve::sec1::FromEncodedPoint<C> + elliptic_curve::sec1::ToEncodedPoint<C>,
    elliptic_curve::FieldBytesSize<C>: elliptic_curve::sec1::ModulusSize,
{
    use elliptic_curve::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
    let key = elliptic_curve::SecretKey::<C>::from_pkcs8_der(private).map_err(|_| corrupt())?;
    let Ok(peer) = elliptic_curve::PublicKey::<C>::from_public_key_der(peer) else {
        return Ok(None);
    };
    let shared = elliptic_curve::ecdh::diffie_hellman(key.to_nonzero_scalar(), peer.as_affine());
    Ok(Some(Zeroizing::new(shared.raw_secret_bytes().to_vec())))
}

/// The digest algorithm a signing algorithm names, and its length.
fn digest_of(algorithm: &str) -> Option<(&'static str, usize)> {
    if algorithm.ends_with("SHA_256") {
        Some(("SHA_256", 32))
    } else if algorithm.ends_with("SHA_384") {
        Some(("SHA_384", 48))
    } else if algorithm.ends_with("SHA_512") {
        Some(("SHA_512", 64))
    } else {
        None
    }
}

/// The digest `sign`/`verify` work on: the message hashed (RAW) or the message itself
/// (DIGEST, which must have the algorithm's digest length).
pub fn digest(algorithm: &str, message: &[u8], is_digest: bool) -> Result<Vec<u8>, ServiceError> {
    let (name, len) = digest_of(algorithm)
        .ok_or_else(|| ServiceError::Validation(format!("unknown algorithm {algorithm}")))?;
    if is_digest {
        if message.len() != len {
            return Err(ServiceError::Validation(format!(
                "Digest is invalid length for algorithm {algorithm}."
            )));
        }
        return Ok(message.to_vec());
    }
    Ok(match name {
        "SHA_256" => Sha256::digest(message).to_vec(),
        "SHA_384" => Sha384::digest(message).to_vec(),
        _ => Sha512::digest(message).to_vec(),
    })
}

/// Signs `digest` with an asymmetric key. `algorithm` has been checked against the spec.
pub fn sign(
    spec: Spec,
    private: &[u8],
    algorithm: &str,
    digest: &[u8],
) -> Result<Vec<u8>, ServiceError> {
    let failed = |e: String| ServiceError::Internal(format!("signing failed: {e}"));
    match spec {
        Spec::Rsa(_) => {
            let key = RsaPrivateKey::from_pkcs8_der(private).map_err(|_| corrupt())?;
            let result = match (algorithm.starts_with("RSASSA_PSS"), digest.len()) {
                (true, 32) => key.sign_with_rng(&mut OsRng, Pss::new::<Sha256>(), digest),
                (true, 48) => key.sign_with_rng(&mut OsRng, Pss::new::<Sha384>(), digest),
                (true, _) => key.sign_with_rng(&mut OsRng, Pss::new::<Sha512>(), digest),
                (false, 32) => key.sign(Pkcs1v15Sign::new::<Sha256>(), digest),
                (false, 48) => key.sign(Pkcs1v15Sign::new::<Sha384>(), digest),
                (false, _) => key.sign(Pkcs1v15Sign::new::<Sha512>(), digest),
            };
            result.map_err(|e| failed(e.to_string()))
        }
        Spec::P256 => {
            let key = ec_secret::<p256::NistP256>(private)?;
            let key = p256::ecdsa::SigningKey::from(key);
            prehash_sign::<_, p256::ecdsa::Signature>(&key, digest)
                .map(|s| s.to_der().to_bytes().to_vec())
        }
        Spec::P384 => {
            let key = p384::ecdsa::SigningKey::from(ec_secret::<p384::NistP384>(private)?);
            prehash_sign::<_, p384::ecdsa::Signature>(&key, digest)
                .map(|s| s.to_der().to_bytes().to_vec())
        }
        Spec::P521 => {
            let secret = ec_secret::<p521::NistP521>(private)?;
            let key =
                p521::ecdsa::SigningKey::from_bytes(&secret.to_bytes()).map_err(|_| corrupt())?;
            prehash_sign::<_, p521::ecdsa::Signature>(&key, digest)
                .map(|s| s.to_der().to_bytes().to_vec())
        }
        Spec::K256 => {
            let key = k256::ecdsa::SigningKey::from(ec_secret::<k256::Secp256k1>(private)?);
            prehash_sign::<_, k256::ecdsa::Signature>(&key, digest)
                .map(|s| s.to_der().to_bytes().to_vec())
        }
        _ => Err(failed("not a signing key".to_owned())),
    }
}

fn prehash_sign<K, S>(key: &K, digest: &[u8]) -> Result<S, ServiceError>
where
    K: ecdsa::signature::hazmat::PrehashSigner<S>,
{
    key.sign_prehash(digest)
        .map_err(|e| ServiceError::Internal(format!("signing failed: {e}")))
}

fn ec_secret<C>(private: &[u8]) -> Result<elliptic_curve::SecretKey<C>, ServiceError>
where
    C: elliptic_curve::CurveArithmetic + elliptic_curve::pkcs8::AssociatedOid,
    elliptic_curve::AffinePoint<C>:
        elliptic_curve::sec1::FromEncodedPoint<C> + elliptic_curve::sec1::ToEncodedPoint<C>,
    elliptic_curve::FieldBytesSize<C>: elliptic_curve::sec1::ModulusSize,
{
    use elliptic_curve::pkcs8::DecodePrivateKey as _;
    elliptic_curve::SecretKey::<C>::from_pkcs8_der(private).map_err(|_| corrupt())
}

/// Whether `signature` is a valid signature of `digest` under the public key
/// (DER SubjectPublicKeyInfo).
pub fn verify(spec: Spec, public: &[u8], algorithm: &str, digest: &[u8], signature: &[u8]) -> bool {
    use ecdsa::signature::hazmat::PrehashVerifier;
    match spec {
        Spec::Rsa(_) => {
            let Ok(key) = RsaPublicKey::from_public_key_der(public) else {
                return false;
            };
            let result = match (algorithm.starts_with("RSASSA_PSS"), digest.len()) {
                (true, 32) => key.verify(Pss::new::<Sha256>(), digest, signature),
                (true, 48) => key.verify(Pss::new::<Sha384>(), digest, signature),
                (true, _) => key.verify(Pss::new::<Sha512>(), digest, signature),
                (false, 32) => key.verify(Pkcs1v15Sign::new::<Sha256>(), digest, signature),
                (false, 48) => key.verify(Pkcs1v15Sign::new::<Sha384>(), digest, signature),
                (false, _) => key.verify(Pkcs1v15Sign::new::<Sha512>(), digest, signature),
            };
            result.is_ok()
        }
        Spec::P256 => {
            let (Ok(key), Ok(sig)) = (
                p256::ecdsa::VerifyingKey::from_public_key_der(public),
                p256::ecdsa::Signature::from_der(signature),
            ) else {
                return false;
            };
            key.verify_prehash(digest, &sig).is_ok()
        }
        Spec::P384 => {
            let (Ok(key), Ok(sig)) = (
                p384::ecdsa::VerifyingKey::from_public_key_der(public),
                p384::ecdsa::Signature::from_der(signature),
            ) else {
                return false;
            };
            key.verify_prehash(digest, &sig).is_ok()
        }
        Spec::P521 => {
            let (Ok(key), Ok(sig)) = (
                p521::PublicKey::from_public_key_der(public),
                p521::ecdsa::Signature::from_der(signature),
            ) else {
                return false;
            };
            let Ok(key) = p521::ecdsa::VerifyingKey::from_affine(*key.as_affine()) else {
                return false;
            };
            key.verify_prehash(digest, &sig).is_ok()
        }
        Spec::K256 => {
            let (Ok(key), Ok(sig)) = (
                k256::ecdsa::VerifyingKey::from_public_key_der(public),
                k256::ecdsa::Signature::from_der(signature),
            ) else {
                return false;
            };
            key.verify_prehash(digest, &sig).is_ok()
        }
        _ => false,
    }
}

/// RSA-OAEP encryption with an RSA key's public half.
pub fn rsa_encrypt(
    private: &[u8],
    algorithm: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, ServiceError> {
    let key = RsaPrivateKey::from_pkcs8_der(private).map_err(|_| corrupt())?;
    let public = RsaPublicKey::from(&key);
    let result = if algorithm == "RSAES_OAEP_SHA_1" {
        public.encrypt(&mut OsRng, Oaep::new::<sha1::Sha1>(), plaintext)
    } else {
        public.encrypt(&mut OsRng, Oaep::new::<Sha256>(), plaintext)
    };
    result.map_err(|_| {
        ServiceError::Validation(format!(
            "Plaintext is too long for encryption algorithm {algorithm}."
        ))
    })
}

/// RSA-OAEP decryption; `None` when the ciphertext does not decrypt.
pub fn rsa_decrypt(
    private: &[u8],
    algorithm: &str,
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let key = RsaPrivateKey::from_pkcs8_der(private).ok()?;
    let result = if algorithm == "RSAES_OAEP_SHA_1" {
        key.decrypt(Oaep::new::<sha1::Sha1>(), ciphertext)
    } else {
        key.decrypt(Oaep::new::<Sha256>(), ciphertext)
    };
    result.ok().map(Zeroizing::new)
}

/// The largest plaintext RSA-OAEP takes with this key size and algorithm.
pub fn rsa_max_plaintext(bits: usize, algorithm: &str) -> usize {
    let hash = if algorithm == "RSAES_OAEP_SHA_1" {
        20
    } else {
        32
    };
    bits / 8 - 2 * hash - 2
}

/// HMAC of `message` under an HMAC key.
pub fn mac(key: &[u8], algorithm: &str, message: &[u8]) -> Result<Vec<u8>, ServiceError> {
    let bad = || ServiceError::Internal("HMAC key of the wrong size".to_owned());
    Ok(match algorithm {
        "HMAC_SHA_224" => {
            let mut m = Hmac::<Sha224>::new_from_slice(key).map_err(|_| bad())?;
            m.update(message);
            m.finalize().into_bytes().to_vec()
        }
        "HMAC_SHA_256" => {
            let mut m = Hmac::<Sha256>::new_from_slice(key).map_err(|_| bad())?;
            m.update(message);
            m.finalize().into_bytes().to_vec()
        }
        "HMAC_SHA_384" => {
            let mut m = Hmac::<Sha384>::new_from_slice(key).map_err(|_| bad())?;
            m.update(message);
            m.finalize().into_bytes().to_vec()
        }
        "HMAC_SHA_512" => {
            let mut m = Hmac::<Sha512>::new_from_slice(key).map_err(|_| bad())?;
            m.update(message);
            m.finalize().into_bytes().to_vec()
        }
        _ => {
            return Err(error(
                "InvalidKeyUsageException",
                format!("MAC algorithm {algorithm} is not supported."),
            ));
        }
    })
}

/// Compares two byte strings in constant time (for their common length).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signing_spec_signs_and_verifies() {
        for spec in [
            Spec::P256,
            Spec::P384,
            Spec::P521,
            Spec::K256,
            Spec::Rsa(2048),
        ] {
            let private = generate(spec).unwrap();
            let public = public_key_der(spec, &private).unwrap();
            for alg in spec.signing_algorithms() {
                let d = digest(alg, b"message", false).unwrap();
                let sig = sign(spec, &private, alg, &d).unwrap();
                assert!(verify(spec, &public, alg, &d, &sig), "{spec:?} {alg}");
                let other = digest(alg, b"messagf", false).unwrap();
                assert!(!verify(spec, &public, alg, &other, &sig), "{spec:?} {alg}");
            }
        }
    }

    #[test]
    fn digests_must_have_the_algorithm_length() {
        assert!(digest("ECDSA_SHA_256", &[0; 31], true).is_err());
        assert_eq!(
            digest("ECDSA_SHA_384", &[7; 48], true).unwrap(),
            vec![7; 48]
        );
    }

    #[test]
    fn rsa_oaep_round_trips() {
        let private = generate(Spec::Rsa(2048)).unwrap();
        for alg in Spec::Rsa(2048).encryption_algorithms() {
            let c = rsa_encrypt(&private, alg, b"secret").unwrap();
            assert_eq!(
                rsa_decrypt(&private, alg, &c).unwrap().as_slice(),
                b"secret"
            );
        }
        assert_eq!(rsa_max_plaintext(2048, "RSAES_OAEP_SHA_256"), 190);
    }
}
