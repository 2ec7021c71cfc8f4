//! Maintenance-window schedules with AWS Systems Manager semantics.
//!
//! A window opens on a schedule (`cron(...)`, `rate(...)` or `at(...)`,
//! evaluated in an IANA time zone), stays open for `duration` hours, and stops
//! accepting new work `cutoff` hours before it closes. Everything here is pure:
//! the current time is always a parameter, never read from the clock.
//!
//! Cron matching is delegated to `croner` on its jiff 0.2 backend; jiff 0.2
//! values never leave this module (they are converted through nanosecond
//! timestamps).
//!
//! # Daylight saving time
//!
//! One rule set applies to every kind of schedule:
//! - A wall-clock time inside a spring-forward gap runs at the first instant
//!   after the gap: `cron(30 2 ? * SUN *)` in Europe/Berlin on 2026-03-29 opens
//!   at 03:00+02:00, not 03:30. This is croner's behaviour for fixed-time
//!   patterns, and `at()` times and schedule offsets follow it too. Patterns
//!   with a step, range or list in Seconds, Minutes or Hours (croner's
//!   "interval" jobs) skip the missing times instead, as croner does.
//! - A wall-clock time repeated by a fall-back runs once, at the earlier
//!   instant. Croner repeats interval patterns in both halves; those second
//!   runs are dropped here so that every wall-clock time opens at most once.

use std::cmp::{max, min};
use std::fmt;

use croner::parser::{CronParser, Seconds, Year};
use croner::{Cron, Direction};
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Span, Timestamp, ZonedDateTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// AWS rejects schedules that fire more often than this.
const MIN_GAP: SignedDuration = SignedDuration::from_mins(5);

/// How many consecutive cron occurrences the frequency check compares. This
/// covers every gap within a day and across the first matching midnights;
/// a contrived pattern whose only short gap crosses a rare midnight (say,
/// 23:58 on 31 December to 00:00 on 1 January, with over 200 occurrences in
/// between) is not caught.
const FREQUENCY_SAMPLE: usize = 200;

/// An example accepted by every schedule error message.
const EXAMPLE_CRON: &str = "cron(0 2 ? * THU#3 *)";

/// Why a schedule, time zone, window setting or limit was rejected.
///
/// `Display` (and [`ScheduleError::detail`]) is a full sentence naming what
/// is wrong and how to fix it, with an example; [`ScheduleError::summary`] is
/// a short constant headline for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "`{text}` is not a schedule expression; write cron(Minutes Hours Day-of-month Month \
         Day-of-week Year), rate(N unit) or at(YYYY-MM-DDThh:mm:ss), for example {EXAMPLE_CRON}."
    )]
    UnknownForm { text: String },

    #[error(
        "`{text}` has {found} cron fields, but AWS cron needs 6 (Minutes Hours Day-of-month Month \
         Day-of-week Year), or 7 with a leading Seconds field; for example {EXAMPLE_CRON}."
    )]
    CronFieldCount { text: String, found: usize },

    #[error(
        "The {field} field `{value}` in `{text}` is invalid: {reason}. Valid {field} values look \
         like {example}; a full expression is for example {EXAMPLE_CRON}."
    )]
    CronField {
        text: String,
        field: &'static str,
        value: String,
        reason: String,
        example: &'static str,
    },

    #[error(
        "`{text}` must set exactly one of Day-of-month and Day-of-week and put `?` in the other; \
         for example cron(0 2 ? * SUN *) for Sundays or cron(0 2 1 * ? *) for the 1st of the month."
    )]
    DayFieldConflict { text: String },

    #[error(
        "`{text}` is not a valid rate expression; write rate(N unit) with a positive whole number \
         N and a unit of minutes, hours or days, for example rate(6 hours)."
    )]
    RateSyntax { text: String },

    #[error(
        "`{unit}` in `{text}` is not a rate unit; use minute, hour or day (plural unless N is 1), \
         for example rate(2 days)."
    )]
    RateUnit { text: String, unit: String },

    #[error(
        "`{text}` must be written {expected}: AWS requires the singular unit when N is 1 and the \
         plural otherwise, for example rate(1 hour) and rate(2 hours)."
    )]
    RateUnitNumber { text: String, expected: String },

    #[error(
        "`{text}` is not a valid at expression: {reason}; write at(YYYY-MM-DDThh:mm:ss) in the \
         window's time zone, for example at(2026-12-24T22:00:00)."
    )]
    AtSyntax { text: String, reason: String },

    #[error(
        "`{text}` fires as often as every {gap:#}, but maintenance windows may fire at most every \
         5 minutes; widen the interval, for example cron(0/15 * ? * * *) or rate(5 minutes)."
    )]
    TooFrequent { text: String, gap: SignedDuration },

    #[error(
        "`{text}` never fires because no date matches it (for example the 30th of February); \
         pick a day that exists, for example cron(0 2 L 2 ? *) for the last day of February."
    )]
    NeverFires { text: String },

    #[error(
        "`{name}` is not a known IANA time zone{}; use a name from the tz database, for example \
         Europe/Berlin or America/New_York.",
        suggestion_clause(suggestion)
    )]
    UnknownTimeZone {
        name: String,
        suggestion: Option<String>,
    },

    #[error(
        "The time zone `{zone}` has neither an IANA name nor a fixed offset, so cron schedules \
         cannot be evaluated in it; use an IANA name, for example Europe/Berlin."
    )]
    UnsupportedTimeZone { zone: String },

    #[error(
        "{setting} is {value}, but it must be between {min} and {max}; for example \
         {setting} = {example}."
    )]
    OutOfRange {
        setting: &'static str,
        value: u8,
        min: u8,
        max: u8,
        example: u8,
    },

    #[error(
        "cutoff is {cutoff} hours but the window lasts only {duration} hours, so no task could \
         ever start; make cutoff smaller than duration, for example duration = 4 and cutoff = 1."
    )]
    CutoffNotBeforeEnd { cutoff: u8, duration: u8 },

    #[error(
        "schedule_offset = {offset} only applies to cron() schedules, but the schedule is \
         `{schedule}`; remove schedule_offset or use a cron schedule, for example \
         cron(0 2 ? * TUE#2 *) with schedule_offset = 2."
    )]
    OffsetWithoutCron { offset: u8, schedule: String },

    #[error(
        "end_date {end} is not after start_date {start}, so the window would never be active; \
         move end_date later, for example start_date = 2027-01-01T00:00:00Z and \
         end_date = 2027-12-31T00:00:00Z."
    )]
    DatesOutOfOrder { start: Timestamp, end: Timestamp },

    #[error(
        "`{text}` is not a valid max_concurrency; use a whole number of targets of at least 1 \
         (for example 10) or a percentage from 1% to 100% (for example 25%), without leading \
         zeros, signs or decimals."
    )]
    InvalidConcurrency { text: String },

    #[error(
        "`{text}` is not a valid max_errors; use a whole number of errors (0 stops at the first \
         error, for example 3) or a percentage from 0% to 100% (for example 10%), without \
         leading zeros, signs or decimals."
    )]
    InvalidMaxErrors { text: String },
}

fn suggestion_clause(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean {s}?)"))
        .unwrap_or_default()
}

impl ScheduleError {
    /// A short, constant headline for the error.
    pub fn summary(&self) -> &'static str {
        match self {
            Self::UnknownForm { .. } => "Invalid schedule expression",
            Self::CronFieldCount { .. } => "Wrong number of cron fields",
            Self::CronField { .. } => "Invalid cron field",
            Self::DayFieldConflict { .. } => "Conflicting day fields",
            Self::RateSyntax { .. } => "Invalid rate expression",
            Self::RateUnit { .. } => "Invalid rate unit",
            Self::RateUnitNumber { .. } => "Rate unit singular/plural mismatch",
            Self::AtSyntax { .. } => "Invalid at expression",
            Self::TooFrequent { .. } => "Schedule too frequent",
            Self::NeverFires { .. } => "Schedule never fires",
            Self::UnknownTimeZone { .. } => "Unknown time zone",
            Self::UnsupportedTimeZone { .. } => "Unsupported time zone",
            Self::OutOfRange { .. } => "Value out of range",
            Self::CutoffNotBeforeEnd { .. } => "Cutoff not shorter than duration",
            Self::OffsetWithoutCron { .. } => "Offset needs a cron schedule",
            Self::DatesOutOfOrder { .. } => "End date not after start date",
            Self::InvalidConcurrency { .. } => "Invalid max concurrency",
            Self::InvalidMaxErrors { .. } => "Invalid max errors",
        }
    }

    /// The full sentence: what is wrong, how to fix it, and an example.
    pub fn detail(&self) -> String {
        self.to_string()
    }
}

// ---------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------

/// A parsed maintenance-window schedule. Each variant keeps the expression
/// exactly as written (trimmed) for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, optionally
    /// with a leading Seconds field.
    Cron(CronSchedule),
    /// `rate(N minutes|hours|days)`.
    Rate(RateSchedule),
    /// `at(YYYY-MM-DDThh:mm:ss)`, a single local time in the window's zone.
    At(AtSchedule),
}

/// An AWS cron expression, compiled for croner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    text: String,
    // Boxed: a compiled pattern is ten times the size of the other variants.
    cron: Box<Cron>,
}

/// A fixed interval, in absolute time as AWS counts it: `rate(1 day)` is
/// 24 hours, so its local time shifts by an hour across a DST change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateSchedule {
    text: String,
    interval: SignedDuration,
}

/// A one-off local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtSchedule {
    text: String,
    at: DateTime,
}

impl Schedule {
    /// The expression as written.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Cron(c) => &c.text,
            Self::Rate(r) => &r.text,
            Self::At(a) => &a.text,
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Schedule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_schedule(&text).map_err(serde::de::Error::custom)
    }
}

/// Parses an AWS maintenance-window schedule expression.
///
/// Accepts `cron(...)` with 6 fields (or 7 with leading seconds), `rate(N
/// unit)` and `at(YYYY-MM-DDThh:mm:ss)`. Rejects what AWS rejects: both or
/// neither day field set to `?`, out-of-range values, a rate unit whose
/// number disagrees with N, and schedules firing more often than every five
/// minutes. Also rejects cron patterns that can never fire.
pub fn parse_schedule(text: &str) -> Result<Schedule, ScheduleError> {
    let text = text.trim();
    let unknown = || ScheduleError::UnknownForm {
        text: text.to_owned(),
    };
    let (kind, rest) = text.split_once('(').ok_or_else(unknown)?;
    let inner = rest.strip_suffix(')').ok_or_else(unknown)?;
    match kind {
        "cron" => parse_cron(text, inner).map(Schedule::Cron),
        "rate" => parse_rate(text, inner).map(Schedule::Rate),
        "at" => parse_at(text, inner).map(Schedule::At),
        _ => Err(unknown()),
    }
}

fn parse_rate(text: &str, inner: &str) -> Result<RateSchedule, ScheduleError> {
    let syntax = || ScheduleError::RateSyntax {
        text: text.to_owned(),
    };
    let mut parts = inner.split_whitespace();
    let (Some(number), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(syntax());
    };
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    let count: u32 = number.parse().map_err(|_| syntax())?;
    if count == 0 {
        return Err(syntax());
    }
    let (singular, unit_secs) = match unit {
        "minute" | "minutes" => ("minute", 60),
        "hour" | "hours" => ("hour", 3_600),
        "day" | "days" => ("day", 86_400),
        _ => {
            return Err(ScheduleError::RateUnit {
                text: text.to_owned(),
                unit: unit.to_owned(),
            });
        }
    };
    let plural_needed = count != 1;
    if plural_needed != unit.ends_with('s') {
        let suffix = if plural_needed { "s" } else { "" };
        return Err(ScheduleError::RateUnitNumber {
            text: text.to_owned(),
            expected: format!("rate({count} {singular}{suffix})"),
        });
    }
    let interval = SignedDuration::from_secs(i64::from(count) * unit_secs);
    if interval < MIN_GAP {
        return Err(ScheduleError::TooFrequent {
            text: text.to_owned(),
            gap: interval,
        });
    }
    Ok(RateSchedule {
        text: text.to_owned(),
        interval,
    })
}

fn parse_at(text: &str, inner: &str) -> Result<AtSchedule, ScheduleError> {
    let error = |reason: &str| ScheduleError::AtSyntax {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    // jiff's parser also takes offsets, fractions and a space separator; AWS
    // takes exactly this shape, so check it before handing over.
    let shape_ok = inner.len() == 19
        && inner.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(error(
            "the time must have exactly the form YYYY-MM-DDThh:mm:ss",
        ));
    }
    let at: DateTime = inner
        .parse()
        .map_err(|_| error(&format!("{inner} is not a real calendar date and time")))?;
    Ok(AtSchedule {
        text: text.to_owned(),
        at,
    })
}

/// The fields of an AWS cron expression, in order (Seconds only when given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Seconds,
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Field {
    fn name(self) -> &'static str {
        match self {
            Self::Seconds => "Seconds",
            Self::Minutes => "Minutes",
            Self::Hours => "Hours",
            Self::DayOfMonth => "Day-of-month",
            Self::Month => "Month",
            Self::DayOfWeek => "Day-of-week",
            Self::Year => "Year",
        }
    }

    /// AWS's value range for the field.
    fn range(self) -> (u16, u16) {
        match self {
            Self::Seconds | Self::Minutes => (0, 59),
            Self::Hours => (0, 23),
            Self::DayOfMonth => (1, 31),
            Self::Month => (1, 12),
            Self::DayOfWeek => (1, 7),
            Self::Year => (1970, 2199),
        }
    }

    fn example(self) -> &'static str {
        match self {
            Self::Seconds => "0",
            Self::Minutes => "0, 30 or 0/15",
            Self::Hours => "2, 22 or 8-17",
            Self::DayOfMonth => "1, 1-7, L, LW or 15W",
            Self::Month => "*, 6 or JAN-MAR",
            Self::DayOfWeek => "SUN, MON-FRI, 2, THU#3 or 6L",
            Self::Year => "* or 2027",
        }
    }

    /// Reads one value: a number in range, or a month or weekday name.
    fn value(self, token: &str) -> Result<u16, String> {
        let names: &[&str] = match self {
            Self::Month => &MONTH_NAMES,
            Self::DayOfWeek => &DAY_NAMES,
            _ => &[],
        };
        if let Some(i) = names.iter().position(|n| *n == token) {
            let (low, _) = self.range();
            // `position` is below 12, so the cast cannot truncate.
            return Ok(low + i as u16);
        }
        if token.is_empty() {
            return Err("a value is missing".into());
        }
        let (low, high) = self.range();
        let number = token
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| token.parse::<u16>().ok())
            .flatten()
            .ok_or_else(|| format!("`{token}` is not a number or name"))?;
        if !(low..=high).contains(&number) {
            let hint = match self {
                Self::DayOfWeek => " (1=SUN through 7=SAT)",
                _ => "",
            };
            return Err(format!("{number} is outside {low}-{high}{hint}"));
        }
        Ok(number)
    }

    /// Croner numbers weekdays from 0=SUN; AWS from 1=SUN.
    fn to_croner(self, value: u16) -> u16 {
        match self {
            Self::DayOfWeek => value - 1,
            _ => value,
        }
    }

    /// Validates one field against AWS's grammar and rewrites it into the
    /// numeric form croner reads. Writing every step as an explicit
    /// `low-high/step` range makes AWS's `0/15` work without croner's sloppy
    /// mode and anchors `*/2` in Year at 1970, where croner would start at 1.
    fn normalize(self, raw: &str) -> Result<String, String> {
        let upper = raw.to_ascii_uppercase();
        match (self, upper.as_str()) {
            (Self::DayOfMonth | Self::DayOfWeek, "?") => return Ok("*".to_owned()),
            (_, "?") => return Err("`?` is only allowed in Day-of-month or Day-of-week".into()),
            (_, "*") => return Ok("*".to_owned()),
            (Self::DayOfMonth, "L" | "LW") => return Ok(upper),
            // AWS reads a bare L in Day-of-week as the last day of the week.
            (Self::DayOfWeek, "L") => return Ok(self.to_croner(7).to_string()),
            (Self::DayOfMonth, _) if upper.ends_with('W') => {
                let day = self.value(&upper[..upper.len() - 1])?;
                return Ok(format!("{day}W"));
            }
            _ => {}
        }
        if self == Self::DayOfMonth && (upper.contains('L') || upper.contains('W')) {
            return Err("L, LW and nW must stand alone in the field".into());
        }
        upper
            .split(',')
            .map(|element| self.normalize_element(element))
            .collect::<Result<Vec<_>, _>>()
            .map(|parts| parts.join(","))
    }

    fn normalize_element(self, element: &str) -> Result<String, String> {
        if element.is_empty() {
            return Err("a list has an empty element".into());
        }
        if self == Self::DayOfWeek {
            if let Some((day, nth)) = element.split_once('#') {
                let day = self.to_croner(self.value(day)?);
                return match nth {
                    "1" | "2" | "3" | "4" | "5" => Ok(format!("{day}#{nth}")),
                    _ => Err(format!("`#{nth}` must be #1 to #5")),
                };
            }
            if let Some(day) = element.strip_suffix('L') {
                return Ok(format!("{}L", self.to_croner(self.value(day)?)));
            }
        }
        let (base, step) = match element.split_once('/') {
            Some((base, step)) => (base, Some(step)),
            None => (element, None),
        };
        let (low, high) = self.range();
        let (start, end) = match base.split_once('-') {
            _ if base == "*" => (low, high),
            Some((a, b)) => {
                let (a, b) = (self.value(a)?, self.value(b)?);
                if a > b {
                    return Err(format!(
                        "the range {base} runs backwards; wrap-around ranges are not \
                         supported, so split it into two ranges"
                    ));
                }
                (a, b)
            }
            None => {
                let a = self.value(base)?;
                // `a/n` means "from a to the end of the range, every n".
                (a, if step.is_some() { high } else { a })
            }
        };
        let (start, end) = (self.to_croner(start), self.to_croner(end));
        match step {
            None if start == end => Ok(start.to_string()),
            None => Ok(format!("{start}-{end}")),
            Some(_) if self == Self::DayOfWeek => {
                Err("steps (`/`) are not allowed in Day-of-week".into())
            }
            Some(step) => match step.parse::<u16>() {
                Ok(n) if n >= 1 && step.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(format!("{start}-{end}/{n}"))
                }
                _ => Err(format!(
                    "the step `/{step}` must be a whole number of at least 1"
                )),
            },
        }
    }
}

fn parse_cron(text: &str, inner: &str) -> Result<CronSchedule, ScheduleError> {
    let raw: Vec<&str> = inner.split_whitespace().collect();
    let fields: &[Field] = match raw.len() {
        6 => &[
            Field::Minutes,
            Field::Hours,
            Field::DayOfMonth,
            Field::Month,
            Field::DayOfWeek,
            Field::Year,
        ],
        7 => &[
            Field::Seconds,
            Field::Minutes,
            Field::Hours,
            Field::DayOfMonth,
            Field::Month,
            Field::DayOfWeek,
            Field::Year,
        ],
        found => {
            return Err(ScheduleError::CronFieldCount {
                text: text.to_owned(),
                found,
            });
        }
    };
    let mut normalized = Vec::with_capacity(7);
    if raw.len() == 6 {
        // Croner only takes a Year field together with a Seconds field.
        normalized.push("0".to_owned());
    }
    for (&field, &value) in fields.iter().zip(&raw) {
        let field_text = field
            .normalize(value)
            .map_err(|reason| ScheduleError::CronField {
                text: text.to_owned(),
                field: field.name(),
                value: value.to_owned(),
                reason,
                example: field.example(),
            })?;
        normalized.push(field_text);
    }
    let day_of_month = raw[raw.len() - 4];
    let day_of_week = raw[raw.len() - 2];
    if (day_of_month == "?") == (day_of_week == "?") {
        return Err(ScheduleError::DayFieldConflict {
            text: text.to_owned(),
        });
    }
    let cron = CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .build()
        .parse(&normalized.join(" "))
        // The fields were validated above, so croner refusing them means
        // our grammar and croner's disagree; report it against the whole
        // expression rather than panic.
        .map_err(|e| ScheduleError::CronField {
            text: text.to_owned(),
            field: "cron",
            value: inner.to_owned(),
            reason: e.to_string(),
            example: "0 2 ? * SUN *",
        })?;
    check_frequency(text, &cron)?;
    Ok(CronSchedule {
        text: text.to_owned(),
        cron: Box::new(cron),
    })
}

/// Rejects patterns that never fire or fire less than [`MIN_GAP`] apart, by
/// walking the first [`FREQUENCY_SAMPLE`] occurrences from 1970 in UTC. UTC
/// keeps DST from inventing or hiding gaps.
fn check_frequency(text: &str, cron: &Cron) -> Result<(), ScheduleError> {
    let epoch = jiff02::Timestamp::UNIX_EPOCH.to_zoned(jiff02::tz::TimeZone::UTC);
    let Ok(mut previous) = cron.find_next_occurrence(&epoch, true) else {
        return Err(ScheduleError::NeverFires {
            text: text.to_owned(),
        });
    };
    let seconds = |z: &jiff02::Zoned| SignedDuration::from_secs(z.timestamp().as_second());
    let first = previous.clone();
    let mut last_of_first_day = previous.clone();
    for _ in 1..FREQUENCY_SAMPLE {
        // An error means the pattern's years have run out.
        let Ok(next) = cron.find_next_occurrence(&previous, false) else {
            break;
        };
        let gap = seconds(&next) - seconds(&previous);
        if gap < MIN_GAP {
            return Err(ScheduleError::TooFrequent {
                text: text.to_owned(),
                gap,
            });
        }
        if next.date() == first.date() {
            last_of_first_day = next.clone();
        } else if previous.date() == first.date() {
            // Every matching day (in UTC) has the same times of day, and the walk started at
            // midnight, so the first day showed every within-day gap. Gaps across midnight are
            // at least a day minus that day's span: when that clears MIN_GAP, nothing later
            // can fail and the rest of the sample is redundant.
            let span = seconds(&last_of_first_day) - seconds(&first);
            if SignedDuration::from_hours(24) - span >= MIN_GAP {
                return Ok(());
            }
        }
        previous = next;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Time zones
// ---------------------------------------------------------------------------

/// Looks up an IANA time zone name (for example `Europe/Berlin`). On failure
/// the error suggests the closest known name when one is near enough.
pub fn parse_time_zone(name: &str) -> Result<TimeZone, ScheduleError> {
    let trimmed = name.trim();
    TimeZone::get(trimmed).map_err(|_| ScheduleError::UnknownTimeZone {
        name: trimmed.to_owned(),
        suggestion: nearest_zone_name(trimmed),
    })
}

/// The available zone name nearest to `name`: one whose last segment matches
/// exactly (`berlin` → `Europe/Berlin`), else the smallest case-insensitive
/// edit distance if it is small relative to the name.
fn nearest_zone_name(name: &str) -> Option<String> {
    let wanted = name.to_ascii_lowercase();
    if wanted.is_empty() {
        return None;
    }
    let names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_owned())
        .collect();
    let wanted_city = wanted.replace(' ', "_");
    let city = names.iter().find(|n| {
        n.rsplit('/')
            .next()
            .is_some_and(|last| last.eq_ignore_ascii_case(&wanted_city))
    });
    if let Some(city) = city {
        return Some(city.clone());
    }
    let limit = (wanted.chars().count() / 3).clamp(1, 4);
    names
        .into_iter()
        .map(|n| (edit_distance(&wanted, &n.to_ascii_lowercase()), n))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// The jiff 0.2 twin of a jiff 1 zone, for croner.
fn croner_zone(tz: &TimeZone) -> Result<jiff02::tz::TimeZone, ScheduleError> {
    let unsupported = || ScheduleError::UnsupportedTimeZone {
        zone: format!("{tz:?}"),
    };
    if let Some(name) = tz.iana_name() {
        return jiff02::tz::TimeZone::get(name).map_err(|_| unsupported());
    }
    let offset = tz.to_fixed_offset().map_err(|_| unsupported())?;
    jiff02::tz::Offset::from_seconds(offset.seconds())
        .map(jiff02::tz::TimeZone::fixed)
        .map_err(|_| unsupported())
}

fn timestamp_to_02(t: Timestamp) -> Option<jiff02::Timestamp> {
    jiff02::Timestamp::from_nanosecond(t.as_nanosecond()).ok()
}

fn timestamp_from_02(t: jiff02::Timestamp) -> Option<Timestamp> {
    Timestamp::from_nanosecond(t.as_nanosecond()).ok()
}

/// Places a local time in `tz` by this module's DST rules: a time in a gap
/// moves to the first instant after it, a repeated time takes the earlier
/// instant.
fn resolve_local(tz: &TimeZone, local: DateTime) -> Option<ZonedDateTime> {
    let ambiguous = tz.to_ambiguous_zoned_datetime(local);
    match ambiguous.offset() {
        AmbiguousOffset::Gap { .. } => {
            // Read with the pre-gap offset, the time lands just past the
            // transition; the transition itself is the first instant after
            // the gap.
            let past = ambiguous.compatible().ok()?.timestamp();
            let probe = past.checked_add(SignedDuration::from_nanos(1)).ok()?;
            let transition = tz.preceding(probe).next()?.timestamp();
            Some(transition.to_zoned_datetime(tz.clone()))
        }
        AmbiguousOffset::Unambiguous { .. } | AmbiguousOffset::Fold { .. } => {
            ambiguous.earlier().ok()
        }
    }
}

/// Whether `zdt` is the second instant of a wall-clock time that a fall-back
/// repeats.
fn is_later_fold(zdt: &ZonedDateTime) -> bool {
    match zdt
        .time_zone()
        .to_ambiguous_zoned_datetime(zdt.datetime())
        .offset()
    {
        AmbiguousOffset::Fold { before, .. } => zdt.offset() != before,
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Windows
// ---------------------------------------------------------------------------

/// The settings of a maintenance window, as written by the user. Checked by
/// [`Window::new`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowSpec {
    pub schedule: Schedule,
    /// The zone cron and at times are read in.
    #[serde(serialize_with = "jiff::fmt::serde::tz::required::serialize")]
    pub time_zone: TimeZone,
    /// Days (0-6) added to every cron time; cron schedules only.
    pub schedule_offset: u8,
    /// Hours (1-24) the window stays open.
    pub duration: u8,
    /// Hours (0-23, below `duration`) before the end when no new work starts.
    pub cutoff: u8,
    /// Occurrences starting before this are skipped. Also the anchor of
    /// `rate()` schedules.
    pub start_date: Option<Timestamp>,
    /// Occurrences starting at or after this are skipped. An occurrence that
    /// started earlier still runs to its own end.
    pub end_date: Option<Timestamp>,
    /// A disabled window never opens.
    pub enabled: bool,
}

/// A validated maintenance window.
#[derive(Debug, Clone)]
pub struct Window {
    spec: WindowSpec,
    croner_zone: jiff02::tz::TimeZone,
}

/// One opening of a window, in the window's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    pub start: ZonedDateTime,
    /// `start` plus the duration, in absolute hours.
    pub end: ZonedDateTime,
    /// `end` minus the cutoff: no new work starts at or after this.
    pub cutoff_at: ZonedDateTime,
}

impl Occurrence {
    /// Whether the window is open at `t` (`start <= t < end`).
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start.timestamp() <= t && t < self.end.timestamp()
    }

    /// Whether work estimated to take `estimated`, begun at `from` (or at the
    /// window's start if that is later), starts before the cutoff and also
    /// finishes by it. Finishing by the cutoff rather than the end leaves
    /// the cutoff margin for stragglers, which is what users set it for.
    pub fn fits(&self, from: Timestamp, estimated: SignedDuration) -> bool {
        let begin = max(from, self.start.timestamp());
        let cutoff = self.cutoff_at.timestamp();
        !estimated.is_negative()
            && begin < cutoff
            && begin
                .checked_add(estimated)
                .is_ok_and(|done| done <= cutoff)
    }
}

/// Serializes as its settings, for plan output.
impl Serialize for Window {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.spec.serialize(serializer)
    }
}

impl Window {
    /// Checks the settings: duration 1-24 hours, cutoff 0-23 hours and below
    /// duration, schedule_offset 0-6 days and only with cron, end_date after
    /// start_date, and a time zone croner can evaluate.
    pub fn new(spec: WindowSpec) -> Result<Window, ScheduleError> {
        let range = |setting, value, min, max, example| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ScheduleError::OutOfRange {
                    setting,
                    value,
                    min,
                    max,
                    example,
                })
            }
        };
        range("duration", spec.duration, 1, 24, 4)?;
        range("cutoff", spec.cutoff, 0, 23, 1)?;
        range("schedule_offset", spec.schedule_offset, 0, 6, 2)?;
        if spec.cutoff >= spec.duration {
            return Err(ScheduleError::CutoffNotBeforeEnd {
                cutoff: spec.cutoff,
                duration: spec.duration,
            });
        }
        if spec.schedule_offset > 0 && !matches!(spec.schedule, Schedule::Cron(_)) {
            return Err(ScheduleError::OffsetWithoutCron {
                offset: spec.schedule_offset,
                schedule: spec.schedule.to_string(),
            });
        }
        if let (Some(start), Some(end)) = (spec.start_date, spec.end_date)
            && end <= start
        {
            return Err(ScheduleError::DatesOutOfOrder { start, end });
        }
        let croner_zone = croner_zone(&spec.time_zone)?;
        Ok(Window { spec, croner_zone })
    }

    /// The validated settings.
    pub fn spec(&self) -> &WindowSpec {
        &self.spec
    }

    /// Up to `n` occurrences starting strictly after `after`, in order,
    /// within `start_date`/`end_date`. A disabled window has none.
    ///
    /// `rate()` occurrences fall every interval from `start_date`, or from
    /// the Unix epoch (1970-01-01T00:00:00Z) when there is none: AWS counts
    /// from the window's creation, which this pure function cannot know, so
    /// callers wanting that should pass it as `start_date`.
    pub fn next_occurrences(&self, after: Timestamp, n: usize) -> Vec<Occurrence> {
        if !self.spec.enabled {
            return Vec::new();
        }
        let from = match self.spec.start_date {
            Some(start) if start > after => start
                .checked_sub(SignedDuration::from_nanos(1))
                .unwrap_or(start),
            _ => after,
        };
        self.starts(from, Direction::Forward)
            .take_while(|s| self.spec.end_date.is_none_or(|end| s.timestamp() < end))
            .take(n)
            .map_while(|s| self.occurrence(s))
            .collect()
    }

    /// The occurrence open at `now` (`start <= now < end`), if any. Found
    /// from the latest start at or before `now`: every occurrence lasts the
    /// same time, so if that one has closed, all earlier ones have too.
    pub fn open_occurrence(&self, now: Timestamp) -> Option<Occurrence> {
        if !self.spec.enabled {
            return None;
        }
        let latest_start = match self.spec.end_date {
            Some(end) => min(now, end.checked_sub(SignedDuration::from_nanos(1)).ok()?),
            None => now,
        };
        let start = self.starts(latest_start, Direction::Backward).next()?;
        if self.spec.start_date.is_some_and(|s| start.timestamp() < s) {
            return None;
        }
        self.occurrence(start).filter(|o| o.contains(now))
    }

    fn occurrence(&self, start: ZonedDateTime) -> Option<Occurrence> {
        let end = start
            .checked_add(SignedDuration::from_hours(i64::from(self.spec.duration)))
            .ok()?;
        let cutoff_at = end
            .checked_sub(SignedDuration::from_hours(i64::from(self.spec.cutoff)))
            .ok()?;
        Some(Occurrence {
            start,
            end,
            cutoff_at,
        })
    }

    /// Occurrence starts in the window zone, offset applied, ignoring the
    /// date bounds. Forward: strictly after `from`, ascending. Backward: at
    /// or before `from`, descending.
    fn starts(
        &self,
        from: Timestamp,
        direction: Direction,
    ) -> Box<dyn Iterator<Item = ZonedDateTime> + '_> {
        let tz = &self.spec.time_zone;
        match &self.spec.schedule {
            Schedule::Cron(c) => Box::new(self.cron_starts(&c.cron, from, direction)),
            Schedule::Rate(r) => {
                let anchor = self.spec.start_date.unwrap_or(Timestamp::UNIX_EPOCH);
                Box::new(
                    rate_starts(anchor, r.interval, from, direction)
                        .map(|t| t.to_zoned_datetime(tz.clone())),
                )
            }
            Schedule::At(a) => {
                let at = resolve_local(tz, a.at).filter(|at| match direction {
                    Direction::Forward => at.timestamp() > from,
                    Direction::Backward => at.timestamp() <= from,
                });
                Box::new(at.into_iter())
            }
        }
    }

    fn cron_starts<'a>(
        &'a self,
        cron: &'a Cron,
        from: Timestamp,
        direction: Direction,
    ) -> impl Iterator<Item = ZonedDateTime> + 'a {
        let offset = self.spec.schedule_offset;
        // Cron times this many days before `from` may land after it once
        // offset; one extra day absorbs DST changes.
        let lead = SignedDuration::from_hours(24 * i64::from(offset) + 24);
        let search_from = if offset == 0 {
            Some(from)
        } else {
            match direction {
                Direction::Forward => from.checked_sub(lead).ok(),
                Direction::Backward => from.checked_add(lead).ok(),
            }
        };
        let mut cursor = search_from
            .and_then(timestamp_to_02)
            .map(|t| t.to_zoned(self.croner_zone.clone()));
        // Forward walks exclude `from` itself, backward walks include it.
        let mut inclusive = direction == Direction::Backward;
        let mut last: Option<ZonedDateTime> = None;
        std::iter::from_fn(move || {
            loop {
                let current = cursor.as_ref()?;
                let found = match direction {
                    Direction::Forward => cron.find_next_occurrence(current, inclusive),
                    Direction::Backward => cron.find_previous_occurrence(current, inclusive),
                };
                inclusive = false;
                let Ok(found) = found else {
                    cursor = None;
                    return None;
                };
                let start = timestamp_from_02(found.timestamp())
                    .map(|t| t.to_zoned_datetime(self.spec.time_zone.clone()));
                cursor = Some(found);
                let Some(start) = start else { continue };
                if is_later_fold(&start) {
                    continue;
                }
                let Some(start) = shift_days(&start, offset) else {
                    continue;
                };
                let in_range = match direction {
                    Direction::Forward => start.timestamp() > from,
                    Direction::Backward => start.timestamp() <= from,
                };
                // Two cron times can shift onto the same instant when the
                // offset lands both in one DST gap.
                if !in_range || last.as_ref() == Some(&start) {
                    continue;
                }
                last = Some(start.clone());
                return Some(start);
            }
        })
    }
}

/// `zdt` moved `days` calendar days later, keeping its wall-clock time where
/// it exists.
fn shift_days(zdt: &ZonedDateTime, days: u8) -> Option<ZonedDateTime> {
    if days == 0 {
        return Some(zdt.clone());
    }
    let local = zdt.datetime().checked_add(Span::new().days(days)).ok()?;
    resolve_local(zdt.time_zone(), local)
}

/// Instants `anchor + k * interval` (k >= 0) strictly after `from` going
/// forward, or at or before it going backward.
fn rate_starts(
    anchor: Timestamp,
    interval: SignedDuration,
    from: Timestamp,
    direction: Direction,
) -> impl Iterator<Item = Timestamp> {
    let base = anchor.as_nanosecond();
    let step = interval.as_nanos();
    let elapsed = from.as_nanosecond() - base;
    let first = match direction {
        Direction::Forward if elapsed < 0 => Some(0),
        Direction::Forward => Some(elapsed / step + 1),
        Direction::Backward if elapsed < 0 => None,
        Direction::Backward => Some(elapsed / step),
    };
    let delta = match direction {
        Direction::Forward => 1,
        Direction::Backward => -1,
    };
    std::iter::successors(first, move |k| Some(k + delta))
        .take_while(|k| *k >= 0)
        .map_while(move |k| {
            k.checked_mul(step)
                .and_then(|ns| ns.checked_add(base))
                .and_then(|ns| Timestamp::from_nanosecond(ns).ok())
        })
}

// ---------------------------------------------------------------------------
// Concurrency and error limits
// ---------------------------------------------------------------------------

/// An AWS `MaxConcurrency` or `MaxErrors` value: a count of targets or a
/// percentage of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Count(u32),
    Percent(u8),
}

impl Limit {
    /// How many targets may run at once out of `total`. A percentage rounds
    /// up, so `10%` of 5 targets is 1 rather than 0; the result is at least
    /// 1 (a run must make progress) and at most `total` (when `total` > 0).
    pub fn resolve_concurrency(self, total: usize) -> usize {
        let wanted = match self {
            Self::Count(n) => usize::try_from(n).unwrap_or(usize::MAX),
            Self::Percent(p) => percent_of(total, p, true),
        };
        wanted.min(total).max(1)
    }

    /// How many failed targets are tolerated out of `total`; the run stops
    /// at the next one. A percentage rounds down, as AWS's example has it
    /// (10% of 50 stops at the sixth error), so a percentage never tolerates
    /// more failures than it says.
    pub fn resolve_errors(self, total: usize) -> usize {
        match self {
            Self::Count(n) => usize::try_from(n).unwrap_or(usize::MAX),
            Self::Percent(p) => percent_of(total, p, false),
        }
    }
}

fn percent_of(total: usize, percent: u8, round_up: bool) -> usize {
    // u128 cannot overflow here: usize is at most 64 bits.
    let scaled = total as u128 * u128::from(percent);
    let value = if round_up {
        scaled.div_ceil(100)
    } else {
        scaled / 100
    };
    // At most `total`, because `percent` is at most 100.
    usize::try_from(value).unwrap_or(total)
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(n) => write!(f, "{n}"),
            Self::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for Limit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Parses AWS `MaxConcurrency`: `^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`.
pub fn parse_concurrency(text: &str) -> Result<Limit, ScheduleError> {
    parse_limit(text, false).ok_or_else(|| ScheduleError::InvalidConcurrency {
        text: text.to_owned(),
    })
}

/// Parses AWS `MaxErrors`: `^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$`.
pub fn parse_max_errors(text: &str) -> Result<Limit, ScheduleError> {
    parse_limit(text, true).ok_or_else(|| ScheduleError::InvalidMaxErrors {
        text: text.to_owned(),
    })
}

/// Both AWS patterns are "digits without a leading zero, optionally a
/// percent sign, percentages up to 100", differing only in whether zero is
/// allowed.
fn parse_limit(text: &str, zero_allowed: bool) -> Option<Limit> {
    let (digits, percent) = match text.strip_suffix('%') {
        Some(digits) => (digits, true),
        None => (text, false),
    };
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !canonical {
        return None;
    }
    let value: u32 = digits.parse().ok()?;
    if value == 0 && !zero_allowed {
        return None;
    }
    if percent {
        u8::try_from(value)
            .ok()
            .filter(|p| *p <= 100)
            .map(Limit::Percent)
    } else {
        Some(Limit::Count(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("test timestamp")
    }

    fn spec(schedule: &str, zone: &str) -> WindowSpec {
        WindowSpec {
            schedule: parse_schedule(schedule).expect("test schedule"),
            time_zone: parse_time_zone(zone).expect("test zone"),
            schedule_offset: 0,
            duration: 3,
            cutoff: 1,
            start_date: None,
            end_date: None,
            enabled: true,
        }
    }

    fn window(schedule: &str, zone: &str) -> Window {
        Window::new(spec(schedule, zone)).expect("valid window")
    }

    fn show(zdt: &ZonedDateTime) -> String {
        zdt.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }

    fn starts(w: &Window, after: &str, n: usize) -> Vec<String> {
        w.next_occurrences(ts(after), n)
            .iter()
            .map(|o| show(&o.start))
            .collect()
    }

    #[test]
    fn valid_expressions_parse_and_keep_their_text() {
        let valid = [
            "cron(0 2 ? * SUN#1 *)",
            "cron(0 2 ? * THU#3 *)",
            "cron(0 2 L * ? *)",
            "cron(15 10 ? * MON-FRI *)",
            "cron(0 22 ? * 6L *)",
            "cron(0/15 * ? * * *)",
            "cron(0/5 * * * ? *)",
            "cron(0 2 * * ? *)",
            "cron(*/5 * * * ? *)",
            "cron(0 0 2 ? * SUN *)",
            "cron(0 2 ? jan-mar mon *)",
            "cron(0 2 LW * ? *)",
            "cron(0 2 15W * ? *)",
            "cron(0 2 ? * L *)",
            "cron(0 2 ? * 1-7 *)",
            "cron(0 2 1,15 * ? 2027-2030)",
            "cron(0 2 1 1 ? */2)",
            "cron(0 8-17/3 ? * MON,WED,FRI *)",
            "cron(05 02 ? * SUN *)",
            "cron(0 2 29 2 ? *)",
            "cron(0 2 ? * MON#5 *)",
            "cron(0 2 ? * MON#1,FRI#3 *)",
            "cron(0  2  ?  *  SUN  *)",
            "rate(5 minutes)",
            "rate(1 hour)",
            "rate(12 hours)",
            "rate(1 day)",
            "rate(7 days)",
            "at(2026-12-24T22:00:00)",
        ];
        for text in valid {
            let schedule = parse_schedule(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(schedule.as_str(), text);
            assert_eq!(schedule.to_string(), text);
        }
        assert_eq!(
            parse_schedule("  rate(1 day)\n").unwrap().as_str(),
            "rate(1 day)"
        );
    }

    #[test]
    fn invalid_expressions_report_precise_errors() {
        let cases = [
            ("", "Invalid schedule expression"),
            ("0 2 * * *", "Invalid schedule expression"),
            ("cron 0 2 ? * SUN *", "Invalid schedule expression"),
            ("CRON(0 2 ? * SUN *)", "Invalid schedule expression"),
            ("cron(0 2 ? * SUN *", "Invalid schedule expression"),
            ("every(5 minutes)", "Invalid schedule expression"),
            ("cron(0 2 ? * SUN)", "Wrong number of cron fields"),
            ("cron(0 0 2 ? * SUN * *)", "Wrong number of cron fields"),
            ("cron()", "Wrong number of cron fields"),
            ("cron(0 2 * * 1 *)", "Conflicting day fields"),
            ("cron(0 2 ? * ? *)", "Conflicting day fields"),
            ("cron(0 2 1 * MON *)", "Conflicting day fields"),
            ("cron(60 2 ? * SUN *)", "Invalid cron field"),
            ("cron(0 24 ? * SUN *)", "Invalid cron field"),
            ("cron(0 2 32 * ? *)", "Invalid cron field"),
            ("cron(0 2 0 * ? *)", "Invalid cron field"),
            ("cron(0 2 ? 13 SUN *)", "Invalid cron field"),
            ("cron(0 2 ? * 8 *)", "Invalid cron field"),
            ("cron(0 2 ? * 0 *)", "Invalid cron field"),
            ("cron(0 2 ? * SUN#6 *)", "Invalid cron field"),
            ("cron(0 2 ? * SUN#0 *)", "Invalid cron field"),
            ("cron(0 2 ? * SUN# *)", "Invalid cron field"),
            ("cron(0 2 ? * MON/2 *)", "Invalid cron field"),
            ("cron(0 2 ? * FRI-MON *)", "Invalid cron field"),
            ("cron(0 2 ? * -1 *)", "Invalid cron field"),
            ("cron(0 2 ? * SUN 1969)", "Invalid cron field"),
            ("cron(0 2 ? * SUN 2200)", "Invalid cron field"),
            ("cron(0 2 ? JANUARY SUN *)", "Invalid cron field"),
            ("cron(0 2 1,,2 * ? *)", "Invalid cron field"),
            ("cron(0 */0 ? * SUN *)", "Invalid cron field"),
            ("cron(0 2/x ? * SUN *)", "Invalid cron field"),
            ("cron(? 2 ? * SUN *)", "Invalid cron field"),
            ("cron(0 2 L,1 * ? *)", "Invalid cron field"),
            ("cron(0 2 1W,15W * ? *)", "Invalid cron field"),
            ("cron(0 2 L-3 * ? *)", "Invalid cron field"),
            ("cron(0 2 ? * SUN *))", "Invalid cron field"),
            ("cron(0 2 ? * +1 *)", "Invalid cron field"),
            ("cron(* 2 ? * SUN *)", "Schedule too frequent"),
            ("cron(0/2 * ? * * *)", "Schedule too frequent"),
            ("cron(0,3 2 ? * SUN *)", "Schedule too frequent"),
            ("cron(*/30 0 2 ? * SUN *)", "Schedule too frequent"),
            // 23:58 and the next day's 00:00 are two minutes apart.
            ("cron(0,58 0,23 ? * * *)", "Schedule too frequent"),
            ("cron(0 2 30 2 ? *)", "Schedule never fires"),
            ("cron(0 2 31 4,6,9,11 ? *)", "Schedule never fires"),
            ("rate(4 minutes)", "Schedule too frequent"),
            ("rate(1 minute)", "Schedule too frequent"),
            ("rate(0 minutes)", "Invalid rate expression"),
            ("rate(-5 minutes)", "Invalid rate expression"),
            ("rate(+5 minutes)", "Invalid rate expression"),
            ("rate(5)", "Invalid rate expression"),
            ("rate()", "Invalid rate expression"),
            ("rate(five minutes)", "Invalid rate expression"),
            ("rate(5 minutes later)", "Invalid rate expression"),
            ("rate(1.5 hours)", "Invalid rate expression"),
            ("rate(99999999999 days)", "Invalid rate expression"),
            ("rate(5 weeks)", "Invalid rate unit"),
            ("rate(5 Minutes)", "Invalid rate unit"),
            ("rate(1 hours)", "Rate unit singular/plural mismatch"),
            ("rate(2 hour)", "Rate unit singular/plural mismatch"),
            ("at(2026-12-24 22:00:00)", "Invalid at expression"),
            ("at(2026-12-24T22:00)", "Invalid at expression"),
            ("at(2026-12-24T22:00:00Z)", "Invalid at expression"),
            ("at(2026-12-24T22:00:00.5)", "Invalid at expression"),
            ("at(2026-02-30T22:00:00)", "Invalid at expression"),
            ("at(2026-12-24T25:00:00)", "Invalid at expression"),
            ("at()", "Invalid at expression"),
        ];
        for (text, summary) in cases {
            let Err(error) = parse_schedule(text) else {
                panic!("{text:?} parsed, expected {summary}");
            };
            assert_eq!(error.summary(), summary, "{text:?}: {error}");
            let detail = error.detail();
            assert!(detail.ends_with('.'), "{detail}");
            assert!(detail.contains("for example"), "{detail}");
        }
    }

    #[test]
    fn next_occurrences_follow_aws_cron_semantics() {
        // (schedule, zone, after, expected starts)
        let cases: &[(&str, &str, &str, &[&str])] = &[
            (
                "cron(0 2 ? * SUN#1 *)",
                "America/New_York",
                "2026-12-01T00:00:00Z",
                &[
                    "2026-12-06T02:00:00-05:00",
                    "2027-01-03T02:00:00-05:00",
                    "2027-02-07T02:00:00-05:00",
                ],
            ),
            (
                "cron(0 2 ? * THU#3 *)",
                "America/New_York",
                "2026-12-01T00:00:00Z",
                &[
                    "2026-12-17T02:00:00-05:00",
                    "2027-01-21T02:00:00-05:00",
                    "2027-02-18T02:00:00-05:00",
                ],
            ),
            (
                "cron(0 2 L * ? *)",
                "America/New_York",
                "2026-12-01T00:00:00Z",
                &[
                    "2026-12-31T02:00:00-05:00",
                    "2027-01-31T02:00:00-05:00",
                    "2027-02-28T02:00:00-05:00",
                ],
            ),
            (
                // 2026-12-04 is a Friday.
                "cron(15 10 ? * MON-FRI *)",
                "America/New_York",
                "2026-12-04T12:00:00Z",
                &[
                    "2026-12-04T10:15:00-05:00",
                    "2026-12-07T10:15:00-05:00",
                    "2026-12-08T10:15:00-05:00",
                ],
            ),
            (
                "cron(0 22 ? * 6L *)",
                "America/New_York",
                "2026-12-01T00:00:00Z",
                &[
                    "2026-12-25T22:00:00-05:00",
                    "2027-01-29T22:00:00-05:00",
                    "2027-02-26T22:00:00-05:00",
                ],
            ),
            (
                // AWS numbers weekdays 1=SUN..7=SAT.
                "cron(0 2 ? * 1 *)",
                "UTC",
                "2026-12-01T00:00:00Z",
                &["2026-12-06T02:00:00+00:00", "2026-12-13T02:00:00+00:00"],
            ),
            (
                "cron(0 2 ? * 7 *)",
                "UTC",
                "2026-12-01T00:00:00Z",
                &["2026-12-05T02:00:00+00:00", "2026-12-12T02:00:00+00:00"],
            ),
            (
                // A bare L in Day-of-week is Saturday.
                "cron(0 2 ? * L *)",
                "UTC",
                "2026-12-01T00:00:00Z",
                &["2026-12-05T02:00:00+00:00"],
            ),
            (
                "cron(0 3 LW * ? *)",
                "UTC",
                "2027-01-01T00:00:00Z",
                &["2027-01-29T03:00:00+00:00", "2027-02-26T03:00:00+00:00"],
            ),
            (
                // 2027-05-15 is a Saturday: the nearest weekday is Friday.
                "cron(0 3 15W 5 ? *)",
                "UTC",
                "2027-01-01T00:00:00Z",
                &["2027-05-14T03:00:00+00:00"],
            ),
            (
                "cron(0/30 9 ? * MON *)",
                "UTC",
                "2026-12-01T00:00:00Z",
                &[
                    "2026-12-07T09:00:00+00:00",
                    "2026-12-07T09:30:00+00:00",
                    "2026-12-14T09:00:00+00:00",
                ],
            ),
            (
                "cron(30 0 12 ? * SAT *)",
                "UTC",
                "2026-12-01T00:00:00Z",
                &["2026-12-05T12:00:30+00:00"],
            ),
            (
                "cron(0 2 1 JAN,JUL ? *)",
                "UTC",
                "2026-12-01T00:00:00Z",
                &["2027-01-01T02:00:00+00:00", "2027-07-01T02:00:00+00:00"],
            ),
            (
                "cron(0 2 1 1 ? 2028)",
                "UTC",
                "2026-12-01T00:00:00Z",
                &["2028-01-01T02:00:00+00:00"],
            ),
            (
                // Year steps count from 1970, as AWS's range starts there.
                "cron(0 2 1 1 ? */2)",
                "UTC",
                "2026-12-01T00:00:00Z",
                &["2028-01-01T02:00:00+00:00", "2030-01-01T02:00:00+00:00"],
            ),
            ("cron(0 2 1 1 ? 2020)", "UTC", "2026-12-01T00:00:00Z", &[]),
            (
                "cron(0 9 ? * MON *)",
                "Asia/Kolkata",
                "2026-12-01T00:00:00Z",
                &["2026-12-07T09:00:00+05:30"],
            ),
        ];
        for (schedule, zone, after, expected) in cases {
            let w = window(schedule, zone);
            assert_eq!(
                starts(&w, after, expected.len() + 1)[..]
                    .iter()
                    .take(expected.len().max(1))
                    .cloned()
                    .collect::<Vec<_>>(),
                expected.to_vec(),
                "{schedule} in {zone} after {after}"
            );
        }
    }

    #[test]
    fn occurrences_follow_dst_rules() {
        let cases: &[(&str, &str, &str, &[&str])] = &[
            (
                // Spring forward: 02:30 does not exist, croner runs at 03:00.
                "cron(30 2 ? * SUN *)",
                "Europe/Berlin",
                "2026-03-27T00:00:00Z",
                &["2026-03-29T03:00:00+02:00", "2026-04-05T02:30:00+02:00"],
            ),
            (
                // Interval patterns skip the missing times.
                "cron(0/30 2 ? * SUN *)",
                "Europe/Berlin",
                "2026-03-27T00:00:00Z",
                &["2026-04-05T02:00:00+02:00", "2026-04-05T02:30:00+02:00"],
            ),
            (
                // Fall back: 01:30 happens twice and runs at the earlier one.
                "cron(30 1 ? * SUN *)",
                "America/New_York",
                "2026-10-31T00:00:00Z",
                &["2026-11-01T01:30:00-04:00", "2026-11-08T01:30:00-05:00"],
            ),
            (
                "cron(0/30 1 ? * SUN *)",
                "America/New_York",
                "2026-10-31T00:00:00Z",
                &[
                    "2026-11-01T01:00:00-04:00",
                    "2026-11-01T01:30:00-04:00",
                    "2026-11-08T01:00:00-05:00",
                ],
            ),
            (
                "at(2026-03-29T02:30:00)",
                "Europe/Berlin",
                "2026-01-01T00:00:00Z",
                &["2026-03-29T03:00:00+02:00"],
            ),
            (
                "at(2026-11-01T01:30:00)",
                "America/New_York",
                "2026-01-01T00:00:00Z",
                &["2026-11-01T01:30:00-04:00"],
            ),
            (
                // rate() counts absolute time, so local time moves with DST.
                "rate(1 day)",
                "Europe/Berlin",
                "2026-03-27T12:00:00Z",
                &[
                    "2026-03-28T01:00:00+01:00",
                    "2026-03-29T01:00:00+01:00",
                    "2026-03-30T02:00:00+02:00",
                ],
            ),
        ];
        for (schedule, zone, after, expected) in cases {
            let w = window(schedule, zone);
            assert_eq!(
                starts(&w, after, expected.len()),
                expected.to_vec(),
                "{schedule} in {zone}"
            );
        }
    }

    #[test]
    fn offset_moves_cron_times_by_calendar_days() {
        let mut s = spec("cron(0 2 ? * TUE#2 *)", "America/New_York");
        s.schedule_offset = 2;
        let w = Window::new(s).unwrap();
        let expected = ["2026-12-10T02:00:00-05:00", "2027-01-14T02:00:00-05:00"];
        assert_eq!(starts(&w, "2026-12-01T00:00:00Z", 2), expected);
        // After the cron time (Dec 8) but before the offset start (Dec 10).
        assert_eq!(starts(&w, "2026-12-09T00:00:00Z", 1), expected[..1]);
        assert_eq!(starts(&w, "2026-12-10T07:00:00Z", 1), expected[1..]);

        // Saturday 02:30 plus one day lands in Berlin's spring-forward gap.
        let mut s = spec("cron(30 2 ? * SAT *)", "Europe/Berlin");
        s.schedule_offset = 1;
        let w = Window::new(s).unwrap();
        assert_eq!(
            starts(&w, "2026-03-25T00:00:00Z", 2),
            ["2026-03-29T03:00:00+02:00", "2026-04-05T02:30:00+02:00"]
        );
    }

    #[test]
    fn rate_counts_from_start_date_or_the_epoch() {
        let w = window("rate(1 day)", "UTC");
        assert_eq!(
            starts(&w, "2026-12-01T12:00:00Z", 2),
            ["2026-12-02T00:00:00+00:00", "2026-12-03T00:00:00+00:00"]
        );
        // An occurrence exactly at `after` is not "after" it.
        assert_eq!(
            starts(&w, "2026-12-02T00:00:00Z", 1),
            ["2026-12-03T00:00:00+00:00"]
        );
        let mut s = spec("rate(6 hours)", "UTC");
        s.start_date = Some(ts("2026-12-01T03:00:00Z"));
        let w = Window::new(s).unwrap();
        assert_eq!(
            starts(&w, "2026-11-01T00:00:00Z", 3),
            [
                "2026-12-01T03:00:00+00:00",
                "2026-12-01T09:00:00+00:00",
                "2026-12-01T15:00:00+00:00"
            ]
        );
        assert_eq!(
            starts(&w, "2026-12-01T10:00:00Z", 1),
            ["2026-12-01T15:00:00+00:00"]
        );
    }

    #[test]
    fn at_fires_once() {
        let w = window("at(2026-12-24T22:00:00)", "America/New_York");
        assert_eq!(
            starts(&w, "2026-12-01T00:00:00Z", 5),
            ["2026-12-24T22:00:00-05:00"]
        );
        assert!(starts(&w, "2026-12-25T03:00:00Z", 5).is_empty());
    }

    #[test]
    fn date_bounds_and_enabled_limit_occurrences() {
        let schedule = "cron(0 2 ? * SUN#1 *)";
        let zone = "America/New_York";
        let after = "2026-12-01T00:00:00Z";

        let mut s = spec(schedule, zone);
        s.start_date = Some(ts("2027-01-10T00:00:00Z"));
        let w = Window::new(s).unwrap();
        assert_eq!(starts(&w, after, 1), ["2027-02-07T02:00:00-05:00"]);

        // start_date exactly at an occurrence includes it.
        let mut s = spec(schedule, zone);
        s.start_date = Some(ts("2027-01-03T07:00:00Z"));
        let w = Window::new(s).unwrap();
        assert_eq!(starts(&w, after, 1), ["2027-01-03T02:00:00-05:00"]);

        // end_date exactly at an occurrence excludes it.
        let mut s = spec(schedule, zone);
        s.end_date = Some(ts("2027-02-07T07:00:00Z"));
        let w = Window::new(s).unwrap();
        assert_eq!(
            starts(&w, after, 10),
            ["2026-12-06T02:00:00-05:00", "2027-01-03T02:00:00-05:00"]
        );

        let mut s = spec(schedule, zone);
        s.enabled = false;
        let w = Window::new(s).unwrap();
        assert!(starts(&w, after, 10).is_empty());
        assert_eq!(w.open_occurrence(ts("2026-12-06T08:00:00Z")), None);

        assert!(
            window(schedule, zone)
                .next_occurrences(ts(after), 0)
                .is_empty()
        );
    }

    #[test]
    fn occurrence_has_end_and_cutoff() {
        let mut s = spec("cron(0 2 ? * SUN#1 *)", "America/New_York");
        s.duration = 4;
        s.cutoff = 1;
        let w = Window::new(s.clone()).unwrap();
        let occurrence = &w.next_occurrences(ts("2026-12-01T00:00:00Z"), 1)[0];
        assert_eq!(show(&occurrence.end), "2026-12-06T06:00:00-05:00");
        assert_eq!(show(&occurrence.cutoff_at), "2026-12-06T05:00:00-05:00");

        s.cutoff = 0;
        let w = Window::new(s).unwrap();
        let occurrence = &w.next_occurrences(ts("2026-12-01T00:00:00Z"), 1)[0];
        assert_eq!(occurrence.cutoff_at, occurrence.end);

        // Duration is absolute hours: a window opening before the fall-back
        // closes one wall-clock hour "early".
        let mut s = spec("cron(0 0 ? * SUN *)", "America/New_York");
        s.duration = 3;
        let w = Window::new(s).unwrap();
        let occurrence = &w.next_occurrences(ts("2026-10-31T12:00:00Z"), 1)[0];
        assert_eq!(show(&occurrence.end), "2026-11-01T02:00:00-05:00");
    }

    #[test]
    fn open_occurrence_contains_now() {
        // Opens Sundays 02:00-05:00 New York (07:00-10:00Z in December).
        let weekly = window("cron(0 2 ? * SUN *)", "America/New_York");
        let mut bounded = spec("cron(0 2 ? * SUN *)", "America/New_York");
        bounded.end_date = Some(ts("2026-12-06T07:00:00Z"));
        let ends_at_start = Window::new(bounded.clone()).unwrap();
        bounded.end_date = Some(ts("2026-12-06T07:00:01Z"));
        let ends_after_start = Window::new(bounded.clone()).unwrap();
        bounded.end_date = None;
        bounded.start_date = Some(ts("2026-12-06T07:00:01Z"));
        let starts_after_open = Window::new(bounded).unwrap();

        let mut rate = spec("rate(6 hours)", "UTC");
        rate.start_date = Some(ts("2026-12-01T03:00:00Z"));
        rate.duration = 2;
        let rate = Window::new(rate).unwrap();

        let mut offset = spec("cron(0 2 ? * TUE#2 *)", "America/New_York");
        offset.schedule_offset = 2;
        let offset = Window::new(offset).unwrap();

        let at = window("at(2026-12-24T22:00:00)", "America/New_York");
        let gap = window("cron(30 2 ? * SUN *)", "Europe/Berlin");
        let mut fold = spec("cron(0/30 1 ? * SUN *)", "America/New_York");
        fold.duration = 1;
        fold.cutoff = 0;
        let fold = Window::new(fold).unwrap();

        // (window, now, expected start)
        let cases: &[(&Window, &str, Option<&str>)] = &[
            (
                &weekly,
                "2026-12-06T07:00:00Z",
                Some("2026-12-06T02:00:00-05:00"),
            ),
            (
                &weekly,
                "2026-12-06T08:30:00Z",
                Some("2026-12-06T02:00:00-05:00"),
            ),
            (
                &weekly,
                "2026-12-06T09:59:59.999Z",
                Some("2026-12-06T02:00:00-05:00"),
            ),
            (&weekly, "2026-12-06T10:00:00Z", None),
            (&weekly, "2026-12-06T06:59:59Z", None),
            (&weekly, "2026-12-08T08:00:00Z", None),
            (&ends_at_start, "2026-12-06T08:00:00Z", None),
            (
                &ends_at_start,
                "2026-11-29T08:00:00Z",
                Some("2026-11-29T02:00:00-05:00"),
            ),
            (
                &ends_after_start,
                "2026-12-06T09:00:00Z",
                Some("2026-12-06T02:00:00-05:00"),
            ),
            (&starts_after_open, "2026-12-06T08:00:00Z", None),
            (
                &starts_after_open,
                "2026-12-13T08:00:00Z",
                Some("2026-12-13T02:00:00-05:00"),
            ),
            (
                &rate,
                "2026-12-01T10:00:00Z",
                Some("2026-12-01T09:00:00+00:00"),
            ),
            (&rate, "2026-12-01T11:30:00Z", None),
            (&rate, "2026-12-01T02:59:00Z", None),
            (
                &offset,
                "2026-12-10T08:00:00Z",
                Some("2026-12-10T02:00:00-05:00"),
            ),
            (&offset, "2026-12-08T08:00:00Z", None),
            (
                &at,
                "2026-12-25T04:00:00Z",
                Some("2026-12-24T22:00:00-05:00"),
            ),
            (&at, "2026-12-25T06:00:00Z", None),
            (
                &gap,
                "2026-03-29T01:30:00Z",
                Some("2026-03-29T03:00:00+02:00"),
            ),
            // 01:15 EST, the second pass through 01:00-02:00: the open run is
            // the one that started at 01:30 EDT.
            (
                &fold,
                "2026-11-01T06:15:00Z",
                Some("2026-11-01T01:30:00-04:00"),
            ),
        ];
        for (w, now, expected) in cases {
            let open = w.open_occurrence(ts(now));
            assert_eq!(
                open.as_ref().map(|o| show(&o.start)).as_deref(),
                *expected,
                "{} at {now}",
                w.spec().schedule
            );
            if let Some(o) = open {
                assert!(o.contains(ts(now)));
            }
        }
    }

    #[test]
    fn fits_checks_work_against_the_cutoff() {
        let mut s = spec("cron(0 2 ? * SUN *)", "UTC");
        s.duration = 3;
        s.cutoff = 1;
        let w = Window::new(s).unwrap();
        // 02:00-05:00, cutoff at 04:00.
        let occurrence = &w.next_occurrences(ts("2026-12-01T00:00:00Z"), 1)[0];
        let hours = SignedDuration::from_hours;
        let minutes = SignedDuration::from_mins;
        let cases = [
            ("2026-12-06T02:00:00Z", hours(2), true),
            ("2026-12-06T02:00:00Z", hours(2) + minutes(1), false),
            ("2026-12-06T01:00:00Z", hours(2), true),
            ("2026-12-06T03:00:00Z", hours(1), true),
            ("2026-12-06T03:59:00Z", minutes(1), true),
            ("2026-12-06T04:00:00Z", SignedDuration::ZERO, false),
            ("2026-12-06T04:30:00Z", minutes(1), false),
            ("2026-12-06T06:00:00Z", minutes(1), false),
            ("2026-12-06T02:00:00Z", -minutes(1), false),
            ("2026-12-06T02:00:00Z", SignedDuration::MAX, false),
        ];
        for (from, estimated, expected) in cases {
            assert_eq!(
                occurrence.fits(ts(from), estimated),
                expected,
                "{from} + {estimated:#}"
            );
        }
    }

    #[test]
    fn window_settings_are_validated() {
        type Edit = fn(&mut WindowSpec);
        let cases: &[(Edit, Option<&str>)] = &[
            (|_| {}, None),
            (|s| s.duration = 0, Some("Value out of range")),
            (|s| s.duration = 25, Some("Value out of range")),
            (|s| s.duration = 24, None),
            (|s| s.cutoff = 24, Some("Value out of range")),
            (|s| s.cutoff = 3, Some("Cutoff not shorter than duration")),
            (|s| s.cutoff = 2, None),
            (|s| s.schedule_offset = 6, None),
            (|s| s.schedule_offset = 7, Some("Value out of range")),
            (
                |s| {
                    s.schedule = parse_schedule("rate(1 day)").unwrap();
                    s.schedule_offset = 1;
                },
                Some("Offset needs a cron schedule"),
            ),
            (
                |s| {
                    s.start_date = Some(ts("2027-01-01T00:00:00Z"));
                    s.end_date = Some(ts("2027-01-01T00:00:00Z"));
                },
                Some("End date not after start date"),
            ),
            (
                |s| {
                    s.start_date = Some(ts("2027-01-01T00:00:00Z"));
                    s.end_date = Some(ts("2027-01-01T00:00:01Z"));
                },
                None,
            ),
            (|s| s.time_zone = TimeZone::UTC, None),
            (
                |s| s.time_zone = TimeZone::fixed(jiff::tz::offset(-3)),
                None,
            ),
            (
                |s| s.time_zone = TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap(),
                Some("Unsupported time zone"),
            ),
        ];
        for (index, (edit, expected)) in cases.iter().enumerate() {
            let mut s = spec("cron(0 2 ? * SUN *)", "Europe/Berlin");
            edit(&mut s);
            let result = Window::new(s);
            assert_eq!(
                result.as_ref().err().map(ScheduleError::summary),
                *expected,
                "case {index}: {result:?}"
            );
        }
    }

    #[test]
    fn fixed_offset_zone_evaluates_cron() {
        let mut s = spec("cron(0 2 ? * SUN *)", "UTC");
        s.time_zone = TimeZone::fixed(jiff::tz::offset(-3));
        let w = Window::new(s).unwrap();
        assert_eq!(
            starts(&w, "2026-12-01T00:00:00Z", 1),
            ["2026-12-06T02:00:00-03:00"]
        );
    }

    #[test]
    fn time_zones_parse_and_suggest_near_matches() {
        for name in ["Europe/Berlin", "America/New_York", "UTC", " Asia/Tokyo "] {
            assert!(parse_time_zone(name).is_ok(), "{name}");
        }
        let cases = [
            ("Europe/Berln", Some("Europe/Berlin")),
            ("Amercia/New_York", Some("America/New_York")),
            ("berlin", Some("Europe/Berlin")),
            ("new york", Some("America/New_York")),
            ("Mars/Olympus_Mons", None),
            ("", None),
        ];
        for (name, suggestion) in cases {
            let error = parse_time_zone(name).unwrap_err();
            assert_eq!(error.summary(), "Unknown time zone");
            let ScheduleError::UnknownTimeZone {
                suggestion: got, ..
            } = &error
            else {
                panic!("{error:?}");
            };
            assert_eq!(got.as_deref(), suggestion, "{name}");
            assert!(error.detail().contains("Europe/Berlin"), "{error}");
        }
        assert!(
            parse_time_zone("Europe/Berln")
                .unwrap_err()
                .detail()
                .contains("did you mean Europe/Berlin?")
        );
    }

    #[test]
    fn limits_parse_like_aws_patterns() {
        use Limit::{Count, Percent};
        // (text, max_concurrency, max_errors)
        let cases = [
            ("1", Some(Count(1)), Some(Count(1))),
            ("10", Some(Count(10)), Some(Count(10))),
            ("1000", Some(Count(1000)), Some(Count(1000))),
            ("0", None, Some(Count(0))),
            ("1%", Some(Percent(1)), Some(Percent(1))),
            ("50%", Some(Percent(50)), Some(Percent(50))),
            ("100%", Some(Percent(100)), Some(Percent(100))),
            ("0%", None, Some(Percent(0))),
            ("101%", None, None),
            ("1000%", None, None),
            ("05", None, None),
            ("05%", None, None),
            ("00", None, None),
            ("1.5", None, None),
            ("1.5%", None, None),
            ("-1", None, None),
            ("+1", None, None),
            (" 1", None, None),
            ("1 %", None, None),
            ("%", None, None),
            ("", None, None),
            ("ten", None, None),
            ("99999999999", None, None),
        ];
        for (text, concurrency, errors) in cases {
            assert_eq!(
                parse_concurrency(text).ok(),
                concurrency,
                "concurrency {text:?}"
            );
            assert_eq!(parse_max_errors(text).ok(), errors, "errors {text:?}");
        }
        let error = parse_concurrency("0").unwrap_err();
        assert_eq!(error.summary(), "Invalid max concurrency");
        assert!(error.detail().contains("for example"));
        assert_eq!(
            parse_max_errors("101%").unwrap_err().summary(),
            "Invalid max errors"
        );
    }

    #[test]
    fn limits_resolve_and_display() {
        use Limit::{Count, Percent};
        // (limit, total, concurrency, errors)
        let cases = [
            (Count(10), 100, 10, 10),
            (Count(10), 3, 3, 10),
            (Count(0), 5, 1, 0),
            (Percent(10), 50, 5, 5),
            (Percent(10), 5, 1, 0),
            (Percent(10), 15, 2, 1),
            (Percent(33), 10, 4, 3),
            (Percent(100), 7, 7, 7),
            (Percent(0), 7, 1, 0),
            (Percent(50), 0, 1, 0),
        ];
        for (limit, total, concurrency, errors) in cases {
            assert_eq!(
                limit.resolve_concurrency(total),
                concurrency,
                "{limit} of {total}"
            );
            assert_eq!(limit.resolve_errors(total), errors, "{limit} of {total}");
        }
        for text in ["7", "0", "25%", "100%", "0%"] {
            assert_eq!(parse_max_errors(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn schedule_deserializes_through_the_parser() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};
        let parse = |text: &'static str| {
            let deserializer: StrDeserializer<'_, Error> = text.into_deserializer();
            Schedule::deserialize(deserializer)
        };
        assert_eq!(parse("rate(1 day)").unwrap().as_str(), "rate(1 day)");
        let error = parse("rate(1 days)").unwrap_err().to_string();
        assert!(error.contains("rate(1 day)"), "{error}");
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        let cases = [
            ("", "", 0),
            ("abc", "", 3),
            ("berln", "berlin", 1),
            ("kitten", "sitting", 3),
            ("ab", "ba", 2),
        ];
        for (a, b, d) in cases {
            assert_eq!(edit_distance(a, b), d, "{a} {b}");
            assert_eq!(edit_distance(b, a), d, "{b} {a}");
        }
    }

    #[test]
    fn extreme_timestamps_do_not_panic() {
        for (text, offset) in PROPERTY_SCHEDULES {
            for zone in PROPERTY_ZONES {
                let mut s = spec(text, zone);
                s.schedule_offset = offset;
                let w = Window::new(s).unwrap();
                for t in [Timestamp::MIN, Timestamp::MAX] {
                    let _ = w.next_occurrences(t, 3);
                    let _ = w.open_occurrence(t);
                }
            }
        }
    }

    /// Schedules and zones for the window properties: cron with and without
    /// offset across DST zones, rate and at.
    const PROPERTY_SCHEDULES: [(&str, u8); 7] = [
        ("cron(30 2 ? * SUN *)", 0),
        ("cron(0/30 1 ? * * *)", 0),
        ("cron(0 22 ? * 6L *)", 0),
        ("cron(15 10 ? * MON-FRI *)", 3),
        ("cron(0 2 L * ? *)", 6),
        ("rate(7 hours)", 0),
        ("at(2026-03-29T02:30:00)", 0),
    ];
    const PROPERTY_ZONES: [&str; 4] = [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "UTC",
    ];

    proptest! {
        #[test]
        fn parse_schedule_never_panics(text in ".{0,64}") {
            let _ = parse_schedule(&text);
        }

        #[test]
        fn parse_schedule_never_panics_on_cron_like_input(
            fields in proptest::collection::vec("[0-9A-Z*?/,#LW-]{1,6}", 0..9),
        ) {
            let text = format!("cron({})", fields.join(" "));
            if let Err(error) = parse_schedule(&text) {
                prop_assert!(error.detail().contains("for example"));
            }
        }

        #[test]
        fn limits_never_panic(text in "[0-9%.+-]{0,12}") {
            let _ = parse_concurrency(&text);
            let _ = parse_max_errors(&text);
        }

        #[test]
        fn occurrences_are_ordered_and_reopenable(
            schedule in 0..PROPERTY_SCHEDULES.len(),
            zone in 0..PROPERTY_ZONES.len(),
            seconds in 1_767_225_600_i64..1_830_297_600, // 2026-01-01 .. 2028-01-01
        ) {
            let (text, offset) = PROPERTY_SCHEDULES[schedule];
            let mut s = spec(text, PROPERTY_ZONES[zone]);
            s.schedule_offset = offset;
            let w = Window::new(s).unwrap();
            let after = Timestamp::from_second(seconds).unwrap();
            let occurrences = w.next_occurrences(after, 5);
            let mut previous = after;
            for o in &occurrences {
                prop_assert!(o.start.timestamp() > previous);
                prop_assert!(o.cutoff_at <= o.end);
                previous = o.start.timestamp();
                // The window is open at its own start and reports that start.
                let open = w.open_occurrence(o.start.timestamp());
                prop_assert_eq!(open.as_ref().map(|o| &o.start), Some(&o.start));
            }
            if let Some(open) = w.open_occurrence(after) {
                prop_assert!(open.contains(after));
            }
        }
    }
}
