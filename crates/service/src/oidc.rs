//! Google-signed OIDC ID tokens: the push subscription's token, or a caller's.
//!
//! A token is accepted when its RS256 signature checks against a key from the JWKS URL,
//! its issuer is Google's, its audience is the configured one (never one taken from the
//! request), it has not expired (with [`LEEWAY_SECS`] for clock skew), and its `email`
//! is verified and on the allow-list. Google signs tokens for any audience a caller
//! asks for, so the allow-list, not the signature, is what says who may call.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use crate::auth::AuthError;

/// Google's signing keys for ID tokens.
pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
/// Google writes either form into `iss`.
pub const GOOGLE_ISSUERS: [&str; 2] = ["accounts.google.com", "https://accounts.google.com"];
/// Clock skew tolerated on `exp` (and `nbf`, `iat` when present).
pub const LEEWAY_SECS: u64 = 30;
/// Keys are fetched again after this long even when every `kid` is known. Google
/// rotates keys over days and publishes new ones well before use.
const KEYS_MAX_AGE: Duration = Duration::from_secs(3600);
/// A token naming an unknown `kid` triggers a fetch at most this often, so a flood of
/// forged tokens cannot turn into a flood of requests to the JWKS URL.
const UNKNOWN_KID_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The `aud` a token must carry.
    pub audience: String,
    /// Emails (service accounts or users) allowed to call; compared exactly.
    pub allowed_emails: Vec<String>,
    pub jwks_url: String,
}

/// Verifies bearer tokens; cheap to share (`Arc`) across requests.
pub struct OidcVerifier {
    validation: Validation,
    allowed: HashSet<String>,
    keys: JwksCache,
}

#[derive(Deserialize)]
struct Claims {
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
}

impl OidcVerifier {
    pub fn new(settings: OidcSettings) -> anyhow::Result<OidcVerifier> {
        anyhow::ensure!(
            !settings.audience.trim().is_empty(),
            "an OIDC audience is required"
        );
        anyhow::ensure!(
            !settings.allowed_emails.is_empty(),
            "at least one allowed email is required: Google signs tokens for anyone"
        );
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[settings.audience.trim()]);
        validation.set_issuer(&GOOGLE_ISSUERS);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = LEEWAY_SECS;
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| anyhow::anyhow!("failed to build the JWKS client: {e}"))?;
        Ok(OidcVerifier {
            validation,
            allowed: settings.allowed_emails.into_iter().collect(),
            keys: JwksCache {
                url: settings.jwks_url,
                client,
                state: RwLock::new(KeyState::default()),
                refresh: Mutex::new(()),
            },
        })
    }

    /// Checks an `Authorization` header value; returns the caller's email.
    pub async fn verify(&self, authorization: Option<&str>) -> Result<String, AuthError> {
        let token = bearer(authorization).ok_or(AuthError::Missing)?;
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid("malformed"))?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Invalid("algorithm is not RS256"));
        }
        let kid = header.kid.ok_or(AuthError::Invalid("no key id"))?;
        let key = self.keys.get(&kid).await?;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation)
            .map_err(|e| AuthError::Invalid(reason(e.kind())))?;
        let email = data
            .claims
            .email
            .filter(|_| data.claims.email_verified)
            .ok_or(AuthError::Invalid("no verified email"))?;
        if self.allowed.contains(&email) {
            Ok(email)
        } else {
            Err(AuthError::Forbidden(email))
        }
    }
}

/// The token in `Bearer <token>` (the scheme is case-insensitive, RFC 9110).
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A short, fixed reason for logs (never the token).
fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "expired",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::ImmatureSignature => "not yet valid",
        ErrorKind::MissingRequiredClaim(_) => "missing claim",
        _ => "invalid",
    }
}

#[derive(Default)]
struct KeyState {
    by_kid: HashMap<String, Arc<DecodingKey>>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

impl KeyState {
    fn fresh(&self) -> bool {
        self.fetched_at.is_some_and(|t| t.elapsed() < KEYS_MAX_AGE)
    }
}

/// The JWKS, fetched on first use, refreshed when old or (rate-limited) when a token
/// names a key it does not hold. Stale keys keep working while a refresh fails.
struct JwksCache {
    url: String,
    client: reqwest::Client,
    state: RwLock<KeyState>,
    /// One fetch at a time; waiters re-check the state once it is their turn.
    refresh: Mutex<()>,
}

impl JwksCache {
    async fn get(&self, kid: &str) -> Result<Arc<DecodingKey>, AuthError> {
        {
            let state = self.state.read().await;
            if let Some(key) = state.by_kid.get(kid).filter(|_| state.fresh()) {
                return Ok(Arc::clone(key));
            }
        }
        let _turn = self.refresh.lock().await;
        let due = {
            let state = self.state.read().await;
            if let Some(key) = state.by_kid.get(kid).filter(|_| state.fresh()) {
                return Ok(Arc::clone(key));
            }
            !state.fresh()
                || state
                    .last_attempt
                    .is_none_or(|t| t.elapsed() >= UNKNOWN_KID_REFRESH_INTERVAL)
        };
        if due {
            self.state.write().await.last_attempt = Some(Instant::now());
            match self.fetch().await {
                Ok(keys) => {
                    let mut state = self.state.write().await;
                    state.by_kid = keys;
                    state.fetched_at = Some(Instant::now());
                }
                Err(err) => tracing::warn!(url = %self.url, error = %err, "JWKS fetch failed"),
            }
        }
        let state = self.state.read().await;
        match state.by_kid.get(kid) {
            Some(key) => Ok(Arc::clone(key)),
            None if state.fetched_at.is_none() => Err(AuthError::KeysUnavailable),
            None => Err(AuthError::Invalid("unknown signing key")),
        }
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, Arc<DecodingKey>>> {
        let set: JwkSet = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| anyhow::anyhow!("failed to fetch the JWKS: {e}"))?
            .json()
            .await
            .map_err(|e| anyhow::anyhow!("failed to read the JWKS: {e}"))?;
        let keys: HashMap<_, _> = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some((kid, Arc::new(key)))
            })
            .collect();
        anyhow::ensure!(!keys.is_empty(), "the JWKS holds no usable key");
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn bearer_takes_the_token_after_a_case_insensitive_scheme() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }
}
