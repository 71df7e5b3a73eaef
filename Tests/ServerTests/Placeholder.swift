import Testing
@testable import Server

@Suite struct ServerPlaceholderTests {
    @Test func moduleLoads() {}
}
