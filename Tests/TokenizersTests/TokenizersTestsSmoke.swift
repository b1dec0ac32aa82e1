import XCTest
final class TokenizersTestsSmoke: XCTestCase { func testBuilds() {} }
