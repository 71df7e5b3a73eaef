import Testing
@testable import Exposition

@Suite struct ExpositionPlaceholderTests {
    @Test func moduleLoads() {}
}
