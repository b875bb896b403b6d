//! The SDK's TLS, against moto behind a TLS front whose certificate a test
//! CA signed: with the built-in roots (Amazon's) the front is refused; with
//! the test CA as the bundle (`AWS_CA_BUNDLE`) in their place, it is
//! reached, over TLS.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use integration_tests::{moto, temp_path, tls};
use shared::adapters::aws::{TrustRoots, http_client};

async fn describe(aws: &aws_config::SdkConfig, table: &str) -> Result<(), String> {
    let client = aws_sdk_dynamodb::Client::new(aws);
    client.describe_table().table_name(table).send().await.map(drop).map_err(|e| format!("{}", DisplayErrorContext(&e)))
}

#[tokio::test]
async fn another_ca_is_refused_unless_a_bundle_names_it() {
    let Some(m) = moto::connect().await else { return };
    let dir = temp_path("tls").with_extension("d");
    std::fs::create_dir_all(&dir).unwrap();
    let front = tls::start(m.endpoint.trim_start_matches("http://"), &dir).await;

    let amazon = moto::sdk_config_over(&front.endpoint, http_client(&TrustRoots::amazon())).await;
    let refused = describe(&amazon, &m.table).await.unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    assert_eq!(front.handshakes(), 0, "no handshake completed with a CA that is not trusted");

    let bundle = TrustRoots::from_pem(std::fs::read(&front.ca_file).unwrap()).unwrap();
    let trusted = moto::sdk_config_over(&front.endpoint, http_client(&bundle)).await;
    describe(&trusted, &m.table).await.unwrap();
    assert_eq!(front.handshakes(), 1);
}
