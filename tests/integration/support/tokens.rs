//! A stand-in for Google's token issuer: an RSA key pair made in the test, RS256 ID
//! tokens signed with it, and its JWKS served on 127.0.0.1 (the real Google URL is
//! never fetched).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const AUDIENCE: &str = "https://ingest.example.test/pubsub/push";
pub const PUSHER: &str = "pubsub-push@project.iam.gserviceaccount.com";

pub struct Issuer {
    kid: String,
    key: EncodingKey,
    /// The public half as a JWK.
    pub jwk: Value,
}

impl Issuer {
    pub fn new(kid: &str) -> Issuer {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
        let der = AsDer::as_der(&pair).expect("PKCS#8 encoding");
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(der.as_ref())
        );
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("signing key");
        let public = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let jwk = json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
        });
        Issuer {
            kid: kid.to_owned(),
            key,
            jwk,
        }
    }

    /// Signs `claims` as an RS256 JWT naming this key.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).expect("signing")
    }

    /// A token like the one Pub/Sub attaches to a push, valid for an hour.
    pub fn push_token(&self, audience: &str, email: &str) -> String {
        self.sign(&claims(audience, email, 3600))
    }
}

/// Google ID token claims, expiring `expires_in` seconds from now (negative: past).
pub fn claims(audience: &str, email: &str, expires_in: i64) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    json!({
        "iss": "https://accounts.google.com",
        "aud": audience,
        "azp": "1234567890",
        "sub": "1234567890",
        "email": email,
        "email_verified": true,
        "iat": now - 10,
        "exp": now + expires_in,
    })
}

/// Serves `{"keys": [...]}` on 127.0.0.1 and returns its URL.
pub async fn serve_jwks(issuers: &[&Issuer]) -> String {
    serve_jwks_counted(issuers).await.0
}

/// [`serve_jwks`], and a count of the requests it has answered.
pub async fn serve_jwks_counted(issuers: &[&Issuer]) -> (String, Arc<AtomicUsize>) {
    let body = json!({ "keys": issuers.iter().map(|i| i.jwk.clone()).collect::<Vec<_>>() });
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&fetches);
    let router = axum::Router::new().route(
        "/certs",
        axum::routing::get(move || {
            let body = body.clone();
            counter.fetch_add(1, Ordering::SeqCst);
            async move { axum::Json(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}/certs"), fetches)
}
