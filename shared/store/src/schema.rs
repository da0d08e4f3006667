//! The table definition, for the local runner and tests. `infra/template.yaml` declares the same
//! table for AWS; a test compares the two.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};

pub const GSIS: [&str; 5] = ["gsi1", "gsi2", "gsi3", "gsi4", "gsi5"];

fn key(name: &str, kt: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder().attribute_name(name).key_type(kt).build().expect("key schema")
}

fn attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build().expect("attr")
}

/// Creates the table (on-demand, stream with new and old images, TTL on `ttl`). An existing table
/// of that name is left as it is, so running it twice is harmless.
pub async fn create_table(client: &Client, table: &str) -> Result<(), String> {
    if client.describe_table().table_name(table).send().await.is_ok() {
        return Ok(());
    }
    let mut defs = vec![attr("pk"), attr("sk")];
    let mut gsis = vec![];
    for g in GSIS {
        defs.push(attr(&format!("{g}pk")));
        defs.push(attr(&format!("{g}sk")));
        gsis.push(
            GlobalSecondaryIndex::builder()
                .index_name(g)
                .key_schema(key(&format!("{g}pk"), KeyType::Hash))
                .key_schema(key(&format!("{g}sk"), KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .set_attribute_definitions(Some(defs))
        .set_global_secondary_indexes(Some(gsis))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("ttl")
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
    Ok(())
}

/// The ARN of the table's stream (the local runner reads it as Lambda's event source would).
pub async fn stream_arn(client: &Client, table: &str) -> Result<String, String> {
    let out = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
    out.table.and_then(|t| t.latest_stream_arn).ok_or_else(|| "table has no stream".to_string())
}
