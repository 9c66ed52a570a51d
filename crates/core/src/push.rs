//! Pub/Sub push requests, wrapped or unwrapped, to one [`Message`].
//!
//! A request that is not a push request at all (no message, no id, an unreadable publish
//! time) is a [`PushError`], answered 400: Pub/Sub never sends one, so it is a caller's
//! mistake and nothing is stored. Data that does not decode is *not* an error here: the
//! message is real and is dead-lettered with [`Data::Undecodable`].

use std::collections::BTreeMap;

use serde::Deserialize;
use thiserror::Error;

use crate::temporal::parse_timestamp;
use crate::validate::decode_base64;

/// One Pub/Sub message, however it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    /// Microseconds since the Unix epoch (Pub/Sub's nanoseconds are truncated).
    pub publish_time: i64,
    pub attributes: BTreeMap<String, String>,
    pub ordering_key: Option<String>,
    /// Pub/Sub fills this only when the subscription has a dead-letter policy.
    pub delivery_attempt: Option<u32>,
    pub subscription: Option<String>,
    pub data: Data,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Bytes(Vec<u8>),
    /// `message.data` was not base64; the text is kept for the dead-letter record.
    Undecodable(String),
}

impl Data {
    /// The bytes a dead-letter record keeps: the data, or the text that did not decode.
    pub fn raw(&self) -> &[u8] {
        match self {
            Data::Bytes(b) => b,
            Data::Undecodable(s) => s.as_bytes(),
        }
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum PushError {
    #[error("the body is not a Pub/Sub push envelope: {0}")]
    NotAnEnvelope(String),
    #[error("the push envelope has no `message`")]
    MissingMessage,
    #[error("the message has no id (`messageId`, or the x-goog-pubsub-message-id header)")]
    MissingId,
    #[error("the message has no publish time")]
    MissingPublishTime,
    #[error("the publish time `{0}` is not an RFC 3339 timestamp")]
    BadPublishTime(String),
}

#[derive(Deserialize)]
struct Envelope {
    message: Option<WrappedMessage>,
    subscription: Option<String>,
    #[serde(rename = "deliveryAttempt")]
    delivery_attempt: Option<u32>,
    #[serde(rename = "delivery_attempt")]
    delivery_attempt_snake: Option<u32>,
}

// Pub/Sub sends both spellings of the id and publish time; either may be present.
#[derive(Deserialize)]
struct WrappedMessage {
    data: Option<String>,
    attributes: Option<BTreeMap<String, String>>,
    #[serde(rename = "messageId")]
    message_id_camel: Option<String>,
    message_id: Option<String>,
    #[serde(rename = "publishTime")]
    publish_time_camel: Option<String>,
    publish_time: Option<String>,
    #[serde(rename = "orderingKey")]
    ordering_key: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn publish_time(text: Option<String>) -> Result<i64, PushError> {
    let text = non_empty(text).ok_or(PushError::MissingPublishTime)?;
    parse_timestamp(&text, true).map_err(|_| PushError::BadPublishTime(text))
}

/// Decodes a wrapped push body (`{"message": {...}, "subscription": ...}`).
pub fn decode_wrapped(body: &[u8]) -> Result<Message, PushError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| PushError::NotAnEnvelope(e.to_string()))?;
    let message = envelope.message.ok_or(PushError::MissingMessage)?;

    let id = non_empty(message.message_id_camel)
        .or(non_empty(message.message_id))
        .ok_or(PushError::MissingId)?;
    let publish_time = publish_time(message.publish_time_camel.or(message.publish_time))?;
    let data = match message.data {
        None => Data::Bytes(Vec::new()),
        Some(text) => match decode_base64(&text) {
            Some(bytes) => Data::Bytes(bytes),
            None => Data::Undecodable(text),
        },
    };

    Ok(Message {
        id,
        publish_time,
        attributes: message.attributes.unwrap_or_default(),
        ordering_key: non_empty(message.ordering_key),
        delivery_attempt: envelope
            .delivery_attempt
            .or(envelope.delivery_attempt_snake),
        subscription: non_empty(envelope.subscription),
        data,
    })
}

const HEADER_ID: &str = "x-goog-pubsub-message-id";
const HEADER_PUBLISH_TIME: &str = "x-goog-pubsub-publish-time";
const HEADER_SUBSCRIPTION: &str = "x-goog-pubsub-subscription-name";
const HEADER_ORDERING_KEY: &str = "x-goog-pubsub-ordering-key";
const HEADER_DELIVERY_ATTEMPT: &str = "x-goog-pubsub-delivery-attempt";

/// Headers that HTTP, Cloud Run, load balancers or tracing add; in an unwrapped push
/// every other header is a message attribute. HTTP folds header names to lower case, so
/// attribute names arrive lower-cased in this mode (the wrapped form keeps their case).
fn is_transport_header(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "accept",
        "accept-encoding",
        "accept-language",
        "authorization",
        "cache-control",
        "connection",
        "content-encoding",
        "content-length",
        "content-type",
        "cookie",
        "expect",
        "forwarded",
        "from",
        "host",
        "keep-alive",
        "origin",
        "pragma",
        "referer",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "via",
        "traceparent",
        "tracestate",
        "baggage",
    ];
    const PREFIXES: &[&str] = &[
        "x-forwarded-",
        "x-cloud-",
        "x-goog-",
        "x-envoy-",
        "x-real-ip",
        "cf-",
    ];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Whether a request is an unwrapped push (metadata in headers, raw data in the body).
pub fn is_unwrapped<'a>(mut header_names: impl Iterator<Item = &'a str>) -> bool {
    header_names.any(|n| n.eq_ignore_ascii_case(HEADER_ID))
}

/// Decodes an unwrapped push: `headers` are (lower-case name, value) pairs.
pub fn decode_unwrapped<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: Vec<u8>,
) -> Result<Message, PushError> {
    let (mut id, mut time, mut subscription, mut ordering_key, mut attempt) =
        (None, None, None, None, None);
    let mut attributes = BTreeMap::new();
    for (name, value) in headers {
        let owned = Some(value.to_owned());
        match name {
            HEADER_ID => id = owned,
            HEADER_PUBLISH_TIME => time = owned,
            HEADER_SUBSCRIPTION => subscription = owned,
            HEADER_ORDERING_KEY => ordering_key = owned,
            HEADER_DELIVERY_ATTEMPT => attempt = value.parse().ok(),
            _ if is_transport_header(name) => {}
            _ => {
                attributes.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    Ok(Message {
        id: non_empty(id).ok_or(PushError::MissingId)?,
        publish_time: publish_time(time)?,
        attributes,
        ordering_key: non_empty(ordering_key),
        delivery_attempt: attempt,
        subscription: non_empty(subscription),
        data: Data::Bytes(body),
    })
}
