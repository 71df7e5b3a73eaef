import ProcFS
import Testing

/// Inputs the fuzzer (Tests/Fuzz, target fuzz-procfs) found crashing a parser, byte for
/// byte (without the fuzzer's parser-selector byte). Each must now give a value or an error.
@Suite struct ProcFSFuzzRegressionTests {
    /// `Threads:` larger than Int64.max trapped converting to Int64.
    /// crashes/procfs/crash-ab33b7dd60c4ce68786dc31ee774ed829bbeda1e
    @Test func threadsBeyondInt64() throws {
        let input = Array("Nad:\t0\t0\nThads:\t7761777777777777\t0\nThreads:\t16777777777777777777\n".utf8)
        #expect(throws: ProcFSError.self) { try withBytes(input, ProcessStatus.parse) }
        let named = Array("Name:\tx\nThreads:\t9223372036854775808\n".utf8)
        let error = #expect(throws: ProcFSError.self) { try withBytes(named, ProcessStatus.parse) }
        #expect(error?.kind == .malformed)
        // The largest count that fits is still read.
        let fits = Array("Name:\tx\nThreads:\t9223372036854775807\n".utf8)
        #expect(try withBytes(fits, ProcessStatus.parse).threads == Int64.max)
    }
}
