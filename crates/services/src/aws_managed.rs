//! The AWS-managed policies rampart ships (`arn:aws:iam::aws:policy/...`), with the
//! documents AWS publishes for them, compiled once.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use rampart_policy::{CompiledPolicy, PolicyType};

/// `(name, document)` of every AWS-managed policy rampart knows.
const DOCUMENTS: &[(&str, &str)] = &[(
    "AdministratorAccess",
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
)];

/// The ARN prefix of AWS-managed policies.
const ARN_PREFIX: &str = "arn:aws:iam::aws:policy/";

static COMPILED: LazyLock<HashMap<String, Arc<CompiledPolicy>>> = LazyLock::new(|| {
    DOCUMENTS
        .iter()
        .map(|(name, document)| {
            let arn = format!("{ARN_PREFIX}{name}");
            let policy = CompiledPolicy::parse(document, PolicyType::Identity, arn.as_str())
                .unwrap_or_else(|e| panic!("AWS-managed policy {name} does not parse: {e}"));
            (arn, Arc::new(policy))
        })
        .collect()
});

/// The compiled AWS-managed policy with this ARN.
pub fn policy(arn: &str) -> Option<Arc<CompiledPolicy>> {
    COMPILED.get(arn).cloned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_shipped_document_compiles() {
        for (name, _) in super::DOCUMENTS {
            assert!(super::policy(&format!("arn:aws:iam::aws:policy/{name}")).is_some());
        }
        assert!(super::policy("arn:aws:iam::aws:policy/NoSuchPolicy").is_none());
    }
}
