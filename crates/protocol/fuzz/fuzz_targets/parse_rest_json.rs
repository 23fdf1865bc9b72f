//! rest-json (GuardDuty): fuzzed method, path, query and body, split on newlines.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rampart_protocol::{HttpRequest, parse_request, route};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let (Some(m), Some(p), Some(q)) = (parts.next(), parts.next(), parts.next()) else { return };
    let body = parts.next().unwrap_or(b"");
    let (Ok(method), Ok(path), Ok(query)) = (std::str::from_utf8(m), std::str::from_utf8(p), std::str::from_utf8(q)) else { return };
    let headers = http::HeaderMap::new();
    let req = HttpRequest { method, path, query, headers: &headers, body };
    if let Ok(r) = route(&req, Some("guardduty")) {
        let _ = parse_request(&r, &req);
    }
});
