//! What volumes cost: per-GiB, IOPS and throughput prices per volume type
//! (the StorageClass parameter `type`), as a backend profile carries them.
//! The built-in figures are AWS's published EBS prices for us-east-1
//! (aws.amazon.com/ebs/pricing): gp3 $0.08 per GB-month with 3,000 IOPS
//! and 125 MB/s included, $0.005 per extra IOPS-month and $0.04 per extra
//! MB/s-month; io2 $0.125 per GB-month and $0.065 / $0.0455 / $0.032 per
//! IOPS-month up to 32,000 / 64,000 / beyond; io1 $0.125 and $0.065; gp2
//! $0.10; st1 $0.045; sc1 $0.015. They reproduce the reference document's
//! "$80/month per 1TB" gp3 and "$1,425/month" io2 with 20,000 IOPS.

use serde::Serialize;
use std::collections::BTreeMap;

/// One volume type's prices, per month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VolumePrice {
    /// Per GiB of capacity.
    pub gib_month: f64,
    /// IOPS included in the capacity price.
    pub included_iops: u64,
    /// Price per provisioned IOPS beyond the included ones, by tier:
    /// (up to this many IOPS, price); the last tier has no upper bound.
    pub iops_tiers: Vec<(u64, f64)>,
    /// Throughput (MiB/s) included.
    pub included_throughput: u64,
    /// Price per MiB/s beyond the included throughput.
    pub throughput_month: f64,
}

impl VolumePrice {
    fn flat(gib_month: f64) -> Self {
        VolumePrice {
            gib_month,
            included_iops: 0,
            iops_tiers: Vec::new(),
            included_throughput: 0,
            throughput_month: 0.0,
        }
    }

    /// The monthly cost of a volume of `gib` with `iops` and `throughput`
    /// provisioned (`None`: the type's baseline).
    pub fn monthly(&self, gib: f64, iops: Option<u64>, throughput: Option<u64>) -> f64 {
        let mut cost = gib * self.gib_month;
        let iops = iops.unwrap_or(self.included_iops);
        let mut below = self.included_iops;
        for &(upto, price) in &self.iops_tiers {
            if iops <= below {
                break;
            }
            let n = iops.min(upto) - below;
            cost += n as f64 * price;
            below = upto;
        }
        let tp = throughput.unwrap_or(self.included_throughput);
        if tp > self.included_throughput {
            cost += (tp - self.included_throughput) as f64 * self.throughput_month;
        }
        cost
    }
}

/// A profile's price list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pricing {
    /// Where the prices come from, for the report.
    pub source: String,
    /// The type a class without a `type` parameter gets (the driver's default).
    pub default_type: String,
    /// Prices by volume type.
    pub types: BTreeMap<String, VolumePrice>,
}

impl Pricing {
    /// AWS EBS, us-east-1.
    pub fn aws_ebs() -> Self {
        let mut types = BTreeMap::new();
        types.insert(
            "gp3".to_string(),
            VolumePrice {
                gib_month: 0.08,
                included_iops: 3000,
                iops_tiers: vec![(u64::MAX, 0.005)],
                included_throughput: 125,
                throughput_month: 0.04,
            },
        );
        let provisioned = |tiers: Vec<(u64, f64)>| VolumePrice {
            gib_month: 0.125,
            included_iops: 0,
            iops_tiers: tiers,
            included_throughput: 0,
            throughput_month: 0.0,
        };
        types.insert(
            "io2".to_string(),
            provisioned(vec![(32_000, 0.065), (64_000, 0.0455), (u64::MAX, 0.032)]),
        );
        types.insert("io1".to_string(), provisioned(vec![(u64::MAX, 0.065)]));
        types.insert("gp2".to_string(), VolumePrice::flat(0.10));
        types.insert("st1".to_string(), VolumePrice::flat(0.045));
        types.insert("sc1".to_string(), VolumePrice::flat(0.015));
        Pricing {
            source: "AWS EBS us-east-1 list prices".to_string(),
            default_type: "gp3".to_string(),
            types,
        }
    }

    /// The monthly cost of a volume of class `parameters` and `gib` GiB;
    /// `None` for a type without a price.
    pub fn volume_monthly(&self, parameters: &BTreeMap<String, String>, gib: f64) -> Option<f64> {
        let kind = parameters
            .get("type")
            .cloned()
            .unwrap_or_else(|| self.default_type.clone());
        let price = self.types.get(&kind)?;
        let number = |k: &str| parameters.get(k).and_then(|v| v.parse::<u64>().ok());
        // io1/io2 may give IOPS per GiB instead.
        let iops = number("iops")
            .or_else(|| number("iopsPerGB").map(|per| (per as f64 * gib).round() as u64));
        Some(price.monthly(gib, iops, number("throughput")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(p: &[(&str, &str)]) -> BTreeMap<String, String> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_reference_documents_figures() {
        let p = Pricing::aws_ebs();
        // "100GB × $0.08 = $8/month per PVC".
        assert_eq!(
            p.volume_monthly(&params(&[("type", "gp3")]), 100.0),
            Some(8.0)
        );
        // gp3 at its baseline, 1 TB: "~$80/month".
        let gp3 = params(&[("type", "gp3"), ("iops", "3000"), ("throughput", "125")]);
        assert_eq!(p.volume_monthly(&gp3, 1000.0), Some(80.0));
        // io2 with 20,000 IOPS, 1 TB: "~$1,425/month".
        let io2 = params(&[("type", "io2"), ("iops", "20000"), ("throughput", "1000")]);
        assert_eq!(p.volume_monthly(&io2, 1000.0), Some(1425.0));
    }

    #[test]
    fn extra_iops_and_throughput_and_tiers_are_priced() {
        let p = Pricing::aws_ebs();
        let gp3 = params(&[("type", "gp3"), ("iops", "4000"), ("throughput", "250")]);
        // 100 × 0.08 + 1000 × 0.005 + 125 × 0.04.
        let got = p.volume_monthly(&gp3, 100.0).unwrap();
        assert!((got - 18.0).abs() < 1e-9, "{got}");
        let io2 = params(&[("type", "io2"), ("iops", "40000")]);
        // 32,000 × 0.065 + 8,000 × 0.0455.
        let got = p.volume_monthly(&io2, 0.0).unwrap();
        assert!((got - 2444.0).abs() < 1e-9, "{got}");
        assert_eq!(
            p.volume_monthly(&params(&[("type", "magnetic")]), 1.0),
            None
        );
        assert_eq!(
            p.volume_monthly(&params(&[]), 10.0),
            Some(0.8),
            "gp3 by default"
        );
    }
}
