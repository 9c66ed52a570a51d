//! Validation, case by case: every supported type, exactly.

use pipeline_core::reason::ReasonCode;
use pipeline_core::schema::{TableSchema, parse_fields};
use pipeline_core::validate::{UnknownFields, ValidateOptions, parse_wire, validate};
use pipeline_core::value::Value;
use pipeline_core::wire::WireValue;

const METADATA: &str = include_str!("../../../schemas/metadata.json");
const DEAD_LETTER: &str = include_str!("../../../schemas/dead_letter.json");

fn table(payload: &str) -> TableSchema {
    let metadata = parse_fields(METADATA, "metadata").unwrap();
    let dead_letter = parse_fields(DEAD_LETTER, "dead_letter").unwrap();
    TableSchema::new(
        "t",
        metadata,
        parse_fields(payload, "t").unwrap(),
        dead_letter,
    )
    .unwrap()
}

fn all_types() -> TableSchema {
    table(
        r#"[
        {"name":"s","type":"STRING"},{"name":"b","type":"BYTES"},
        {"name":"i","type":"INT64"},{"name":"f","type":"FLOAT64"},
        {"name":"n","type":"NUMERIC"},{"name":"bn","type":"BIGNUMERIC"},
        {"name":"ok","type":"BOOL"},{"name":"ts","type":"TIMESTAMP"},
        {"name":"d","type":"DATE"},{"name":"t","type":"TIME"},
        {"name":"dt","type":"DATETIME"},{"name":"j","type":"JSON"},
        {"name":"r","type":"RECORD","fields":[
            {"name":"x","type":"INT64","mode":"REQUIRED"},
            {"name":"tags","type":"STRING","mode":"REPEATED"}]},
        {"name":"tags","type":"STRING","mode":"REPEATED"},
        {"name":"req","type":"INT64","mode":"REQUIRED"}
    ]"#,
    )
}

fn check(json: &str) -> Result<Vec<Value>, (ReasonCode, Option<String>)> {
    validate(&all_types(), json.as_bytes(), &ValidateOptions::default())
        .map(|row| row.values)
        .map_err(|r| (r.reason, r.field))
}

fn value(json: &str, column: &str) -> Value {
    let schema = all_types();
    let index = schema
        .payload()
        .iter()
        .position(|f| f.name == column)
        .unwrap();
    check(json).unwrap().swap_remove(index)
}

fn reason(json: &str) -> (ReasonCode, Option<String>) {
    check(json).expect_err("expected a rejection")
}

fn field(name: &str) -> Option<String> {
    Some(name.to_owned())
}

#[test]
fn int64_is_exact_at_both_ends_and_refuses_overflow() {
    let max = r#"{"req":9223372036854775807}"#;
    assert_eq!(value(max, "req"), Value::Int64(i64::MAX));
    assert_eq!(
        value(r#"{"req":-9223372036854775808}"#, "req"),
        Value::Int64(i64::MIN)
    );
    assert_eq!(value(r#"{"req":"42"}"#, "req"), Value::Int64(42));
    assert_eq!(
        reason(r#"{"req":18446744073709551616}"#),
        (ReasonCode::OutOfRange, field("req"))
    );
    assert_eq!(
        reason(r#"{"req":1.5}"#),
        (ReasonCode::TypeMismatch, field("req"))
    );
    assert_eq!(
        reason(r#"{"req":1e3}"#),
        (ReasonCode::TypeMismatch, field("req"))
    );
    assert_eq!(
        reason(r#"{"req":true}"#),
        (ReasonCode::TypeMismatch, field("req"))
    );
    assert_eq!(
        reason(r#"{"req":"12abc"}"#),
        (ReasonCode::InvalidValue, field("req"))
    );
}

#[test]
fn numeric_keeps_every_digit() {
    let v = value(r#"{"req":1,"n":1255139.628052805}"#, "n");
    let Value::Decimal(d) = v else {
        panic!("not a decimal: {v:?}")
    };
    assert_eq!(d.to_string(), "1255139.628052805");
    let v = value(r#"{"req":1,"n":"12.50"}"#, "n");
    assert_eq!(v, value(r#"{"req":1,"n":12.5}"#, "n"));
    assert_eq!(
        reason(r#"{"req":1,"n":0.0000000001}"#),
        (ReasonCode::PrecisionLoss, field("n"))
    );
    let big = r#"{"req":1,"bn":"123456789012345678901234567890.12345678901234567890"}"#;
    assert!(matches!(value(big, "bn"), Value::Decimal(_)));
}

#[test]
fn float64_accepts_numbers_and_the_special_strings() {
    assert_eq!(value(r#"{"req":1,"f":0.1}"#, "f"), Value::Float64(0.1));
    assert!(matches!(value(r#"{"req":1,"f":"NaN"}"#, "f"), Value::Float64(x) if x.is_nan()));
    assert_eq!(
        value(r#"{"req":1,"f":"-Infinity"}"#, "f"),
        Value::Float64(f64::NEG_INFINITY)
    );
    assert_eq!(
        reason(r#"{"req":1,"f":1e400}"#),
        (ReasonCode::OutOfRange, field("f"))
    );
    assert_eq!(
        reason(r#"{"req":1,"f":"inf"}"#),
        (ReasonCode::InvalidValue, field("f"))
    );
}

#[test]
fn strings_round_trip_emoji_and_refuse_lone_surrogates() {
    assert_eq!(
        value(r#"{"req":1,"s":"vuelo ✈️ 🛫"}"#, "s"),
        Value::String("vuelo ✈️ 🛫".into())
    );
    assert_eq!(
        value(r#"{"req":1,"s":"\ud83d\ude00"}"#, "s"),
        Value::String("😀".into())
    );
    assert_eq!(
        reason(r#"{"req":1,"s":"\ud83d"}"#),
        (ReasonCode::InvalidValue, field("s"))
    );
    assert_eq!(
        reason(r#"{"req":1,"s":12}"#),
        (ReasonCode::TypeMismatch, field("s"))
    );
}

#[test]
fn temporal_types_are_exact() {
    let ts = value(r#"{"req":1,"ts":"2017-01-01T23:30:00.123456Z"}"#, "ts");
    assert_eq!(ts, Value::Timestamp(1_483_313_400_123_456));
    assert_eq!(
        reason(r#"{"req":1,"ts":"2017-01-01T23:30:00.1234567Z"}"#),
        (ReasonCode::PrecisionLoss, field("ts"))
    );
    assert!(matches!(
        value(r#"{"req":1,"d":"2017-12-31"}"#, "d"),
        Value::Date(_)
    ));
    assert!(matches!(
        value(r#"{"req":1,"t":"23:59:59.5"}"#, "t"),
        Value::Time(_)
    ));
    assert!(matches!(
        value(r#"{"req":1,"dt":"2017-01-01 23:30:00"}"#, "dt"),
        Value::DateTime(_)
    ));
    assert_eq!(
        reason(r#"{"req":1,"d":"2017-02-30"}"#),
        (ReasonCode::InvalidValue, field("d"))
    );
    assert_eq!(
        reason(r#"{"req":1,"ts":12345}"#),
        (ReasonCode::TypeMismatch, field("ts"))
    );
}

#[test]
fn bytes_bool_and_json() {
    assert_eq!(
        value(r#"{"req":1,"b":"aGk="}"#, "b"),
        Value::Bytes(b"hi".to_vec())
    );
    assert_eq!(
        reason(r#"{"req":1,"b":"%%%"}"#),
        (ReasonCode::InvalidValue, field("b"))
    );
    assert_eq!(value(r#"{"req":1,"ok":false}"#, "ok"), Value::Bool(false));
    assert_eq!(
        reason(r#"{"req":1,"ok":1}"#),
        (ReasonCode::TypeMismatch, field("ok"))
    );
    let j = value(r#"{"req":1,"j":{"a":[1,{"b":18446744073709551616}]}}"#, "j");
    assert_eq!(
        j,
        Value::Json(r#"{"a":[1,{"b":18446744073709551616}]}"#.into())
    );
}

#[test]
fn required_is_enforced() {
    assert_eq!(
        reason(r#"{}"#),
        (ReasonCode::MissingRequiredField, field("req"))
    );
    assert_eq!(
        reason(r#"{"req":null}"#),
        (ReasonCode::MissingRequiredField, field("req"))
    );
    let nested = r#"{"req":1,"r":{"tags":["a"]}}"#;
    assert_eq!(
        reason(nested),
        (ReasonCode::MissingRequiredField, field("r.x"))
    );
}

#[test]
fn repeated_absent_null_and_empty_are_the_same_empty_array() {
    let empty = Value::Array(vec![]);
    assert_eq!(value(r#"{"req":1}"#, "tags"), empty);
    assert_eq!(value(r#"{"req":1,"tags":null}"#, "tags"), empty);
    assert_eq!(value(r#"{"req":1,"tags":[]}"#, "tags"), empty);
    assert_eq!(
        reason(r#"{"req":1,"tags":["a",null]}"#),
        (ReasonCode::NullInArray, field("tags[1]"))
    );
    assert_eq!(
        reason(r#"{"req":1,"tags":"a"}"#),
        (ReasonCode::TypeMismatch, field("tags"))
    );
}

#[test]
fn unknown_fields_are_rejected_by_default_and_dropped_when_configured() {
    assert_eq!(
        reason(r#"{"req":1,"extra":2}"#),
        (ReasonCode::UnknownField, field("extra"))
    );
    assert_eq!(
        reason(r#"{"req":1,"r":{"x":1,"y":2}}"#),
        (ReasonCode::UnknownField, field("r.y"))
    );
    let opts = ValidateOptions {
        unknown_fields: UnknownFields::Drop,
        ..Default::default()
    };
    let row = validate(
        &all_types(),
        br#"{"req":1,"extra":2,"r":{"x":1,"y":2}}"#,
        &opts,
    )
    .unwrap();
    assert_eq!(row.dropped_fields, 2);
}

#[test]
fn malformed_documents_have_their_own_reasons() {
    assert_eq!(reason("not json"), (ReasonCode::InvalidJson, None));
    assert_eq!(reason("[1,2]"), (ReasonCode::NotAnObject, None));
    assert_eq!(reason("\"text\""), (ReasonCode::NotAnObject, None));
    assert_eq!(
        reason(r#"{"req":1,"req":2}"#),
        (ReasonCode::DuplicateField, field("req"))
    );
    assert_eq!(check("").unwrap_err().0, ReasonCode::MissingData);
    let bad_utf8 = validate(
        &all_types(),
        b"{\"s\":\"\xff\"}",
        &ValidateOptions::default(),
    );
    assert_eq!(bad_utf8.unwrap_err().reason, ReasonCode::InvalidJson);
}

#[test]
fn deep_nesting_is_refused_without_recursion() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let doc = format!(r#"{{"req":1,"j":{deep}}}"#);
    assert_eq!(reason(&doc), (ReasonCode::TooDeep, None));
    // Brackets inside strings do not count.
    let text = format!(r#"{{"req":1,"s":"{}"}}"#, "[".repeat(1000));
    assert!(check(&text).is_ok());
}

#[test]
fn wire_encoding_round_trips_through_validation() {
    let doc = r#"{"req":9223372036854775807,"s":"é","b":"aGk=","f":-0.5,"n":"1.5",
        "bn":"-7","ok":true,"ts":"2017-01-01T23:30:00.000001Z","d":"2017-01-01",
        "t":"01:02:03","dt":"2017-01-01T23:30:00","j":{"k":[1,2]},
        "r":{"x":"5","tags":["a","b"]},"tags":["z"]}"#;
    let schema = all_types();
    let values = check(doc).unwrap();
    for (field, v) in schema.payload().iter().zip(&values) {
        let text = serde_json::to_string(&WireValue::new(v, field)).unwrap();
        assert_eq!(
            &parse_wire(field, &text).unwrap(),
            v,
            "column {}",
            field.name
        );
    }
    let req = schema.payload().iter().find(|f| f.name == "req").unwrap();
    let text = serde_json::to_string(&WireValue::new(&values[14], req)).unwrap();
    assert_eq!(text, "\"9223372036854775807\"");
}
