//! ec2 protocol, over the test fixture model: any form body.
#![no_main]
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use rampart_protocol::{HttpRequest, ServiceModel, parse_request, route_within};

static EC2: LazyLock<ServiceModel> = LazyLock::new(|| {
    ServiceModel::from_json("ec2", include_str!("../../tests/fixtures/ec2.json")).expect("fixture")
});

fuzz_target!(|body: &[u8]| {
    let headers = http::HeaderMap::new();
    let req = HttpRequest { method: "POST", path: "/", query: "", headers: &headers, body };
    if let Ok(r) = route_within(&EC2, &req) {
        let _ = parse_request(&r, &req);
    }
});
