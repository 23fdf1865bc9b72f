//! Routing: which service and operation a request is for. awsJson by `X-Amz-Target`
//! prefix; query by the SigV4 signing name, else (unsigned STS calls such as
//! `AssumeRoleWithWebIdentity`) by the `Action` name; rest-json by signing name, then
//! method and URI template.

use crate::error::AwsError;
use crate::model::{OperationId, Protocol, ServiceModel, Services};
use crate::{HttpRequest, Route, query, rest_json};

/// Route a request to one of the embedded services.
pub fn route(req: &HttpRequest, signing_service: Option<&str>) -> Result<Route, AwsError> {
    if let Some(target) = req.headers.get("x-amz-target") {
        let target = target.to_str().map_err(|_| {
            AwsError::new(
                "UnknownOperationException",
                "The X-Amz-Target header is not valid UTF-8",
                400,
                true,
            )
        })?;
        let (prefix, op) = target.rsplit_once('.').unwrap_or(("", target));
        let service = Services::all()
            .find(|s| s.protocol() == Protocol::Json && s.metadata.accepts_target_prefix(prefix))
            .ok_or_else(|| {
                AwsError::new(
                    "UnknownOperationException",
                    format!("No service is known by the X-Amz-Target prefix '{prefix}'"),
                    400,
                    true,
                )
            })?;
        return by_name(service, op);
    }
    if let Some(sig) = signing_service
        && let Some(service) = Services::all().find(|s| s.metadata.signing_name == sig)
    {
        return route_within(service, req);
    }
    // Unsigned (or signed for a service rampart does not model): find the operation.
    if let Some(action) = query::action(req)? {
        for name in ["sts", "iam"] {
            if let Some(s) = Services::get(name)
                && let Some(id) = s.operation_id(&action)
            {
                return Ok(Route {
                    service: s,
                    operation: id,
                });
            }
        }
        let sts = Services::get("sts").ok_or_else(AwsError::internal)?;
        return Err(AwsError::unknown_operation(sts, &action));
    }
    for s in Services::all().filter(|s| s.protocol() == Protocol::RestJson) {
        if let Some(i) = rest_json::routes(s, req.method, req.path, req.query) {
            return Ok(Route {
                service: s,
                operation: OperationId(i as u32),
            });
        }
    }
    Err(AwsError::missing_action())
}

/// Route a request within a known service (also used for models that are not
/// embedded, such as test fixtures).
pub fn route_within(service: &'static ServiceModel, req: &HttpRequest) -> Result<Route, AwsError> {
    match service.protocol() {
        Protocol::Query | Protocol::Ec2 => match query::action(req)? {
            Some(action) => by_name(service, &action),
            None => Err(AwsError::missing_action()),
        },
        Protocol::Json => {
            let target = req
                .headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| AwsError::unknown_operation(service, ""))?;
            let (prefix, op) = target.rsplit_once('.').unwrap_or(("", target));
            if !service.metadata.accepts_target_prefix(prefix) {
                return Err(AwsError::unknown_operation(service, op));
            }
            by_name(service, op)
        }
        Protocol::RestJson | Protocol::RestXml => {
            rest_json::routes(service, req.method, req.path, req.query)
                .map(|i| Route {
                    service,
                    operation: OperationId(i as u32),
                })
                .ok_or_else(|| AwsError::new("UnknownOperationException", "", 404, true))
        }
    }
}

fn by_name(service: &'static ServiceModel, op: &str) -> Result<Route, AwsError> {
    service
        .operation_id(op)
        .map(|operation| Route { service, operation })
        .ok_or_else(|| AwsError::unknown_operation(service, op))
}

/// The service whose error format fits a request that could not be routed: the
/// signing service, the `X-Amz-Target` prefix's, else STS (query).
pub fn error_service(req: &HttpRequest, signing_service: Option<&str>) -> &'static ServiceModel {
    let by_target = req
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit_once('.'))
        .and_then(|(p, _)| Services::all().find(|s| s.metadata.accepts_target_prefix(p)));
    let by_sig =
        signing_service.and_then(|sig| Services::all().find(|s| s.metadata.signing_name == sig));
    by_target
        .or(by_sig)
        .or_else(|| Services::get("sts"))
        .unwrap_or_else(|| Services::all().next().expect("at least one embedded model"))
}
