import Testing
@testable import PromQL

@Suite struct PromQLPlaceholderTests {
    @Test func moduleLoads() {}
}
