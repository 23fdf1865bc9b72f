//! `rampart policy …`: the command-line front end of the policy engine.
//!
//! - `rampart policy validate FILE [--type identity|resource|trust|boundary|scp|rcp]`
//!   prints Access Analyzer-style findings, one a line, and exits 1 on any ERROR.
//! - `rampart policy eval REQUEST.json [--json]` prints the decision and why.
//!
//! This module only reads files and prints; parsing, validation and evaluation are
//! `rampart_policy`'s (REQUEST.json is parsed by `rampart_policy::request`).

use anyhow::Context as _;
use rampart_policy::request::{EvalRequest, decision_json};
use rampart_policy::{DecisionKind, FindingType, PolicyType, validate};
use std::path::PathBuf;
use std::process::ExitCode;

/// `--type`: identity, resource, trust, boundary, session, scp, rcp or endpoint.
fn policy_type(s: &str) -> Result<PolicyType, String> {
    PolicyType::from_name(s).ok_or_else(|| {
        format!("unknown policy type {s:?}: use identity, resource, trust, boundary, session, scp, rcp or endpoint")
    })
}

#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
    /// Check a policy document: AWS's MalformedPolicyDocument errors and Access
    /// Analyzer-style findings, one a line. Exits 1 on any ERROR.
    Validate {
        /// The policy document (JSON).
        file: PathBuf,
        /// What the document is used as.
        #[arg(long = "type", default_value = "identity", value_parser = policy_type)]
        policy_type: PolicyType,
    },
    /// Decide a request (REQUEST.json, see docs/policy.md) and explain the decision.
    Eval {
        /// The request with its policies (JSON).
        request: PathBuf,
        /// Print `{"decision", "decidedBy", "matchedStatements"}` as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn read(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Runs a `rampart policy` subcommand.
pub fn run(cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCommand::Validate { file, policy_type } => {
            let text = read(&file)?;
            let findings = validate(&text, policy_type);
            for f in &findings {
                println!("{f}");
            }
            let error = findings
                .iter()
                .any(|f| f.finding_type == FindingType::Error);
            Ok(if error {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        PolicyCommand::Eval { request, json } => {
            let text = read(&request)?;
            let req = EvalRequest::from_json(&text)
                .with_context(|| format!("invalid request in {}", request.display()))?;
            let d = req.evaluate();
            if json {
                println!("{}", decision_json(&d));
                return Ok(ExitCode::SUCCESS);
            }
            println!("{} (decided by {})", d.kind.name(), d.decided_by.name());
            for m in &d.matched {
                let effect = match m.effect() {
                    rampart_policy::Effect::Allow => "Allow",
                    rampart_policy::Effect::Deny => "Deny",
                };
                match m.sid() {
                    Some(sid) => println!(
                        "  {effect}: {} Statement[{}] (Sid {sid})",
                        m.policy_id(),
                        m.statement_index()
                    ),
                    None => println!(
                        "  {effect}: {} Statement[{}]",
                        m.policy_id(),
                        m.statement_index()
                    ),
                }
            }
            if d.kind != DecisionKind::Allow {
                let who = if req.principal.arn.is_empty() {
                    "anonymous"
                } else {
                    &req.principal.arn
                };
                println!(
                    "  {}",
                    d.access_denied_message(who, &req.action, &req.resource.arn)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
