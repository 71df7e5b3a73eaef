import Testing
@testable import Agent

@Suite struct IntegrationPlaceholderTests {
    @Test func moduleLoads() {}
}
