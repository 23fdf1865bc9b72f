//! Automatic key rotation: the sweep that rotates the keys whose next rotation date has
//! passed, and the task that runs it on every replica.
//!
//! A key is rotated as AWS KMS rotates it: only while it is `Enabled` (a disabled key or
//! one pending deletion is not rotated; enabled again, a key whose date passed meanwhile
//! is rotated at the next sweep), with new `AUTOMATIC` material that new ciphertexts use
//! while older ones still decrypt with theirs, and its next rotation date moves on by its
//! rotation period. Each rotation is one commit: the key record, at the version the view
//! read it at, with a CloudTrail `RotateKey` service event.
//!
//! Several replicas on one store all sweep. The first commit for a key wins; the others
//! conflict on the version and skip the key (their view then follows the feed to the
//! rotated record, which is no longer due), so a key is rotated once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_store::{Batch, Expect, StoreError};
use serde_json::json;
use tokio::time::MissedTickBehavior;

use super::keys::{self, DAY, DEFAULT_ROTATION_PERIOD_DAYS};
use super::put_key;
use crate::audit::{ServiceEvent, service_event};
use crate::control_plane::{ControlPlane, PlaneError};
use crate::error::ServiceError;
use crate::records::KmsKey;
use crate::view::View;
use crate::view::kms::KeyEntry;

/// How often each replica sweeps.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Why a sweep stopped before it went through every due key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// The rotated key could not be built (new material, its record).
    #[error("rotating {key_arn}: {source}")]
    Rotate {
        key_arn: String,
        source: ServiceError,
    },
    /// The rotation could not be committed for another reason than a conflict.
    #[error(transparent)]
    Commit(#[from] PlaneError),
}

/// Rotates every key due at `now`, one commit each, and returns the ARNs of the keys
/// it rotated. A key that changed since the view read it (another replica rotated it,
/// or a call wrote it) is skipped: the next sweep sees it as it is now.
pub async fn rotate_due_keys(
    plane: &ControlPlane,
    now: DateTime<Utc>,
) -> Result<Vec<String>, SweepError> {
    let due = due_keys(&plane.view(), now.timestamp());
    let mut rotated = Vec::new();
    for (key, version) in due {
        let key_arn = crate::view::kms::key_arn(&key.region, &key.account_id, &key.key_id);
        let batch =
            rotation(plane, key, version, &key_arn, now).map_err(|source| SweepError::Rotate {
                key_arn: key_arn.clone(),
                source,
            })?;
        match plane.commit(batch).await {
            Ok(()) => rotated.push(key_arn),
            Err(PlaneError::Store(StoreError::Conflict { .. })) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(rotated)
}

/// Rotates due keys every [`SWEEP_INTERVAL`], from start-up (keys that came due while
/// no replica ran are rotated at once) until the process ends.
pub fn spawn_sweeper(plane: &Arc<ControlPlane>) -> tokio::task::JoinHandle<()> {
    let plane = Arc::clone(plane);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match rotate_due_keys(&plane, Utc::now()).await {
                Ok(rotated) => {
                    for key in rotated {
                        tracing::info!(%key, "rotated the key material on schedule");
                    }
                }
                Err(error) => tracing::warn!(%error, "automatic key rotation sweep failed"),
            }
        }
    })
}

/// The keys due at `now`, as the view holds them, with their records' versions.
fn due_keys(view: &View, now: i64) -> Vec<(KmsKey, i64)> {
    view.kms
        .keys
        .values()
        .filter(|entry| is_due(entry, now))
        .filter_map(|entry| {
            let version = view.version(crate::records::KMS_KEY, &entry.key.key_id)?;
            Some((entry.key.clone(), version))
        })
        .collect()
}

/// Whether automatic rotation is enabled, its date has passed, and the key may rotate
/// now (symmetric, AWS_KMS material, `Enabled`).
fn is_due(entry: &KeyEntry, now: i64) -> bool {
    entry.key.rotation_enabled
        && entry.key.next_rotation.is_some_and(|date| date <= now)
        && keys::check_rotatable(entry, now).is_ok()
}

/// The commit that rotates `key` (read at `version`) at `now`: the record with new
/// AUTOMATIC material and its next date, and the `RotateKey` event.
fn rotation(
    plane: &ControlPlane,
    mut key: KmsKey,
    version: i64,
    key_arn: &str,
    now: DateTime<Utc>,
) -> Result<Batch, ServiceError> {
    keys::add_rotated_material(plane, now.timestamp(), &mut key, "AUTOMATIC")?;
    let period = key
        .rotation_period_days
        .unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS);
    key.next_rotation = key
        .next_rotation
        .map(|due| next_rotation(due, period, now.timestamp()));
    let event = service_event(ServiceEvent {
        account_id: &key.account_id,
        service: "kms",
        event_name: "RotateKey",
        region: &key.region,
        resources: vec![("AWS::KMS::Key".to_owned(), key_arn.to_owned())],
        details: json!({"keyId": key.key_id, "rotationType": "AUTOMATIC"}),
        time: now,
    });
    Ok(Batch {
        mutations: vec![put_key(&key, Expect::Version(version))?],
        audit: vec![event],
    })
}

/// The rotation date after `due`, rotated at `now`: one period later, or, for a key that
/// missed whole periods (disabled meanwhile), one period after `now`, as AWS rotates
/// such a key at once and every period thereafter.
fn next_rotation(due: i64, period_days: i64, now: i64) -> i64 {
    let next = due + period_days * DAY;
    if next > now {
        next
    } else {
        now + period_days * DAY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{Call, Outcome};
    use crate::caller::Caller;
    use crate::control_plane::Settings;
    use crate::kms::crypto::Envelope;
    use rampart_store::{AuditQuery, LookupAttribute, MasterKey, StoredAuditEvent};
    use serde_json::Value;

    const ACCOUNT: &str = "111122223333";
    const REGION: &str = "us-east-1";
    /// When the tests' keys are created and their rotation enabled.
    const START: i64 = 1_700_000_000;
    const PERIOD_DAYS: i64 = 90;
    const DUE: i64 = START + PERIOD_DAYS * DAY;

    /// A SQLite file that replicas open, as `rampart serve` processes open one store.
    struct Store {
        dir: tempfile::TempDir,
    }

    impl Store {
        fn new() -> Store {
            Store {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        /// A replica over the store, its view loaded from what the store holds now.
        async fn replica(&self) -> Arc<ControlPlane> {
            let url = format!("sqlite://{}", self.dir.path().join("rampart.db").display());
            let store = rampart_store::open(&url).await.unwrap();
            let settings = Settings {
                dev: false,
                default_account_id: ACCOUNT.to_owned(),
                regions: vec![REGION.to_owned()],
            };
            ControlPlane::open(store, MasterKey::from_bytes(&[7; 32]), settings)
                .await
                .unwrap()
        }
    }

    fn time(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    /// Runs a KMS operation as the account's root at `now`, without committing it.
    async fn handle(
        plane: &ControlPlane,
        operation: &str,
        input: Value,
        now: i64,
    ) -> Result<Outcome, ServiceError> {
        let caller = Caller::root(ACCOUNT, None);
        let call = Call {
            plane,
            caller: &caller,
            region: REGION,
            source_ip: "192.0.2.1",
            user_agent: "rotation-test",
            now: time(now),
        };
        crate::kms::handle(operation, &call, input).await
    }

    /// Runs a KMS operation at `now` and commits what it changes; returns its output.
    async fn kms(plane: &ControlPlane, operation: &str, input: Value, now: i64) -> Value {
        let outcome = handle(plane, operation, input, now).await.unwrap();
        if !outcome.mutations.is_empty() {
            let batch = Batch {
                mutations: outcome.mutations,
                audit: Vec::new(),
            };
            plane.commit(batch).await.unwrap();
        }
        outcome.output
    }

    /// A symmetric key created at [`START`] with rotation every [`PERIOD_DAYS`]; its ARN.
    async fn rotating_key(plane: &ControlPlane) -> String {
        let created = kms(plane, "CreateKey", json!({}), START).await;
        let arn = created["KeyMetadata"]["Arn"].as_str().unwrap().to_owned();
        let input = json!({"KeyId": arn, "RotationPeriodInDays": PERIOD_DAYS});
        kms(plane, "EnableKeyRotation", input, START).await;
        arn
    }

    /// Two replicas whose views both hold a [`rotating_key`] (the second loaded after
    /// the key was made, and never following the feed); the key's ARN.
    async fn two_replicas_and_a_key(
        store: &Store,
    ) -> (Arc<ControlPlane>, Arc<ControlPlane>, String) {
        let first = store.replica().await;
        let arn = rotating_key(&first).await;
        let second = store.replica().await;
        (first, second, arn)
    }

    async fn encrypt(plane: &ControlPlane, arn: &str, plaintext: &str, now: i64) -> String {
        let input = json!({"KeyId": arn, "Plaintext": crate::kms::b64(plaintext.as_bytes())});
        let out = kms(plane, "Encrypt", input, now).await;
        out["CiphertextBlob"].as_str().unwrap().to_owned()
    }

    /// The material version a ciphertext names in its header.
    fn material_version(ciphertext: &str) -> u32 {
        let blob = crate::kms::unb64(ciphertext).unwrap();
        Envelope::parse(&blob).unwrap().material
    }

    async fn rotations(plane: &ControlPlane, arn: &str, now: i64) -> Vec<Value> {
        let out = kms(plane, "ListKeyRotations", json!({"KeyId": arn}), now).await;
        out["Rotations"].as_array().unwrap().clone()
    }

    /// The key's material versions as the store holds them (read by a fresh replica).
    async fn stored_materials(store: &Store, arn: &str) -> usize {
        let plane = store.replica().await;
        let view = plane.view();
        view.kms.key_by_arn(arn).unwrap().key.materials.len()
    }

    async fn rotate_key_events(plane: &ControlPlane) -> Vec<StoredAuditEvent> {
        let mut query = AuditQuery::new(ACCOUNT);
        query.lookup = Some((LookupAttribute::EventName, "RotateKey".to_owned()));
        plane.store().lookup_audit(query).await.unwrap().events
    }

    #[tokio::test]
    async fn a_due_key_gets_automatic_material_and_its_next_date_moves_on() {
        let store = Store::new();
        let plane = store.replica().await;
        let arn = rotating_key(&plane).await;
        let first_material = kms(&plane, "DescribeKey", json!({"KeyId": arn}), START).await
            ["KeyMetadata"]["CurrentKeyMaterialId"]
            .clone();
        let before = encrypt(&plane, &arn, "written before the rotation", START).await;
        assert_eq!(material_version(&before), 0);

        let early = rotate_due_keys(&plane, time(DUE - 1)).await.unwrap();
        assert!(early.is_empty(), "not due a second early: {early:?}");

        let now = DUE + 30;
        let rotated = rotate_due_keys(&plane, time(now)).await.unwrap();
        assert_eq!(rotated, vec![arn.clone()]);

        let listed = rotations(&plane, &arn, now).await;
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0]["RotationType"], "AUTOMATIC");
        assert_eq!(listed[0]["RotationDate"], now);
        let new_material = listed[0]["KeyMaterialId"].clone();
        assert_ne!(new_material, first_material);
        let status = kms(&plane, "GetKeyRotationStatus", json!({"KeyId": arn}), now).await;
        assert_eq!(status["NextRotationDate"], DUE + PERIOD_DAYS * DAY);
        assert_eq!(status["RotationPeriodInDays"], PERIOD_DAYS);

        let old = kms(&plane, "Decrypt", json!({"CiphertextBlob": before}), now).await;
        assert_eq!(
            crate::kms::unb64(old["Plaintext"].as_str().unwrap()).unwrap(),
            b"written before the rotation"
        );
        assert_eq!(old["KeyMaterialId"], first_material);
        let after = encrypt(&plane, &arn, "written after", now).await;
        assert_eq!(material_version(&after), 1);
        let new = kms(&plane, "Decrypt", json!({"CiphertextBlob": after}), now).await;
        assert_eq!(new["KeyMaterialId"], new_material);

        let events = rotate_key_events(&plane).await;
        assert_eq!(events.len(), 1);
        let event = &events[0].event;
        assert_eq!(
            event.resources,
            vec![("AWS::KMS::Key".to_owned(), arn.clone())]
        );
        assert!(!event.read_only);
        assert_eq!(event.event_time, time(now));
        let r = &event.record;
        assert_eq!(r["eventSource"], "kms.amazonaws.com");
        assert_eq!(r["eventType"], "AwsServiceEvent");
        assert_eq!(r["userIdentity"]["invokedBy"], "AWS Internal");
        assert_eq!(r["userIdentity"]["accountId"], ACCOUNT);
        assert_eq!(r["readOnly"], false);
        assert_eq!(r["resources"][0]["ARN"], arn.as_str());
        assert_eq!(r["serviceEventDetails"]["rotationType"], "AUTOMATIC");
    }

    #[tokio::test]
    async fn a_second_sweep_at_the_same_time_does_nothing() {
        let store = Store::new();
        let plane = store.replica().await;
        let arn = rotating_key(&plane).await;
        assert_eq!(rotate_due_keys(&plane, time(DUE)).await.unwrap().len(), 1);
        let again = rotate_due_keys(&plane, time(DUE)).await.unwrap();
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(rotations(&plane, &arn, DUE).await.len(), 1);
        assert_eq!(rotate_key_events(&plane).await.len(), 1);
        assert_eq!(stored_materials(&store, &arn).await, 2);
    }

    #[tokio::test]
    async fn disabled_and_pending_deletion_keys_wait_until_enabled_again() {
        let store = Store::new();
        let plane = store.replica().await;
        let enabled = rotating_key(&plane).await;
        let disabled = rotating_key(&plane).await;
        let deleting = rotating_key(&plane).await;
        kms(&plane, "DisableKey", json!({"KeyId": disabled}), START).await;
        let schedule = json!({"KeyId": deleting, "PendingWindowInDays": 30});
        kms(&plane, "ScheduleKeyDeletion", schedule, DUE - 1).await;

        let now = DUE + DAY;
        let rotated = rotate_due_keys(&plane, time(now)).await.unwrap();
        assert_eq!(rotated, vec![enabled.clone()]);
        kms(&plane, "CancelKeyDeletion", json!({"KeyId": deleting}), now).await;
        let rotated = rotate_due_keys(&plane, time(now)).await.unwrap();
        assert!(
            rotated.is_empty(),
            "a canceled deletion leaves the key Disabled"
        );
        assert!(rotations(&plane, &deleting, now).await.is_empty());
        assert_eq!(stored_materials(&store, &deleting).await, 1);

        // Two periods and a day after the date: the disabled key missed two rotations.
        let now = DUE + 2 * PERIOD_DAYS * DAY + DAY;
        let rotated = rotate_due_keys(&plane, time(now)).await.unwrap();
        assert_eq!(rotated, vec![enabled.clone()], "due again a period on");
        assert!(rotations(&plane, &disabled, now).await.is_empty());
        kms(&plane, "EnableKey", json!({"KeyId": disabled}), now).await;
        let rotated = rotate_due_keys(&plane, time(now)).await.unwrap();
        assert_eq!(rotated, vec![disabled.clone()]);
        let status = kms(
            &plane,
            "GetKeyRotationStatus",
            json!({"KeyId": disabled}),
            now,
        )
        .await;
        assert_eq!(
            status["NextRotationDate"],
            now + PERIOD_DAYS * DAY,
            "a key that missed periods rotates at once, then every period"
        );
        assert_eq!(rotations(&plane, &disabled, now).await.len(), 1);
    }

    #[tokio::test]
    async fn replicas_sweeping_at_once_rotate_a_key_once() {
        let store = Store::new();
        let (first, second, arn) = two_replicas_and_a_key(&store).await;
        let (a, b) = tokio::join!(
            rotate_due_keys(&first, time(DUE)),
            rotate_due_keys(&second, time(DUE))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.len() + b.len(), 1, "first {a:?}, second {b:?}");
        assert_eq!(stored_materials(&store, &arn).await, 2);
        assert_eq!(rotate_key_events(&first).await.len(), 1);
    }

    #[tokio::test]
    async fn a_stale_view_neither_rotates_again_nor_drops_the_new_material() {
        let store = Store::new();
        let (first, stale, arn) = two_replicas_and_a_key(&store).await;
        // The second replica does not see this rotation: its view is stale.
        assert_eq!(rotate_due_keys(&first, time(DUE)).await.unwrap().len(), 1);

        let skipped = rotate_due_keys(&stale, time(DUE + 60)).await.unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        let input = json!({"KeyId": arn, "Description": "written from the stale view"});
        let write = handle(&stale, "UpdateKeyDescription", input, DUE + 60)
            .await
            .unwrap();
        let committed = stale
            .commit(Batch {
                mutations: write.mutations,
                audit: Vec::new(),
            })
            .await;
        assert!(
            matches!(
                committed,
                Err(PlaneError::Store(StoreError::Conflict { .. }))
            ),
            "{committed:?}"
        );
        assert_eq!(stored_materials(&store, &arn).await, 2);
        assert_eq!(rotate_key_events(&first).await.len(), 1);
    }

    #[test]
    fn the_next_date_keeps_the_schedule_unless_periods_were_missed() {
        let period = 100;
        assert_eq!(next_rotation(1_000, period, 1_060), 1_000 + period * DAY);
        let late = 1_000 + 3 * period * DAY;
        assert_eq!(next_rotation(1_000, period, late), late + period * DAY);
    }
}
