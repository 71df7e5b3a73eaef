#if canImport(Glibc)
import Glibc
#endif

/// Go's `math` functions, whose results can differ from the C library's in the last bits:
/// written after Go's algorithms so that operators and functions give promtool's values
/// exactly (`GoMathTests` holds values Go computed).
extension GoMath {
    /// `math.Pow`: special cases first; integer powers by repeated squaring.
    static func pow(_ x: Double, _ y: Double) -> Double {
        if y == 0 || x == 1 { return 1 }
        if y == 1 { return x }
        if x.isNaN || y.isNaN { return .nan }
        if x == 0 {
            if y < 0 { return x.sign == .minus && isOddInt(y) ? -.infinity : .infinity }
            if y > 0 { return x.sign == .minus && isOddInt(y) ? x : 0 }
        }
        if y.isInfinite {
            if x == -1 { return 1 }
            if (Swift.abs(x) < 1) == (y > 0) { return 0 }
            return .infinity
        }
        if x.isInfinite {
            if x < 0 { return pow(1 / x, -y) }
            if y < 0 { return 0 }
            if y > 0 { return .infinity }
        }
        if y == 0.5 { return x.squareRoot() }
        if y == -0.5 { return 1 / x.squareRoot() }

        var yi = 0.0
        var yf = modf(Swift.abs(y), &yi)
        if yf != 0 && x < 0 { return .nan }
        if yi >= 9.223372036854775808e18 {
            if x == -1 { return 1 }
            if (Swift.abs(x) < 1) == (y > 0) { return 0 }
            return .infinity
        }
        var a1 = 1.0
        var ae = 0
        if yf != 0 {
            if yf > 0.5 {
                yf -= 1
                yi += 1
            }
            a1 = exp(yf * log(x))
        }
        var xe: Int32 = 0
        var x1 = frexp(x, &xe)
        var e = Int(xe)
        var i = Int64(yi)
        while i != 0 {
            if e < -(1 << 12) || (1 << 12) < e {
                ae += e
                break
            }
            if i & 1 == 1 {
                a1 *= x1
                ae += e
            }
            x1 *= x1
            e <<= 1
            if x1 < 0.5 {
                x1 += x1
                e -= 1
            }
            i >>= 1
        }
        if y < 0 {
            a1 = 1 / a1
            ae = -ae
        }
        return ldexp(a1, ae)
    }

    /// Go's `Ldexp`: underflow below 2^-1075 is a signed zero.
    static func ldexp(_ frac: Double, _ exp: Int) -> Double {
        if frac == 0 || frac.isNaN || frac.isInfinite { return frac }
        var e: Int32 = 0
        let m = frexp(frac, &e)
        let total = exp + Int(e) - 1
        if total < -1075 { return frac < 0 ? -0.0 : 0 }
        if total > 1023 { return frac < 0 ? -.infinity : .infinity }
        return Glibc.ldexp(m, Int32(total + 1))
    }

    static func isOddInt(_ x: Double) -> Bool {
        if Swift.abs(x) >= 9_007_199_254_740_992 { return false }
        var xi = 0.0
        let xf = modf(x, &xi)
        return xf == 0 && Int64(xi) & 1 == 1
    }

    /// `math.Log2`: exact for powers of two.
    static func log2(_ x: Double) -> Double {
        var e: Int32 = 0
        let frac = frexp(x, &e)
        if frac == 0.5 { return Double(e - 1) }
        return log(frac) * (1.4426950408889634) + Double(e)
    }

    /// `math.Log10`.
    static func log10(_ x: Double) -> Double {
        log(x) * 0.4342944819032518
    }
}

/// The calendar fields of a Unix time in UTC as Go's `time` package computes them, with
/// its wrap-around arithmetic (Prometheus hands it `int64(value)`, whatever the value).
struct GoTime {
    let abs: UInt64

    private static let secondsPerDay: UInt64 = 86_400
    private static let absoluteZeroYear: Int64 = -292_277_022_399
    private static let unixToAbsolute: Int64 = 62_135_596_800 &+ 9_223_371_966_579_724_800

    init(unixSeconds: Int64) {
        abs = UInt64(bitPattern: unixSeconds &+ Self.unixToAbsolute)
    }

    /// (year, month 1-12, day 1-31, day of the year 0-365).
    var date: (year: Int64, month: Int, day: Int, yday: Int) {
        var d = abs / Self.secondsPerDay
        var n = d / 146_097
        var y = 400 &* n
        d -= 146_097 &* n
        n = d / 36_524
        n -= n >> 2
        y &+= 100 &* n
        d -= 36_524 &* n
        n = d / 1461
        y &+= 4 &* n
        d -= 1461 &* n
        n = d / 365
        n -= n >> 2
        y &+= n
        d -= 365 &* n
        let year = Int64(bitPattern: y) &+ Self.absoluteZeroYear
        let yday = Int(d)
        var day = yday
        if Self.isLeap(year) {
            if day > 31 + 29 - 1 {
                day -= 1
            } else if day == 31 + 29 - 1 {
                return (year, 2, 29, yday)
            }
        }
        let daysBefore = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365]
        var month = day / 31
        let end = daysBefore[month + 1]
        let begin: Int
        if day >= end {
            month += 1
            begin = end
        } else {
            begin = daysBefore[month]
        }
        return (year, month + 1, day - begin + 1, yday)
    }

    static func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    func field(_ f: Function) -> Double {
        switch f {
        case .minute: return Double((abs % 3600) / 60)
        case .hour: return Double((abs % Self.secondsPerDay) / 3600)
        case .day_of_week: return Double(((abs &+ Self.secondsPerDay) % (7 * Self.secondsPerDay)) / Self.secondsPerDay)
        case .day_of_month: return Double(date.day)
        case .day_of_year: return Double(date.yday + 1)
        case .month: return Double(date.month)
        case .year: return Double(date.year)
        case .days_in_month:
            let d = date
            let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            return Double(d.month == 2 && Self.isLeap(d.year) ? 29 : lengths[d.month - 1])
        default: return .nan
        }
    }
}

/// Go's trigonometric functions (`math.Sin`, `Cos`, `Tan`, `Atan`, `Asin`, `Acos`, `Atan2`):
/// Cephes' polynomials with Go's argument reduction, so `sin()`, `atan2` and the rest give
/// promtool's values to the last bit. Arguments of 2^29 and beyond (where Go reduces with
/// Payne-Hanek) fall back to the C library.
extension GoMath {
    private static let pi4a = 7.85398125648498535156e-1
    private static let pi4b = 3.77489470793079817668e-8
    private static let pi4c = 2.69515142907905952645e-15
    private static let reduceThreshold = Double(1 << 29)
    private static let sinCoefficients = [
        1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6, -1.98412698295895385996e-4,
        8.33333333332211858878e-3, -1.66666666666666307295e-1,
    ]
    private static let cosCoefficients = [
        -1.13585365213876817300e-11, 2.08757008419747316778e-9, -2.75573141792967388112e-7, 2.48015872888517045348e-5,
        -1.38888888888730564116e-3, 4.16666666666665929218e-2,
    ]

    /// The octant of `x` (≥ 0, below the threshold) and the remainder in it.
    @inline(__always)
    private static func octant(_ x: Double) -> (j: UInt64, z: Double) {
        var j = UInt64(x * (4 / Double.pi))
        var y = Double(j)
        if j & 1 == 1 {
            j += 1
            y += 1
        }
        j &= 7
        return (j, ((x - y * pi4a) - y * pi4b) - y * pi4c)
    }

    @inline(__always)
    private static func sinPoly(_ z: Double, _ zz: Double) -> Double {
        let s = sinCoefficients
        return z + z * zz * (((((s[0] * zz + s[1]) * zz + s[2]) * zz + s[3]) * zz + s[4]) * zz + s[5])
    }

    @inline(__always)
    private static func cosPoly(_ zz: Double) -> Double {
        let c = cosCoefficients
        return 1.0 - 0.5 * zz + zz * zz * (((((c[0] * zz + c[1]) * zz + c[2]) * zz + c[3]) * zz + c[4]) * zz + c[5])
    }

    static func sin(_ x: Double) -> Double {
        if x == 0 || x.isNaN { return x }
        if x.isInfinite { return .nan }
        var sign = x < 0
        let ax = Swift.abs(x)
        if ax >= reduceThreshold { return Glibc.sin(x) }
        var (j, z) = octant(ax)
        if j > 3 {
            sign.toggle()
            j -= 4
        }
        let zz = z * z
        let y = j == 1 || j == 2 ? cosPoly(zz) : sinPoly(z, zz)
        return sign ? -y : y
    }

    static func cos(_ x: Double) -> Double {
        if x.isNaN || x.isInfinite { return .nan }
        let ax = Swift.abs(x)
        if ax >= reduceThreshold { return Glibc.cos(x) }
        var sign = false
        var (j, z) = octant(ax)
        if j > 3 {
            j -= 4
            sign.toggle()
        }
        if j > 1 { sign.toggle() }
        let zz = z * z
        let y = j == 1 || j == 2 ? sinPoly(z, zz) : cosPoly(zz)
        return sign ? -y : y
    }

    static func tan(_ x: Double) -> Double {
        if x == 0 || x.isNaN { return x }
        if x.isInfinite { return .nan }
        let sign = x < 0
        let ax = Swift.abs(x)
        if ax >= reduceThreshold { return Glibc.tan(x) }
        // Only the octant's bit 1 matters here, which the octant's `& 7` keeps.
        let (j, z) = octant(ax)
        let zz = z * z
        var y: Double
        if zz > 1e-14 {
            let p = ((-1.30936939181383777646e4 * zz) + 1.15351664838587416140e6) * zz - 1.79565251976484877988e7
            let q = (((zz + 1.36812963470692954678e4) * zz - 1.32089234440210967447e6) * zz + 2.50083801823357915839e7) * zz
                - 5.38695755929454629881e7
            y = z + z * (zz * p / q)
        } else {
            y = z
        }
        if j & 2 == 2 { y = -1 / y }
        return sign ? -y : y
    }

    /// Cephes' `atan` on [0, 0.66].
    @inline(__always)
    private static func xatan(_ x: Double) -> Double {
        var z = x * x
        let p = (((-8.750608600031904122785e-01 * z - 1.615753718733365076637e+01) * z - 7.500855792314704667340e+01) * z
            - 1.228866684490136173410e+02) * z - 6.485021904942025371773e+01
        let q = ((((z + 2.485846490142306297962e+01) * z + 1.650270098316988542046e+02) * z + 4.328810604912902668951e+02) * z
            + 4.853903996359136964868e+02) * z + 1.945506571482613964425e+02
        z = z * p / q
        return x * z + x
    }

    /// `atan` of a non-negative argument, reduced to [0, 0.66].
    private static func satan(_ x: Double) -> Double {
        let morebits = 6.123233995736765886130e-17
        if x <= 0.66 { return xatan(x) }
        if x > 2.41421356237309504880 { return Double.pi / 2 - xatan(1 / x) + morebits }
        return Double.pi / 4 + xatan((x - 1) / (x + 1)) + 0.5 * morebits
    }

    static func atan(_ x: Double) -> Double {
        if x == 0 { return x }
        return x > 0 ? satan(x) : -satan(-x)
    }

    static func asin(_ x: Double) -> Double {
        if x == 0 { return x }
        let sign = x < 0
        let ax = Swift.abs(x)
        if ax > 1 { return .nan }
        var temp = (1 - ax * ax).squareRoot()
        temp = ax > 0.7 ? Double.pi / 2 - satan(temp / ax) : satan(ax / temp)
        return sign ? -temp : temp
    }

    static func acos(_ x: Double) -> Double { Double.pi / 2 - asin(x) }

    static func atan2(_ y: Double, _ x: Double) -> Double {
        if y.isNaN || x.isNaN { return .nan }
        if y == 0 {
            return x >= 0 && x.sign == .plus ? Double(signOf: y, magnitudeOf: 0) : Double(signOf: y, magnitudeOf: .pi)
        }
        if x == 0 { return Double(signOf: y, magnitudeOf: .pi / 2) }
        if x.isInfinite {
            if x > 0 { return Double(signOf: y, magnitudeOf: y.isInfinite ? .pi / 4 : 0) }
            return Double(signOf: y, magnitudeOf: y.isInfinite ? 3 * .pi / 4 : .pi)
        }
        if y.isInfinite { return Double(signOf: y, magnitudeOf: .pi / 2) }
        let q = atan(y / x)
        if x < 0 { return q <= 0 ? q + .pi : q - .pi }
        return q
    }
}

/// Go's `math.Exp` and `math.Log` as they run on amd64 (assembly: a Taylor series of x/16
/// squared four times, with fused multiply-adds on CPUs that have them, as Prometheus'
/// machines do; FreeBSD's `log` polynomial), and the functions Go builds on them.
extension GoMath {
    static func exp(_ x: Double) -> Double {
        if x.isNaN || x == .infinity { return x }
        if x == -.infinity { return 0 }
        if x > 7.09782712893384e+02 { return .infinity }
        let t = x * 1.4426950408889634073599246810018920
        // CVTSD2SL: round to nearest even; out of range is the "integer indefinite" value.
        let rounded = t.rounded(.toNearestOrEven)
        let k: Int32 = rounded >= -2_147_483_648 && rounded <= 2_147_483_647 ? Int32(rounded) : .min
        let kf = Double(k)
        var r = fma(-0.69314718055966295651160180568695068359375, kf, x)
        r = fma(-0.28235290563031577122588448175013436025525412068e-12, kf, r)
        r *= 0.0625
        var p = 2.4801587301587301587e-5
        p = fma(p, r, 1.9841269841269841270e-4)
        p = fma(p, r, 1.3888888888888888889e-3)
        p = fma(p, r, 8.3333333333333333333e-3)
        p = fma(p, r, 4.1666666666666666667e-2)
        p = fma(p, r, 1.6666666666666666667e-1)
        p = fma(p, r, 0.5)
        p = fma(p, r, 1.0)
        r *= p
        r *= r + 2
        r *= r + 2
        r *= r + 2
        r = fma(r, r + 2, 1.0)
        // r * 2^k, in two steps below the normal range.
        let biased = Int64(k) + 0x3FF
        if biased >= 0x7FF { return .infinity }
        if biased > 0 { return r * Double(bitPattern: UInt64(biased) << 52) }
        if biased < -52 { return 0 }
        return r * Double(bitPattern: UInt64(biased + 0x3FE) << 52) * Double(bitPattern: 1 << 52)
    }

    static func log(_ x: Double) -> Double {
        let bits = x.bitPattern
        if bits & ~(1 << 63) == 0 { return -.infinity }
        if Int64(bitPattern: bits) < 0 { return .nan }
        if bits >= 0x7FF0_0000_0000_0000 { return x }
        var f1 = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FE0_0000_0000_0000)
        var k = Double(Int32((bits >> 52) & 0x7FF) - 0x3FE)
        if f1 < 7.07106781186547524401e-01 {
            k -= 1
            f1 *= 2
        }
        let f = f1 - 1
        let s = f / (2 + f)
        let s2 = s * s
        let s4 = s2 * s2
        let t1 = s2 * (((1.479819860511658591e-01 * s4 + 1.818357216161805012e-01) * s4 + 2.857142874366239149e-01) * s4
            + 6.666666666666735130e-01)
        let t2 = s4 * ((1.531383769920937332e-01 * s4 + 2.222219843214978396e-01) * s4 + 3.999999999940941908e-01)
        let r = t1 + t2
        let hfsq = 0.5 * f * f
        return k * 6.93147180369123816490e-01 - ((hfsq - (s * (hfsq + r) + k * 1.90821492927058770002e-10)) - f)
    }

    static func sinh(_ x: Double) -> Double {
        let ax = Swift.abs(x)
        var temp: Double
        if ax > 21 {
            temp = exp(ax) * 0.5
        } else if ax > 0.5 {
            let ex = exp(ax)
            temp = (ex - 1 / ex) * 0.5
        } else {
            let sq = ax * ax
            temp = (((-0.2630563213397497062819489000e+2 * sq - 0.2894211355989563807284660366e+4) * sq
                - 0.8991272022039509355398013511e+5) * sq - 0.6307673640497716991184787251e+6) * ax
            temp = temp / (((sq - 0.173678953558233699533450911e+3) * sq + 0.1521517378790019070696485176e+5) * sq
                - 0.6307673640497716991212077277e+6)
        }
        return x < 0 ? -temp : temp
    }

    static func cosh(_ x: Double) -> Double {
        let ax = Swift.abs(x)
        if ax > 21 { return exp(ax) * 0.5 }
        let ex = exp(ax)
        return (ex + 1 / ex) * 0.5
    }

    static func tanh(_ x: Double) -> Double {
        let z = Swift.abs(x)
        if z > 0.5 * 8.8029691931113054295988e+01 { return x < 0 ? -1 : 1 }
        if z >= 0.625 {
            let s = exp(2 * z)
            let r = 1 - 2 / (s + 1)
            return x < 0 ? -r : r
        }
        if x == 0 { return x }
        let s = x * x
        return x + x * s * ((-9.64399179425052238628e-1 * s - 9.92877231001918586564e1) * s - 1.61468768441708447952e3)
            / (((s + 1.12811678491632931402e2) * s + 2.23548839060100448583e3) * s + 4.84406305325125486048e3)
    }

    /// FreeBSD's formulas as Go writes them, over Go's `Log` (and the C library's `log1p`,
    /// which agrees with Go's where these reach it).
    static func asinh(_ x: Double) -> Double {
        if x.isNaN || x.isInfinite { return x }
        let ax = Swift.abs(x)
        let temp: Double
        if ax > Double(1 << 28) {
            temp = log(ax) + 6.93147180559945286227e-01
        } else if ax > 2 {
            temp = log(2 * ax + 1 / ((ax * ax + 1).squareRoot() + ax))
        } else if ax < 1.0 / Double(1 << 28) {
            temp = ax
        } else {
            temp = log1p(ax + ax * ax / (1 + (1 + ax * ax).squareRoot()))
        }
        return x < 0 ? -temp : temp
    }

    static func acosh(_ x: Double) -> Double {
        if x < 1 || x.isNaN { return .nan }
        if x == 1 { return 0 }
        if x >= Double(1 << 28) { return log(x) + 6.93147180559945286227e-01 }
        if x > 2 { return log(2 * x - 1 / (x + (x * x - 1).squareRoot())) }
        let t = x - 1
        return log1p(t + (2 * t + t * t).squareRoot())
    }

    static func atanh(_ x: Double) -> Double {
        if x < -1 || x > 1 || x.isNaN { return .nan }
        if x == 1 { return .infinity }
        if x == -1 { return -.infinity }
        let ax = Swift.abs(x)
        let temp: Double
        if ax < 1.0 / Double(1 << 28) {
            temp = ax
        } else if ax < 0.5 {
            let t = ax + ax
            temp = 0.5 * log1p(t + t * ax / (1 - ax))
        } else {
            temp = 0.5 * log1p((ax + ax) / (1 - ax))
        }
        return x < 0 ? -temp : temp
    }
}
