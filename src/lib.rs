//! patchform: Terraform's plan/apply workflow for operating-system patches, over SSH.
//!
//! The modules are the pipeline stages, in the order data flows through them; see
//! ARCHITECTURE.md for the invariants each one keeps.

pub mod apply;
pub mod cli;
pub mod compliance;
pub mod config;
pub mod diag;
pub mod inventory;
pub mod model;
pub mod pkg;
pub mod plan;
pub mod render;
pub mod state;
pub mod transport;
