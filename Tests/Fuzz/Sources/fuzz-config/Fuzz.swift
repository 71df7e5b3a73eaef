import Agent
import FuzzSupport
import LookoutCore
import Rules
import Server

/// The configuration readers take any text without crashing: they give a value or
/// diagnostics. JSON that parses serialises to JSON that parses to the same value.
///
/// Input: one byte choosing the reader (its value modulo 4), then the text:
/// 0 the agent config, 1 JSON, 2 a rule file, 3 the web config (`--web.config.file`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let text = String(decoding: bytes, as: UTF8.self)
    switch data[0] % 4 {
    case 0:
        do throws(Diagnostics) {
            let c = try AgentConfig.parse(text, file: "fuzz.yml")
            blackHole(c.targets.count + c.processes.count)
        } catch {
            blackHole(error.description)
        }
    case 1:
        json(bytes)
    case 2:
        let (groups, diagnostics) = RuleFileLoader.parse(text: text, file: "fuzz.rules.yml")
        for d in diagnostics { blackHole(d.description) }
        for g in groups {
            for r in g.rules { blackHole(r.expr.description) }
        }
    default:
        do throws(Diagnostics) {
            let w = try WebConfig.parse(text, file: "web.yml")
            blackHole(w.basicAuthUsers.count)
        } catch {
            blackHole(error.description)
        }
    }
    return 0
}

func json(_ bytes: [UInt8]) {
    let value: JSON
    do throws(JSON.ParseError) {
        value = try JSON(parsing: bytes)
    } catch {
        blackHole(error.description)
        return
    }
    let written = value.serialized()
    do throws(JSON.ParseError) {
        let again = try JSON(parsing: written)
        // The writer gives null for numbers JSON cannot hold (a literal too large for a Double).
        if again != finite(value) {
            propertyFailed("JSON round trip changed the value: \(written)")
        }
    } catch {
        propertyFailed("serialised JSON does not parse: \(error): \(written)")
    }
}

func finite(_ v: JSON) -> JSON {
    switch v {
    case .number(let n) where !n.isFinite: return .null
    case .array(let a): return .array(a.map(finite))
    case .object(let o): return .object(o.map { ($0.0, finite($0.1)) })
    default: return v
    }
}

@_cdecl("fuzz_config_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzConfig)
}
