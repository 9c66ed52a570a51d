//! A pulled message to the pipeline's one [`Message`] type, so nothing downstream
//! knows whether it was pushed or pulled.

use pipeline_core::push::{Data, Message, PushError};

/// Converts a message from streaming pull. Pulled data arrives as raw bytes (the
/// client decodes the base64 of the wire format), so it is never undecodable here.
pub fn to_message(
    pulled: google_cloud_pubsub::model::Message,
    delivery_attempt: Option<i32>,
    subscription: &str,
) -> Result<Message, PushError> {
    if pulled.message_id.is_empty() {
        return Err(PushError::MissingId);
    }
    let time = pulled.publish_time.ok_or(PushError::MissingPublishTime)?;
    // Microseconds, truncating Pub/Sub's nanoseconds as the push decoder does.
    let publish_time = time
        .seconds()
        .checked_mul(1_000_000)
        .and_then(|us| us.checked_add(i64::from(time.nanos()) / 1_000))
        .ok_or_else(|| PushError::BadPublishTime(format!("{}s", time.seconds())))?;
    Ok(Message {
        id: pulled.message_id,
        publish_time,
        attributes: pulled.attributes.into_iter().collect(),
        ordering_key: Some(pulled.ordering_key).filter(|k| !k.is_empty()),
        delivery_attempt: delivery_attempt.and_then(|a| u32::try_from(a).ok()),
        subscription: Some(subscription.to_owned()),
        data: Data::Bytes(pulled.data.to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use google_cloud_pubsub::model::Message as Pulled;

    fn pulled() -> Pulled {
        Pulled::new()
            .set_data("{\"id\":1}")
            .set_message_id("m-1")
            .set_attributes([("origin", "test")])
            .set_publish_time(google_cloud_wkt::Timestamp::new(1_796_378_400, 123_456_789).unwrap())
    }

    #[test]
    fn a_pulled_message_keeps_its_id_time_attributes_and_bytes() {
        let m = to_message(pulled(), Some(3), "projects/p/subscriptions/sub").unwrap();
        assert_eq!(m.id, "m-1");
        assert_eq!(m.publish_time, 1_796_378_400_123_456);
        assert_eq!(m.attributes["origin"], "test");
        assert_eq!(m.delivery_attempt, Some(3));
        assert_eq!(m.ordering_key, None);
        assert_eq!(m.data, Data::Bytes(b"{\"id\":1}".to_vec()));
    }

    #[test]
    fn a_message_without_id_or_time_is_refused() {
        let no_id = pulled().set_message_id("");
        assert_eq!(to_message(no_id, None, "s"), Err(PushError::MissingId));
        let mut no_time = pulled();
        no_time.publish_time = None;
        assert_eq!(
            to_message(no_time, None, "s"),
            Err(PushError::MissingPublishTime)
        );
    }
}
