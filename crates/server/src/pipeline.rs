//! The chain every AWS API request goes through: authenticate → route and parse →
//! authorize → handle → audit → serialize. Every failure becomes the AWS error of the
//! request's protocol; nothing from outside can make it panic or answer 500.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use rampart_protocol::model::Protocol;
use rampart_protocol::sigv4;
use rampart_protocol::{AwsError, HttpRequest, HttpResponse, Route};
use rampart_services::audit::{self, ApiCall};
use rampart_services::{Call, ControlPlane, Outcome, PlaneError, ServiceError, authorize};
use rampart_store::{Batch, QueueError, StoreError};

use crate::authenticate::authenticate;
use rampart_protocol::MAX_BODY_BYTES;

pub async fn handle(
    State(plane): State<Arc<ControlPlane>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, MAX_BODY_BYTES).await;
    let empty = axum::body::Bytes::new();
    let http = HttpRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: body.as_ref().unwrap_or(&empty),
    };
    if body.is_err() {
        let service = rampart_protocol::error_service(&http, None);
        let error = AwsError::request_too_large(MAX_BODY_BYTES);
        return into_response(rampart_protocol::serialize_error(
            service,
            &error,
            &request_id,
        ));
    }
    let context = RequestContext {
        plane: &plane,
        request_id: &request_id,
        source_ip: peer.ip().to_string(),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
        now: SystemTime::now(),
    };
    into_response(context.run(&http).await)
}

/// What one request carries through the chain besides its bytes.
pub(crate) struct RequestContext<'a> {
    pub plane: &'a ControlPlane,
    pub request_id: &'a str,
    pub source_ip: String,
    pub user_agent: &'a str,
    pub now: SystemTime,
}

/// What names a call in the audit trail and shapes its errors.
#[derive(Clone, Copy)]
pub(crate) struct CallName<'a> {
    /// The operation whose model gives the call's errors and redacts its output.
    pub route: &'a Route,
    /// The CloudTrail `eventName`: the operation's name, for API calls.
    pub event_name: &'a str,
}

impl<'a> From<&'a Route> for CallName<'a> {
    fn from(route: &'a Route) -> Self {
        CallName {
            route,
            event_name: &route.operation().name,
        }
    }
}

/// How one try at serving a call ended.
pub(crate) enum Settled {
    /// Answered: its output, or the error it was answered (and recorded) with.
    Done(Result<serde_json::Value, AwsError>),
    /// Its write lost a race with another write of the same record and changed nothing.
    Conflict,
}

impl RequestContext<'_> {
    async fn run(&self, http: &HttpRequest<'_>) -> HttpResponse {
        let signed = match sigv4::extract(http) {
            Ok(signed) => signed,
            Err(e) => {
                let service = rampart_protocol::error_service(http, None);
                return rampart_protocol::serialize_error(
                    service,
                    &e.to_aws(service.protocol()),
                    self.request_id,
                );
            }
        };
        let signing_service = signed.as_ref().map(|s| s.service.as_str());
        let route = match rampart_protocol::route(http, signing_service) {
            Ok(route) => route,
            Err(e) => {
                let service = rampart_protocol::error_service(http, signing_service);
                return rampart_protocol::serialize_error(service, &e, self.request_id);
            }
        };
        let unsigned = signed.is_none() && route.operation().unsigned;
        let caller = match authenticate(self.plane, http, signed.as_ref(), self.now) {
            // Operations AWS serves unsigned (AssumeRoleWithWebIdentity, AssumeRoleWithSAML)
            // carry their own proof, which their handler verifies.
            Err(_) if unsigned => Arc::new(rampart_services::Caller::unauthenticated(
                &route.operation().name,
                &self.plane.settings().default_account_id,
            )),
            Ok(caller) => caller,
            Err(e) => {
                tracing::info!(error = %e, operation = %route.operation().name, "authentication failed");
                let error = e.to_aws(route.service.protocol());
                return rampart_protocol::serialize_error(route.service, &error, self.request_id);
            }
        };
        let region = signed
            .as_ref()
            .map_or(self.plane.settings().region(), |s| s.region.as_str());
        let call = Call {
            plane: self.plane,
            caller: &caller,
            region,
            source_ip: &self.source_ip,
            user_agent: self.user_agent,
            now: DateTime::<Utc>::from(self.now),
        };
        let answer = self
            .retrying(|may_retry| self.serve(&route, &call, http, may_retry))
            .await;
        match answer {
            Ok(output) => rampart_protocol::serialize_response(&route, &output, self.request_id),
            Err(error) => rampart_protocol::serialize_error(route.service, &error, self.request_id),
        }
    }

    /// Serves a call by `attempt` until it is answered. A write that lost a race with
    /// another write of the same record changed nothing: the call runs again, from its
    /// input, on the view with that write. The last try (`attempt(false)`) answers (and
    /// records) InternalFailure if it loses too.
    pub(crate) async fn retrying<F: Future<Output = Settled>>(
        &self,
        mut attempt: impl FnMut(bool) -> F,
    ) -> Result<serde_json::Value, AwsError> {
        let mut retries = 0;
        loop {
            match attempt(retries < CONFLICT_RETRIES).await {
                Settled::Done(answer) => return answer,
                Settled::Conflict => {
                    retries += 1;
                    if let Err(error) = self.plane.catch_up().await {
                        // The view cannot see the winning write: only the last try is left.
                        tracing::error!(%error, "cannot catch the view up after a conflict");
                        retries = CONFLICT_RETRIES;
                    }
                }
            }
        }
    }

    /// Parses, authorizes, handles and records one call (committing what it changes).
    async fn serve(
        &self,
        route: &Route,
        call: &Call<'_>,
        http: &HttpRequest<'_>,
        may_retry: bool,
    ) -> Settled {
        let name = CallName::from(route);
        let input = match rampart_protocol::parse_request(route, http) {
            Ok(input) => input,
            Err(e) => return Settled::Done(Err(self.fail(name, call, Trail::new(None), e).await)),
        };
        let service = route.service.name.as_str();
        let operation = route.operation().name.as_str();
        // What CloudTrail records of the input, taken before the handler consumes it.
        let request_parameters =
            audit::request_parameters(service, operation, route.redact_input(&input));
        let resources = match authorize::authorize(call, service, operation, &input) {
            Ok(resources) => resources,
            Err(denied) => {
                let trail = Trail::new(Some(request_parameters));
                let error = to_aws(route, denied);
                return Settled::Done(Err(self.fail(name, call, trail, error).await));
            }
        };
        let trail = Trail {
            request_parameters: Some(request_parameters),
            resources,
        };
        let outcome = rampart_services::handle(service, operation, call, input).await;
        self.settle(name, call, trail, outcome, may_retry).await
    }

    /// Records a handled call and answers it: a failure with its error (see
    /// [`RequestContext::fail`]); a call that changed nothing once its event is queued; a
    /// call with writes once they are committed with its event. A commit that loses a race
    /// is [`Settled::Conflict`] if `may_retry`, else InternalFailure, recorded like any
    /// failed call; a commit that fails wrote nothing and is recorded as failed.
    pub(crate) async fn settle(
        &self,
        name: CallName<'_>,
        call: &Call<'_>,
        trail: Trail,
        outcome: Result<Outcome, ServiceError>,
        may_retry: bool,
    ) -> Settled {
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                let error = to_aws(name.route, e);
                return Settled::Done(Err(self.fail(name, call, trail, error).await));
            }
        };
        if outcome.mutations.is_empty() {
            let event = self.api_call(name, call, trail, true, None, None);
            if let Err(throttled) = self.record(name, audit::prepared_event(event)) {
                return Settled::Done(Err(throttled));
            }
            return Settled::Done(Ok(outcome.output));
        }
        // What the call's event says if its commit fails and it is recorded as failed.
        let unchanged = trail.clone();
        let event = self.api_call(name, call, trail, false, Some(&outcome.output), None);
        let batch = Batch {
            mutations: outcome.mutations,
            audit: vec![audit::event(event)],
        };
        match self.plane.commit(batch).await {
            Ok(()) => Settled::Done(Ok(outcome.output)),
            Err(PlaneError::Store(StoreError::Conflict { .. })) if may_retry => Settled::Conflict,
            // Nothing was written: the call did not happen.
            Err(error) => {
                tracing::error!(%error, operation = %name.event_name, "commit failed");
                let failure = AwsError::internal();
                Settled::Done(Err(self.fail(name, call, unchanged, failure).await))
            }
        }
    }

    /// Records a call that failed after authentication (a denial, bad input, an error)
    /// and gives back the error to answer, once its event is committed: a `kill -9`
    /// never loses a denial that was answered. While the store cannot be written the
    /// answer waits at most [`DURABLE_WAIT`]; the event stays queued, and lands once the
    /// store takes it. A full queue turns the answer into a throttling error.
    async fn fail(
        &self,
        name: CallName<'_>,
        call: &Call<'_>,
        trail: Trail,
        error: AwsError,
    ) -> AwsError {
        let event =
            audit::prepared_event(self.api_call(name, call, trail, true, None, Some(&error)));
        let recorded =
            tokio::time::timeout(DURABLE_WAIT, self.plane.audit().record_durably(event)).await;
        match recorded {
            Ok(Err(queue)) => throttled(name.route, queue),
            Ok(Ok(())) | Err(_) => error,
        }
    }

    /// Queues an audit event. A call that cannot be recorded is not served: when the
    /// queue is full (the store is slower than the traffic) the caller is throttled.
    fn record(
        &self,
        name: CallName<'_>,
        event: rampart_store::PreparedAuditEvent,
    ) -> Result<(), AwsError> {
        self.plane
            .audit()
            .record_prepared(event)
            .map_err(|queue| throttled(name.route, queue))
    }

    /// What CloudTrail records of this call, secrets in the output redacted by the model.
    fn api_call<'c>(
        &'c self,
        name: CallName<'c>,
        call: &'c Call<'_>,
        trail: Trail,
        read_only: bool,
        output: Option<&serde_json::Value>,
        error: Option<&'c AwsError>,
    ) -> ApiCall<'c> {
        ApiCall {
            caller: call.caller,
            service: &name.route.service.metadata.endpoint_prefix,
            event_name: name.event_name,
            region: call.region,
            source_ip: call.source_ip,
            user_agent: call.user_agent,
            request_id: self.request_id,
            read_only,
            request_parameters: trail.request_parameters,
            response_elements: output.map(|o| name.route.redact_output(o)),
            error: error.map(|e| (e.code.as_ref(), e.message.as_str())),
            resources: trail.resources,
            time: call.now,
        }
    }
}

/// The longest a failed call's answer waits for its audit event's commit (the store
/// cannot be written meanwhile); a commit takes milliseconds otherwise.
const DURABLE_WAIT: Duration = Duration::from_secs(1);

/// The answer to a call whose audit event could not be queued (the queue is full: the
/// store is slower than the traffic).
fn throttled(route: &Route, error: QueueError) -> AwsError {
    tracing::warn!(%error, "audit event not queued; throttling the call");
    let code = match route.service.protocol() {
        Protocol::Query | Protocol::Ec2 => "Throttling",
        _ => "ThrottlingException",
    };
    AwsError::new(code, "Rate exceeded", 400, true)
}

/// How many times a call runs again after its write lost a race with another write of
/// the same record, each time on the view that includes the other write. Every round of
/// a race lands one of the racing writes, so N concurrent writers of one record need at
/// most N - 1 retries.
const CONFLICT_RETRIES: usize = 16;

/// What a call's CloudTrail event says it asked for and acted on, gathered as the chain
/// goes: the input (redacted) once parsed, the resources once authorized.
#[derive(Clone)]
pub(crate) struct Trail {
    request_parameters: Option<serde_json::Value>,
    resources: Vec<authorize::TrailResource>,
}

impl Trail {
    pub(crate) fn new(request_parameters: Option<serde_json::Value>) -> Trail {
        Trail {
            request_parameters,
            resources: Vec::new(),
        }
    }
}

/// A service's error in the route's protocol, with the status its model gives it.
fn to_aws(route: &Route, error: ServiceError) -> AwsError {
    let protocol = route.service.protocol();
    match error {
        ServiceError::Modeled { code, message } => AwsError::modeled(route.service, &code, message),
        ServiceError::ModeledWithReason {
            code,
            reason,
            message,
        } => AwsError::modeled(route.service, code, message).with_reason(reason),
        ServiceError::Validation(message) => AwsError::validation(protocol, message),
        ServiceError::AccessDenied(message) => AwsError::access_denied(protocol, message),
        ServiceError::InvalidClientTokenId => {
            rampart_protocol::sigv4::AuthError::InvalidClientTokenId.to_aws(protocol)
        }
        ServiceError::NotImplemented { .. } => {
            AwsError::new("NotImplemented", error.to_string(), 501, false)
        }
        ServiceError::Internal(detail) => {
            tracing::error!(%detail, "service failed");
            AwsError::internal()
        }
        _ => AwsError::internal(),
    }
}

fn into_response(response: HttpResponse) -> Response {
    let mut out = Response::new(Body::from(response.body));
    *out.status_mut() = StatusCode::from_u16(response.status).unwrap_or(StatusCode::BAD_REQUEST);
    *out.headers_mut() = response.headers;
    out
}
