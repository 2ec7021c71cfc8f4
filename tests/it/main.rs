//! The single integration-test binary (one binary links once, as ripgrep and just do).

mod apply;
mod ci_templates;
mod cli;
mod config;
mod faults;
mod fleet;
mod fuzz;
mod hostile;
mod pg;
mod scan;
mod security;
mod versions;
mod workspace;
