//! What of the statistics may be published (MIN-5; 003 §4.5(9)): a count of fewer than five
//! people is suppressed, and so is every number derived from such a count: a total over a
//! suppressed part (so no published total ever adds one), a median or mean over fewer than five.

/// The fewest people a published number may stand for.
pub const THRESHOLD: u64 = 5;

/// One published number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    Shown(f64),
    /// Suppressed: it would stand for fewer than [`THRESHOLD`] people.
    Hidden,
    /// Suppressed: a total over a suppressed part, or a mean over a suppressed count, which
    /// together with the published parts would give it away.
    Withheld,
    /// Nothing to measure (no case decided, no rating given).
    Absent,
}

impl Figure {
    pub fn value(self) -> Option<f64> {
        match self {
            Figure::Shown(v) => Some(v),
            _ => None,
        }
    }
}

/// A count of people: shown if none or at least [`THRESHOLD`].
pub fn count(n: u64) -> Figure {
    if n == 0 || n >= THRESHOLD {
        Figure::Shown(n as f64)
    } else {
        Figure::Hidden
    }
}

/// The sum of counts that are themselves published one by one: shown only if every part is
/// (the sum minus the shown parts would give a suppressed one away, and sums over several
/// suppressed parts, crossed with each other, could pin them down).
pub fn total(parts: &[u64]) -> Figure {
    if parts.iter().any(|n| count(*n) == Figure::Hidden) {
        Figure::Withheld
    } else {
        Figure::Shown(parts.iter().sum::<u64>() as f64)
    }
}

/// The median of `values` (the mean of the two middle ones for an even number), over at least
/// [`THRESHOLD`] of them.
pub fn median(values: &[u32]) -> Figure {
    over_enough(values, |sorted| {
        let n = sorted.len();
        if n % 2 == 1 {
            f64::from(sorted[n / 2])
        } else {
            (f64::from(sorted[n / 2 - 1]) + f64::from(sorted[n / 2])) / 2.0
        }
    })
}

/// The 90th percentile of `values` (nearest rank), over at least [`THRESHOLD`] of them.
pub fn percentile_90(values: &[u32]) -> Figure {
    over_enough(values, |sorted| {
        let rank = (sorted.len() * 9).div_ceil(10).max(1);
        f64::from(sorted[rank - 1])
    })
}

/// The mean of `values` to one decimal, shown exactly when their number `n` is (`count` or
/// `total` of it): a mean times its count is a sum, which must not give a hidden part away.
pub fn mean(values: &[u8], n: Figure) -> Figure {
    match n {
        Figure::Shown(_) if values.is_empty() => Figure::Absent,
        Figure::Shown(_) => {
            let sum: f64 = values.iter().map(|v| f64::from(*v)).sum();
            Figure::Shown((sum / values.len() as f64 * 10.0).round() / 10.0)
        }
        Figure::Hidden => Figure::Hidden,
        _ => Figure::Withheld,
    }
}

fn over_enough(values: &[u32], measure: impl Fn(&[u32]) -> f64) -> Figure {
    if values.is_empty() {
        return Figure::Absent;
    }
    if (values.len() as u64) < THRESHOLD {
        return Figure::Hidden;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    Figure::Shown(measure(&sorted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_one_to_four_people_are_hidden_and_none_is_shown() {
        assert_eq!(count(0), Figure::Shown(0.0));
        for n in 1..5 {
            assert_eq!(count(n), Figure::Hidden);
        }
        assert_eq!(count(5), Figure::Shown(5.0));
    }

    #[test]
    fn a_total_over_a_hidden_part_is_withheld() {
        // 12 − 10 would give the 2 away.
        assert_eq!(total(&[10, 2]), Figure::Withheld);
        // 4 + 4: a sum of 8 over two hidden parts says each is 4.
        assert_eq!(total(&[10, 4, 4]), Figure::Withheld);
        assert_eq!(total(&[1, 1, 1, 1, 1]), Figure::Withheld);
        assert_eq!(total(&[10, 0, 6]), Figure::Shown(16.0));
        assert_eq!(total(&[]), Figure::Shown(0.0));
    }

    #[test]
    fn a_median_or_percentile_over_fewer_than_five_is_hidden() {
        assert_eq!(median(&[]), Figure::Absent);
        assert_eq!(median(&[3, 1, 2, 9]), Figure::Hidden);
        assert_eq!(percentile_90(&[3, 1, 2, 9]), Figure::Hidden);
        assert_eq!(median(&[5, 1, 3, 2, 4]), Figure::Shown(3.0));
        assert_eq!(median(&[1, 2, 3, 4, 5, 6]), Figure::Shown(3.5));
        assert_eq!(percentile_90(&[5, 1, 3, 2, 4]), Figure::Shown(5.0));
        let many: Vec<u32> = (1..=20).collect();
        assert_eq!(percentile_90(&many), Figure::Shown(18.0));
    }

    #[test]
    fn a_mean_is_shown_exactly_when_its_count_is() {
        assert_eq!(mean(&[5, 5, 5, 5, 1], count(5)), Figure::Shown(4.2));
        assert_eq!(mean(&[1], count(1)), Figure::Hidden);
        assert_eq!(mean(&[5, 5, 5, 5, 5, 1], total(&[5, 1])), Figure::Withheld);
        assert_eq!(mean(&[], count(0)), Figure::Absent);
    }
}
