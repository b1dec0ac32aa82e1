import XCTest
final class TransformerCoreTestsSmoke: XCTestCase { func testBuilds() {} }
