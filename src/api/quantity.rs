//! Kubernetes resource quantities (`100Gi`, `500m`, `1.5G`, `2e3`), held as
//! an exact integer number of milli-units so comparisons never round.

use super::meta::Name;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;

/// A quantity as written (kept for display, like `kubectl` shows it) and its
/// exact value in thousandths of the base unit (bytes, cores).
///
/// The text is interned: a run writes the same few sizes millions of times
/// (every copy of a claim or volume copies its capacity), so a quantity
/// copies as two words and holds no allocation of its own.
#[derive(Clone, Copy, Debug)]
pub struct Quantity {
    text: Name,
    milli: i128,
}

impl Quantity {
    /// Parses a Kubernetes quantity. Refuses negative values: no storage or
    /// CPU request in a scenario can be negative.
    pub fn parse(text: &str) -> Result<Quantity, String> {
        let s = text.trim();
        let hint = "write a Kubernetes quantity such as \"100Gi\", \"500Mi\", \"1.5G\" or \"500m\"";
        if s.is_empty() {
            return Err(format!("empty quantity; {hint}"));
        }
        if s.starts_with('-') {
            return Err(format!(
                "quantity `{s}` is negative; it must be zero or more"
            ));
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        let num_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, suffix) = s.split_at(num_end);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(format!("`{s}` is not a quantity; {hint}"));
        }
        // (numerator, denominator) of the multiplier, in milli-units.
        let (mul, exp10): (i128, i32) = match suffix {
            "" => (1, 3),
            "n" => (1, -6),
            "u" => (1, -3),
            "m" => (1, 0),
            "k" => (1, 6),
            "M" => (1, 9),
            "G" => (1, 12),
            "T" => (1, 15),
            "P" => (1, 18),
            "E" => (1, 21),
            "Ki" => (1 << 10, 3),
            "Mi" => (1 << 20, 3),
            "Gi" => (1 << 30, 3),
            "Ti" => (1 << 40, 3),
            "Pi" => (1 << 50, 3),
            "Ei" => (1 << 60, 3),
            other => {
                if let Some(e) = other.strip_prefix(['e', 'E']) {
                    let e: i32 = e
                        .parse()
                        .map_err(|_| format!("`{s}`: bad exponent `{other}`; {hint}"))?;
                    (1, e + 3)
                } else {
                    return Err(format!("`{s}` has unknown suffix `{other}`; {hint}"));
                }
            }
        };
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        let digits = format!("{int_part}{frac_part}");
        let mut value: i128 = digits
            .trim_start_matches('0')
            .parse::<i128>()
            .or_else(|e| {
                if digits.trim_start_matches('0').is_empty() {
                    Ok(0)
                } else {
                    Err(e)
                }
            })
            .map_err(|_| format!("quantity `{s}` is too large"))?;
        value = value
            .checked_mul(mul)
            .ok_or_else(|| format!("quantity `{s}` is too large"))?;
        let exp = exp10 - frac_part.len() as i32;
        let milli = if exp >= 0 {
            10i128
                .checked_pow(exp as u32)
                .and_then(|p| value.checked_mul(p))
                .ok_or_else(|| format!("quantity `{s}` is too large"))?
        } else {
            // Kubernetes rounds fractions of a milli-unit up.
            let p = 10i128.pow((-exp) as u32);
            (value + p - 1) / p
        };
        Ok(Quantity {
            text: Name::new(s),
            milli,
        })
    }

    /// A quantity of `bytes` bytes, shown in the largest binary unit that is exact.
    pub fn from_bytes(bytes: i128) -> Quantity {
        let units = [
            ("Ei", 60),
            ("Pi", 50),
            ("Ti", 40),
            ("Gi", 30),
            ("Mi", 20),
            ("Ki", 10),
        ];
        let text = units
            .iter()
            .find(|(_, shift)| bytes != 0 && bytes % (1i128 << shift) == 0)
            .map(|(u, shift)| format!("{}{u}", bytes >> shift))
            .unwrap_or_else(|| bytes.to_string());
        Quantity {
            text: text.into(),
            milli: bytes * 1000,
        }
    }

    /// Exact value in thousandths of the unit.
    pub fn milli_value(&self) -> i128 {
        self.milli
    }

    /// Value in whole units, rounded up (bytes for storage).
    pub fn value(&self) -> i128 {
        (self.milli + 999) / 1000
    }

    /// The text as written.
    pub fn as_str(&self) -> &'static str {
        self.text.as_str()
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.milli == other.milli
    }
}
impl Eq for Quantity {}
impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.milli.cmp(&other.milli)
    }
}

impl fmt::Display for Quantity {
    // `pad`, not `write_str`: a width pads it as it pads a str.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.text)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quantity such as \"100Gi\" or \"500m\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Quantity::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: &str) -> i128 {
        Quantity::parse(s).unwrap().value()
    }

    #[test]
    fn binary_and_decimal_suffixes() {
        assert_eq!(bytes("1Ki"), 1024);
        assert_eq!(bytes("100Gi"), 100 * (1 << 30));
        assert_eq!(bytes("1.5Gi"), 3 * (1 << 29));
        assert_eq!(bytes("1G"), 1_000_000_000);
        assert_eq!(bytes("2e3"), 2000);
        assert_eq!(Quantity::parse("500m").unwrap().milli_value(), 500);
        assert_eq!(bytes("800Ei"), 800 * (1i128 << 60));
    }

    #[test]
    fn compares_by_value_not_text() {
        assert_eq!(
            Quantity::parse("1Gi").unwrap(),
            Quantity::parse("1024Mi").unwrap()
        );
        assert!(Quantity::parse("1G").unwrap() < Quantity::parse("1Gi").unwrap());
    }

    #[test]
    fn refuses_bad_quantities() {
        for bad in ["", "-1Gi", "Gi", "10Gb", "1.2.3", "abc"] {
            assert!(Quantity::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn from_bytes_picks_exact_unit() {
        assert_eq!(Quantity::from_bytes(100 << 30).as_str(), "100Gi");
        assert_eq!(Quantity::from_bytes(1536 << 20).as_str(), "1536Mi");
    }
}
