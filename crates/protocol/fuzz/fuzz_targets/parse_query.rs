//! Query protocol (IAM, STS): any form body, routed unsigned or by signing name.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rampart_protocol::{HttpRequest, parse_request, route};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let headers = http::HeaderMap::new();
    let req = HttpRequest { method: "POST", path: "/", query: "", headers: &headers, body };
    let signing = [None, Some("iam"), Some("sts")][sel as usize % 3];
    if let Ok(r) = route(&req, signing) {
        let _ = parse_request(&r, &req);
    }
});
