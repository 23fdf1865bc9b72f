//! KMS through the AWS SDK for Rust against a real `rampart serve`: envelope
//! encryption with a data key, the encryption context bound to the ciphertext, and a
//! signature checked by Verify.

mod common;

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
use common::{credentials, kms, start};

#[tokio::test(flavor = "multi_thread")]
async fn envelope_encryption_and_signatures() {
    let server = start();
    let client = kms(&server, credentials(&server.admin.0, &server.admin.1, None));

    let key = client
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let data_key = client
        .generate_data_key()
        .key_id(&key.key_id)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context("tenant", "blue")
        .send()
        .await
        .unwrap();
    let plaintext = data_key.plaintext.unwrap().into_inner();
    assert_eq!(plaintext.len(), 32);
    let wrapped = data_key.ciphertext_blob.unwrap();

    // The ciphertext names its key, so Decrypt needs no KeyId.
    let unwrapped = client
        .decrypt()
        .ciphertext_blob(wrapped.clone())
        .encryption_context("tenant", "blue")
        .send()
        .await
        .unwrap();
    assert_eq!(unwrapped.plaintext.unwrap().into_inner(), plaintext);
    assert_eq!(unwrapped.key_id.as_deref(), key.arn.as_deref());

    let wrong_context = client
        .decrypt()
        .ciphertext_blob(wrapped)
        .encryption_context("tenant", "red")
        .send()
        .await
        .unwrap_err();
    assert_eq!(wrong_context.code(), Some("InvalidCiphertextException"));

    let signing = client
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let message = Blob::new(b"release v1.0".to_vec());
    let signature = client
        .sign()
        .key_id(&signing.key_id)
        .message(message.clone())
        .message_type(MessageType::Raw)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap()
        .signature
        .unwrap();
    let verified = client
        .verify()
        .key_id(&signing.key_id)
        .message(message)
        .message_type(MessageType::Raw)
        .signature(signature.clone())
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert!(verified.signature_valid);
    let forged = client
        .verify()
        .key_id(&signing.key_id)
        .message(Blob::new(b"release v6.6".to_vec()))
        .message_type(MessageType::Raw)
        .signature(signature)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Some("KMSInvalidSignatureException"));
}
