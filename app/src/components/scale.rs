//! The charts' geometry: a scale maps data to the drawing (linear or log, with its ticks), and
//! a series becomes an SVG path.

/// Maps data to the plot area, linear or log.
#[derive(Clone, Debug, PartialEq)]
pub struct Scale {
    lo: f64,
    hi: f64,
    pub log: bool,
    from: f64,
    to: f64,
    /// Ticks at the data's own values (a log axis over a few values, such as 256 … 4096).
    at_data: Option<Vec<f64>>,
}

impl Scale {
    pub fn new(values: impl Iterator<Item = f64>, log: bool, from: f64, to: f64) -> Option<Scale> {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut distinct: Vec<f64> = Vec::new();
        for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
            lo = lo.min(v);
            hi = hi.max(v);
            if distinct.len() <= 8 && !distinct.contains(&v) {
                distinct.push(v);
            }
        }
        if !lo.is_finite() {
            return None;
        }
        if log && (2..=8).contains(&distinct.len()) && hi / lo < 1e3 {
            distinct.sort_by(f64::total_cmp);
            let pad = (hi / lo).powf(0.06);
            return Some(Scale { lo: lo / pad, hi: hi * pad, log, from, to, at_data: Some(distinct) });
        }
        if log {
            let (a, b) = (lo.log10().floor(), hi.log10().ceil());
            let (a, b) = if a == b { (a - 1.0, b + 1.0) } else { (a, b) };
            Some(Scale { lo: 10f64.powf(a), hi: 10f64.powf(b), log, from, to, at_data: None })
        } else {
            let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
            let step = nice_step(span / 5.0);
            let (lo, hi) = ((lo / step).floor() * step, (hi / step).ceil() * step);
            let hi = if hi <= lo { lo + step } else { hi };
            Some(Scale { lo, hi, log, from, to, at_data: None })
        }
    }

    pub fn at(&self, v: f64) -> f64 {
        let t = if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        self.from + t * (self.to - self.from)
    }

    pub fn back(&self, px: f64) -> f64 {
        let t = (px - self.from) / (self.to - self.from);
        if self.log {
            10f64.powf(self.lo.log10() + t * (self.hi.log10() - self.lo.log10()))
        } else {
            self.lo + t * (self.hi - self.lo)
        }
    }

    pub fn ticks(&self) -> Vec<f64> {
        if let Some(at) = &self.at_data {
            return at.clone();
        }
        if self.log {
            let (a, b) = (self.lo.log10().round() as i32, self.hi.log10().round() as i32);
            let every = ((b - a) / 6).max(1);
            (a..=b).filter(|e| (e - a) % every == 0).map(|e| 10f64.powi(e)).collect()
        } else {
            let step = nice_step((self.hi - self.lo) / 5.0);
            let first = (self.lo / step).ceil() as i64;
            let last = (self.hi / step).floor() as i64;
            (first..=last).map(|i| i as f64 * step).collect()
        }
    }
}

fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    mag * if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    }
}

/// The SVG path of `points`; a non-finite point (or one a log axis cannot show) breaks the line.
pub fn path_of(points: &[(f64, f64)], x: &Scale, y: &Scale) -> String {
    let mut d = String::with_capacity(points.len() * 14);
    let mut pen_down = false;
    for &(px, py) in points {
        let ok = px.is_finite() && py.is_finite() && (!x.log || px > 0.0) && (!y.log || py > 0.0);
        if !ok {
            pen_down = false;
            continue;
        }
        d.push(if pen_down { 'L' } else { 'M' });
        push_tenths(&mut d, x.at(px));
        d.push(',');
        push_tenths(&mut d, y.at(py));
        d.push(' ');
        pen_down = true;
    }
    d
}

/// Writes `v` with one decimal (a tenth of a unit of the 560-wide drawing is finer than a
/// pixel). Redrawing a curve while a slider moves writes thousands of these a frame, and
/// `format!` of a float costs several times as much as this integer arithmetic.
fn push_tenths(d: &mut String, v: f64) {
    // Far outside the drawing (a clipped curve) the exact place does not matter.
    let tenths = (v * 10.0).round().clamp(-1e12, 1e12) as i64;
    if tenths < 0 {
        d.push('-');
    }
    let a = tenths.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut n = 0;
    let mut whole = a / 10;
    loop {
        digits[n] = b'0' + (whole % 10) as u8;
        n += 1;
        whole /= 10;
        if whole == 0 {
            break;
        }
    }
    for &b in digits[..n].iter().rev() {
        d.push(b as char);
    }
    let frac = (a % 10) as u8;
    if frac != 0 {
        d.push('.');
        d.push((b'0' + frac) as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_ticks_cover_the_data() {
        let s = Scale::new([0.3, 7.9].into_iter(), false, 0.0, 100.0).unwrap();
        assert!(s.lo <= 0.3 && s.hi >= 7.9);
        assert!(s.ticks().len() >= 3);
        let l = Scale::new([2.0, 9000.0, -1.0, f64::NAN].into_iter(), true, 0.0, 100.0).unwrap();
        assert_eq!((l.lo, l.hi), (1.0, 10000.0));
        assert_eq!(l.ticks(), vec![1.0, 10.0, 100.0, 1000.0, 10000.0]);
        assert!((l.back(l.at(123.0)) - 123.0).abs() < 1e-9);
        assert_eq!(Scale::new([f64::NAN].into_iter(), false, 0.0, 1.0), None);
        let sweep = Scale::new([256.0, 512.0, 1024.0, 2048.0, 4096.0, 512.0].into_iter(), true, 0.0, 100.0).unwrap();
        assert_eq!(sweep.ticks(), vec![256.0, 512.0, 1024.0, 2048.0, 4096.0]);
    }

    #[test]
    fn coordinates_are_written_to_a_tenth() {
        let mut d = String::new();
        for v in [0.0, 12.34, -0.04, -0.06, 99.95, -1234.5, 1e300] {
            push_tenths(&mut d, v);
            d.push(' ');
        }
        assert_eq!(d, "0 12.3 0 -0.1 100 -1234.5 100000000000 ");
    }
}
