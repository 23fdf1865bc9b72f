//! Time-based one-time passwords as virtual MFA devices use them (RFC 6238 over
//! RFC 4226's HOTP): HMAC-SHA-1, 30-second steps, 6 digits; and the QR code (a PNG
//! of the `otpauth://` URI) that an authenticator app scans.
//!
//! This module is pure: it computes and compares codes for given time steps. Which
//! steps a code may match (the window, the device's drift) and the replay guard (a
//! step at or before the last accepted one never matches again) are decided by
//! [`accept`] and [`accept_pair`]; storing the accepted step is the caller's job.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use zeroize::Zeroizing;

/// Seconds per time step.
pub const STEP_SECONDS: i64 = 30;
/// How many bytes of randomness a new seed has (64 base32 characters, as AWS's).
pub const SEED_BYTES: usize = 40;
/// How many steps either side of the expected one a single code may be from (RFC
/// 6238 §5.2 recommends one step of tolerance for network and clock delay).
pub const WINDOW: i64 = 1;
/// How far a device's clock may have drifted for ResyncMFADevice to find it.
pub const RESYNC_WINDOW: i64 = 10;

/// The time step `unix_seconds` falls in.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The 6-digit code of `seed` for time step `step` (RFC 4226 dynamic truncation).
pub fn code(seed: &[u8], step: i64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(seed).expect("HMAC accepts keys of any length");
    mac.update(&(step as u64).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", binary % 1_000_000)
}

/// Compares two codes in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The step whose code `candidate` is, searched within `window` steps of `center`
/// and strictly after `last_step` (a used code never works again).
fn find(seed: &[u8], candidate: &str, center: i64, window: i64, last_step: i64) -> Option<i64> {
    let mut found = None;
    // Every step of the window is computed, so that timing says nothing about which
    // one matched.
    for step in center - window..=center + window {
        if same(&code(seed, step), candidate) && step > last_step && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The step a single code matches for a device whose clock runs `drift` steps off,
/// at time `now`, if it is valid and unused.
pub fn accept(seed: &[u8], candidate: &str, now: i64, drift: i64, last_step: i64) -> Option<i64> {
    find(seed, candidate, step_at(now) + drift, WINDOW, last_step)
}

/// Two consecutive codes (EnableMFADevice, ResyncMFADevice): the step of the second
/// one, searched within `window` steps of now, when the first is the code of the step
/// before it and both are unused.
pub fn accept_pair(
    seed: &[u8],
    first: &str,
    second: &str,
    now: i64,
    window: i64,
    last_step: i64,
) -> Option<i64> {
    let center = step_at(now);
    (center - window..=center + window).find(|&step| {
        step - 1 > last_step
            && same(&code(seed, step - 1), first)
            && same(&code(seed, step), second)
    })
}

/// A new random seed.
pub fn new_seed() -> Zeroizing<Vec<u8>> {
    use rand::Rng;
    let mut seed = Zeroizing::new(vec![0u8; SEED_BYTES]);
    rand::rng().fill(seed.as_mut_slice());
    seed
}

/// `seed` in base32 (RFC 4648, no padding), as authenticator apps take it.
pub fn base32(seed: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(data_encoding::BASE32_NOPAD.encode(seed))
}

/// The seed a base32 string spells.
pub fn from_base32(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    data_encoding::BASE32_NOPAD
        .decode(text.as_bytes())
        .ok()
        .map(Zeroizing::new)
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(issuer: &str, label: &str, base32_seed: &str) -> Zeroizing<String> {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let issuer = utf8_percent_encode(issuer, NON_ALPHANUMERIC).to_string();
    let label = utf8_percent_encode(label, NON_ALPHANUMERIC).to_string();
    Zeroizing::new(format!(
        "otpauth://totp/{issuer}:{label}?secret={base32_seed}&issuer={issuer}\
         &algorithm=SHA1&digits=6&period={STEP_SECONDS}"
    ))
}

/// Pixels per QR module, and the quiet zone around the code (in modules).
const SCALE: usize = 4;
const BORDER: usize = 4;

/// A PNG (8-bit greyscale) of the QR code of `text`.
pub fn qr_png(text: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).map_err(|e| e.to_string())?;
    let modules = qr.size() as usize;
    let side = (modules + 2 * BORDER) * SCALE;
    let mut pixels = Zeroizing::new(vec![255u8; side * side]);
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = (x / SCALE, y / SCALE);
            let inside = (BORDER..BORDER + modules).contains(&mx)
                && (BORDER..BORDER + modules).contains(&my);
            if inside && qr.get_module((mx - BORDER) as i32, (my - BORDER) as i32) {
                pixels[y * side + x] = 0;
            }
        }
    }
    let mut out = Zeroizing::new(Vec::new());
    {
        let mut encoder = png::Encoder::new(&mut *out, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 seed.
    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_rfc_6238_vectors() {
        // The RFC's 8-digit codes, of which a 6-digit code is the last six digits.
        for (time, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code(RFC_SEED, step_at(time)), expected, "at {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let now = 1_700_000_015;
        let step = step_at(now);
        for offset in -1..=1 {
            let c = code(RFC_SEED, step + offset);
            assert_eq!(accept(RFC_SEED, &c, now, 0, 0), Some(step + offset));
        }
        for offset in [-3, -2, 2, 3] {
            let c = code(RFC_SEED, step + offset);
            assert_eq!(accept(RFC_SEED, &c, now, 0, 0), None, "offset {offset}");
        }
        assert_eq!(accept(RFC_SEED, "000000", now, 0, 0).is_some(), {
            (-1..=1).any(|o| code(RFC_SEED, step + o) == "000000")
        });
    }

    #[test]
    fn a_used_step_is_never_accepted_again() {
        let now = 1_700_000_015;
        let step = step_at(now);
        let c = code(RFC_SEED, step);
        assert_eq!(accept(RFC_SEED, &c, now, 0, step - 1), Some(step));
        assert_eq!(accept(RFC_SEED, &c, now, 0, step), None);
        // An earlier code within the window is refused once a later one was used.
        let earlier = code(RFC_SEED, step - 1);
        assert_eq!(accept(RFC_SEED, &earlier, now, 0, step), None);
    }

    #[test]
    fn drift_moves_the_window() {
        let now = 1_700_000_015;
        let step = step_at(now);
        let c = code(RFC_SEED, step + 5);
        assert_eq!(accept(RFC_SEED, &c, now, 0, 0), None);
        assert_eq!(accept(RFC_SEED, &c, now, 5, 0), Some(step + 5));
    }

    #[test]
    fn pairs_must_be_consecutive_and_in_order() {
        let now = 1_700_000_015;
        let step = step_at(now);
        let (a, b) = (code(RFC_SEED, step - 1), code(RFC_SEED, step));
        assert_eq!(accept_pair(RFC_SEED, &a, &b, now, WINDOW, 0), Some(step));
        assert_eq!(accept_pair(RFC_SEED, &b, &a, now, WINDOW, 0), None);
        assert_eq!(accept_pair(RFC_SEED, &a, &a, now, WINDOW, 0), None);
        let far = code(RFC_SEED, step + 1);
        assert_eq!(accept_pair(RFC_SEED, &a, &far, now, WINDOW, 0), None);
        // A drifted device is found within the resync window only.
        let (c, d) = (code(RFC_SEED, step + 7), code(RFC_SEED, step + 8));
        assert_eq!(accept_pair(RFC_SEED, &c, &d, now, WINDOW, 0), None);
        assert_eq!(
            accept_pair(RFC_SEED, &c, &d, now, RESYNC_WINDOW, 0),
            Some(step + 8)
        );
        // Nor may the pair reuse a step already accepted.
        assert_eq!(accept_pair(RFC_SEED, &a, &b, now, WINDOW, step - 1), None);
    }

    #[test]
    fn seeds_round_trip_through_base32() {
        let seed = new_seed();
        let text = base32(&seed);
        assert_eq!(text.len(), 64);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
        );
        assert_eq!(*from_base32(&text).unwrap(), *seed);
        assert_ne!(*new_seed(), *seed);
    }

    #[test]
    fn the_qr_code_is_a_png() {
        let uri = otpauth_uri("rampart", "alice@123456789012", "JBSWY3DPEHPK3PXP");
        assert!(uri.starts_with(
            "otpauth://totp/rampart:alice%40123456789012?secret=JBSWY3DPEHPK3PXP&issuer=rampart"
        ));
        let png = qr_png(&uri).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(png.to_vec()));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width, info.height);
        assert!(info.width as usize >= (21 + 2 * BORDER) * SCALE);
    }
}
