//! Exact parsing and formatting of BigQuery's date, time and decimal literals.
//!
//! Every parser here is strict about form and range and never rounds: a value with more
//! fractional digits than its type keeps is refused with
//! [`ReasonCode::PrecisionLoss`], unless the caller asks for truncation (Pub/Sub's
//! `publishTime` carries nanoseconds; the table keeps microseconds).

use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Timelike, Utc};

use crate::reason::ReasonCode;

/// A parse failure: the reason code and a sentence for the dead-letter record.
pub type ParseError = (ReasonCode, String);

fn invalid(detail: String) -> ParseError {
    (ReasonCode::InvalidValue, detail)
}

/// Where the fractional seconds start in `s` (after the `.`) and how many digits follow.
fn fraction(s: &str, from: usize) -> Option<(usize, usize)> {
    let dot = from + s.get(from..)?.find('.')?;
    let digits = s[dot + 1..].bytes().take_while(u8::is_ascii_digit).count();
    Some((dot + 1, digits))
}

/// Refuses more than six fractional digits, or drops them when `truncate` is set.
fn micro_precision<'a>(s: &'a str, from: usize, truncate: bool) -> Result<Cow<'a>, ParseError> {
    match fraction(s, from) {
        Some((start, digits)) if digits > 6 => {
            if truncate {
                let mut owned = String::with_capacity(s.len());
                owned.push_str(&s[..start + 6]);
                owned.push_str(&s[start + digits..]);
                Ok(Cow::Owned(owned))
            } else {
                Err((
                    ReasonCode::PrecisionLoss,
                    format!("`{s}` has {digits} fractional digits; the column keeps 6"),
                ))
            }
        }
        _ => Ok(Cow::Borrowed(s)),
    }
}

type Cow<'a> = std::borrow::Cow<'a, str>;

fn check_year(year: i32, s: &str) -> Result<(), ParseError> {
    if (1..=9999).contains(&year) {
        Ok(())
    } else {
        Err((
            ReasonCode::OutOfRange,
            format!("`{s}` is outside years 0001 to 9999"),
        ))
    }
}

/// `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, ParseError> {
    let bytes = s.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(invalid(format!(
            "`{s}` is not a date of the form YYYY-MM-DD"
        )));
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| invalid(format!("`{s}` is not a valid date: {e}")))?;
    check_year(chrono::Datelike::year(&date), s)?;
    Ok(date)
}

/// `HH:MM:SS[.ffffff]`.
pub fn parse_time(s: &str) -> Result<NaiveTime, ParseError> {
    let s = micro_precision(s, 0, false)?;
    let bytes = s.as_bytes();
    if bytes.len() < 8 || bytes[2] != b':' || bytes[5] != b':' {
        return Err(invalid(format!(
            "`{s}` is not a time of the form HH:MM:SS[.ffffff]"
        )));
    }
    let time = NaiveTime::parse_from_str(&s, "%H:%M:%S%.f")
        .map_err(|e| invalid(format!("`{s}` is not a valid time: {e}")))?;
    if time.nanosecond() >= 1_000_000_000 {
        return Err(invalid(format!(
            "`{s}` is a leap second, which BigQuery does not keep"
        )));
    }
    Ok(time)
}

/// Splits `YYYY-MM-DD[T ]HH:MM:SS[.f]` off the front of `s`, returning it (with the
/// separator made `T`) and the rest.
fn split_civil(s: &str) -> Result<(String, &str), ParseError> {
    let bytes = s.as_bytes();
    let ok = bytes.len() >= 19 && matches!(bytes[10], b'T' | b't' | b' ') && s.is_char_boundary(19);
    if !ok {
        return Err(invalid(format!(
            "`{s}` is not of the form YYYY-MM-DDTHH:MM:SS[.ffffff]"
        )));
    }
    let frac_digits = match bytes.get(19) {
        Some(b'.') => {
            1 + bytes[20..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        }
        _ => 0,
    };
    let end = 19 + frac_digits;
    let civil = format!("{}T{}", &s[..10], &s[11..end]);
    Ok((civil, &s[end..]))
}

fn parse_civil(civil: &str, original: &str) -> Result<NaiveDateTime, ParseError> {
    let dt = NaiveDateTime::parse_from_str(civil, "%Y-%m-%dT%H:%M:%S%.f")
        .map_err(|e| invalid(format!("`{original}` is not a valid date and time: {e}")))?;
    if dt.nanosecond() >= 1_000_000_000 {
        return Err(invalid(format!(
            "`{original}` is a leap second, which BigQuery does not keep"
        )));
    }
    check_year(chrono::Datelike::year(&dt), original)?;
    Ok(dt)
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.ffffff]`, a civil time with no zone.
pub fn parse_datetime(s: &str) -> Result<NaiveDateTime, ParseError> {
    let checked = micro_precision(s, 19, false)?;
    let (civil, rest) = split_civil(&checked)?;
    if !rest.is_empty() {
        return Err(invalid(format!(
            "`{s}` carries a zone; DATETIME is a wall-clock time without one"
        )));
    }
    parse_civil(&civil, s)
}

/// An RFC 3339 timestamp (`T` or a space between date and time), with `Z`, ` UTC`, a
/// `±HH:MM` offset, or no zone (read as UTC, as BigQuery does). Returns microseconds
/// since the Unix epoch.
pub fn parse_timestamp(s: &str, truncate: bool) -> Result<i64, ParseError> {
    let checked = micro_precision(s, 19, truncate)?;
    let (civil, zone) = split_civil(&checked)?;
    let dt = parse_civil(&civil, s)?;

    let offset_secs: i64 = match zone {
        "" | "Z" | "z" | " UTC" | "UTC" => 0,
        _ => parse_offset(zone).ok_or_else(|| {
            invalid(format!(
                "`{s}` has a zone `{zone}` that is not Z, UTC or ±HH:MM"
            ))
        })?,
    };
    let micros = dt.and_utc().timestamp_micros() - offset_secs * 1_000_000;
    let year = chrono::Datelike::year(&timestamp_to_datetime(micros));
    check_year(year, s)?;
    Ok(micros)
}

fn parse_offset(zone: &str) -> Option<i64> {
    let (sign, rest) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let (h, m) = match rest.len() {
        2 => (rest, "00"),
        4 => (&rest[..2], &rest[2..]),
        5 if rest.as_bytes()[2] == b':' => (&rest[..2], &rest[3..]),
        _ => return None,
    };
    let all_digits = h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit());
    if !all_digits {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

fn timestamp_to_datetime(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `2017-01-01T23:30:00.000000Z`: always six digits, so that text order is time order.
pub fn format_timestamp(micros: i64) -> String {
    timestamp_to_datetime(micros).to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `23:30:00`, with `.ffffff` only when there is a fraction.
pub fn format_time(t: &NaiveTime) -> String {
    if t.nanosecond() == 0 {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%H:%M:%S%.6f").to_string()
    }
}

/// `2017-01-01T23:30:00`, with `.ffffff` only when there is a fraction.
pub fn format_datetime(dt: &NaiveDateTime) -> String {
    if dt.nanosecond() == 0 {
        dt.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        dt.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// Limits of BigQuery's decimal types.
#[derive(Debug, Clone, Copy)]
pub struct DecimalKind {
    pub name: &'static str,
    pub max_integer_digits: i64,
    pub max_scale: i64,
}

pub const NUMERIC: DecimalKind = DecimalKind {
    name: "NUMERIC",
    max_integer_digits: 29,
    max_scale: 9,
};
/// BIGNUMERIC holds 76.76 digits; this accepts 38 integer digits and 38 fractional
/// digits, which is everything except the top sliver of its range.
pub const BIGNUMERIC: DecimalKind = DecimalKind {
    name: "BIGNUMERIC",
    max_integer_digits: 38,
    max_scale: 38,
};

/// Parses a decimal literal exactly (never through f64) and checks it fits `kind`.
/// The result is normalised: `12.50` and `12.5` are the same value.
pub fn parse_decimal(s: &str, kind: DecimalKind) -> Result<BigDecimal, ParseError> {
    // A long literal can only be out of range or too precise; refusing it before
    // parsing keeps hostile input (a million digits, `1e999999999`) cheap.
    let well_formed = !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && s.bytes().any(|b| b.is_ascii_digit());
    if !well_formed {
        return Err(invalid(format!("`{s}` is not a {} literal", kind.name)));
    }
    let value = BigDecimal::from_str(s)
        .map_err(|e| invalid(format!("`{s}` is not a {} literal: {e}", kind.name)))?
        .normalized();

    let (mantissa, scale) = value.as_bigint_and_exponent();
    if scale > kind.max_scale {
        return Err((
            ReasonCode::PrecisionLoss,
            format!("`{s}` has more than {} fractional digits", kind.max_scale),
        ));
    }
    let digits = if mantissa == 0.into() {
        1
    } else {
        mantissa.to_string().trim_start_matches('-').len() as i128
    };
    // In i128: an exponent near i64::MIN (`1e9223372036854775807`) makes the scale so
    // negative that `digits - scale` would overflow i64 and wrap into range.
    if digits - i128::from(scale) > i128::from(kind.max_integer_digits) {
        return Err((
            ReasonCode::OutOfRange,
            format!(
                "`{s}` has more than {} integer digits",
                kind.max_integer_digits
            ),
        ));
    }
    Ok(value)
}

/// The canonical text of a decimal: plain notation, no trailing zeros.
pub fn format_decimal(d: &BigDecimal) -> String {
    let text = d.normalized().to_plain_string();
    if text == "-0" { "0".to_owned() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanoseconds_are_truncated_only_when_asked() {
        let s = "2021-02-26T19:13:55.749123456Z";
        let micros = parse_timestamp(s, true).unwrap();
        assert_eq!(format_timestamp(micros), "2021-02-26T19:13:55.749123Z");
        assert_eq!(
            parse_timestamp(s, false).unwrap_err().0,
            ReasonCode::PrecisionLoss
        );
    }

    #[test]
    fn timestamp_zones_and_separators() {
        let utc = parse_timestamp("2017-01-01T23:30:00Z", false).unwrap();
        assert_eq!(
            parse_timestamp("2017-01-01 23:30:00 UTC", false).unwrap(),
            utc
        );
        assert_eq!(parse_timestamp("2017-01-01 23:30:00", false).unwrap(), utc);
        assert_eq!(
            parse_timestamp("2017-01-01T20:30:00-03:00", false).unwrap(),
            utc
        );
        assert!(parse_timestamp("2017-01-01T23:30:00+25:00", false).is_err());
        assert!(parse_timestamp("2017-01-01", false).is_err());
        assert!(parse_timestamp("2017-13-01T00:00:00Z", false).is_err());
    }

    #[test]
    fn datetime_keeps_wall_clock_and_refuses_zones() {
        let dt = parse_datetime("2017-01-01 23:30:00").unwrap();
        assert_eq!(format_datetime(&dt), "2017-01-01T23:30:00");
        let frac = parse_datetime("2017-01-01T23:30:00.5").unwrap();
        assert_eq!(format_datetime(&frac), "2017-01-01T23:30:00.500000");
        assert!(parse_datetime("2017-01-01T23:30:00Z").is_err());
        assert_eq!(
            parse_datetime("2017-01-01T23:30:00.1234567").unwrap_err().0,
            ReasonCode::PrecisionLoss
        );
    }

    #[test]
    fn dates_and_times_are_strict() {
        assert!(parse_date("2017-02-29").is_err());
        assert!(parse_date("2017-2-1").is_err());
        assert_eq!(
            parse_date("0000-01-01").unwrap_err().0,
            ReasonCode::OutOfRange
        );
        assert_eq!(
            format_time(&parse_time("23:59:59.000001").unwrap()),
            "23:59:59.000001"
        );
        assert!(parse_time("23:59:60").is_err());
        assert!(parse_time("24:00:00").is_err());
    }

    #[test]
    fn decimals_are_exact_and_bounded() {
        let d = parse_decimal("1255139.628052805", NUMERIC).unwrap();
        assert_eq!(format_decimal(&d), "1255139.628052805");
        assert_eq!(
            format_decimal(&parse_decimal("12.50", NUMERIC).unwrap()),
            "12.5"
        );
        assert_eq!(
            format_decimal(&parse_decimal("1e2", NUMERIC).unwrap()),
            "100"
        );
        assert_eq!(
            format_decimal(&parse_decimal("-0.0", NUMERIC).unwrap()),
            "0"
        );
        let max = "99999999999999999999999999999.999999999";
        assert_eq!(format_decimal(&parse_decimal(max, NUMERIC).unwrap()), max);
        let too_big = "100000000000000000000000000000";
        assert_eq!(
            parse_decimal(too_big, NUMERIC).unwrap_err().0,
            ReasonCode::OutOfRange
        );
        assert_eq!(
            parse_decimal("0.0000000001", NUMERIC).unwrap_err().0,
            ReasonCode::PrecisionLoss
        );
        assert!(parse_decimal("0.0000000001", BIGNUMERIC).is_ok());
        assert!(parse_decimal("1e999999999", NUMERIC).is_err());
        for huge in [
            "1e9223372036854775807",
            "-1e9223372036854775807",
            "9e9223372036854775806",
        ] {
            assert_eq!(
                parse_decimal(huge, BIGNUMERIC).unwrap_err().0,
                ReasonCode::OutOfRange
            );
        }
        assert!(parse_decimal("1e-9223372036854775808", BIGNUMERIC).is_err());
        assert!(parse_decimal(" 1", NUMERIC).is_err());
        assert!(parse_decimal("NaN", NUMERIC).is_err());
    }
}
