//! Temporary stand-in until the schedule module lands.
use serde::Serialize;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Limit {
    Count(u32),
    Percent(u8),
}
#[derive(Debug, Clone, Serialize)]
pub struct Window;
