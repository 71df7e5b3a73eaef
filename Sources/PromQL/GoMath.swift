#if canImport(Glibc)
import Glibc
#endif

/// Go's `math` functions whose results Prometheus' can differ from C's in the last bits:
/// ported so `^`, `log2` and `log10` agree with promtool exactly where Go computes exactly.
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
            a1 = Glibc.exp(yf * Glibc.log(x))
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
        return Glibc.log(frac) * (1.4426950408889634) + Double(e)
    }

    /// `math.Log10`.
    static func log10(_ x: Double) -> Double {
        Glibc.log(x) * 0.4342944819032518
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
