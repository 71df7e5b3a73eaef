import Testing
@testable import Rules

@Suite struct RulesPlaceholderTests {
    @Test func moduleLoads() {}
}
