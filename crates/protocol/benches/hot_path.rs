//! The protocol layer's hot path: route + parse + serialize of STS GetCallerIdentity
//! (a tiny form POST), IAM CreateUser with tags (validation and nested lists), a KMS
//! JSON call, and SigV4 verification with a cached signing key.
//!
//! `cargo bench -p rampart-protocol --bench hot_path`

use std::time::{Duration, UNIX_EPOCH};

use divan::{Bencher, black_box};
use http::HeaderMap;
use rampart_protocol::sigv4::{SigningKey, extract, verify};
use rampart_protocol::{HttpRequest, parse_request, route, serialize_response};
use serde_json::json;

fn main() {
    divan::main();
}

fn form_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8"
            .parse()
            .unwrap(),
    );
    h
}

#[divan::bench]
fn sts_get_caller_identity(b: Bencher) {
    let h = form_headers();
    let body = b"Action=GetCallerIdentity&Version=2011-06-15";
    let out = json!({"UserId": "AIDAEXAMPLE", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/alice"});
    b.bench(|| {
        let req = HttpRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &h,
            body: black_box(body),
        };
        let r = route(&req, Some("sts")).unwrap();
        let input = parse_request(&r, &req).unwrap();
        black_box(input);
        serialize_response(&r, black_box(&out), "5a8c3b1e-0000-4000-8000-000000000000")
    });
}

#[divan::bench]
fn iam_create_user_with_tags(b: Bencher) {
    let h = form_headers();
    let body = b"Action=CreateUser&Version=2010-05-08&UserName=alice&Path=%2Fteam%2F&Tags.member.1.Key=team&Tags.member.1.Value=red&Tags.member.2.Key=env&Tags.member.2.Value=dev";
    b.bench(|| {
        let req = HttpRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &h,
            body: black_box(body),
        };
        let r = route(&req, Some("iam")).unwrap();
        parse_request(&r, &req).unwrap()
    });
}

#[divan::bench]
fn kms_describe_key_json(b: Bencher) {
    let mut h = HeaderMap::new();
    h.insert("x-amz-target", "TrentService.DescribeKey".parse().unwrap());
    let body = br#"{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}"#;
    b.bench(|| {
        let req = HttpRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &h,
            body: black_box(body),
        };
        let r = route(&req, Some("kms")).unwrap();
        parse_request(&r, &req).unwrap()
    });
}

#[divan::bench]
fn sigv4_verify_cached_key(b: Bencher) {
    let mut h = HeaderMap::new();
    h.insert("host", "example.amazonaws.com".parse().unwrap());
    h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
    h.insert(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
            .parse()
            .unwrap(),
    );
    let key = SigningKey::derive(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "20150830",
        "us-east-1",
        "service",
    );
    let now = UNIX_EPOCH + Duration::from_secs(1440938160);
    b.bench(|| {
        let req = HttpRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &h,
            body: b"",
        };
        let signed = extract(&req).unwrap().unwrap();
        verify(&req, &signed, &key, now).unwrap();
    });
}
