//! Who may call: middleware for OIDC bearer tokens and hashed API keys.
//!
//! Missing or bad credentials are answered 401 with `WWW-Authenticate`; a valid
//! credential for a principal not on the allow-list, 403. Neither reaches the handler,
//! so nothing is written or read. Tokens and keys are never logged.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::oidc::OidcVerifier;
use crate::problem::Problem;

/// The header that carries an API key. Not `Authorization`: behind Cloud Run IAM
/// that header holds the caller's Google ID token.
pub const API_KEY_HEADER: &str = "x-api-key";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials")]
    Missing,
    #[error("credentials rejected: {0}")]
    Invalid(&'static str),
    /// A valid credential for a principal not on the allow-list.
    #[error("{0} is not allowed")]
    Forbidden(String),
    /// The signing keys could not be fetched, so no token can be checked; the caller
    /// may try again (Pub/Sub redelivers).
    #[error("signing keys unavailable")]
    KeysUnavailable,
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        match self {
            AuthError::Missing | AuthError::Invalid(_) => {
                let (challenge, detail) = match &self {
                    AuthError::Missing => ("Bearer", "credentials are required"),
                    _ => (
                        "Bearer error=\"invalid_token\"",
                        "the credentials were rejected",
                    ),
                };
                let mut response = Problem::new(StatusCode::UNAUTHORIZED, "Unauthorized")
                    .detail(detail)
                    .into_response();
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
                response
            }
            AuthError::Forbidden(_) => Problem::new(StatusCode::FORBIDDEN, "Forbidden")
                .detail("this principal may not call this endpoint")
                .into_response(),
            AuthError::KeysUnavailable => {
                Problem::unavailable("credentials cannot be checked right now").into_response()
            }
        }
    }
}

/// Logs a refusal at a level that matches whose mistake it is: a caller's at debug, a
/// principal that authenticated but is not allowed at info (often a missing entry in
/// configuration), and our own failure to fetch keys at warn.
fn log_refusal(service: &'static str, err: &AuthError) {
    match err {
        AuthError::Missing | AuthError::Invalid(_) => {
            tracing::debug!(service, error = %err, "request not authenticated");
        }
        AuthError::Forbidden(principal) => {
            tracing::info!(service, principal = %principal, "principal not allowed");
        }
        AuthError::KeysUnavailable => {
            tracing::warn!(service, "cannot check tokens: signing keys unavailable");
        }
    }
}

/// SHA-256 digests of the API keys allowed to call; the keys themselves are never
/// configured or held.
#[derive(Clone)]
pub struct ApiKeys {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} digests)", self.digests.len())
    }
}

impl ApiKeys {
    /// Parses hex SHA-256 digests (`sha256sum` output, 64 hex digits each).
    pub fn from_hex<S: AsRef<str>>(hashes: &[S]) -> anyhow::Result<ApiKeys> {
        let digests = hashes
            .iter()
            .map(|h| parse_digest(h.as_ref().trim()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!digests.is_empty(), "at least one API key hash is required");
        Ok(ApiKeys { digests })
    }

    /// True when `key` hashes to one of the digests. Every digest is compared, each in
    /// constant time, so timing says nothing about which digest came close.
    pub fn check(&self, key: &str) -> bool {
        let digest = Sha256::digest(key.as_bytes());
        self.digests.iter().fold(0u8, |found, d| {
            found | d.ct_eq(digest.as_slice()).unwrap_u8()
        }) == 1
    }
}

fn parse_digest(hex: &str) -> anyhow::Result<[u8; 32]> {
    anyhow::ensure!(
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "an API key hash must be 64 hex digits (SHA-256)"
    );
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
    }
    Ok(out)
}

/// How a service decides who may call a route.
#[derive(Clone)]
pub enum Access {
    /// Anyone who can reach the port (local use, or Cloud Run IAM alone).
    Open,
    /// A Google-signed ID token in `Authorization: Bearer`.
    Oidc(Arc<OidcVerifier>),
    /// A key in `X-API-Key` whose SHA-256 is configured.
    ApiKey(ApiKeys),
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Access::Open => "Open",
            Access::Oidc(_) => "Oidc",
            Access::ApiKey(_) => "ApiKey",
        })
    }
}

impl Access {
    pub fn is_open(&self) -> bool {
        matches!(self, Access::Open)
    }

    /// Takes the headers, not the request: a request body is not `Sync`, and this
    /// future must be `Send`.
    async fn check(&self, headers: &HeaderMap) -> Result<(), AuthError> {
        let value = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        match self {
            Access::Open => Ok(()),
            Access::Oidc(verifier) => verifier
                .verify(value(header::AUTHORIZATION.as_str()))
                .await
                .map(drop),
            Access::ApiKey(keys) => match value(API_KEY_HEADER) {
                None => Err(AuthError::Missing),
                Some(key) if keys.check(key) => Ok(()),
                Some(_) => Err(AuthError::Invalid("unknown API key")),
            },
        }
    }
}

/// Middleware: answers 401/403 before the handler unless `access` lets the caller in.
pub async fn require(
    State((service, access)): State<(&'static str, Access)>,
    request: Request,
    next: Next,
) -> Response {
    match access.check(request.headers()).await {
        Ok(()) => next.run(request).await,
        Err(err) => {
            log_refusal(service, &err);
            err.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST_OF_SECRET: &str =
        "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

    #[test]
    fn an_api_key_matches_only_its_own_digest() {
        let keys = ApiKeys::from_hex(&[DIGEST_OF_SECRET]).unwrap();
        assert!(keys.check("secret"));
        assert!(!keys.check("Secret"));
        assert!(!keys.check(""));
    }

    #[test]
    fn api_key_digests_must_be_sha256_hex() {
        assert!(ApiKeys::from_hex(&["abc"]).is_err());
        assert!(ApiKeys::from_hex::<&str>(&[]).is_err());
        assert!(ApiKeys::from_hex(&[DIGEST_OF_SECRET.to_uppercase()]).is_ok());
    }
}
