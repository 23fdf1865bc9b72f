//! SigV4: fuzzed Authorization header, X-Amz-Date, query string and body through
//! extract + verify.
#![no_main]
use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use rampart_protocol::HttpRequest;
use rampart_protocol::sigv4::{SigningKey, extract, verify};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(5, |&b| b == b'\n');
    let (Some(auth), Some(date), Some(path), Some(query)) = (parts.next(), parts.next(), parts.next(), parts.next()) else { return };
    let body = parts.next().unwrap_or(b"");
    let (Ok(path), Ok(query)) = (std::str::from_utf8(path), std::str::from_utf8(query)) else { return };
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_bytes(auth) {
        if !auth.is_empty() {
            headers.insert("authorization", v);
        }
    }
    if let Ok(v) = http::HeaderValue::from_bytes(date) {
        headers.insert("x-amz-date", v);
    }
    headers.insert("host", http::HeaderValue::from_static("localhost"));
    let req = HttpRequest { method: "POST", path, query, headers: &headers, body };
    if let Ok(Some(signed)) = extract(&req) {
        let key = SigningKey::derive("secret", &signed.scope_date, &signed.region, &signed.service);
        let _ = verify(&req, &signed, &key, UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    }
});
