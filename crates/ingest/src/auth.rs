//! Who may push: the OIDC token Pub/Sub attaches to each push request.
//!
//! The subscription's push config names a service account and an audience; Pub/Sub
//! signs an ID token for that account with that audience. We check it against the
//! audience and allow-list configured here (see `docs/security.md`).

use std::sync::Arc;

use anyhow::Context;
use clap::ValueEnum;
use pipeline_service::auth::Access;
use pipeline_service::oidc::{GOOGLE_JWKS_URL, OidcSettings, OidcVerifier};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PushAuthMode {
    /// Every push must carry a valid Google OIDC token from an allowed account.
    Oidc,
    /// No check: anyone who reaches the port can write. Local use only.
    Off,
}

#[derive(Debug, Clone, clap::Args)]
pub struct PushAuthArgs {
    /// `oidc` or `off` [default: `oidc` for `ingest`, `off` for `pipeline up`].
    #[arg(long, env = "PIPELINE_PUSH_AUTH", value_enum)]
    pub push_auth: Option<PushAuthMode>,

    /// The audience the push subscription puts in its tokens (required with `oidc`).
    #[arg(long, env = "PIPELINE_PUSH_AUDIENCE")]
    pub push_audience: Option<String>,

    /// Service-account emails allowed to push, comma-separated.
    #[arg(
        long,
        env = "PIPELINE_PUSH_ALLOWED_SERVICE_ACCOUNTS",
        value_delimiter = ','
    )]
    pub push_allowed_service_accounts: Vec<String>,

    /// Where the token signing keys are published.
    #[arg(long, env = "PIPELINE_PUSH_JWKS_URL", default_value = GOOGLE_JWKS_URL)]
    pub push_jwks_url: String,
}

impl PushAuthArgs {
    /// The access rule for `/pubsub/push`; fails at start-up, not on the first push,
    /// when `oidc` lacks its audience or allow-list.
    pub fn access(&self, default: PushAuthMode) -> anyhow::Result<Access> {
        match self.push_auth.unwrap_or(default) {
            PushAuthMode::Off => Ok(Access::Open),
            PushAuthMode::Oidc => {
                let audience = self.push_audience.clone().unwrap_or_default();
                let allowed: Vec<String> = self
                    .push_allowed_service_accounts
                    .iter()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                let verifier = OidcVerifier::new(OidcSettings {
                    audience,
                    allowed_emails: allowed,
                    jwks_url: self.push_jwks_url.clone(),
                })
                .context(
                    "PIPELINE_PUSH_AUTH=oidc needs PIPELINE_PUSH_AUDIENCE and \
                     PIPELINE_PUSH_ALLOWED_SERVICE_ACCOUNTS (or set PIPELINE_PUSH_AUTH=off)",
                )?;
                Ok(Access::Oidc(Arc::new(verifier)))
            }
        }
    }
}
