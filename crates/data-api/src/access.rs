//! Who may read `/data`: nobody checked (local, or Cloud Run IAM alone), Google ID
//! tokens for allowed principals, or API keys configured as SHA-256 digests.
//! `docs/security.md` says how these combine with Cloud Run IAM.

use std::sync::Arc;

use anyhow::Context;
use clap::ValueEnum;
use pipeline_service::auth::{Access, ApiKeys};
use pipeline_service::oidc::{GOOGLE_JWKS_URL, OidcSettings, OidcVerifier};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataAuthMode {
    /// No check in the service.
    None,
    /// `Authorization: Bearer <Google ID token>` with the configured audience.
    Google,
    /// `X-API-Key: <key>` whose SHA-256 is configured.
    ApiKey,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DataAuthArgs {
    #[arg(long, env = "PIPELINE_DATA_AUTH", value_enum, default_value_t = DataAuthMode::None)]
    pub data_auth: DataAuthMode,

    /// The audience callers' ID tokens must carry (with `google`).
    #[arg(long, env = "PIPELINE_DATA_AUDIENCE")]
    pub data_audience: Option<String>,

    /// Emails allowed to read, comma-separated (with `google`).
    #[arg(long, env = "PIPELINE_DATA_ALLOWED_PRINCIPALS", value_delimiter = ',')]
    pub data_allowed_principals: Vec<String>,

    /// Where ID token signing keys are published (with `google`).
    #[arg(long, env = "PIPELINE_DATA_JWKS_URL", default_value = GOOGLE_JWKS_URL)]
    pub data_jwks_url: String,

    /// SHA-256 digests (hex) of the accepted API keys, comma-separated (with
    /// `api-key`). Make one with `printf %s "$KEY" | sha256sum`.
    #[arg(long, env = "PIPELINE_DATA_API_KEY_SHA256", value_delimiter = ',')]
    pub data_api_key_sha256: Vec<String>,
}

impl DataAuthArgs {
    pub fn access(&self) -> anyhow::Result<Access> {
        let list = |items: &[String]| -> Vec<String> {
            items
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        match self.data_auth {
            DataAuthMode::None => Ok(Access::Open),
            DataAuthMode::Google => {
                let verifier = OidcVerifier::new(OidcSettings {
                    audience: self.data_audience.clone().unwrap_or_default(),
                    allowed_emails: list(&self.data_allowed_principals),
                    jwks_url: self.data_jwks_url.clone(),
                })
                .context(
                    "PIPELINE_DATA_AUTH=google needs PIPELINE_DATA_AUDIENCE and \
                     PIPELINE_DATA_ALLOWED_PRINCIPALS",
                )?;
                Ok(Access::Oidc(Arc::new(verifier)))
            }
            DataAuthMode::ApiKey => {
                let keys = ApiKeys::from_hex(&list(&self.data_api_key_sha256))
                    .context("PIPELINE_DATA_AUTH=api-key needs PIPELINE_DATA_API_KEY_SHA256")?;
                Ok(Access::ApiKey(keys))
            }
        }
    }
}
