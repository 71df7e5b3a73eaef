import FuzzSupport
import PromQL

/// The PromQL parser takes any text without crashing; an expression it accepts prints as
/// text that parses again and prints the same (what the rule APIs and alert links show).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPromQL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let expr: Expr
    do throws(ParseError) {
        expr = try PromQLParser.parse(text)
    } catch {
        blackHole(error.description)
        return 0
    }
    blackHole(expr.type)
    blackHole(expr.selectorNeeds().count)
    let printed = expr.description
    do throws(ParseError) {
        let again = try PromQLParser.parse(printed)
        if again.description != printed {
            propertyFailed("printing is not stable:\n\(text.debugDescription)\n→ \(printed.debugDescription)\n→ \(again.description.debugDescription)")
        }
        if again.type != expr.type {
            propertyFailed("the printed expression has another type: \(printed.debugDescription)")
        }
    } catch {
        propertyFailed("the printed expression does not parse: \(text.debugDescription) → \(printed.debugDescription): \(error)")
    }
    return 0
}

@_cdecl("fuzz_promql_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzPromQL)
}
