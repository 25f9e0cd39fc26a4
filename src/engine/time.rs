//! Simulated time: whole milliseconds since the scenario started. No floats
//! in the clock, so every machine orders events identically.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An instant of simulated time, in milliseconds since the run started.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(pub u64);

/// A span of simulated time, in milliseconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);

    /// Milliseconds since the start.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// This instant moved later by `d` (saturating, never wraps).
    pub fn plus(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// Time elapsed since `earlier` (zero if `earlier` is later).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    /// `T+31.000s`, the form every timeline line starts with (also what
    /// it prints as).
    pub fn offset_label(self) -> String {
        self.to_string()
    }
}

/// A periodic loop (a kubelet's status updates, a controller's monitor
/// pass): it fires at `phase + k × period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticks {
    period: u64,
    phase: u64,
}

impl Ticks {
    /// Every `period`, from the start.
    pub fn every(period: SimDuration) -> Self {
        Ticks {
            period: period.0.max(1),
            phase: 0,
        }
    }

    /// Every `period`, from a phase drawn from `key`'s stream: each node's
    /// loop runs on its own offset.
    pub fn seeded(period: SimDuration, key: &super::StreamKey<'_>, seed: u64) -> Self {
        use rand::Rng as _;
        let period = period.0.max(1);
        Ticks {
            period,
            phase: key.stream(seed).next_u64() % period,
        }
    }

    /// The first tick strictly after `t`.
    pub fn next_after(self, t: SimTime) -> SimTime {
        if t.0 < self.phase {
            return SimTime(self.phase);
        }
        SimTime(self.phase + ((t.0 - self.phase) / self.period + 1) * self.period)
    }

    /// The last tick at or before `t` (the start if there was none).
    pub fn last_at_or_before(self, t: SimTime) -> SimTime {
        if t.0 < self.phase {
            return SimTime::ZERO;
        }
        SimTime(self.phase + (t.0 - self.phase) / self.period * self.period)
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms)
    }

    /// A duration of `s` whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * 1000)
    }

    /// Length in milliseconds.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// Parses the forms people and Kubernetes write: `30s`, `2m3s`, `250ms`,
    /// `1.5s`, `1h`, `0`. Units: `ms`, `s`, `m`, `h`. The result must be a whole
    /// number of milliseconds; negative durations are refused.
    pub fn parse(text: &str) -> Result<SimDuration, String> {
        let s = text.trim();
        if s.is_empty() {
            return Err("empty duration; write e.g. \"30s\", \"2m3s\" or \"250ms\"".into());
        }
        if s.starts_with('-') {
            return Err(format!(
                "duration `{s}` is negative; durations must be zero or more"
            ));
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        if s == "0" {
            return Ok(SimDuration::ZERO);
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        // Accumulate in micro-milliseconds (1e-6 ms) so that "1.5s" is exact.
        let mut total_nano_ms: u128 = 0;
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            let number = &s[start..i];
            if number.is_empty() {
                return Err(format!(
                    "duration `{text}`: expected a number at `{}`; write e.g. \"30s\", \"2m3s\", \"250ms\"",
                    &s[start..]
                ));
            }
            let ustart = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = &s[ustart..i];
            let unit_ms: u128 = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "" => {
                    return Err(format!(
                        "duration `{text}` has no unit after `{number}`; use ms, s, m or h (e.g. \"{number}s\")"
                    ));
                }
                other => {
                    return Err(format!(
                        "duration `{text}` has unknown unit `{other}`; use ms, s, m or h"
                    ));
                }
            };
            let (int_part, frac_part) = match number.split_once('.') {
                Some((a, b)) => (a, b),
                None => (number, ""),
            };
            if frac_part.contains('.') || (int_part.is_empty() && frac_part.is_empty()) {
                return Err(format!("duration `{text}`: `{number}` is not a number"));
            }
            if frac_part.len() > 6 {
                return Err(format!(
                    "duration `{text}`: too many decimals in `{number}`"
                ));
            }
            let int: u128 = if int_part.is_empty() {
                0
            } else {
                int_part
                    .parse()
                    .map_err(|_| format!("duration `{text}`: `{number}` is too large"))?
            };
            let frac: u128 = if frac_part.is_empty() {
                0
            } else {
                let digits: u128 = frac_part.parse().unwrap_or(0);
                digits * 10u128.pow(6 - frac_part.len() as u32)
            };
            total_nano_ms = total_nano_ms
                .checked_add((int * 1_000_000 + frac) * unit_ms)
                .ok_or_else(|| format!("duration `{text}` is too large"))?;
        }
        if total_nano_ms % 1_000_000 != 0 {
            return Err(format!(
                "duration `{text}` is not a whole number of milliseconds (the clock's resolution)"
            ));
        }
        let ms = total_nano_ms / 1_000_000;
        u64::try_from(ms)
            .map(SimDuration)
            .map_err(|_| format!("duration `{text}` is too large"))
    }
}

impl fmt::Display for SimDuration {
    /// Go-style: `250ms`, `1.5s`, `2m3s`, `1h0m0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms == 0 {
            return write!(f, "0s");
        }
        if ms < 1000 {
            return write!(f, "{ms}ms");
        }
        let h = ms / 3_600_000;
        let m = (ms / 60_000) % 60;
        let s = (ms / 1000) % 60;
        let frac = ms % 1000;
        let mut secs = s.to_string();
        if frac != 0 {
            let digits = format!("{frac:03}");
            secs.push('.');
            secs.push_str(digits.trim_end_matches('0'));
        }
        if h > 0 {
            write!(f, "{h}h{m}m{secs}s")
        } else if m > 0 {
            write!(f, "{m}m{secs}s")
        } else {
            write!(f, "{secs}s")
        }
    }
}

impl fmt::Display for SimTime {
    /// [`SimTime::offset_label`]. Written straight out, without a string
    /// of its own (the timeline prints a million); with a width, padded as
    /// a str is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, ms) = (self.0 / 1000, self.0 % 1000);
        if f.width().is_none() {
            write!(f, "T+{s}.{ms:03}s")
        } else {
            f.pad(&format!("T+{s}.{ms:03}s"))
        }
    }
}

impl Serialize for SimDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SimDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"30s\", \"2m3s\" or \"250ms\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SimDuration, E> {
                SimDuration::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fire_on_their_phase() {
        let t = Ticks {
            period: 10_000,
            phase: 3_000,
        };
        assert_eq!(t.next_after(SimTime(0)), SimTime(3_000));
        assert_eq!(
            t.next_after(SimTime(3_000)),
            SimTime(13_000),
            "strictly after"
        );
        assert_eq!(t.next_after(SimTime(12_999)), SimTime(13_000));
        assert_eq!(t.last_at_or_before(SimTime(2_999)), SimTime::ZERO);
        assert_eq!(t.last_at_or_before(SimTime(13_000)), SimTime(13_000));
        assert_eq!(t.last_at_or_before(SimTime(22_999)), SimTime(13_000));
        let every = Ticks::every(SimDuration::from_secs(5));
        assert_eq!(every.next_after(SimTime(5_000)), SimTime(10_000));
    }

    #[test]
    fn parses_the_usual_forms() {
        assert_eq!(SimDuration::parse("30s").unwrap().0, 30_000);
        assert_eq!(SimDuration::parse("2m3s").unwrap().0, 123_000);
        assert_eq!(SimDuration::parse("250ms").unwrap().0, 250);
        assert_eq!(SimDuration::parse("1.5s").unwrap().0, 1_500);
        assert_eq!(SimDuration::parse("1h").unwrap().0, 3_600_000);
        assert_eq!(SimDuration::parse("0").unwrap().0, 0);
        assert_eq!(SimDuration::parse("1m0.25s").unwrap().0, 60_250);
    }

    #[test]
    fn refuses_bad_durations() {
        for bad in ["", "-5s", "5", "5x", "s", "1.2.3s", "0.5ms", "1..s"] {
            assert!(SimDuration::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn displays_like_go() {
        assert_eq!(SimDuration(250).to_string(), "250ms");
        assert_eq!(SimDuration(1500).to_string(), "1.5s");
        assert_eq!(SimDuration(123_000).to_string(), "2m3s");
        assert_eq!(SimDuration(3_600_000).to_string(), "1h0m0s");
        assert_eq!(SimTime(31_000).offset_label(), "T+31.000s");
        assert_eq!(SimTime(5).offset_label(), "T+0.005s");
    }
}
