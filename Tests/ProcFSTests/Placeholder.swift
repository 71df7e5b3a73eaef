import Testing
@testable import ProcFS

@Suite struct ProcFSPlaceholderTests {
    @Test func moduleLoads() {}
}
