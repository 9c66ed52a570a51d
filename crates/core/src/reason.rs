//! Stable reason codes for rejected messages.
//!
//! A code is part of the dead-letter record and of metric labels, so codes are only
//! ever added, never renamed. `docs/reason-codes.md` lists them for operators.

use std::fmt;

/// Why a message can never be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonCode {
    /// `message.data` is not valid base64 (standard or URL-safe, padded or not).
    InvalidBase64,
    /// The message has no data (attributes only).
    MissingData,
    /// The data is not UTF-8 JSON.
    InvalidJson,
    /// The JSON nests deeper than the configured limit.
    TooDeep,
    /// The data is JSON, but not an object.
    NotAnObject,
    /// The same key appears twice in one object.
    DuplicateField,
    /// A key that the schema does not define (and the table rejects unknown fields).
    UnknownField,
    /// A REQUIRED field is absent or null.
    MissingRequiredField,
    /// The JSON type cannot hold the column's type (a string for BOOL, say).
    TypeMismatch,
    /// A number outside the column type's range.
    OutOfRange,
    /// More fractional digits than the type keeps; storing it would round.
    PrecisionLoss,
    /// A value of the right JSON type that does not parse (a bad date, a lone surrogate).
    InvalidValue,
    /// A null element inside a REPEATED field.
    NullInArray,
    /// The store refused this one row of a batch (BigQuery row-level error).
    RejectedByStore,
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 14] = [
        ReasonCode::InvalidBase64,
        ReasonCode::MissingData,
        ReasonCode::InvalidJson,
        ReasonCode::TooDeep,
        ReasonCode::NotAnObject,
        ReasonCode::DuplicateField,
        ReasonCode::UnknownField,
        ReasonCode::MissingRequiredField,
        ReasonCode::TypeMismatch,
        ReasonCode::OutOfRange,
        ReasonCode::PrecisionLoss,
        ReasonCode::InvalidValue,
        ReasonCode::NullInArray,
        ReasonCode::RejectedByStore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::InvalidBase64 => "invalid_base64",
            ReasonCode::MissingData => "missing_data",
            ReasonCode::InvalidJson => "invalid_json",
            ReasonCode::TooDeep => "too_deep",
            ReasonCode::NotAnObject => "not_an_object",
            ReasonCode::DuplicateField => "duplicate_field",
            ReasonCode::UnknownField => "unknown_field",
            ReasonCode::MissingRequiredField => "missing_required_field",
            ReasonCode::TypeMismatch => "type_mismatch",
            ReasonCode::OutOfRange => "out_of_range",
            ReasonCode::PrecisionLoss => "precision_loss",
            ReasonCode::InvalidValue => "invalid_value",
            ReasonCode::NullInArray => "null_in_array",
            ReasonCode::RejectedByStore => "rejected_by_store",
        }
    }

    pub fn parse(code: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message that can never succeed: the code, the field it concerns, and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: ReasonCode,
    /// Dotted path of the offending field (`crew[2].name`), when there is one.
    pub field: Option<String>,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: ReasonCode, detail: impl Into<String>) -> Self {
        Rejection {
            reason,
            field: None,
            detail: detail.into(),
        }
    }

    pub fn at(reason: ReasonCode, field: &str, detail: impl Into<String>) -> Self {
        Rejection {
            reason,
            field: Some(field.to_owned()),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} at `{}`: {}", self.reason, field, self.detail),
            None => write!(f, "{}: {}", self.reason, self.detail),
        }
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_back_and_codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ReasonCode::ALL {
            assert_eq!(ReasonCode::parse(code.as_str()), Some(code));
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
        }
    }
}
