/// Go's `fmt.Sprintf` for the values templates handle (float64, int, string, bool, maps),
/// including its way of reporting a wrong verb (`%!d(float64=1.5)`) or a missing argument.
public enum GoPrintf {
    struct Spec {
        var minus = false, plus = false, sharp = false, space = false, zero = false
        var width: Int?
        var precision: Int?
    }

    public static func format(_ format: String, _ args: [GoValue]) -> String {
        let f = Array(format.unicodeScalars)
        var out = ""
        var argIndex = 0
        var i = 0
        while i < f.count {
            let c = f[i]
            if c != "%" {
                out.unicodeScalars.append(c)
                i += 1
                continue
            }
            i += 1
            var spec = Spec()
            flags: while i < f.count {
                switch f[i] {
                case "-": spec.minus = true
                case "+": spec.plus = true
                case "#": spec.sharp = true
                case " ": spec.space = true
                case "0": spec.zero = true
                default: break flags
                }
                i += 1
            }
            if i < f.count, f[i] == "*" {
                i += 1
                if argIndex < args.count, case .int(let w) = args[argIndex], !tooLarge(w) {
                    spec.width = Int(w)
                    if w < 0 {
                        spec.minus = true
                        spec.width = Int(-w)
                    }
                } else {
                    out += "%!(BADWIDTH)"
                }
                argIndex += 1
            } else {
                guard let w = number(f, &i) else {
                    out += "%!(NOVERB)"
                    break
                }
                spec.width = w
            }
            if i < f.count, f[i] == "." {
                i += 1
                if i < f.count, f[i] == "*" {
                    i += 1
                    if argIndex < args.count, case .int(let p) = args[argIndex], !tooLarge(p) {
                        spec.precision = p < 0 ? nil : Int(p)
                    } else {
                        out += "%!(BADPREC)"
                    }
                    argIndex += 1
                } else {
                    guard let p = number(f, &i) else {
                        out += "%!(NOVERB)"
                        break
                    }
                    spec.precision = p ?? 0
                }
            }
            guard i < f.count else {
                out += "%!(NOVERB)"
                break
            }
            let verb = Character(f[i])
            i += 1
            if verb == "%" {
                out += "%"
                continue
            }
            guard argIndex < args.count else {
                out += "%!\(verb)(MISSING)"
                continue
            }
            out += formatOne(args[argIndex], verb, spec)
            argIndex += 1
        }
        if argIndex < args.count {
            out += "%!(EXTRA " + args[argIndex...].map { "\($0.goType)=\($0.printed())" }.joined(separator: ", ") + ")"
        }
        return out
    }

    /// Go's limit on widths and precisions: larger ones are refused (`fmt`'s `tooLarge`).
    static func tooLarge(_ x: Int64) -> Bool { x > 1_000_000 || x < -1_000_000 }

    /// Go's `parsenum`: the digits at `i` (nil inside when there are none); nil when the number
    /// is too large, which, as in Go, consumes the rest of the format.
    static func number(_ f: [Unicode.Scalar], _ i: inout Int) -> Int?? {
        var n = 0
        var any = false
        while i < f.count, f[i].value >= 48, f[i].value <= 57 {
            if tooLarge(Int64(n)) {
                i = f.count
                return nil
            }
            n = n * 10 + Int(f[i].value - 48)
            any = true
            i += 1
        }
        return .some(any ? n : nil)
    }

    static func bad(_ v: GoValue, _ verb: Character) -> String { "%!\(verb)(\(v.goType)=\(v.printed()))" }

    static func formatOne(_ v: GoValue, _ verb: Character, _ spec: Spec) -> String {
        switch v {
        case .float(let x):
            let body: String
            switch verb {
            case "v", "g": body = GoFloat.formatG(x, precision: spec.precision ?? -1)
            case "G": body = GoFloat.formatG(x, precision: spec.precision ?? -1).uppercased()
            case "f", "F", "e", "E": body = GoFloat.formatFixed(x, verb: verb == "F" ? "f" : verb, precision: spec.precision ?? 6)
            default: return bad(v, verb)
            }
            return padNumber(body, spec, finite: x.isFinite)
        case .int(let n):
            var body: String
            switch verb {
            case "v", "d": body = String(n)
            case "x": body = n < 0 ? "-" + String(-n, radix: 16) : String(n, radix: 16)
            case "X": body = (n < 0 ? "-" + String(-n, radix: 16) : String(n, radix: 16)).uppercased()
            case "o": body = n < 0 ? "-" + String(-n, radix: 8) : String(n, radix: 8)
            case "b": body = n < 0 ? "-" + String(-n, radix: 2) : String(n, radix: 2)
            default: return bad(v, verb)
            }
            if let p = spec.precision {
                let neg = body.hasPrefix("-")
                var digits = neg ? String(body.dropFirst()) : body
                while digits.count < p { digits = "0" + digits }
                body = (neg ? "-" : "") + digits
            }
            return padNumber(body, spec, finite: true)
        case .string(let s):
            var body: String
            switch verb {
            case "v", "s": body = s
            case "q": body = goQuoted(s)
            case "x": body = s.utf8.map { hex2($0) }.joined()
            case "X": body = s.utf8.map { hex2($0) }.joined().uppercased()
            default: return bad(v, verb)
            }
            if let p = spec.precision, verb == "s" || verb == "v" { body = String(body.prefix(p)) }
            return pad(body, spec)
        case .bool(let b):
            guard verb == "v" || verb == "t" else { return bad(v, verb) }
            return pad(b ? "true" : "false", spec)
        case .map, .data, .none, .sample, .samples, .args, .time:
            guard verb == "v" || verb == "s" else { return bad(v, verb) }
            return pad(v.printed(), spec)
        }
    }

    static func hex2(_ b: UInt8) -> String {
        let h = String(b, radix: 16)
        return h.count == 1 ? "0" + h : h
    }


    static func pad(_ s: String, _ spec: Spec) -> String {
        guard let w = spec.width, s.count < w else { return s }
        let fill = String(repeating: " ", count: w - s.count)
        return spec.minus ? s + fill : fill + s
    }

    static func padNumber(_ s: String, _ spec: Spec, finite: Bool) -> String {
        var body = s
        if !body.hasPrefix("-") && !body.hasPrefix("+") {
            if spec.plus {
                body = "+" + body
            } else if spec.space {
                body = " " + body
            }
        }
        guard let w = spec.width, body.count < w else { return body }
        if spec.zero && !spec.minus && finite {
            var sign = ""
            if let f = body.first, f == "-" || f == "+" || f == " " {
                sign = String(f)
                body.removeFirst()
            }
            return sign + String(repeating: "0", count: w - body.count - sign.count) + body
        }
        return pad(body, spec)
    }
}
