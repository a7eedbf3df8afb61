//! Admin bearer tokens. Only their SHA-256 hashes are kept in memory; a presented token is
//! hashed and compared with each in constant time, so neither timing nor a memory dump gives a
//! token away.
//!
//! `ALLMENDE_ADMIN_TOKENS` is a comma-separated list; each entry is a token, or `sha256:<hex>`
//! of a token so that the plain token need not be stored in the server's configuration.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// The hashes of the accepted tokens.
#[derive(Clone, Default)]
pub struct AdminTokens {
    hashes: Vec<[u8; 32]>,
}

impl std::fmt::Debug for AdminTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminTokens({} configured)", self.hashes.len())
    }
}

impl AdminTokens {
    /// Parses the `ALLMENDE_ADMIN_TOKENS` syntax; an entry that is neither is an error.
    pub fn parse(list: &str) -> Result<AdminTokens, String> {
        let mut hashes = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match entry.strip_prefix("sha256:") {
                Some(hex_hash) => {
                    let bytes = hex::decode(hex_hash)
                        .ok()
                        .and_then(|b| <[u8; 32]>::try_from(b).ok())
                        .ok_or(
                            "ALLMENDE_ADMIN_TOKENS: sha256: must be followed by 64 hex digits",
                        )?;
                    hashes.push(bytes);
                }
                None if entry.len() < 16 => {
                    return Err(
                        "ALLMENDE_ADMIN_TOKENS: a token needs at least 16 characters".into(),
                    );
                }
                None => hashes.push(Sha256::digest(entry.as_bytes()).into()),
            }
        }
        Ok(AdminTokens { hashes })
    }

    /// From the environment; none configured means no admin access at all.
    pub fn from_env() -> Result<AdminTokens, String> {
        match std::env::var("ALLMENDE_ADMIN_TOKENS") {
            Ok(list) => Self::parse(&list),
            Err(_) => Ok(AdminTokens::default()),
        }
    }

    /// Whether `token` is one of ours. Every configured hash is compared, in constant time.
    pub fn accepts(&self, token: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.hashes
            .iter()
            .fold(subtle::Choice::from(0), |any, h| any | h.ct_eq(&presented))
            .into()
    }
}

/// Proof that the request carried a valid admin token; handlers that write take it.
#[derive(Debug)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = authorization.and_then(|v| {
            v.strip_prefix("Bearer ")
                .map(|t| t.trim().to_owned())
                .or_else(|| v.strip_prefix("Basic ").and_then(basic_password))
        });
        let token = token.as_deref();
        match token {
            Some(t) if state.admin_tokens().accepts(t) => Ok(Admin),
            Some(_) => Err(ApiError::unauthorized("the bearer token is not valid")),
            None => Err(ApiError::unauthorized(
                "this needs an admin token: Authorization: Bearer <token>",
            )),
        }
    }
}

/// The password of HTTP Basic credentials (`user:password`, base64): clients that speak only
/// Basic (frost_sta_client's `AuthHandler`) send the token as the password, any user name.
fn basic_password(encoded: &str) -> Option<String> {
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':')
        .map(|(_, password)| password.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_hashes_are_accepted_others_not() {
        let hash = hex::encode(Sha256::digest(b"second-secret-token-2"));
        let tokens =
            AdminTokens::parse(&format!("first-secret-token-1, sha256:{hash}")).expect("parse");
        assert!(tokens.accepts("first-secret-token-1"));
        assert!(tokens.accepts("second-secret-token-2"));
        assert!(!tokens.accepts("first-secret-token-"));
        assert!(!tokens.accepts(""));
        assert!(!AdminTokens::default().accepts("first-secret-token-1"));
        assert!(AdminTokens::parse("short").is_err());
        assert!(AdminTokens::parse("sha256:abcd").is_err());
    }

    #[test]
    fn basic_credentials_carry_the_token_as_password() {
        // `printf 'sta:first-secret-token-1' | base64`
        assert_eq!(
            basic_password("c3RhOmZpcnN0LXNlY3JldC10b2tlbi0x").as_deref(),
            Some("first-secret-token-1")
        );
        assert_eq!(basic_password("not base64!"), None);
    }
}
