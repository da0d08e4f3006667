//! Billing arithmetic on integer minor units: proration, tax, proportional splits.
//!
//! **Rounding rule.** Every fraction of a minor unit is rounded half to even (banker's rounding) on
//! the exact rational value, computed in 128-bit integers: `2.5 -> 2`, `3.5 -> 4`, `-2.5 -> -2`.
//! Half-to-even has no bias, so a year of monthly invoices does not drift one way. Wherever a whole is
//! split into parts (a period into its used and unused part, a tax-inclusive price into net and tax,
//! a discount across lines) only the parts but one are rounded and the last is the remainder, so the
//! parts always add up to the whole exactly: money is never created or lost by rounding.

/// `amount * num / den`, rounded half to even. `den` must be positive.
pub fn mul_div(amount: i64, num: i64, den: i64) -> i64 {
    assert!(den > 0, "mul_div by a non-positive denominator");
    let p = amount as i128 * num as i128;
    let d = den as i128;
    let q = p.div_euclid(d);
    let r = p.rem_euclid(d);
    // q is the floor; round up when the remainder is past half, or exactly half and q is odd.
    let twice = 2 * r;
    let rounded = if twice > d || (twice == d && q % 2 != 0) { q + 1 } else { q };
    i64::try_from(rounded).expect("minor units fit in i64")
}

/// A period's price split at a point in it: `(used, unused)`, `used + unused == price`. The used
/// part is `price * used_seconds / period_seconds`, rounded; the unused part is the remainder.
pub fn split_period(price: i64, used_seconds: i64, period_seconds: i64) -> (i64, i64) {
    let used_seconds = used_seconds.clamp(0, period_seconds);
    let used = mul_div(price, used_seconds, period_seconds);
    (used, price - used)
}

/// Basis points: 1500 = 15 %.
pub type Bps = i64;

/// Tax on a net amount (tax-exclusive prices).
pub fn tax_on_net(net: i64, rate: Bps) -> i64 {
    mul_div(net, rate, 10_000)
}

/// A tax-inclusive amount split into `(net, tax)`, `net + tax == gross`.
pub fn split_inclusive(gross: i64, rate: Bps) -> (i64, i64) {
    let net = mul_div(gross, 10_000, 10_000 + rate);
    (net, gross - net)
}

/// Splits `total` over parts in proportion to `weights` (largest remainder): the parts add up to
/// `total` exactly and each is within one minor unit of its exact share. All weights zero: the total
/// goes to the first part. Used to spread an invoice-level discount over its lines.
pub fn split_proportionally(total: i64, weights: &[i64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let sum: i128 = weights.iter().map(|w| *w as i128).sum();
    if sum == 0 {
        let mut out = vec![0; weights.len()];
        out[0] = total;
        return out;
    }
    let t = total as i128;
    let mut parts: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = t * *w as i128;
        parts.push(exact.div_euclid(sum));
        remainders.push((exact.rem_euclid(sum), i));
    }
    let mut left = t - parts.iter().sum::<i128>();
    // Largest remainders first; ties to the earlier part, so the result is deterministic.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts.into_iter().map(|p| i64::try_from(p).expect("parts fit in i64")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounds_half_to_even() {
        assert_eq!(mul_div(5, 1, 2), 2); // 2.5
        assert_eq!(mul_div(7, 1, 2), 4); // 3.5
        assert_eq!(mul_div(-5, 1, 2), -2); // -2.5
        assert_eq!(mul_div(10, 1, 3), 3); // 3.33
        assert_eq!(mul_div(20, 1, 3), 7); // 6.67
        assert_eq!(mul_div(i64::MAX, 1, 1), i64::MAX);
    }

    #[test]
    fn bangladesh_vat_and_a_half_month() {
        // 1,000.00 BDT at 15 % VAT: 150.00 exclusive; 869.57 + 130.43 inclusive.
        assert_eq!(tax_on_net(100_000, 1500), 15_000);
        assert_eq!(split_inclusive(100_000, 1500), (86_957, 13_043));
        // 15 days of a 30-day 500.00 package.
        assert_eq!(split_period(50_000, 15 * 86_400, 30 * 86_400), (25_000, 25_000));
        assert_eq!(split_period(50_000, -5, 30), (0, 50_000));
        assert_eq!(split_period(50_000, 31, 30), (50_000, 0));
        assert_eq!(split_proportionally(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(split_proportionally(7, &[0, 0]), vec![7, 0]);
    }

    proptest! {
        #[test]
        fn parts_always_add_up(price in 0i64..10_000_000_000, used in 0i64..3_000_000, period in 1i64..3_000_000) {
            let (u, r) = split_period(price, used, period);
            prop_assert_eq!(u + r, price);
            prop_assert!(u >= 0 && r >= 0);
        }

        #[test]
        fn inclusive_tax_splits_exactly(gross in 0i64..10_000_000_000, rate in 0i64..5_000) {
            let (net, tax) = split_inclusive(gross, rate);
            prop_assert_eq!(net + tax, gross);
            // Charging the tax on that net again lands within a minor unit of the gross.
            prop_assert!((net + tax_on_net(net, rate) - gross).abs() <= 1);
        }

        #[test]
        fn proportional_split_is_exact_and_fair(total in -1_000_000i64..1_000_000, weights in proptest::collection::vec(0i64..100_000, 1..20)) {
            let parts = split_proportionally(total, &weights);
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
            let sum: i128 = weights.iter().map(|w| *w as i128).sum();
            if sum > 0 {
                for (p, w) in parts.iter().zip(&weights) {
                    let exact = total as f64 * *w as f64 / sum as f64;
                    prop_assert!((*p as f64 - exact).abs() < 1.0 + 1e-9, "{} vs {}", p, exact);
                }
            }
        }

        #[test]
        fn a_year_of_prorated_charges_stays_within_half_a_unit_a_month(price in 1i64..10_000_000, days in proptest::collection::vec(1i64..31, 12)) {
            // Each month charged for a part of it: the rounded charges differ from the exact
            // rational sum by at most half a minor unit per month (no systematic drift).
            let rounded: i64 = days.iter().map(|d| split_period(price, d * 86_400, 31 * 86_400).0).sum();
            let exact: i128 = days.iter().map(|d| price as i128 * *d as i128).sum();
            let diff = (rounded as i128 * 31 - exact).abs();
            prop_assert!(diff * 2 <= 12 * 31, "rounded {} exact {}/31", rounded, exact);
        }
    }
}
