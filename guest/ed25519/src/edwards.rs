//! Points of edwards25519, -x^2 + y^2 = 1 + d x^2 y^2, in the coordinates that make each step
//! of a scalar multiplication cheapest in field operations.
//!
//! A [`Point`] under computation is updated in place. Every step (a doubling, an addition)
//! leaves it completed, four elements (e, f, g, h) with X = e f, Y = g h, Z = f g and
//! T = e h; the next step converts it to what it needs: projective (X : Y : Z) for a
//! doubling, three multiplications, or extended (X : Y : Z : T) for an addition, four.
//! Additions take the other operand precomputed: [`Cached`] for multiples of the key,
//! [`AffineHalf`] for the basepoint's. The formulas are complete on this curve (a = -1 is a
//! square, d is not), so no input is an exceptional case: the identity, small-order points
//! and equal operands all add right.

use crate::field::Fe;

/// A point under computation: five field elements whose meaning depends on the step just
/// taken, so that a step copies only the elements it must keep (in the guest a copy is 16
/// instructions, a field operation 25 cycles; moving whole points by value cost more than
/// the arithmetic):
///
/// - projective (X : Y : Z), x = X/Z and y = Y/Z: in `x`, `y`, `z`;
/// - extended, projective with T = XY/Z: in `x`, `y`, `z`, `t`;
/// - completed (e, f, g, h): e in `x`, f in `z`, g in `y`, h in `w`.
///
/// Every method says which form it needs and which it leaves; an extended point is also a
/// projective one.
#[derive(Clone, Debug)]
pub(crate) struct Point {
    x: Fe,
    y: Fe,
    z: Fe,
    t: Fe,
    w: Fe,
}

/// A point ready to be added: (Y + X, Y - X, 2Z, 2dT).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cached {
    y_plus_x: Fe,
    y_minus_x: Fe,
    z2: Fe,
    t2d: Fe,
}

impl Cached {
    /// The identity (0 : 1 : 1 : 0), cached.
    pub(crate) const IDENTITY: Cached = Cached {
        y_plus_x: Fe::ONE,
        y_minus_x: Fe::ONE,
        z2: Fe::TWO,
        t2d: Fe::ZERO,
    };
}

/// An affine point (Z = 1) ready to be added, with every coordinate of [`Cached`] halved:
/// ((y + x)/2, (y - x)/2, 1, dxy). Adding it gives the sum scaled by 1/4 in every coordinate,
/// the same point, and its Z term needs no multiplication at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AffineHalf {
    pub(crate) y_plus_x: Fe,
    pub(crate) y_minus_x: Fe,
    pub(crate) xy_d: Fe,
}

/// An affine point. x is canonical; y may be as a compressed point encoded it, in [p, 2^255):
/// only field operations read it, and their results are canonical.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Affine {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
}

/// The y^2 of the points of order 8: (-1 ± sqrt(1 + d))/d, whichever of the two is a square.
/// The eight points of order dividing 8 are exactly those with y^2 in
/// {0, 1, Y8_SQUARED}: (0, 1), (0, -1), (±sqrt(-1), 0) and (±x8, ±y8).
const Y8_SQUARED: Fe = Fe([
    0x9c155291, 0xae479185, 0xb4f0a103, 0x6bdf9e34, 0xba609c05, 0xc2c2ebc2, 0x8bd5b257, 0x76b9125b,
]);

/// Whether a point of the curve whose y^2 (canonical) is `y_squared` has small order, i.e.
/// [8]P is the identity. E(F_p) is Z/8 x Z/l, so its points of order dividing 8 are the eight
/// above; as P and -P = (-x, y) share y, and that set is closed under negation, y^2 decides.
pub(crate) fn is_small_order(y_squared: &Fe) -> bool {
    y_squared.is_zero() || *y_squared == Fe::ONE || *y_squared == Y8_SQUARED
}

/// A decompressed point with the y^2 that decompression computed on the way.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Decompressed {
    pub(crate) point: Affine,
    pub(crate) y_squared: Fe,
}

/// `CompressedEdwardsY::decompress` of curve25519-dalek 4, exactly: y is the low 255 bits of
/// `bytes` (any value, p through 2^255 - 1 included, stands for itself mod p), x is the
/// square root of (y^2 - 1)/(d y^2 + 1) that is even (non-negative), negated when the top bit
/// is set, and zero stays zero when it is: no encoding is rejected for being non-canonical.
/// `None` exactly when (y^2 - 1)/(d y^2 + 1) is not a square. At most 278 operations, 262 of
/// them the exponentiation.
pub(crate) fn decompress(bytes: &[u8; 32]) -> Option<Decompressed> {
    let y = Fe::from_bytes(bytes);
    let mut y_squared = y;
    y_squared.square();
    // d y^2 + 1 is never zero: -1/d is not a square.
    let mut u = y_squared;
    u -= &Fe::ONE;
    let mut v = y_squared;
    v *= &Fe::D;
    v += &Fe::ONE;
    // x = sqrt(u/v) = u v^3 (u v^7)^((p-5)/8), up to a factor sqrt(-1).
    let mut v3 = v;
    v3.square();
    v3 *= &v;
    let mut uv7 = v3;
    uv7.square();
    uv7 *= &v;
    uv7 *= &u;
    let mut x = uv7.pow_p58();
    x *= &u;
    x *= &v3;
    let mut check = x;
    check.square();
    check *= &v;
    if check != u {
        // v x^2 = -u: x sqrt(-1) is the root. Anything else (v x^2 = ±sqrt(-1) u): u/v is not
        // a square.
        check += &u;
        if !check.is_zero() {
            return None;
        }
        x *= &Fe::SQRT_M1;
    }
    // The even root, negated if the sign bit says so: negate when the parity differs from it.
    if x.is_odd() != (bytes[31] >> 7 == 1) {
        x = x.negated();
    }
    Some(Decompressed {
        point: Affine { x, y },
        y_squared,
    })
}

impl Point {
    /// The identity, extended.
    pub(crate) fn identity() -> Point {
        Point {
            x: Fe::ZERO,
            y: Fe::ONE,
            z: Fe::ONE,
            t: Fe::ZERO,
            w: Fe::ZERO,
        }
    }

    /// An affine point, extended (1 multiplication).
    pub(crate) fn from_affine(point: &Affine) -> Point {
        let mut t = point.x;
        t *= &point.y;
        Point {
            x: point.x,
            y: point.y,
            z: Fe::ONE,
            t,
            w: Fe::ZERO,
        }
    }

    /// Completed to projective: X = e f, Z = f g, Y = g h, each written over the factor no
    /// later product needs (3 multiplications).
    pub(crate) fn completed_to_projective(&mut self) {
        self.x *= &self.z;
        self.z *= &self.y;
        self.y *= &self.w;
    }

    /// Completed to extended: T = e h first, then as [`Point::completed_to_projective`]
    /// (4 multiplications, one copy).
    pub(crate) fn completed_to_extended(&mut self) {
        self.t = self.w;
        self.t *= &self.x;
        self.completed_to_projective();
    }

    /// Projective P to completed [2]P (9 operations).
    ///
    /// With a = -1: x3 = 2xy / (y^2 - x^2), y3 = (y^2 + x^2) / (2 - y^2 + x^2), so
    /// e = 2XY, f = 2Z^2 - (Y^2 - X^2), g = Y^2 - X^2, h = Y^2 + X^2.
    pub(crate) fn double(&mut self) {
        self.w = self.x;
        self.w.square(); // X^2
        self.x *= &self.y;
        self.x *= &Fe::TWO; // e
        self.y.square(); // Y^2
        self.t = self.y;
        self.y -= &self.w; // g
        self.w += &self.t; // h
        self.z.square();
        self.z *= &Fe::TWO;
        self.z -= &self.y; // f
    }

    /// Extended P to completed P + Q, or P - Q when `subtract` (10 operations).
    ///
    /// Hisil-Wong-Carter-Dawson's unified addition for a = -1: with A = (Y1 - X1)(Y2 - X2),
    /// B = (Y1 + X1)(Y2 + X2), C = 2d T1 T2, D = 2 Z1 Z2: e = B - A, f = D - C, g = D + C,
    /// h = B + A. -Q = (-X2, Y2, Z2, -T2) swaps Y2 ± X2 and negates C.
    pub(crate) fn add_cached(&mut self, q: &Cached, subtract: bool) {
        let (q_minus, q_plus) = if subtract {
            (&q.y_plus_x, &q.y_minus_x)
        } else {
            (&q.y_minus_x, &q.y_plus_x)
        };
        self.multiply_sums(q_minus, q_plus);
        self.t *= &q.t2d;
        self.z *= &q.z2;
        self.combine(subtract);
    }

    /// Extended P to completed P + Q, or P - Q when `subtract`, for a basepoint multiple
    /// (9 operations): the formula of [`Point::add_cached`] with every product halved, so
    /// D = Z1.
    pub(crate) fn add_affine(&mut self, q: &AffineHalf, subtract: bool) {
        let (q_minus, q_plus) = if subtract {
            (&q.y_plus_x, &q.y_minus_x)
        } else {
            (&q.y_minus_x, &q.y_plus_x)
        };
        self.multiply_sums(q_minus, q_plus);
        self.t *= &q.xy_d;
        self.combine(subtract);
    }

    /// A = (Y1 - X1) q_minus into `w`, B = (Y1 + X1) q_plus into `y`.
    fn multiply_sums(&mut self, q_minus: &Fe, q_plus: &Fe) {
        self.w = self.y;
        self.w -= &self.x;
        self.y += &self.x;
        self.w *= q_minus;
        self.y *= q_plus;
    }

    /// From A in `w`, B in `y`, C in `t` and D in `z`: e = B - A, h = B + A, and
    /// f = D - C, g = D + C (their signs swapped when subtracting), completed.
    fn combine(&mut self, subtract: bool) {
        self.x = self.y;
        self.x -= &self.w; // e
        self.w += &self.y; // h
        self.y = self.z;
        if subtract {
            self.y -= &self.t; // g
            self.z += &self.t; // f
        } else {
            self.y += &self.t; // g
            self.z -= &self.t; // f
        }
    }

    /// Extended P, cached for additions, written over `cached` (4 operations).
    pub(crate) fn write_cached(&self, cached: &mut Cached) {
        cached.y_plus_x = self.y;
        cached.y_plus_x += &self.x;
        cached.y_minus_x = self.y;
        cached.y_minus_x -= &self.x;
        cached.z2 = self.z;
        cached.z2 *= &Fe::TWO;
        cached.t2d = self.t;
        cached.t2d *= &Fe::D2;
    }

    /// The canonical encoding of projective P: y with the parity of x in bit 255. One
    /// inversion (265 operations) and two multiplications.
    pub(crate) fn compress(&self) -> [u8; 32] {
        let z_inverse = self.z.invert();
        let mut x = self.x;
        x *= &z_inverse;
        let mut y = self.y;
        y *= &z_inverse;
        let mut bytes = y.to_bytes();
        bytes[31] |= u8::from(x.is_odd()) << 7;
        bytes
    }
}

impl Affine {
    /// Writes the odd multiples P, 3P, 5P, ... of this point over `multiples`, cached: in
    /// place, as the table is a kilobyte that moving would copy word by word.
    pub(crate) fn odd_multiples(&self, multiples: &mut [Cached]) {
        let mut point = Point::from_affine(self);
        point.double();
        point.completed_to_extended();
        let mut double = Cached::IDENTITY;
        point.write_cached(&mut double);
        let mut point = Point::from_affine(self);
        for (i, multiple) in multiples.iter_mut().enumerate() {
            if i > 0 {
                point.add_cached(&double, false);
                point.completed_to_extended();
            }
            point.write_cached(multiple);
        }
    }
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use curve25519_dalek::{EdwardsPoint, Scalar};

    use super::*;

    fn compress_completed(mut point: Point) -> [u8; 32] {
        point.completed_to_projective();
        point.compress()
    }

    fn ours(point: &EdwardsPoint) -> Affine {
        decompress(point.compress().as_bytes()).unwrap().point
    }

    fn extended(point: &EdwardsPoint) -> Point {
        Point::from_affine(&ours(point))
    }

    fn points() -> impl Iterator<Item = EdwardsPoint> {
        let multiples =
            (0u64..6).map(|n| Scalar::from(n * 0x1234_5677 + 3) * ED25519_BASEPOINT_POINT);
        let mixed = EIGHT_TORSION
            .into_iter()
            .map(|torsion| torsion + Scalar::from(77u8) * ED25519_BASEPOINT_POINT);
        multiples.chain(EIGHT_TORSION).chain(mixed)
    }

    #[test]
    fn decompression_matches_dalek_on_every_y_near_the_edges() {
        let mut encodings = std::vec::Vec::new();
        for k in 0..40u8 {
            let mut low = [0u8; 32];
            low[0] = k;
            encodings.push(low);
            let mut high = [0xffu8; 32];
            high[31] = 0x7f;
            high[0] = 0xff - k;
            encodings.push(high);
        }
        for point in points() {
            encodings.push(point.compress().to_bytes());
        }
        for bytes in encodings {
            for sign in [0u8, 0x80] {
                let mut bytes = bytes;
                bytes[31] = bytes[31] & 0x7f | sign;
                let theirs = CompressedEdwardsY(bytes).decompress();
                let ours = decompress(&bytes);
                assert_eq!(ours.is_some(), theirs.is_some(), "{bytes:02x?}");
                if let (Some(ours), Some(theirs)) = (ours, theirs) {
                    let canonical = theirs.compress().to_bytes();
                    let mut expected_y = canonical;
                    expected_y[31] &= 0x7f;
                    let mut y = ours.point.y;
                    y += &Fe::ZERO;
                    assert_eq!(y.to_bytes(), expected_y);
                    assert_eq!(ours.point.x.is_odd(), canonical[31] >> 7 == 1);
                    assert_eq!(is_small_order(&ours.y_squared), theirs.is_small_order());
                }
            }
        }
    }

    #[test]
    fn small_order_points_are_the_eight_torsion_points() {
        for torsion in EIGHT_TORSION {
            let decompressed = decompress(torsion.compress().as_bytes()).unwrap();
            assert!(is_small_order(&decompressed.y_squared));
        }
        for point in points().filter(|point| !point.is_small_order()) {
            let decompressed = decompress(point.compress().as_bytes()).unwrap();
            assert!(!is_small_order(&decompressed.y_squared));
        }
    }

    #[test]
    fn doubling_and_addition_match_dalek() {
        for p in points() {
            let mut double = extended(&p);
            double.double();
            assert_eq!(compress_completed(double), (p + p).compress().to_bytes());
            for q in points() {
                let mut cached = Cached::IDENTITY;
                extended(&q).write_cached(&mut cached);
                let mut sum = extended(&p);
                sum.add_cached(&cached, false);
                assert_eq!(compress_completed(sum), (p + q).compress().to_bytes());
                let mut difference = extended(&p);
                difference.add_cached(&cached, true);
                assert_eq!(
                    compress_completed(difference),
                    (p - q).compress().to_bytes()
                );
                // The same from a point with Z != 1.
                let mut sum = extended(&p);
                sum.add_cached(&Cached::IDENTITY, false);
                sum.completed_to_extended();
                sum.add_cached(&cached, false);
                assert_eq!(compress_completed(sum), (p + q).compress().to_bytes());
            }
        }
    }

    #[test]
    fn odd_multiples_match_dalek() {
        for p in points() {
            let mut multiples = [Cached::IDENTITY; 8];
            ours(&p).odd_multiples(&mut multiples);
            for (i, multiple) in multiples.iter().enumerate() {
                let expected = Scalar::from(2 * i as u64 + 1) * p;
                let mut sum = Point::identity();
                sum.add_cached(multiple, false);
                assert_eq!(compress_completed(sum), expected.compress().to_bytes());
            }
        }
    }
}
