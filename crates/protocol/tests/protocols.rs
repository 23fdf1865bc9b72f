//! Table-driven tests of routing, parsing and serialization per protocol. Each row of a
//! table becomes its own named test.

use std::sync::LazyLock;

use http::HeaderMap;
use rampart_protocol::{
    AwsError, HttpRequest, Route, ServiceModel, Services, parse_request, route, route_within,
    serialize_error, serialize_response,
};
use serde_json::{Value, json};

static EC2: LazyLock<ServiceModel> = LazyLock::new(|| {
    ServiceModel::from_json("ec2", include_str!("fixtures/ec2.json")).expect("fixture loads")
});

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    h
}

const FORM: (&str, &str) = (
    "content-type",
    "application/x-www-form-urlencoded; charset=utf-8",
);

/// Route (with the signing name given, or unsigned) and parse.
fn run(
    method: &str,
    path: &str,
    query: &str,
    hdrs: &[(&str, &str)],
    body: &[u8],
    signing: Option<&str>,
) -> Result<(String, String, Value), AwsError> {
    let h = headers(hdrs);
    let req = HttpRequest {
        method,
        path,
        query,
        headers: &h,
        body,
    };
    let r = if signing == Some("ec2") {
        route_within(&EC2, &req)?
    } else {
        route(&req, signing)?
    };
    let v = parse_request(&r, &req)?;
    Ok((r.service.name.clone(), r.operation().name.clone(), v))
}

macro_rules! parses {
    ($($name:ident: ($method:expr, $path:expr, $query:expr, $hdrs:expr, $body:expr, $sig:expr) => ($svc:expr, $op:expr, $value:expr);)*) => {$(
        #[test]
        fn $name() {
            let (svc, op, v) = run($method, $path, $query, $hdrs, $body, $sig).unwrap();
            assert_eq!((svc.as_str(), op.as_str()), ($svc, $op));
            assert_eq!(v, $value);
        }
    )*};
}

macro_rules! fails {
    ($($name:ident: ($method:expr, $path:expr, $query:expr, $hdrs:expr, $body:expr, $sig:expr) => ($code:expr, $status:expr, $msg:expr);)*) => {$(
        #[test]
        fn $name() {
            let e = run($method, $path, $query, $hdrs, $body, $sig).unwrap_err();
            assert_eq!((e.code.as_ref(), e.status), ($code, $status), "{e}");
            assert!(e.message.contains($msg), "{:?} does not contain {:?}", e.message, $msg);
        }
    )*};
}

const KMS: &str = "TrentService";

parses! {
    query_get_caller_identity: ("POST", "/", "", &[FORM], b"Action=GetCallerIdentity&Version=2011-06-15", Some("sts"))
        => ("sts", "GetCallerIdentity", json!({}));
    query_get_request_in_query_string: ("GET", "/", "Action=ListUsers&Version=2010-05-08&MaxItems=5&PathPrefix=%2Fa%2F", &[], b"", Some("iam"))
        => ("iam", "ListUsers", json!({"MaxItems": 5, "PathPrefix": "/a/"}));
    query_nested_list_of_structures: ("POST", "/", "", &[FORM],
        b"Action=CreateUser&Version=2010-05-08&UserName=alice&Tags.member.2.Key=b&Tags.member.2.Value=2&Tags.member.1.Key=a&Tags.member.1.Value=1", Some("iam"))
        => ("iam", "CreateUser", json!({"UserName": "alice", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}));
    query_empty_list: ("POST", "/", "", &[FORM], b"Action=ListPolicies&Version=2010-05-08&PolicyUsageFilter=PermissionsPolicy&OnlyAttached=true", Some("iam"))
        => ("iam", "ListPolicies", json!({"PolicyUsageFilter": "PermissionsPolicy", "OnlyAttached": true}));
    query_plus_is_space: ("POST", "/", "", &[FORM], b"Action=CreatePolicy&Version=2010-05-08&PolicyName=p&PolicyDocument=%7B%22a%22%3A+1%7D", Some("iam"))
        => ("iam", "CreatePolicy", json!({"PolicyName": "p", "PolicyDocument": "{\"a\": 1}"}));
    query_unsigned_web_identity_routes_by_action: ("POST", "/", "", &[FORM],
        b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=sess&WebIdentityToken=tokentokentoken", None)
        => ("sts", "AssumeRoleWithWebIdentity", json!({"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "sess", "WebIdentityToken": "tokentokentoken"}));
    ec2_flat_lists: ("POST", "/", "", &[FORM], b"Action=DescribeTags&Version=2016-11-15&Filter.1.Name=key&Filter.1.Value.1=a&Filter.1.Value.2=b&MaxResults=10", Some("ec2"))
        => ("ec2", "DescribeTags", json!({"Filters": [{"Name": "key", "Values": ["a", "b"]}], "MaxResults": 10}));
    ec2_location_name_capitalised: ("POST", "/", "", &[FORM], b"Action=DescribeRegions&Version=2016-11-15&RegionName.1=us-east-1&AllRegions=true&DryRun=false", Some("ec2"))
        => ("ec2", "DescribeRegions", json!({"RegionNames": ["us-east-1"], "AllRegions": true, "DryRun": false}));
    json_kms_create_key: ("POST", "/", "", &[("x-amz-target", "TrentService.CreateKey"), ("content-type", "application/x-amz-json-1.1")],
        br#"{"KeyUsage":"ENCRYPT_DECRYPT","Tags":[{"TagKey":"k","TagValue":"v"}],"Unknown":1}"#, Some("kms"))
        => ("kms", "CreateKey", json!({"KeyUsage": "ENCRYPT_DECRYPT", "Tags": [{"TagKey": "k", "TagValue": "v"}]}));
    json_empty_body_is_empty_input: ("POST", "/", "", &[("x-amz-target", "AWSOrganizationsV20161128.DescribeOrganization")], b"", None)
        => ("organizations", "DescribeOrganization", json!({}));
    json_cloudtrail_botocore_target: ("POST", "/", "", &[("x-amz-target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents")], b"{}", None)
        => ("cloudtrail", "LookupEvents", json!({}));
    json_cloudtrail_smithy_target: ("POST", "/", "", &[("x-amz-target", "CloudTrail_20131101.LookupEvents")], b"{}", None)
        => ("cloudtrail", "LookupEvents", json!({}));
    json_blob_stays_base64: ("POST", "/", "", &[("x-amz-target", "TrentService.Decrypt")], br#"{"CiphertextBlob":"AAEC"}"#, Some("kms"))
        => ("kms", "Decrypt", json!({"CiphertextBlob": "AAEC"}));
    rest_json_labels_and_query: ("GET", "/detector/d%2D1/filter", "maxResults=5&nextToken=t", &[], b"", Some("guardduty"))
        => ("guardduty", "ListFilters", json!({"DetectorId": "d-1", "MaxResults": 5, "NextToken": "t"}));
    rest_json_body_uses_location_names: ("POST", "/detector/d1/filter", "", &[("content-type", "application/json")],
        br#"{"name":"my-filter","action":"ARCHIVE","findingCriteria":{"criterion":{"severity":{"gte":4}}}}"#, Some("guardduty"))
        => ("guardduty", "CreateFilter", json!({"DetectorId": "d1", "Name": "my-filter", "Action": "ARCHIVE", "FindingCriteria": {"Criterion": {"severity": {"Gte": 4}}}}));
    rest_json_unsigned_routes_by_template: ("GET", "/detector/abc", "", &[], b"", None)
        => ("guardduty", "GetDetector", json!({"DetectorId": "abc"}));
}

fails! {
    query_missing_action: ("POST", "/", "", &[FORM], b"Version=2011-06-15", Some("sts"))
        => ("MissingAction", 400, "Missing Action");
    query_unknown_action: ("POST", "/", "", &[FORM], b"Action=Nope&Version=2010-05-08", Some("iam"))
        => ("InvalidAction", 400, "Could not find operation Nope for version 2010-05-08");
    query_invalid_utf8: ("POST", "/", "", &[FORM], b"Action=CreateUser&UserName=%ff", Some("iam"))
        => ("MalformedQueryString", 400, "UTF-8");
    query_pattern_violation: ("POST", "/", "", &[FORM], b"Action=CreateUser&Version=2010-05-08&UserName=a+b", Some("iam"))
        => ("ValidationError", 400, "1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+");
    query_not_a_number: ("POST", "/", "", &[FORM], b"Action=ListUsers&Version=2010-05-08&MaxItems=lots", Some("iam"))
        => ("ValidationError", 400, "Value 'lots' at 'maxItems'");
    query_two_errors: ("POST", "/", "", &[FORM], b"Action=CreateUser&Version=2010-05-08&Path=x", Some("iam"))
        => ("ValidationError", 400, "2 validation errors detected: Value 'x' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F); Value null at 'userName' failed to satisfy constraint: Member must not be null");
    json_malformed_body: ("POST", "/", "", &[("x-amz-target", "TrentService.CreateKey")], b"{not json", None)
        => ("SerializationException", 400, "");
    json_wrong_type: ("POST", "/", "", &[("x-amz-target", "TrentService.CreateKey")], br#"{"Description":5}"#, None)
        => ("SerializationException", 400, "'description'");
    json_not_an_object: ("POST", "/", "", &[("x-amz-target", "TrentService.CreateKey")], b"[1]", None)
        => ("SerializationException", 400, "");
    json_unknown_target: ("POST", "/", "", &[("x-amz-target", "TrentService.Nope")], b"{}", None)
        => ("UnknownOperationException", 400, "Nope is not an operation of KMS 2014-11-01");
    json_unknown_prefix: ("POST", "/", "", &[("x-amz-target", "Nope.CreateKey")], b"{}", None)
        => ("UnknownOperationException", 400, "No service is known by the X-Amz-Target prefix 'Nope'");
    json_validation: ("POST", "/", "", &[("x-amz-target", "TrentService.DescribeKey")], b"{}", None)
        => ("ValidationException", 400, "Value null at 'keyId' failed to satisfy constraint: Member must not be null");
    json_invalid_utf8: ("POST", "/", "", &[("x-amz-target", "TrentService.CreateKey")], b"{\"Description\":\"\xff\"}", None)
        => ("SerializationException", 400, "");
    rest_json_bad_integer: ("GET", "/detector/d1/filter", "maxResults=x", &[], b"", Some("guardduty"))
        => ("ValidationException", 400, "Value 'x' at 'maxResults'");
    rest_json_no_such_route: ("DELETE", "/nowhere", "", &[], b"", Some("guardduty"))
        => ("UnknownOperationException", 404, "");
}

#[test]
fn oversize_body_is_rejected() {
    let body = vec![b'a'; rampart_protocol::MAX_BODY_BYTES + 1];
    let h = headers(&[("x-amz-target", &format!("{KMS}.CreateKey"))]);
    let req = HttpRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: &h,
        body: &body,
    };
    let r = route(&req, None).unwrap();
    assert_eq!(parse_request(&r, &req).unwrap_err().status, 413);
}

fn body(r: &rampart_protocol::HttpResponse) -> String {
    String::from_utf8(r.body.to_vec()).unwrap()
}

#[test]
fn query_response_shape() {
    let iam = Services::get("iam").unwrap();
    let r = Route::by_name(iam, "ListUsers").unwrap();
    let out = json!({"Users": [{"UserName": "a<b", "UserId": "AIDA", "Arn": "arn", "Path": "/", "CreateDate": 1440938160}], "IsTruncated": false});
    let resp = serialize_response(&r, &out, "rid");
    assert_eq!(resp.status, 200);
    assert_eq!(
        body(&resp),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListUsersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ListUsersResult>\
         <Users><member><Path>/</Path><UserName>a&lt;b</UserName><UserId>AIDA</UserId><Arn>arn</Arn><CreateDate>2015-08-30T12:36:00Z</CreateDate></member></Users>\
         <IsTruncated>false</IsTruncated></ListUsersResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></ListUsersResponse>"
    );
}

#[test]
fn error_shapes_per_protocol() {
    let sts = Services::get("sts").unwrap();
    let e = AwsError::modeled(sts, "ExpiredTokenException", "expired");
    let resp = serialize_error(sts, &e, "rid");
    assert_eq!(resp.status, 400);
    assert_eq!(
        body(&resp),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
         <Code>ExpiredTokenException</Code><Message>expired</Message></Error><RequestId>rid</RequestId></ErrorResponse>"
    );
    let kms = Services::get("kms").unwrap();
    let e = AwsError::modeled(kms, "NotFoundException", "gone");
    let resp = serialize_error(kms, &e, "rid");
    assert_eq!(resp.headers["x-amzn-errortype"], "NotFoundException");
    assert_eq!(resp.headers["x-amzn-requestid"], "rid");
    assert_eq!(resp.headers["content-type"], "application/x-amz-json-1.1");
    assert_eq!(
        body(&resp),
        r#"{"__type":"NotFoundException","message":"gone"}"#
    );
    let resp = serialize_error(
        &EC2,
        &AwsError::new("InvalidKeyPair.NotFound", "nope", 400, true),
        "rid",
    );
    assert_eq!(
        body(&resp),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>InvalidKeyPair.NotFound</Code><Message>nope</Message></Error></Errors><RequestID>rid</RequestID></Response>"
    );
    let gd = Services::get("guardduty").unwrap();
    let e = AwsError::modeled(gd, "ResourceNotFoundException", "no detector");
    assert_eq!((e.status, e.sender_fault), (404, true));
    let resp = serialize_error(gd, &e, "rid");
    assert_eq!(resp.status, 404);
    let iam = Services::get("iam").unwrap();
    let e = AwsError::modeled(iam, "NoSuchEntityException", "x");
    assert_eq!((e.code.as_ref(), e.status), ("NoSuchEntity", 404));
}

#[test]
fn ec2_response_shape() {
    let r = Route::by_name(&EC2, "DescribeRegions").unwrap();
    let out = json!({"Regions": [{"RegionName": "us-east-1", "Endpoint": "ec2.us-east-1.amazonaws.com"}]});
    let resp = serialize_response(&r, &out, "rid");
    let b = body(&resp);
    assert!(b.contains("<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>rid</requestId><regionInfo><item>"), "{b}");
    assert!(b.contains("<regionName>us-east-1</regionName>"), "{b}");
}

#[test]
fn rest_json_response_status_and_headers() {
    let gd = Services::get("guardduty").unwrap();
    let r = Route::by_name(gd, "CreateDetector").unwrap();
    let resp = serialize_response(&r, &json!({"DetectorId": "d1"}), "rid");
    assert_eq!(resp.status, r.operation().http.response_code);
    assert_eq!(body(&resp), r#"{"detectorId":"d1"}"#);
}

#[test]
fn every_operation_routes_back_to_itself_by_name() {
    for m in Services::all() {
        for op in &m.operations {
            let r = Route::by_name(m, &op.name).unwrap();
            assert_eq!(r.operation().name, op.name);
        }
    }
}

/// A hand-written query model for the shapes the real models lack on input: maps,
/// flattened lists, custom list/map member names, and ec2's `queryName`.
const MINI: &str = r#"{
 "metadata": {"protocol": "query", "apiVersion": "2020-01-01", "endpointPrefix": "mini", "xmlNamespace": "https://mini/"},
 "operations": {"Put": {"name": "Put", "http": {"method": "POST", "requestUri": "/"}, "input": {"shape": "PutIn"},
   "output": {"shape": "PutIn", "resultWrapper": "PutResult"}}},
 "shapes": {
  "PutIn": {"type": "structure", "members": {
    "Attrs": {"shape": "AttrMap"},
    "Named": {"shape": "NamedMap"},
    "Flat": {"shape": "FlatList", "flattened": true},
    "Renamed": {"shape": "RenamedList", "locationName": "Other"},
    "Q": {"shape": "Str", "queryName": "QueryQ", "locationName": "q"}}},
  "AttrMap": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}},
  "NamedMap": {"type": "map", "key": {"shape": "Str", "locationName": "Name"}, "value": {"shape": "Str", "locationName": "Val"}},
  "FlatList": {"type": "list", "member": {"shape": "Str"}},
  "RenamedList": {"type": "list", "member": {"shape": "Str", "locationName": "item"}},
  "Str": {"type": "string"}
 }
}"#;

static MINI_QUERY: LazyLock<ServiceModel> =
    LazyLock::new(|| ServiceModel::from_json("mini", MINI).unwrap());
static MINI_EC2: LazyLock<ServiceModel> = LazyLock::new(|| {
    ServiceModel::from_json("mini", &MINI.replace("\"query\"", "\"ec2\"")).unwrap()
});

fn parse_mini(model: &'static ServiceModel, body: &[u8]) -> Value {
    let h = headers(&[FORM]);
    let req = HttpRequest {
        method: "POST",
        path: "/",
        query: "",
        headers: &h,
        body,
    };
    let r = route_within(model, &req).unwrap();
    parse_request(&r, &req).unwrap()
}

#[test]
fn query_maps_flattened_and_renamed_lists() {
    let v = parse_mini(
        &MINI_QUERY,
        b"Action=Put&Version=2020-01-01&Attrs.entry.1.key=a&Attrs.entry.1.value=1&Attrs.entry.2.key=b&Attrs.entry.2.value=2\
          &Named.entry.1.Name=n&Named.entry.1.Val=v&Flat.1=x&Flat.2=y&Other.item.1=z&q=w",
    );
    assert_eq!(
        v,
        json!({"Attrs": {"a": "1", "b": "2"}, "Named": {"n": "v"}, "Flat": ["x", "y"], "Renamed": ["z"], "Q": "w"})
    );
    // And back out: the same names in XML.
    let r = Route::by_name(&MINI_QUERY, "Put").unwrap();
    let b = body(&serialize_response(&r, &v, "rid"));
    assert!(b.contains("<Attrs><entry><key>a</key><value>1</value></entry><entry><key>b</key><value>2</value></entry></Attrs>"), "{b}");
    assert!(
        b.contains("<Named><entry><Name>n</Name><Val>v</Val></entry></Named>"),
        "{b}"
    );
    assert!(b.contains("<Flat>x</Flat><Flat>y</Flat>"), "{b}");
    assert!(b.contains("<Other><item>z</item></Other>"), "{b}");
}

#[test]
fn ec2_query_name_wins() {
    let v = parse_mini(
        &MINI_EC2,
        b"Action=Put&Version=2020-01-01&QueryQ=w&Other.1=z&q=ignored",
    );
    assert_eq!(v, json!({"Q": "w", "Renamed": ["z"]}));
}
