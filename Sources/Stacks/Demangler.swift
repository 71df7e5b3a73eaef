import CStacks

/// Readable names for mangled symbols: C++ (Itanium ABI) through libstdc++'s
/// `__cxa_demangle`, Swift through the runtime's `swift_demangle`, Rust's legacy scheme
/// (`_ZN...17h<hash>E`) through the C++ demangler with the hash dropped and Rust's `$..$`
/// escapes decoded. Rust's v0 scheme (`_R...`) is left as it is. Anything else is
/// returned unchanged.
public enum Demangler {
    public static func demangle(_ name: String) -> String {
        let utf8 = name.utf8
        guard utf8.count > 2, let first = utf8.first else { return name }
        if first == UInt8(ascii: "_"), utf8.dropFirst().first == UInt8(ascii: "Z") {
            return itanium(name)
        }
        if isSwift(utf8) {
            var copy = name
            let demangled = copy.withUTF8 { b -> String? in
                guard let out = b.withMemoryRebound(to: CChar.self, { lookout_demangle_swift($0.baseAddress, $0.count) })
                else { return nil }
                defer { lookout_free(out) }
                return String(cString: out)
            }
            return demangled ?? name
        }
        return name
    }

    /// Swift's manglings: `$s` (Swift 5), `$S` (4.2), `_T0` (4), each maybe with a leading `_`;
    /// `$e` for embedded Swift.
    static func isSwift(_ utf8: String.UTF8View) -> Bool {
        var i = utf8.makeIterator()
        var c = i.next()
        if c == UInt8(ascii: "_") { c = i.next() }
        if c == UInt8(ascii: "$") {
            let d = i.next()
            return d == UInt8(ascii: "s") || d == UInt8(ascii: "S") || d == UInt8(ascii: "e")
        }
        return c == UInt8(ascii: "T") && i.next() == UInt8(ascii: "0")
    }

    private static func itanium(_ name: String) -> String {
        guard let out = lookout_demangle_cxx(name) else { return name }
        defer { lookout_free(out) }
        let demangled = String(cString: out)
        return isRustLegacy(name) ? rustLegacy(demangled) : demangled
    }

    /// `_ZN` ... `17h` + 16 hex digits + `E`: the hash path component of Rust's legacy mangling.
    static func isRustLegacy(_ name: String) -> Bool {
        let u = Array(name.utf8)
        guard u.count > 24, u[0] == UInt8(ascii: "_"), u[1] == UInt8(ascii: "Z"), u[2] == UInt8(ascii: "N"),
            u[u.count - 1] == UInt8(ascii: "E")
        else { return false }
        let hash = u[(u.count - 20)..<(u.count - 1)]
        guard hash.starts(with: "17h".utf8) else { return false }
        return hash.dropFirst(3).allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// Drops the `::h0123456789abcdef` hash and decodes `$LT$`, `$u20$`, `..` and the like.
    static func rustLegacy(_ demangled: String) -> String {
        var s = Array(demangled.utf8)
        if s.count > 19, s[s.count - 19] == UInt8(ascii: ":"), s[s.count - 18] == UInt8(ascii: ":"),
            s[s.count - 17] == UInt8(ascii: "h")
        {
            s.removeLast(19)
        }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            // A component starting with `$` is written `_$`.
            if s[i] == UInt8(ascii: "_"), i + 1 < s.count, s[i + 1] == UInt8(ascii: "$"),
                i == 0 || s[i - 1] == UInt8(ascii: ":")
            {
                i += 1
                continue
            }
            if s[i] == UInt8(ascii: "$"), let end = s[(i + 1)...].firstIndex(of: UInt8(ascii: "$")),
                let decoded = rustEscape(s[(i + 1)..<end])
            {
                out.append(contentsOf: decoded)
                i = end + 1
            } else if s[i] == UInt8(ascii: "."), i + 1 < s.count, s[i + 1] == UInt8(ascii: ".") {
                out.append(contentsOf: "::".utf8)
                i += 2
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func rustEscape(_ code: ArraySlice<UInt8>) -> [UInt8]? {
        switch String(decoding: code, as: UTF8.self) {
        case "SP": return Array("@".utf8)
        case "BP": return Array("*".utf8)
        case "RF": return Array("&".utf8)
        case "LT": return Array("<".utf8)
        case "GT": return Array(">".utf8)
        case "LP": return Array("(".utf8)
        case "RP": return Array(")".utf8)
        case "C": return Array(",".utf8)
        case let u where u.hasPrefix("u"):
            guard let v = UInt32(u.dropFirst(), radix: 16), let scalar = Unicode.Scalar(v) else { return nil }
            return Array(String(Character(scalar)).utf8)
        default: return nil
        }
    }
}
