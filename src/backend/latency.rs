//! Latency distributions and their sampling. Sampling uses `libm` so the
//! same seed gives the same bits on every machine, and rounds to whole
//! milliseconds once, at the end.

use crate::engine::{Rng, SimDuration};
use rand::{Rng as _, RngExt as _};
use serde::{Deserialize, Serialize};

/// z-score of the 99th percentile of the standard normal distribution.
const Z_P99: f64 = 2.326_347_874_040_841;

/// A latency distribution, written in scenario files as
/// `{ fixed = "27s" }`, `{ uniform = ["1s", "4s"] }`,
/// `{ normal = { mean = "2s", stddev = "500ms" } }`,
/// `{ lognormal = { median = "1.5s", p99 = "4s" } }` or
/// `{ table = [["500ms", 0.5], ["1s", 0.9], ["4s", 1.0]] }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Latency {
    /// Always this long.
    Fixed(SimDuration),
    /// Uniform between the two bounds, inclusive.
    Uniform([SimDuration; 2]),
    /// Normal, truncated at zero.
    Normal {
        /// Mean.
        mean: SimDuration,
        /// Standard deviation.
        stddev: SimDuration,
    },
    /// Log-normal given by its median and 99th percentile, as cloud
    /// providers publish them.
    Lognormal {
        /// Median.
        median: SimDuration,
        /// 99th percentile.
        p99: SimDuration,
    },
    /// An empirical distribution: (value, cumulative probability) points,
    /// linear between points; the last probability must be 1.
    Table(Vec<(SimDuration, f64)>),
}

impl Latency {
    /// The value of a fixed latency: sampling it needs no random stream.
    pub fn fixed(&self) -> Option<SimDuration> {
        match self {
            Latency::Fixed(d) => Some(*d),
            _ => None,
        }
    }

    /// Checks the parameters; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Latency::Uniform([a, b]) if a > b => {
                Err(format!("uniform bounds are reversed: {a} > {b}"))
            }
            Latency::Lognormal { median, p99 } if median.0 == 0 || p99 < median => Err(format!(
                "lognormal needs 0 < median <= p99 (got median {median}, p99 {p99})"
            )),
            Latency::Table(points) => {
                if points.is_empty() {
                    return Err("table needs at least one point".into());
                }
                let mut last_p = 0.0;
                let mut last_v = SimDuration::ZERO;
                for (v, p) in points {
                    if !(0.0..=1.0).contains(p) || *p < last_p || *v < last_v {
                        return Err(
                            "table points must have non-decreasing values and probabilities in [0, 1]"
                                .into(),
                        );
                    }
                    last_p = *p;
                    last_v = *v;
                }
                if (last_p - 1.0).abs() > 1e-12 {
                    return Err("the last table probability must be 1.0".into());
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Draws one latency. A fixed latency ignores `rng`.
    pub fn sample(&self, rng: &mut Rng) -> SimDuration {
        self.sampler().sample(rng)
    }

    /// The distribution ready for many draws (a log-normal's parameters
    /// worked out once), each the same as [`Latency::sample`]'s.
    pub fn sampler(&self) -> Sampler<'_> {
        match self {
            Latency::Fixed(d) => Sampler::Fixed(*d),
            Latency::Uniform([a, b]) => Sampler::Uniform(a.0, b.0),
            Latency::Normal { mean, stddev } => Sampler::Normal {
                mean: mean.0 as f64,
                stddev: stddev.0 as f64,
            },
            Latency::Lognormal { median, p99 } => {
                let mu = libm::log(median.0 as f64);
                Sampler::Lognormal {
                    mu,
                    sigma: (libm::log(p99.0 as f64) - mu) / Z_P99,
                }
            }
            Latency::Table(points) => Sampler::Table(points),
        }
    }
}

/// A [`Latency`] prepared for drawing: what each draw needs and nothing
/// worked out again per draw (the watch fan-out draws once per delivery).
#[derive(Clone, Copy, Debug)]
pub enum Sampler<'a> {
    /// Always this long.
    Fixed(SimDuration),
    /// Uniform between the two bounds in milliseconds, inclusive.
    Uniform(u64, u64),
    /// Normal (milliseconds), truncated at zero.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stddev: f64,
    },
    /// exp(mu + sigma z) milliseconds for a standard normal z.
    Lognormal {
        /// The logarithm of the median.
        mu: f64,
        /// The spread that puts the 99th percentile where it was given.
        sigma: f64,
    },
    /// (value, cumulative probability) points, linear between them.
    Table(&'a [(SimDuration, f64)]),
}

impl Sampler<'_> {
    /// Draws one latency. A fixed latency ignores `rng`.
    pub fn sample(&self, rng: &mut Rng) -> SimDuration {
        let ms = match *self {
            Sampler::Fixed(d) => return d,
            Sampler::Uniform(a, b) => return SimDuration(rng.random_range(a..=b)),
            Sampler::Normal { mean, stddev } => mean + stddev * standard_normal(rng),
            Sampler::Lognormal { mu, sigma } => libm::exp(mu + sigma * standard_normal(rng)),
            Sampler::Table(points) => {
                let u: f64 = unit(rng);
                let mut prev = (points[0].0.0 as f64, 0.0);
                let mut out = points.last().map(|p| p.0.0 as f64).unwrap_or(0.0);
                for (v, p) in points {
                    let v = v.0 as f64;
                    if u < *p {
                        out = if *p > prev.1 {
                            prev.0 + (v - prev.0) * (u - prev.1) / (p - prev.1)
                        } else {
                            v
                        };
                        break;
                    }
                    prev = (v, *p);
                }
                out
            }
        };
        SimDuration(libm::round(ms.max(0.0)) as u64)
    }
}

/// A uniform draw in [0, 1) from 53 random bits.
fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Box–Muller with libm, so every platform gets the same bits.
fn standard_normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - unit(rng); // (0, 1]: log is finite
    let u2 = unit(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::StreamKey;

    fn rng(i: u64) -> Rng {
        StreamKey {
            component: "test",
            object: "x",
            operation: "y",
            attempt: i,
        }
        .stream(42)
    }

    fn samples(l: &Latency, n: u64) -> Vec<u64> {
        let mut v: Vec<u64> = (0..n).map(|i| l.sample(&mut rng(i)).0).collect();
        v.sort();
        v
    }

    #[test]
    fn lognormal_hits_its_median_and_p99() {
        let l = Latency::Lognormal {
            median: SimDuration(1500),
            p99: SimDuration(4000),
        };
        let v = samples(&l, 20_000);
        let median = v[v.len() / 2] as f64;
        let p99 = v[v.len() * 99 / 100] as f64;
        assert!((median - 1500.0).abs() < 60.0, "median {median}");
        assert!((p99 - 4000.0).abs() < 300.0, "p99 {p99}");
    }

    #[test]
    fn uniform_stays_in_bounds_and_table_follows_its_cdf() {
        let u = Latency::Uniform([SimDuration(1000), SimDuration(4000)]);
        let v = samples(&u, 2000);
        assert!(v[0] >= 1000 && v[v.len() - 1] <= 4000);
        let t = Latency::Table(vec![(SimDuration(100), 0.5), (SimDuration(1000), 1.0)]);
        let v = samples(&t, 10_000);
        let below = v.iter().filter(|&&x| x <= 100).count() as f64 / v.len() as f64;
        assert!((below - 0.5).abs() < 0.03, "{below}");
    }

    #[test]
    fn normal_is_truncated_at_zero() {
        let n = Latency::Normal {
            mean: SimDuration(10),
            stddev: SimDuration(100),
        };
        assert!(samples(&n, 1000).iter().all(|&x| x < 1000));
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(
            Latency::Uniform([SimDuration(5), SimDuration(1)])
                .validate()
                .is_err()
        );
        assert!(
            Latency::Lognormal {
                median: SimDuration(5),
                p99: SimDuration(1)
            }
            .validate()
            .is_err()
        );
        assert!(
            Latency::Table(vec![(SimDuration(5), 0.5)])
                .validate()
                .is_err()
        );
    }
}
