import XCTest
final class ModelStoreTestsSmoke: XCTestCase { func testBuilds() {} }
