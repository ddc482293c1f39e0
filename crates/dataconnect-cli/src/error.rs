//! The CLI's error: one line naming the problem and the fix, and an exit
//! code per class of problem, so scripts can tell a typo from a dead
//! network from a lost consent.
//!
//! | code | class |
//! |---|---|
//! | 1 | internal: a bug or an unexpected failure |
//! | 2 | usage: a malformed argument (PRM, date, series, flag) |
//! | 3 | range: well-formed dates the API cannot serve (future, reversed, too old) |
//! | 4 | config: a missing or invalid setting (base URL, client id, secret, config file) |
//! | 5 | auth: the API refused the application's credentials |
//! | 6 | consent: no consent for the meter, or a consent redirect that does not check out |
//! | 7 | network: the API cannot be reached, or kept failing after retries |
//! | 8 | store: the database cannot be opened, read or written |
//! | 9 | api: the API refused the request for another reason (quota, subscription…) |
//! | 10 | partial: a sync finished but some windows failed (run it again) |

use std::fmt;

use dataconnect_store::{StoreError, StoreErrorKind};

/// The class of a failure, which picks the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Class {
    /// A bug or an unexpected failure.
    Internal,
    /// A malformed argument.
    Usage,
    /// Well-formed dates the API cannot serve.
    Range,
    /// A missing or invalid setting.
    Config,
    /// The API refused the application's credentials.
    Auth,
    /// No consent, or a consent redirect that does not check out.
    Consent,
    /// The API cannot be reached or kept failing.
    Network,
    /// The database cannot be opened, read or written.
    Store,
    /// The API refused the request for another reason.
    Api,
    /// A sync finished with some windows failed.
    Partial,
}

impl Class {
    /// The process exit code of this class.
    pub fn exit_code(self) -> u8 {
        match self {
            Class::Internal => 1,
            Class::Usage => 2,
            Class::Range => 3,
            Class::Config => 4,
            Class::Auth => 5,
            Class::Consent => 6,
            Class::Network => 7,
            Class::Store => 8,
            Class::Api => 9,
            Class::Partial => 10,
        }
    }
}

/// A failure of a command: its class and the one line to print.
#[derive(Debug)]
pub struct CliError {
    class: Class,
    message: String,
}

impl CliError {
    /// A failure of class `class` described by `message` (one line: the
    /// problem, then the fix).
    pub fn new(class: Class, message: impl Into<String>) -> Self {
        CliError { class, message: message.into() }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        CliError::new(Class::Usage, message)
    }

    pub fn config(message: impl Into<String>) -> Self {
        CliError::new(Class::Config, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        CliError::new(Class::Internal, message)
    }

    /// A failure already reported on standard error line by line (several
    /// files of one command): only its exit code remains to give.
    pub fn reported(class: Class) -> Self {
        CliError::new(class, "")
    }

    /// The class of the failure.
    pub fn class(&self) -> Class {
        self.class
    }

    /// The line to print, on one line whatever the message held.
    pub fn line(&self) -> String {
        self.message.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        let class = match e.kind() {
            StoreErrorKind::Output => Class::Internal,
            _ => Class::Store,
        };
        CliError::new(class, e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::internal(format!("input/output error: {e}"))
    }
}

/// Maps a client error to the CLI's classes, with the client's advice as the fix.
pub fn from_client(e: &dataconnect::Error) -> CliError {
    use dataconnect::ErrorKind as K;
    let class = match e.kind() {
        K::Config => Class::Config,
        K::Authentication | K::Unauthorized => Class::Auth,
        K::ConsentRequired
        | K::NoToken
        | K::ConsentDenied
        | K::ConsentFailed
        | K::StateMismatch
        | K::InvalidRedirect
        | K::NoSubscribedService
        | K::UnconfirmedUsagePoint => Class::Consent,
        K::Timeout | K::Transport | K::Server | K::Truncated => Class::Network,
        K::InvalidRequest | K::HistoryDeadline | K::BeforeActivation | K::BeforeConsentStart => Class::Range,
        K::TokenStore => Class::Store,
        _ => Class::Api,
    };
    // The client's message usually ends with its advice already.
    let text = e.to_string();
    let line = if text.contains(e.advice()) { text } else { format!("{text}: {}", e.advice()) };
    CliError::new(class, line)
}
