//! Facts about this process and machine: the time, and who we are. The one module that reads
//! the clock, so that every decision elsewhere takes the time as an argument.

use std::time::SystemTime;

use crate::state::Holder;

/// The current time as RFC 3339, the format of every timestamp dispatch writes.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// This process, as a state lock records its holder.
pub fn holder(command: &str) -> Holder {
    Holder {
        pid: std::process::id(),
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        command: command.to_string(),
        since: now(),
    }
}
