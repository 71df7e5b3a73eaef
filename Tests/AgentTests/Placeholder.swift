import Testing
@testable import Agent

@Suite struct AgentPlaceholderTests {
    @Test func moduleLoads() {}
}
