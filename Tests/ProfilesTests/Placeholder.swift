import Testing
@testable import Profiles

@Suite struct ProfilesPlaceholderTests {
    @Test func moduleLoads() {}
}
