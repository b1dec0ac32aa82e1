import XCTest
final class PipelinesTestsSmoke: XCTestCase { func testBuilds() {} }
