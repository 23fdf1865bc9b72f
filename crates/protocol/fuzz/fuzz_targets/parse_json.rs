//! awsJson (KMS, Organizations, CloudTrail): any body for any operation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rampart_protocol::{HttpRequest, Protocol, Services, parse_request, route};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let ops: Vec<(String, String)> = Services::all()
        .filter(|s| s.protocol() == Protocol::Json)
        .flat_map(|s| {
            let prefix = s.metadata.target_prefix.clone().unwrap_or_default();
            s.operations.iter().map(move |o| (prefix.clone(), o.name.clone()))
        })
        .collect();
    let (prefix, op) = &ops[sel as usize % ops.len()];
    let mut headers = http::HeaderMap::new();
    let Ok(target) = format!("{prefix}.{op}").parse() else { return };
    headers.insert("x-amz-target", target);
    let req = HttpRequest { method: "POST", path: "/", query: "", headers: &headers, body };
    if let Ok(r) = route(&req, None) {
        let _ = parse_request(&r, &req);
    }
});
