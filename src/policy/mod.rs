//! Policies: the administrators' rules over what images may be and hold.
pub mod check;
pub mod vulns;
