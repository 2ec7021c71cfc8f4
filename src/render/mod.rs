//! Renderers: turn values computed elsewhere into text. They never decide anything.
//!
//! Output carries ANSI styles; the `cli` writes it through `anstream`, which strips them
//! when the stream is not a terminal or colour is turned off.

pub mod apply;
pub mod compliance;
pub mod diagnostics;
pub mod plan;
