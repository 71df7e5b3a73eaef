import Testing
@testable import Probing

@Suite struct ProbingPlaceholderTests {
    @Test func moduleLoads() {}
}
