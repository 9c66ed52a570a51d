//! Random and hostile input through push decoding and row validation: nothing panics,
//! and every input ends as a message, a decode error, or a rejection with a reason code.
//!
//! CI runs proptest's default 256 cases per property. A longer run (docs/security.md):
//! `PROPTEST_CASES=100000 cargo test --release -p pipeline-core --test hostile`

use base64::Engine;
use pipeline_core::push::{Data, decode_unwrapped, decode_wrapped};
use pipeline_core::schema::{TableSchema, parse_fields};
use pipeline_core::validate::{ValidateOptions, validate};
use proptest::prelude::*;
use serde_json::{Value, json};

const METADATA: &str = include_str!("../../../schemas/metadata.json");
const DEAD_LETTER: &str = include_str!("../../../schemas/dead_letter.json");
const FLIGHTS: &str = include_str!("../../../schemas/flights.json");
const EXAMPLE: &str = include_str!("../../../schemas/example_table.json");

fn table(payload: &str) -> TableSchema {
    TableSchema::new(
        "t",
        parse_fields(METADATA, "metadata").unwrap(),
        parse_fields(payload, "t").unwrap(),
        parse_fields(DEAD_LETTER, "dead_letter").unwrap(),
    )
    .unwrap()
}

/// Arbitrary JSON, nested up to a few levels, with the awkward scalars included.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,24}".prop_map(Value::from),
        Just(json!("9223372036854775808")),
        Just(json!("1e400")),
        Just(json!("2017-01-01T00:00:00Z")),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A row-shaped object: the table's own column names with arbitrary values.
fn row_for(columns: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(columns), json_value()), 0..12).prop_map(|pairs| {
        Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    })
}

const FLIGHT_COLUMNS: &[&str] = &[
    "scheduled_departure",
    "scheduled_flight_number",
    "scheduled_origin",
    "scheduled_destination",
    "scheduled_airline",
    "actual_departure",
    "actual_flight_number",
    "actual_origin",
    "actual_destination",
    "actual_airline",
    "operation_day",
    "operation_month",
    "operation_year",
    "operation_weekday",
    "flight_type",
    "operator",
    "origin_city",
    "destination_city",
];

proptest! {
    #[test]
    fn wrapped_decoding_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_wrapped(&body);
    }

    #[test]
    fn wrapped_decoding_never_panics_on_json(value in json_value()) {
        let _ = decode_wrapped(value.to_string().as_bytes());
    }

    #[test]
    fn a_mutated_envelope_decodes_or_is_refused(
        id in prop::option::of("\\PC{0,40}"),
        time in prop::option::of("\\PC{0,40}"),
        data in prop::option::of("\\PC{0,64}"),
        attributes in json_value(),
    ) {
        let mut message = json!({ "attributes": attributes });
        if let Some(id) = id { message["messageId"] = json!(id); }
        if let Some(time) = time { message["publishTime"] = json!(time); }
        if let Some(data) = data { message["data"] = json!(data); }
        let body = json!({ "message": message, "subscription": "s" }).to_string();
        if let Ok(decoded) = decode_wrapped(body.as_bytes()) {
            prop_assert!(!decoded.id.is_empty());
        }
    }

    #[test]
    fn unwrapped_decoding_never_panics(
        headers in prop::collection::vec(("[a-z-]{1,24}", "\\PC{0,40}"), 0..10),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let pairs = headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let _ = decode_unwrapped(pairs, body);
    }

    #[test]
    fn validation_never_panics_on_bytes(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let schema = table(EXAMPLE);
        let _ = validate(&schema, &data, &ValidateOptions::default());
    }

    #[test]
    fn validation_of_flight_shaped_rows_ends_in_a_row_or_a_reason(row in row_for(FLIGHT_COLUMNS)) {
        let schema = table(FLIGHTS);
        match validate(&schema, row.to_string().as_bytes(), &ValidateOptions::default()) {
            Ok(valid) => prop_assert_eq!(valid.values.len(), schema.payload().len()),
            Err(rejection) => prop_assert!(!rejection.reason.as_str().is_empty()),
        }
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowed(depth in 65usize..20_000) {
        let schema = table(EXAMPLE);
        let data = format!(r#"{{"name": {}{}}}"#, "[".repeat(depth), "]".repeat(depth));
        let rejection = validate(&schema, data.as_bytes(), &ValidateOptions::default())
            .expect_err("deeper than the limit");
        prop_assert_eq!(rejection.reason.as_str(), "too_deep");
    }

    #[test]
    fn base64_data_round_trips_through_the_envelope(
        data in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
        let body = json!({
            "message": {"messageId": "m", "publishTime": "2026-12-04T10:00:00Z", "data": b64},
            "subscription": "s",
        });
        let message = decode_wrapped(body.to_string().as_bytes()).unwrap();
        match message.data {
            Data::Bytes(bytes) => prop_assert_eq!(bytes, data),
            Data::Undecodable(_) => prop_assert!(false, "valid base64 was refused"),
        }
    }
}
