//! Newtypes for secrets: the application's client secret, access and
//! refresh tokens, and authorization codes.
//!
//! Each prints `[redacted]` through both `Debug` and `Display`, so that a
//! secret cannot reach a log line, an error message or a panic by accident;
//! the value is only reachable through an explicit `secret()` call, which is
//! easy to grep for.

use std::fmt;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The secret value itself. Never log it.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }
    };
}

secret_type!(
    /// The application's client secret, issued by Enedis DataHub.
    ClientSecret
);
secret_type!(
    /// A bearer access token (per application for generations 2 and 3, per
    /// customer for generation 1).
    AccessToken
);
secret_type!(
    /// A generation 1 refresh token: per customer, valid as long as the
    /// consent, so it is as sensitive as a password.
    RefreshToken
);
secret_type!(
    /// A generation 1 authorization code from the consent redirect (valid
    /// about three minutes).
    AuthorizationCode
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_everywhere() {
        let s = ClientSecret::new("hunter2");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{s:?}"), "ClientSecret([redacted])");
        assert_eq!(s.secret(), "hunter2");
        assert!(!format!("{:?}", RefreshToken::new("abc")).contains("abc"));
    }
}
