/// What every fuzz target shares: handing control to libFuzzer's driver, keeping results
/// alive under optimisation, and reporting a broken property as a crash.

/// libFuzzer's entry point for programs that bring their own `main`.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// SwiftPM links an executable with its `main` renamed to `<target>_main`; each target's
/// `<target>_main` calls this with its `LLVMFuzzerTestOneInput`.
public func runFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}

/// Keeps a result observable so the optimiser cannot drop the call that made it.
@inline(never) public func blackHole<T>(_ x: T) {
    withUnsafePointer(to: x) { p in
        if UInt(bitPattern: p) == 1 { print("unreachable") }
    }
}

/// A property of the parser does not hold: stop with a message libFuzzer records as a crash.
public func propertyFailed(_ message: @autoclosure () -> String) -> Never {
    fatalError("property violated: \(message())")
}
