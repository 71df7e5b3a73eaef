import FuzzSupport
import ProcFS

/// Every pure /proc and cgroup parser takes any bytes without crashing: it returns a value
/// or a `ProcFSError` whose description (which quotes the input) can be built.
///
/// Input: one byte choosing the parser (its value modulo `parserCount`, in the order of the
/// switch below), then the file's content.
let parserCount = 17

func parse(_ parser: Int, _ b: UnsafeRawBufferPointer) throws(ProcFSError) {
    switch parser {
    case 0: blackHole(try SystemStat.parse(b))
    case 1:
        // The sampler's path: parse into a reused value, cpu lines only, twice.
        var s = SystemStat()
        try SystemStat.parse(b, into: &s, cpuLinesOnly: true)
        try SystemStat.parse(b, into: &s, cpuLinesOnly: true)
        blackHole(s.total.total &+ UInt64(s.cpus.count))
    case 2: blackHole(try Pressure.parse(b))
    case 3: blackHole(try ProcessStat.parse(b))
    case 4: blackHole(try ProcessStat.parseState(b))
    case 5: blackHole(try ProcessStatus.parse(b))
    case 6: blackHole(try ProcessStatm.parse(b))
    case 7: blackHole(try Schedstat.parse(b))
    case 8: blackHole(Comm.parse(b))
    case 9: blackHole(WaitChannel.parse(b))
    case 10: blackHole(try SyscallState.parse(b))
    case 11: blackHole(try KernelStack.parse(b))
    case 12: blackHole(Cmdline.parse(b))
    case 13: blackHole(try CgroupEntry.parse(b))
    case 14: blackHole(try CgroupCPUStat.parseV2(b))
    case 15: blackHole(try CgroupCPUStat.parseV1CPUStat(b))
    default: blackHole(try CgroupCPUStat.parseV1Usage(b))
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProcFS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    // The exact bytes after the selector, so a read past the end is a read past libFuzzer's buffer.
    let content = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    do throws(ProcFSError) {
        try parse(Int(data[0]) % parserCount, content)
    } catch {
        blackHole(error.description)
    }
    return 0
}

@_cdecl("fuzz_procfs_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzProcFS)
}
